"""The caller's record is reused by a warm container for ``principal_ttl`` seconds: one
read less per request; changes made through the same service apply at once, changes made
elsewhere (another container, the operator CLI) within the TTL."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain import User
from chalicelib.errors import Forbidden
from chalicelib.identity.access import AccessService
from tests.fakes.repository import InMemoryRepository

ROOT = User("root", is_admin=True)
LAB = "s3://lab"


class CountingRepository(InMemoryRepository):
    def __init__(self) -> None:
        super().__init__()
        self.user_reads = 0

    def get_user(self, username: str) -> User | None:
        self.user_reads += 1
        return super().get_user(username)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rig() -> tuple[CountingRepository, Clock, AccessService, AccessService]:
    repo, clock = CountingRepository(), Clock()
    here = AccessService(repo, principal_ttl=5.0, monotonic=clock)
    elsewhere = AccessService(repo, principal_ttl=5.0, monotonic=clock)  # another container
    here.add_base_uri(ROOT, LAB, "")
    return repo, clock, here, elsewhere


def test_a_caller_is_read_once_per_ttl(rig: Any) -> None:
    repo, clock, here, _ = rig
    here.principal("ana")  # created on first sight
    reads = repo.user_reads
    for _ in range(10):
        assert here.principal("ana").username == "ana"
    assert repo.user_reads == reads
    clock.now += 5.0
    here.principal("ana")
    assert repo.user_reads == reads + 1


def test_changes_through_the_same_service_apply_at_once(rig: Any) -> None:
    _, _, here, _ = rig
    assert here.principal("ana").search_base_uris == frozenset()
    here.set_permissions(ROOT, LAB, frozenset({"ana"}), frozenset())
    assert here.principal("ana").search_base_uris == frozenset({LAB})
    here.delete_user(ROOT, "ana")
    with pytest.raises(Forbidden):
        here.principal("ana")


def test_changes_made_elsewhere_apply_within_the_ttl(rig: Any) -> None:
    _, clock, here, elsewhere = rig
    here.principal("ana")
    elsewhere.set_permissions(ROOT, LAB, frozenset({"ana"}), frozenset({"ana"}))
    assert here.principal("ana").register_base_uris == frozenset()  # still the cached record
    clock.now += 5.0
    assert here.principal("ana").register_base_uris == frozenset({LAB})
    elsewhere.delete_user(ROOT, "ana")
    clock.now += 5.0
    with pytest.raises(Forbidden):
        here.principal("ana")


def test_no_ttl_reads_every_time() -> None:
    repo = CountingRepository()
    access = AccessService(repo)
    access.principal("ana")
    reads = repo.user_reads
    access.principal("ana")
    assert repo.user_reads == reads + 1
