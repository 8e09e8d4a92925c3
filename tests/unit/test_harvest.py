"""POST /harvests' service with in-memory fakes: an upstream record becomes a deposited bag that
the real ingest accepts and the archive service archives; refusals deposit nothing."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib.archive import model
from chalicelib.archive.archives import ArchiveService
from chalicelib.archive.harvest import REFUSED, HarvestLimits, HarvestService, Source, parse_files, parse_source
from chalicelib.archive.projection import ProjectedArchives
from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.domain import User
from chalicelib.errors import ArchiveExists, Forbidden, UpstreamUnavailable, ValidationError
from chalicelib.identity.access import AccessService
from chalicelib.ingest.bags.on_disk import validate_extracted_bag
from chalicelib.ingest.bags.serialized import extract_serialized
from chalicelib.ingest.ingestion import Deposits, IngestService
from infra.local.invenio_standin import StandInRecord, demo_records, records_from_directory
from tests.fakes.archives import InMemoryArchiveRepository
from tests.fakes.object_storage import InMemoryObjectStorage
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.fakes.upstream import InMemoryUpstream, invenio_fake
from tests.fakes.workflow import InMemoryWorkflow

ROOT = User("root", is_admin=True)
DEPOSITS = "s3://deposits"
BASE = "https://repo.example.org"
SOIL = "7hy2p-4x0c1"
DEPOSITOR = User("dep", register_base_uris=frozenset({DEPOSITS}), search_base_uris=frozenset({DEPOSITS}))


class World:
    def __init__(self, upstream: InMemoryUpstream, limits: HarvestLimits = HarvestLimits()) -> None:  # noqa: B008
        self.upstream = upstream
        self.store = InMemoryObjectStorage()
        self.repo = InMemoryRepository()
        catalogue = CatalogueService(self.repo, InMemorySearchIndex(), sleep=lambda _: None)
        AccessService(self.repo).add_base_uri(ROOT, DEPOSITS, "")
        self.workflow = InMemoryWorkflow()
        self.records = ProjectedArchives(InMemoryArchiveRepository(), self.repo)
        self.archives = ArchiveService(
            self.records, self.repo, self.workflow, access=self.store, deposit_base_uri=DEPOSITS
        )
        deposits = Deposits(DEPOSITS, self.archives.deposit_registered, self.archives.deposit_refused)
        self.ingest = IngestService(self.store, catalogue, self.repo, deposits=deposits)
        self.service = HarvestService(upstream, self.store, self.ingest, self.archives, DEPOSITS, limits)

    def harvest(self, source: str, user: User = DEPOSITOR) -> dict[str, object]:
        return self.service.harvest(user, lambda: {"source": source})

    def deposited(self) -> list[str]:
        return [o.key for o in self.store.list("deposits", "")]


@pytest.fixture
def world() -> World:
    return World(invenio_fake(BASE))


def test_a_record_becomes_a_deposited_bag_and_an_archive(world: World, tmp_path: Path) -> None:
    result = world.harvest(f"{BASE}/records/{SOIL}")
    source = Source("https", "repo.example.org", SOIL)
    assert result["dataset"] == source.dataset_uuid and result["files"] == 3 and result["deposit"] == "created"
    assert result["doi"] == "10.5072/zenodo.7001" and str(result["title"]).startswith("Soil moisture")
    archive = world.records.get(str(result["archive"]))
    assert archive is not None and archive.status == model.REQUESTED and archive.dataset_uuid == source.dataset_uuid
    assert list(world.workflow.started) == [archive.execution_name]
    assert world.deposited() == [f"harvests/repo.example.org/{SOIL}.zip"]
    # the bag passes the ingest's own checks, with the upstream metadata as payload
    (tmp_path / "bag.zip").write_bytes(world.store.get_bytes("deposits", world.deposited()[0], 10**7) or b"")
    (tmp_path / "out").mkdir()
    root = extract_serialized(tmp_path / "bag.zip", tmp_path / "out")
    info = validate_extracted_bag(root)
    assert sorted(i.relpath for i in info.items) == [
        "data/content/README.md",
        "data/content/moisture.csv",
        "data/content/station-log.txt",
        "data/meta/upstream-files.json",
        "data/meta/upstream-record.json",
    ]
    assert all(i.sha256 and i.sha512 for i in info.items)
    assert info.raw["External-Identifier"] == [source.dataset_uuid, "doi:10.5072/zenodo.7001", source.url]
    assert info.raw["Source-Organization"] == ["repo.example.org"]
    kept = json.loads((root / "data/meta/upstream-record.json").read_text())
    assert kept["metadata"]["title"].startswith("Soil moisture") and "stats" not in kept


def test_the_api_url_and_zenodos_older_form_name_the_same_record() -> None:
    for url in (f"{BASE}/records/{SOIL}", f"{BASE}/api/records/{SOIL}/", f"{BASE}/record/{SOIL}?preview=1"):
        assert parse_source({"source": url}) == Source("https", "repo.example.org", SOIL)
    assert parse_source({"source": "http://127.0.0.1:8123/records/x1"}).authority == "127.0.0.1:8123"
    assert parse_source({"source": "https://zenodo.org:443/records/7"}).authority == "zenodo.org"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": 7},
        ["x"],
        {"source": ""},
        {"source": "ftp://repo.example.org/records/1"},
        {"source": "https://repo.example.org/datasets/1"},
        {"source": "https://repo.example.org/records/../1"},
        {"source": "https://user@repo.example.org/records/1"},
        {"source": "https://repo.example.org/records/1/files/x"},
        {"source": "https://[::1/records/1"},
    ],
)
def test_malformed_sources_are_refused(body: object) -> None:
    with pytest.raises(ValidationError, match=REFUSED) as caught:
        parse_source(body)
    assert caught.value.field == "source"


@pytest.mark.parametrize(
    "source",
    [
        "https://elsewhere.example.org/records/7hy2p-4x0c1",  # not allow-listed
        "http://repo.example.org/records/7hy2p-4x0c1",  # https only
        "https://repo.example.org:8443/records/7hy2p-4x0c1",  # another port is another host
        "http://169.254.169.254/records/1",
        "http://127.0.0.1:9200/records/1",
    ],
)
def test_hosts_not_allow_listed_are_refused_before_any_request(world: World, source: str) -> None:
    with pytest.raises(ValidationError, match=REFUSED):
        world.harvest(source)
    assert world.upstream.fetched == [] and world.deposited() == []


def test_who_may_harvest_and_the_body_read_only_after(world: World) -> None:
    def unreadable() -> object:
        raise AssertionError("the body of a caller who may not harvest is never read")

    for user in (User("outsider"), User("reader", search_base_uris=frozenset({DEPOSITS}))):
        with pytest.raises(Forbidden):
            world.service.harvest(user, unreadable)
    assert world.harvest(f"{BASE}/records/{SOIL}", ROOT)["archive"]


def test_a_checksum_mismatch_deposits_nothing() -> None:
    soil = demo_records()[SOIL]
    world = World(invenio_fake(BASE, [replace(soil, bad_checksums=frozenset({"moisture.csv"}))]))
    with pytest.raises(ValidationError, match=r"moisture\.csv.*md5"):
        world.harvest(f"{BASE}/records/{SOIL}")
    assert world.deposited() == [] and not world.workflow.started


def test_a_file_longer_than_the_record_says_is_cut_off() -> None:
    world = World(invenio_fake(BASE))
    content = f"{BASE}/files/{SOIL}/moisture.csv"
    status, body, headers = world.upstream.pages[content]
    world.upstream.pages[content] = (status, body + b"x" * 10_000, headers)
    with pytest.raises(ValidationError, match="larger than the cap"):
        world.harvest(f"{BASE}/records/{SOIL}")
    assert world.deposited() == []


def test_caps_refuse_before_downloading() -> None:
    for limits, match in (
        (HarvestLimits(max_files=2), "3 files"),
        (HarvestLimits(max_file_bytes=50), "per file"),
        (HarvestLimits(max_record_bytes=100), "at most 100"),
        (HarvestLimits(max_json_bytes=100), "larger than the cap"),
    ):
        world = World(invenio_fake(BASE), limits)
        with pytest.raises(ValidationError, match=match):
            world.harvest(f"{BASE}/records/{SOIL}")
        assert not any("/files/" in url and url.endswith("content") for url in world.upstream.fetched)
        assert world.deposited() == []


@pytest.mark.parametrize("key", ["../x", "a/b", "100%.csv", "line\nbreak", "", ".", "e\u0301.txt"])
def test_unsafe_file_names_are_refused(key: str) -> None:
    listing = {"entries": [{"key": key, "size": 1, "checksum": "md5:" + "0" * 32}]}
    with pytest.raises(ValidationError, match=REFUSED):
        parse_files(listing, HarvestLimits())


def test_an_unknown_record_is_refused_and_a_broken_upstream_is_unavailable(world: World) -> None:
    with pytest.raises(ValidationError, match="no such record"):
        world.harvest(f"{BASE}/records/nope-0000")
    world.upstream.add(f"{BASE}/api/records/{SOIL}", b"oops", status=503)
    with pytest.raises(UpstreamUnavailable):
        world.harvest(f"{BASE}/records/{SOIL}")
    assert world.deposited() == []


def test_the_same_record_again_is_the_same_archive_and_a_change_a_new_one(world: World) -> None:
    first = world.harvest(f"{BASE}/records/{SOIL}")
    with pytest.raises(ArchiveExists) as again:
        world.harvest(f"{BASE}/records/{SOIL}")
    assert again.value.archive_id == first["archive"]
    soil = demo_records()[SOIL]
    changed = StandInRecord(
        soil.record_id, {**soil.metadata, "title": "Soil moisture, corrected"}, soil.files, soil.doi
    )
    world.upstream.pages.update(invenio_fake(BASE, [changed]).pages)
    second = world.harvest(f"{BASE}/records/{SOIL}")
    assert second["dataset"] == first["dataset"] and second["deposit"] == "updated"
    assert second["archive"] != first["archive"]


def test_the_bag_is_the_same_bytes_for_the_same_record(world: World, tmp_path: Path) -> None:
    world.harvest(f"{BASE}/records/{SOIL}")
    first = world.store.get_bytes("deposits", world.deposited()[0], 10**7)
    with pytest.raises(ArchiveExists):
        world.harvest(f"{BASE}/records/{SOIL}")
    assert world.store.get_bytes("deposits", world.deposited()[0], 10**7) == first
    (tmp_path / "b.zip").write_bytes(first or b"")
    with zipfile.ZipFile(tmp_path / "b.zip") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}


def test_the_stand_in_serves_records_from_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "abcde-12345"
    (folder / "files").mkdir(parents=True)
    (folder / "record.json").write_text(
        json.dumps({"metadata": {"title": "Mine"}, "pids": {"doi": {"identifier": "10.1/x"}}})
    )
    (folder / "files" / "a.txt").write_bytes(b"a\n")
    records = records_from_directory(tmp_path)
    world = World(invenio_fake(BASE, records.values()))
    result = world.harvest(f"{BASE}/records/abcde-12345")
    assert result["title"] == "Mine" and result["doi"] == "10.1/x" and result["files"] == 1
