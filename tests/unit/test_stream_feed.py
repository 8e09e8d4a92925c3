"""The stream consumer's side of the change feed: the events of a batch are published after
its audit and index, again with the same ids when the batch comes again, and a failure to
publish fails the batch only when the bus cannot be reached."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest
from pynamodb.attributes import MapAttribute

from chalicelib.adapters.dynamodb.facility import FacilityRecord, encode_fields
from chalicelib.adapters.dynamodb.items import archival_value, dataset_from_item, dataset_item, inline_parts
from chalicelib.adapters.dynamodb.repository import DynamoRepository
from chalicelib.adapters.dynamodb.tables import DatasetItem, FacilityItem
from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.events import Event
from chalicelib.catalogue.streams import StreamProcessor
from chalicelib.domain import Dataset, DatasetContent, JSONObject, Replica
from tests.fakes.events import InMemoryEventBus
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.unit.test_facility_audit import stream_record

T0 = 1_700_000_000.0
BASE = "s3://bucket-a"
SOURCE = "catalogue.test"


class ImageRepository(InMemoryRepository):
    """The in-memory repository, reading stream images as the DynamoDB one does."""

    def dataset_from_image(self, image: dict[str, Any]) -> Dataset:
        return dataset_from_item(DatasetItem.from_raw_data(dict(image)), None)


def dataset(uuid: str = "u-1", version: int = 1, **changes: Any) -> Dataset:
    content = DatasetContent(uuid=uuid, name=f"name-{uuid}", creator_username="alice", created_at=T0, frozen_at=T0)
    entry = Dataset(
        content=content,
        replicas=(Replica(f"{BASE}/{uuid}", BASE, T0, "alice"),),
        version=version,
        registered_at=T0,
        updated_at=T0 + version,
        updated_by="alice",
        base_uri=BASE,
    )
    return replace(entry, **changes)


def image(entry: Dataset, archives: dict[str, JSONObject] | None = None) -> dict[str, Any]:
    """The stream image of ``entry``, with ``archives`` (id → summary) projected on it."""
    item = dataset_item(entry, inline_parts(entry))
    if archives:
        item.archival = MapAttribute(**{aid: archival_value(1, s) for aid, s in archives.items()})
    serialized: dict[str, Any] = item.serialize()
    return serialized


def facility_image(record: FacilityRecord) -> dict[str, Any]:
    item = FacilityItem(
        record.kind,
        record.id,
        uuid=record.uuid,
        version=record.version,
        body=encode_fields(record.fields),
        updated_at=record.updated_at,
        updated_by=record.updated_by,
    )
    serialized: dict[str, Any] = item.serialize()
    return serialized


class World:
    def __init__(self, bus: InMemoryEventBus) -> None:
        self.repo = ImageRepository()
        self.bus = bus
        self.metrics: list[str] = []
        self.processor = StreamProcessor(
            cast("DynamoRepository", self.repo),
            InMemorySearchIndex(),
            stage="test",
            events=bus,
            event_source=SOURCE,
            metrics=self.metrics.append,
        )


@pytest.fixture
def world() -> World:
    return World(InMemoryEventBus())


def lifecycle() -> list[dict[str, Any]]:
    v1 = dataset()
    v2 = dataset(version=2, content=replace(v1.content, description="edited"))
    gone = dataset(version=3, replicas=(), deleted=True)
    return [
        stream_record("INSERT", None, image(v1)),
        stream_record("MODIFY", image(v1), image(v2)),
        stream_record("MODIFY", image(v2), image(gone)),
        stream_record("REMOVE", image(gone), None),  # the purge after the tombstone
    ]


def names(events: list[Event]) -> list[str]:
    return [e.detail_type for e in events]


def test_a_batch_publishes_its_events_in_order_and_again_with_the_same_ids(world: World) -> None:
    world.processor.process_datasets(lifecycle())
    first = list(world.bus.published)
    assert names(first) == ["dataset.registered", "dataset.updated", "dataset.removed"]
    assert {e.source for e in first} == {SOURCE}
    assert [e.time for e in first] == [T0 + 1, T0 + 2, T0 + 3]
    world.processor.process_datasets(lifecycle())  # redelivered
    assert [e.detail["id"] for e in world.bus.published[3:]] == [e.detail["id"] for e in first]


def test_a_record_deleted_without_a_tombstone_is_removed_at_the_records_time(world: World) -> None:
    record = stream_record("REMOVE", image(dataset(version=4)), None)
    record["dynamodb"]["ApproximateCreationDateTime"] = T0 + 99
    world.processor.process_datasets([record])
    [event] = world.bus.published
    assert (event.detail_type, event.detail["version"], event.time) == ("dataset.removed", 5, T0 + 99)


def test_an_archive_reaching_its_end_is_published_from_the_same_version(world: World) -> None:
    v1 = dataset()
    running = {"id": "ar-x", "dataset": "u-1", "status": "running", "updated_at": T0 + 5, "aip_uri": None}
    done = {**running, "status": "archived", "updated_at": T0 + 6, "aip_uri": "s3://archive/aip/"}
    world.processor.process_datasets(
        [
            stream_record("MODIFY", image(v1), image(v1, {"ar-x": running})),
            stream_record("MODIFY", image(v1, {"ar-x": running}), image(v1, {"ar-x": done})),
        ]
    )
    [event] = world.bus.published
    assert (event.detail_type, event.detail["archive_id"], event.detail["aip_uri"]) == (
        "archive.completed",
        "ar-x",
        "s3://archive/aip/",
    )


def test_a_bus_that_cannot_be_reached_fails_the_batch_after_audit_and_index(world: World) -> None:
    world.bus.unreachable = True
    with pytest.raises(TransientError):
        world.processor.process_datasets(lifecycle()[:1])
    audited, _ = world.repo.list_audit("dataset#u-1@s3://bucket-a", 10, None)
    assert audited  # written before publishing: the retry's writes are no-ops
    world.bus.unreachable = False
    world.processor.process_datasets(lifecycle()[:1])  # the retry
    assert names(world.bus.published) == ["dataset.registered"]


def test_events_refused_for_a_passing_reason_fail_the_batch() -> None:
    world = World(InMemoryEventBus(refuse=lambda e: "ThrottlingException"))
    with pytest.raises(Exception, match="not published"):
        world.processor.process_datasets(lifecycle()[:1])


def test_events_refused_for_good_are_counted_and_skipped() -> None:
    world = World(InMemoryEventBus(refuse=lambda e: "InvalidArgument" if e.detail_type == "dataset.updated" else None))
    assert world.processor.process_datasets(lifecycle()) == 1
    assert names(world.bus.published) == ["dataset.registered", "dataset.removed"]
    [metric] = world.metrics
    assert '"EventFailures": 1' in metric and "Catalogue/ChangeFeed" in metric


def test_a_missing_bus_is_counted_and_holds_nothing_back() -> None:
    world = World(InMemoryEventBus(exists=False))
    world.processor.process_datasets(lifecycle())
    [metric] = world.metrics
    assert '"EventFailures": 3' in metric


def test_an_event_too_large_for_the_bus_is_left_out_and_the_others_published(world: World) -> None:
    huge = dataset("u-2", content=replace(dataset().content, uuid="u-2", description="x" * 300_000))
    world.processor.process_datasets([stream_record("INSERT", None, image(huge)), *lifecycle()[:1]])
    assert [e.detail["uuid"] for e in world.bus.published] == ["u-1"]
    assert '"EventFailures": 1' in world.metrics[0]


def test_without_a_bus_nothing_is_published() -> None:
    processor = StreamProcessor(cast("DynamoRepository", ImageRepository()), InMemorySearchIndex())
    assert processor.process_datasets(lifecycle()) == 1
    with pytest.raises(ValueError, match="event source"):
        StreamProcessor(cast("DynamoRepository", ImageRepository()), InMemorySearchIndex(), events=InMemoryEventBus())


def test_the_facility_stream_publishes_project_events(world: World) -> None:
    order = FacilityRecord(kind="order", id=7, uuid="o-1", version=1, fields={}, updated_at=T0, updated_by="a")
    stamped = replace(order, version=2, updated_at=T0 + 1)
    world.processor.process_facility(
        [
            stream_record("INSERT", None, facility_image(order)),
            stream_record("MODIFY", facility_image(order), facility_image(stamped)),
            stream_record("REMOVE", facility_image(stamped), None),
        ]
    )
    assert names(world.bus.published) == ["project.created", "project.deleted"]
    assert [e.detail["project"] for e in world.bus.published] == ["o-1", "o-1"]
