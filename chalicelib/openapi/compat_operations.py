"""What the routing table cannot tell of the compatibility APIs' operations: their query
parameters and the shapes of their bodies and answers (component schemas of
:mod:`chalicelib.openapi.compat_schemas`), as :mod:`chalicelib.openapi.operations` says them
for the catalogue's own routes. :mod:`chalicelib.openapi.document` reads both.

dserver (dtool-lookup-api 0.10) and dtool-lookup-server 0.18 (dtool-lookup-api 0.7), European
XFEL's myMdC (``/mymdc/api``), SciLifeLab Data Tracker (``/api/v1``) and CSC
metadata-submitter (``/submitter``). Answers that are not JSON (a README or manifest over
4 MiB is a 303; ``?format=xml`` is XML) and empty answers (the Data Tracker's changes and
deletes, 204s) have no schema.
"""

from __future__ import annotations

from chalicelib.facility.schema import Kind
from chalicelib.openapi.compat_schemas_mymdc import COLLECTION_KINDS, schema_name
from chalicelib.openapi.operations import FORMAT_XML, Doc, Param

# -- dserver and dtool-lookup-server 0.18 ------------------------------------------------------
_PAGING = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1}),
    Param("page_size", "items per page (default 10)", {"type": "integer", "minimum": 1, "maximum": 100}),
)
_SORT = (
    Param(
        "sort",
        "a comma list of base_uri, created_at, creator_username, frozen_at, name, uri, uuid (`-`: descending; "
        "default `uri`)",
    ),
)
_DSERVER_FILTERS = (
    Param("free_text", "words to find"),
    Param("creator_usernames", "only datasets of these creators", repeatable=True),
    Param("base_uris", "only datasets under these base URIs", repeatable=True),
    Param("uuids", "only these datasets", repeatable=True),
    Param("tags", "only datasets with every one of these tags", repeatable=True),
)


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
    ("GET", "/users/{username}/summary"): Doc(response="Summary"),
    ("GET", "/uris"): Doc(response="DtoolDatasetList", query=(*_DSERVER_FILTERS, *_PAGING, *_SORT)),
    ("POST", "/uris"): Doc(request="DtoolSearch", response="DtoolDatasetList", query=(*_PAGING, *_SORT)),
    ("GET", "/uuids/{uuid}"): Doc(response="DtoolDatasetList", query=(*_PAGING, *_SORT)),
    **_by_uri("GET /uris", Doc(response="DtoolDataset")),
    **_by_uri("PUT /uris", Doc(request="Registration", response="DserverRegistered")),
    **_by_uri("DELETE /uris", Doc(response="ReplicaDeleted")),
    **_by_uri("GET /readmes", Doc(response="DserverReadme")),
    **_by_uri("GET /manifests", Doc(response="Manifest")),
    **_by_uri("GET /annotations", Doc(response="DserverAnnotations")),
    **_by_uri("GET /tags", Doc(response="DserverTags")),
}

LOOKUP_SERVER: dict[tuple[str, str], Doc] = {
    ("GET", "/dataset/lookup/{uuid}"): Doc(response="DtoolDatasetList", query=_PAGING),
    ("GET", "/dataset/list"): Doc(response="DtoolDatasetList", query=_PAGING),
    ("GET", "/dataset/summary"): Doc(response="Summary"),
    ("POST", "/dataset/search"): Doc(request="DtoolSearch", response="LookupSearchHits", query=_PAGING),
    ("POST", "/dataset/register"): Doc(request="Registration", response="LookupRegistered"),
    ("POST", "/dataset/readme"): Doc(request="LookupUri", response="ReadmeText"),
    ("POST", "/dataset/manifest"): Doc(request="LookupUri", response="Manifest"),
    ("POST", "/dataset/annotations"): Doc(request="LookupUri", response="Annotations"),
    ("GET", "/user/info/{username}"): Doc(response="User"),
    ("GET", "/admin/user/list"): Doc(response="UserList", query=_PAGING),
    ("POST", "/admin/user/register"): Doc(request="LookupNewUsers", response="LookupUsersRegistered"),
    ("POST", "/admin/base_uri/register"): Doc(request="NewBaseUri", response="LookupBaseUri"),
    ("GET", "/admin/base_uri/list"): Doc(response="BaseUriList", query=_PAGING),
    ("POST", "/admin/permission/info"): Doc(request="LookupBaseUri", response="BaseUri"),
    ("POST", "/admin/permission/update_on_base_uri"): Doc(request="LookupPermissions", response="BaseUri"),
}

# -- myMdC ---------------------------------------------------------------------------------------
MYMDC_PREFIX = "/mymdc/api"
_MYMDC_PAGING = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1}),
    Param("page_size", "items per page (default 100, at most 500)", {"type": "integer", "minimum": 1}),
)
_RUN_OF = (
    Param("proposal_number", "the proposal's number", {"type": "integer"}),
    Param("run_number", "the run's number", {"type": "integer"}),
)


def _mymdc_collection(kind: Kind) -> dict[tuple[str, str], Doc]:
    name, path = schema_name(kind), f"{MYMDC_PREFIX}/{kind.path}"
    filters = tuple(Param(f, f"only records whose {f} is this (exact)") for f in kind.filters)
    return {
        ("GET", path): Doc(response=f"{name}List", query=(*filters, *_MYMDC_PAGING)),
        ("POST", path): Doc(request=f"{name}Body", response=name),
        ("GET", f"{path}/{{id}}"): Doc(response=name),
        ("PUT", f"{path}/{{id}}"): Doc(request=f"{name}Body", response=name),
    }


MYMDC: dict[tuple[str, str], Doc] = {
    **{key: doc for kind in COLLECTION_KINDS for key, doc in _mymdc_collection(kind).items()},
    ("GET", f"{MYMDC_PREFIX}/me"): Doc(response="MymdcMe"),
    ("GET", f"{MYMDC_PREFIX}/instruments/{{id}}/active_proposal"): Doc(response="MymdcProposal"),
    **{
        ("GET", f"{MYMDC_PREFIX}/proposals{blank}/{route}/{{number}}"): Doc(response="MymdcProposal")
        for blank in ("", "/{blank}")
        for route in ("by_number", "by_number_daq_info")
    },
    ("GET", f"{MYMDC_PREFIX}/proposals/by_number/{{number}}/runs"): Doc(
        response="MymdcProposalRuns", query=_MYMDC_PAGING
    ),
    ("GET", f"{MYMDC_PREFIX}/proposals/by_number/{{number}}/runs/{{run_number}}"): Doc(response="MymdcProposalRuns"),
    ("GET", f"{MYMDC_PREFIX}/runs/runs_by_proposal"): Doc(response="MymdcRunList", query=(_RUN_OF[0], *_MYMDC_PAGING)),
    ("GET", f"{MYMDC_PREFIX}/runs/all_raw_data_groups_ids"): Doc(response="MymdcIds", query=_RUN_OF),
    ("GET", f"{MYMDC_PREFIX}/data_files/search_data_files"): Doc(response="MymdcDataFileList", query=_RUN_OF),
}

# -- Data Tracker -------------------------------------------------------------------------------
_TRACKER_PAGING = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1}),
    Param("page_size", "items per page (default and most: 1000)", {"type": "integer", "minimum": 1}),
)
_TRACKER_FILTERS = (
    Param("q", "words, each of which must be in the title or description"),
    Param("tag", "`key:value` or a word, each of which the tags must have", repeatable=True),
    Param("editor", "only what this user (`_id`) edits", {"type": "string", "format": "uuid"}),
    *_TRACKER_PAGING,
)
_V1 = "/api/v1"
_LISTS = {"order": "TrackerOrderList", "dataset": "TrackerDatasetList", "collection": "TrackerCollectionList"}
_ANSWERS = {"order": "TrackerOrderAnswer", "dataset": "TrackerDatasetAnswer", "collection": "TrackerCollectionAnswer"}
_FIELDS = {"order": "TrackerOrderFields", "dataset": "TrackerNewDataset", "collection": "TrackerCollectionFields"}
_PATCHES = {"order": "TrackerOrderFields", "dataset": "TrackerDatasetFields", "collection": "TrackerCollectionFields"}

TRACKER: dict[tuple[str, str], Doc] = {
    ("GET", _V1): Doc(response="TrackerEntities"),
    **{("GET", f"{_V1}/{kind}"): Doc(response=_LISTS[kind], query=_TRACKER_FILTERS) for kind in _LISTS},
    **{("POST", f"{_V1}/{kind}"): Doc(request=_FIELDS[kind], response="TrackerAdded") for kind in _LISTS},
    **{("GET", f"{_V1}/{kind}/user"): Doc(response=_LISTS[kind], query=_TRACKER_PAGING) for kind in _LISTS},
    **{("GET", f"{_V1}/{kind}/{{uuid}}"): Doc(response=_ANSWERS[kind]) for kind in _LISTS},
    **{("PATCH", f"{_V1}/{kind}/{{uuid}}"): Doc(request=_PATCHES[kind]) for kind in _LISTS},
    **{("GET", f"{_V1}/{kind}/{{uuid}}/log"): Doc(response="TrackerLog") for kind in _LISTS},
    ("GET", f"{_V1}/order/user/{{user_id}}"): Doc(response="TrackerOrderList", query=_TRACKER_PAGING),
    ("POST", f"{_V1}/order/{{uuid}}/dataset"): Doc(request="TrackerDatasetFields", response="TrackerAdded"),
    ("GET", f"{_V1}/user"): Doc(response="TrackerUserList", query=_TRACKER_PAGING),
    ("POST", f"{_V1}/user"): Doc(request="TrackerUserFields", response="TrackerAdded"),
    **{
        (method, f"{_V1}/user/{who}{route}"): doc
        for who in ("me", "{user_id}")
        for method, route, doc in (
            ("GET", "", Doc(response="TrackerUserAnswer")),
            ("PATCH", "", Doc(request="TrackerUserFields")),
            ("POST", "/apikey", Doc(request="ApiKeyRequest", response="NewApiKey")),
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
        query=(Param("code", "the provider's authorization code"), Param("state", "the sign-in's state")),
    ),
}

# -- metadata-submitter --------------------------------------------------------------------------
_S = "/submitter"
_SUBMITTER_PAGING = (
    Param("page", "the page, from 1", {"type": "integer", "minimum": 1}),
    Param("per_page", "items per page (default 10, at most 1000)", {"type": "integer", "minimum": 1}),
)
_FOLDER = (Param("folder", "the folder (`folderId`)"),)

SUBMITTER: dict[tuple[str, str], Doc] = {
    ("GET", f"{_S}/schemas"): Doc(response="SubmitterSchemas"),
    ("GET", f"{_S}/schemas/{{schema}}"): Doc(response="JsonSchemaDocument", query=FORMAT_XML),
    ("POST", f"{_S}/validate"): Doc(response="SubmitterValidation"),
    ("POST", f"{_S}/submit"): Doc(response="SubmitterResults", query=_FOLDER),
    ("GET", f"{_S}/folders"): Doc(
        response="SubmitterFolderPage",
        query=(Param("published", "`true` or `false`"), Param("name", "words of the name"), *_SUBMITTER_PAGING),
    ),
    ("POST", f"{_S}/folders"): Doc(request="FolderFields", response="SubmitterFolderId"),
    ("GET", f"{_S}/folders/{{folder_id}}"): Doc(response="Folder"),
    ("PATCH", f"{_S}/folders/{{folder_id}}"): Doc(request="SubmitterJsonPatch", response="SubmitterFolderId"),
    ("PATCH", f"{_S}/publish/{{folder_id}}"): Doc(response="SubmitterFolderId"),
    ("GET", f"{_S}/users/{{user_id}}"): Doc(response="SubmitterUser"),
    **{
        key: doc
        for prefix in ("objects", "drafts")
        for key, doc in {
            ("GET", f"{_S}/{prefix}/{{schema}}"): Doc(
                response="SubmitterObjectPage",
                query=(*_FOLDER, Param("title", "words of the title or alias"), *_SUBMITTER_PAGING),
            ),
            ("POST", f"{_S}/{prefix}/{{schema}}"): Doc(response="SubmitterCreated", query=_FOLDER),
            ("GET", f"{_S}/{prefix}/{{schema}}/{{accession}}"): Doc(response="SubmittedObject", query=FORMAT_XML),
            ("PUT", f"{_S}/{prefix}/{{schema}}/{{accession}}"): Doc(response="SubmitterAccession"),
            ("PATCH", f"{_S}/{prefix}/{{schema}}/{{accession}}"): Doc(
                request="ObjectChanges", response="SubmitterAccession"
            ),
        }.items()
    },
}

COMPAT_DOCS: dict[tuple[str, str], Doc] = {**DSERVER, **LOOKUP_SERVER, **MYMDC, **TRACKER, **SUBMITTER}
