"""The links a record's body carries (Rails' nested attributes: a run's
``runs_techniques_attributes``, a data group's ``runs_data_groups_attributes``) are all checked
before the record is written: a refused link is myMdC's 422 and leaves nothing behind (no
record, no change of one, no link, no audit entry); valid ones are stored with the record."""

from __future__ import annotations

from typing import Any, cast

import pytest

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import AuditEntry, User
from chalicelib.errors import InvalidRecord
from chalicelib.facility.audit import facility_changes
from chalicelib.facility.datasets import DataGroupDatasets
from chalicelib.facility.records import FacilityService
from chalicelib.facility.schema import KINDS
from tests.fakes.facility import InMemoryFacilityStore

REPOSITORY_URI = "file://mymdc/XFEL_TESTS_REPO"
DAQ = User("daq", register_base_uris=frozenset({REPOSITORY_URI}))
RUN = {"run_number": 126, "experiment_id": "-1", "begin_at": "2014-06-25T08:30:00.000+02:00", "first_train": 126}
GROUP = {"data_group_type_id": "1", "experiment_id": -1, "user_id": "-1", "prefix_path": "/raw/p000001/"}
NO_RUN = {"runs_data_groups.run": ["must exist"]}
NO_TECHNIQUE = {"runs_techniques.technique": ["must exist"]}


class StreamedStore(InMemoryFacilityStore):
    """The store with the audit entries its writes make (what the facility table's stream
    consumer derives from them, :func:`facility_changes`), in ``audit``."""

    def __init__(self) -> None:
        super().__init__()
        self.audit: list[AuditEntry] = []

    def create(self, record: FacilityRecord) -> None:
        super().create(record)
        self.audit.extend(facility_changes(None, record))

    def save(self, record: FacilityRecord, expected_version: int) -> None:
        old = self.get(record.kind, record.id)
        super().save(record, expected_version)
        self.audit.extend(facility_changes(old, record))

    def delete(self, kind: str, id: int, expected_version: int) -> None:
        old = self.get(kind, id)
        super().delete(kind, id, expected_version)
        self.audit.extend(facility_changes(old, None))


class NoReplicas:
    """The catalogue's side of data groups: none is held anywhere (all these tests need)."""

    def available_in(self, uuid: str) -> frozenset[str]:
        return frozenset()


World = tuple[FacilityService, StreamedStore]


@pytest.fixture
def world() -> World:
    """Proposal -1 (the DAQ's) with experiment -1, run -1 (technique -1 linked, as link 5) and
    data group -1 (no run linked); proposal -2 with experiment -2 and run -2; techniques -1, -2."""
    store = StreamedStore()

    def rec(kind: str, id: int, fields: dict[str, Any], lists: tuple[str | None, str | None] = (None, None)) -> None:
        store.create(FacilityRecord(kind, id, f"u-{kind}{id}", 1, fields, lists, (), 1.0, "admin", None))

    rec("repository", 1, {"base_uri": REPOSITORY_URI})
    rec("instrument", 1, {"repository_id": 1})
    rec("technique", -1, {"name": "SFX"})
    rec("technique", -2, {"name": "SAXS"})
    for p in (-1, -2):
        rec("proposal", p, {"instrument_id": 1, "members": [], "number": -p})
        rec("experiment", p, {"proposal_id": p, "name": f"e{p}"}, (f"proposal_id={p}", None))
        run = {"proposal_id": p, "experiment_id": p, "run_number": 1, "first_train": 1, "last_train": None}
        rec("run", p, run, (f"proposal_id={p}", f"experiment_id={p}"))
    rec("runs_technique", 5, {"run_id": -1, "technique_id": -1, "proposal_id": -1}, ("run_id=-1", None))
    group = {**GROUP, "proposal_id": -1, "description": "", "flg_available": True}
    rec("data_group", -1, group, ("experiment_id=-1", None))
    store.audit.clear()
    datasets = cast("DataGroupDatasets", NoReplicas())
    return FacilityService(store, datasets, clock=lambda: 42.0), store


def everything(store: StreamedStore) -> dict[str, list[FacilityRecord]]:
    return {kind: store.all(kind) for kind in KINDS}


@pytest.mark.parametrize(
    ("kind", "body", "errors"),
    [
        ("data_group", {**GROUP, "runs_data_groups_attributes": [{"run_id": -99}]}, NO_RUN),
        ("data_group", {**GROUP, "runs_data_groups_attributes": [{"run_id": -2}]}, NO_RUN),  # another proposal's
        ("data_group", {**GROUP, "runs_data_groups_attributes": [{"run_id": -1}, {"run_id": "x"}]}, NO_RUN),
        ("data_group", {**GROUP, "runs_data_groups_attributes": "x"}, {"runs_data_groups": ["is invalid"]}),
        ("run", {**RUN, "runs_techniques_attributes": [{"technique_id": -99}]}, NO_TECHNIQUE),
        ("run", {**RUN, "runs_techniques_attributes": [{"technique_id": -1}, {}]}, NO_TECHNIQUE),
        ("run", {**RUN, "runs_techniques_attributes": [{"id": 5, "_destroy": 1}]}, {"runs_techniques": ["is invalid"]}),
    ],
    ids=[
        "group-unknown-run",
        "group-other-proposals-run",
        "group-valid-then-bad-run",
        "group-malformed-list",
        "run-unknown-technique",
        "run-valid-then-no-technique",
        "run-removes-another-runs-link",
    ],
)
def test_a_create_with_a_refused_link_stores_nothing(
    world: World, kind: str, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    service, store = world
    before = everything(store)
    with pytest.raises(InvalidRecord) as caught:
        service.create(DAQ, kind, body, acting_for="me@example.org")
    assert caught.value.errors == errors
    assert everything(store) == before  # no record, no link
    assert store.audit == []


@pytest.mark.parametrize(
    ("kind", "body", "errors"),
    [
        ("data_group", {"description": "changed", "runs_data_groups_attributes": [{"run_id": -99}]}, NO_RUN),
        ("data_group", {"description": "changed", "runs_data_groups_attributes": [{"run_id": -2}]}, NO_RUN),
        ("run", {"last_train": 5, "runs_techniques_attributes": [{"technique_id": -2}, {"technique_id": -99}]},
         NO_TECHNIQUE),
        ("run", {"last_train": 5, "runs_techniques_attributes": [{"id": 5, "_destroy": 1}, {"id": 99}]},
         {"runs_techniques": ["is invalid"]}),
        ("run", {"last_train": 5, "runs_techniques_attributes": [{"id": 5, "_destroy": 1}, {"id": 5, "_destroy": 1}]},
         {"runs_techniques": ["is invalid"]}),  # removed by the first item: gone for the second
    ],
    ids=[
        "group-unknown-run",
        "group-other-proposals-run",
        "run-valid-then-unknown-technique",
        "run-removal-then-unknown-link",
        "run-same-link-removed-twice",
    ],
)  # fmt: skip
def test_an_update_with_a_refused_link_changes_nothing(
    world: World, kind: str, body: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    service, store = world
    before = everything(store)
    with pytest.raises(InvalidRecord) as caught:
        service.update(DAQ, kind, -1, lambda: body, acting_for="me@example.org")
    assert caught.value.errors == errors
    assert everything(store) == before  # the record as it was (version too), its links too
    assert store.audit == []


def test_a_valid_create_stores_the_record_and_its_links(world: World) -> None:
    service, store = world
    group = service.create(DAQ, "data_group", {**GROUP, "runs_data_groups_attributes": {"0": {"run_id": "-1"}}})
    [link] = store.listed("runs_data_group", 1, f"data_group_id={group['id']}")
    assert dict(link.fields) == {
        "run_id": -1,
        "data_group_id": group["id"],
        "proposal_id": -1,
        "created_at": "1970-01-01T00:00:42.000Z",
        "created_by": "daq",
    }
    assert store.get("data_group", group["id"]) is not None
    run = service.create(DAQ, "run", {**RUN, "runs_techniques_attributes": [{"technique_id": -2}]}, acting_for="me")
    assert [(t["id"], t["name"]) for t in run["techniques"]] == [(-2, "SAXS")]
    [technique_link] = store.listed("runs_technique", 0, f"run_id={run['id']}")
    assert (technique_link.fields["technique_id"], technique_link.acting_for) == (-2, "me")
    added = [(e.entity_type, e.action) for e in store.audit]
    assert added == [("data_group", "add"), ("runs_data_group", "add"), ("run", "add"), ("runs_technique", "add")]


def test_a_valid_update_changes_the_record_and_its_links(world: World) -> None:
    service, store = world
    attributes = [{"id": 5, "_destroy": "1"}, {"technique_id": -2}, {"technique_id": "-1"}]
    run = service.update(DAQ, "run", -1, lambda: {"last_train": 5, "runs_techniques_attributes": attributes})
    assert run["last_train"] == 5
    assert [t["id"] for t in run["techniques"]] == [-2, -1]  # link 5 removed, two new ones
    assert store.get("runs_technique", 5) is None
    # a run linked already is not linked again
    group = service.update(DAQ, "data_group", -1, lambda: {"runs_data_groups_attributes": [{"run_id": -1}] * 2})
    assert group["id"] == -1
    assert len(store.listed("runs_data_group", 1, "data_group_id=-1")) == 1
