"""The audit log of facility records: rows derived from the facility table's stream images
(pure), the stream consumer over them, and FacilityService's side (the deleter stamped
before a delete, the log read by whoever may read the record)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.adapters.dynamodb.facility import FacilityRecord, record_from_image
from chalicelib.adapters.dynamodb.repository import DynamoRepository
from chalicelib.adapters.dynamodb.tables import FacilityItem
from chalicelib.catalogue.audit import MAX_AUDIT_FIELD_BYTES
from chalicelib.catalogue.streams import StreamProcessor
from chalicelib.domain import User
from chalicelib.errors import NotFound
from chalicelib.facility.audit import MAX_AUDIT_VALUE_BYTES, facility_changes, facility_subject
from chalicelib.facility.datasets import DataGroupDatasets
from chalicelib.facility.records import FacilityService
from tests.fakes.facility import InMemoryFacilityStore
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex

RUN = FacilityRecord(
    kind="run",
    id=-7,
    uuid="u-run",
    version=1,
    fields={"run_number": 126, "flg_available": True, "end_at": None},
    lists=("proposal_id=-1", "experiment_id=-1"),
    claims=("run|number|x",),
    updated_at=1_700_000_000.5,
    updated_by="daq",
    acting_for="me@example.org",
)


def test_an_insert_is_an_add_of_every_field_by_the_writer() -> None:
    [entry] = facility_changes(None, RUN)
    assert entry.subject == facility_subject("run", -7) == "facility#run#-7"
    assert (entry.entity_type, entry.entity_id, entry.action) == ("run", "-7", "add")
    assert entry.entry_id == "facility:run:-7:v1:0"
    assert (entry.actor, entry.acting_for, entry.timestamp) == ("daq", "me@example.org", 1_700_000_000.5)
    assert entry.value == dict(RUN.fields)


def test_a_change_is_an_edit_of_the_changed_fields_only() -> None:
    new = replace(
        RUN,
        version=2,
        fields={"run_number": 126, "flg_available": 1, "last_train": 127},  # True -> 1 is a change
        updated_by="admin",
        acting_for=None,
        updated_at=1_700_000_001.0,
    )
    [entry] = facility_changes(RUN, new)
    assert entry.action == "edit" and entry.entry_id == "facility:run:-7:v2:0"
    assert entry.value == {"flg_available": 1, "last_train": 127, "end_at": None}  # end_at went
    assert (entry.actor, entry.acting_for, entry.timestamp) == ("admin", None, 1_700_000_001.0)


def test_a_save_that_changes_no_field_is_no_entry() -> None:
    stamp = replace(RUN, version=2, updated_by="admin", acting_for="you@example.org", updated_at=5.0)
    assert facility_changes(RUN, stamp) == []
    reordered = replace(stamp, fields={"end_at": None, "flg_available": True, "run_number": 126})
    assert facility_changes(RUN, reordered) == []  # the order of fields is no change


def test_a_remove_is_a_delete_by_the_last_writer_one_version_on() -> None:
    stamped = replace(RUN, version=4, updated_by="deleter", acting_for="them@example.org", updated_at=9.0)
    [entry] = facility_changes(stamped, None)
    assert entry.action == "delete"
    # v5: never the id of the row of the write that made the old image (v4)
    assert entry.entry_id == "facility:run:-7:v5:0"
    assert (entry.actor, entry.acting_for, entry.timestamp) == ("deleter", "them@example.org", 9.0)
    assert entry.value == dict(RUN.fields)
    assert facility_changes(None, None) == []


def test_entries_are_deterministic() -> None:
    assert facility_changes(None, RUN) == facility_changes(None, RUN)
    assert facility_changes(RUN, None) == facility_changes(RUN, None)


def test_large_values_are_bounded() -> None:
    big = "x" * (MAX_AUDIT_FIELD_BYTES + 1)
    [entry] = facility_changes(None, replace(RUN, fields={"files": big, "n": 1}))
    assert entry.value["n"] == 1
    assert entry.value["files"]["omitted"] is True and entry.value["files"]["bytes"] == len(big) + 2
    # many fields just under the per-field bound: the largest go to digests until the whole fits
    fields = {f"f{i}": "y" * (MAX_AUDIT_FIELD_BYTES - 10 - i) for i in range(8)}
    [entry] = facility_changes(None, replace(RUN, fields=fields))
    assert len(json.dumps(entry.value, separators=(",", ":"))) <= MAX_AUDIT_VALUE_BYTES
    digested = sorted(name for name, v in entry.value.items() if isinstance(v, dict))
    assert digested == [f"f{i}" for i in range(len(digested))]  # the largest went first
    assert 0 < len(digested) < len(fields)


def image(record: FacilityRecord) -> dict[str, Any]:
    """A stream image of ``record`` as the DynamoDB adapter writes it."""
    item = FacilityItem(
        record.kind,
        record.id,
        uuid=record.uuid,
        version=record.version,
        body='{"run_number":126}',
        list_a=f"{record.kind}|{record.lists[0]}" if record.lists[0] else None,
        claims=list(record.claims),
        updated_at=record.updated_at,
        updated_by=record.updated_by,
        acting_for=record.acting_for,
    )
    return cast("dict[str, Any]", item.serialize())


CLAIM = {
    "kind": {"S": "claim:run|number|x"},
    "id": {"N": "0"},
    "owner_kind": {"S": "run"},
    "owner_id": {"N": "-7"},
    "token": {"S": "t"},
    "claimed_at": {"N": "1.5"},
}
COUNTER = {"kind": {"S": "counter:run"}, "id": {"N": "0"}, "next": {"N": "3"}}


def test_images_read_back_as_records_and_claims_and_counters_as_none() -> None:
    back = record_from_image(image(RUN))
    assert back is not None
    assert (back.kind, back.id, back.version, back.fields, back.lists[0]) == (
        "run",
        -7,
        1,
        {"run_number": 126},
        "proposal_id=-1",
    )
    assert (back.updated_by, back.acting_for, back.claims) == ("daq", "me@example.org", RUN.claims)
    assert record_from_image(CLAIM) is None
    assert record_from_image(COUNTER) is None


def stream_record(name: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    ddb: dict[str, Any] = {}
    if old is not None:
        ddb["OldImage"] = old
    if new is not None:
        ddb["NewImage"] = new
    return {"eventName": name, "dynamodb": ddb}


def test_the_stream_consumer_audits_records_once_and_ignores_claims_and_counters() -> None:
    repo = InMemoryRepository()
    processor = StreamProcessor(cast("DynamoRepository", repo), InMemorySearchIndex())
    stamped = replace(RUN, version=2, updated_by="deleter", acting_for=None, updated_at=RUN.updated_at + 1)
    batch = [
        stream_record("INSERT", None, CLAIM),
        stream_record("INSERT", None, image(RUN)),
        stream_record("MODIFY", None, COUNTER),
        stream_record("MODIFY", COUNTER, {**COUNTER, "next": {"N": "4"}}),
        stream_record("MODIFY", image(RUN), image(stamped)),  # the deleter's stamp: no entry
        stream_record("REMOVE", image(stamped), None),
        stream_record("REMOVE", CLAIM, None),
    ]
    assert processor.process_facility(batch) == 2
    entries, _ = repo.list_audit(facility_subject("run", -7), 10, None)
    assert [(e.action, e.actor, e.entry_id) for e in entries] == [
        ("add", "daq", "facility:run:-7:v1:0"),
        ("delete", "deleter", "facility:run:-7:v3:0"),
    ]
    processor.process_facility(batch)  # redelivered: nothing new
    assert repo.list_audit(facility_subject("run", -7), 10, None)[0] == entries


# -- FacilityService: the deleter's stamp and the log's reader -----------------------------------

REPOSITORY_URI = "file://mymdc/XFEL_TESTS_REPO"
DAQ = User("daq", register_base_uris=frozenset({REPOSITORY_URI}))
ADMIN = User("admin", is_admin=True)


class RecordingStore(InMemoryFacilityStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str, int, int]] = []

    def save(self, record: FacilityRecord, expected_version: int) -> None:
        super().save(record, expected_version)
        self.writes.append(("save", record.kind, record.id, record.version))

    def delete(self, kind: str, id: int, expected_version: int) -> None:
        super().delete(kind, id, expected_version)
        self.writes.append(("delete", kind, id, expected_version))


def _rec(
    kind: str, id: int, fields: dict[str, Any], lists: tuple[str | None, str | None] = (None, None)
) -> FacilityRecord:
    return FacilityRecord(kind, id, f"u-{kind}{id}", 1, fields, lists, (), 1.0, "admin", None)


@pytest.fixture
def world() -> tuple[FacilityService, RecordingStore, InMemoryRepository]:
    store = RecordingStore()
    store.create(_rec("repository", 1, {"base_uri": REPOSITORY_URI}))
    store.create(_rec("instrument", 1, {"repository_id": 1}))
    store.create(_rec("proposal", -1, {"instrument_id": 1, "members": ["member"], "number": 0}))
    store.create(_rec("run", -1, {"proposal_id": -1, "run_number": 1}, ("proposal_id=-1", "experiment_id=-1")))
    store.create(_rec("runs_technique", 5, {"run_id": -1, "technique_id": -1, "proposal_id": -1}, ("run_id=-1", None)))
    repo = InMemoryRepository()
    datasets = cast("DataGroupDatasets", None)  # a run's delete touches no dataset
    service = FacilityService(store, datasets, clock=lambda: 42.0, audit=repo)
    return service, store, repo


def test_a_delete_first_saves_the_deleter_then_deletes_at_that_version(
    world: tuple[FacilityService, RecordingStore, InMemoryRepository],
) -> None:
    service, store, _ = world
    seen: list[FacilityRecord] = []
    real_save = store.save

    def save(record: FacilityRecord, expected_version: int) -> None:
        seen.append(record)
        real_save(record, expected_version)

    store.save = save  # type: ignore[method-assign]
    service.delete(DAQ, "run", -1, acting_for="me@example.org")
    # the cascaded link first, then the run: each stamped (v2) and deleted at v2
    assert store.writes == [
        ("save", "runs_technique", 5, 2),
        ("delete", "runs_technique", 5, 2),
        ("save", "run", -1, 2),
        ("delete", "run", -1, 2),
    ]
    link, run = seen
    assert (run.updated_by, run.acting_for, run.updated_at) == ("daq", "me@example.org", 42.0)
    assert run.fields == {"proposal_id": -1, "run_number": 1} and run.lists == ("proposal_id=-1", "experiment_id=-1")
    assert (link.updated_by, link.acting_for) == ("daq", "me@example.org")
    assert store.get("run", -1) is None and store.get("runs_technique", 5) is None


def test_the_log_is_read_by_whoever_may_read_the_record(
    world: tuple[FacilityService, RecordingStore, InMemoryRepository],
) -> None:
    service, store, repo = world
    run = store.get("run", -1)
    assert run is not None
    repo.append_audit(facility_changes(None, run))
    for reader in (ADMIN, DAQ, User("member")):
        page = service.record_log(reader, "run", -1, 10, None)
        assert [e["action"] for e in page.entries] == ["add"], reader
    for unknown in (("run", -99), ("nonsense", -1), ("claim:x", 0)):
        with pytest.raises(NotFound):
            service.record_log(ADMIN, *unknown, 10, None)
    with pytest.raises(NotFound):
        service.record_log(User("outsider"), "run", -1, 10, None)
    # reference data: any signed-in user
    repo.append_audit(facility_changes(None, store.get("instrument", 1)))
    assert service.record_log(User("outsider"), "instrument", 1, 10, None).entries


def test_a_gone_records_log_is_the_admins_only(
    world: tuple[FacilityService, RecordingStore, InMemoryRepository],
) -> None:
    service, store, repo = world
    run = store.get("run", -1)
    assert run is not None
    repo.append_audit(facility_changes(None, run))
    service.delete(DAQ, "run", -1, acting_for="me@example.org")
    repo.append_audit(facility_changes(replace(run, version=2, updated_by="daq", updated_at=42.0), None))
    assert [e["action"] for e in service.record_log(ADMIN, "run", -1, 10, None).entries] == ["add", "delete"]
    for reader in (DAQ, User("member"), User("outsider")):
        with pytest.raises(NotFound):
            service.record_log(reader, "run", -1, 10, None)
