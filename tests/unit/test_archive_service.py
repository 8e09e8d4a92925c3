"""Archive requests, visibility and restarts (in-memory fakes; no AWS)."""

from __future__ import annotations

import pytest

from chalicelib.archive import model
from chalicelib.archive.service import ArchiveService
from chalicelib.archive.workflow import InMemoryWorkflow
from chalicelib.audit import dataset_subject
from chalicelib.domain import User
from chalicelib.errors import ArchiveExists, Conflict, Forbidden, NotFound, ValidationError
from chalicelib.memsearch import InMemorySearchIndex
from chalicelib.service import CatalogueService
from chalicelib.store.archives import InMemoryArchiveRepository
from chalicelib.store.memory import InMemoryRepository
from chalicelib.validation import parse_registration

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
        self.catalogue.add_base_uri(ROOT, LAB, "")
        self.archives = InMemoryArchiveRepository()
        self.workflow = InMemoryWorkflow()
        self.now = 1000.0
        self.service = ArchiveService(self.archives, self.repo, self.workflow, clock=lambda: self.now)

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
    entries, _ = world.repo.list_audit(dataset_subject(UUID), 100, None)
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
