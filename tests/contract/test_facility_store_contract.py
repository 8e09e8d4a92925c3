"""The FacilityStore contract, run against the in-memory fake and DynamoFacilityStore on
DynamoDB in moto server mode (fresh, uniquely named tables per test)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.adapters.aws import make_client
from chalicelib.adapters.dynamodb import tables
from chalicelib.adapters.dynamodb.facility import (
    CLAIM_GRACE_SECONDS,
    ClaimTaken,
    DynamoFacilityStore,
    FacilityRecord,
    FacilityStore,
    record_from_image,
)
from chalicelib.config import Settings
from chalicelib.errors import AlreadyExists, VersionConflict
from tests.contract.conftest import dynamodb_on_moto_server
from tests.fakes.facility import InMemoryFacilityStore

BIG = 9223372036854775807  # 2**63 - 1: past float precision, at the edge of int64


class Backend:
    """A store of the backend under test, and (for DynamoDB) the settings its tables are bound to."""

    def __init__(self, store: FacilityStore, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings

    def plant_claim(self, claim: str, owner: tuple[str, int], claimed_at: float) -> None:
        """``claim`` held by ``owner`` since ``claimed_at``, as a writer that stopped (or has not
        yet got) past taking it leaves it; the owner record may not exist."""
        if self.settings is None:
            cast("InMemoryFacilityStore", self.store).plant_claim(claim, owner[0], owner[1], claimed_at)
            return
        item = {
            "kind": {"S": f"claim:{claim}"},
            "id": {"N": "0"},
            "owner_kind": {"S": owner[0]},
            "owner_id": {"N": str(owner[1])},
            "token": {"S": "a-writer-that-stopped"},
            "claimed_at": {"N": repr(claimed_at)},
        }
        self.ddb().put_item(TableName=self.settings.facility_table, Item=item)

    def raw_item(self, kind: str, id: int) -> dict[str, Any] | None:
        assert self.settings is not None
        key = {"kind": {"S": kind}, "id": {"N": str(id)}}
        found = self.ddb().get_item(TableName=self.settings.facility_table, Key=key, ConsistentRead=True)
        return cast("dict[str, Any] | None", found.get("Item"))

    def ddb(self) -> Any:
        assert self.settings is not None
        return make_client("dynamodb", region=self.settings.region, endpoint_url=self.settings.aws_endpoint_url)


@pytest.fixture(params=["memory", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield Backend(InMemoryFacilityStore())
        return
    for settings in dynamodb_on_moto_server(request.getfixturevalue("moto_server_url")):
        yield Backend(DynamoFacilityStore(), settings)


@pytest.fixture
def store(backend: Backend) -> FacilityStore:
    return backend.store


def rec(kind: str, id: int, **overrides: Any) -> FacilityRecord:
    values: dict[str, Any] = {
        "kind": kind,
        "id": id,
        "uuid": f"uuid-{kind}-{id}",
        "version": 1,
        "fields": {"name": f"{kind} {id}"},
        "updated_at": 1_700_000_000.25,
        "updated_by": "alice",
    }
    values.update(overrides)
    return FacilityRecord(**values)


def bumped(record: FacilityRecord, **changes: Any) -> FacilityRecord:
    """The next version of ``record`` with ``changes``."""
    return replace(record, version=record.version + 1, **changes)


def run_together(n: int, work: Callable[[int], object]) -> list[object]:
    """``work(i)`` for i in range(n) on n threads started together: results or exceptions, by i."""
    outcomes: list[object] = [None] * n
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = work(i)
        except Exception as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


# -- get, get_many ----------------------------------------------------------------------------


def test_a_created_record_reads_back_whole(store: FacilityStore) -> None:
    assert store.get("proposal", -1) is None
    record = rec(
        "proposal",
        -1,
        fields={"title": "Näive ☃", "flags": [True, False, None], "n": 3, "x": 2.5, "deep": {"a": [{"b": "c"}]}},
        lists=("facility=XFEL", None),
        claims=("proposal|number=2001",),
        acting_for="bob@example.org",
    )
    store.create(record)
    assert store.get("proposal", -1) == record
    assert store.get("proposal", 1) is None
    assert store.get("run", -1) is None  # kinds are separate


def test_empty_values_survive(store: FacilityStore) -> None:
    record = rec("run", 5, uuid="", fields={}, updated_by="", updated_at=0.0, lists=(None, "k"))
    store.create(record)
    assert store.get("run", 5) == record


def test_get_many_keeps_the_order_of_ids_and_names_a_record_once(store: FacilityStore) -> None:
    for i in (3, -2, 7):
        store.create(rec("run", i))
    store.create(rec("sample", 4))
    got = store.get_many("run", [7, 4, -2, 7, 100, 3, -2])
    assert [r.id for r in got] == [7, -2, 3]
    assert got[0] == rec("run", 7)
    assert store.get_many("run", []) == []


def test_get_many_reads_more_than_one_batch(store: FacilityStore) -> None:
    ids = list(range(-120, 120, 2))  # 120 records: two BatchGetItem calls
    for i in ids:
        store.create(rec("run", i))
    wanted = [*reversed(ids), 1, 3]
    assert [r.id for r in store.get_many("run", wanted)] == list(reversed(ids))


def test_the_store_keeps_no_reference_to_the_callers_fields(store: FacilityStore) -> None:
    fields: dict[str, Any] = {"tags": ["a"]}
    store.create(rec("run", 1, fields=fields))
    fields["tags"].append("b")
    got = store.get("run", 1)
    assert got is not None and got.fields == {"tags": ["a"]}
    cast("dict[str, Any]", got.fields)["tags"].append("c")
    again = store.get("run", 1)
    assert again is not None and again.fields == {"tags": ["a"]}


def test_integers_of_any_size_survive_exactly(store: FacilityStore) -> None:
    fields = {"max": BIG, "min": -BIG - 1, "huge": 10**40, "negative": -(2**70), "list": [2**64 + 1], "tenth": 0.1}
    record = rec("run", BIG, fields=fields, claims=(f"run|number={BIG}",))
    store.create(record)
    got = store.get("run", BIG)
    assert got == record
    assert got is not None and got.fields["max"] == BIG and type(got.fields["max"]) is int
    assert [r.id for r in store.get_many("run", [BIG])] == [BIG]
    assert store.claimant(f"run|number={BIG}") == ("run", BIG)
    store.reserve_ids("run", BIG)
    assert store.allocate_id("run") == BIG + 1


@pytest.mark.parametrize(
    "bad",
    [
        {"version": 2},  # a create is version 1
        {"kind": "a:b"},
        {"kind": "a|b"},
        {"kind": ""},
        {"fields": {"x": float("nan")}},
        {"fields": {"x": (1, 2)}},  # a tuple is not a JSON value
        {"fields": {"x": {1: "y"}}},
        {"claims": ("c", "c")},
        {"claims": ("x" * 1025,)},
        {"lists": ("a",)},
        {"id": True},
        {"id": 10**38},
    ],
    ids=lambda b: repr(b)[:40],
)
def test_malformed_records_are_programming_errors(store: FacilityStore, bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        store.create(replace(rec("run", 1), **bad))
    assert store.get("run", 1) is None
    assert store.claimant("c") is None


# -- create -----------------------------------------------------------------------------------


def test_create_refuses_an_existing_record_and_changes_nothing(store: FacilityStore) -> None:
    first = rec("run", 1, claims=("run|number=1",))
    store.create(first)
    with pytest.raises(AlreadyExists):
        store.create(rec("run", 1, fields={"other": True}, claims=("run|number=1", "run|extra")))
    assert store.get("run", 1) == first
    assert store.claimant("run|number=1") == ("run", 1)
    assert store.claimant("run|extra") is None
    store.create(rec("run", 2, claims=("run|extra",)))  # the refused create kept nothing


def test_create_names_every_taken_claim_in_record_order_and_keeps_none(store: FacilityStore) -> None:
    store.create(rec("repository", 1, claims=("x", "z")))
    with pytest.raises(ClaimTaken) as caught:
        store.create(rec("repository", 2, claims=("z", "y", "x", "w")))
    assert caught.value.claims == ("z", "x")
    assert caught.value.code == "Taken"
    assert store.get("repository", 2) is None
    assert (store.claimant("y"), store.claimant("w")) == (None, None)
    assert store.claimant("x") == store.claimant("z") == ("repository", 1)
    store.create(rec("repository", 3, claims=("y", "w")))


def test_a_claim_is_exclusive_across_kinds(store: FacilityStore) -> None:
    store.create(rec("proposal", 1, claims=("shared",)))
    with pytest.raises(ClaimTaken):
        store.create(rec("run", 1, claims=("shared",)))


def test_concurrent_creates_with_a_common_claim_exactly_one_wins(store: FacilityStore) -> None:
    n = 8
    outcomes = run_together(n, lambda i: store.create(rec("run", i, claims=(f"own-{i}", "common"))))
    winners = [i for i, o in enumerate(outcomes) if o is None]
    assert len(winners) == 1, outcomes
    assert all(isinstance(o, ClaimTaken) and o.claims == ("common",) for o in outcomes if o is not None), outcomes
    [winner] = winners
    assert store.claimant("common") == ("run", winner)
    assert [r.id for r in store.all("run")] == [winner]
    for i in range(n):
        assert store.claimant(f"own-{i}") == (("run", i) if i == winner else None)


def test_concurrent_creates_of_one_record_exactly_one_wins(store: FacilityStore) -> None:
    n = 6
    outcomes = run_together(n, lambda i: store.create(rec("run", 1, fields={"i": i}, claims=("number=1",))))
    assert sum(o is None for o in outcomes) == 1, outcomes
    assert all(isinstance(o, AlreadyExists) for o in outcomes if o is not None), outcomes
    stored = store.get("run", 1)
    assert stored is not None and outcomes[stored.fields["i"]] is None
    assert store.claimant("number=1") == ("run", 1)
    with pytest.raises(ClaimTaken):
        store.create(rec("run", 2, claims=("number=1",)))


# -- save -------------------------------------------------------------------------------------


def test_save_replaces_the_record_at_the_expected_version(store: FacilityStore) -> None:
    first = rec("run", 1, lists=("proposal_id=1", None))
    store.create(first)
    second = bumped(first, fields={"name": "renamed"}, lists=(None, "sample_id=3"), acting_for="carol")
    store.save(second, 1)
    assert store.get("run", 1) == second
    third = bumped(second, fields={"name": "again"}, acting_for=None)
    store.save(third, 2)
    assert store.get("run", 1) == third


def test_save_against_a_stale_version_or_no_record_is_a_version_conflict(store: FacilityStore) -> None:
    first = rec("run", 1, claims=("a",))
    store.create(first)
    store.save(bumped(first, fields={"v": 2}), 1)
    with pytest.raises(VersionConflict):
        store.save(bumped(first, fields={"v": "stale"}, claims=("a", "b")), 1)
    stored = store.get("run", 1)
    assert stored is not None and stored.fields == {"v": 2} and stored.version == 2
    assert store.claimant("b") is None
    with pytest.raises(VersionConflict):
        store.save(bumped(rec("run", 9)), 1)
    assert store.get("run", 9) is None


def test_save_must_name_the_next_version(store: FacilityStore) -> None:
    first = rec("run", 1)
    store.create(first)
    with pytest.raises(ValueError):
        store.save(replace(first, version=3), 1)
    assert store.get("run", 1) == first


def test_save_takes_added_claims_and_releases_dropped_ones(store: FacilityStore) -> None:
    first = rec("run", 1, claims=("a", "b"))
    store.create(first)
    store.save(bumped(first, claims=("b", "c")), 1)
    assert (store.claimant("a"), store.claimant("b"), store.claimant("c")) == (None, ("run", 1), ("run", 1))
    store.create(rec("run", 2, claims=("a",)))
    with pytest.raises(ClaimTaken):
        store.create(rec("run", 3, claims=("c",)))


def test_a_save_taking_a_held_claim_changes_nothing(store: FacilityStore) -> None:
    store.create(rec("run", 1, claims=("c",)))
    first = rec("run", 2, claims=("a",))
    store.create(first)
    with pytest.raises(ClaimTaken) as caught:
        store.save(bumped(first, fields={"changed": True}, claims=("d", "c")), 1)
    assert caught.value.claims == ("c",)
    assert store.get("run", 2) == first
    assert store.claimant("a") == ("run", 2)
    assert store.claimant("d") is None
    assert store.claimant("c") == ("run", 1)


def test_concurrent_saves_of_one_version_one_wins_and_losers_keep_no_claim(store: FacilityStore) -> None:
    first = rec("run", 1, claims=("kept",))
    store.create(first)
    n = 6
    outcomes = run_together(n, lambda i: store.save(bumped(first, fields={"i": i}, claims=("kept", f"new-{i}")), 1))
    [winner] = [i for i, o in enumerate(outcomes) if o is None]
    assert all(isinstance(o, VersionConflict) for o in outcomes if o is not None), outcomes
    stored = store.get("run", 1)
    assert stored is not None and stored.version == 2 and stored.fields == {"i": winner}
    assert store.claimant("kept") == ("run", 1)
    for i in range(n):
        assert store.claimant(f"new-{i}") == (("run", 1) if i == winner else None)


def test_concurrent_saves_adding_one_claim_leave_it_held_by_the_winner(store: FacilityStore) -> None:
    # every writer adds the same claim: a loser must not release what the winner's record lists
    first = rec("run", 1)
    store.create(first)
    for version in (1, 2, 3):
        current = store.get("run", 1)
        assert current is not None and current.version == version
        claims = ("shared",) if version % 2 else ()
        outcomes = run_together(6, lambda i: store.save(bumped(current, fields={"i": i}, claims=claims), version))  # noqa: B023
        assert sum(o is None for o in outcomes) == 1, outcomes
        assert store.claimant("shared") == (("run", 1) if claims else None)
    with pytest.raises(ClaimTaken):
        store.create(rec("run", 2, claims=("shared",)))


# -- delete -----------------------------------------------------------------------------------


def test_delete_removes_the_record_and_releases_its_claims(store: FacilityStore) -> None:
    first = rec("run", 1, claims=("a", "b"), lists=("k", "k"))
    store.create(first)
    store.delete("run", 1, 1)
    assert store.get("run", 1) is None
    assert (store.claimant("a"), store.claimant("b")) == (None, None)
    assert store.listed("run", 0, "k") == store.all("run") == []
    store.create(rec("run", 2, claims=("a", "b")))
    store.create(replace(first, claims=()))  # the key is free again


def test_delete_against_a_stale_version_or_no_record_is_a_version_conflict(store: FacilityStore) -> None:
    first = rec("run", 1, claims=("a",))
    store.create(first)
    with pytest.raises(VersionConflict):
        store.delete("run", 1, 2)
    with pytest.raises(VersionConflict):
        store.delete("run", 2, 1)
    assert store.get("run", 1) == first
    assert store.claimant("a") == ("run", 1)


def test_a_save_naming_only_a_new_writer_keeps_everything_else_then_a_delete_at_its_version(
    store: FacilityStore,
) -> None:
    """What FacilityService.delete does (the audit log reads the deleter from the last image)."""
    first = rec("run", 1, claims=("a",), lists=("k", None), acting_for="me@example.org")
    store.create(first)
    stamped = bumped(first, updated_by="deleter", acting_for=None, updated_at=1_700_000_100.5)
    store.save(stamped, 1)
    assert store.get("run", 1) == stamped
    assert store.claimant("a") == ("run", 1)
    assert [r.id for r in store.listed("run", 0, "k")] == [1]
    with pytest.raises(VersionConflict):
        store.delete("run", 1, 1)  # the version before the stamp is stale
    store.delete("run", 1, 2)
    assert store.get("run", 1) is None and store.claimant("a") is None


# -- claimant and left-over claims ------------------------------------------------------------


def test_claimant_names_the_holder(store: FacilityStore) -> None:
    assert store.claimant("nobody") is None
    store.create(rec("repository", -3, claims=("repository|identifier=XFEL", "other")))
    assert store.claimant("repository|identifier=XFEL") == ("repository", -3)
    assert store.claimant("repository|identifier=xfel") is None  # exact strings


LONG_AGO = time.time() - 2 * CLAIM_GRACE_SECONDS


def test_a_claim_left_by_a_writer_that_stopped_is_free(backend: Backend) -> None:
    store = backend.store
    backend.plant_claim("orphan", ("run", 99), LONG_AGO)  # its record was never written
    assert store.claimant("orphan") is None
    store.create(rec("run", 1, claims=("orphan",)))
    assert store.claimant("orphan") == ("run", 1)
    store.create(rec("run", 2))
    backend.plant_claim("dropped", ("run", 2), LONG_AGO)  # the record exists but does not list it
    assert store.claimant("dropped") is None
    first = rec("run", 3)
    store.create(first)
    store.save(bumped(first, claims=("dropped",)), 1)
    assert store.claimant("dropped") == ("run", 3)


def test_a_young_claim_of_a_record_not_yet_written_is_taken(backend: Backend) -> None:
    # as far as the store knows, a write may still be under way: nobody else takes its claim
    # yet, while claimant() shows only what stored records list
    store = backend.store
    backend.plant_claim("young", ("run", 99), time.time())
    assert store.claimant("young") is None
    with pytest.raises(ClaimTaken) as caught:
        store.create(rec("run", 1, claims=("free", "young")))
    assert caught.value.claims == ("young",)
    assert store.claimant("free") is None
    store.create(rec("run", 99, claims=("young",)))  # its own record may take it
    assert store.claimant("young") == ("run", 99)


def test_a_claim_left_by_an_earlier_write_of_the_same_record_is_its_own(backend: Backend) -> None:
    store = backend.store
    backend.plant_claim("mine", ("run", 1), time.time())
    first = rec("run", 1)
    store.create(first)
    store.save(bumped(first, claims=("mine",)), 1)
    assert store.claimant("mine") == ("run", 1)


# -- listed, all ------------------------------------------------------------------------------


def test_listed_answers_one_key_of_one_slot_by_id(store: FacilityStore) -> None:
    ids = [5, -1, 3, -10, 0, 12]
    random.Random(7).shuffle(ids)
    for i in ids:
        store.create(rec("run", i, lists=("proposal_id=-1", f"sample_id={i % 2}")))
    store.create(rec("run", 50, lists=("proposal_id=-2", "proposal_id=-1")))  # same key, other slot
    store.create(rec("run", 51))  # listed nowhere
    store.create(rec("data_group", 1, lists=("proposal_id=-1", None)))  # same key, other kind
    assert [r.id for r in store.listed("run", 0, "proposal_id=-1")] == [-10, -1, 0, 3, 5, 12]
    assert [r.id for r in store.listed("run", 1, "proposal_id=-1")] == [50]
    assert [r.id for r in store.listed("run", 1, "sample_id=1")] == [-1, 3, 5]
    assert [r.id for r in store.listed("data_group", 0, "proposal_id=-1")] == [1]
    assert store.listed("run", 0, "proposal_id=-3") == []
    assert store.listed("run", 1, "proposal_id=-2") == []
    assert store.listed("run", 0, "proposal_id=-2")[0] == rec("run", 50, lists=("proposal_id=-2", "proposal_id=-1"))
    with pytest.raises(ValueError):
        store.listed("run", 2, "proposal_id=-1")


def test_a_save_moves_a_record_between_lists(store: FacilityStore) -> None:
    first = rec("run", 1, lists=("a", "b"))
    store.create(first)
    store.save(bumped(first, lists=(None, "c")), 1)
    assert store.listed("run", 0, "a") == store.listed("run", 1, "b") == []
    assert [r.version for r in store.listed("run", 1, "c")] == [2]


def test_all_returns_every_record_of_a_kind_by_id(store: FacilityStore) -> None:
    for i in (4, -7, 0, -1, 9):
        store.create(rec("run", i, claims=(f"c{i}",)))
    store.create(rec("sample", 1))
    store.allocate_id("run")
    assert [r.id for r in store.all("run")] == [-7, -1, 0, 4, 9]
    assert [r.id for r in store.all("sample")] == [1]
    assert store.all("proposal") == []


# -- ids --------------------------------------------------------------------------------------


def test_allocate_id_counts_from_one_per_kind(store: FacilityStore) -> None:
    assert [store.allocate_id("run") for _ in range(3)] == [1, 2, 3]
    assert store.allocate_id("sample") == 1


def test_allocated_ids_are_unique_under_concurrency(store: FacilityStore) -> None:
    outcomes = run_together(10, lambda _: [store.allocate_id("run") for _ in range(5)])
    ids = [i for o in outcomes for i in cast("list[int]", o)]
    assert sorted(ids) == list(range(1, 51))


def test_reserve_ids_raises_the_counter_and_never_lowers_it(store: FacilityStore) -> None:
    store.reserve_ids("run", 100)
    assert store.allocate_id("run") == 101
    store.reserve_ids("run", 50)
    store.reserve_ids("run", 101)
    store.reserve_ids("run", -5)
    assert store.allocate_id("run") == 102
    store.reserve_ids("sample", -5)  # below the start: nothing to do
    store.reserve_ids("sample", 0)
    assert store.allocate_id("sample") == 1
    outcomes = run_together(6, lambda i: store.reserve_ids("proposal", 1000 - i))
    assert outcomes == [None] * 6
    assert store.allocate_id("proposal") == 1001


# -- DynamoDB specifics -----------------------------------------------------------------------


def test_dynamodb_items_are_as_documented(backend: Backend) -> None:
    if backend.settings is None:
        pytest.skip("the layout of the DynamoDB items")
    record = rec("run", -4, fields={"n": BIG}, lists=("proposal_id=1", None), claims=("number=4",))
    backend.store.create(record)
    backend.store.reserve_ids("run", 7)
    item = backend.raw_item("run", -4)
    assert item is not None
    assert item["body"] == {"S": f'{{"n":{BIG}}}'}
    assert item["list_a"] == {"S": "run|proposal_id=1"} and "list_b" not in item
    assert item["claims"] == {"L": [{"S": "number=4"}]}
    claim = backend.raw_item("claim:number=4", 0)
    assert claim is not None and (claim["owner_kind"], claim["owner_id"]) == ({"S": "run"}, {"N": "-4"})
    assert backend.raw_item("counter:run", 0) == {"kind": {"S": "counter:run"}, "id": {"N": "0"}, "next": {"N": "7"}}
    table = backend.ddb().describe_table(TableName=tables.FacilityItem.Meta.table_name)["Table"]
    indexes = {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {
        tables.FACILITY_LIST_A: [
            {"AttributeName": "list_a", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
        tables.FACILITY_LIST_B: [
            {"AttributeName": "list_b", "KeyType": "HASH"},
            {"AttributeName": "id", "KeyType": "RANGE"},
        ],
    }


def test_dynamodb_stream_images_read_back_as_records_and_a_remove_names_the_last_writer(backend: Backend) -> None:
    """The facility table's stream (NEW_AND_OLD_IMAGES) is what the audit log is derived from:
    records read back from its images, claims and counters read as none."""
    if backend.settings is None:
        pytest.skip("DynamoDB Streams")
    table = backend.ddb().describe_table(TableName=backend.settings.facility_table)["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    record = rec("run", -5, fields={"n": BIG}, claims=("number=5",))
    backend.store.create(record)
    backend.store.allocate_id("run")
    stamped = bumped(record, updated_by="deleter", acting_for="me@example.org", updated_at=1_700_000_100.5)
    backend.store.save(stamped, 1)
    backend.store.delete("run", -5, 2)
    streams = make_client(
        "dynamodbstreams", region=backend.settings.region, endpoint_url=backend.settings.aws_endpoint_url
    )
    arn = table["LatestStreamArn"]
    found: list[tuple[str, FacilityRecord | None, FacilityRecord | None]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        for r in streams.get_records(ShardIterator=it["ShardIterator"], Limit=1000)["Records"]:
            ddb = r["dynamodb"]
            old, new = (record_from_image(ddb[k]) if k in ddb else None for k in ("OldImage", "NewImage"))
            found.append((r["eventName"], old, new))
    records = [(name, old, new) for name, old, new in found if old is not None or new is not None]
    assert records == [("INSERT", None, record), ("MODIFY", record, stamped), ("REMOVE", stamped, None)]
    assert len(found) > len(records)  # the claim's and the counter's own records, read as none


def test_dynamodb_lists_follow_pagination(backend: Backend) -> None:
    if backend.settings is None:
        pytest.skip("DynamoDB pages")
    padding = "x" * 60_000  # 1 MB per Query page: about 16 of these records
    for i in range(40):
        backend.store.create(rec("run", i, fields={"p": padding}, lists=("k", None)))
    first_page = backend.ddb().query(
        TableName=tables.FacilityItem.Meta.table_name,
        KeyConditionExpression="kind = :k",
        ExpressionAttributeValues={":k": {"S": "run"}},
    )
    assert "LastEvaluatedKey" in first_page and first_page["Count"] < 40  # more than one page
    assert [r.id for r in backend.store.all("run")] == list(range(40))
    assert [r.id for r in backend.store.listed("run", 0, "k")] == list(range(40))


def test_dynamodb_a_losing_write_releases_only_claims_still_carrying_its_token(backend: Backend) -> None:
    # The interleaving the threads above rarely hit, step by step: writer L takes a claim new,
    # writer W of the same record adopts it and wins; L's release must leave W's claim alone.
    if backend.settings is None:
        pytest.skip("the fake has no writes in progress")
    store = cast("DynamoFacilityStore", backend.store)
    first = rec("run", 1, claims=("old",))
    store.create(first)
    loser = bumped(first, fields={"writer": "L"}, claims=("old", "shared"))
    assert store._take_all(loser, ["shared"], "token-of-L") == ["shared"]  # L: taken new
    tokens_before = store._tokens(first, ["old"])  # what L read before writing
    store.save(bumped(first, fields={"writer": "W"}, claims=("shared",)), 1)  # W adopts it, wins
    store._release(first, {"shared": "token-of-L"})  # L's put failed: it releases what it took
    store._release(first, tokens_before)  # a stale release of "old" (W released it already)
    assert store.claimant("shared") == ("run", 1)
    second = store.get("run", 1)
    assert second is not None
    store.save(bumped(second, claims=("shared", "old")), 2)  # "old" taken again, new token
    store._release(first, tokens_before)  # a release as late as can be: still not this one
    assert store.claimant("old") == ("run", 1)
