"""The change feed: the events the catalogue publishes when its records change (issue 23).

Pure functions over what the tables' streams carry (no AWS, no clock): every change (through
the API, the ingest, the archive workflow or the operator's CLI) reaches a stream, and the
stream consumer (:mod:`chalicelib.catalogue.streams`) publishes what is derived here.

- ``dataset.registered`` / ``dataset.updated`` / ``dataset.removed``: an entry becoming
  visible to the searchers of its base URI (registered, or an upload that was incomplete
  becoming registered), changing while visible (a new version), and ceasing to be visible
  (its tombstone, or a physical delete). Refused and incomplete uploads, seen by registrars
  only, make no event.
- ``archive.completed`` / ``archive.failed``: an archive of an entry reaching ``archived``, or
  ``failed``, ``rejected`` or ``fixity_failed`` (the archive states kept on the entry by
  :mod:`chalicelib.archive.projection`, which the datasets stream carries).
- ``submission.published``: a metadata-submitter folder reaching ``published`` (the
  facility table's stream).
- ``project.created`` / ``project.updated`` / ``project.deleted``: the Data Tracker's orders
  and myMdC's proposals, the catalogue's projects (the facility table's stream); a save that
  changes none of the project's fields (the stamp naming a deleter) makes no event.

Every detail carries ``schema_version`` (the major version of its JSON Schema,
``schemas/events/<name>.v<N>.json``), ``id`` (a UUID derived from what changed and its
version: a stream record delivered again gives the same id, so consumers de-duplicate by it)
and ``time`` (seconds since the epoch, of the change). Beyond that, only what everyone who
may see the record may see: a dataset event never carries the README, annotations, manifest,
archives, status reasons or who made the change; a project event names the project only.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.archive.model import ARCHIVED, FAILED, FIXITY_FAILED, REJECTED
from chalicelib.domain import REGISTERED, Dataset, JSONObject

SCHEMA_VERSION = 1

DATASET_REGISTERED = "dataset.registered"
DATASET_UPDATED = "dataset.updated"
DATASET_REMOVED = "dataset.removed"
ARCHIVE_COMPLETED = "archive.completed"
ARCHIVE_FAILED = "archive.failed"
SUBMISSION_PUBLISHED = "submission.published"
PROJECT_CREATED = "project.created"
PROJECT_UPDATED = "project.updated"
PROJECT_DELETED = "project.deleted"
EVENT_NAMES = (
    DATASET_REGISTERED,
    DATASET_UPDATED,
    DATASET_REMOVED,
    ARCHIVE_COMPLETED,
    ARCHIVE_FAILED,
    SUBMISSION_PUBLISHED,
    PROJECT_CREATED,
    PROJECT_UPDATED,
    PROJECT_DELETED,
)

# The record kinds of the facility table that make events. Named here rather than imported:
# their owners' modules import the DynamoDB adapter, and this one stays free of it
# (tests/unit/test_change_feed.py checks they are the owners' values).
ORDER_KIND = "order"  # chalicelib.tracker.records.ORDER
PROPOSAL_KIND = "proposal"  # chalicelib.facility.schema's kind of myMdC's proposals
PROJECT_KINDS = frozenset({ORDER_KIND, PROPOSAL_KIND})
FOLDER_KIND = "submission_folder"  # chalicelib.submissions.records.FOLDER
FOLDER_PUBLISHED = "published"  # chalicelib.submissions.records.PUBLISHED
SUBMISSIONS_BASE_URI = "file://submissions"  # chalicelib.submissions.publishing.BASE_URI
# fields a save writes with every change, whatever changed (the comment of CommentedRecords)
BOOKKEEPING_FIELDS = frozenset({"_comment"})

ARCHIVE_FAILURES = frozenset({FAILED, REJECTED, FIXITY_FAILED})

# the namespace of the events' ids (uuid5 of the event name, the record and its version)
EVENT_ID_NAMESPACE = uuidlib.UUID("0b6f3c52-9d41-5e7a-8c2d-4f1e6a9b3d70")


@dataclass(frozen=True)
class ChangeEvent:
    """One event of the feed: ``name`` (EventBridge's detail type), ``detail`` (a JSON
    object, valid against ``schemas/events/<name>.v1.json``) and ``time`` (seconds since
    the epoch, the same as ``detail["time"]``)."""

    name: str
    detail: JSONObject
    time: float


class FeedRecord(Protocol):
    """What the feed reads of a facility-table record
    (:class:`chalicelib.adapters.dynamodb.facility.FacilityRecord` has it)."""

    @property
    def kind(self) -> str: ...

    @property
    def uuid(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def fields(self) -> Mapping[str, Any]: ...

    @property
    def updated_at(self) -> float: ...


def event_id(name: str, key: str, version: str) -> str:
    """The id of event ``name`` of record ``key`` at ``version``: the same for the same change."""
    return str(uuidlib.uuid5(EVENT_ID_NAMESPACE, f"{name}\n{key}\n{version}"))


def _event(name: str, key: str, version: str, time: float, fields: JSONObject) -> ChangeEvent:
    detail: JSONObject = {"schema_version": SCHEMA_VERSION, "id": event_id(name, key, version), "time": time}
    detail.update(fields)
    return ChangeEvent(name, detail, time)


# -- datasets --------------------------------------------------------------------------------
def _visible(entry: Dataset | None) -> bool:
    """Whether the searchers of the entry's base URI see it (registered, not deleted)."""
    return entry is not None and not entry.deleted and entry.status == REGISTERED


def _uri(*entries: Dataset | None) -> str | None:
    """The first replica's URI of the first of ``entries`` that has one (a tombstone has none)."""
    for entry in entries:
        if entry is not None and entry.replicas:
            return entry.replicas[0].uri
    return None


def _dataset_fields(entry: Dataset, uri: str | None) -> JSONObject:
    return {"uuid": entry.uuid, "base_uri": entry.base_uri, "uri": uri, "version": entry.version}


def _content_fields(entry: Dataset) -> JSONObject:
    """What a search hit shows of the entry (its summary), without its replicas or times of
    registration."""
    c = entry.content
    return {
        "name": c.name,
        "kind": c.type,
        "creator_username": c.creator_username,
        "description": c.description,
        "tags": list(c.tags),
        "project": c.project,
        "created_at": c.created_at,
        "frozen_at": c.frozen_at,
        "number_of_items": c.number_of_items,
        "size_in_bytes": c.size_in_bytes,
    }


def dataset_events(old: Dataset | None, new: Dataset | None) -> list[ChangeEvent]:
    """The event of one change of an entry (``old`` → ``new``, either ``None`` when the
    record did not exist before or does not after), or none.

    A physical delete gives ``new`` as the tombstone the consumer makes of ``old`` (its
    version one higher, its time the delete's). A change of the same version (only the
    archive projection changed) gives nothing here (see :func:`archive_events`).
    """
    if new is None:
        return []
    if not _visible(old) and _visible(new):
        fields = {**_dataset_fields(new, _uri(new)), **_content_fields(new)}
        return [_event(DATASET_REGISTERED, new.entry_id, str(new.version), new.updated_at, fields)]
    if _visible(old) and _visible(new) and old is not None and new.version > old.version:
        fields = {**_dataset_fields(new, _uri(new)), **_content_fields(new)}
        return [_event(DATASET_UPDATED, new.entry_id, str(new.version), new.updated_at, fields)]
    if _visible(old) and not _visible(new):
        fields = _dataset_fields(new, _uri(new, old))
        return [_event(DATASET_REMOVED, new.entry_id, str(new.version), new.updated_at, fields)]
    return []


# -- archives --------------------------------------------------------------------------------
def archive_events(
    uuid: str, base_uri: str, old: Mapping[str, JSONObject], new: Mapping[str, JSONObject]
) -> list[ChangeEvent]:
    """The events of the archives of entry (``uuid``, ``base_uri``) that reached a final
    state between two images of it: ``old`` and ``new`` map archive ids to the summaries kept
    on the entry (:meth:`chalicelib.archive.model.Archive.summary`). An archive seen by whoever
    may search ``base_uri`` (:func:`chalicelib.identity.permissions.may_see_archive`)."""
    events: list[ChangeEvent] = []
    for archive_id in sorted(new):
        summary = new[archive_id]
        status = str(summary.get("status", ""))
        before = old.get(archive_id)
        if before is not None and before.get("status") == status:
            continue
        if status == ARCHIVED:
            name = ARCHIVE_COMPLETED
        elif status in ARCHIVE_FAILURES:
            name = ARCHIVE_FAILED
        else:
            continue
        time = float(summary.get("updated_at") or 0.0)
        fields: JSONObject = {"archive_id": archive_id, "uuid": uuid, "base_uri": base_uri, "status": status}
        if name == ARCHIVE_COMPLETED:
            fields["aip_uri"] = summary.get("aip_uri")
        events.append(_event(name, archive_id, f"{status}@{time!r}", time, fields))
    return events


# -- facility-table records: projects and submissions ---------------------------------------
def _own_fields(record: FeedRecord) -> dict[str, Any]:
    return {k: v for k, v in record.fields.items() if k not in BOOKKEEPING_FIELDS}


def record_events(old: FeedRecord | None, new: FeedRecord | None) -> list[ChangeEvent]:
    """The events of one change of a facility-table record (a project or a submission
    folder; any other kind gives none)."""
    record = new if new is not None else old
    if record is None:
        return []
    if record.kind in PROJECT_KINDS:
        return _project_events(old, new, record)
    if record.kind == FOLDER_KIND and new is not None:
        return _submission_events(old, new)
    return []


def _project_events(old: FeedRecord | None, new: FeedRecord | None, record: FeedRecord) -> list[ChangeEvent]:
    """``record`` is ``new``, or ``old`` when the project was deleted."""
    if new is None:
        name = PROJECT_DELETED
    elif old is None:
        name = PROJECT_CREATED
    elif new.version > old.version and _own_fields(new) != _own_fields(old):
        name = PROJECT_UPDATED
    else:
        return []
    fields = {"project": record.uuid, "kind": record.kind, "version": record.version}
    return [_event(name, f"{record.kind}:{record.uuid}", str(record.version), record.updated_at, fields)]


def _submission_events(old: FeedRecord | None, new: FeedRecord) -> list[ChangeEvent]:
    if new.fields.get("state") != FOLDER_PUBLISHED:
        return []
    if old is not None and old.fields.get("state") == FOLDER_PUBLISHED:
        return []
    project = new.fields.get("project")
    fields: JSONObject = {
        "folder": new.uuid,
        "project": str(project) if project is not None else f"submission:{new.uuid}",
        "base_uri": SUBMISSIONS_BASE_URI,
        "published_at": new.fields.get("published_at"),
        "version": new.version,
    }
    return [_event(SUBMISSION_PUBLISHED, new.uuid, str(new.version), new.updated_at, fields)]
