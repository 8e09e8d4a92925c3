"""The bulk index's shortcuts change nothing but the number of calls.

* :class:`~chalicelib.ingest.snapshot.SnapshotStore` answers ``head``/``list`` inside its key range exactly as the
  store would, and never answers outside it;
* :meth:`CatalogueService.register_many` has the effect of calling ``register`` for each;
* :func:`index_prefix` registers the same datasets whatever its listing window, with fewer
  reads than one event per dataset.
"""

from __future__ import annotations

import contextlib
import json
import random
from dataclasses import replace

import pytest

from chalicelib.catalogue.validation import parse_registration
from chalicelib.domain import Dataset, User
from chalicelib.errors import CatalogueError
from chalicelib.ingest import ingestion as ingest_service
from chalicelib.ingest.events import ObjectEvent, parse_notification
from chalicelib.ingest.ingestion import enqueue_index, index_prefix, parse_continuation
from chalicelib.ingest.snapshot import SnapshotStore, prefix_end
from tests.fakes.object_storage import InMemoryObjectStorage
from tests.fakes.queues import InMemoryQueue
from tests.unit.test_ingest import BUCKET, ROOT, DtoolDataset, World, make_world


def counted(store: InMemoryObjectStorage) -> dict[str, int]:
    """The calls that reached ``store`` since its ``calls`` were cleared (``get``: reads of bytes)."""
    calls = store.calls
    return {"head": calls["head"], "list": calls["list"], "get": calls["get_bytes"] + calls["iter_chunks"]}


# -- SnapshotStore ------------------------------------------------------------------------------


def test_prefix_end_is_the_least_key_after_the_prefix() -> None:
    assert prefix_end("runs/") == "runs0"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("") is None
    assert prefix_end("\U0010ffff") is None


def test_snapshot_answers_inside_its_range_without_the_store() -> None:
    real = InMemoryObjectStorage()
    for key in ("a/1", "a/2", "b/1", "b/2", "c/1"):
        real.put(BUCKET, key, key)
    listed = [o for o in real.list(BUCKET, "") if "a/" <= o.key < "b/2\0"]
    expected_head = real.head(BUCKET, "b/2")
    real.calls.clear()
    snap = SnapshotStore(real, BUCKET, listed, "a/", "b/2\0")
    assert [o.key for o in snap.list(BUCKET, "a/")] == ["a/1", "a/2"]
    assert snap.head(BUCKET, "b/2") == expected_head
    assert snap.head(BUCKET, "a/3") is None
    assert counted(real) == {"head": 0, "list": 0, "get": 0}
    # "b/" reaches past the range's end ("b/3" could exist): asked of the store
    assert [o.key for o in snap.list(BUCKET, "b/")] == ["b/1", "b/2"]
    assert snap.head(BUCKET, "c/1") is not None and snap.head(BUCKET, "0") is None
    assert snap.head("other", "a/1") is None
    assert counted(real) == {"head": 3, "list": 1, "get": 0}
    assert snap.get_text(BUCKET, "a/1", 100) == "a/1" and counted(real)["get"] == 1


def test_property_snapshots_agree_with_the_store() -> None:
    rng = random.Random(7)
    alphabet = ["a", "b", "/", "é", "\U0001f600", "z"]
    for _ in range(60):
        real = InMemoryObjectStorage()
        keys = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 5))) for _ in range(40)}
        for key in keys:
            real.put(BUCKET, key, key)
        prefix = rng.choice(["", "a", "b/", "z"])
        listing = list(real.list(BUCKET, prefix))
        windows = []
        size = rng.randint(1, 8)
        low = prefix
        for i in range(0, len(listing), size):
            chunk = listing[i : i + size]
            high = chunk[-1].key + "\0" if i + size < len(listing) else prefix_end(prefix)
            windows.append(SnapshotStore(real, BUCKET, chunk, low, high))
            low = high or low
        probes = {k[:n] for k in keys for n in range(len(k) + 1)} | {"zz", "a/b/"}
        for snap in windows:
            for probe in probes:
                assert list(snap.list(BUCKET, probe)) == list(real.list(BUCKET, probe)), probe
                after = rng.choice(sorted(probes))
                assert list(snap.list(BUCKET, probe, after)) == list(real.list(BUCKET, probe, after)), (probe, after)
                assert snap.head(BUCKET, probe) == real.head(BUCKET, probe), probe


# -- register_many --------------------------------------------------------------------------


def _reg(uuid_n: int, uri_n: int, base: str, **over: object) -> object:
    body = {
        "uuid": f"00000000-0000-4000-8000-{uuid_n:012d}",
        "base_uri": base,
        "uri": f"{base}/ds-{uri_n}",
        "name": f"ds-{uuid_n}",
        "creator_username": "ana",
        "created_at": 1.0,
        "frozen_at": 2.0,
        "readme": "",
        "manifest": {"hash_function": "md5sum_hexdigest", "items": {}},
        "annotations": {},
        "tags": [],
    }
    body.update(over)
    return parse_registration(body)


def _state(world: World) -> dict[str, object]:
    """Everything a registration can change, bookkeeping times aside."""
    out: dict[str, object] = {}
    for dataset in world.repo.iter_datasets():
        out[dataset.uuid] = (
            dataset.version,
            dataset.deleted,
            dataset.content,
            tuple((r.uri, r.base_uri) for r in dataset.replicas),
        )
    return out


def test_property_register_many_equals_register_one_by_one() -> None:
    rng = random.Random(11)
    bases = ["s3://lab", "s3://lab/sub", "s3://unregistered"]
    ana = User("ana", register_base_uris=frozenset({"s3://lab"}), search_base_uris=frozenset({"s3://lab"}))
    for _ in range(40):
        one, many = make_world("s3://lab", "s3://lab/sub"), make_world("s3://lab", "s3://lab/sub")
        history = [
            _reg(rng.randint(0, 5), rng.randint(0, 3), rng.choice(bases), name=rng.choice(["x", "y"]))
            for _ in range(rng.randint(0, 8))
        ]
        for world in (one, many):  # the same starting state
            for reg in history:
                with contextlib.suppress(CatalogueError):
                    world.catalogue.register(ROOT, reg)  # type: ignore[arg-type]
            for dataset in list(world.repo.iter_datasets())[:2]:  # tombstones among the stored
                for replica in dataset.replicas:
                    with contextlib.suppress(CatalogueError):
                        world.catalogue.delete_replica(ROOT, dataset.uuid, replica.uri)
        rng.seed(rng.random())
        batch = [
            _reg(
                rng.randint(0, 7),
                rng.randint(0, 3),
                rng.choice(bases),
                name=rng.choice(["x", "y"]),
                **({"description": "d"} if rng.random() < 0.3 else {}),
            )
            for _ in range(rng.randint(1, 12))
        ]
        user = rng.choice([ROOT, ana])
        expected: list[str] = []
        for reg in batch:
            try:
                expected.append(one.catalogue.register(user, reg).status)  # type: ignore[arg-type]
            except CatalogueError as exc:
                expected.append(type(exc).__name__)
        got = [
            r if isinstance(r, str) else type(r).__name__
            for r in many.catalogue.register_many(user, batch)  # type: ignore[arg-type]
        ]
        assert got == expected
        assert _state(many) == _state(one)


def test_register_many_reads_stamps_once_and_writes_only_changes() -> None:
    world = make_world("s3://lab")
    regs = [_reg(i, i, "s3://lab") for i in range(120)]
    writes = world.repo.dataset_writes
    assert world.catalogue.register_many(ROOT, regs) == ["created"] * 120
    assert world.repo.dataset_writes == writes + 120
    changed = [replace(r, content=replace(r.content, name="renamed")) if i % 10 == 0 else r for i, r in enumerate(regs)]  # type: ignore[type-var]
    results = world.catalogue.register_many(ROOT, changed)
    assert results.count("updated") == 12 and results.count("unchanged") == 108
    assert world.repo.dataset_writes == writes + 132


# -- index_prefix -----------------------------------------------------------------------------


def _fill(world: World, n: int) -> set[str]:
    uris = set()
    for i in range(n):
        folder = f"runs/run-{i:03d}"
        world.store.put(BUCKET, f"{folder}/data.csv", b"1,2\n" * (i + 1))
        world.store.put(BUCKET, f"{folder}/dataset.json", json.dumps({"name": f"run-{i}", "tags": ["bulk"]}))
        uris.add(f"s3://{BUCKET}/{folder}")
    for i in range(3):
        ds = DtoolDataset(prefix="dtool/", name=f"dtool-{i}")
        ds.put(world.store)
        uris.add(ds.key("").rstrip("/").replace("dtool/", f"s3://{BUCKET}/", 1))
    world.store.put(BUCKET, "runs/broken/dataset.json", "{not json")
    world.store.put(BUCKET, "stray/readme.txt", "no dataset")
    return uris


@pytest.mark.parametrize("window", [1, 7, 10_000])
def test_index_prefix_registers_the_same_whatever_the_window(monkeypatch: pytest.MonkeyPatch, window: int) -> None:
    monkeypatch.setattr(ingest_service, "INDEX_WINDOW_OBJECTS", window)
    monkeypatch.setattr(ingest_service, "INDEX_CHUNK", 4)
    world = make_world(f"s3://{BUCKET}")
    uris = _fill(world, 30)
    report = index_prefix(world.ingest, world.store, BUCKET, "", concurrency=3)
    assert report.outcomes == {"created": 33, "refused": 1}
    assert [p.uri for p in report.problems] == [f"s3://{BUCKET}/runs/broken/dataset.json"]
    registered = {r.uri for d in world.repo.iter_datasets() if d.status == "registered" for r in d.replicas}
    assert registered == uris
    refused = [d for d in world.repo.iter_datasets() if d.status == "refused"]  # recorded for its registrars
    assert [r.uri for d in refused for r in d.replicas] == [f"s3://{BUCKET}/runs/broken"]
    again = index_prefix(world.ingest, world.store, BUCKET, "runs/", concurrency=3)
    assert again.outcomes == {"unchanged": 30, "refused": 1}


def test_the_bulk_index_gives_entries_registered_before_kinds_their_kind() -> None:
    """What the README promises for an upgrade: reconciliation (the bulk index) re-reads the
    layouts and updates entries stored without a kind; the search documents follow."""
    world = make_world(f"s3://{BUCKET}")
    _fill(world, 3)
    assert index_prefix(world.ingest, world.store, BUCKET, "", concurrency=2).outcomes == {"created": 6, "refused": 1}
    for entry in list(world.repo.iter_datasets()):  # as stored before kinds were kept
        if entry.status == "registered":
            legacy = replace(entry, content=replace(entry.content, kind=None), version=entry.version + 1)
            world.repo.save_dataset(legacy, entry.version)
    assert {d["type"] for d in world.search.docs.values()} == {"record"}
    again = index_prefix(world.ingest, world.store, BUCKET, "", concurrency=2)
    assert again.outcomes == {"updated": 6, "refused": 1}
    kinds = sorted(d.content.kind or "" for d in world.repo.iter_datasets() if d.status == "registered")
    assert kinds == ["dtool"] * 3 + ["folder"] * 3
    assert sorted(d["type"] for d in world.search.docs.values() if not d["deleted"]) == kinds
    assert index_prefix(world.ingest, world.store, BUCKET, "", concurrency=2).outcomes == {"unchanged": 6, "refused": 1}


def test_a_stale_reading_never_brings_back_a_deleted_dataset() -> None:
    """The bulk index reads S3 first and registers later: a dataset removed from S3 in
    between (its entry tombstoned by the removal event) must stay deleted; a tombstoned
    entry whose objects are still there is registered again, after S3 was read again."""
    world = make_world(f"s3://{BUCKET}")
    _fill(world, 3)
    index_prefix(world.ingest, world.store, BUCKET, "runs/", concurrency=1)
    kept = _by_name(world)["run-1"]
    world.catalogue.delete_replica(ROOT, kept.uuid, f"s3://{BUCKET}/runs/run-001")  # its objects stay
    listed = list(world.store.list(BUCKET, ""))
    bulk = world.ingest.using(SnapshotStore(world.store, BUCKET, listed, "", None))
    resolve = bulk._resolve

    def racing(event: ObjectEvent, receive_count: int) -> object:
        found = resolve(event, receive_count)
        if event.key == "runs/run-000/dataset.json":  # read; now the dataset leaves S3
            for key in ("runs/run-000/data.csv", "runs/run-000/dataset.json"):
                world.store.delete(BUCKET, key)
            world.ingest.handle(ObjectEvent(bucket=BUCKET, key="runs/run-000/dataset.json", kind="removed"))
            assert _by_name(world)["run-0"].deleted
        return found

    bulk._resolve = racing  # type: ignore[method-assign]
    events = [ObjectEvent(bucket=BUCKET, key=f"runs/run-{i:03d}/dataset.json", kind="created") for i in range(3)]
    outcomes = bulk.handle_many(events, 5)
    assert [o.status for o in outcomes][1:] == ["created", "unchanged"]
    assert outcomes[0].status != "created"
    assert _by_name(world)["run-0"].deleted
    assert not _by_name(world)["run-1"].deleted


def _by_name(world: World) -> dict[str, Dataset]:
    return {d.content.name: d for d in world.repo.iter_datasets()}


def test_index_prefix_reads_less_than_one_event_per_dataset() -> None:
    by_events, bulk = make_world(f"s3://{BUCKET}"), make_world(f"s3://{BUCKET}")
    expected = {id(world): _fill(world, 40) for world in (by_events, bulk)}
    triggers = [o.key for o in by_events.store.list(BUCKET, "") if o.key.endswith(("dataset.json", "/dtool"))]
    by_events.store.calls.clear()
    for key in triggers:
        by_events.ingest.handle(ObjectEvent(bucket=BUCKET, key=key, kind="created"), 5)
    bulk.store.calls.clear()
    index_prefix(bulk.ingest, bulk.store, BUCKET, "", concurrency=2)
    counting_events, counting_bulk = counted(by_events.store), counted(bulk.store)
    for world in (by_events, bulk):
        registered = world.repo.iter_datasets()
        assert {r.uri for d in registered if d.status == "registered" for r in d.replicas} == expected[id(world)]
    # one listing in all; no HEAD; one GET per sidecar and per dtool metadata file
    assert counting_bulk["list"] == 1 and counting_bulk["head"] == 0
    assert counting_events["list"] >= 40
    assert counting_bulk["get"] == counting_events["get"]


# -- the asynchronous bulk index, step by step ---------------------------------------------------


@pytest.mark.parametrize("limit", [1, 7, 33, 34, 1000])
def test_async_index_continues_until_every_dataset_is_queued_once(limit: int) -> None:
    world = make_world(f"s3://{BUCKET}")
    _fill(world, 30)
    queue = InMemoryQueue()
    base = f"s3://{BUCKET}/runs"
    steps, after, keys = 0, "", []
    while after is not None:
        steps += 1
        assert steps <= 100
        start = len(queue.sent)
        queued, after = enqueue_index(queue, world.store, base, after, limit=limit)
        sent = queue.sent[start:]
        events = [e for body in sent if parse_continuation(body) is None for e in parse_notification(body)]
        assert len(events) == queued <= limit
        keys += [e.key for e in events]
        if after is not None:
            assert parse_continuation(sent[-1]) == (base, after)
    # 30 sidecars and one broken one under runs/; the dtool datasets lie outside the base URI
    assert sorted(keys) == sorted({f"runs/run-{i:03d}/dataset.json" for i in range(30)} | {"runs/broken/dataset.json"})
    assert steps == -(-31 // limit) if limit < 31 else steps == 1


def test_other_messages_are_not_continuations() -> None:
    for body in ("", "[]", '{"Records": []}', '{"CatalogueIndexContinuation": {"base_uri": 1, "after": ""}}'):
        assert parse_continuation(body) is None
