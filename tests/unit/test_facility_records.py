"""The shape checks every FacilityStore applies before writing (no store involved), and the
facility service's edits under a race (issue 22, T2): myMdC's PUT names no version (the
last writer wins), so an edit that another write overtook is authorized, validated and saved
again on the newer record, after a pause, a bounded number of times."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, cast

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
from chalicelib.domain import User
from chalicelib.errors import InvalidRecord, NotFound, VersionConflict
from chalicelib.facility.datasets import DataGroupDatasets
from chalicelib.facility.records import FacilityService
from chalicelib.retries import MAX_WRITE_ATTEMPTS
from tests.fakes.facility import RacingStore

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


# -- FacilityService: edits without a version, under a race ------------------------------------
REPOSITORY_URI = "file://mymdc/XFEL_TESTS_REPO"
DAQ = User("daq", register_base_uris=frozenset({REPOSITORY_URI}))
ADMIN = User("admin", is_admin=True)


class Members:
    """The catalogue's side of a proposal's members (all this test needs of the datasets)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []

    def set_members(self, admin: User, uuid: str, members: frozenset[str]) -> None:
        self.calls.append((uuid, members))


World = tuple[FacilityService, RacingStore, list[float]]


@pytest.fixture
def world() -> World:
    store, sleeps = RacingStore(), list[float]()

    def rec(kind: str, id: int, fields: dict[str, Any], lists: tuple[str | None, str | None] = (None, None)) -> None:
        store.create(FacilityRecord(kind, id, f"u-{kind}{id}", 1, fields, lists, (), 1.0, "admin", None))

    rec("repository", 1, {"base_uri": REPOSITORY_URI})
    rec("instrument", 1, {"repository_id": 1})
    rec("proposal", -1, {"instrument_id": 1, "members": [], "number": 1, "title": "Glacier"})
    run = {"proposal_id": -1, "run_number": 1, "first_train": 1, "last_train": None, "description": ""}
    rec("run", -1, run, ("proposal_id=-1", "experiment_id=-1"))
    datasets = cast("DataGroupDatasets", Members())  # a run's edit touches no dataset
    service = FacilityService(store, datasets, clock=lambda: 42.0, sleep=sleeps.append)
    return service, store, sleeps


def test_a_put_that_lost_a_race_lands_on_the_newer_record(world: World) -> None:
    service, store, sleeps = world
    store.rivals = iter([lambda: store.bump("run", -1, description="theirs")])
    reads: list[int] = []

    def body() -> dict[str, Any]:
        reads.append(1)
        return {"last_train": 5}

    got = service.update(DAQ, "run", -1, body, acting_for="me@example.org")
    assert (got["description"], got["first_train"], got["last_train"]) == ("theirs", 1, 5)
    stored = store.get("run", -1)
    assert stored is not None and (stored.version, stored.acting_for) == (3, "me@example.org")
    assert len(reads) == 1  # the body is read once, whatever the attempts
    assert store.saves == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.005


def test_a_put_no_longer_valid_on_the_newer_record_is_rails_validation_error(world: World) -> None:
    service, store, _ = world
    store.rivals = iter([lambda: store.bump("run", -1, first_train=10)])
    with pytest.raises(InvalidRecord) as caught:
        service.update(DAQ, "run", -1, lambda: {"last_train": 5})
    assert caught.value.errors == {"last_train": ["must be greater than or equal to 10"]}
    stored = store.get("run", -1)
    assert stored is not None and (stored.version, stored.fields["last_train"]) == (2, None)


def test_a_record_deleted_meanwhile_is_not_found(world: World) -> None:
    service, store, _ = world
    store.rivals = iter([lambda: store.delete("run", -1, 1)])
    with pytest.raises(NotFound, match="Resource not found!"):
        service.update(DAQ, "run", -1, lambda: {"last_train": 5})


def test_a_put_gives_up_after_a_bounded_number_of_attempts_naming_no_version(world: World) -> None:
    service, store, sleeps = world
    store.rivals = itertools.repeat(lambda: store.bump("run", -1, description="theirs"))
    with pytest.raises(VersionConflict) as caught:
        service.update(DAQ, "run", -1, lambda: {"last_train": 5})
    assert str(caught.value) == "the run -1 is being changed by others; try again"
    assert caught.value.current_version is None
    assert store.saves == MAX_WRITE_ATTEMPTS and len(sleeps) == MAX_WRITE_ATTEMPTS - 1
    assert all(0 <= s <= 0.005 * 2 ** min(n, 6) for n, s in enumerate(sleeps))
    stored = store.get("run", -1)
    assert stored is not None and stored.fields["last_train"] is None


def test_setting_members_that_lost_a_race_keeps_the_rivals_change(world: World) -> None:
    service, store, sleeps = world
    store.rivals = iter([lambda: store.bump("proposal", -1, title="Renamed")])
    service.set_members(ADMIN, -1, ["bob", "alice"])
    stored = store.get("proposal", -1)
    assert stored is not None
    assert (stored.version, stored.fields["title"], stored.fields["members"]) == (3, "Renamed", ["alice", "bob"])
    assert store.saves == 2 and len(sleeps) == 1
