"""Folders and ENA objects as records of the catalogue's record store, and who may touch them.

A folder (a submission: metadata-submitter's "folder") is a record of kind :data:`FOLDER`,
known by a uuid (``folderId``: 32 hex digits) from which its record id is derived: one read
per lookup. It is listed under its owner (``lists[0] = "owner=<username>"``).

An object (a draft, or a stored object) of type ``study`` is a record of kind ``ena_study``
whose id the store allocates; its accession id is ``CAT-STU-0000042`` (type code and id), so
a lookup by accession id is one read. It is listed under its folder
(``lists[0] = "folder=<folderId>"``). The records' changes reach the audit log through the
record table's stream, as every record's do.

Authorization is by pure predicates over a folder's fields (:func:`may_read`,
:func:`may_change`, :func:`may_manage`): the owner and the folder's editors touch it;
administrators read it; everyone else is told it does not exist.
"""

from __future__ import annotations

import copy
import re
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord, FacilityStore, uuid_record_id
from chalicelib.domain import ANONYMOUS, User
from chalicelib.errors import NotFound, VersionConflict
from chalicelib.facility.commented import COMMENT, CommentedRecords
from chalicelib.submissions.types import BY_CODE, TYPES, ObjectType

FOLDER = "submission_folder"
ACCESSION_PREFIX = "CAT"
_ACCESSION = re.compile(r"^CAT-([A-Z]{3})-([0-9]{7,12})$")
# the namespace of the catalogue dataset uuids of published objects (uuid5 of the accession)
DATASET_NAMESPACE = uuidlib.UUID("6f0c8a52-3c1e-5b7e-9a41-0e5d7c2b9f10")
# publication states of a folder: open → publishing (read-only; the work may resume) → published
OPEN, PUBLISHING, PUBLISHED = "open", "publishing", "published"


def object_kind(type_: ObjectType) -> str:
    return f"ena_{type_.name}"


def accession_of(type_: ObjectType, record_id: int) -> str:
    return f"{ACCESSION_PREFIX}-{type_.code}-{record_id:07d}"


def parse_accession(value: str) -> tuple[ObjectType, int] | None:
    """The type and record id an accession id names (``None``: not one of ours)."""
    match = _ACCESSION.match(value)
    if match is None or match.group(1) not in BY_CODE:
        return None
    return BY_CODE[match.group(1)], int(match.group(2))


def folder_uuid(value: str) -> str | None:
    """``value`` as a folder id (32 lowercase hex digits), or ``None``."""
    try:
        return uuidlib.UUID(value).hex if len(value) <= 36 else None
    except (ValueError, AttributeError, TypeError):
        return None


def dataset_uuid(accession: str) -> str:
    """The catalogue uuid of the published object ``accession``."""
    return str(uuidlib.uuid5(DATASET_NAMESPACE, accession))


# -- who may do what (pure) -----------------------------------------------------------------
def is_member(user: User, folder: FacilityRecord) -> bool:
    """The folder's owner or one of its editors."""
    if user.username == ANONYMOUS:
        return False
    return user.username == folder.fields.get("owner") or user.username in folder.fields.get("editors", [])


def may_read(user: User, folder: FacilityRecord) -> bool:
    return is_member(user, folder) or user.is_admin


def may_change(user: User, folder: FacilityRecord) -> bool:
    """Add, replace, patch or delete its objects, rename it, publish it: members, while open."""
    return is_member(user, folder) and folder.fields.get("state", OPEN) == OPEN


def may_manage(user: User, folder: FacilityRecord) -> bool:
    """Name its editors, delete it (while open): its owner."""
    return user.username == folder.fields.get("owner") and folder.fields.get("state", OPEN) == OPEN


def may_submit(user: User) -> bool:
    """Create folders: any signed-in user."""
    return user.username != ANONYMOUS


class SubmissionRecords(CommentedRecords):
    """Reads and versioned writes of folders and objects; every write names its actor, time
    and comment. Authorization is the caller's (:mod:`chalicelib.submissions.service`)."""

    def __init__(self, store: FacilityStore, clock: Callable[[], float] = time.time) -> None:
        super().__init__(store, clock)

    def now(self) -> float:
        return self._clock()

    # -- folders ---------------------------------------------------------------------------
    def find_folder(self, folder_id: str) -> FacilityRecord | None:
        canonical = folder_uuid(folder_id)
        if canonical is None:
            return None
        record = self._store.get(FOLDER, uuid_record_id(canonical))
        return record if record is not None and record.uuid == canonical else None

    def folders_of(self, username: str) -> list[FacilityRecord]:
        """The folders ``username`` owns or edits."""
        owned = {r.id: r for r in self._store.listed(FOLDER, 0, f"owner={username}")}
        # editors are few and folders are listed rarely: the edited ones are found by a read
        # of every folder (issue 24: a list slot per editor would make it one query)
        edited = {r.id: r for r in self._store.all(FOLDER) if username in r.fields.get("editors", [])}
        return sorted({**edited, **owned}.values(), key=lambda r: r.fields.get("created_at", 0.0))

    def all_folders(self) -> list[FacilityRecord]:
        return self._store.all(FOLDER)

    def create_folder(self, user: User, fields: Mapping[str, Any]) -> FacilityRecord:
        folder_id = uuidlib.uuid4().hex
        now = self._clock()
        record = FacilityRecord(
            kind=FOLDER,
            id=uuid_record_id(folder_id),
            uuid=folder_id,
            version=1,
            fields={**copy.deepcopy(dict(fields)), "owner": user.username, "state": OPEN, "created_at": now}
            | {COMMENT: "folder created"},
            lists=(f"owner={user.username}", None),
            updated_at=now,
            updated_by=user.username,
        )
        self._store.create(record)
        return record

    # -- objects ---------------------------------------------------------------------------
    def find_object(self, accession: str) -> tuple[ObjectType, FacilityRecord] | None:
        parsed = parse_accession(accession)
        if parsed is None:
            return None
        type_, record_id = parsed
        record = self._store.get(object_kind(type_), record_id)
        return (type_, record) if record is not None else None

    def objects_in(
        self, folder_id: str, types: Iterable[ObjectType] | None = None
    ) -> list[tuple[ObjectType, FacilityRecord]]:
        """Every object and draft of the folder (of ``types``: all when ``None``), by type then
        accession id: one query per type."""
        wanted = TYPES.values() if types is None else types
        return [(t, r) for t in wanted for r in self._store.listed(object_kind(t), 0, f"folder={folder_id}")]

    def create_object(
        self, user: User, type_: ObjectType, folder_id: str, fields: Mapping[str, Any], record_id: int
    ) -> FacilityRecord:
        """A new object of ``type_`` in the folder, with a record id from :meth:`new_id`."""
        now = self._clock()
        accession = accession_of(type_, record_id)
        record = FacilityRecord(
            kind=object_kind(type_),
            id=record_id,
            uuid=str(uuidlib.uuid5(DATASET_NAMESPACE, f"record:{accession}")),
            version=1,
            fields={**fields, "folder": folder_id, "owner": user.username, "created_at": now, COMMENT: "added"},
            lists=(f"folder={folder_id}", None),
            updated_at=now,
            updated_by=user.username,
        )
        self._store.create(record)
        return record

    def new_id(self, type_: ObjectType) -> int:
        return self._store.allocate_id(object_kind(type_))

    def require_version(self, record: FacilityRecord, expected: int | None) -> None:
        if expected is not None and record.version != expected:
            raise VersionConflict(f"it is at version {record.version}", current_version=record.version)


def not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"no {what} {ident[:64]}")
