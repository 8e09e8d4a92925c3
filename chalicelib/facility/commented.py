"""Versioned writes of records that carry a comment: what each change was.

The Data Tracker's records (:mod:`chalicelib.tracker.records`) and the metadata submissions
(:mod:`chalicelib.submissions.records`) write ``_comment`` with every change, so that the
stream carries it into the audit entry of that change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord, FacilityStore
from chalicelib.domain import User

COMMENT = "_comment"


class CommentedRecords:
    """``save`` and ``delete`` of records in ``store``, stamped with actor, time and comment."""

    def __init__(self, store: FacilityStore, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def save(self, user: User, record: FacilityRecord, changes: Mapping[str, Any], comment: str) -> FacilityRecord:
        """``record`` with ``changes`` applied, saved at its version (VersionConflict when it
        changed meanwhile)."""
        updated = replace(
            record,
            version=record.version + 1,
            fields={**record.fields, **changes, COMMENT: comment},
            updated_at=self._clock(),
            updated_by=user.username,
        )
        self._store.save(updated, record.version)
        return updated

    def delete(self, user: User, record: FacilityRecord, comment: str) -> None:
        """Delete ``record`` at its version: saved once more first naming the deleter and the
        comment (the store deletes outright; the audit log reads the last image)."""
        stamped = self.save(user, record, {}, comment)
        self._store.delete(record.kind, record.id, stamped.version)
