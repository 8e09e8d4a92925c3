"""The archives port, its DynamoDB (pynamodb) adapter and an in-memory fake.

Both pass ``tests/contract/test_archive_repository_contract.py``.
"""

from __future__ import annotations

import copy
import json
from abc import ABC, abstractmethod
from dataclasses import replace
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.archive.model import Archive, StepState
from chalicelib.errors import AlreadyExists, VersionConflict
from chalicelib.store.repository import _conditional_save
from chalicelib.store.tables import ArchiveItem

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
            return _from_item(ArchiveItem.get(archive_id, consistent_read=True))
        except DoesNotExist:
            return None

    def create(self, archive: Archive) -> None:
        _conditional_save(_item(archive), ArchiveItem.archive_id.does_not_exist(), None)

    def save(self, archive: Archive, expected_version: int) -> None:
        _conditional_save(_item(archive), ArchiveItem.version == expected_version, expected_version)

    def for_dataset(self, dataset_uuid: str, limit: int = MAX_LISTED) -> list[Archive]:
        query = ArchiveItem.by_dataset.query(dataset_uuid, scan_index_forward=False, limit=limit)
        return [_from_item(i) for i in query]

    def with_status(self, status: str, limit: int = MAX_LISTED) -> list[Archive]:
        query = ArchiveItem.by_status.query(status, scan_index_forward=False, limit=limit)
        return [_from_item(i) for i in query]


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
    # the same JSON round trip as the DynamoDB item, so that callers never share state
    return replace(
        archive,
        steps={k: replace(v) for k, v in archive.steps.items()},
        fixity=json.loads(json.dumps(dict(archive.fixity))),
        base_uris=tuple(archive.base_uris),
    )


def _item(a: Archive) -> ArchiveItem:
    return ArchiveItem(
        archive_id=a.archive_id,
        dataset_uuid=a.dataset_uuid,
        content_hash=a.content_hash,
        source_uri=a.source_uri,
        base_uris=list(a.base_uris),
        requested_by=a.requested_by,
        requested_at=a.requested_at,
        updated_at=a.updated_at,
        version=a.version,
        status=a.status,
        steps={k: copy.copy(v.__dict__) for k, v in a.steps.items()},
        aip_uri=a.aip_uri or None,
        aip_bytes=a.aip_bytes,
        aip_objects=a.aip_objects,
        tagmanifest_sha256=a.tagmanifest_sha256 or None,
        storage_class=a.storage_class or None,
        failed_step=a.failed_step or None,
        error=a.error or None,
        retries=a.retries,
        fixity=dict(a.fixity) or None,
    )


def _from_item(item: ArchiveItem) -> Archive:
    steps: dict[str, Any] = item.steps or {}
    return Archive(
        archive_id=item.archive_id,
        dataset_uuid=item.dataset_uuid,
        content_hash=item.content_hash,
        source_uri=item.source_uri,
        base_uris=tuple(str(b) for b in item.base_uris or ()),
        requested_by=item.requested_by,
        requested_at=float(item.requested_at),
        updated_at=float(item.updated_at),
        version=int(item.version),
        status=item.status,
        steps={k: StepState(**v) for k, v in steps.items()},
        aip_uri=item.aip_uri or "",
        aip_bytes=int(item.aip_bytes or 0),
        aip_objects=int(item.aip_objects or 0),
        tagmanifest_sha256=item.tagmanifest_sha256 or "",
        storage_class=item.storage_class or "",
        failed_step=item.failed_step or "",
        error=item.error or "",
        retries=int(item.retries or 0),
        fixity=item.fixity or {},
    )
