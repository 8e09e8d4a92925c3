"""Archive requests, visibility and restarts (in-memory fakes; no AWS)."""

from __future__ import annotations

import uuid as uuidlib

import pytest

from chalicelib.archive import model
from chalicelib.archive.archives import ArchiveService
from chalicelib.archive.projection import ProjectedArchives
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.catalogue.validation import parse_registration
from chalicelib.domain import User
from chalicelib.errors import ArchiveExists, Conflict, Forbidden, NotFound, ValidationError
from chalicelib.identity.access import AccessService
from tests.fakes.archives import InMemoryArchiveRepository
from tests.fakes.object_storage import InMemoryObjectStorage
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.fakes.workflow import InMemoryWorkflow

ROOT = User("root", is_admin=True)
LAB = "s3://lab"
CHAMPION = User("champ", register_base_uris=frozenset({LAB}), search_base_uris=frozenset({LAB}))
READER = User("reader", search_base_uris=frozenset({LAB}))
OUTSIDER = User("outsider")
UUID = "11111111-2222-4333-8444-555555555555"


class World:
    def __init__(self) -> None:
        self.repo = InMemoryRepository()
        self.catalogue = CatalogueService(self.repo, InMemorySearchIndex(), sleep=lambda _: None)
        AccessService(self.repo).add_base_uri(ROOT, LAB, "")
        self.archives = ProjectedArchives(InMemoryArchiveRepository(), self.repo)
        self.workflow = InMemoryWorkflow()
        self.now = 1000.0
        self.access = InMemoryObjectStorage()
        self.service = ArchiveService(
            self.archives,
            self.repo,
            self.workflow,
            clock=lambda: self.now,
            access=self.access,
            deposit_base_uri="s3://deposits",
        )

    def register(self, name: str = "run-1") -> None:
        body = {
            "uuid": UUID,
            "base_uri": LAB,
            "uri": f"{LAB}/{UUID}",
            "name": name,
            "creator_username": "ana",
            "created_at": 1.0,
            "frozen_at": 2.0,
            "readme": "",
            "manifest": {"hash_function": "md5sum_hexdigest", "items": {}},
            "annotations": {},
            "tags": [],
        }
        self.catalogue.register(ROOT, parse_registration(body))


@pytest.fixture
def world() -> World:
    w = World()
    w.register()
    return w


def test_request_starts_one_execution_named_by_the_content(world: World) -> None:
    first = world.service.request(CHAMPION, UUID)
    assert first["status"] == "requested" and first["id"].startswith("ar-")
    assert [s["status"] for s in first["steps"]] == ["pending"] * 5
    assert world.workflow.started == {first["id"]: {"archive_id": first["id"], "dataset_uuid": UUID}}
    with pytest.raises(ArchiveExists) as exc:
        world.service.request(ROOT, UUID)
    assert exc.value.archive_id == first["id"] and len(world.workflow.started) == 1
    world.register(name="run-1 renamed")  # new content: a new archive (a new AIP version)
    second = world.service.request(CHAMPION, UUID)
    assert second["id"] != first["id"] and len(world.workflow.started) == 2
    assert [a["id"] for a in world.service.history(READER, UUID)] == [second["id"], first["id"]]
    entries, _ = world.repo.list_audit(dataset_subject(UUID, LAB), 100, None)
    assert [(e.entity_type, e.action, e.entity_id) for e in entries if e.entity_type == "archive"] == [
        ("archive", "add", first["id"]),
        ("archive", "add", second["id"]),
    ]


def test_a_request_that_stopped_before_starting_is_started_by_the_next(world: World) -> None:
    first = world.service.request(CHAMPION, UUID)
    world.workflow.started.clear()  # as if the first request died after its record
    with pytest.raises(ArchiveExists):
        world.service.request(CHAMPION, UUID)
    assert list(world.workflow.started) == [first["id"]]


@pytest.mark.parametrize(
    ("user", "error"), [(READER, Forbidden), (OUTSIDER, NotFound), (User("ghost", deleted=True), NotFound)]
)
def test_who_may_request(world: World, user: User, error: type[Exception]) -> None:
    with pytest.raises(error):
        world.service.request(user, UUID)
    assert world.workflow.started == {}


def test_unknown_dataset_is_404(world: World) -> None:
    with pytest.raises(NotFound):
        world.service.request(ROOT, "00000000-0000-4000-8000-000000000000")


def test_visibility_follows_the_base_uris(world: World) -> None:
    archive = world.service.request(CHAMPION, UUID)
    assert world.service.get(READER, archive["id"])["id"] == archive["id"]
    with pytest.raises(NotFound):
        world.service.get(OUTSIDER, archive["id"])
    with pytest.raises(NotFound):
        world.service.get(ROOT, "ar-unknown")
    assert world.service.find(OUTSIDER, None, None, 1, 10).total == 0
    assert world.service.find(READER, None, None, 1, 10).total == 1
    assert world.service.find(READER, "requested", UUID, 1, 10).total == 1
    assert world.service.find(READER, "archived", None, 1, 10).total == 0


@pytest.mark.parametrize(("status", "page", "size"), [("done", 1, 10), (None, 0, 10), (None, 1, 0), (None, 1, 101)])
def test_bad_list_parameters(world: World, status: str | None, page: int, size: int) -> None:
    with pytest.raises(ValidationError):
        world.service.find(ROOT, status, None, page, size)


def test_only_failed_archives_restart_by_requester_or_admin(world: World) -> None:
    archive = world.service.request(CHAMPION, UUID)
    with pytest.raises(Conflict):
        world.service.retry(CHAMPION, archive["id"])  # still requested
    stored = world.archives.get(archive["id"])
    assert stored is not None
    world.archives.save(model.archive_ended_badly(stored, "store", 1100.0, "boom", rejected=False), stored.version)
    other = User("other", register_base_uris=frozenset({LAB}), search_base_uris=frozenset({LAB}))
    with pytest.raises(Forbidden):
        world.service.retry(other, archive["id"])
    restarted = world.service.retry(CHAMPION, archive["id"])
    assert restarted["status"] == "requested" and restarted["retries"] == 1 and restarted["failed_step"] is None
    assert f"{archive['id']}-r1" in world.workflow.started


def test_page_sizes_and_totals(world: World) -> None:
    for n in range(7):
        world.register(name=f"version {n}")
        world.now += 1
        world.service.request(CHAMPION, UUID)
    page = world.service.find(READER, None, UUID, 2, 3)
    assert page.total == 7 and len(page.items) == 3 and page.page == 2
    assert len(world.service.find(READER, None, None, 3, 3).items) == 1


def _archived(world: World, storage_class: str = "STANDARD", files: int = 3) -> str:
    archive_id = world.service.request(CHAMPION, UUID)["id"]
    stored = world.archives.get(archive_id)
    assert stored is not None
    prefix = f"aips/{UUID}/{archive_id}/"
    done = model.step_succeeded(stored, "register", 1100.0, aip_uri=f"s3://archive/{prefix}")
    world.archives.save(done, stored.version)
    for name in ["bagit.txt", *(f"data/f{i}" for i in range(files))]:
        world.access.put("archive", prefix + name, b"0123456789")
        world.access.set_state("archive", prefix + name, storage_class=storage_class)
    return archive_id


def test_download_gives_links_to_every_file(world: World) -> None:
    archive_id = _archived(world)
    result = world.service.download(READER, archive_id)
    assert result["status"] == "ready" and [f["path"] for f in result["files"]] == [
        "bagit.txt",
        "data/f0",
        "data/f1",
        "data/f2",
    ]
    assert all("?get&expires=3600" in f["url"] for f in result["files"]) and result["next"] is None
    assert [f["path"] for f in world.service.download(READER, archive_id, after="data/f0")["files"]] == [
        "data/f1",
        "data/f2",
    ]
    with pytest.raises(NotFound):
        world.service.download(OUTSIDER, archive_id)


def test_download_from_deep_archive_starts_one_restore_and_says_when_to_come_back(world: World) -> None:
    archive_id = _archived(world, storage_class="DEEP_ARCHIVE", files=2)
    first = world.service.download(READER, archive_id)
    assert first["status"] == "restoring" and first["objects_restoring"] == 3
    assert first["retry_after_seconds"] == 48 * 3600 and len(world.access.restores) == 3
    again = world.service.download(READER, archive_id)
    assert again["status"] == "restoring" and len(world.access.restores) == 3  # not asked twice
    for bucket, key, _days, _tier in world.access.restores:  # the restores finish
        world.access.set_state(bucket, key, restore="done")
    assert world.service.download(READER, archive_id)["status"] == "ready"


def test_download_of_an_unfinished_archive_is_a_conflict(world: World) -> None:
    archive_id = world.service.request(CHAMPION, UUID)["id"]
    with pytest.raises(Conflict):
        world.service.download(ROOT, archive_id)


def test_deposit_upload_needs_register_permission_and_a_bag_name(world: World) -> None:
    depositor = User("dep", register_base_uris=frozenset({"s3://deposits"}))
    link = world.service.deposit_upload(depositor, lambda: {"filename": "run 7.tar.gz"})
    assert link["method"] == "PUT" and link["uri"].startswith("s3://deposits/uploads/")
    assert link["uri"].endswith("/run 7.tar.gz") and "?put" in link["upload_url"]
    assert link["dataset"] == str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, link["uri"]))

    def unreadable() -> object:
        raise AssertionError("the body of a caller who may not deposit is never read")

    with pytest.raises(Forbidden):
        world.service.deposit_upload(CHAMPION, unreadable)
    for bad in ("run.exe", "../run.zip", "a/b.zip", "", ".zip", "x" * 300 + ".zip", "run\n.zip", 7, None):
        with pytest.raises(ValidationError):
            world.service.deposit_upload(depositor, lambda bad=bad: {"filename": bad})
    with pytest.raises(ValidationError):
        world.service.deposit_upload(depositor, lambda: ["run.zip"])


def test_the_dataset_record_shows_its_archives(world: World) -> None:
    catalogue = CatalogueService(world.repo, InMemorySearchIndex())
    assert catalogue.get_dataset(READER, UUID)["archival"] == {"status": None, "history": []}
    archive_id = _archived(world)
    shown = catalogue.get_dataset(READER, UUID)["archival"]
    assert shown["status"] == "archived" and [a["id"] for a in shown["history"]] == [archive_id]
