"""The component schemas of SciLifeLab Data Tracker's API (``/api/v1``): orders, datasets,
collections, users, their logs, API keys and sign-in, as :mod:`chalicelib.tracker` renders
them. The catalogue's own ``/projects`` and ``/collections`` answer the same records
(``TrackerOrder``, ``TrackerDataset``, ``TrackerCollection``) unwrapped, paged as
``/datasets`` is, with the facility's proposals among the projects; ``/users/me/keys`` the
same API keys. Those shapes are here too.

Reads wrap the record in its kind (``{"order": {...}}``); lists are ``{"<kind>s": [...],
"total", "page", "page_size"}``; creating answers ``{"_id"}``, changing and deleting an empty
200. Bodies come flat (the older Data Tracker) or wrapped in the kind (the newest): they are in
:mod:`chalicelib.openapi.compat_schemas_tracker_bodies`.
"""

from __future__ import annotations

from chalicelib.openapi.compat_schemas_tracker_bodies import TRACKER_BODIES
from chalicelib.openapi.shapes import INT as _INT
from chalicelib.openapi.shapes import JSON
from chalicelib.openapi.shapes import NUM as _NUM
from chalicelib.openapi.shapes import STR as _STR
from chalicelib.openapi.shapes import STRS as _STRS
from chalicelib.openapi.shapes import array_of as _array
from chalicelib.openapi.shapes import page_ref as _page
from chalicelib.openapi.shapes import ref as _ref

_UUID: JSON = {"type": "string", "format": "uuid"}
_TAGS: JSON = {"type": "object", "description": "key → value", "additionalProperties": {"type": "string"}}
_TIME: JSON = {"type": "string", "description": "ISO 8601, UTC (`2026-01-05T09:30:00.000Z`)"}


def _listed(key: str, item: str) -> JSON:
    """The Data Tracker's lists: ``{key: [...], total, page, page_size}`` (``X-Total-Count``)."""
    return {
        "type": "object",
        "required": [key, "total", "page", "page_size"],
        "properties": {
            key: _array(item),
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
        },
    }


def _wrapped(key: str, item: str) -> JSON:
    return {"type": "object", "required": [key], "properties": {key: _ref(item)}}


_DESCRIBED: JSON = {
    "title": {"type": "string", "maxLength": 256},
    "description": {"type": "string", "description": "Markdown", "maxLength": 100_000},
    "tags_standard": _TAGS,
    "tags_user": _TAGS,
}
_XREFS: JSON = _array("TrackerCrossReference")
_RECORD: JSON = {
    "_id": _UUID,
    "version": {"type": "integer", "description": "for PATCH's optimistic lock (`/projects`, `/collections`)"},
    "created_at": _NUM,
    "updated_at": _NUM,
}
_RECORD_REQUIRED = ["_id", "title", "description", "tags_standard", "tags_user", "version", "created_at", "updated_at"]
_USER_FIELDS: JSON = {
    "name": {"type": "string", "maxLength": 256},
    "affiliation": {"type": "string", "maxLength": 256},
    "contact": {"type": "string", "description": "a public contact (the seed's `email_public`)"},
    "orcid": {"type": "string", "examples": ["0000-0002-1825-0097"]},
    "url": _STR,
}

TRACKER_SCHEMAS: dict[str, JSON] = {
    "TrackerEntities": {"type": "object", "required": ["entities"], "properties": {"entities": _STRS}},
    "TrackerRef": {
        "type": "object",
        "description": "An entity as others name it: its `_id` and title.",
        "required": ["_id", "title"],
        "properties": {"_id": _UUID, "title": _STR},
    },
    "TrackerCrossReference": {
        "type": "object",
        "required": ["title", "value"],
        "properties": {"title": _STR, "value": {"type": "string", "examples": ["doi:10.17044/scilifelab.14727426"]}},
    },
    "TrackerListEntry": {
        "type": "object",
        "description": "An order, dataset or collection as lists show it.",
        "required": ["_id", "title", "tags_standard", "tags_user"],
        "properties": {"_id": _UUID, "title": _STR, "tags_standard": _TAGS, "tags_user": _TAGS},
    },
    "TrackerUserSummary": {
        "type": "object",
        "description": "A user as entities embed them (authors, editors, ...): the public fields; a user "
        "that no longer exists keeps only its `_id`.",
        "required": ["_id"],
        "properties": {"_id": _STR, **_USER_FIELDS},
    },
    "TrackerUser": {
        "type": "object",
        "description": "A user: the public fields, and for who may see them `username`, `email`, `auth_ids` "
        "and `permissions` (anonymous callers of `/user/me` get every key, blank).",
        "required": ["_id", "affiliation", "contact", "name", "orcid", "url"],
        "properties": {
            "_id": _STR,
            **_USER_FIELDS,
            "username": _STR,
            "email": _STR,
            "auth_ids": _STRS,
            "permissions": {"type": "array", "items": _STR, "examples": [["ORDERS", "DATA_MANAGEMENT"]]},
        },
    },
    "TrackerOrder": {
        "type": "object",
        "description": "An order (a project): its fields, its people and its datasets.",
        "required": [*_RECORD_REQUIRED, "authors", "generators", "editors", "organisation", "datasets"],
        "properties": {
            **_RECORD,
            **_DESCRIBED,
            "authors": _array("TrackerUserSummary"),
            "generators": _array("TrackerUserSummary"),
            "editors": _array("TrackerUserSummary"),
            "organisation": {
                "description": "the organisation (a user), or `{}` when there is none",
                "anyOf": [_ref("TrackerUserSummary"), {"type": "object", "maxProperties": 0}],
            },
            "datasets": _array("TrackerRef"),
            "annotation_schema": {"type": "string", "description": "the schema of its datasets' annotations"},
        },
    },
    "TrackerDataset": {
        "type": "object",
        "description": "A dataset of an order: its fields, its order's people, related datasets and collections; "
        "`order` and `editors` for who may edit it; `replicas`, the catalogue's entries of its uuid.",
        "required": [
            *_RECORD_REQUIRED,
            "cross_references",
            "published",
            "authors",
            "generators",
            "organisation",
            "related",
            "collections",
        ],
        "properties": {
            **_RECORD,
            **_DESCRIBED,
            "cross_references": _XREFS,
            "published": {"type": "boolean"},
            "authors": _array("TrackerUserSummary"),
            "generators": _array("TrackerUserSummary"),
            "organisation": {"anyOf": [_ref("TrackerUserSummary"), {"type": "object", "maxProperties": 0}]},
            "related": _array("TrackerRef"),
            "collections": _array("TrackerRef"),
            "order": _ref("TrackerRef"),
            "editors": _array("TrackerUserSummary"),
            "replicas": _array("DatasetSummary"),
        },
    },
    "TrackerCollection": {
        "type": "object",
        "description": "A collection of datasets (those the caller may read); `editors` for who may see them.",
        "required": [*_RECORD_REQUIRED, "cross_references", "published", "datasets"],
        "properties": {
            **_RECORD,
            **_DESCRIBED,
            "cross_references": _XREFS,
            "published": {"type": "boolean"},
            "datasets": _array("TrackerRef"),
            "editors": _array("TrackerUserSummary"),
        },
    },
    "TrackerOrderAnswer": _wrapped("order", "TrackerOrder"),
    "TrackerDatasetAnswer": _wrapped("dataset", "TrackerDataset"),
    "TrackerCollectionAnswer": _wrapped("collection", "TrackerCollection"),
    "TrackerUserAnswer": _wrapped("user", "TrackerUser"),
    "TrackerOrderList": _listed("orders", "TrackerListEntry"),
    "TrackerDatasetList": _listed("datasets", "TrackerListEntry"),
    "TrackerCollectionList": _listed("collections", "TrackerListEntry"),
    "TrackerUserList": _listed("users", "TrackerUser"),
    "TrackerActionList": _listed("logs", "TrackerAction"),
    "TrackerAdded": {
        "type": "object",
        "required": ["_id"],
        "properties": {"_id": _UUID},
        "examples": [{"_id": "3f2b8c1e-5d4a-4e6f-9a7b-0c1d2e3f4a5b"}],
    },
    "TrackerAction": {
        "type": "object",
        "description": "One change the user made.",
        "required": ["_id", "action", "comment", "data_type", "entry_id", "timestamp"],
        "properties": {
            "_id": _STR,
            "action": {"type": "string", "examples": ["add", "edit", "delete"]},
            "comment": _STR,
            "data_type": _STR,
            "entry_id": _STR,
            "timestamp": _TIME,
        },
    },
    "TrackerLogEntry": {
        "type": "object",
        "description": "One change: a full copy of the entity after it (`{_id}` for a delete).",
        "required": ["_id", "action", "comment", "data_type", "data", "timestamp", "user", "username"],
        "properties": {
            "_id": _STR,
            "action": _STR,
            "comment": _STR,
            "data_type": _STR,
            "data": {"type": "object"},
            "timestamp": _TIME,
            "user": {"type": "string", "description": "the actor's `_id` (`system` for automated changes)"},
            "username": _STR,
        },
    },
    "TrackerLog": {
        "type": "object",
        "required": ["entry_id", "data_type", "logs"],
        "properties": {"entry_id": _STR, "data_type": _STR, "logs": _array("TrackerLogEntry")},
    },
    "TrackerLoginTypes": {"type": "object", "required": ["types"], "properties": {"types": _STRS}},
    "TrackerKeySession": {
        "type": "object",
        "description": "A session for an API key: send `Authorization: Bearer <token>` (valid `expires_in` seconds).",
        "required": ["token", "token_type", "expires_in", "expires_at"],
        "properties": {
            "token": {"type": "string", "examples": ["dts.…"]},
            "token_type": {"const": "Bearer"},
            "expires_in": _INT,
            "expires_at": _NUM,
        },
    },
    "TrackerOidcServices": {
        "type": "object",
        "description": "sign-in service name → the path that starts a sign-in",
        "additionalProperties": _STR,
    },
    "TrackerOidcSignIn": {
        "type": "object",
        "required": ["token", "token_type", "expires_in", "username", "_id"],
        "properties": {
            "token": _STR,
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": ["integer", "null"]},
            "username": _STR,
            "_id": _UUID,
        },
    },
    "ApiKey": {
        "type": "object",
        "description": "An API key as its owner sees it (never its secret).",
        "required": ["key_id", "name", "created_at", "last_used_at"],
        "properties": {"key_id": _STR, "name": _STR, "created_at": _NUM, "last_used_at": {"type": ["number", "null"]}},
    },
    "NewApiKey": {
        "allOf": [_ref("ApiKey")],
        "type": "object",
        "description": "A new key and, shown this once, `key` (`<key_id>.<secret>`: send it as "
        "`Authorization: ApiKey <key>` or `X-API-Key`).",
        "required": ["key"],
        "properties": {"key": _STR},
    },
    "ApiKeyPage": _page("ApiKey"),
    # -- the catalogue's /projects and /collections -----------------------------------------------
    "ProjectEntry": {
        "type": "object",
        "description": "A project as `/projects` lists it: an order (with its tags) or a facility proposal.",
        "required": ["_id", "kind", "title"],
        "properties": {
            "_id": _UUID,
            "kind": {"enum": ["order", "proposal"]},
            "title": _STR,
            "tags_standard": _TAGS,
            "tags_user": _TAGS,
            "description": _STR,
            "number": {"type": ["integer", "null"]},
            "doi": {"type": ["string", "null"]},
            "begin_at": {"type": ["string", "null"]},
            "mymdc": {"type": "string", "description": "the proposal's path in the myMdC API"},
        },
    },
    "ProposalProject": {
        "type": "object",
        "description": "A facility proposal as a project (changed through the myMdC API).",
        "required": ["_id", "kind", "title", "description", "number", "mymdc"],
        "properties": {
            "_id": _UUID,
            "kind": {"const": "proposal"},
            "title": _STR,
            "description": _STR,
            "number": {"type": ["integer", "null"]},
            "doi": {"type": ["string", "null"]},
            "begin_at": {"type": ["string", "null"]},
            "mymdc": {"type": "string", "examples": ["/proposals/7"]},
        },
    },
    "Project": {
        "description": "An order (`kind`: order) or a facility proposal (`kind`: proposal).",
        "anyOf": [
            {"allOf": [_ref("TrackerOrder")], "required": ["kind"], "properties": {"kind": {"const": "order"}}},
            _ref("ProposalProject"),
        ],
    },
    "ProjectPage": _page("ProjectEntry"),
    "TrackerListPage": _page("TrackerListEntry"),
    "Topics": {
        "type": "object",
        "description": "The user's permission topics (the Data Tracker's `permissions`).",
        "required": ["topics"],
        "properties": {"topics": _STRS},
        "examples": [{"topics": ["ORDERS", "DATA_MANAGEMENT"]}],
    },
    **TRACKER_BODIES,
}
