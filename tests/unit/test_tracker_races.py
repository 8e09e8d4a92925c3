"""The Data Tracker's services under a race: an edit without a version (``/api/v1``'s PATCH,
ours without ``version``) that another write overtook is done again on the record as it is
then, and each attempt authorizes and validates on the version it saves at; an attempt whose
record no longer allows the edit (a listed dataset deleted or hidden, the caller no longer an
editor) refuses it as a first attempt would, and nothing is saved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.domain import User
from chalicelib.errors import Forbidden, NotFound, ValidationError
from chalicelib.tracker import topics as t
from chalicelib.tracker.collections import Collections
from chalicelib.tracker.datasets import TrackerDatasets
from chalicelib.tracker.orders import Orders
from chalicelib.tracker.people import People
from chalicelib.tracker.records import COLLECTION, DATASET, ORDER, TrackerRecords, record_id
from tests.fakes.facility import RacingStore
from tests.fakes.repository import InMemoryRepository

ALICE = User("alice", topics=frozenset({t.ORDERS}))
BOB = User("bob", topics=frozenset({t.ORDERS}))
CAROL = User("carol", topics=frozenset({t.ORDERS}))
DM = User("dm", topics=frozenset({t.DATA_MANAGEMENT}))


@dataclass
class World:
    store: RacingStore
    records: TrackerRecords
    orders: Orders
    datasets: TrackerDatasets
    collections: Collections
    sleeps: list[float] = field(default_factory=list)
    members: list[tuple[str, frozenset[str]]] = field(default_factory=list)  # the syncs asked for

    def order(self, title: str, *editors: User) -> str:
        fields = {"title": title, "editors": [u.id for u in editors]}
        return self.records.create(editors[0], ORDER, fields, "Order added").uuid

    def dataset(self, order: str, title: str) -> str:
        return self.records.create(ALICE, DATASET, {"title": title, "order": order}, "added", order=order).uuid

    def race(self, rival: Callable[[], object]) -> None:
        """Another writer gets in first: ``rival`` runs just before the next save (only that one)."""

        def run() -> None:
            rival()

        self.store.rivals = iter([run])

    def saved(self, kind: str, uuid: str) -> tuple[int, Mapping[str, Any]]:
        """The version and fields of the record as stored now."""
        record = self.records.get(kind, uuid)
        return record.version, record.fields


@pytest.fixture
def world() -> World:
    store, repo = RacingStore(), InMemoryRepository()
    for user in (ALICE, BOB, CAROL, DM):
        repo.save_user(user, None)
    sleeps: list[float] = []
    members: list[tuple[str, frozenset[str]]] = []
    records = TrackerRecords(store, repo, clock=lambda: 7.0, sleep=sleeps.append)
    people = People(repo, clock=lambda: 7.0)
    orders = Orders(records, people, members=lambda order, names: members.append((order, names)))
    datasets = TrackerDatasets(records, people, orders)
    return World(store, records, orders, datasets, Collections(records, people, datasets), sleeps, members)


# -- collections ------------------------------------------------------------------------------
def test_a_collection_edit_retried_after_a_listed_dataset_was_deleted_is_refused(world: World) -> None:
    """Alice sends the list she read (``d`` and a new ``e``) while ``d`` is deleted (which
    takes it out of the collection): on the newer collection ``d`` is no longer held, and no
    longer exists."""
    order = world.order("Glacier", ALICE)
    d, e = world.dataset(order, "cores"), world.dataset(order, "ice")
    c = world.collections.add(ALICE, {"title": "Paper", "datasets": [d]})
    world.race(lambda: world.datasets.delete(DM, d))
    with pytest.raises(ValidationError, match=f"no dataset {d}"):
        world.collections.update(ALICE, c, {"title": "Paper, v2", "datasets": [d, e]})
    version, fields = world.saved(COLLECTION, c)
    assert (version, fields["title"], fields["datasets"]) == (2, "Paper", [])  # the deletion's edit only
    assert world.records.find(DATASET, d) is None and len(world.sleeps) == 1


def test_a_collection_edit_retried_after_a_new_dataset_was_hidden_from_its_editor_is_refused(world: World) -> None:
    """Carol takes Alice out of the editors of the order whose dataset Alice adds, and another
    edit of the collection overtakes Alice's: the retry finds the dataset no longer readable."""
    carols = world.order("Fjord", CAROL, ALICE)
    e = world.dataset(carols, "sediment")
    c = world.collections.add(ALICE, {"title": "Paper"})

    def rival() -> None:
        world.orders.update(CAROL, carols, {"editors": [CAROL.id]})
        world.store.bump(COLLECTION, record_id(c), description="theirs")

    world.race(rival)
    with pytest.raises(ValidationError, match=f"no dataset {e}"):
        world.collections.update(ALICE, c, {"datasets": [e]})
    version, fields = world.saved(COLLECTION, c)
    assert (version, fields["datasets"], fields["description"]) == (2, [], "theirs")


def test_a_collection_edit_retried_after_its_editor_was_removed_is_not_found(world: World) -> None:
    c = world.collections.add(ALICE, {"title": "Paper", "editors": [BOB.id]})  # Alice and Bob
    world.race(lambda: world.collections.update(ALICE, c, {"editors": [ALICE.id]}))
    with pytest.raises(NotFound):
        world.collections.update(BOB, c, {"title": "Bob's"})
    version, fields = world.saved(COLLECTION, c)
    assert (version, fields["title"], fields["editors"]) == (2, "Paper", [ALICE.id])


def test_a_collection_edit_that_lost_a_race_is_applied_to_the_newer_collection(world: World) -> None:
    order = world.order("Glacier", ALICE)
    d, e = world.dataset(order, "cores"), world.dataset(order, "ice")
    c = world.collections.add(ALICE, {"title": "Paper", "datasets": [d]})
    world.race(lambda: world.store.bump(COLLECTION, record_id(c), description="theirs"))
    shown = world.collections.update(ALICE, c, {"title": "Paper, v2", "datasets": [d, e]})
    assert (shown["version"], shown["title"], shown["description"]) == (3, "Paper, v2", "theirs")
    assert [x["_id"] for x in shown["datasets"]] == [d, e]
    assert world.saved(COLLECTION, c)[0] == 3 and world.store.saves == 2 and len(world.sleeps) == 1


# -- orders -----------------------------------------------------------------------------------
def test_an_order_edit_retried_after_its_editor_was_removed_is_not_found(world: World) -> None:
    """Alice takes Bob out of the editors between Bob's read and his save: his retry reads
    the order without him and is refused as a non-editor's edit is."""
    order = world.order("Glacier", ALICE, BOB)
    world.race(lambda: world.orders.update(ALICE, order, {"editors": [ALICE.id]}))
    with pytest.raises(NotFound, match="no order"):
        world.orders.update(BOB, order, {"title": "Bob's", "description": "mine"})
    version, fields = world.saved(ORDER, order)
    assert (version, fields["title"], fields["description"], fields["editors"]) == (2, "Glacier", "", [ALICE.id])
    assert world.members == [(order, frozenset({"alice"}))]  # Alice's edit's sync only
    assert world.store.saves == 2 and len(world.sleeps) == 1


def test_an_order_edit_that_lost_a_race_is_applied_to_the_newer_order(world: World) -> None:
    order = world.order("Glacier", ALICE, BOB)
    world.race(lambda: world.orders.update(BOB, order, {"description": "theirs"}))
    shown = world.orders.update(ALICE, order, {"title": "Glacier, v2", "editors": [ALICE.id, BOB.id, CAROL.id]})
    assert (shown["version"], shown["title"], shown["description"]) == (3, "Glacier, v2", "theirs")
    assert [e["_id"] for e in shown["editors"]] == [ALICE.id, BOB.id, CAROL.id]
    assert world.members == [(order, frozenset({"alice", "bob", "carol"}))]
    assert len(world.sleeps) == 1


def test_an_order_edit_keeping_its_editors_syncs_no_members_after_a_race(world: World) -> None:
    """The editors compared are those of the order the saving attempt read: a rival's change
    of them is the rival's to sync, not this edit's."""
    order = world.order("Glacier", ALICE, BOB)
    world.race(lambda: world.orders.update(ALICE, order, {"editors": [ALICE.id]}))
    world.orders.update(ALICE, order, {"title": "Glacier, v2"})
    assert world.members == [(order, frozenset({"alice"}))]  # the rival's sync only
    assert world.saved(ORDER, order)[1]["editors"] == [ALICE.id]


# -- datasets ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("published", "refusal"), [(False, NotFound), (True, Forbidden)])
def test_a_dataset_edit_retried_after_its_editor_left_the_order_is_refused(
    world: World, published: bool, refusal: type[Exception]
) -> None:
    """Alice takes Bob out of the order's editors, and another edit of the dataset overtakes
    Bob's: his retry reads the dataset and its order without him and is refused as a
    non-editor's edit is (NotFound where he may no longer read it, Forbidden where he may)."""
    order = world.order("Glacier", ALICE, BOB)
    d = world.dataset(order, "cores")
    world.store.bump(DATASET, record_id(d), published=published)  # version 2

    def rival() -> None:
        world.orders.update(ALICE, order, {"editors": [ALICE.id]})
        world.store.bump(DATASET, record_id(d), description="theirs")

    world.race(rival)
    with pytest.raises(refusal):
        world.datasets.update(BOB, d, {"title": "Bob's"})
    version, fields = world.saved(DATASET, d)
    assert (version, fields["title"], fields["description"]) == (3, "cores", "theirs")
    assert world.store.saves == 2 and len(world.sleeps) == 1
    with pytest.raises(refusal):  # as for a non-editor from the start
        world.datasets.update(BOB, d, {"title": "Bob's"})


def test_a_dataset_edit_that_lost_a_race_is_applied_to_the_newer_dataset(world: World) -> None:
    order = world.order("Glacier", ALICE, BOB)
    d = world.dataset(order, "cores")
    world.race(lambda: world.datasets.update(BOB, d, {"description": "theirs"}))
    shown = world.datasets.update(ALICE, d, {"title": "cores, v2"})
    assert (shown["version"], shown["title"], shown["description"]) == (3, "cores, v2", "theirs")
    assert world.saved(DATASET, d)[0] == 3 and len(world.sleeps) == 1


# -- deleting an order ------------------------------------------------------------------------
def test_an_order_delete_retried_after_its_deleter_was_removed_is_not_found(world: World) -> None:
    """Alice takes Bob out of the editors between Bob's read and the save that names his
    deletion: his retry reads the order without him and is refused; the order stays."""
    order = world.order("Glacier", ALICE, BOB)
    world.race(lambda: world.orders.update(ALICE, order, {"editors": [ALICE.id]}))
    with pytest.raises(NotFound, match="no order"):
        world.orders.delete(BOB, order)
    version, fields = world.saved(ORDER, order)
    assert (version, fields["editors"], fields["_comment"]) == (2, [ALICE.id], "Order updated")
    assert world.members == [(order, frozenset({"alice"}))]  # Alice's edit's sync only
    assert world.store.saves == 2 and len(world.sleeps) == 1


def test_an_order_delete_that_lost_a_race_to_a_harmless_edit_deletes_it(world: World) -> None:
    order = world.order("Glacier", ALICE, BOB)
    world.race(lambda: world.orders.update(ALICE, order, {"description": "theirs"}))
    world.orders.delete(BOB, order)
    assert world.records.find(ORDER, order) is None
    assert world.members == [(order, frozenset())] and len(world.sleeps) == 1


def test_an_order_delete_whose_order_changed_while_its_datasets_went_deletes_the_rest(world: World) -> None:
    """The edit lands while the order's dataset is being deleted (before that dataset's last
    save): the retry reads the newer order, finds no dataset left, and deletes the order."""
    order = world.order("Glacier", ALICE, BOB)
    d = world.dataset(order, "cores")
    world.race(lambda: world.orders.update(ALICE, order, {"description": "theirs"}))
    world.orders.delete(BOB, order)
    assert world.records.find(ORDER, order) is None and world.records.find(DATASET, d) is None
    assert len(world.sleeps) == 1
