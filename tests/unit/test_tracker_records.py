"""The Data Tracker's record writes under a race (issue 22, T2): an edit without a version
(``/api/v1``'s PATCH: last writer wins) that another write overtook is applied again to the
newer record, after a pause, a bounded number of times; an edit at a version is not."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import User
from chalicelib.errors import NotFound, ValidationError, VersionConflict
from chalicelib.retries import MAX_WRITE_ATTEMPTS
from chalicelib.tracker.records import ORDER, TrackerRecords, record_id
from tests.fakes.facility import RacingStore
from tests.fakes.repository import InMemoryRepository

ALICE = User("alice")


@pytest.fixture
def world() -> tuple[TrackerRecords, RacingStore, list[float], str]:
    store, sleeps = RacingStore(), list[float]()
    records = TrackerRecords(store, InMemoryRepository(), clock=lambda: 7.0, sleep=sleeps.append)
    order = records.create(ALICE, ORDER, {"title": "Glacier", "editors": ["alice", "bob"]}, "Order created")
    return records, store, sleeps, order.uuid


World = tuple[TrackerRecords, RacingStore, list[float], str]


def seeing(seen: list[FacilityRecord], change: Callable[[FacilityRecord], Mapping[str, Any]]) -> Any:
    """``change``, noting each record it is applied to."""

    def noted(record: FacilityRecord) -> Mapping[str, Any]:
        seen.append(record)
        return change(record)

    return noted


def test_an_edit_without_a_version_that_lost_a_race_lands_on_the_newer_record(world: World) -> None:
    records, store, sleeps, uuid = world
    store.rivals = iter([lambda: store.bump(ORDER, record_id(uuid), description="theirs")])
    seen: list[FacilityRecord] = []
    updated = records.update(ALICE, ORDER, uuid, seeing(seen, lambda _: {"title": "mine"}), "Order updated")
    assert [r.version for r in seen] == [1, 2]  # applied again to what the rival wrote
    assert (updated.version, updated.fields["title"], updated.fields["description"]) == (3, "mine", "theirs")
    assert records.get(ORDER, uuid) == updated
    assert store.saves == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.005


def test_a_change_no_longer_valid_on_the_newer_record_is_refused(world: World) -> None:
    """Bob leaves while Alice is removed: the order would keep no editor."""
    records, store, _, uuid = world

    def without_bob(stored: FacilityRecord) -> dict[str, Any]:
        editors = [e for e in stored.fields["editors"] if e != "bob"]
        if not editors:
            raise ValidationError("editors: an order keeps at least one editor", field="editors")
        return {"editors": editors}

    store.rivals = iter([lambda: store.bump(ORDER, record_id(uuid), editors=["bob"])])
    with pytest.raises(ValidationError, match="at least one editor"):
        records.update(ALICE, ORDER, uuid, without_bob, "Order updated")
    assert records.get(ORDER, uuid).fields["editors"] == ["bob"] and store.saves == 1


def test_a_record_deleted_meanwhile_is_not_found(world: World) -> None:
    records, store, _, uuid = world
    store.rivals = iter([lambda: store.delete(ORDER, record_id(uuid), 1)])
    with pytest.raises(NotFound):
        records.update(ALICE, ORDER, uuid, lambda _: {"title": "mine"}, "Order updated")


def test_an_edit_without_a_version_gives_up_after_a_bounded_number_of_attempts(world: World) -> None:
    records, store, sleeps, uuid = world
    store.rivals = itertools.repeat(lambda: store.bump(ORDER, record_id(uuid), description="theirs"))
    seen: list[FacilityRecord] = []
    with pytest.raises(VersionConflict, match=f"the order {uuid} keeps changing; try again") as caught:
        records.update(ALICE, ORDER, uuid, seeing(seen, lambda _: {"title": "mine"}), "Order updated")
    assert caught.value.current_version is None
    assert len(seen) == store.saves == MAX_WRITE_ATTEMPTS and len(sleeps) == MAX_WRITE_ATTEMPTS - 1
    assert all(0 <= s <= 0.005 * 2 ** min(n, 6) for n, s in enumerate(sleeps))
    assert records.get(ORDER, uuid).fields["title"] == "Glacier"


def test_an_edit_at_a_stale_version_is_a_conflict_at_once(world: World) -> None:
    records, store, sleeps, uuid = world
    store.bump(ORDER, record_id(uuid), description="theirs")
    with pytest.raises(VersionConflict, match="the order is at version 2") as caught:
        records.update(ALICE, ORDER, uuid, lambda _: {"title": "mine"}, "Order updated", expected_version=1)
    assert caught.value.current_version == 2 and store.saves == 0
    # current when read, overtaken before the save: the client's lock, not retried
    store.rivals = iter([lambda: store.bump(ORDER, record_id(uuid), description="again")])
    with pytest.raises(VersionConflict):
        records.update(ALICE, ORDER, uuid, lambda _: {"title": "mine"}, "Order updated", expected_version=2)
    assert store.saves == 1 and sleeps == []
    stored = records.get(ORDER, uuid)
    assert (stored.version, stored.fields["title"], stored.fields["description"]) == (3, "Glacier", "again")


def test_an_edit_that_changes_nothing_writes_nothing(world: World) -> None:
    records, store, _, uuid = world
    unchanged = records.update(ALICE, ORDER, uuid, lambda _: {}, "Order updated")
    assert unchanged.version == 1 and store.saves == 0
