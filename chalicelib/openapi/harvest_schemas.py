"""Schemas of ``POST /harvests`` (an upstream record harvested into the archive)."""

from __future__ import annotations

from chalicelib.openapi.shapes import INT, JSON, STR

_NULL_STR: JSON = {"type": ["string", "null"]}

HARVEST_SCHEMAS: dict[str, JSON] = {
    "HarvestRequest": {
        "type": "object",
        "required": ["source"],
        "properties": {
            "source": {
                "type": "string",
                "minLength": 1,
                "maxLength": 2048,
                "description": "The record's URL (https://<host>/records/<id>, or its /api/records/<id>); "
                "the host must be one of the deployment's allow-listed upstream hosts.",
                "examples": ["https://zenodo.org/records/7001"],
            }
        },
    },
    "Harvest": {
        "type": "object",
        "description": "The record harvested: the dataset it is deposited as, and its archive (GET /archives/{id}).",
        "required": ["source", "record", "dataset", "deposit_uri", "files", "bytes", "deposit", "archive"],
        "properties": {
            "source": STR,
            "record": STR,
            "doi": _NULL_STR,
            "title": STR,
            "dataset": {"type": "string", "format": "uuid"},
            "deposit_uri": STR,
            "files": INT,
            "bytes": INT,
            "deposit": {"type": "string", "description": "what the ingest made of the deposit (created, updated…)"},
            "archive": {**_NULL_STR, "description": "the archive's id; null while the ingest cannot tell yet"},
        },
        "examples": [
            {
                "source": "https://zenodo.org/records/7001",
                "record": "7001",
                "doi": "10.5281/zenodo.7001",
                "title": "Soil moisture at the Lindenberg plots",
                "dataset": "0b0f7c38-5d6b-5f55-9d0f-3f3c2b1f6a2e",
                "deposit_uri": "s3://catalogue-deposits/harvests/zenodo.org/7001.zip",
                "files": 3,
                "bytes": 240,
                "deposit": "created",
                "archive": "ar-0123456789abcdef01234567",
            }
        ],
    },
}
