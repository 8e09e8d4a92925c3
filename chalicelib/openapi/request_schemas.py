"""The bodies the catalogue's own routes take, described as exactly as their parsers check them
(``chalicelib/catalogue/validation.py``, ``uploads.py``, ``annotation_schemas.py``,
``chalicelib/archive/archives.py``): a body these schemas accept passes the parser, unless a
rule no schema can state refuses it (another field's value, the stored state); each operation
names those in its ``Doc.refusals``. tests/functional/test_schemathesis.py holds the two to
each other."""

from __future__ import annotations

from chalicelib.catalogue.validation import BASE_URI_SCHEMES, URI_CHAR
from chalicelib.openapi.shapes import JSON

# what parse_uuid, parse_base_uri and parse_username take
UUID: JSON = {
    "type": "string",
    "format": "uuid",
    "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
}
_C = URI_CHAR[:-1] + "/]"  # a character of a segment
_D = URI_CHAR[:-1] + "/.]"  # one that is not a dot
# a segment: not empty, not '..' (spelled without a look-ahead, which not every generator takes)
_SEGMENT = rf"(?:{_D}{_C}*|\.(?:{_D}{_C}*)?|\.\.{_C}+)"
BASE_URI: JSON = {
    "type": "string",
    "maxLength": 1024,
    "pattern": rf"^({'|'.join(BASE_URI_SCHEMES)}):///?{_SEGMENT}(/{_SEGMENT})*$",
    "examples": ["s3://lab-data"],
}
USERNAME: JSON = {"type": "string", "pattern": "^[A-Za-z0-9_.@+-]{1,128}$", "examples": ["alice"]}
TAGS: JSON = {"type": "array", "maxItems": 100, "items": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,80}$"}}
# a non-negative integer a JSON number holds exactly (get_int)
COUNT: JSON = {"type": "integer", "minimum": 0, "maximum": 2**53}
# epoch seconds, or (dtool-lookup-server 0.18's clients) the same as a numeric string
TIMESTAMP: JSON = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 1e11},
        {"type": "string", "pattern": r"^[0-9]{1,11}(\.[0-9]{1,6})?$"},
    ]
}
ANNOTATIONS: JSON = {
    "type": "object",
    "description": "names of letters, digits, '.', '_' and '-'; values any JSON, nested at most 20 levels",
    "propertyNames": {"pattern": "^[A-Za-z0-9_.-]{1,80}$"},
}

MANIFEST_EXAMPLE: JSON = {
    "hash_function": "md5sum_hexdigest",
    "dtoolcore_version": "3.19.0",
    "items": {
        "9f1c3a0b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a": {
            "relpath": "cores/core-1.csv",
            "size_in_bytes": 17446,
            "hash": "2b7e151628aed2a6abf7158809cf4f3c",
            "utc_timestamp": 1767221000.0,
        }
    },
}
REGISTRATION_EXAMPLE: JSON = {
    "uuid": "1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f",
    "base_uri": "s3://lab-data",
    "uri": "s3://lab-data/1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f",
    "name": "soil-samples-2026",
    "type": "dataset",
    "creator_username": "alice",
    "frozen_at": 1767225600.0,
    "readme": "---\ndescription: Soil cores from the 2026 field season\n",
    "manifest": MANIFEST_EXAMPLE,
    "annotations": {"site": "Uppsala", "depth_cm": 30},
    "tags": ["soil", "field"],
}

REQUEST_SCHEMAS: dict[str, JSON] = {
    "ManifestIn": {
        "type": "object",
        "description": "dtool's manifest: item id → relpath, size, hash and time.",
        "additionalProperties": False,
        "properties": {
            "hash_function": {"type": "string", "maxLength": 128, "examples": ["md5sum_hexdigest"]},
            "dtoolcore_version": {"type": "string", "maxLength": 64},
            "items": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["relpath", "size_in_bytes"],
                    "properties": {
                        "relpath": {"type": "string", "minLength": 1, "maxLength": 4096},
                        "size_in_bytes": COUNT,
                        "hash": {"type": "string", "maxLength": 256},
                        "utc_timestamp": TIMESTAMP,
                    },
                },
            },
        },
    },
    "Registration": {
        "type": "object",
        "description": "What a client registers: dtool's admin metadata, README, manifest, annotations and tags "
        "(timestamps as numbers or, as dtool-lookup-server 0.18's clients send them, numeric strings). "
        "`uri` lies under `base_uri`.",
        "additionalProperties": False,
        "required": ["uuid", "base_uri", "uri", "name", "creator_username", "frozen_at"],
        "properties": {
            "uuid": UUID,
            "base_uri": BASE_URI,
            "uri": {"type": "string", "minLength": 1, "maxLength": 2048},
            "name": {"type": "string", "minLength": 1, "maxLength": 256},
            "type": {"const": "dataset"},
            "readme": {
                "anyOf": [{"type": "string", "maxLength": 10 * 1024 * 1024}, {"type": "object"}],
                "description": "YAML text (or its mapping)",
            },
            "manifest": {"$ref": "#/components/schemas/ManifestIn"},
            "annotations": ANNOTATIONS,
            "tags": TAGS,
            "description": {"type": "string", "maxLength": 4096},
            "creator_username": {"type": "string", "minLength": 1, "maxLength": 256},
            "frozen_at": TIMESTAMP,
            "created_at": {**TIMESTAMP, "description": "default: `frozen_at`"},
            "number_of_items": COUNT,
            "size_in_bytes": COUNT,
            "dtoolcore_version": {"type": "string"},
        },
        "examples": [REGISTRATION_EXAMPLE],
    },
    "DatasetPatch": {
        "type": "object",
        "description": "What to change (at least one of tags, annotations, description), and the version it is "
        "based on (here or as `If-Match`).",
        "additionalProperties": False,
        "minProperties": 1,
        "anyOf": [{"required": ["tags"]}, {"required": ["annotations"]}, {"required": ["description"]}],
        "properties": {
            "tags": TAGS,
            "annotations": ANNOTATIONS,
            "description": {"type": "string", "maxLength": 4096},
            "version": COUNT,
        },
        "examples": [{"tags": ["soil", "field", "2026"], "version": 1}],
    },
    "UploadRequest": {
        "type": "object",
        "description": "Where a new folder goes: an s3:// base URI you may register in, and a folder name "
        "that does not exist there yet.",
        "additionalProperties": False,
        "required": ["base_uri", "folder"],
        "properties": {
            "base_uri": BASE_URI,
            "folder": {
                "type": "string",
                "maxLength": 128,
                "pattern": r"^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$",
                "examples": ["runs/2026-12-07"],
            },
        },
    },
    "DepositRequest": {
        "type": "object",
        "required": ["filename"],
        "properties": {
            "filename": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,190}\.(zip|tar|tar\.gz|tgz)$",
                "examples": ["run-7.zip"],
            }
        },
    },
    "NewAnnotationSchema": {
        "type": "object",
        "description": "The name's next version: a JSON Schema (2020-12) of a dataset's annotations.",
        "additionalProperties": False,
        "required": ["name", "schema"],
        "properties": {
            "name": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,63}$"},
            "description": {"type": "string", "maxLength": 4096},
            "schema": {"type": "object"},
        },
    },
}
