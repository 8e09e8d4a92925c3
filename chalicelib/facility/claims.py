"""Uniqueness claims and list keys: what a record of a kind holds in the facility store
(:class:`~chalicelib.adapters.dynamodb.facility.FacilityStore`) besides its fields.

A claim is a string only one record may hold (``<kind>|<rule>|<field>=<json>|...``, one per
uniqueness rule of :mod:`chalicelib.facility.schema`); a list key (``<field>=<json>``) is
what the store lists a record under.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.facility.schema import KINDS, Kind, Unique


def list_keys(kind: Kind, values: Mapping[str, Any]) -> tuple[str | None, str | None]:
    def key(name: str | None) -> str | None:
        if name is None or values.get(name) is None:
            return None
        return f"{name}={json.dumps(values[name])}"

    return key(kind.lists[0]), key(kind.lists[1])


def claims_of(kind: Kind, values: Mapping[str, Any]) -> tuple[str, ...]:
    out = []
    for unique in kind.uniques:
        if len(unique.fields) == 1 and values.get(unique.fields[0]) in (None, ""):
            continue  # a lone blank value is not unique (Rails' allow_blank)
        out.append(_claim(kind, unique, values))
    return tuple(out)


def claim_for(kind_name: str, unique_name: str, values: Mapping[str, Any]) -> str:
    """The claim a record of ``kind_name`` with ``values`` holds under its unique rule ``unique_name``."""
    kind = KINDS[kind_name]
    return _claim(kind, next(u for u in kind.uniques if u.name == unique_name), values)


def _claim(kind: Kind, unique: Unique, values: Mapping[str, Any]) -> str:
    parts = "|".join(f"{name}={json.dumps(values.get(name))}" for name in unique.fields)
    return f"{kind.name}|{unique.name}|{parts}"[:1024]


def claim_errors(kind: Kind, values: Mapping[str, Any], taken: Iterable[str]) -> dict[str, list[str]]:
    taken = set(taken)
    errors: dict[str, list[str]] = {}
    for unique in kind.uniques:
        if len(unique.fields) == 1 and values.get(unique.fields[0]) in (None, ""):
            continue
        if _claim(kind, unique, values) in taken:
            for name, messages in unique.errors.items():
                errors.setdefault(name, [])
                errors[name].extend(m for m in messages if m not in errors[name])
    return errors
