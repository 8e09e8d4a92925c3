"""The archives port and its DynamoDB (pynamodb) adapter (the fake: ``tests/fakes/archives.py``).

Both pass ``tests/contract/test_archive_repository_contract.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pynamodb.exceptions import DoesNotExist

from chalicelib.adapters.dynamodb.items import archive_from_item, archive_item
from chalicelib.adapters.dynamodb.repository import _conditional_save
from chalicelib.adapters.dynamodb.tables import ArchiveItem
from chalicelib.archive.model import Archive

# A list of archives reads at most this many records (newest first) per filter.
MAX_LISTED = 10_000


class ArchiveRepository(ABC):
    """Archive records.

    - ``create`` MUST fail with AlreadyExists (and change nothing) when the id exists.
    - ``save(archive, expected_version)`` MUST succeed only when the stored version equals
      ``expected_version`` (VersionConflict otherwise, nothing changed).
    - ``for_dataset`` / ``with_status`` return records newest first (by ``requested_at``),
      at most ``limit``, read consistently enough for a list page (a GSI is eventually
      consistent in DynamoDB: a record may show with its previous status for a moment).
    """

    @abstractmethod
    def get(self, archive_id: str) -> Archive | None: ...

    @abstractmethod
    def create(self, archive: Archive) -> None: ...

    @abstractmethod
    def save(self, archive: Archive, expected_version: int) -> None: ...

    @abstractmethod
    def for_dataset(self, dataset_uuid: str, limit: int = MAX_LISTED) -> list[Archive]: ...

    @abstractmethod
    def with_status(self, status: str, limit: int = MAX_LISTED) -> list[Archive]: ...


class DynamoArchiveRepository(ArchiveRepository):
    def get(self, archive_id: str) -> Archive | None:
        try:
            return archive_from_item(ArchiveItem.get(archive_id, consistent_read=True))
        except DoesNotExist:
            return None

    def create(self, archive: Archive) -> None:
        _conditional_save(archive_item(archive), ArchiveItem.archive_id.does_not_exist(), None)

    def save(self, archive: Archive, expected_version: int) -> None:
        _conditional_save(archive_item(archive), ArchiveItem.version == expected_version, expected_version)

    def for_dataset(self, dataset_uuid: str, limit: int = MAX_LISTED) -> list[Archive]:
        query = ArchiveItem.by_dataset.query(dataset_uuid, scan_index_forward=False, limit=limit)
        return [archive_from_item(i) for i in query]

    def with_status(self, status: str, limit: int = MAX_LISTED) -> list[Archive]:
        query = ArchiveItem.by_status.query(status, scan_index_forward=False, limit=limit)
        return [archive_from_item(i) for i in query]
