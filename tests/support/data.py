"""Realistic dtool-style registration bodies for tests."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any


def registration(base_uri: str = "s3://bucket-a", uuid: str | None = None, **overrides: Any) -> dict[str, Any]:
    uuid = uuid or str(uuidlib.uuid4())
    body: dict[str, Any] = {
        "uuid": uuid,
        "base_uri": base_uri,
        "uri": f"{base_uri}/{uuid}",
        "name": "soil-moisture-2024-plot-07",
        "type": "dataset",
        "creator_username": "olssont",
        "frozen_at": "1700000000.5",
        "created_at": 1699990000.0,
        "readme": (
            "---\nproject: Soil moisture monitoring\ndescription: TDR probes in plot 7\n"
            "owners:\n  - name: Tjelvar Olsson\n"
        ),
        "manifest": {
            "hash_function": "md5sum_hexdigest",
            "dtoolcore_version": "3.18.2",
            "items": {
                "a1b2": {
                    "relpath": "raw/probe_01.csv",
                    "size_in_bytes": 1024,
                    "hash": "0" * 32,
                    "utc_timestamp": 1699990001.0,
                },
                "c3d4": {
                    "relpath": "raw/probe_02.csv",
                    "size_in_bytes": 2048,
                    "hash": "1" * 32,
                    "utc_timestamp": 1699990002.0,
                },
            },
        },
        "annotations": {"instrument": "TDR-100", "site": "Rothamsted"},
        "tags": ["soil", "field"],
    }
    body.update(overrides)
    return body
