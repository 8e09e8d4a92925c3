"""Auto-registration from S3 events, without network: notifications parsed exactly as AWS
and moto deliver them, and the dtool-s3 and sidecar-folder layouts read from a fake bucket
into the real catalogue service (in-memory records and search index).

The fake repository derives audit entries and search documents on every dataset write,
as the DynamoDB stream consumer does on the real stack, so the tests can also check that
a repeated event writes nothing and that a registered dataset is searchable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import string
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import pytest

from chalicelib.catalogue.audit import dataset_changes, dataset_subject
from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.catalogue.index_documents import index_doc
from chalicelib.catalogue.search import SearchQuery
from chalicelib.catalogue.summary_counts import entry_state
from chalicelib.catalogue.summary_store import SummaryCounts
from chalicelib.catalogue.validation import DatasetPatch
from chalicelib.domain import INGEST_ACTOR, Dataset, User
from chalicelib.errors import NotFound, ValidationError
from chalicelib.identity.access import AccessService
from chalicelib.ingest.events import ObjectEvent, parse_notification
from chalicelib.ingest.ingestion import IngestFailed, IngestService, Outcome
from tests.fakes.object_storage import InMemoryObjectStorage
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.fakes.summary import InMemorySummaryStore

ROOT = User(username="root", is_admin=True)
BUCKET = "lab-data"
DTOOLCORE = "3.18.3"

# -- the AWS notification shape ------------------------------------------------------------
# As documented in "Event message structure" (Amazon S3 user guide), event version 2.1.


def s3_record(
    key: str,
    *,
    bucket: str = BUCKET,
    event_name: str = "ObjectCreated:Put",
    size: int | None = 1024,
    etag: str | None = "d41d8cd98f00b204e9800998ecf8427e",
    sequencer: str | None = "0055AED6DCD90281E5",
    version_id: str | None = "096fKKXTRTtl3on89fVO.nfljtsv6qko",
    encode: Callable[[str], str] = quote_plus,
) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": encode(key)}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    if sequencer is not None:
        obj["sequencer"] = sequencer
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "eu-west-1",
        "eventTime": "2026-11-23T12:00:00.000Z",
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "catalogue-ingest",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def removed_record(key: str, *, bucket: str = BUCKET, **kw: Any) -> dict[str, Any]:
    # removal records carry no size and no eTag
    return s3_record(key, bucket=bucket, event_name="ObjectRemoved:Delete", size=None, etag=None, **kw)


def verbatim(key: str) -> str:
    return key


def notification(*records: object) -> str:
    return json.dumps({"Records": list(records)})


TEST_EVENT = json.dumps(
    {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-23T12:00:00.000Z",
        "Bucket": BUCKET,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
)


# -- the catalogue behind the ingest service ----------------------------------------------------


class StreamedRepository(InMemoryRepository):
    """The in-memory repository plus what the datasets stream consumer derives from each write."""

    def __init__(self, search: InMemorySearchIndex) -> None:
        super().__init__()
        self.search = search
        self.counts = SummaryCounts(InMemorySummaryStore())
        self.dataset_writes = 0

    def save_dataset(self, dataset: Dataset, expected_version: int | None) -> None:
        old = self.get_dataset(dataset.uuid, dataset.base_uri)
        super().save_dataset(dataset, expected_version)
        self.dataset_writes += 1
        self.append_audit(dataset_changes(old, dataset))
        self.search.upsert([index_doc(dataset)])
        self.counts.apply([entry_state(dataset)])

    def entry(self, uuid: str) -> Dataset | None:
        """The one entry of ``uuid`` (these tests register each uuid under one base URI)."""
        entries = self.get_entries(uuid, None)
        assert len(entries) <= 1, entries
        return entries[0] if entries else None

    def actions(self, uuid: str) -> list[tuple[str, str]]:
        audit = []
        for entry in self.get_entries(uuid, None):
            audit += self.list_audit(dataset_subject(uuid, entry.base_uri), 1000, None)[0]
        return [(e.entity_type, e.action) for e in sorted(audit, key=lambda e: e.timestamp)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    store: InMemoryObjectStorage
    repo: StreamedRepository
    search: InMemorySearchIndex
    catalogue: CatalogueService
    ingest: IngestService
    clock: Clock
    access: AccessService

    def deliver(self, *records: dict[str, Any]) -> list[Outcome]:
        """Run one SQS message body through the handler, as the queue consumer does."""
        return self.ingest.handle_message(notification(*records))

    def created(self, key: str, bucket: str = BUCKET) -> Outcome:
        [outcome] = self.deliver(s3_record(key, bucket=bucket))
        return outcome

    def removed(self, key: str, bucket: str = BUCKET) -> Outcome:
        [outcome] = self.deliver(removed_record(key, bucket=bucket))
        return outcome

    def refused(self, key: str, bucket: str = BUCKET) -> Outcome:
        """A refused event fails its message (so it is retried, then dead-lettered)."""
        with pytest.raises(IngestFailed):
            self.deliver(s3_record(key, bucket=bucket))
        outcome = self.ingest.handle(ObjectEvent(bucket=bucket, key=key, kind="created"))
        assert outcome.status == "refused", outcome
        return outcome

    def dataset(self, uuid: str) -> dict[str, Any]:
        return self.catalogue.get_dataset(ROOT, uuid)

    def manifest(self, uuid: str) -> dict[str, Any]:
        return self.catalogue.get_manifest(ROOT, uuid)

    def relpaths(self, uuid: str) -> list[str]:
        return sorted(i["relpath"] for i in self.manifest(uuid)["items"].values())

    def gone(self, uuid: str) -> bool:
        try:
            self.catalogue.get_dataset(ROOT, uuid)
        except NotFound:
            return True
        return False

    def found(self, text: str) -> list[str]:
        return [h["uuid"] for h in self.catalogue.search(ROOT, SearchQuery(text=text, size=100)).items]


def make_world(*base_uris: str) -> World:
    store = InMemoryObjectStorage()
    search = InMemorySearchIndex()
    repo = StreamedRepository(search)
    catalogue = CatalogueService(repo, search, sleep=lambda _: None)
    access = AccessService(repo)
    for base_uri in base_uris:
        access.add_base_uri(ROOT, base_uri, "")
    clock = Clock()
    ingest = IngestService(store, catalogue, repo, clock=clock)
    return World(store, repo, search, catalogue, ingest, clock, access)


@pytest.fixture
def world() -> World:
    return make_world(f"s3://{BUCKET}")


# ===========================================================================================
# events
# ===========================================================================================


def test_aws_documented_put_notification_parses() -> None:
    [event] = parse_notification(notification(s3_record("HappyFace.jpg")))
    assert event == ObjectEvent(
        bucket=BUCKET,
        key="HappyFace.jpg",
        kind="created",
        sequencer="0055AED6DCD90281E5",
        version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
        etag="d41d8cd98f00b204e9800998ecf8427e",
        size=1024,
        event_time="2026-11-23T12:00:00.000Z",
    )


@pytest.mark.parametrize(
    ("event_name", "kind"),
    [
        ("ObjectCreated:Put", "created"),
        ("ObjectCreated:Post", "created"),
        ("ObjectCreated:Copy", "created"),
        ("ObjectCreated:CompleteMultipartUpload", "created"),
        ("ObjectRemoved:Delete", "removed"),
        ("ObjectRemoved:DeleteMarkerCreated", "removed"),
    ],
)
def test_event_names_map_to_created_or_removed(event_name: str, kind: str) -> None:
    [event] = parse_notification(notification(s3_record("a.txt", event_name=event_name)))
    assert event.kind == kind


def test_removal_record_has_no_size_or_etag() -> None:
    [event] = parse_notification(notification(removed_record("a/b.txt")))
    assert (event.kind, event.key, event.size, event.etag) == ("removed", "a/b.txt", 0, "")
    assert event.version_id == "096fKKXTRTtl3on89fVO.nfljtsv6qko"


def test_test_event_gives_no_events() -> None:
    assert parse_notification(TEST_EVENT) == []


def test_non_s3_records_and_other_event_names_are_skipped() -> None:
    body = notification(
        {"eventSource": "aws:sqs", "eventName": "ObjectCreated:Put", "s3": s3_record("x")["s3"]},
        s3_record("restored.txt", event_name="ObjectRestore:Completed"),
        s3_record("tagged.txt", event_name="ObjectTagging:Put"),
        "not a record",
        s3_record("kept.txt"),
        removed_record("gone.txt"),
    )
    assert [(e.key, e.kind) for e in parse_notification(body)] == [("kept.txt", "created"), ("gone.txt", "removed")]


def test_records_without_bucket_or_key_are_skipped() -> None:
    no_key = s3_record("x")
    del no_key["s3"]["object"]["key"]
    no_bucket = s3_record("y")
    del no_bucket["s3"]["bucket"]["name"]
    assert parse_notification(notification(no_key, no_bucket)) == []


@pytest.mark.parametrize("body", ["", "not json", "{'Records': []}", '{"Records": [', "\x00"])
def test_non_json_body_is_a_validation_error(body: str) -> None:
    with pytest.raises(ValidationError):
        parse_notification(body)


@pytest.mark.parametrize("body", ["[]", '"Records"', "42", '{"Records": {"a": 1}}'])
def test_json_that_is_not_a_notification_is_a_validation_error(body: str) -> None:
    with pytest.raises(ValidationError):
        parse_notification(body)


@pytest.mark.parametrize(
    ("wire", "key"),
    [
        ("red+flower.jpg", "red flower.jpg"),
        ("photos%2F2026%2Fred+flower.jpg", "photos/2026/red flower.jpg"),  # moto encodes "/"
        ("photos/2026/red+flower.jpg", "photos/2026/red flower.jpg"),  # AWS leaves it
        ("%C3%BCber%2Fda%C3%9Fein.txt", "über/daßein.txt"),
        ("50%25+moisture.csv", "50% moisture.csv"),
        ("a%2Bb.txt", "a+b.txt"),
        ("a%2B+b%25%2B%25.txt", "a+ b%+%.txt"),
        ("field+data%2Fplot+%C3%BC+7%2F50%25+moisture.csv", "field data/plot ü 7/50% moisture.csv"),
        ("%F0%9F%A7%AA%E6%BC%A2%E5%AD%97", "🧪漢字"),
    ],
)
def test_keys_decode_exactly(wire: str, key: str) -> None:
    [event] = parse_notification(notification(s3_record(wire, encode=verbatim)))
    assert event.key == key


KEY_ALPHABET = string.printable + "üßéñøåÆ€漢字🧪😀ął" + "%+/ " * 8


def random_keys(seed: int, n: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(n):
        yield "".join(rng.choice(KEY_ALPHABET) for _ in range(rng.randint(1, 60)))


def test_property_every_key_survives_encoding_and_parsing() -> None:
    for key in random_keys(20261123, 400):
        for encoded in (quote_plus(key), quote_plus(key, safe="/")):  # moto, AWS
            [event] = parse_notification(notification(s3_record(encoded, encode=verbatim)))
            assert event.key == key, (key, encoded)


def test_property_a_whole_message_of_random_keys_keeps_order_and_keys() -> None:
    keys = list(random_keys(7, 200))
    events = parse_notification(notification(*(s3_record(k) for k in keys)))
    assert [e.key for e in events] == keys


def random_hex(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789ABCDEF") for _ in range(length))


def test_property_sequencers_compare_as_left_padded_hex() -> None:
    rng = random.Random(42)
    for _ in range(500):
        la, lb = rng.sample(range(1, 25), 2)  # different lengths
        a, b = random_hex(rng, la), random_hex(rng, lb)
        if rng.random() < 0.3:
            a = "0" * rng.randint(1, 4) + a  # leading zeros do not change the order
        width = max(len(a), len(b))
        assert (a.rjust(width, "0") > b.rjust(width, "0")) == (int(a, 16) > int(b, 16))
        event = ObjectEvent(BUCKET, "k", "created", sequencer=a)
        assert event.newer_than(b) == (int(a, 16) > int(b, 16)), (a, b)
        assert event.newer_than(b.lower()) == (int(a, 16) > int(b, 16)), (a, b)


def test_sequencer_edge_cases() -> None:
    e = ObjectEvent(BUCKET, "k", "created", sequencer="0055AED6DCD90281E5")
    assert not e.newer_than("0055AED6DCD90281E5")  # equal is not newer
    assert e.newer_than("55AED6DCD90281E4")
    assert not e.newer_than("0155AED6DCD90281E5")
    assert e.newer_than("")  # moto sends none: nothing to compare, never dropped
    assert ObjectEvent(BUCKET, "k", "created").newer_than("01")


def test_event_id_is_equal_for_duplicates_and_differs_otherwise() -> None:
    body = notification(s3_record("a b.txt", version_id=None), s3_record("a b.txt", version_id=None))
    first, second = parse_notification(body)
    assert first == second and first.event_id == second.event_id
    ids = {
        first.event_id,
        parse_notification(notification(s3_record("a b.txt", version_id=None, etag="ffff")))[0].event_id,
        parse_notification(notification(s3_record("a b.txt", version_id=None, sequencer="0055AED6DCD90281E6")))[
            0
        ].event_id,
        parse_notification(notification(s3_record("a b.txt", version_id="v2")))[0].event_id,
        parse_notification(notification(removed_record("a b.txt", version_id=None)))[0].event_id,
        parse_notification(notification(s3_record("a b.txt", version_id=None, bucket="other")))[0].event_id,
    }
    assert len(ids) == 6


# ===========================================================================================
# dtool-s3 layout
# ===========================================================================================

STRUCTURE = {
    "data_key_infix": "data",
    "fragment_key_infix": "fragments",
    "overlays_key_infix": "overlays",
    "annotations_key_infix": "annotations",
    "tags_key_infix": "tags",
    "structure_key_suffix": "structure.json",
    "dtool_readme_key_suffix": "README.txt",
    "dataset_readme_key_suffix": "README.yml",
    "manifest_key_suffix": "manifest.json",
    "admin_metadata_key_suffix": "dtool",
    "storage_broker_version": "0.14.1",
}
README = "---\nproject: Canopy lidar\ndescription: Leaf-on survey of Wytham Woods\n"


@dataclass
class DtoolDataset:
    """The objects ``dtool copy <dataset> s3://bucket`` writes, in the order it writes them."""

    uuid: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    name: str = "wytham-lidar"
    prefix: str = ""
    items: Mapping[str, bytes] = field(default_factory=lambda: {"raw/scan_001.las": b"x" * 100, "notes.txt": b"ok"})
    readme: str = README
    tags: tuple[str, ...] = ("lidar", "woods")
    annotations: Mapping[str, Any] = field(default_factory=lambda: {"site": "wytham", "plot": {"id": 7}})

    def key(self, rest: str) -> str:
        return f"{self.prefix}{self.uuid}/{rest}"

    def admin(self, *, frozen: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "uuid": self.uuid,
            "dtoolcore_version": DTOOLCORE,
            "name": self.name,
            "type": "dataset" if frozen else "protodataset",
            "creator_username": "olssont",
            "created_at": 1763900000.125,
        }
        if frozen:
            meta["frozen_at"] = 1763900100.5
        return meta

    def manifest(self) -> dict[str, Any]:
        return {
            "dtoolcore_version": DTOOLCORE,
            "hash_function": "md5sum_hexdigest",
            "items": {
                hashlib.sha1(relpath.encode()).hexdigest(): {
                    "relpath": relpath,
                    "size_in_bytes": len(data),
                    "hash": hashlib.md5(data).hexdigest(),
                    "utc_timestamp": 1763900050.0,
                }
                for relpath, data in self.items.items()
            },
        }

    def proto_objects(self) -> list[tuple[str, bytes]]:
        return [
            (f"dtool-{self.uuid}", self.prefix.encode()),
            (self.key("structure.json"), json.dumps(STRUCTURE).encode()),
            (self.key("README.txt"), b"This is a dtool dataset stored in S3 ...\n"),
            (self.key("dtool"), json.dumps(self.admin(frozen=False)).encode()),
            *((self.key(f"data/{hashlib.sha1(r.encode()).hexdigest()}"), d) for r, d in self.items.items()),
            (self.key("README.yml"), self.readme.encode()),
            *((self.key(f"tags/{t}"), b"") for t in self.tags),
            *((self.key(f"annotations/{n}.json"), json.dumps(v).encode()) for n, v in self.annotations.items()),
        ]

    def objects(self) -> list[tuple[str, bytes]]:
        """Every object of the frozen dataset, in write order (freeze: manifest, then admin metadata)."""
        return [
            *self.proto_objects(),
            (self.key("manifest.json"), json.dumps(self.manifest()).encode()),
            (self.key("dtool"), json.dumps(self.admin(frozen=True)).encode()),
        ]

    def put(self, store: InMemoryObjectStorage, bucket: str = BUCKET, *, frozen: bool = True) -> list[str]:
        written = self.objects() if frozen else self.proto_objects()
        for key, data in written:
            store.put(bucket, key, data)
        return [k for k, _ in written]


def test_proto_dataset_is_not_registered(world: World) -> None:
    ds = DtoolDataset()
    keys = ds.put(world.store, frozen=False)
    outcomes = [world.created(k) for k in keys]
    assert world.created(ds.key("dtool")) == Outcome("proto", f"s3://{BUCKET}/{ds.uuid}", ds.uuid, "not frozen yet")
    assert {o.status for o in outcomes} == {"proto", "ignored"}
    assert world.repo.entry(ds.uuid) is None and world.repo.dataset_writes == 0
    assert world.found("Wytham") == []


def test_frozen_dataset_registers_with_all_its_metadata(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("manifest.json")) == Outcome("created", f"s3://{BUCKET}/{ds.uuid}", ds.uuid)
    record = world.dataset(ds.uuid)
    assert record["name"] == "wytham-lidar"
    assert record["creator_username"] == "olssont"
    assert (record["created_at"], record["frozen_at"]) == (1763900000.125, 1763900100.5)
    assert record["replicas"][0]["uri"] == f"s3://{BUCKET}/{ds.uuid}"
    assert record["replicas"][0]["base_uri"] == f"s3://{BUCKET}"
    assert record["replicas"][0]["registered_by"] == INGEST_ACTOR == record["updated_by"]
    assert record["number_of_items"] == 2 and record["size_in_bytes"] == 102
    assert record["tags"] == ["lidar", "woods"]
    assert record["kind"] == "dtool"
    assert record["annotations"] == {"site": "wytham", "plot": {"id": 7}}
    assert world.catalogue.get_readme(ROOT, ds.uuid) == README
    assert world.manifest(ds.uuid) == ds.manifest()
    assert world.found("Wytham") == [ds.uuid]
    assert world.found("scan_001") == [ds.uuid]
    assert world.repo.actions(ds.uuid) == [("dataset", "add")]


def test_events_of_a_copy_delivered_late_give_one_registration(world: World) -> None:
    ds = DtoolDataset()
    keys = ds.put(world.store)
    outcomes = [world.created(k) for k in keys]
    statuses = Counter(o.status for o in outcomes)
    # the first trigger (dtool-<uuid>) already sees the whole dataset; the rest change nothing
    assert outcomes[0].status == "created"
    assert statuses["created"] == 1 and statuses["ignored"] == 4  # structure.json, README.txt, 2 data items
    assert statuses["unchanged"] == len(keys) - 5
    assert world.repo.actions(ds.uuid) == [("dataset", "add")]
    assert world.repo.dataset_writes == 1


def test_events_of_a_copy_delivered_as_written_wait_for_the_freeze(world: World) -> None:
    ds = DtoolDataset()
    statuses = []
    for key, data in ds.objects():
        world.store.put(BUCKET, key, data)
        statuses.append(world.created(key).status)
    assert statuses[-1] == "created"
    assert set(statuses[:-1]) == {"proto", "ignored"}
    assert world.repo.actions(ds.uuid) == [("dataset", "add")]


def test_a_repeated_event_changes_nothing(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    before = world.repo.entry(ds.uuid)
    for _ in range(3):
        assert world.created(ds.key("dtool")).status == "unchanged"
        assert world.created(f"dtool-{ds.uuid}").status == "unchanged"
    assert world.repo.entry(ds.uuid) == before
    assert before is not None and before.version == 1
    assert world.repo.dataset_writes == 1
    assert world.repo.actions(ds.uuid) == [("dataset", "add")]


def test_an_added_tag_or_annotation_updates_the_dataset(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("manifest.json")).status == "created"
    world.store.put(BUCKET, ds.key("tags/leaf-on"), b"")
    assert world.created(ds.key("tags/leaf-on")).status == "updated"
    assert world.dataset(ds.uuid)["tags"] == ["leaf-on", "lidar", "woods"]
    world.store.put(BUCKET, ds.key("annotations/season.json"), b'"summer"')
    assert world.created(ds.key("annotations/season.json")).status == "updated"
    assert world.dataset(ds.uuid)["annotations"]["season"] == "summer"
    world.store.delete(BUCKET, ds.key("tags/woods"))
    assert world.removed(ds.key("tags/woods")).status == "updated"
    assert world.dataset(ds.uuid)["tags"] == ["leaf-on", "lidar"]
    assert world.repo.actions(ds.uuid) == [("dataset", "add")] + [("dataset", "edit")] * 3
    assert world.dataset(ds.uuid)["version"] == 4


@pytest.mark.parametrize("rest", ["data/{item}", "structure.json", "README.txt", "overlays/mimetype.json"])
def test_objects_that_are_not_metadata_are_ignored(world: World, rest: str) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    item = hashlib.sha1(b"notes.txt").hexdigest()
    outcome = world.created(ds.key(rest.format(item=item)))
    assert outcome.status == "ignored"
    assert world.repo.entry(ds.uuid) is None


def test_data_item_event_is_ignored_as_a_data_item(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    outcome = world.created(ds.key(f"data/{hashlib.sha1(b'notes.txt').hexdigest()}"))
    assert (outcome.status, outcome.reason) == ("ignored", "dtool data item")


def test_dataset_under_a_key_prefix_registers_under_its_uuid_uri(world: World) -> None:
    ds = DtoolDataset(prefix="pre/fix/")
    ds.put(world.store)
    assert world.store.get_bytes(BUCKET, f"dtool-{ds.uuid}", 100) == b"pre/fix/"
    assert world.store.head(BUCKET, f"{ds.uuid}/dtool") is None
    outcome = world.created(f"dtool-{ds.uuid}")
    assert outcome == Outcome("created", f"s3://{BUCKET}/{ds.uuid}", ds.uuid)
    assert world.created(ds.key("manifest.json")).status == "unchanged"
    assert world.created(ds.key("README.yml")).status == "unchanged"
    record = world.dataset(ds.uuid)
    assert record["uri"] == f"s3://{BUCKET}/{ds.uuid}"
    assert record["tags"] == ["lidar", "woods"]
    assert world.relpaths(ds.uuid) == ["notes.txt", "raw/scan_001.las"]


def test_a_registration_that_loses_to_a_deletion_reads_s3_again(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A late event reads the objects, then the dataset is deleted (objects and record)
    before its write: the write loses, and the objects are read again instead of written
    over the deletion (which would bring the dataset back, objects gone; seen in CI)."""
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    ds.put(world.store, frozen=True)  # a late event: same objects, a tag added
    world.store.put(BUCKET, ds.key("tags/late"), b"")
    save = world.repo.save_dataset

    def deleted_meanwhile(dataset: Dataset, expected_version: int | None) -> None:
        monkeypatch.setattr(world.repo, "save_dataset", save)  # once
        for key in world.store.keys(BUCKET):
            world.store.delete(BUCKET, key)
        assert world.removed(ds.key("dtool")).status == "removed"
        save(dataset, expected_version)  # the late write: now against a newer version

    monkeypatch.setattr(world.repo, "save_dataset", deleted_meanwhile)
    assert world.ingest.handle(ObjectEvent(BUCKET, ds.key("tags/late"), "created")).status == "ignored"
    assert world.gone(ds.uuid)
    assert world.repo.actions(ds.uuid) == [("dataset", "add"), ("dataset", "delete")]


def test_a_reading_of_s3_older_than_a_deletion_does_not_bring_the_dataset_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion completes after a late event read the objects and before it looks at
    the record (no write conflict to see): the tombstone is only revived by a reading of S3
    made after it was seen (the CI failure: the log showed add, delete, add, delete)."""
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    world.store.put(BUCKET, ds.key("tags/late"), b"")
    get = world.repo.get_dataset

    def deleted_meanwhile(uuid: str, base_uri: str, **kw: Any) -> Dataset | None:
        monkeypatch.setattr(world.repo, "get_dataset", get)  # once
        for key in world.store.keys(BUCKET):
            world.store.delete(BUCKET, key)
        assert world.removed(ds.key("dtool")).status == "removed"
        return get(uuid, base_uri, **kw)

    monkeypatch.setattr(world.repo, "get_dataset", deleted_meanwhile)
    assert world.ingest.handle(ObjectEvent(BUCKET, ds.key("tags/late"), "created")).status == "ignored"
    assert world.gone(ds.uuid)
    assert world.repo.actions(ds.uuid) == [("dataset", "add"), ("dataset", "delete")]
    # a real new upload after the deletion does come back (one more reading of S3)
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    assert world.repo.actions(ds.uuid) == [("dataset", "add"), ("dataset", "delete"), ("dataset", "add")]


def test_deleted_admin_metadata_removes_the_dataset(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    world.store.delete(BUCKET, ds.key("dtool"))
    assert world.removed(ds.key("dtool")) == Outcome("removed", f"s3://{BUCKET}/{ds.uuid}", ds.uuid)
    assert world.gone(ds.uuid)
    stored = world.repo.entry(ds.uuid)
    assert stored is not None and stored.deleted and stored.replicas == ()
    assert world.found("Wytham") == []
    assert world.repo.actions(ds.uuid) == [("dataset", "add"), ("dataset", "delete")]
    # the removal delivered again, and events of the rest of the deletion, change nothing
    assert world.removed(ds.key("dtool")).status == "ignored"
    world.store.delete(BUCKET, ds.key("manifest.json"))
    assert world.removed(ds.key("manifest.json")).status == "ignored"
    assert world.repo.actions(ds.uuid) == [("dataset", "add"), ("dataset", "delete")]


def test_a_deleted_then_recopied_dataset_comes_back(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    world.store.delete(BUCKET, ds.key("dtool"))
    assert world.removed(ds.key("dtool")).status == "removed"
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    assert world.dataset(ds.uuid)["version"] == 3


def test_a_manifest_that_is_not_json_is_refused(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    world.store.put(BUCKET, ds.key("manifest.json"), b"{not json")
    outcome = world.refused(ds.key("manifest.json"))
    assert outcome.reason == f"s3://{BUCKET}/{ds.key('manifest.json')} is not JSON"
    assert_refused_record(world, ds.uuid, "is not JSON")


def test_an_admin_metadata_uuid_mismatch_is_refused(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    other = str(uuidlib.uuid4())
    world.store.put(BUCKET, ds.key("dtool"), json.dumps({**ds.admin(frozen=True), "uuid": other}))
    outcome = world.refused(ds.key("dtool"))
    assert outcome.reason == f"s3://{BUCKET}/{ds.uuid}: admin metadata names uuid {other}"
    assert_refused_record(world, ds.uuid, "admin metadata names uuid")
    assert world.repo.entry(other) is None


@pytest.mark.parametrize(
    ("rest", "data", "reason"),
    [
        ("annotations/site.json", b"wytham", "is not JSON"),
        ("tags/not a tag!", b"", "tags entries must match"),
        ("annotations/bad name!.json", b"1", "annotations names must match"),
    ],
)
def test_metadata_the_catalogue_cannot_accept_is_refused(world: World, rest: str, data: bytes, reason: str) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    world.store.put(BUCKET, ds.key(rest), data)
    assert reason in world.refused(ds.key(rest)).reason
    assert_refused_record(world, ds.uuid, reason)


def assert_refused_record(world: World, uuid: str, reason: str) -> None:
    """Refused metadata is recorded as the dataset's status (for its registrars), never indexed."""
    stored = world.repo.entry(uuid)
    assert stored is not None and stored.status == "refused", stored
    assert any(reason in r for r in stored.status_reasons), stored.status_reasons
    assert world.dataset(uuid)["status"] == "refused"
    assert uuid not in world.found("")


def test_an_unregistered_bucket_is_ignored_until_its_base_uri_is_added(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store, "elsewhere")
    outcome = world.created(ds.key("dtool"), bucket="elsewhere")
    assert outcome == Outcome("ignored", f"s3://elsewhere/{ds.key('dtool')}", reason="not under a registered base URI")
    assert world.repo.entry(ds.uuid) is None
    world.access.add_base_uri(ROOT, "s3://elsewhere", "")
    world.clock.now += 1.5  # a miss re-reads the base URIs at most once a second
    assert world.created(ds.key("dtool"), bucket="elsewhere").status == "created"
    assert world.dataset(ds.uuid)["base_uri"] == "s3://elsewhere"


def test_a_bucket_registered_only_with_a_prefix_refuses_dtool_datasets_there() -> None:
    world = make_world("s3://lab-data/prefix")
    ds = DtoolDataset(prefix="prefix/")
    ds.put(world.store)
    outcome = world.refused(ds.key("manifest.json"))
    assert "nested base URI s3://lab-data/prefix" in outcome.reason
    stored = world.repo.entry(ds.uuid)
    assert stored is not None and stored.status == "refused"
    assert [(r.base_uri, r.uri) for r in stored.replicas] == [
        ("s3://lab-data/prefix", f"s3://{BUCKET}/{ds.key('')}"[:-1])
    ]
    late = world.ingest.handle(ObjectEvent(bucket=BUCKET, key=f"dtool-{ds.uuid}", kind="created"), 2)
    assert late.reason == "not under a registered base URI"


# --- issue 15, finding 3: nested base URIs, every layout ------------------------------------

NESTED = f"s3://{BUCKET}/restricted"


def _nested_world() -> World:
    return make_world(f"s3://{BUCKET}", NESTED)


def _bucket_reader_sees(world: World, uuid: str) -> bool:
    reader = User(username="reader", search_base_uris=frozenset({f"s3://{BUCKET}"}))
    try:
        world.catalogue.get_dataset(reader, uuid)
    except NotFound:
        return False
    return True


def test_a_dtool_dataset_under_a_nested_base_uri_is_never_registered_on_the_bucket() -> None:
    world = _nested_world()
    ds = DtoolDataset(prefix="restricted/")
    ds.put(world.store)
    outcome = world.refused(ds.key("dtool"))
    assert "nested base URI" in outcome.reason
    stored = world.repo.entry(ds.uuid)
    assert stored is not None and stored.status == "refused" and stored.base_uri == NESTED
    assert not _bucket_reader_sees(world, ds.uuid)  # the leak: a reader of the bucket read its README
    assert ds.uuid not in world.found("wytham")
    # its objects deleted: the refused record goes too
    for key in world.store.keys(BUCKET):
        if key.startswith(f"restricted/{ds.uuid}/"):
            world.store.delete(BUCKET, key)
    assert world.removed(ds.key("dtool")).status == "removed"


def test_a_dtool_dataset_at_the_bucket_root_of_a_bucket_with_a_nested_base_uri_registers_on_the_bucket() -> None:
    world = _nested_world()
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    assert world.dataset(ds.uuid)["base_uri"] == f"s3://{BUCKET}"


def test_a_sidecar_folder_under_a_nested_base_uri_belongs_to_it() -> None:
    world = _nested_world()
    sidecar_key = put_folder(world, folder="restricted/run-9")
    assert world.created(sidecar_key).status == "created"
    uuid = uuid_of("restricted/run-9")
    assert world.dataset(uuid)["base_uri"] == NESTED
    assert world.dataset(uuid)["kind"] == "folder"
    assert not _bucket_reader_sees(world, uuid)


def test_a_copy_in_a_second_bucket_is_a_replica() -> None:
    world = make_world(f"s3://{BUCKET}", "s3://mirror")
    ds = DtoolDataset()
    ds.put(world.store)
    ds.put(world.store, "mirror")
    assert world.created(ds.key("dtool")).status == "created"
    # the copy is the uuid's entry under the mirror's base URI (registered with its rights only)
    assert world.created(ds.key("dtool"), bucket="mirror") == Outcome("created", f"s3://mirror/{ds.uuid}", ds.uuid)
    assert [r["uri"] for r in world.dataset(ds.uuid)["replicas"]] == [
        f"s3://{BUCKET}/{ds.uuid}",
        f"s3://mirror/{ds.uuid}",
    ]
    world.store.delete("mirror", ds.key("dtool"))
    assert world.removed(ds.key("dtool"), bucket="mirror").status == "removed"
    assert [r["uri"] for r in world.dataset(ds.uuid)["replicas"]] == [f"s3://{BUCKET}/{ds.uuid}"]
    assert world.repo.actions(ds.uuid) == [("dataset", "add"), ("dataset", "add"), ("dataset", "delete")]


def test_dtool_registration_key_at_the_root_does_not_register_a_nested_dataset_on_the_bucket() -> None:
    world = make_world(f"s3://{BUCKET}", f"s3://{BUCKET}/proj")
    ds = DtoolDataset(prefix="proj/")
    ds.put(world.store)
    assert "nested base URI" in world.refused(f"dtool-{ds.uuid}").reason  # the key lies at the bucket's root
    world.store.put(BUCKET, ds.key("tags/leaf-on"), b"")
    assert "nested base URI" in world.refused(ds.key("tags/leaf-on")).reason
    stored = world.repo.entry(ds.uuid)
    assert stored is not None and stored.status == "refused" and stored.base_uri == f"s3://{BUCKET}/proj"


@pytest.mark.parametrize("layout", ["dtool README.yml", "sidecar"])
def test_metadata_that_is_not_utf8_is_refused(world: World, layout: str) -> None:
    if layout == "sidecar":
        key = put_folder(world, b"\xff{}")
    else:
        ds = DtoolDataset()
        ds.put(world.store)
        key = ds.key("README.yml")
        world.store.put(BUCKET, key, b"\xff\xfe not utf-8")
    outcome = world.ingest.handle(ObjectEvent(BUCKET, key, "created"))
    assert outcome.status == "refused"


def test_dataset_without_its_manifest_yet_waits(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    world.store.delete(BUCKET, ds.key("manifest.json"))
    assert world.created(ds.key("dtool")).status == "proto"
    assert world.repo.entry(ds.uuid) is None


# ===========================================================================================
# sidecar folders
# ===========================================================================================

FOLDER = "proj/run 1"
SIDECAR = {
    "name": "run-1",
    "description": "Soil moisture, first run",
    "creator": "ana",
    "tags": ["soil", "moisture"],
    "readme": "---\nsite: Rothamsted\n",
    "instrument": "TDR-300",
    "site": {"field": "Broadbalk", "plot": 7},
}
FILES = {"a.csv": b"t,v\n1,2\n", "raw/b.bin": b"\x00" * 2048, "notes ü.txt": "Grüße".encode()}


def folder_uri(folder: str = FOLDER) -> str:
    return f"s3://{BUCKET}/{folder}"


def uuid_of(folder: str = FOLDER) -> str:
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, folder_uri(folder)))


def put_folder(
    world: World, sidecar: Any = SIDECAR, files: Mapping[str, bytes] = FILES, *, folder: str = FOLDER, name: str = ""
) -> str:
    for relpath, data in files.items():
        world.store.put(BUCKET, f"{folder}/{relpath}", data, mtime=1763900000.0 + len(relpath))
    sidecar_key = f"{folder}/{name or 'dataset.json'}"
    world.store.put(BUCKET, sidecar_key, sidecar if isinstance(sidecar, (str, bytes)) else json.dumps(sidecar))
    return sidecar_key


def test_sidecar_folder_registers_with_listing_manifest(world: World) -> None:
    sidecar_key = put_folder(world)
    uuid = uuid_of()
    assert world.created(sidecar_key) == Outcome("created", folder_uri(), uuid)
    record = world.dataset(uuid)
    assert record["name"] == "run-1"
    assert record["description"] == "Soil moisture, first run"
    assert record["creator_username"] == "ana"
    assert record["tags"] == ["moisture", "soil"]
    assert record["uri"] == folder_uri() and record["base_uri"] == f"s3://{BUCKET}"
    assert record["annotations"] == {"instrument": "TDR-300", "site": {"field": "Broadbalk", "plot": 7}}
    assert world.catalogue.get_readme(ROOT, uuid) == "---\nsite: Rothamsted\n"
    manifest = world.manifest(uuid)
    assert manifest["hash_function"] == "s3-etag"
    items = {i["relpath"]: i for i in manifest["items"].values()}
    assert set(items) == set(FILES)
    for relpath, data in FILES.items():
        assert items[relpath]["size_in_bytes"] == len(data)
        assert items[relpath]["hash"] == hashlib.md5(data).hexdigest()
        assert items[relpath]["utc_timestamp"] == 1763900000.0 + len(relpath)
    assert set(manifest["items"]) == {hashlib.sha1(r.encode()).hexdigest() for r in FILES}
    assert record["number_of_items"] == 3 and record["size_in_bytes"] == sum(len(d) for d in FILES.values())
    assert (record["created_at"], record["frozen_at"]) == (1763900005.0, 1763900011.0)
    assert world.found("Broadbalk") == [uuid]
    assert world.found("Rothamsted moisture") == [uuid]


def test_sidecar_annotations_are_used_and_a_uuid_key_is_just_an_annotation(world: World) -> None:
    # The dataset uuid is always derived from the folder URI, so that it can be found again
    # when the sidecar is deleted; a "uuid" in the sidecar is kept as an annotation.
    given = str(uuidlib.uuid4())
    sidecar = {"uuid": given, "creator_username": "bo", "annotations": {"lab": "B"}, "extra": 1}
    put_folder(world, sidecar)
    assert world.created(f"{FOLDER}/a.csv") == Outcome("created", folder_uri(), uuid_of())
    record = world.dataset(uuid_of())
    assert record["name"] == "run 1"  # the folder's name by default
    assert record["creator_username"] == "bo"
    assert record["annotations"] == {"lab": "B", "extra": 1, "uuid": given}
    assert world.repo.entry(given) is None


@pytest.mark.parametrize("name", ["dataset.yaml", "dataset.yml"])
def test_yaml_sidecar(world: World, name: str) -> None:
    text = "name: run-1\ncreator: ana\ntags: [soil]\ndescription: |\n  Soil moisture,\n  first run\nsite: Broadbalk\n"
    sidecar_key = put_folder(world, text, name=name)
    assert world.created(sidecar_key).status == "created"
    record = world.dataset(uuid_of())
    assert record["description"] == "Soil moisture,\nfirst run\n"
    assert record["annotations"] == {"site": "Broadbalk"}
    assert world.relpaths(uuid_of()) == sorted(FILES)


def test_added_file_updates_the_manifest(world: World) -> None:
    put_folder(world)
    uuid = uuid_of()
    assert world.created(f"{FOLDER}/a.csv").status == "created"
    assert world.created(f"{FOLDER}/a.csv").status == "unchanged"
    world.store.put(BUCKET, f"{FOLDER}/late/c d.csv", b"1,2,3\n", mtime=1763909999.0)
    assert world.created(f"{FOLDER}/late/c d.csv") == Outcome("updated", folder_uri(), uuid)
    assert world.relpaths(uuid) == sorted([*FILES, "late/c d.csv"])
    assert world.dataset(uuid)["frozen_at"] == 1763909999.0
    # a removed file leaves the manifest too
    world.store.delete(BUCKET, f"{FOLDER}/a.csv")
    assert world.removed(f"{FOLDER}/a.csv").status == "updated"
    assert "a.csv" not in world.relpaths(uuid)
    assert world.repo.actions(uuid) == [("dataset", "add"), ("dataset", "edit"), ("dataset", "edit")]


def test_removed_sidecar_removes_the_dataset(world: World) -> None:
    sidecar_key = put_folder(world)
    uuid = uuid_of()
    assert world.created(sidecar_key).status == "created"
    world.store.delete(BUCKET, sidecar_key)
    assert world.removed(sidecar_key) == Outcome("removed", folder_uri(), uuid)
    assert world.gone(uuid)
    assert world.found("Broadbalk") == []
    # then the folder's files go: nothing describes them any more
    for relpath in FILES:
        world.store.delete(BUCKET, f"{FOLDER}/{relpath}")
        outcome = world.removed(f"{FOLDER}/{relpath}")
        assert (outcome.status, outcome.reason) == ("ignored", "no recognised layout")
    assert world.repo.actions(uuid) == [("dataset", "add"), ("dataset", "delete")]


def test_removed_sidecar_with_a_uuid_key_removes_the_dataset(world: World) -> None:
    sidecar_key = put_folder(world, {**SIDECAR, "uuid": str(uuidlib.uuid4())})
    assert world.created(sidecar_key).uuid == uuid_of()
    world.store.delete(BUCKET, sidecar_key)
    assert world.removed(sidecar_key).status == "removed"
    assert world.gone(uuid_of())


def test_folder_markers_are_not_items(world: World) -> None:
    world.store.put(BUCKET, f"{FOLDER}/", b"")
    world.store.put(BUCKET, f"{FOLDER}/raw/", b"")
    sidecar_key = put_folder(world)
    assert world.created(sidecar_key).status == "created"
    assert world.relpaths(uuid_of()) == sorted(FILES)


def test_sidecar_without_description_keeps_an_edited_one(world: World) -> None:
    put_folder(world, {"name": "run-1"})
    assert world.created(f"{FOLDER}/a.csv").status == "created"
    version = world.dataset(uuid_of())["version"]
    world.catalogue.patch_dataset(ROOT, uuid_of(), DatasetPatch(None, None, "curated by hand", version))
    world.store.put(BUCKET, f"{FOLDER}/c.csv", b"3")
    assert world.created(f"{FOLDER}/c.csv").status == "updated"
    assert world.dataset(uuid_of())["description"] == "curated by hand"


def test_a_file_two_levels_below_finds_the_sidecar(world: World) -> None:
    deep = {**FILES, "sub/deeper/x.csv": b"x\n"}
    put_folder(world, files=deep)
    assert world.created(f"{FOLDER}/sub/deeper/x.csv") == Outcome("created", folder_uri(), uuid_of())
    assert "sub/deeper/x.csv" in world.relpaths(uuid_of())


def test_files_outside_any_sidecar_folder_are_ignored(world: World) -> None:
    put_folder(world)
    world.store.put(BUCKET, "proj/run 10/a.csv", b"1")  # a sibling whose name starts alike
    world.store.put(BUCKET, "loose.csv", b"1")
    assert world.created("proj/run 10/a.csv").status == "ignored"
    assert world.created("loose.csv").status == "ignored"
    world.store.put(BUCKET, "dataset.json", json.dumps(SIDECAR))  # a sidecar at the bucket root is no folder
    assert world.created("dataset.json").status == "ignored"
    assert world.repo.dataset_writes == 0


@pytest.mark.parametrize(
    ("sidecar", "name", "reason"),
    [
        ("[1, 2, 3]", "dataset.json", "must hold a mapping"),
        ('"just a string"', "dataset.json", "must hold a mapping"),
        ("{name: run-1", "dataset.json", "is not JSON"),
        ("", "dataset.json", "is not JSON"),
        ("- a\n- b\n", "dataset.yaml", "must hold a mapping"),
        ("name: [unclosed\n", "dataset.yaml", "is not YAML"),
        (json.dumps({"tags": ["no spaces please"]}), "dataset.json", "tags entries must match"),
        (json.dumps({"bad key": 1}), "dataset.json", "annotations names must match"),
    ],
)
def test_sidecar_the_catalogue_cannot_accept_is_refused(world: World, sidecar: str, name: str, reason: str) -> None:
    sidecar_key = put_folder(world, sidecar, name=name)
    outcome = world.refused(sidecar_key)
    assert reason in outcome.reason, outcome.reason
    assert_refused_record(world, uuid_of(), reason)


def test_keys_with_spaces_unicode_and_percent_arrive_encoded_and_register_exactly(world: World) -> None:
    folder = "field data/plot ü 7"
    files = {"50% moisture.csv": b"1", "Grüße+Ñandú.txt": b"22", "sub dir/漢字 🧪.dat": b"333"}
    put_folder(world, {"name": "plot-7"}, files, folder=folder)
    # moto encodes "/" too; AWS does not
    [created] = world.deliver(s3_record(f"{folder}/50% moisture.csv", encode=lambda k: quote_plus(k, safe="")))
    assert created == Outcome("created", f"s3://{BUCKET}/{folder}", uuid_of(folder))
    [again] = world.deliver(s3_record(f"{folder}/sub dir/漢字 🧪.dat", encode=lambda k: quote_plus(k, safe="/")))
    assert again.status == "unchanged"
    assert world.relpaths(uuid_of(folder)) == sorted(files)


def test_sidecar_folder_named_by_a_uuid(world: World) -> None:
    folder = f"runs/{uuidlib.uuid4()}"
    sidecar_key = put_folder(world, folder=folder)
    assert world.created(sidecar_key).status == "created"


# ===========================================================================================
# messages
# ===========================================================================================


def test_handle_message_counts_outcomes(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    put_folder(world)
    assert world.ingest.handle_message(TEST_EVENT) == []
    records = (
        s3_record(ds.key("manifest.json")),
        s3_record(ds.key("manifest.json")),  # a duplicate inside one message
        s3_record(ds.key(f"data/{hashlib.sha1(b'notes.txt').hexdigest()}")),
        s3_record("x.csv", bucket="not-watched"),
        {"eventSource": "aws:sqs"},
        s3_record(f"{FOLDER}/a.csv"),
    )
    # the second receive: a miss right after a re-read of the base URIs is final
    outcomes = world.ingest.handle_message(notification(*records), 2)
    assert [o.status for o in outcomes] == ["created", "unchanged", "ignored", "ignored", "created"]
    assert world.ingest.counts == Counter({"created": 2, "unchanged": 1, "ignored": 2})

    world.store.put(BUCKET, f"{FOLDER}/dataset.json", "[]")
    world.store.put(BUCKET, ds.key("tags/new"), b"")
    with pytest.raises(IngestFailed, match="must hold a mapping"):
        world.deliver(s3_record(ds.key("tags/new")), s3_record(f"{FOLDER}/dataset.json"))
    # the other outcome of the failed message stands (each outcome is idempotent)
    assert world.dataset(ds.uuid)["tags"] == ["lidar", "new", "woods"]
    assert world.ingest.counts == Counter({"created": 2, "unchanged": 1, "ignored": 2, "updated": 1, "refused": 1})


def test_handle_message_rejects_a_body_that_is_not_a_notification(world: World) -> None:
    with pytest.raises(ValidationError):
        world.ingest.handle_message("<xml/>")
    assert sum(world.ingest.counts.values()) == 0


def test_a_miss_the_cache_cannot_recheck_is_retried_once_then_ignored(world: World) -> None:
    """A base URI registered just before the upload, while the handler's cache is fresh:
    the first receive retries instead of dropping the event; the retry re-reads."""
    put_folder(world)
    assert world.created(f"{FOLDER}/a.csv").status == "created"  # loads the cache
    put_folder(world, folder="late/run")
    world.store.put("late-bucket", "run/dataset.json", json.dumps({"name": "late"}))
    world.access.add_base_uri(ROOT, "s3://late-bucket", "")  # registered a moment before the upload
    with pytest.raises(IngestFailed, match="base URIs cached"):
        world.deliver(s3_record("run/dataset.json", bucket="late-bucket"))
    world.clock.now += 2  # the message comes back after its visibility timeout
    [outcome] = world.ingest.handle_message(notification(s3_record("run/dataset.json", bucket="late-bucket")), 2)
    assert outcome.status == "created"
    world.clock.now += 0.1  # a genuinely unregistered bucket: one retry, then dropped
    with pytest.raises(IngestFailed):
        world.deliver(s3_record("x.csv", bucket="never"))
    [outcome] = world.ingest.handle_message(notification(s3_record("x.csv", bucket="never")), 2)
    assert outcome.status == "ignored"


def test_an_uploaded_key_cannot_forge_a_log_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 15, finding 8: ``%0A`` in a key used to write a line of its own into the log."""
    folder = "important FORGED\n2026-12-06 04:00:00,000 INFO chalicelib.ingest.ingestion: ingest removed s3://bkt/x"
    sidecar_key = put_folder(world, folder=folder)
    with caplog.at_level(logging.INFO, logger="chalicelib.ingest.ingestion"):
        assert world.created(sidecar_key).status == "created"
    [message] = [r.getMessage() for r in caplog.records if r.name == "chalicelib.ingest.ingestion"]
    assert "\n" not in message
    assert message.startswith("ingest created 's3://") and "\\n2026-12-06" in message


# --- issue 15, finding 4: size caps before parsing ------------------------------------------


def test_a_sidecar_over_the_cap_is_refused_before_it_is_parsed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.ingest import layouts

    def never(text: str) -> Any:
        raise AssertionError("a sidecar over the cap was parsed")

    monkeypatch.setattr(layouts, "load_yaml", never)
    big = "k: [" + ", ".join(["[1, [2, [3]]]"] * 700_000) + "]\n"  # ~8 MiB of YAML
    sidecar_key = put_folder(world, big, name="dataset.yaml")
    outcome = world.refused(sidecar_key)
    assert f"larger than {layouts.MAX_SIDECAR_BYTES} bytes" in outcome.reason
    assert_refused_record(world, uuid_of(), "larger than")


def test_a_sidecar_just_under_the_cap_is_parsed(world: World) -> None:
    from chalicelib.ingest.layouts import MAX_SIDECAR_BYTES

    readme = "x" * (MAX_SIDECAR_BYTES - 200)
    sidecar_key = put_folder(world, json.dumps({"name": "run-1", "readme": readme}))
    assert world.created(sidecar_key).status == "created"


@pytest.mark.parametrize(
    ("files", "size", "reason"),
    [
        (101, 10, "more than 100 annotations"),
        (3, 400 * 1024, "annotations larger than 1048576 bytes in all"),
    ],
)
def test_dtool_annotations_are_capped_in_count_and_bytes_before_any_is_read(
    world: World, files: int, size: int, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = DtoolDataset(annotations={})
    ds.put(world.store)
    for i in range(files):
        world.store.put(BUCKET, ds.key(f"annotations/a{i}.json"), json.dumps("v" * size).encode())
    read: list[str] = []
    get_bytes = world.store.get_bytes

    def recording(bucket: str, key: str, max_bytes: int) -> bytes | None:
        read.append(key)
        return get_bytes(bucket, key, max_bytes)

    monkeypatch.setattr(world.store, "get_bytes", recording)
    assert reason in world.refused(ds.key("annotations/a0.json")).reason
    assert_refused_record(world, ds.uuid, reason)
    assert not [k for k in read if "/annotations/" in k]


def test_a_refused_upload_never_replaces_a_registered_dataset(world: World) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(ds.key("dtool")).status == "created"
    for i in range(101):
        world.store.put(BUCKET, ds.key(f"annotations/x{i}.json"), b"1")
    world.refused(ds.key("annotations/x0.json"))
    assert world.dataset(ds.uuid)["status"] == "registered"
    assert ds.uuid in world.found("wytham")
