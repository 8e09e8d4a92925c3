"""The component schemas of the APIs the catalogue stands in for, merged into
:data:`chalicelib.openapi.schemas.SCHEMAS` as :data:`COMPAT_SCHEMAS`.

Here: dtool's two server generations (dserver, what dtool-lookup-api 0.10 speaks, and
dtool-lookup-server 0.18), whose lists are plain JSON arrays paged by the ``X-Pagination``
header. dserver's shapes that the catalogue's own routes answer too are here as well:
``/users`` and ``/base-uris`` are dserver's routes (``User``, ``BaseUri``, their lists and
bodies), ``/datasets/summary`` is dtool's ``Summary`` and ``/datasets/{uuid}/manifest`` its
``Manifest``.

European XFEL's myMdC is in :mod:`chalicelib.openapi.compat_schemas_mymdc`, SciLifeLab Data
Tracker (and ``/projects``, ``/collections``, API keys) in
:mod:`chalicelib.openapi.compat_schemas_tracker`, CSC metadata-submitter (and
``/submissions``) in :mod:`chalicelib.openapi.compat_schemas_submissions`.
"""

from __future__ import annotations

from chalicelib.config import Settings
from chalicelib.domain import RESERVED_USERNAMES
from chalicelib.openapi.compat_schemas_mymdc import MYMDC_SCHEMAS
from chalicelib.openapi.compat_schemas_submissions import SUBMISSION_SCHEMAS
from chalicelib.openapi.compat_schemas_tracker import TRACKER_SCHEMAS
from chalicelib.openapi.request_schemas import BASE_URI, MANIFEST_EXAMPLE, USERNAME, UUID
from chalicelib.openapi.shapes import BOOL as _BOOL
from chalicelib.openapi.shapes import INT as _INT
from chalicelib.openapi.shapes import JSON
from chalicelib.openapi.shapes import NUM as _NUM
from chalicelib.openapi.shapes import STR as _STR
from chalicelib.openapi.shapes import STRS as _STRS
from chalicelib.openapi.shapes import array_of as _array
from chalicelib.openapi.shapes import ref as _ref
from chalicelib.routes._dtool import MAX_VALUE_CHARS, MAX_VALUES

_USERNAMES: JSON = {"type": "array", "items": _STR, "description": "usernames"}
# what parse_username takes: the pattern, and none of the catalogue's own actors' names
_RESERVED = "|".join(
    "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in name) for name in sorted(RESERVED_USERNAMES)
)
USERNAME_NOT_RESERVED: JSON = {
    **USERNAME,
    "not": {"pattern": f"^(?:{_RESERVED})$"},
    "description": "not a name of the catalogue's own actors",
}
_USERNAME_LIST: JSON = {
    "type": "array",
    "maxItems": 1000,
    "items": USERNAME_NOT_RESERVED,
    "description": "usernames (known users)",
}


def _null_text(most: int) -> JSON:
    return {"type": ["string", "null"], "maxLength": most}


_USER_FIELDS: JSON = {
    "is_admin": {"type": ["boolean", "null"]},
    "display_name": _null_text(256),
    "email": {
        "type": ["string", "null"],
        "maxLength": 256,
        "pattern": r"^(?:[\s\S]*@[\s\S]*)?$",
        "description": "with an `@` (or empty)",
    },
    "orcid": {
        "type": ["string", "null"],
        "pattern": "^(?:|[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{3}[0-9X])$",
        "description": "an ORCID iD, its last character the ISO 7064 11,2 check digit",
    },
}
# dtool's search filters (_dtool.parse_search_body); free text as long as the deployment
# allows (CATALOGUE_MAX_QUERY_CHARS, default 512)
MAX_FREE_TEXT = Settings.max_query_chars
_FILTER_VALUES = {
    "creator_usernames": {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_CHARS},
    "base_uris": BASE_URI,
    "uuids": UUID,
    "tags": {"type": "string", "minLength": 1, "maxLength": MAX_VALUE_CHARS},
}
SEARCH_FILTERS: dict[str, JSON] = {
    name: {"type": "array", "maxItems": MAX_VALUES, "items": item} for name, item in _FILTER_VALUES.items()
}


_ROW_EXAMPLE: JSON = {
    "base_uri": "s3://lab-data",
    "uri": "s3://lab-data/1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f",
    "uuid": "1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f",
    "name": "soil-samples-2026",
    "creator_username": "alice",
    "frozen_at": 1767225600.0,
    "created_at": 1767222000.0,
    "number_of_items": 3,
    "size_in_bytes": 52340,
}
_USER: JSON = {
    "username": "alice",
    "id": "8a6b1f0e-2c3d-5e4f-9a8b-7c6d5e4f3a2b",
    "is_admin": False,
    "display_name": "Alice Andersson",
    "email": "alice@example.org",
    "orcid": "0000-0002-1825-0097",
    "affiliation": "Department of Soil Science",
    "contact": "",
    "url": "",
    "auth_ids": [],
    "topics": [],
    "created_at": 1767000000.0,
    "search_permissions_on_base_uris": ["s3://lab-data"],
    "register_permissions_on_base_uris": ["s3://lab-data"],
    "projects": [],
    "version": 3,
}
_BASE_URI: JSON = {
    "base_uri": "s3://lab-data",
    "created_at": 1767000000.0,
    "description": "the lab's data bucket",
    "version": 1,
    "users_with_search_permissions": ["alice", "bob"],
    "users_with_register_permissions": ["alice"],
}
_PAGED = "One page (`page`, `page_size` 1 to 100, default 10); the header `X-Pagination` says where it lies."

DTOOL_SCHEMAS: dict[str, JSON] = {
    "DtoolDataset": {
        "type": "object",
        "description": "dtool's dataset row: one per URI (a dataset under two base URIs is two rows).",
        "required": [
            "base_uri",
            "uri",
            "uuid",
            "name",
            "creator_username",
            "frozen_at",
            "created_at",
            "number_of_items",
            "size_in_bytes",
        ],
        "properties": {
            "base_uri": {"type": ["string", "null"]},
            "uri": {"type": ["string", "null"]},
            "uuid": {"type": "string", "format": "uuid"},
            "name": _STR,
            "creator_username": _STR,
            "frozen_at": {"type": "number", "description": "seconds since the epoch"},
            "created_at": {"type": "number", "description": "seconds since the epoch"},
            "number_of_items": _INT,
            "size_in_bytes": _INT,
        },
        "examples": [_ROW_EXAMPLE],
    },
    "DtoolDatasetList": _array("DtoolDataset", _PAGED),
    "DtoolSearch": {
        "type": ["object", "null"],
        "description": "dtool's search: every filter given must match (a list: any of its values; tags: all); "
        "no body (or `null`) is everything the caller may see; any other key is refused.",
        "additionalProperties": False,
        "properties": {
            "free_text": {
                "type": ["string", "null"],
                "maxLength": MAX_FREE_TEXT,
                "description": "words to find; also annotation clauses as in `q` of `GET /datasets` "
                "(`annotations.temperature_K>=300`)",
            },
            **{name: {**schema, "type": ["array", "null"]} for name, schema in SEARCH_FILTERS.items()},
        },
        "examples": [{"free_text": "soil", "base_uris": ["s3://lab-data"], "tags": ["field"]}],
    },
    "DserverConfigInfo": {
        "type": "object",
        "description": "The public settings, flat (dtool-lookup-server 0.18) and wrapped in `config` (dserver).",
        "required": ["config", "version"],
        "properties": {"config": _ref("PublicConfig"), "version": _STR},
    },
    "DserverVersions": {
        "type": "object",
        "description": "package → version, flat (dtool-lookup-server 0.18) and wrapped in `versions` (dserver).",
        "required": ["versions"],
        "properties": {"versions": {"type": "object", "additionalProperties": _STR}},
        "examples": [{"catalogue": "1.0.0", "versions": {"catalogue": "1.0.0"}}],
    },
    "DserverMe": {
        "type": "object",
        "required": [
            "username",
            "is_admin",
            "search_permissions_on_base_uris",
            "register_permissions_on_base_uris",
        ],
        "properties": {
            "username": _STR,
            "is_admin": _BOOL,
            "search_permissions_on_base_uris": _STRS,
            "register_permissions_on_base_uris": _STRS,
        },
    },
    "DserverRegistered": {
        "type": "object",
        "description": "201: a new dataset or replica; 200: it replaced or matched what was there.",
        "required": ["uri", "status"],
        "properties": {"uri": _STR, "status": {"type": "string", "examples": ["added", "updated", "unchanged"]}},
    },
    "ReplicaDeleted": {
        "type": "object",
        "description": "The replica removed, and whether the dataset went with it (its last replica).",
        "required": ["uuid", "deleted_uri", "dataset_deleted", "replicas"],
        "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            "deleted_uri": _STR,
            "dataset_deleted": _BOOL,
            "replicas": _array("Replica", "the replicas left that the caller may see"),
        },
    },
    "DserverReadme": {"type": "object", "required": ["readme"], "properties": {"readme": _STR}},
    "DserverAnnotations": {
        "type": "object",
        "required": ["annotations"],
        "properties": {"annotations": {"type": "object"}},
    },
    "DserverTags": {"type": "object", "required": ["tags"], "properties": {"tags": _STRS}},
    "Summary": {
        "type": "object",
        "description": "What the caller may search, counted: datasets (distinct uuids) and bytes, in all and "
        "per base URI, creator and tag; datasets per project and per type. A base URI's count is its entries "
        "(one per uuid); sizes add up every visible entry, so a dataset on two base URIs is stored (and counted) "
        "twice. Kept by the datasets stream consumer: a change shows within seconds, as in search.",
        "required": ["number_of_datasets"],
        "properties": {
            "number_of_datasets": _INT,
            "total_size_in_bytes": _INT,
            "base_uris": _STRS,
            "creator_usernames": _STRS,
            "tags": _STRS,
            **{
                f"{what}_per_{key}": {"type": "object", "additionalProperties": _INT}
                for what in ("datasets", "size_in_bytes")
                for key in ("base_uri", "creator", "tag")
            },
            "datasets_per_project": {"type": "object", "additionalProperties": _INT},
            "datasets_per_type": {"type": "object", "additionalProperties": _INT},
        },
        "examples": [
            {
                "number_of_datasets": 1,
                "total_size_in_bytes": 52340,
                "base_uris": ["s3://lab-data"],
                "creator_usernames": ["alice"],
                "tags": ["field", "soil"],
                "datasets_per_base_uri": {"s3://lab-data": 1},
                "datasets_per_creator": {"alice": 1},
                "datasets_per_tag": {"field": 1, "soil": 1},
                "size_in_bytes_per_base_uri": {"s3://lab-data": 52340},
                "size_in_bytes_per_creator": {"alice": 52340},
                "size_in_bytes_per_tag": {"field": 52340, "soil": 52340},
                "datasets_per_project": {},
                "datasets_per_type": {"dtool": 1},
            }
        ],
    },
    "Manifest": {
        "type": "object",
        "description": "dtool's manifest: item id → relpath, size, hash and time.",
        "required": ["items"],
        "properties": {
            "hash_function": {"type": "string", "examples": ["md5sum_hexdigest"]},
            "dtoolcore_version": _STR,
            "items": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["relpath", "size_in_bytes", "hash", "utc_timestamp"],
                    "properties": {"relpath": _STR, "size_in_bytes": _INT, "hash": _STR, "utc_timestamp": _NUM},
                },
            },
        },
        "examples": [MANIFEST_EXAMPLE],
    },
    # -- users and base URIs (the catalogue's /users and /base-uris are dserver's) ------------
    "User": {
        "type": "object",
        "required": ["username"],
        "properties": {
            "username": _STR,
            "id": {"type": "string", "format": "uuid"},
            "is_admin": _BOOL,
            "display_name": _STR,
            "email": _STR,
            "orcid": _STR,
            "affiliation": _STR,
            "contact": _STR,
            "url": _STR,
            "auth_ids": _STRS,
            "topics": _STRS,
            "created_at": _NUM,
            "search_permissions_on_base_uris": _STRS,
            "register_permissions_on_base_uris": _STRS,
            "projects": _STRS,
            "version": _INT,
        },
        "examples": [_USER],
    },
    "UserList": {"type": "array", "description": "One page, with `X-Pagination`.", "items": _ref("User")},
    "NewUser": {
        "type": "object",
        "additionalProperties": False,
        "required": ["username"],
        "properties": {"username": USERNAME_NOT_RESERVED, **_USER_FIELDS},
        "examples": [{"username": "bob", "display_name": "Bob Berg", "email": "bob@example.org"}],
    },
    "UserPatch": {
        "type": "object",
        "description": "An admin's change of a user, optionally at `version`.",
        "additionalProperties": False,
        "properties": {**_USER_FIELDS, "version": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**53}},
    },
    "UserPut": {
        "type": "object",
        "description": "dserver's registration of a user (a `username` must be the path's).",
        "additionalProperties": False,
        "properties": {"username": _STR, "is_admin": {"type": "boolean", "default": False}},
    },
    "Deleted": {"type": "object", "required": ["deleted"], "properties": {"deleted": _STR}},
    "IndexStarted": {
        "type": "object",
        "description": "A bulk index of an S3 base URI, started (it runs step by step off the ingest queue).",
        "required": ["base_uri", "status"],
        "additionalProperties": False,
        "properties": {"base_uri": _STR, "status": {"enum": ["started"]}},
    },
    "BaseUri": {
        "type": "object",
        "required": ["base_uri", "users_with_search_permissions", "users_with_register_permissions"],
        "properties": {
            "base_uri": _STR,
            "description": _STR,
            "created_at": _NUM,
            "public": {"type": "boolean", "description": "published: listed by OAI-PMH, DOIs findable"},
            "version": _INT,
            "users_with_search_permissions": _USERNAMES,
            "users_with_register_permissions": _USERNAMES,
        },
        "examples": [_BASE_URI],
    },
    "BaseUriPatch": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "public": {"type": "boolean", "description": "publish (true) or withdraw (false)"},
            "description": {"type": ["string", "null"], "maxLength": 1024},
        },
        "examples": [{"public": True}],
    },
    "BaseUriList": {"type": "array", "description": "One page, with `X-Pagination`.", "items": _ref("BaseUri")},
    "NewBaseUri": {
        "type": "object",
        "additionalProperties": False,
        "required": ["base_uri"],
        "properties": {"base_uri": BASE_URI, "description": {"type": ["string", "null"], "maxLength": 1024}},
        "examples": [{"base_uri": "s3://lab-data", "description": "the lab's data bucket"}],
    },
    "Permissions": {
        "type": "object",
        "description": "Who may search and who may register (both lists replace the current ones).",
        "additionalProperties": False,
        "required": ["users_with_search_permissions", "users_with_register_permissions"],
        "properties": {
            "base_uri": {"description": "PUT /base-uris/{base_uri}: the path's, if given"},
            "users_with_search_permissions": _USERNAME_LIST,
            "users_with_register_permissions": _USERNAME_LIST,
        },
    },
    "PermissionLists": {
        "type": "object",
        "description": "Who may search and who may register (both lists replace the current ones).",
        "additionalProperties": False,
        "required": ["users_with_search_permissions", "users_with_register_permissions"],
        "properties": {
            "users_with_search_permissions": _USERNAME_LIST,
            "users_with_register_permissions": _USERNAME_LIST,
        },
    },
    # -- dtool-lookup-server 0.18 --------------------------------------------------------------
    "LookupSearchHit": {
        "allOf": [_ref("DtoolDataset")],
        "type": "object",
        "description": "A search hit: dtool's row, its `type` and `tags`.",
        "required": ["type", "tags"],
        "properties": {"type": {"const": "dataset"}, "tags": _STRS},
    },
    "LookupSearchHits": _array("LookupSearchHit", _PAGED),
    "LookupUri": {
        "type": "object",
        "description": "The dataset, by URI; any other key is refused.",
        "additionalProperties": False,
        "required": ["uri"],
        "properties": {"uri": {"type": "string", "minLength": 1, "maxLength": 2048}},
        "examples": [{"uri": "s3://lab-data/1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"}],
    },
    "LookupRegistered": {"type": "object", "required": ["uri"], "properties": {"uri": _STR}},
    "ReadmeText": {"type": "string", "description": "the README (YAML text) as a JSON string"},
    "Annotations": {"type": "object", "description": "annotation name → value"},
    "LookupNewUsers": {
        "type": "array",
        "description": "Users to add (at most 1000, all checked before any is added).",
        "maxItems": 1000,
        "items": _ref("NewUser"),
    },
    "LookupUsersRegistered": {
        "type": "object",
        "description": "The users added, and those skipped because they exist already.",
        "required": ["registered", "skipped"],
        "properties": {"registered": _USERNAMES, "skipped": _USERNAMES},
    },
    "LookupBaseUri": {
        "type": "object",
        "additionalProperties": False,
        "required": ["base_uri"],
        "properties": {"base_uri": BASE_URI},
        "examples": [{"base_uri": "s3://lab-data"}],
    },
    "LookupPermissions": {
        "type": "object",
        "description": "Who may search and register on the base URI (both lists replace the current ones).",
        "additionalProperties": False,
        "required": ["base_uri", "users_with_search_permissions", "users_with_register_permissions"],
        "properties": {
            "base_uri": BASE_URI,
            "users_with_search_permissions": _USERNAME_LIST,
            "users_with_register_permissions": _USERNAME_LIST,
        },
    },
}

COMPAT_SCHEMAS: dict[str, JSON] = {**DTOOL_SCHEMAS, **MYMDC_SCHEMAS, **TRACKER_SCHEMAS, **SUBMISSION_SCHEMAS}
