"""The Data Tracker's entities as records of the catalogue's record store.

Orders, datasets and collections are :class:`~chalicelib.adapters.dynamodb.facility.FacilityRecord` s
of the kinds :data:`ORDER`, :data:`DATASET` and :data:`COLLECTION`, kept in the same table as the
facility's records, so that the same stream derives their audit log
(:mod:`chalicelib.facility.audit`): one log, not two.

Each is known by a uuid (the Data Tracker's ``_id``); its record id is derived from that uuid
(:func:`record_id`), so a lookup by uuid is one read, and the log of a deleted entity is still
found by its uuid. A dataset is listed under its order (``lists[0] = "order=<uuid>"``), which is
how an order finds its datasets without a scan.

``fields`` holds the entity's own fields and two kept by this module: ``created_at``, and
``_comment`` (what the last change was, e.g. ``"Dataset deleted with its order"``): every change
writes it, so the stream carries it into the audit entry of that change, where the log view
(:mod:`chalicelib.tracker.log`) reads it back.
"""

from __future__ import annotations

import copy
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord, FacilityStore, uuid_record_id
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.domain import User
from chalicelib.errors import NotFound, VersionConflict
from chalicelib.facility.commented import COMMENT, CommentedRecords
from chalicelib.retries import Sleep, retry_lost_races

ORDER = "order"
DATASET = "dataset"
COLLECTION = "collection"
TRACKER_KINDS = (ORDER, DATASET, COLLECTION)
# what an entity's fields are until given (copied per record: the lists and maps are fresh)
_DESCRIBED = {"title": "", "description": "", "tags_standard": {}, "tags_user": {}}
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    ORDER: {**_DESCRIBED, "authors": [], "generators": [], "organisation": "", "editors": []},
    DATASET: {**_DESCRIBED, "cross_references": [], "published": False},
    COLLECTION: {**_DESCRIBED, "cross_references": [], "editors": [], "datasets": [], "published": False},
}
# fields the store keeps for this module, never part of an entity's document
KEPT = frozenset({COMMENT, "created_at"})
record_id = uuid_record_id  # the record id of the entity with this (canonical) uuid


def canonical_uuid(value: str) -> str | None:
    """``value`` as a canonical lowercase uuid, or ``None`` when it is not one."""
    try:
        return str(uuidlib.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def document(record: FacilityRecord) -> dict[str, Any]:
    """The entity's own fields, with ``_id``, its ``version`` (for versioned changes) and times."""
    out = {k: v for k, v in record.fields.items() if k not in KEPT}
    out["_id"] = record.uuid
    out["version"] = record.version
    out["created_at"] = record.fields.get("created_at")
    out["updated_at"] = record.updated_at
    return out


class TrackerRecords(CommentedRecords):
    """Reads and versioned writes of the Data Tracker's records; every write names its actor,
    time and comment. Authorization is the callers' (the services of this package)."""

    def __init__(
        self,
        store: FacilityStore,
        audit: Repository,
        clock: Callable[[], float] = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(store, clock)
        self._audit = audit  # where the stream-derived log of the records is read
        self._sleep = sleep  # the pause between the attempts of an edit that lost a race

    @property
    def audit(self) -> Repository:
        """Where the records' log is read (:mod:`chalicelib.tracker.log`)."""
        return self._audit

    @property
    def store(self) -> FacilityStore:
        return self._store

    def now(self) -> float:
        return self._clock()

    def find(self, kind: str, uuid: str) -> FacilityRecord | None:
        """The record of ``kind`` with ``uuid`` (any string: not a uuid → ``None``)."""
        canonical = canonical_uuid(uuid)
        if canonical is None:
            return None
        record = self._store.get(kind, record_id(canonical))
        return record if record is not None and record.uuid == canonical else None

    def get(self, kind: str, uuid: str) -> FacilityRecord:
        record = self.find(kind, uuid)
        if record is None:
            raise NotFound(f"no {kind} {uuid[:64]}")
        return record

    def all(self, kind: str) -> list[FacilityRecord]:
        return self._store.all(kind)

    def orders_of(self, uuids: Sequence[str]) -> dict[str, str]:
        """The order of each of ``uuids`` that is a dataset here (one batch read): the
        catalogue's project of the data registered with that uuid."""
        wanted = {record_id(c): c for c in (canonical_uuid(u) for u in uuids) if c is not None}
        found = self._store.get_many(DATASET, list(wanted)) if wanted else []
        return {r.uuid: str(r.fields["order"]) for r in found if wanted.get(r.id) == r.uuid and r.fields.get("order")}

    def datasets_of(self, order_uuid: str) -> list[FacilityRecord]:
        return self._store.listed(DATASET, 0, f"order={order_uuid}")

    def create(
        self, user: User, kind: str, fields: Mapping[str, Any], comment: str, *, order: str | None = None
    ) -> FacilityRecord:
        """A new record of ``kind`` with a new uuid (a dataset: listed under ``order``); the
        fields not given are the kind's :data:`DEFAULTS`."""
        uuid = str(uuidlib.uuid4())
        now = self._clock()
        defaults = copy.deepcopy(dict(DEFAULTS.get(kind, {})))
        record = FacilityRecord(
            kind=kind,
            id=record_id(uuid),
            uuid=uuid,
            version=1,
            fields={**defaults, **fields, "created_at": now, COMMENT: comment},
            lists=(f"order={order}" if order is not None else None, None),
            updated_at=now,
            updated_by=user.username,
        )
        self._store.create(record)
        return record

    def update(
        self,
        user: User,
        kind: str,
        uuid: str,
        change: Callable[[FacilityRecord], Mapping[str, Any]],
        comment: str,
        expected_version: int | None = None,
    ) -> FacilityRecord:
        """Apply ``change`` (the new field values, from the stored record) and save; no change,
        no write. With ``expected_version`` (a client's optimistic lock), a record at another
        version, or one that another write changed before the save, is a VersionConflict
        (naming the current version when it was read), and nothing is retried.

        Without it (the Data Tracker's ``/api/v1``: last writer wins), a save that another
        write overtook is done again from the record as it is then (``change`` applied to
        it anew: it may raise, e.g. a ValidationError, on the newer state), after a jittered
        pause, a bounded number of times (:func:`~chalicelib.retries.retry_lost_races`)."""

        def attempt() -> FacilityRecord:
            record = self.get(kind, uuid)
            if expected_version is not None and record.version != expected_version:
                raise VersionConflict(f"the {kind} is at version {record.version}", current_version=record.version)
            changes = change(record)
            if not changes:
                return record
            return self.save(user, record, changes, comment)

        if expected_version is not None:
            return attempt()
        return retry_lost_races(attempt, sleep=self._sleep, gave_up=f"the {kind} {uuid} keeps changing; try again")
