"""The change feed's events, derived from old and new records (pure): which change makes which
event, ids stable across redelivery, nothing a searcher of the record may not see, and every
event valid against its versioned JSON Schema (``schemas/events``)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.archive import model as archive_model
from chalicelib.catalogue import change_feed as feed
from chalicelib.catalogue.change_feed import ChangeEvent, archive_events, dataset_events, record_events
from chalicelib.domain import INCOMPLETE, KIND_DTOOL, REFUSED, Dataset, DatasetContent, Manifest, ManifestItem, Replica

T0 = 1_700_000_000.0
BASE = "s3://bucket-a"
UUID = "6f9c1a36-0b8e-4a7e-9d4f-1c2b3a4d5e6f"
SECRETS = ("README-SECRET", "ANNOTATION-SECRET", "MANIFEST-SECRET", "REASON-SECRET", "EDITOR-SECRET", "AIP-SECRET")


def entry(version: int = 1, **changes: Any) -> Dataset:
    """Version ``version`` of an entry whose hidden parts all hold a secret word."""
    content = DatasetContent(
        uuid=UUID,
        name="soil-moisture",
        creator_username="olssont",
        created_at=T0 - 100,
        frozen_at=T0 - 50,
        readme="owner: README-SECRET\n",
        manifest=Manifest(items={"a": ManifestItem("raw/MANIFEST-SECRET.csv", 10, "0" * 32, T0)}),
        annotations={"instrument": "ANNOTATION-SECRET"},
        tags=("soil", "field"),
        description="TDR probes",
        number_of_items=1,
        size_in_bytes=10,
        project="p-1",
        kind=KIND_DTOOL,
    )
    dataset = Dataset(
        content=content,
        replicas=(Replica(f"{BASE}/{UUID}", BASE, T0, "EDITOR-SECRET"),),
        version=version,
        registered_at=T0,
        updated_at=T0 + version,
        updated_by="EDITOR-SECRET",
        updated_for="EDITOR-SECRET",
        status_reasons=("REASON-SECRET",),
        archival={"ar-1": {"id": "ar-1", "status": "archived", "aip_uri": "s3://AIP-SECRET"}},
        base_uri=BASE,
    )
    return replace(dataset, **changes)


def tombstone(of: Dataset) -> Dataset:
    """What deleting the entry's last replica saves."""
    return replace(of, replicas=(), deleted=True, version=of.version + 1, updated_at=of.updated_at + 1)


def only(events: list[ChangeEvent]) -> ChangeEvent:
    assert len(events) == 1, events
    return events[0]


# -- datasets ---------------------------------------------------------------------------------
def test_a_new_entry_is_registered_with_its_summary() -> None:
    new = entry()
    event = only(dataset_events(None, new))
    assert event.name == "dataset.registered"
    assert event.time == new.updated_at == event.detail["time"]
    assert event.detail == {
        "schema_version": 1,
        "id": feed.event_id("dataset.registered", f"{UUID}@{BASE}", "1"),
        "time": new.updated_at,
        "uuid": UUID,
        "base_uri": BASE,
        "uri": f"{BASE}/{UUID}",
        "version": 1,
        "name": "soil-moisture",
        "kind": "dtool",
        "creator_username": "olssont",
        "description": "TDR probes",
        "tags": ["soil", "field"],
        "project": "p-1",
        "created_at": T0 - 100,
        "frozen_at": T0 - 50,
        "number_of_items": 1,
        "size_in_bytes": 10,
    }


def test_a_new_version_is_an_update_and_the_same_version_nothing() -> None:
    v1 = entry()
    v2 = entry(2, content=replace(v1.content, description="edited"))
    event = only(dataset_events(v1, v2))
    assert (event.name, event.detail["version"], event.detail["description"]) == ("dataset.updated", 2, "edited")
    assert dataset_events(v1, v1) == []
    assert dataset_events(v2, v1) == []  # an older version never updates


def test_a_tombstone_is_a_removal_naming_the_last_replica() -> None:
    v1 = entry()
    gone = tombstone(v1)
    event = only(dataset_events(v1, gone))
    assert event.name == "dataset.removed"
    assert event.detail == {
        "schema_version": 1,
        "id": feed.event_id("dataset.removed", f"{UUID}@{BASE}", "2"),
        "time": gone.updated_at,
        "uuid": UUID,
        "base_uri": BASE,
        "uri": f"{BASE}/{UUID}",
        "version": 2,
    }
    # the record's physical delete after its tombstone: nothing more
    assert dataset_events(gone, replace(gone, version=3)) == []
    # a tombstone brought back by a registration: registered again
    assert only(dataset_events(gone, entry(3))).name == "dataset.registered"


def test_uploads_only_registrars_see_make_no_event_until_registered() -> None:
    incomplete = entry(status=INCOMPLETE)
    assert dataset_events(None, incomplete) == []
    assert dataset_events(None, entry(status=REFUSED)) == []
    assert dataset_events(incomplete, replace(incomplete, version=2)) == []
    assert only(dataset_events(incomplete, entry(2))).name == "dataset.registered"
    assert only(dataset_events(entry(), entry(2, status=REFUSED))).name == "dataset.removed"
    assert dataset_events(None, None) == []


def test_ids_are_stable_across_redelivery_and_differ_between_changes() -> None:
    v1, v2 = entry(), entry(2)
    first = dataset_events(None, v1) + dataset_events(v1, v2) + dataset_events(v2, tombstone(v2))
    again = dataset_events(None, v1) + dataset_events(v1, v2) + dataset_events(v2, tombstone(v2))
    assert first == again
    ids = [e.detail["id"] for e in first]
    assert len(set(ids)) == 3
    other_base = replace(v1, base_uri="s3://bucket-b")
    assert only(dataset_events(None, other_base)).detail["id"] != ids[0]


def test_dataset_events_carry_nothing_hidden_from_searchers() -> None:
    v1 = entry()
    events = dataset_events(None, v1) + dataset_events(v1, entry(2)) + dataset_events(entry(2), tombstone(entry(2)))
    assert [e.name for e in events] == ["dataset.registered", "dataset.updated", "dataset.removed"]
    for event in events:
        text = json.dumps(event.detail)
        assert not [s for s in SECRETS if s in text], event.name
        assert not {"readme", "annotations", "manifest", "archival", "updated_by", "status"} & set(event.detail)


# -- archives ---------------------------------------------------------------------------------
def summary(status: str, updated_at: float, aip_uri: str | None = None) -> dict[str, Any]:
    return {
        "id": "ar-0",
        "dataset": UUID,
        "status": status,
        "requested_at": T0,
        "updated_at": updated_at,
        "aip_uri": aip_uri,
    }


def test_archives_reaching_a_final_state_make_one_event_each() -> None:
    aid = "ar-" + "a" * 24
    running = {aid: summary("running", T0 + 1)}
    done = {aid: summary("archived", T0 + 2, "s3://catalogue-archive/x/")}
    event = only(archive_events(UUID, BASE, running, done))
    assert event.name == "archive.completed"
    assert event.detail == {
        "schema_version": 1,
        "id": feed.event_id("archive.completed", aid, f"archived@{T0 + 2!r}"),
        "time": T0 + 2,
        "archive_id": aid,
        "uuid": UUID,
        "base_uri": BASE,
        "status": "archived",
        "aip_uri": "s3://catalogue-archive/x/",
    }
    assert archive_events(UUID, BASE, {}, running) == []
    assert archive_events(UUID, BASE, done, done) == []  # the same state again
    assert archive_events(UUID, BASE, done, done) == archive_events(UUID, BASE, done, done)


@pytest.mark.parametrize("status", ["failed", "rejected", "fixity_failed"])
def test_archive_failures_are_failed_events_with_their_status(status: str) -> None:
    aid = "ar-" + "b" * 24
    event = only(archive_events(UUID, BASE, {}, {aid: summary(status, T0)}))
    assert (event.name, event.detail["status"]) == ("archive.failed", status)
    assert "aip_uri" not in event.detail


def test_an_archive_failing_again_after_a_restart_is_a_new_event() -> None:
    aid = "ar-" + "c" * 24
    first = archive_events(UUID, BASE, {aid: summary("running", T0)}, {aid: summary("failed", T0 + 1)})
    second = archive_events(UUID, BASE, {aid: summary("running", T0 + 2)}, {aid: summary("failed", T0 + 3)})
    assert only(first).detail["id"] != only(second).detail["id"]


# -- projects and submissions -----------------------------------------------------------------
def record(kind: str, version: int = 1, **fields: Any) -> FacilityRecord:
    return FacilityRecord(
        kind=kind,
        id=42,
        uuid="0f0e0d0c-0b0a-4909-8807-060504030201",
        version=version,
        fields={"title": "Secret title", "_comment": "created", **fields},
        updated_at=T0 + version,
        updated_by="someone",
    )


@pytest.mark.parametrize("kind", ["order", "proposal"])
def test_projects_are_created_updated_and_deleted(kind: str) -> None:
    v1 = record(kind)
    v2 = record(kind, 2, title="Renamed", _comment="edited")
    stamp = record(kind, 3, title="Renamed", _comment="deleted")  # the deleter's stamp
    created, updated, deleted = (
        only(record_events(None, v1)),
        only(record_events(v1, v2)),
        only(record_events(stamp, None)),
    )
    assert [e.name for e in (created, updated, deleted)] == ["project.created", "project.updated", "project.deleted"]
    assert deleted.detail == {
        "schema_version": 1,
        "id": feed.event_id("project.deleted", f"{kind}:{v1.uuid}", "3"),
        "time": T0 + 3,
        "project": v1.uuid,
        "kind": kind,
        "version": 3,
    }
    assert record_events(v2, stamp) == []  # only the comment changed
    assert "Secret" not in json.dumps([created.detail, updated.detail])


def test_other_records_make_no_event() -> None:
    for kind in ("run", "dataset", "collection", "api_key", "ena_study"):
        assert record_events(None, record(kind)) == []
        assert record_events(record(kind), None) == []
    assert record_events(None, None) == []


def test_a_folder_reaching_published_is_a_submission_published_event() -> None:
    opened = record("submission_folder", state="open", owner="alice")
    publishing = record("submission_folder", 2, state="publishing", owner="alice", published_at=T0)
    published = record("submission_folder", 3, state="published", owner="alice", published_at=T0)
    assert record_events(None, opened) == []
    assert record_events(opened, publishing) == []
    event = only(record_events(publishing, published))
    assert event.name == "submission.published"
    assert event.detail == {
        "schema_version": 1,
        "id": feed.event_id("submission.published", opened.uuid, "3"),
        "time": T0 + 3,
        "folder": opened.uuid,
        "project": f"submission:{opened.uuid}",
        "base_uri": "file://submissions",
        "published_at": T0,
        "version": 3,
    }
    renamed = record("submission_folder", 4, state="published", owner="alice", published_at=T0)
    assert record_events(published, renamed) == []
    in_project = replace(published, fields={**published.fields, "project": "p-7"})
    assert only(record_events(publishing, in_project)).detail["project"] == "p-7"


def test_the_kinds_and_states_named_here_are_their_owners() -> None:
    from chalicelib.facility.schema import KINDS as FACILITY_KINDS
    from chalicelib.submissions import publishing, records
    from chalicelib.tracker.records import ORDER

    assert feed.ORDER_KIND == ORDER
    assert feed.PROPOSAL_KIND in FACILITY_KINDS
    assert (feed.FOLDER_KIND, feed.FOLDER_PUBLISHED) == (records.FOLDER, records.PUBLISHED)
    assert feed.SUBMISSIONS_BASE_URI == publishing.BASE_URI
    assert feed.ARCHIVE_FAILURES | {archive_model.ARCHIVED} == archive_model.FINAL


# -- the versioned JSON Schemas (schemas/events/<name>.v1.json) -------------------------------
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "events"


def every_kind_of_event() -> list[ChangeEvent]:
    """One event of every kind the feed makes, and more than one where a kind has variants."""
    v1, v2 = entry(), entry(2, content=replace(entry().content, project=None, tags=()))
    aid = "ar-" + "d" * 24
    running = {aid: summary("running", T0)}
    folder = record("submission_folder", 2, state="publishing", published_at=T0)
    events = [
        *dataset_events(None, v1),
        *dataset_events(v1, v2),
        *dataset_events(v2, tombstone(v2)),
        *dataset_events(v1, replace(v1, deleted=True, version=2, replicas=())),
        *archive_events(UUID, BASE, running, {aid: summary("archived", T0 + 1, "s3://a/b/")}),
        *archive_events(UUID, BASE, running, {aid: summary("archived", T0 + 1)}),
        *record_events(folder, replace(folder, version=3, fields={**folder.fields, "state": "published"})),
    ]
    for status in sorted(feed.ARCHIVE_FAILURES):
        events += archive_events(UUID, BASE, running, {aid: summary(status, T0 + 1)})
    for kind in sorted(feed.PROJECT_KINDS):
        events += record_events(None, record(kind))
        events += record_events(record(kind), record(kind, 2, title="new"))
        events += record_events(record(kind, 2), None)
    return events


def schema_of(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.v{feed.SCHEMA_VERSION}.json").read_text())
    return loaded


def test_every_event_validates_against_its_schema() -> None:
    events = every_kind_of_event()
    for event in events:
        schema = schema_of(event.name)
        Draft202012Validator.check_schema(schema)
        validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(event.detail)]
        assert not problems, f"{event.name}: {problems}"
        assert schema["properties"]["schema_version"]["const"] == event.detail["schema_version"]


def test_every_schema_is_of_an_event_the_feed_makes_and_every_event_has_one() -> None:
    files = {p.name for p in SCHEMAS.glob("*.json")}
    assert files == {f"{name}.v1.json" for name in feed.EVENT_NAMES}
    assert {e.name for e in every_kind_of_event()} == set(feed.EVENT_NAMES)
    for name in feed.EVENT_NAMES:
        schema = schema_of(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"].endswith(f"/schemas/events/{name}.v1.json")
        # nothing beyond what the schema names: a new field is a schema change, reviewed as one
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) == set(schema["properties"])


def test_the_dataset_schemas_kinds_are_the_catalogues() -> None:
    from chalicelib.domain import KINDS

    for name in ("dataset.registered", "dataset.updated"):
        assert schema_of(name)["properties"]["kind"]["enum"] == list(KINDS)
