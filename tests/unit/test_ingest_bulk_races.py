"""The bulk index against concurrent writers of the same datasets (issue 24).

The bulk index reads a chunk of datasets from S3, then their stored stamps in one batch,
then writes each change with its own conditional write. An upload's event (or anyone) may
write an entry in between; its reading of S3 may be newer than the bulk index's. These tests
put such a write at each point of that sequence and check that the older reading never
replaces it, that nothing is written twice, and that a redelivered event changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import pytest

from chalicelib.adapters.dynamodb.repository import DatasetStamp, EntryKey
from chalicelib.domain import Dataset
from chalicelib.ingest.events import ObjectEvent
from chalicelib.ingest.ingestion import index_prefix
from chalicelib.ingest.layouts import sidecar_uuid
from chalicelib.ingest.snapshot import SnapshotStore
from tests.unit.test_ingest import BUCKET, World, make_world

FOLDER = "runs/run-0"
SIDECAR = f"{FOLDER}/dataset.json"
URI = f"s3://{BUCKET}/{FOLDER}"
UUID = sidecar_uuid(URI)


def upload(world: World, name: str) -> None:
    world.store.put(BUCKET, f"{FOLDER}/data.csv", b"1,2\n")
    world.store.put(BUCKET, SIDECAR, json.dumps({"name": name, "tags": ["bulk"]}))


def event(world: World) -> None:
    """The upload's event, handled as the queue consumer does."""
    [outcome] = world.ingest.handle_message(
        json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                 "s3": {"bucket": {"name": BUCKET}, "object": {"key": SIDECAR}}}]})
    )  # fmt: skip
    assert outcome.status in ("created", "updated", "unchanged"), outcome


def bulk_chunk(world: World) -> list[str]:
    """One chunk of the bulk index over the folder, reading from a listing made now."""
    listed = list(world.store.list(BUCKET, ""))
    scoped = world.ingest.using(SnapshotStore(world.store, BUCKET, listed, "", None))
    outcomes = scoped.handle_many([ObjectEvent(bucket=BUCKET, key=SIDECAR, kind="created")], 5)
    return [o.status for o in outcomes]


def after_stamps(world: World, meanwhile: Callable[[], None]) -> None:
    """Run ``meanwhile`` once, right after the bulk index has read its stamps."""
    read = world.repo.get_dataset_stamps

    def racing(keys: Sequence[EntryKey]) -> dict[EntryKey, DatasetStamp]:
        stamps = read(keys)
        world.repo.get_dataset_stamps = read  # type: ignore[method-assign]
        meanwhile()
        return stamps

    world.repo.get_dataset_stamps = racing  # type: ignore[method-assign]


def entry(world: World) -> Dataset:
    found = world.repo.entry(UUID)
    assert found is not None
    return found


def test_an_entry_created_after_the_stamps_were_read_is_not_overwritten() -> None:
    """The bulk index found no entry and read the old sidecar; an upload of a newer one is
    registered by its event before the bulk index writes. The create's condition fails and
    the bulk index reads S3 again: the newer registration stays, written once."""
    world = make_world(f"s3://{BUCKET}")
    upload(world, "older")

    def newer_upload() -> None:
        upload(world, "newer")
        event(world)

    after_stamps(world, newer_upload)
    assert bulk_chunk(world) == ["unchanged"]
    stored = entry(world)
    assert stored.content.name == "newer"
    assert stored.version == 1
    assert [r.uri for r in stored.replicas] == [URI]
    [doc] = [d for d in world.search.docs.values() if d["uuid"] == UUID]
    assert doc["name"] == "newer" and doc["version"] == 1


def test_an_entry_changed_after_its_stamp_was_read_is_not_reverted() -> None:
    """The bulk index read sidecar v2 and the entry's stamp (still v1); an upload of v3 is
    registered by its event before the bulk index writes. The update, against the stamp's
    version, fails and the bulk index reads S3 again: v3 stays."""
    world = make_world(f"s3://{BUCKET}")
    upload(world, "one")
    event(world)
    upload(world, "two")

    def newer_upload() -> None:
        upload(world, "three")
        event(world)

    after_stamps(world, newer_upload)
    assert bulk_chunk(world) == ["unchanged"]
    stored = entry(world)
    assert stored.content.name == "three"
    assert stored.version == 2  # one: "one"; two: "three"; nothing else written


def test_a_deletion_after_the_stamps_were_read_is_not_undone_by_the_older_reading() -> None:
    world = make_world(f"s3://{BUCKET}")
    upload(world, "one")
    event(world)
    upload(world, "two")

    def removed() -> None:
        for key in (SIDECAR, f"{FOLDER}/data.csv"):
            world.store.delete(BUCKET, key)
        world.ingest.handle(ObjectEvent(bucket=BUCKET, key=SIDECAR, kind="removed"))

    after_stamps(world, removed)
    assert bulk_chunk(world) == ["ignored"]  # read again: nothing there any more
    assert entry(world).deleted


def test_an_unchanged_entry_is_not_written_whatever_happens_after_its_stamp() -> None:
    world = make_world(f"s3://{BUCKET}")
    upload(world, "one")
    event(world)
    writes = world.repo.dataset_writes
    assert bulk_chunk(world) == ["unchanged"]
    assert world.repo.dataset_writes == writes


@pytest.mark.parametrize("first", ["event", "bulk"])
def test_a_redelivered_event_gives_one_dataset(first: str) -> None:
    """Events delivered again and again, before or after the bulk index: one entry, one
    replica, one write."""
    world = make_world(f"s3://{BUCKET}")
    upload(world, "one")
    if first == "event":
        event(world)
        report = index_prefix(world.ingest, world.store, BUCKET, "", concurrency=2)
        assert report.outcomes == {"unchanged": 1}
    else:
        assert index_prefix(world.ingest, world.store, BUCKET, "", concurrency=2).outcomes == {"created": 1}
    writes = world.repo.dataset_writes
    for _ in range(3):
        event(world)
    assert world.repo.dataset_writes == writes
    stored = entry(world)
    assert stored.version == 1 and [r.uri for r in stored.replicas] == [URI]
    assert len(world.repo.get_entries(UUID, None)) == 1
