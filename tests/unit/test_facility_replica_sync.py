"""A ``data_group_repository`` row (a data group's replica in a repository) is a replica of
the catalogue: what can refuse registering or removing it (the repository must exist, the
caller must have register permission on its base URI, the replica's URI must be one) is
checked before the row is written, on a create and on an update that sets ``flg_available``.
A refusal is myMdC's 422 or 403 and leaves nothing behind: no row, no change of one, no audit
entry, no catalogue replica; valid rows are stored and their replicas registered or removed."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.domain import BaseUri, Dataset, User
from chalicelib.errors import CatalogueError, Forbidden, InvalidRecord
from chalicelib.facility.claims import claims_of, list_keys
from chalicelib.facility.datasets import DataGroupDatasets
from chalicelib.facility.records import FacilityService
from chalicelib.facility.schema import KINDS
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.unit.test_facility_nested_links import StreamedStore

REPOSITORY_URI = "file://mymdc/XFEL_TESTS_REPO"  # the DAQ's (its instrument's repository)
OTHER_URI = "file://mymdc/XFEL_OTHER_REPO"  # the DAQ may not register here
S3_URI = "s3://xfel-raw"
DAQ_URIS = frozenset({REPOSITORY_URI, S3_URI})
DAQ = User("daq", search_base_uris=DAQ_URIS, register_base_uris=DAQ_URIS)
ADMIN = User("admin", is_admin=True)
GONE = 99  # no repository has this id


def _nothing(*_: Any) -> None:
    """What these tests need not do: ensure base URIs, set members, pause between attempts."""


class World:
    """Repositories 1 (the DAQ's), 2 (another base URI) and 3 (in S3); proposal -1 (the DAQ's)
    with data groups -1 (no replica), -2 (rows 6 in repository 1, not available; 7 in 2,
    available and registered there; 8 in a repository that is gone) and -3 (whose prefix
    path leaves its folder)."""

    def __init__(self) -> None:
        self.store = StreamedStore()
        self.repo = InMemoryRepository()
        for base_uri in (REPOSITORY_URI, OTHER_URI, S3_URI):
            self.repo.save_base_uri(BaseUri(base_uri, created_at=1.0), None)
        catalogue = CatalogueService(self.repo, InMemorySearchIndex(), clock=lambda: 42.0, sleep=_nothing)
        self.datasets = DataGroupDatasets(catalogue, _nothing, _nothing)
        self.service = FacilityService(self.store, self.datasets, clock=lambda: 42.0)
        for id, base_uri in ((1, REPOSITORY_URI), (2, OTHER_URI), (3, S3_URI)):
            self.rec("repository", id, {"base_uri": base_uri, "identifier": f"r{id}", "name": f"r{id}"})
        self.rec("instrument", 1, {"repository_id": 1, "identifier": "SPB"})
        self.rec("proposal", -1, {"instrument_id": 1, "members": [], "number": 1})
        self.rec("experiment", -1, {"proposal_id": -1, "name": "e"})
        for group, prefix in ((-1, "/raw/p000001/"), (-2, "/raw/p000001/r2/"), (-3, "../elsewhere")):
            fields = {"experiment_id": -1, "proposal_id": -1, "data_group_type_id": 1, "prefix_path": prefix}
            self.rec("data_group", group, {**fields, "description": "", "user_id": -1, "flg_available": True})
        for id, repository, available in ((6, 1, False), (7, 2, True), (8, GONE, True)):
            fields = {"data_group_id": -2, "repository_id": repository, "flg_available": available, "proposal_id": -1}
            self.rec("data_group_repository", id, fields)
        registered = self.store.get("data_group", -2)
        assert registered is not None
        self.datasets.register(ADMIN, self.service.dataset_content(registered), OTHER_URI, "/raw/p000001/r2/")
        self.store.audit.clear()

    def rec(self, kind: str, id: int, fields: dict[str, Any]) -> None:
        k = KINDS[kind]
        lists, claims = list_keys(k, fields), claims_of(k, fields)
        self.store.create(FacilityRecord(kind, id, f"u-{kind}{id}", 1, fields, lists, claims, 1.0, "admin", None))

    def facility(self) -> dict[str, list[FacilityRecord]]:
        return {kind: self.store.all(kind) for kind in KINDS}

    def catalogue(self) -> list[Dataset]:
        return sorted(self.repo.iter_datasets(), key=lambda d: (d.uuid, d.base_uri))

    def replicas(self, data_group: int) -> list[str]:
        """The URIs of the data group's live replicas in the catalogue."""
        return sorted(r.uri for d in self.catalogue() if d.uuid == f"u-data_group{data_group}" and not d.deleted
                      for r in d.replicas)  # fmt: skip


@pytest.fixture
def world() -> World:
    return World()


NO_REPOSITORY = {"repository": ["must exist"]}
NOT_OTHERS = f"no register permission on {OTHER_URI}"
BAD_PREFIX = {"prefix_path": ["is invalid"]}


@pytest.mark.parametrize(
    ("fields", "refusal", "answer"),
    [
        ({"repository_id": GONE}, InvalidRecord, NO_REPOSITORY),
        ({"repository_id": GONE, "flg_available": False}, InvalidRecord, NO_REPOSITORY),
        ({"repository_id": 2}, Forbidden, NOT_OTHERS),
        ({"repository_id": 2, "flg_available": "false"}, Forbidden, NOT_OTHERS),  # removing needs it too
        ({"repository_id": 3, "data_group_id": -3}, InvalidRecord, BAD_PREFIX),  # no replica URI in S3
    ],
    ids=["unknown-repository", "unknown-repository-unavailable", "no-register-permission",
         "no-register-permission-unavailable", "s3-prefix-outside-its-folder"],
)  # fmt: skip
def test_a_refused_create_stores_nothing(
    world: World, fields: dict[str, Any], refusal: type[CatalogueError], answer: Any
) -> None:
    facility, catalogue = world.facility(), world.catalogue()
    body = {"data_group_id": -1, "flg_available": True, **fields}
    with pytest.raises(refusal) as caught:
        world.service.create(DAQ, "data_group_repository", body, acting_for="me@example.org")
    assert (caught.value.errors if isinstance(caught.value, InvalidRecord) else str(caught.value)) == answer
    assert world.facility() == facility  # no row, no id taken from a claim
    assert world.store.audit == []
    assert world.catalogue() == catalogue


@pytest.mark.parametrize(
    ("id", "body", "refusal", "answer"),
    [
        (8, {"flg_available": True}, InvalidRecord, NO_REPOSITORY),
        (8, {"flg_available": "0"}, InvalidRecord, NO_REPOSITORY),
        (7, {"flg_available": False}, Forbidden, NOT_OTHERS),
        (7, {"flg_available": True}, Forbidden, NOT_OTHERS),
    ],
    ids=["unknown-repository", "unknown-repository-unavailable", "no-register-permission-removing",
         "no-register-permission-registering"],
)  # fmt: skip
def test_a_refused_update_of_flg_available_changes_nothing(
    world: World, id: int, body: dict[str, Any], refusal: type[CatalogueError], answer: Any
) -> None:
    facility, catalogue = world.facility(), world.catalogue()
    with pytest.raises(refusal) as caught:
        world.service.update(DAQ, "data_group_repository", id, lambda: body, acting_for="me@example.org")
    assert (caught.value.errors if isinstance(caught.value, InvalidRecord) else str(caught.value)) == answer
    assert world.facility() == facility  # the row as it was, version too
    assert world.store.audit == []
    assert world.catalogue() == catalogue
    assert world.replicas(-2) == [f"{OTHER_URI}/u-data_group-2"]


def test_an_update_not_naming_flg_available_touches_no_replica(world: World) -> None:
    """As before: only ``flg_available`` changes the catalogue (nothing else may change)."""
    row = world.service.update(DAQ, "data_group_repository", 7, lambda: {"data_group_id": -2})
    assert row["flg_available"] is True
    assert world.replicas(-2) == [f"{OTHER_URI}/u-data_group-2"]


def test_a_valid_create_stores_the_row_and_registers_the_replica(world: World) -> None:
    body = {"data_group_id": "-1", "repository_id": "1", "flg_available": "true"}
    row = world.service.create(DAQ, "data_group_repository", body, acting_for="me@example.org")
    assert row["flg_available"] is True
    stored = world.store.get("data_group_repository", row["id"])
    assert stored is not None
    assert (stored.fields["repository_id"], stored.acting_for) == (1, "me@example.org")
    assert [(e.entity_type, e.action) for e in world.store.audit] == [("data_group_repository", "add")]
    assert world.replicas(-1) == [f"{REPOSITORY_URI}/u-data_group-1"]
    [entry] = [d for d in world.catalogue() if d.uuid == "u-data_group-1"]
    assert entry.updated_for == "me@example.org"


def test_a_valid_create_of_an_unavailable_row_registers_nothing(world: World) -> None:
    body = {"data_group_id": -1, "repository_id": 1, "flg_available": False}
    row = world.service.create(DAQ, "data_group_repository", body)
    assert row["flg_available"] is False
    assert world.store.get("data_group_repository", row["id"]) is not None
    assert world.replicas(-1) == []


def test_a_valid_update_stores_the_row_and_registers_then_removes_the_replica(world: World) -> None:
    row = world.service.update(DAQ, "data_group_repository", 6, lambda: {"flg_available": 1})
    assert row["flg_available"] is True
    stored = world.store.get("data_group_repository", 6)
    assert stored is not None
    assert (stored.version, stored.fields["flg_available"]) == (2, True)
    assert world.replicas(-2) == sorted([f"{OTHER_URI}/u-data_group-2", f"{REPOSITORY_URI}/u-data_group-2"])
    row = world.service.update(DAQ, "data_group_repository", 6, lambda: {"flg_available": "false"})
    assert row["flg_available"] is False
    assert world.replicas(-2) == [f"{OTHER_URI}/u-data_group-2"]
    assert [(e.entity_type, e.action) for e in world.store.audit] == [("data_group_repository", "edit")] * 2


def test_a_data_group_whose_replica_may_not_be_removed_keeps_every_replica(world: World) -> None:
    """Deleting a data group removes its rows and their replicas: all, or (one refused:
    here a row whose repository is gone) none."""
    facility, catalogue = world.facility(), world.catalogue()
    with pytest.raises(InvalidRecord) as caught:
        world.service.delete(ADMIN, "data_group", -2)
    assert caught.value.errors == NO_REPOSITORY
    assert world.facility() == facility
    assert world.store.audit == []
    assert world.catalogue() == catalogue
