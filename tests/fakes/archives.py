"""In-memory fake of the archives port (:mod:`chalicelib.adapters.dynamodb.archives`); it
passes the same contract suite (``tests/contract/test_archive_repository_contract.py``)."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.archives import MAX_LISTED, ArchiveRepository
from chalicelib.adapters.dynamodb.items import archive_from_item, archive_item, round_trip
from chalicelib.archive.model import Archive
from chalicelib.errors import AlreadyExists, VersionConflict


class InMemoryArchiveRepository(ArchiveRepository):
    def __init__(self) -> None:
        self._items: dict[str, Archive] = {}

    def get(self, archive_id: str) -> Archive | None:
        found = self._items.get(archive_id)
        return None if found is None else _copy(found)

    def create(self, archive: Archive) -> None:
        if archive.archive_id in self._items:
            raise AlreadyExists(f"archive {archive.archive_id} exists")
        self._items[archive.archive_id] = _copy(archive)

    def save(self, archive: Archive, expected_version: int) -> None:
        stored = self._items.get(archive.archive_id)
        if stored is None or stored.version != expected_version:
            raise VersionConflict(f"archive {archive.archive_id} changed meanwhile")
        self._items[archive.archive_id] = _copy(archive)

    def for_dataset(self, dataset_uuid: str, limit: int = MAX_LISTED) -> list[Archive]:
        return self._newest([a for a in self._items.values() if a.dataset_uuid == dataset_uuid], limit)

    def with_status(self, status: str, limit: int = MAX_LISTED) -> list[Archive]:
        return self._newest([a for a in self._items.values() if a.status == status], limit)

    @staticmethod
    def _newest(found: list[Archive], limit: int) -> list[Archive]:
        found.sort(key=lambda a: (a.requested_at, a.archive_id), reverse=True)
        return [_copy(a) for a in found[:limit]]


def _copy(archive: Archive) -> Archive:
    # the same round trip as the DynamoDB item, so that callers never share state
    return archive_from_item(round_trip(archive_item(archive)))
