"""The component schemas of the API description: the shapes the handlers answer with.

Each names the fields a client may rely on (``required``) and leaves room for more
(``additionalProperties`` stays open: a field added later breaks no client). The functional
tests check every answer they receive against these (``tests/functional/conftest.py``), so a
handler and its description cannot drift apart unnoticed.
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(item: str) -> JSON:
    """A page of the native API's lists (``/datasets``, ``/projects``, ...)."""
    return {
        "type": "object",
        "required": ["items", "total"],
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
            "total_pages": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "description": "the cursor of the next page (`after=`)"},
        },
    }


_STR = {"type": "string"}
_NUM = {"type": "number"}
_INT = {"type": "integer"}
_STRS = {"type": "array", "items": _STR}

SCHEMAS: dict[str, JSON] = {
    "Error": {
        "type": "object",
        "description": "Every error: a code a program can test and a message a person can read.",
        "required": ["Code", "Message"],
        "properties": {
            "Code": {"type": "string", "examples": ["NotFound", "BadRequest", "VersionConflict"]},
            "Message": _STR,
            "Field": {"type": "string", "description": "the input that is wrong (400)"},
            "CurrentVersion": {"type": "integer", "description": "the record's version now (409 on a stale edit)"},
            "Errors": {
                "description": "every problem of an invalid document ({path, message}) or record (field → messages)",
                "type": ["array", "object"],
            },
        },
        "examples": [{"Code": "NotFound", "Message": "no dataset 1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"}],
    },
    "MymdcError": {
        "type": "object",
        "description": "myMdC's errors, as metadata_client reads them: the message, or a 422's field errors.",
        "required": ["info"],
        "properties": {"info": {"type": ["string", "object", "null"]}},
    },
    "Replica": {
        "type": "object",
        "required": ["uri", "base_uri"],
        "properties": {"uri": _STR, "base_uri": _STR, "registered_at": _NUM, "registered_by": _STR},
    },
    "DatasetSummary": {
        "type": "object",
        "description": "A dataset as lists and search show it (one entry: the dataset under one base URI).",
        "required": ["uuid", "name", "base_uri", "version"],
        "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            "name": _STR,
            "type": _STR,
            "creator_username": _STR,
            "created_at": _NUM,
            "frozen_at": _NUM,
            "tags": _STRS,
            "description": _STR,
            "number_of_items": _INT,
            "size_in_bytes": _INT,
            "registered_at": _NUM,
            "updated_at": _NUM,
            "version": _INT,
            "base_uri": _STR,
            "uri": {"type": ["string", "null"]},
            "replicas": {"type": "array", "items": ref("Replica")},
            "project": {"type": ["string", "null"]},
            "highlights": {
                "type": "object",
                "description": "with `highlight=true` and `q`: per field, snippets where the words matched "
                "(HTML-escaped text; the words in `<mark>`)",
                "additionalProperties": _STRS,
            },
        },
    },
    "Facets": {
        "type": "object",
        "description": "How many of the entries a search finds have each value (at most 50 values per facet, "
        "the most frequent first); only entries the caller may search are counted.",
        "required": ["total", "facets"],
        "properties": {
            "total": _INT,
            "facets": {
                "type": "object",
                "required": ["base_uri", "creator", "tag", "project"],
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value", "count"],
                        "properties": {"value": _STR, "count": _INT},
                    },
                },
            },
        },
        "examples": [
            {
                "total": 3,
                "facets": {
                    "base_uri": [{"value": "s3://lab-data", "count": 3}],
                    "creator": [],
                    "tag": [{"value": "soil", "count": 2}],
                    "project": [],
                },
            }
        ],
    },
    "UploadRequest": {
        "type": "object",
        "description": "Where a new folder goes: an s3:// base URI you may register in, and a folder name "
        "that does not exist there yet.",
        "required": ["base_uri", "folder"],
        "properties": {
            "base_uri": {"type": "string", "examples": ["s3://lab-data"]},
            "folder": {"type": "string", "examples": ["runs/2026-12-07"]},
        },
    },
    "UploadForm": {
        "type": "object",
        "description": "A presigned POST for every file of the folder: send multipart/form-data to `url` with "
        "every field of `fields`, then `key` (`key_prefix` + the file's path), then `file`; write the sidecar "
        "`dataset.json` last. The folder becomes the dataset `uuid` once S3 tells the catalogue.",
        "required": ["base_uri", "folder", "uri", "uuid", "url", "fields", "key_prefix", "expires_in", "max_bytes"],
        "properties": {
            "base_uri": _STR,
            "folder": _STR,
            "uri": _STR,
            "uuid": {"type": "string", "format": "uuid"},
            "sidecar": _STR,
            "creator": _STR,
            "url": _STR,
            "fields": {"type": "object", "additionalProperties": _STR},
            "key_prefix": _STR,
            "expires_in": _INT,
            "max_bytes": _INT,
        },
    },
    "Dataset": {
        "allOf": [ref("DatasetSummary")],
        "type": "object",
        "description": "A dataset's record: its summary, README, annotations and the replicas you may see.",
        "properties": {"readme": _STR, "annotations": {"type": "object"}, "status": _STR},
    },
    "DatasetPage": page_of("DatasetSummary"),
    "Registration": {
        "type": "object",
        "description": "What a client registers: dtool's admin metadata, README, manifest, annotations and tags.",
        "required": ["uuid", "base_uri", "uri", "name"],
        "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            "base_uri": {"type": "string", "examples": ["s3://my-bucket"]},
            "uri": _STR,
            "name": _STR,
            "readme": _STR,
            "manifest": {"type": "object"},
            "annotations": {"type": "object"},
            "tags": _STRS,
            "creator_username": _STR,
            "frozen_at": _NUM,
            "created_at": _NUM,
        },
    },
    "Summary": {
        "type": "object",
        "required": ["number_of_datasets"],
        "properties": {"number_of_datasets": _INT},
    },
    "User": {
        "type": "object",
        "required": ["username"],
        "properties": {
            "username": _STR,
            "id": _STR,
            "is_admin": {"type": "boolean"},
            "display_name": _STR,
            "email": _STR,
            "search_permissions_on_base_uris": _STRS,
            "register_permissions_on_base_uris": _STRS,
            "projects": _STRS,
            "version": _INT,
        },
    },
    "BaseUri": {
        "type": "object",
        "required": ["base_uri"],
        "properties": {"base_uri": _STR, "description": _STR, "created_at": _NUM, "version": _INT},
    },
    "AuditEntry": {
        "type": "object",
        "required": ["action"],
        "properties": {"id": _STR, "entity_type": _STR, "entity_id": _STR, "action": _STR, "timestamp": _NUM},
    },
    "Log": {
        "type": "object",
        "required": ["entries"],
        "properties": {"entries": {"type": "array", "items": ref("AuditEntry")}, "next": {"type": ["string", "null"]}},
    },
    "Archive": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {"id": _STR, "dataset": _STR, "status": _STR, "steps": {"type": "array"}},
    },
    "Problem": {
        "type": "object",
        "required": ["path", "message"],
        "properties": {"path": _STR, "message": _STR},
    },
    "Folder": {
        "type": "object",
        "description": "A metadata submission: drafts and objects of the ENA types, published at once.",
        "required": ["folderId", "name", "published"],
        "properties": {
            "folderId": _STR,
            "name": _STR,
            "description": _STR,
            "projectId": {"type": ["string", "null"]},
            "owner": _STR,
            "editors": _STRS,
            "published": {"type": "boolean"},
            "state": {"enum": ["open", "publishing", "published"]},
            "version": _INT,
            "drafts": {"type": "array"},
            "metadataObjects": {"type": "array"},
        },
    },
    "SubmittedObject": {
        "type": "object",
        "description": "An ENA object: its element's content as JSON (see /submissions/schemas/{type}) "
        "and the catalogue's fields.",
        "required": ["accessionId", "schema", "folderId", "draft"],
        "properties": {"accessionId": _STR, "schema": _STR, "folderId": _STR, "draft": {"type": "boolean"}},
    },
    "AnnotationSchema": {
        "type": "object",
        "required": ["name", "version"],
        "properties": {"name": _STR, "version": _INT, "description": _STR, "schema": {"type": ["object", "boolean"]}},
    },
}
