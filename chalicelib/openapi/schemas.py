"""The component schemas of the API description: the shapes the handlers answer with.

Each names the fields a client may rely on (``required``) and leaves room for more
(``additionalProperties`` stays open: a field added later breaks no client). The functional
tests check every answer they receive against these (``tests/functional/conftest.py``), so a
handler and its description cannot drift apart unnoticed; the main ones carry ``examples``,
which a unit test holds against their schemas.

Here the catalogue's own API; the APIs it stands in for (dserver, dtool-lookup-server 0.18,
myMdC, Data Tracker, metadata-submitter) are in :mod:`chalicelib.openapi.compat_schemas`,
merged into :data:`SCHEMAS`.
"""

from __future__ import annotations

from chalicelib.domain import KINDS
from chalicelib.openapi.compat_schemas import COMPAT_SCHEMAS
from chalicelib.openapi.harvest_schemas import HARVEST_SCHEMAS
from chalicelib.openapi.request_schemas import REQUEST_SCHEMAS
from chalicelib.openapi.shapes import INT as _INT
from chalicelib.openapi.shapes import JSON, ref
from chalicelib.openapi.shapes import NUM as _NUM
from chalicelib.openapi.shapes import STR as _STR
from chalicelib.openapi.shapes import STRS as _STRS


def page_of(item: str | None, examples: list[JSON] | None = None) -> JSON:
    """A page of the native API's lists (``/datasets``, ``/projects``, ...) of ``item``."""
    page: JSON = {
        "type": "object",
        "required": ["items", "total"],
        "properties": {
            "items": {"type": "array", "items": ref(item)} if item else {"type": "array"},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
            "total_pages": {"type": "integer", "minimum": 0},
            "next": {"type": ["string", "null"], "description": "the cursor of the next page (`after=`)"},
        },
    }
    if examples:
        page["examples"] = examples
    return page


_NULL_STR = {"type": ["string", "null"]}
_NULL_NUM = {"type": ["number", "null"]}

# -- examples (one realistic dataset, its registration, archive, log, annotation schema) ------
_UUID = "1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"
_URI = f"s3://lab-data/{_UUID}"
_REPLICA = {"uri": _URI, "base_uri": "s3://lab-data", "registered_at": 1767229200.0, "registered_by": "alice"}
_DATASET_SUMMARY = {
    "uuid": _UUID,
    "name": "soil-samples-2026",
    "type": "dataset",
    "creator_username": "alice",
    "created_at": 1767222000.0,
    "frozen_at": 1767225600.0,
    "tags": ["soil", "field"],
    "description": "Soil cores from the 2026 field season",
    "number_of_items": 3,
    "size_in_bytes": 52340,
    "registered_at": 1767229200.0,
    "updated_at": 1767229200.0,
    "version": 1,
    "base_uri": "s3://lab-data",
    "uri": _URI,
    "replicas": [_REPLICA],
    "kind": "folder",
}
_DATASET = {
    **_DATASET_SUMMARY,
    "annotations": {"site": "Uppsala", "depth_cm": 30},
    "updated_by": "alice",
    "status": "registered",
    "archival": {"status": None, "history": []},
}
_STEP = {"status": "succeeded", "attempts": 1, "started_at": 1767229300.0, "ended_at": 1767229320.0, "error": None}
_ARCHIVE = {
    "id": "ar-5f0c2b9a7e4d1c3b8a6f2e1d",
    "dataset": _UUID,
    "content_hash": "9b0e4c2d1a7f3e5b8c6d4a2f0e1b3c5d7a9f8e6d4c2b0a1f3e5d7c9b8a6f4e2d",
    "source_uri": _URI,
    "base_uri": "s3://lab-data",
    "status": "archived",
    "requested_by": "alice",
    "requested_at": 1767229300.0,
    "updated_at": 1767229400.0,
    "steps": [{"name": name, **_STEP} for name in ("validate", "build", "store", "verify", "register")],
    "failed_step": None,
    "error": None,
    "retries": 0,
    "aip": {
        "uri": f"s3://lab-archive/aip/{_UUID}",
        "size_in_bytes": 61440,
        "objects": 7,
        "tagmanifest_sha256": "4f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e",
        "storage_class": "DEEP_ARCHIVE",
    },
    "fixity": None,
}
_AUDIT_ENTRY = {
    "id": f"{_UUID}@s3://lab-data:v1:0",
    "entity_type": "dataset",
    "entity_id": _UUID,
    "action": "add",
    "timestamp": 1767229200.0,
    "user": "alice",
    "value": {"name": "soil-samples-2026", "tags": ["soil", "field"]},
}
_ANNOTATION_SCHEMA = {
    "name": "soil-core",
    "version": 2,
    "description": "Where and how deep a core was taken",
    "schema": {
        "type": "object",
        "required": ["site"],
        "properties": {"site": {"type": "string"}, "depth_cm": {"type": "number", "minimum": 0}},
    },
    "registered_at": 1767100000.0,
    "registered_by": "admin",
}

NATIVE_SCHEMAS: dict[str, JSON] = {
    "Doi": {
        "type": "object",
        "description": "A dataset's DOI and its state at DataCite: `draft`, `registered` (hidden) or `findable`.",
        "required": ["uuid", "base_uri", "doi", "url", "state", "published", "version", "updated_at", "updated_by"],
        "additionalProperties": False,
        "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            "base_uri": _STR,
            "doi": _STR,
            "url": _STR,
            "state": {"type": "string", "enum": ["draft", "registered", "findable"]},
            "published": {"type": "boolean"},
            "version": {"type": "integer"},
            "updated_at": {"type": "number"},
            "updated_by": _STR,
        },
        "examples": [
            {
                "uuid": "1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f",
                "base_uri": "s3://lab-data",
                "doi": "10.5072/1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f",
                "url": "https://doi.org/10.5072/1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f",
                "state": "findable",
                "published": True,
                "version": 2,
                "updated_at": 1767229500.0,
                "updated_by": "alice",
            }
        ],
    },
    "ItemUrl": {
        "type": "object",
        "description": "A presigned S3 GET of one file of a dataset, valid until `expires_at` (epoch seconds); "
        "S3 answers it with `Content-Disposition: attachment` naming the file (the last part of its relpath).",
        "required": ["url", "expires_at", "item", "base_uri"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string"},
            "expires_at": {"type": "number"},
            "base_uri": {"type": "string"},
            "item": {
                "type": "object",
                "required": ["id", "relpath", "size_in_bytes"],
                "properties": {"id": _STR, "relpath": _STR, "size_in_bytes": {"type": "integer"}},
            },
        },
        "examples": [
            {
                "url": "https://lab-data.s3.eu-west-1.amazonaws.com/1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f/data/"
                "25c778d987d41d2cc036022e294250337eb23a79?response-content-disposition=attachment%3B%20filename"
                "%3D%22probe_01.csv%22&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-Signature=...",
                "expires_at": 1767229500.0,
                "item": {
                    "id": "25c778d987d41d2cc036022e294250337eb23a79",
                    "relpath": "raw/probe_01.csv",
                    "size_in_bytes": 1024,
                },
                "base_uri": "s3://lab-data",
            }
        ],
    },
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
        "examples": [{"Code": "NotFound", "Message": f"no dataset {_UUID}"}],
    },
    "MymdcError": {
        "type": "object",
        "description": "myMdC's errors, as metadata_client reads them: the message, or a 422's field errors.",
        "required": ["info"],
        "properties": {"info": {"type": ["string", "object", "null"]}},
        "examples": [{"info": "Resource not found!"}, {"info": {"name": ["can't be blank"]}}],
    },
    "Health": {
        "type": "object",
        "required": ["status", "version"],
        "properties": {"status": {"const": "ok"}, "version": _STR},
        "examples": [{"status": "ok", "version": "1.0.0"}],
    },
    "PublicConfig": {
        "type": "object",
        "description": "The deployment's non-secret settings.",
        "required": ["version"],
        "properties": {
            "stage": _STR,
            "region": _STR,
            "search_index": _STR,
            "max_body_bytes": _INT,
            "max_page_size": _INT,
            "issuers": {
                "type": "array",
                "items": {"type": "object", "properties": {"issuer": _STR, "token_use": _STR, "username_claim": _STR}},
            },
            "version": _STR,
        },
    },
    "Credentials": {
        "type": "object",
        "description": "dtool's token generator: a username and password.",
        "required": ["username", "password"],
        "properties": {"username": _STR, "password": {"type": "string", "format": "password"}},
    },
    "Token": {"type": "object", "required": ["token"], "properties": {"token": _STR}},
    # -- datasets ------------------------------------------------------------------------------
    "Replica": {
        "type": "object",
        "required": ["uri", "base_uri"],
        "properties": {"uri": _STR, "base_uri": _STR, "registered_at": _NUM, "registered_by": _STR},
        "examples": [_REPLICA],
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
            "kind": {
                "enum": list(KINDS),
                "description": "what the entry is, by the way it reached the catalogue: a dtool dataset, a folder "
                "with a dataset.json/yaml sidecar, a BagIt bag, a facility data group, a published submission, or "
                "a record described through POST /datasets (searched and counted as `type`)",
            },
            "highlights": {
                "type": "object",
                "description": "with `highlight=true` and `q`: per field, snippets where the words matched "
                "(HTML-escaped text; the words in `<mark>`)",
                "additionalProperties": _STRS,
            },
        },
        "examples": [_DATASET_SUMMARY],
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
                "required": ["base_uri", "creator", "tag", "project", "type"],
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
                    "type": [{"value": "folder", "count": 2}, {"value": "dtool", "count": 1}],
                },
            }
        ],
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
        "examples": [
            {
                "base_uri": "s3://lab-data",
                "folder": "runs/2026-12-07",
                "uri": "s3://lab-data/runs/2026-12-07",
                "uuid": "0f8e2d4c-6b1a-5c3e-9d7f-1a2b3c4d5e6f",
                "sidecar": "dataset.json",
                "creator": "alice",
                "url": "https://lab-data.s3.eu-west-1.amazonaws.com/",
                "fields": {"x-amz-algorithm": "AWS4-HMAC-SHA256", "policy": "eyJleHBpcmF0aW9uIjo…"},
                "key_prefix": "runs/2026-12-07/",
                "expires_in": 3600,
                "max_bytes": 5368709120,
            }
        ],
    },
    "Dataset": {
        "allOf": [ref("DatasetSummary")],
        "type": "object",
        "description": "A dataset's record: its summary, annotations, status, archival and the replicas you may see.",
        "properties": {
            "readme": _STR,
            "annotations": {"type": "object"},
            "status": {"type": "string", "examples": ["registered", "refused", "incomplete"]},
            "status_reasons": _STRS,
            "updated_by": _STR,
            "updated_for": _STR,
            "archival": {
                "type": "object",
                "properties": {"status": _NULL_STR, "history": {"type": "array", "items": ref("ArchiveSummary")}},
            },
        },
        "examples": [_DATASET],
    },
    "DatasetPage": page_of(
        "DatasetSummary",
        [{"items": [_DATASET_SUMMARY], "total": 1, "page": 1, "page_size": 20, "total_pages": 1, "next": None}],
    ),
    "RegistrationResult": {
        "type": "object",
        "description": "201: a new dataset or replica; 200: it replaced or matched what was there.",
        "required": ["status", "dataset"],
        "properties": {"status": _STR, "dataset": ref("Dataset")},
    },
    "DatasetReadme": {
        "type": "object",
        "required": ["uuid", "readme"],
        "properties": {"uuid": {"type": "string", "format": "uuid"}, "readme": _STR},
    },
    "DatasetAnnotations": {
        "type": "object",
        "required": ["uuid", "annotations"],
        "properties": {"uuid": {"type": "string", "format": "uuid"}, "annotations": {"type": "object"}},
    },
    "DatasetTags": {
        "type": "object",
        "required": ["uuid", "tags"],
        "properties": {"uuid": {"type": "string", "format": "uuid"}, "tags": _STRS},
    },
    "AuditEntry": {
        "type": "object",
        "required": ["action"],
        "properties": {
            "id": _STR,
            "entity_type": _STR,
            "entity_id": _STR,
            "action": _STR,
            "timestamp": _NUM,
            "user": _STR,
            "acting_for": _STR,
            "value": {},
        },
    },
    "Log": {
        "type": "object",
        "required": ["entries"],
        "properties": {"entries": {"type": "array", "items": ref("AuditEntry")}, "next": _NULL_STR},
        "examples": [{"entries": [_AUDIT_ENTRY], "next": None}],
    },
    "Page": page_of(None),  # what every page has; the lists of other modules name their items
    "Problem": {
        "type": "object",
        "required": ["path", "message"],
        "properties": {"path": _STR, "message": _STR},
        "examples": [{"path": "/SAMPLE_NAME", "message": "'TAXON_ID' is a required property"}],
    },
    # -- archives -------------------------------------------------------------------------------
    "Archive": {
        "type": "object",
        "description": "An archive (OAIS AIP) of one dataset content: its status, each step, the AIP and its "
        "latest fixity audit.",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string", "pattern": "^ar-[0-9a-f]{24}$"},
            "dataset": {"type": "string", "format": "uuid"},
            "content_hash": _STR,
            "source_uri": _STR,
            "base_uri": _STR,
            "status": {"enum": ["requested", "running", "archived", "failed", "rejected", "fixity_failed"]},
            "requested_by": _STR,
            "requested_at": _NUM,
            "updated_at": _NUM,
            "steps": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "status"],
                    "properties": {
                        "name": _STR,
                        "status": {"enum": ["pending", "running", "succeeded", "failed"]},
                        "attempts": _INT,
                        "started_at": _NULL_NUM,
                        "ended_at": _NULL_NUM,
                        "error": _NULL_STR,
                    },
                },
            },
            "failed_step": _NULL_STR,
            "error": _NULL_STR,
            "retries": _INT,
            "aip": {
                "type": ["object", "null"],
                "properties": {
                    "uri": _STR,
                    "size_in_bytes": _INT,
                    "objects": _INT,
                    "tagmanifest_sha256": _STR,
                    "storage_class": _STR,
                },
            },
            "fixity": {"type": ["object", "null"], "description": "checked_at, ok, files_checked, mismatches"},
        },
        "examples": [_ARCHIVE],
    },
    "ArchiveSummary": {
        "type": "object",
        "required": ["id", "dataset", "status"],
        "properties": {
            "id": _STR,
            "dataset": {"type": "string", "format": "uuid"},
            "status": _STR,
            "requested_at": _NUM,
            "updated_at": _NUM,
            "aip_uri": _NULL_STR,
        },
    },
    "ArchivePage": page_of("ArchiveSummary"),
    "ArchiveDownload": {
        "type": "object",
        "description": "`ready`: links to the AIP's files (`next`: the `after` of the next page); `restoring` "
        "(202): ask again in `retry_after_seconds`.",
        "required": ["id", "status"],
        "properties": {
            "id": _STR,
            "status": {"enum": ["ready", "restoring"]},
            "expires_in": _INT,
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path", "url"],
                    "properties": {"path": _STR, "size": _INT, "url": _STR},
                },
            },
            "next": _NULL_STR,
            "objects_restoring": _INT,
            "retry_after_seconds": _INT,
            "restore_tier": _STR,
        },
    },
    "DepositUpload": {
        "type": "object",
        "description": "A presigned PUT for the bag; once uploaded it becomes the dataset `dataset` and is archived.",
        "required": ["upload_url", "method", "uri", "dataset", "expires_in"],
        "properties": {
            "upload_url": _STR,
            "method": {"const": "PUT"},
            "uri": _STR,
            "dataset": {"type": "string", "format": "uuid"},
            "expires_in": _INT,
        },
    },
    # -- annotation schemas ------------------------------------------------------------------
    "AnnotationSchema": {
        "type": "object",
        "required": ["name", "version"],
        "properties": {
            "name": _STR,
            "version": _INT,
            "description": _STR,
            "schema": {"type": ["object", "boolean"]},
            "registered_at": _NUM,
            "registered_by": _STR,
        },
        "examples": [_ANNOTATION_SCHEMA],
    },
    "AnnotationSchemaList": {
        "type": "object",
        "required": ["items", "total"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name", "latest_version"],
                    "properties": {"name": _STR, "latest_version": _INT, "description": _STR},
                },
            },
            "total": _INT,
        },
    },
}

SCHEMAS: dict[str, JSON] = {**NATIVE_SCHEMAS, **REQUEST_SCHEMAS, **COMPAT_SCHEMAS, **HARVEST_SCHEMAS}
