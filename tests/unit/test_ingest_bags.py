"""BagIt uploads through the ingest service (in-memory S3, repository and index)."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path

import bagit
import pytest

from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.catalogue.validation import parse_search
from chalicelib.domain import User
from chalicelib.identity.access import AccessService
from chalicelib.ingest.bags.registration import bag_uuid
from chalicelib.ingest.events import ObjectEvent
from chalicelib.ingest.ingestion import IngestFailed, IngestService
from tests.fakes.object_storage import InMemoryObjectStorage
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex

BUCKET = "bags"
ROOT = User(username="root", is_admin=True)


World = tuple[InMemoryObjectStorage, IngestService, CatalogueService]


@pytest.fixture
def world() -> World:
    store, repo = InMemoryObjectStorage(), InMemoryRepository()
    catalogue = CatalogueService(repo, InMemorySearchIndex())
    AccessService(repo).add_base_uri(ROOT, f"s3://{BUCKET}", "")
    return store, IngestService(store, catalogue, repo), catalogue


def make_bag(tmp: Path, files: dict[str, bytes], **info: str) -> Path:
    tmp.mkdir(parents=True)
    for name, data in files.items():
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / name).write_bytes(data)
    bagit.make_bag(str(tmp), {"Source-Organization": "Lab", **info}, checksums=["sha256"])
    return tmp


def zipped(bag: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path in sorted(bag.rglob("*")):
            if path.is_file():
                z.write(path, f"{bag.name}/{path.relative_to(bag)}")
    return out.getvalue()


def created(key: str) -> ObjectEvent:
    return ObjectEvent(bucket=BUCKET, key=key, kind="created")


def test_zipped_bag_registers_with_bag_info(world: World, tmp_path: Path) -> None:
    store, ingest, catalogue = world
    bag = make_bag(
        tmp_path / "run-7",
        {"scan.tif": b"x" * 100, "sub dir/notes ü.txt": b"hi"},
        **{"External-Description": "Beamtime 7 scans", "Contact-Name": "Ana", "Bagging-Date": "2024-06-13"},
    )
    store.put(BUCKET, "deposits/run-7.zip", zipped(bag))
    outcome = ingest.handle(created("deposits/run-7.zip"))
    assert outcome.status == "created", outcome
    record = catalogue.get_dataset(ROOT, outcome.uuid)
    assert record["name"] == "Beamtime 7 scans" and record["creator_username"] == "Ana"
    assert record["tags"] == ["bagit"] and record["number_of_items"] == 2
    assert record["kind"] == "bag"
    manifest = catalogue.get_manifest(ROOT, outcome.uuid)
    assert sorted(i["relpath"] for i in manifest["items"].values()) == ["data/scan.tif", "data/sub dir/notes ü.txt"]
    assert manifest["hash_function"] == "sha256"
    assert ingest.handle(created("deposits/run-7.zip")).status == "unchanged"
    store.delete(BUCKET, "deposits/run-7.zip")
    assert ingest.handle(ObjectEvent(BUCKET, "deposits/run-7.zip", "removed")).status == "removed"


def test_hostile_zipped_bag_is_rejected_with_reasons_and_not_retried(world: World, tmp_path: Path) -> None:
    store, ingest, catalogue = world
    bag = make_bag(tmp_path / "evil", {"a.txt": b"a"})
    (bag / "data" / "a.txt").write_bytes(b"b")  # tampered after bagging, same size
    store.put(BUCKET, "evil.zip", zipped(bag))
    outcome = ingest.handle(created("evil.zip"))
    assert outcome.status == "rejected" and "a.txt" in outcome.reason
    record = catalogue.get_dataset(ROOT, bag_uuid(f"s3://{BUCKET}/evil.zip"))
    assert record["status"] == "refused" and record["status_reasons"]
    reader = User("reader", search_base_uris=frozenset({f"s3://{BUCKET}"}))
    with pytest.raises(Exception, match="no dataset"):
        catalogue.get_dataset(reader, outcome.uuid)  # only registrars see refused uploads
    assert catalogue.search(reader, parse_search({}, 512)).total == 0


def test_folder_bag_waits_while_incomplete_then_registers(world: World, tmp_path: Path) -> None:
    store, ingest, catalogue = world
    bag = make_bag(tmp_path / "fb", {"one.csv": b"1,2", "two.csv": b"3,4"})
    files = {str(p.relative_to(bag)): p.read_bytes() for p in bag.rglob("*") if p.is_file()}
    for name, data in files.items():
        if name != "data/two.csv":
            store.put(BUCKET, f"up/fb/{name}", data)
    with pytest.raises(IngestFailed, match="waiting"):
        ingest.handle_message(_body("up/fb/bagit.txt"), receive_count=1)
    outcome = ingest.handle(created("up/fb/bagit.txt"), receive_count=4)
    assert outcome.status == "incomplete" and "data/two.csv" in outcome.reason
    store.put(BUCKET, "up/fb/data/two.csv", files["data/two.csv"])
    outcome = ingest.handle(created("up/fb/data/two.csv"))
    assert outcome.status == "updated"
    record = catalogue.get_dataset(ROOT, outcome.uuid)
    assert record["status"] == "registered" and record["number_of_items"] == 2


def test_folder_bag_with_a_corrupted_file_is_rejected(world: World, tmp_path: Path) -> None:
    store, ingest, _ = world
    bag = make_bag(tmp_path / "fb", {"one.csv": b"1,2"})
    for p in bag.rglob("*"):
        if p.is_file():
            data = b"9,9" if p.name == "one.csv" else p.read_bytes()
            store.put(BUCKET, f"fb/{p.relative_to(bag)}", data)
    outcome = ingest.handle(created("fb/data/one.csv"))
    assert outcome.status == "rejected"


def _body(key: str) -> str:
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key}},
    }
    return json.dumps({"Records": [record]})


def test_outcomes_are_published_as_embedded_metrics(tmp_path: Path) -> None:
    store, repo = InMemoryObjectStorage(), InMemoryRepository()
    catalogue = CatalogueService(repo, InMemorySearchIndex())
    AccessService(repo).add_base_uri(ROOT, f"s3://{BUCKET}", "")
    lines: list[str] = []
    ingest = IngestService(store, catalogue, repo, metrics=lines.append)
    store.put(BUCKET, "notes/readme.txt", b"just a file")
    ingest.handle_message(_body("notes/readme.txt"))
    [line] = lines
    metric = json.loads(line)
    assert metric["Outcome"] == "ignored" and metric["Events"] == 1
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Catalogue/Ingest"


class ChunkCounter(InMemoryObjectStorage):
    """Counts the payload bytes streamed for fixity."""

    def __init__(self) -> None:
        super().__init__()
        self.streamed: list[str] = []

    def iter_chunks(self, bucket: str, key: str):  # type: ignore[no-untyped-def]
        self.streamed.append(key)
        return super().iter_chunks(bucket, key)


@pytest.mark.parametrize("order", ["tag files first", "payload first", "shuffled"])
def test_folder_bag_uploaded_file_by_file_registers_once_and_hashes_once(tmp_path: Path, order: str) -> None:
    store, repo = ChunkCounter(), InMemoryRepository()
    catalogue = CatalogueService(repo, InMemorySearchIndex())
    AccessService(repo).add_base_uri(ROOT, f"s3://{BUCKET}", "")
    ingest = IngestService(store, catalogue, repo)
    bag = make_bag(tmp_path / "fb", {f"f{i}.csv": str(i).encode() for i in range(6)})
    files = sorted(str(p.relative_to(bag)) for p in bag.rglob("*") if p.is_file())
    if order == "payload first":
        files.sort(key=lambda f: not f.startswith("data/"))
    elif order == "tag files first":
        files.sort(key=lambda f: f.startswith("data/"))
    elif order == "shuffled":
        random.Random(5).shuffle(files)
    statuses = []
    for name in files:
        store.put(BUCKET, f"up/fb/{name}", (bag / name).read_bytes())
        try:
            [outcome] = ingest.handle_message(_body(f"up/fb/{name}"))
            statuses.append(outcome.status)
        except IngestFailed:
            assert "/" not in name, f"a payload event was retried: {name}"
            statuses.append("retried")
    # registered by the first event that sees the whole bag; later tag files change nothing
    assert statuses.count("created") == 1, statuses
    assert set(statuses[statuses.index("created") + 1 :]) <= {"unchanged"}, statuses
    assert len(store.streamed) == 6  # every payload file hashed once
    for name in files:  # every event again (redelivery): nothing changes, nothing is re-hashed
        [outcome] = ingest.handle_message(_body(f"up/fb/{name}"))
        assert outcome.status == "unchanged"
    assert len(store.streamed) == 6
    store.put(BUCKET, "up/fb/data/f0.csv", b"0", mtime=1.8e9)  # re-uploaded: newer, so checked again
    [outcome] = ingest.handle_message(_body("up/fb/data/f0.csv"))
    # the same bytes: hashed again, and the dataset is unchanged (its times are kept)
    assert outcome.status == "unchanged" and len(store.streamed) == 12


def test_a_bag_under_a_nested_base_uri_belongs_to_it(tmp_path: Path) -> None:
    """Issue 15, finding 3: every layout takes the longest registered base URI."""
    store, repo = InMemoryObjectStorage(), InMemoryRepository()
    catalogue = CatalogueService(repo, InMemorySearchIndex())
    nested = f"s3://{BUCKET}/restricted"
    for base_uri in (f"s3://{BUCKET}", nested):
        AccessService(repo).add_base_uri(ROOT, base_uri, "")
    ingest = IngestService(store, catalogue, repo)
    store.put(BUCKET, "restricted/run-7.zip", zipped(make_bag(tmp_path / "run-7", {"scan.tif": b"x"})))
    outcome = ingest.handle(created("restricted/run-7.zip"))
    assert outcome.status == "created", outcome
    assert catalogue.get_dataset(ROOT, outcome.uuid)["base_uri"] == nested
    reader = User("reader", search_base_uris=frozenset({f"s3://{BUCKET}"}))
    with pytest.raises(Exception, match="no dataset"):
        catalogue.get_dataset(reader, outcome.uuid)


def test_a_bag_naming_another_base_uris_uuid_becomes_an_entry_of_its_own(tmp_path: Path) -> None:
    """Issue 15, finding 1: a bag's External-Identifier is chosen by whoever uploads it, so
    it reaches only the entry of that uuid under the bag's own base URI."""
    store, repo = InMemoryObjectStorage(), InMemoryRepository()
    catalogue = CatalogueService(repo, InMemorySearchIndex())
    other = "s3://other-lab"
    for base_uri in (f"s3://{BUCKET}", other):
        AccessService(repo).add_base_uri(ROOT, base_uri, "")
    ingest = IngestService(store, catalogue, repo)
    store.put(BUCKET, "run-7.zip", zipped(make_bag(tmp_path / "run-7", {"scan.tif": b"x"})))
    victim = ingest.handle(created("run-7.zip"))
    assert victim.status == "created"
    before = repo.get_dataset(victim.uuid, f"s3://{BUCKET}")
    hostile = make_bag(tmp_path / "evil", {"evil.txt": b"y"}, **{"External-Identifier": victim.uuid})
    store.put("other-lab", "evil.zip", zipped(hostile))
    outcome = ingest.handle(ObjectEvent(bucket="other-lab", key="evil.zip", kind="created"))
    assert (outcome.status, outcome.uuid) == ("created", victim.uuid)  # as for any new uuid
    assert repo.get_dataset(victim.uuid, f"s3://{BUCKET}") == before  # untouched
    theirs = repo.get_dataset(victim.uuid, other)
    assert theirs is not None and theirs.updated_by == "s3-ingest"
    assert [i.relpath for i in theirs.content.manifest.items.values()] == ["data/evil.txt"]
    # a reader of the victim's bucket sees the victim's files only, and no trace of the other
    reader = User("reader", search_base_uris=frozenset({f"s3://{BUCKET}"}))
    view = catalogue.get_dataset(reader, victim.uuid)
    assert [r["base_uri"] for r in view["replicas"]] == [f"s3://{BUCKET}"]
    assert [i["relpath"] for i in catalogue.get_manifest(reader, victim.uuid)["items"].values()] == ["data/scan.tif"]
