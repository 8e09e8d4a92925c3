"""The shape checks every FacilityStore applies before writing (no store involved)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.facility import (
    MAX_CLAIM_CHARS,
    FacilityRecord,
    check_record,
    check_version,
    decode_fields,
    encode_fields,
    is_json_value,
)

RECORD = FacilityRecord(kind="run", id=-1, uuid="u", version=1, fields={"a": 1}, lists=("p=1", None), claims=("c",))


@pytest.mark.parametrize(
    "value",
    [None, "s", "", True, 0, -(10**40), 1.5, [], {}, [1, "a", None, [{"k": [False]}]], {"k": {"l": [1.0, None]}}],
)
def test_json_values(value: Any) -> None:
    assert is_json_value(value)


@pytest.mark.parametrize("value", [(1,), {1: "a"}, {"k": (1,)}, b"x", {1, 2}, object(), [{"k": b"x"}]])
def test_not_json_values(value: Any) -> None:
    assert not is_json_value(value)


def test_a_well_formed_record_passes() -> None:
    check_record(RECORD)
    check_record(replace(RECORD, claims=("x" * MAX_CLAIM_CHARS,), lists=(None, None), id=10**37))


@pytest.mark.parametrize(
    "change",
    [
        {"lists": ("a", None, None)},
        {"claims": ("x" * (MAX_CLAIM_CHARS + 1),)},
        {"claims": ("a", "a")},
        {"claims": ("\ud800",)},  # not encodable: no DynamoDB key
        {"kind": ""},
        {"kind": "run:x"},
        {"kind": "run|x"},
        {"id": False},
        {"id": -(10**38)},
        {"fields": [("a", 1)]},
        {"lists": ("k" * 2048, None)},  # "run|" + 2048 bytes: over DynamoDB's key limit
    ],
    ids=lambda c: repr(c)[:40],
)
def test_malformed_records_are_value_errors(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        check_record(replace(RECORD, **change))


def test_versions_of_a_create_and_a_save() -> None:
    check_version(RECORD, None)
    check_version(replace(RECORD, version=5), 4)
    for record, expected in ((replace(RECORD, version=2), None), (RECORD, 1), (replace(RECORD, version=3), 1)):
        with pytest.raises(ValueError):
            check_version(record, expected)


def test_fields_encode_as_compact_json_with_exact_integers() -> None:
    fields = {"big": 2**63 - 1, "huge": -(10**30), "x": 0.1, "s": "☃", "l": [None, True]}
    text = encode_fields(fields)
    assert text == f'{{"big":9223372036854775807,"huge":-1{"0" * 30},"x":0.1,"s":"\\u2603","l":[null,true]}}'
    assert decode_fields(text) == fields


@pytest.mark.parametrize("fields", [{"x": float("nan")}, {"x": float("inf")}, {"x": (1,)}, {"x": {2: 1}}])
def test_fields_that_are_not_json_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        encode_fields(fields)
