"""Every write of an archive record is also kept on the entry it archives.

A lookup (``GET /datasets/{uuid}``) shows the entry's archives and their latest status; it
reads them with the entry, in the same single read, instead of querying the archives table
(see :meth:`chalicelib.adapters.dynamodb.repository.Repository.record_archival`).
"""

from __future__ import annotations

import logging

from chalicelib.adapters.dynamodb.archives import MAX_LISTED, ArchiveRepository
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.archive.model import Archive

log = logging.getLogger(__name__)


class ProjectedArchives(ArchiveRepository):
    """Archive records (``records``) whose creates and saves are projected onto the archived
    entry in ``repo``; reads go to ``records`` alone.

    The projection is written after the record: when it fails (logged, not raised: the
    record is what the workflow runs on) the entry shows the archive's previous state until
    the archive's next write, which carries the whole summary again.
    """

    def __init__(self, records: ArchiveRepository, repo: Repository) -> None:
        self._records = records
        self._repo = repo

    def get(self, archive_id: str) -> Archive | None:
        return self._records.get(archive_id)

    def create(self, archive: Archive) -> None:
        self._records.create(archive)
        self._project(archive)

    def save(self, archive: Archive, expected_version: int) -> None:
        self._records.save(archive, expected_version)
        self._project(archive)

    def for_dataset(self, dataset_uuid: str, limit: int = MAX_LISTED) -> list[Archive]:
        return self._records.for_dataset(dataset_uuid, limit)

    def with_status(self, status: str, limit: int = MAX_LISTED) -> list[Archive]:
        return self._records.with_status(status, limit)

    def _project(self, archive: Archive) -> None:
        if not archive.entry_base_uri:
            return
        try:
            self._repo.record_archival(
                archive.dataset_uuid, archive.entry_base_uri, archive.archive_id, archive.version, archive.summary()
            )
        except Exception:
            log.exception("archive %s: its entry still shows the previous state", archive.archive_id)
