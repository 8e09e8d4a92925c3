"""The component schemas of metadata submissions: CSC metadata-submitter's REST API (v0.13,
under ``/submitter``) and the catalogue's own ``/submissions``, two views of one service
(:mod:`chalicelib.submissions.service`) that share its folders (``Folder``) and ENA objects
(``SubmittedObject``).

metadata-submitter pages as ``{"page": {page, size, totalPages, totalObjects}, "<key>": [...]}``
and answers most writes with just the id (``{"folderId"}``, ``{"accessionId"}``); the
catalogue's routes page as ``/datasets`` does (``Page``) and answer the record.
"""

from __future__ import annotations

from chalicelib.openapi.compat_text import NOT_BLANK
from chalicelib.openapi.shapes import BOOL as _BOOL
from chalicelib.openapi.shapes import INT as _INT
from chalicelib.openapi.shapes import JSON
from chalicelib.openapi.shapes import STR as _STR
from chalicelib.openapi.shapes import STRS as _STRS
from chalicelib.openapi.shapes import array_of as _array
from chalicelib.openapi.shapes import page_ref as _page
from chalicelib.submissions.service import MAX_DESCRIPTION, MAX_EDITORS, MAX_NAME, MAX_OBJECTS_PER_REQUEST
from chalicelib.submissions.types import TYPES

_NULL_STR: JSON = {"type": ["string", "null"]}
_TIME: JSON = {"type": ["string", "null"], "description": "ISO 8601, UTC"}


_ENTRY: JSON = {
    "type": "object",
    "description": "an object of the folder: its accession id, type, title and how it was submitted",
    "required": ["accessionId", "schema"],
    "properties": {
        "accessionId": _STR,
        "schema": _STR,
        "title": _STR,
        "tags": {"type": "object", "properties": {"submissionType": {"enum": ["JSON", "XML", "CSV"]}}},
    },
}
_FOLDER_FIELDS: JSON = {
    "name": {"type": "string", "maxLength": MAX_NAME, "pattern": NOT_BLANK, "description": "not blank"},
    "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
    "projectId": {
        "description": "a catalogue project you are a member of (admins: any), or `null`",
        "anyOf": [{"type": "null"}, {"type": "string", "maxLength": MAX_NAME, "pattern": NOT_BLANK}],
    },
    "editors": {
        "type": "array",
        "maxItems": MAX_EDITORS,
        "items": _STR,
        "description": "usernames of users who exist (only the owner names them)",
    },
    "doiInfo": {"type": "object", "description": "DataCite's creators, subjects, ... (at most 64 KiB as text)"},
}
# an object type, as the routes' {schema} names it (any case)
OBJECT_TYPE: JSON = {
    "type": "string",
    "pattern": "^(?:" + "|".join("".join(f"[{c.upper()}{c}]" for c in name) for name in TYPES) + ")$",
    "description": f"one of {', '.join(TYPES)} (any case)",
}
_FILE: JSON = {"type": "string", "format": "binary"}

_FOLDER_UUID = "6e9a1c2b3d4e4f5a8b7c6d5e4f3a2b1c"
_FOLDER: JSON = {
    "folderId": _FOLDER_UUID,
    "name": "Soil study",
    "description": "Samples of the 2026 field season",
    "projectId": None,
    "owner": "alice",
    "editors": ["bob"],
    "published": False,
    "state": "open",
    "dateCreated": "2026-01-05T09:30:00Z",
    "datePublished": None,
    "doiInfo": {},
    "version": 2,
    "drafts": [],
    "metadataObjects": [
        {"accessionId": "CAT-SAM-0000042", "schema": "sample", "tags": {"submissionType": "XML"}, "title": "Core 1"}
    ],
}
_OBJECT: JSON = {
    "@alias": "core-1",
    "TITLE": "Core 1",
    "SAMPLE_NAME": {"TAXON_ID": "410658", "SCIENTIFIC_NAME": "soil metagenome"},
    "accessionId": "CAT-SAM-0000042",
    "schema": "sample",
    "folderId": _FOLDER_UUID,
    "draft": False,
    "dateCreated": "2026-01-05T09:31:00Z",
    "dateUpdated": "2026-01-05T09:31:00Z",
    "publishDate": None,
    "version": 1,
}
_FOLDER_ANSWER: JSON = {"type": "object", "required": ["folderId"], "properties": {"folderId": _STR}}
_ACCESSION: JSON = {"type": "object", "required": ["accessionId"], "properties": {"accessionId": _STR}}
_MADE: JSON = {
    "type": "object",
    "required": ["accessionId", "schema"],
    "properties": {"accessionId": _STR, "schema": _STR},
}


def _submitter_page(key: str, item: str) -> JSON:
    return {
        "type": "object",
        "description": "metadata-submitter's paging (`page`, `per_page`, default 10).",
        "required": ["page", key],
        "properties": {
            "page": {
                "type": "object",
                "required": ["page", "size", "totalPages", "totalObjects"],
                "properties": {"page": _INT, "size": _INT, "totalPages": _INT, "totalObjects": _INT},
            },
            key: _array(item),
        },
    }


SUBMISSION_SCHEMAS: dict[str, JSON] = {
    "Folder": {
        "type": "object",
        "description": "A metadata submission: drafts and objects of the ENA types, published at once "
        "(lists show folders without `drafts` and `metadataObjects`).",
        "required": ["folderId", "name", "published"],
        "properties": {
            "folderId": _STR,
            "name": _STR,
            "description": _STR,
            "projectId": _NULL_STR,
            "owner": _STR,
            "editors": _STRS,
            "published": _BOOL,
            "state": {"enum": ["open", "publishing", "published"]},
            "dateCreated": _TIME,
            "datePublished": _TIME,
            "doiInfo": {"type": "object"},
            "version": _INT,
            "drafts": {"type": "array", "items": _ENTRY},
            "metadataObjects": {"type": "array", "items": _ENTRY},
        },
        "examples": [_FOLDER],
    },
    "SubmittedObject": {
        "type": "object",
        "description": "An ENA object: its element's content as JSON (see /submissions/schemas/{type}) "
        "and the catalogue's fields.",
        "required": ["accessionId", "schema", "folderId", "draft"],
        "properties": {
            "accessionId": {"type": "string", "pattern": "^CAT-[A-Z]{3}-[0-9]{7,12}$"},
            "schema": _STR,
            "folderId": _STR,
            "draft": _BOOL,
            "dateCreated": _TIME,
            "dateUpdated": _TIME,
            "publishDate": _TIME,
            "version": _INT,
        },
        "examples": [_OBJECT],
    },
    "FolderFields": {
        "type": "object",
        "description": "A new folder (`name` required); any other field is refused.",
        "additionalProperties": False,
        "required": ["name"],
        "properties": _FOLDER_FIELDS,
        "examples": [{"name": "Soil study", "description": "Samples of the 2026 field season", "editors": ["bob"]}],
    },
    "FolderPatch": {
        "type": "object",
        "description": "What to change (only the owner names editors), optionally at `version`.",
        "properties": {**_FOLDER_FIELDS, "version": _INT},
    },
    "FolderPage": _page("Folder"),
    "SubmittedObjectPage": _page("SubmittedObject"),
    "AddedObjects": {
        "type": "object",
        "required": ["items", "total"],
        "properties": {"items": {"type": "array", "items": _MADE}, "total": _INT},
        "examples": [{"items": [{"accessionId": "CAT-SAM-0000042", "schema": "sample"}], "total": 1}],
    },
    "ObjectChanges": {
        "type": "object",
        "description": "Top-level fields of the object's content to set (`null`: remove); the result must "
        "still be valid.",
        "examples": [{"TITLE": "Core 1, resampled"}],
    },
    "SubmissionValidation": {
        "type": "object",
        "description": "Whether the object(s) are valid (stores nothing); when not, every problem.",
        "required": ["valid", "errors"],
        "properties": {"valid": _BOOL, "objects": _INT, "message": _STR, "errors": _array("Problem")},
    },
    "SubmissionTypes": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["type", "element", "set", "xsd", "in_catalogue"],
            "properties": {"type": _STR, "element": _STR, "set": _STR, "xsd": _STR, "in_catalogue": _BOOL},
        },
    },
    "JsonSchemaDocument": {
        "type": ["object", "boolean"],
        "description": "A JSON Schema (2020-12) of the type's objects (`?format=xml`: its XSD, as XML).",
    },
    # -- metadata-submitter ---------------------------------------------------------------------
    "SubmitterSchemas": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["title", "detail", "url"],
            "properties": {"title": _STR, "detail": _STR, "url": _STR},
        },
    },
    "SubmitterValidation": {
        "type": "object",
        "description": "Whether the file is valid; when not, the first problem (`detail`) and all (`errors`).",
        "required": ["isValid"],
        "properties": {
            "isValid": _BOOL,
            "objects": _INT,
            "detail": {"type": "object", "properties": {"reason": _STR, "instance": _STR}},
            "errors": _array("Problem"),
        },
    },
    "SubmitterResults": {
        "type": "array",
        "description": "Per object added or modified its accession id and type; per file validated whether it is.",
        "items": {
            "type": "object",
            "required": ["schema"],
            "properties": {"accessionId": _STR, "schema": _STR, "isValid": _BOOL, "errors": _array("Problem")},
        },
    },
    "SubmitterCreated": {
        "description": 'One JSON object: `{"accessionId"}`; several, or a file or sheet: each with its type.',
        "anyOf": [_ACCESSION, {"type": "array", "items": _MADE}],
    },
    "SubmitterAccession": _ACCESSION,
    "SubmitterFolderId": _FOLDER_ANSWER,
    "SubmitterObjectPage": _submitter_page("objects", "SubmittedObject"),
    "SubmitterFolderPage": _submitter_page("folders", "Folder"),
    "SubmitterJsonPatch": {
        "type": "array",
        "description": "RFC 6902 `add`/`replace` operations on `/name`, `/description`, `/projectId`, "
        "`/editors`, `/doiInfo` (the value as a new folder takes it).",
        "minItems": 1,
        "items": {
            "anyOf": [
                {
                    "type": "object",
                    "required": ["op", "path", "value"],
                    "properties": {
                        "op": {"enum": ["add", "replace"]},
                        "path": {"type": "string", "pattern": f"^/*{name}$"},
                        "value": schema,
                    },
                }
                for name, schema in _FOLDER_FIELDS.items()
            ]
        },
        "examples": [[{"op": "replace", "path": "/name", "value": "Soil study, second round"}]],
    },
    "SubmitterObjects": {
        "description": "JSON: one object of the type (its JSON Schema: `GET /submitter/schemas/{schema}`) or a "
        f"list of 1 to {MAX_OBJECTS_PER_REQUEST}. The other media types take files, not this shape: XML, a "
        "file of the type's set; CSV (samples only), a sheet; multipart/form-data, such XML or CSV files.",
        "anyOf": [
            {"type": "object"},
            {"type": "array", "minItems": 1, "maxItems": MAX_OBJECTS_PER_REQUEST, "items": {"type": "object"}},
        ],
    },
    "SubmitterObject": {
        "type": "object",
        "description": "JSON: one object of the type (its JSON Schema: `GET /submitter/schemas/{schema}`). The "
        "other media types take files, not this shape: XML, a file of the type's set holding one object; "
        "multipart/form-data, one such file.",
    },
    "SubmitterValidateForm": {
        "type": "object",
        "description": "One XML file, its form field named by its type; answered whether it is valid.",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "properties": dict.fromkeys(TYPES, _FILE),
    },
    "SubmitterSubmitForm": {
        "type": "object",
        "description": "The submission file (`submission`: a SUBMISSION_SET whose ACTIONS ADD, MODIFY or VALIDATE "
        "name `schema` and `source`) and the XML files it names, each field named by its type.",
        "additionalProperties": False,
        "required": ["submission"],
        "properties": {"submission": _FILE, **dict.fromkeys(TYPES, _FILE)},
    },
    "SubmitterUser": {
        "type": "object",
        "required": ["userId", "name", "username", "projects", "folders"],
        "properties": {
            "userId": _STR,
            "name": _STR,
            "username": _STR,
            "projects": {
                "type": "array",
                "items": {"type": "object", "properties": {"projectId": _STR, "projectNumber": _STR}},
            },
            "folders": _STRS,
        },
    },
}
