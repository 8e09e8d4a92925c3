"""What the routing table cannot tell of the compatibility APIs' operations: their query and
path parameters, the shapes of their bodies and answers (component schemas of
:mod:`chalicelib.openapi.compat_schemas`) and the refusals no schema states, as
:mod:`chalicelib.openapi.operations` says them for the catalogue's own routes.
:mod:`chalicelib.openapi.document` reads both.

dserver (dtool-lookup-api 0.10) and dtool-lookup-server 0.18 (dtool-lookup-api 0.7), European
XFEL's myMdC (``/mymdc/api``), SciLifeLab Data Tracker (``/api/v1``) and CSC
metadata-submitter (``/submitter``). Each parameter and body is described as the handler
checks it: what the description allows, the handler takes, unless the operation's refusals
name the rule (another field's value, what is stored). A query parameter the handler needs
says "required" in its description. Answers that are not JSON (a README or manifest over
4 MiB is a 303; ``?format=xml`` is XML) and empty answers (the Data Tracker's changes and
deletes, 204s) have no schema.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.facility.schema import Kind
from chalicelib.openapi.compat_schemas import MAX_FREE_TEXT, SEARCH_FILTERS, USERNAME_NOT_RESERVED
from chalicelib.openapi.compat_schemas_mymdc import COLLECTION_KINDS, schema_name
from chalicelib.openapi.compat_schemas_submissions import OBJECT_TYPE
from chalicelib.openapi.compat_schemas_tracker_bodies import UUID_FORM
from chalicelib.openapi.operations import (
    FORMAT_XML,
    FORMAT_XSD,
    JSON_OR_XML,
    PAGE,
    REGISTRATION_REFUSALS,
    Doc,
    Param,
    Refusal,
)
from chalicelib.openapi.shapes import sort_pattern
from chalicelib.routes.dserver import SORT_FIELDS
from chalicelib.routes.submitter import MAX_PAGE_NUMBER, MAX_PER_PAGE
from chalicelib.routes.tracker_api import MAX_TAG_FILTERS, TRACKER_PAGE_SIZE
from chalicelib.tracker.search import MAX_QUERY_CHARS

# -- dserver and dtool-lookup-server 0.18 ------------------------------------------------------
_PAGE_SIZE = Param("page_size", "items per page (default 10)", {"type": "integer", "minimum": 1, "maximum": 100})
_PAGING = (Param("page", "the page, from 1", {"type": "integer", "minimum": 1, "maximum": 10**6}), _PAGE_SIZE)
# a search reaches its 10,000th hit at most: page * page_size may not exceed 10000
_SEARCH_PAGING = (Param("page", "the page, from 1", {"type": "integer", "minimum": 1, "maximum": 10**4}), _PAGE_SIZE)
_WINDOW = (Refusal("page", "may not exceed 10000"),)
# free_text with a malformed annotation clause (annotations.x>=abc), named in the message
_SEARCH_REFUSALS = (*_WINDOW, Refusal("free_text", "annotation clause"))
_SORT = (
    Param(
        "sort",
        f"a comma list of {', '.join(SORT_FIELDS)} (`-`: descending; default `uri`)",
        {"type": "string", "pattern": sort_pattern(SORT_FIELDS)},
    ),
)
_DSERVER_FILTERS = (
    Param(
        "free_text",
        "words to find; also annotation clauses as in `q` of `GET /datasets` (`annotations.temperature_K>=300`)",
        {"type": "string", "maxLength": MAX_FREE_TEXT},
    ),
    Param("creator_usernames", "only datasets of these creators", SEARCH_FILTERS["creator_usernames"]),
    Param("base_uris", "only datasets under these base URIs", SEARCH_FILTERS["base_uris"]),
    Param("uuids", "only these datasets", SEARCH_FILTERS["uuids"]),
    Param("tags", "only datasets with every one of these tags", SEARCH_FILTERS["tags"]),
)
_USERNAME = (Param("username", "a username", USERNAME_NOT_RESERVED),)
# the URI in the path of a PUT must be the body's
_REGISTER_AT = (*REGISTRATION_REFUSALS, Refusal("uri", "is not the body's uri"))


def _by_uri(path: str, doc: Doc) -> dict[tuple[str, str], Doc]:
    """dserver's routes naming a dataset by URI, in both forms: one encoded segment, or the
    three segments of its suffix form (``/uris/s3/bucket/<uuid>``)."""
    method, _, route = path.partition(" ")
    return {(method, f"{route}/{{uri}}"): doc, (method, f"{route}/{{scheme}}/{{bucket}}/{{name}}"): doc}


DSERVER: dict[tuple[str, str], Doc] = {
    ("GET", "/config/info"): Doc(response="DserverConfigInfo"),
    ("GET", "/config/versions"): Doc(response="DserverVersions"),
    ("GET", "/me"): Doc(response="DserverMe"),
    ("GET", "/me/summary"): Doc(response="Summary"),
    ("GET", "/users/{username}/summary"): Doc(response="Summary", path=_USERNAME),
    ("GET", "/uris"): Doc(
        response="DtoolDatasetList", query=(*_DSERVER_FILTERS, *_SEARCH_PAGING, *_SORT), refusals=_SEARCH_REFUSALS
    ),
    ("POST", "/uris"): Doc(
        request="DtoolSearch", response="DtoolDatasetList", query=(*_SEARCH_PAGING, *_SORT), refusals=_SEARCH_REFUSALS
    ),
    ("GET", "/uuids/{uuid}"): Doc(response="DtoolDatasetList", query=(*_PAGING, *_SORT)),
    **_by_uri("GET /uris", Doc(response="DtoolDataset")),
    **_by_uri("PUT /uris", Doc(request="Registration", response="DserverRegistered", refusals=_REGISTER_AT)),
    **_by_uri("DELETE /uris", Doc(response="ReplicaDeleted")),
    **_by_uri("GET /readmes", Doc(response="DserverReadme")),
    **_by_uri("GET /manifests", Doc(response="Manifest")),
    **_by_uri("GET /annotations", Doc(response="DserverAnnotations")),
    **_by_uri("GET /tags", Doc(response="DserverTags")),
}

LOOKUP_SERVER: dict[tuple[str, str], Doc] = {
    ("GET", "/dataset/lookup/{uuid}"): Doc(response="DtoolDatasetList", query=_PAGING),
    ("GET", "/dataset/list"): Doc(response="DtoolDatasetList", query=_SEARCH_PAGING, refusals=_WINDOW),
    ("GET", "/dataset/summary"): Doc(response="Summary"),
    ("POST", "/dataset/search"): Doc(
        request="DtoolSearch", response="LookupSearchHits", query=_SEARCH_PAGING, refusals=_SEARCH_REFUSALS
    ),
    ("POST", "/dataset/register"): Doc(
        request="Registration", response="LookupRegistered", refusals=REGISTRATION_REFUSALS
    ),
    ("POST", "/dataset/readme"): Doc(request="LookupUri", response="ReadmeText"),
    ("POST", "/dataset/manifest"): Doc(request="LookupUri", response="Manifest"),
    ("POST", "/dataset/annotations"): Doc(request="LookupUri", response="Annotations"),
    ("GET", "/user/info/{username}"): Doc(response="User", path=_USERNAME),
    ("GET", "/admin/user/list"): Doc(response="UserList", query=_PAGING),
    ("POST", "/admin/user/register"): Doc(
        request="LookupNewUsers", response="LookupUsersRegistered", refusals=(Refusal("orcid", "check digit"),)
    ),
    ("POST", "/admin/base_uri/register"): Doc(request="NewBaseUri", response="LookupBaseUri"),
    ("GET", "/admin/base_uri/list"): Doc(response="BaseUriList", query=_PAGING),
    ("POST", "/admin/permission/info"): Doc(request="LookupBaseUri", response="BaseUri"),
    ("POST", "/admin/permission/update_on_base_uri"): Doc(
        request="LookupPermissions", response="BaseUri", refusals=(Refusal("users", "unknown user"),)
    ),
}

# -- myMdC ---------------------------------------------------------------------------------------
MYMDC_PREFIX = "/mymdc/api"
# Rails' paging as kaminari reads it: anything but a whole number from 1 is the default
_MYMDC_PAGING = (
    Param(
        "page",
        "the page, from 1 (anything else: 1)",
        {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
    ),
    Param(
        "page_size",
        "items per page, from 1 (anything else: 100; more than 500: 500)",
        {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
    ),
)
_WHOLE = {"type": "integer", "minimum": -(10**19 - 1), "maximum": 10**19 - 1}
_RUN_OF = (
    Param("proposal_number", "the proposal's number", _WHOLE, required=True),
    Param("run_number", "the run's number", _WHOLE, required=True),
)
# a record id in a path: anything else is a record that does not exist (404)
_ID = (Param("id", "the record's id", {"type": "integer"}),)
_NUMBER = (Param("number", "the proposal's number", {"type": "integer"}),)
_BLANK = (Param("blank", "empty: metadata_client's double slash (`proposals//by_number/…`); anything else is 404"),)


# myMdC's 422s that depend on stored records or on two fields at once (a parent or a linked
# record that must exist, a value taken already, a field that may not change, last_train
# before first_train): any field may carry them
MYMDC_STATE_REFUSALS = tuple(
    Refusal("*", message)
    for message in (
        "must exist",
        "has already been taken",
        "must be unique per proposal",
        "cannot be updated",
        "must be greater than or equal to",
    )
)


def _mymdc_collection(kind: Kind) -> dict[tuple[str, str], Doc]:
    name, path = schema_name(kind), f"{MYMDC_PREFIX}/{kind.path}"
    filters = tuple(
        Param(f, f"only records whose {f} is this (exact; a value of the wrong type: none)") for f in kind.filters
    )
    return {
        ("GET", path): Doc(response=f"{name}List", query=(*filters, *_MYMDC_PAGING)),
        ("POST", path): Doc(request=f"{name}Body", response=name, refusals=MYMDC_STATE_REFUSALS),
        ("GET", f"{path}/{{id}}"): Doc(response=name, path=_ID),
        ("PUT", f"{path}/{{id}}"): Doc(
            request=f"{name}Changes", response=name, path=_ID, refusals=MYMDC_STATE_REFUSALS
        ),
        ("DELETE", f"{path}/{{id}}"): Doc(path=_ID),
    }


MYMDC: dict[tuple[str, str], Doc] = {
    **{key: doc for kind in COLLECTION_KINDS for key, doc in _mymdc_collection(kind).items()},
    ("GET", f"{MYMDC_PREFIX}/me"): Doc(response="MymdcMe"),
    ("GET", f"{MYMDC_PREFIX}/instruments/{{id}}/active_proposal"): Doc(response="MymdcProposal", path=_ID),
    **{
        ("GET", f"{MYMDC_PREFIX}/proposals{blank}/{route}/{{number}}"): Doc(
            response="MymdcProposal", path=(*_NUMBER, *(_BLANK if blank else ()))
        )
        for blank in ("", "/{blank}")
        for route in ("by_number", "by_number_daq_info")
    },
    ("GET", f"{MYMDC_PREFIX}/proposals/by_number/{{number}}/runs"): Doc(
        response="MymdcProposalRuns", query=_MYMDC_PAGING, path=_NUMBER
    ),
    ("GET", f"{MYMDC_PREFIX}/proposals/by_number/{{number}}/runs/{{run_number}}"): Doc(
        response="MymdcProposalRuns",
        query=_MYMDC_PAGING,
        path=(*_NUMBER, Param("run_number", "the run's number", {"type": "integer"})),
    ),
    ("GET", f"{MYMDC_PREFIX}/runs/runs_by_proposal"): Doc(response="MymdcRunList", query=(_RUN_OF[0], *_MYMDC_PAGING)),
    ("GET", f"{MYMDC_PREFIX}/runs/all_raw_data_groups_ids"): Doc(response="MymdcIds", query=_RUN_OF),
    ("GET", f"{MYMDC_PREFIX}/data_files/search_data_files"): Doc(response="MymdcDataFileList", query=_RUN_OF),
}

# -- Data Tracker -------------------------------------------------------------------------------
_TRACKER_PAGING = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1, "maximum": 10**6}),
    Param(
        "page_size",
        f"items per page (default and most: {TRACKER_PAGE_SIZE})",
        {"type": "integer", "minimum": 1, "maximum": TRACKER_PAGE_SIZE},
    ),
)
_TRACKER_FILTERS = (
    Param(
        "q",
        "words, each of which must be in the title or description",
        {"type": "string", "maxLength": MAX_QUERY_CHARS},
    ),
    Param(
        "tag",
        f"`key:value` or a word, each of which the tags must have (at most {MAX_TAG_FILTERS})",
        {
            "type": "array",
            "maxItems": MAX_TAG_FILTERS,
            "items": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
        },
    ),
    Param("editor", "only what this user (`_id`) edits", UUID_FORM),
    *_TRACKER_PAGING,
)
_USER_ID = (Param("user_id", "the user's `_id`", UUID_FORM),)
_V1 = "/api/v1"
_LISTS = {"order": "TrackerOrderList", "dataset": "TrackerDatasetList", "collection": "TrackerCollectionList"}
_ANSWERS = {"order": "TrackerOrderAnswer", "dataset": "TrackerDatasetAnswer", "collection": "TrackerCollectionAnswer"}
_FIELDS = {"order": "TrackerOrderFields", "dataset": "TrackerNewDataset", "collection": "TrackerCollectionFields"}
_PATCHES = {"order": "TrackerOrderPatch", "dataset": "TrackerDatasetPatch", "collection": "TrackerCollectionPatch"}
_NO_USER = tuple(Refusal(f, "no user") for f in ("authors", "generators", "editors", "organisation"))
ORDER_REFUSALS = (
    *_NO_USER,
    Refusal("annotation_schema", "is registered"),
    Refusal("annotation_schema", "not available here"),
)
COLLECTION_REFUSALS = (Refusal("datasets", "no dataset"), Refusal("editors", "no user"))
_REFUSALS = {"order": ORDER_REFUSALS, "dataset": (), "collection": COLLECTION_REFUSALS}
_KEY_NAME = (Refusal("name", "printable"),)

TRACKER: dict[tuple[str, str], Doc] = {
    ("GET", _V1): Doc(response="TrackerEntities"),
    **{("GET", f"{_V1}/{kind}"): Doc(response=_LISTS[kind], query=_TRACKER_FILTERS) for kind in _LISTS},
    **{
        ("POST", f"{_V1}/{kind}"): Doc(request=_FIELDS[kind], response="TrackerAdded", refusals=_REFUSALS[kind])
        for kind in _LISTS
    },
    **{("GET", f"{_V1}/{kind}/user"): Doc(response=_LISTS[kind], query=_TRACKER_PAGING) for kind in _LISTS},
    **{("GET", f"{_V1}/{kind}/{{uuid}}"): Doc(response=_ANSWERS[kind]) for kind in _LISTS},
    **{("PATCH", f"{_V1}/{kind}/{{uuid}}"): Doc(request=_PATCHES[kind], refusals=_REFUSALS[kind]) for kind in _LISTS},
    **{("GET", f"{_V1}/{kind}/{{uuid}}/log"): Doc(response="TrackerLog") for kind in _LISTS},
    ("GET", f"{_V1}/order/user/{{user_id}}"): Doc(response="TrackerOrderList", query=_TRACKER_PAGING, path=_USER_ID),
    ("POST", f"{_V1}/order/{{uuid}}/dataset"): Doc(request="TrackerDatasetFields", response="TrackerAdded"),
    ("GET", f"{_V1}/user"): Doc(response="TrackerUserList", query=_TRACKER_PAGING),
    ("DELETE", f"{_V1}/user/{{user_id}}"): Doc(path=_USER_ID),
    ("POST", f"{_V1}/user"): Doc(
        request="TrackerUserFields", response="TrackerAdded", refusals=(Refusal("orcid", "check digit"),)
    ),
    **{
        (method, f"{_V1}/user/{who}{route}"): replace(doc, path=() if who == "me" else _USER_ID)
        for who in ("me", "{user_id}")
        for method, route, doc in (
            ("GET", "", Doc(response="TrackerUserAnswer")),
            (
                "PATCH",
                "",
                Doc(
                    request="TrackerOwnPatch" if who == "me" else "TrackerUserPatch",
                    refusals=(Refusal("orcid", "check digit"),),
                ),
            ),
            ("POST", "/apikey", Doc(request="ApiKeyRequest", response="NewApiKey", refusals=_KEY_NAME)),
            ("GET", "/log", Doc(response="TrackerLog")),
            ("GET", "/actions", Doc(response="TrackerActionList", query=_TRACKER_PAGING)),
            ("GET", "/orders", Doc(response="TrackerOrderList", query=_TRACKER_PAGING)),
            ("GET", "/datasets", Doc(response="TrackerDatasetList", query=_TRACKER_PAGING)),
            ("GET", "/collections", Doc(response="TrackerCollectionList", query=_TRACKER_PAGING)),
        )
    },
    ("GET", f"{_V1}/login"): Doc(response="TrackerLoginTypes"),
    ("GET", f"{_V1}/login/apikey"): Doc(response="TrackerKeySession"),
    ("POST", f"{_V1}/login/apikey"): Doc(request="TrackerKeyLogin", response="TrackerKeySession"),
    ("GET", f"{_V1}/login/oidc"): Doc(response="TrackerOidcServices"),
    ("GET", f"{_V1}/login/oidc/{{name}}/authorize"): Doc(
        response="TrackerOidcSignIn",
        query=(
            Param(
                "code",
                "the provider's authorization code",
                {"type": "string", "minLength": 1, "maxLength": 2048},
                required=True,
            ),
            Param("state", "the sign-in's state", {"type": "string", "minLength": 1, "maxLength": 64}, required=True),
            Param("error", "the provider's refusal (the sign-in fails: 401)"),
        ),
    ),
}

# -- metadata-submitter --------------------------------------------------------------------------
_S = "/submitter"
_SUBMITTER_PAGING = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER}),
    Param(
        "per_page",
        f"items per page (default 10; more than {MAX_PER_PAGE}: {MAX_PER_PAGE})",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER},
    ),
)
_FOLDER = (Param("folder", "the folder (`folderId`)", {"type": "string", "minLength": 1}, required=True),)
_TYPE = (Param("schema", "the object type", OBJECT_TYPE),)
FOLDER_REFUSALS = (
    Refusal("projectId", "project you are a member of"),
    Refusal("editors", "no user"),
    Refusal("doiInfo", "doiInfo is an object"),
)

SUBMITTER: dict[tuple[str, str], Doc] = {
    ("GET", f"{_S}/schemas"): Doc(response="SubmitterSchemas"),
    ("GET", f"{_S}/schemas/{{schema}}"): Doc(
        response="JsonSchemaDocument", query=FORMAT_XSD, path=_TYPE, media=JSON_OR_XML
    ),
    ("POST", f"{_S}/validate"): Doc(request="SubmitterValidateForm", response="SubmitterValidation"),
    ("POST", f"{_S}/submit"): Doc(request="SubmitterSubmitForm", response="SubmitterResults", query=_FOLDER),
    ("GET", f"{_S}/folders"): Doc(
        response="SubmitterFolderPage",
        query=(
            Param("published", "`true` or `false`", {"type": "string", "enum": ["true", "false"]}),
            Param("name", "words of the name"),
            *_SUBMITTER_PAGING,
        ),
    ),
    ("POST", f"{_S}/folders"): Doc(request="FolderFields", response="SubmitterFolderId", refusals=FOLDER_REFUSALS),
    ("GET", f"{_S}/folders/{{folder_id}}"): Doc(response="Folder"),
    ("PATCH", f"{_S}/folders/{{folder_id}}"): Doc(
        request="SubmitterJsonPatch", response="SubmitterFolderId", refusals=FOLDER_REFUSALS
    ),
    ("PATCH", f"{_S}/publish/{{folder_id}}"): Doc(response="SubmitterFolderId"),
    ("GET", f"{_S}/users/{{user_id}}"): Doc(
        response="SubmitterUser", path=(Param("user_id", "`current`, or your own `_id`", {"type": "string"}),)
    ),
    **{
        key: doc
        for prefix in ("objects", "drafts")
        for key, doc in {
            ("GET", f"{_S}/{prefix}/{{schema}}"): Doc(
                response="SubmitterObjectPage",
                query=(
                    Param("folder", "only those of this folder (`folderId`)"),
                    Param("title", "words of the title or alias"),
                    *_SUBMITTER_PAGING,
                ),
                path=_TYPE,
            ),
            ("POST", f"{_S}/{prefix}/{{schema}}"): Doc(
                request="SubmitterObjects", response="SubmitterCreated", query=_FOLDER, path=_TYPE
            ),
            ("GET", f"{_S}/{prefix}/{{schema}}/{{accession}}"): Doc(
                response="SubmittedObject", query=FORMAT_XML, path=_TYPE, media=JSON_OR_XML
            ),
            ("PUT", f"{_S}/{prefix}/{{schema}}/{{accession}}"): Doc(
                request="SubmitterObject", response="SubmitterAccession", path=_TYPE
            ),
            ("PATCH", f"{_S}/{prefix}/{{schema}}/{{accession}}"): Doc(
                request="ObjectChanges", response="SubmitterAccession", path=_TYPE
            ),
            ("DELETE", f"{_S}/{prefix}/{{schema}}/{{accession}}"): Doc(path=_TYPE),
        }.items()
    },
}

# the Data Tracker's changes answer as the original did: 200 with an empty body
_EMPTY_200 = [
    *((m, f"{_V1}/{entity}/{{uuid}}") for entity in ("order", "dataset", "collection") for m in ("PATCH", "DELETE")),
    ("PATCH", f"{_V1}/user/me"),
    *((m, f"{_V1}/user/{{user_id}}") for m in ("PATCH", "DELETE")),
    *((m, f"{_V1}/logout") for m in ("GET", "POST")),
]
# the catalogue's own routes over the same records and parsers: their shapes and refusals
_RECORD_QUERY = (*_TRACKER_FILTERS[:3], *PAGE)  # the Data Tracker's filters, the catalogue's pages
_NOT_THE_PATHS = Refusal("base_uri", "is not the one in the path")
NATIVE_SHARED: dict[tuple[str, str], Doc] = {
    ("PATCH", "/users/me"): Doc(request="ProfilePatch", response="User", refusals=(Refusal("orcid", "check digit"),)),
    ("PUT", "/users/{username}"): Doc(
        request="UserPut", response="User", refusals=(Refusal("username", "is not the one in the path"),)
    ),
    ("POST", "/users/me/keys"): Doc(request="ApiKeyRequest", response="NewApiKey", refusals=_KEY_NAME),
    ("PUT", "/base-uris/{base_uri}"): Doc(
        request="Permissions", response="BaseUri", refusals=(_NOT_THE_PATHS, Refusal("users", "unknown user"))
    ),
    ("PUT", "/base-uris/{base_uri}/permissions"): Doc(
        request="PermissionLists", response="BaseUri", refusals=(Refusal("users", "unknown user"),)
    ),
    ("GET", "/projects"): Doc(response="ProjectPage", query=_RECORD_QUERY),
    ("POST", "/projects"): Doc(request="TrackerOrderFields", response="TrackerOrder", refusals=ORDER_REFUSALS),
    ("GET", "/projects/{uuid}/datasets"): Doc(response="TrackerListPage", query=_RECORD_QUERY),
    ("GET", "/collections"): Doc(response="TrackerListPage", query=_RECORD_QUERY),
    ("POST", "/collections"): Doc(
        request="TrackerCollectionFields", response="TrackerCollection", refusals=COLLECTION_REFUSALS
    ),
    ("POST", "/submissions/folders"): Doc(request="FolderFields", response="Folder", refusals=FOLDER_REFUSALS),
}
COMPAT_DOCS: dict[tuple[str, str], Doc] = {
    **DSERVER,
    **LOOKUP_SERVER,
    **MYMDC,
    **TRACKER,
    **SUBMITTER,
    **NATIVE_SHARED,
}
COMPAT_DOCS.update({key: replace(COMPAT_DOCS.get(key, Doc()), media=()) for key in _EMPTY_200})
