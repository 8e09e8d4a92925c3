"""DynamoDB Streams consumers: the audit log, the search index, the summary's counters and the
change feed are derived here (the datasets and access tables' streams; the facility table's
feeds the audit log and the change feed).

Delivery is at least once (Lambda retries a failed batch; the local pump does the same),
so every output is idempotent: audit entries have deterministic ids written with
``attribute_not_exists``; index documents carry the item version with external
versioning, so a late or repeated record never regresses a document; the summary's counters
remember the version each entry was counted at (:mod:`chalicelib.catalogue.summary_store`);
change events carry deterministic ids consumers de-duplicate by. Audit is written before
indexing and counting, and events are published last: if the index, the counters or the
event bus are down the batch fails and is retried, the audit writes of the retry are no-ops
and its events are published again with the same ids.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from chalicelib.adapters.datacite import DataCiteError, DoiServiceUnavailable
from chalicelib.adapters.dynamodb.dois import DOI_PK
from chalicelib.adapters.dynamodb.dois import record_from_image as doi_from_image
from chalicelib.adapters.dynamodb.facility import record_from_image
from chalicelib.adapters.dynamodb.items import archival_from_item
from chalicelib.adapters.dynamodb.repository import DynamoRepository
from chalicelib.adapters.dynamodb.tables import BASE_URI_PK, USER_PK, DatasetItem
from chalicelib.adapters.errors import EventBusError, EventsNotPublished
from chalicelib.adapters.events import Event, EventBus, check_events
from chalicelib.catalogue import change_feed
from chalicelib.catalogue.audit import base_uri_changes, dataset_changes, index_failure_entries, user_changes
from chalicelib.catalogue.change_feed import ChangeEvent
from chalicelib.catalogue.dois import DoiService, doi_changes
from chalicelib.catalogue.index_documents import index_doc
from chalicelib.catalogue.search import SearchIndex
from chalicelib.catalogue.summary_counts import EntryState, entry_state
from chalicelib.catalogue.summary_store import SummaryCounts
from chalicelib.domain import SYSTEM_ACTOR, BaseUri, Dataset, entry_id
from chalicelib.errors import VersionConflict
from chalicelib.facility.audit import facility_changes
from chalicelib.metrics import emf_line

log = logging.getLogger(__name__)


INDEX_METRIC_NAMESPACE = "Catalogue/Index"
FEED_METRIC_NAMESPACE = "Catalogue/ChangeFeed"
FEED_FAILURES_METRIC = "EventFailures"  # change events refused for good, or a bus that does not exist
DOI_METRIC_NAMESPACE = "Catalogue/Dois"
DOI_FAILURES_METRIC = "SyncFailures"  # DOIs DataCite could not be brought in step with (retried or refused)
MAX_REASON_CHARS = 500


def _reason(step: str, exc: object) -> str:
    text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
    return f"{step}: {text}"[:MAX_REASON_CHARS]


def _key_of(image: Mapping[str, Any] | None) -> tuple[str, int]:
    """The entry id and version of a raw stream image, as far as they can be read."""
    image = image or {}
    uuid = str((image.get("uuid") or {}).get("S", "?"))
    base_uri = str((image.get("base_uri") or {}).get("S", "?"))
    try:
        version = int((image.get("version") or {}).get("N", 0))
    except (TypeError, ValueError):
        version = 0
    return entry_id(uuid, base_uri), version


class StreamProcessor:
    """The handlers of the three streams. With ``events`` (the change feed's bus; ``None``:
    no feed) each publishes the events :mod:`chalicelib.catalogue.change_feed` derives from
    its batch, with ``event_source`` as their source."""

    def __init__(
        self,
        repo: DynamoRepository,
        search: SearchIndex,
        *,
        stage: str = "",
        events: EventBus | None = None,
        event_source: str = "",
        dois: DoiService | None = None,
        summary: SummaryCounts | None = None,
        clock: Callable[[], float] = time.time,
        metrics: Callable[[str], None] = print,
    ) -> None:
        if events is not None and not event_source:
            raise ValueError("a change feed needs an event source")
        self._repo = repo
        self._search = search
        self._stage = stage
        self._events = events
        self._event_source = event_source
        self._dois = dois
        self._summary = summary
        self._clock = clock
        self._metrics = metrics

    def process_datasets(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Audit, index and publish the change events of a batch of datasets-table records;
        returns the documents sent.

        A record that cannot be read, audited, indexed or turned into events (a README that
        breaks the YAML parser, a string that is not valid Unicode, ...) is recorded as a
        failure and skipped: it must never hold back the records behind it, which the stream
        would redeliver without end. Only a backend that cannot be reached (the search index,
        the event bus) fails the batch.
        """
        docs: dict[str, dict[str, Any]] = {}
        counted: list[EntryState] = []  # for the summary's counters
        failures: list[tuple[str, int, str]] = []
        events: list[ChangeEvent] = []
        changed: list[Dataset] = []  # for the DOIs naming them
        for record in records:
            ddb = record.get("dynamodb", {})
            old_image, new_image = ddb.get("OldImage"), ddb.get("NewImage")
            if self._events is not None and old_image and new_image:
                events += self._archive_events(old_image, new_image)
            if old_image and new_image and 0 < _key_of(old_image)[1] == _key_of(new_image)[1]:
                continue  # the same version: only the archive workflow's projection changed
            try:
                old = self._repo.dataset_from_image(old_image) if old_image else None
                new = self._repo.dataset_from_image(new_image) if new_image else None
            except Exception as exc:
                failures.append((*_key_of(new_image or old_image), _reason("unreadable record", exc)))
                continue
            if new is not None:
                try:
                    entries = dataset_changes(old, new)
                except Exception as exc:
                    failures.append((new.entry_id, new.version, _reason("audit", exc)))
                    entries = []
                self._repo.append_audit(entries)
                changed.append(new)
                if self._events is not None:
                    events += self._dataset_events(old, new)
            elif old is not None:
                # A physical delete (TTL or purge) after the tombstone: keep the index in step.
                new = replace(old, deleted=True, version=old.version + 1)
                if self._events is not None:
                    removed_at = _record_time(ddb, old.updated_at)
                    events += self._dataset_events(old, replace(new, updated_at=removed_at))
            else:
                continue
            counted.append(entry_state(new))
            try:
                doc = index_doc(new)
            except Exception as exc:
                failures.append((new.entry_id, new.version, _reason("index document", exc)))
                continue
            if doc["entry_id"] not in docs or docs[doc["entry_id"]]["version"] < doc["version"]:
                docs[doc["entry_id"]] = doc
        if docs:
            rejected = self._search.upsert(list(docs.values()))
            failures += [(r.entry_id, r.version, _reason("index", r.reason)) for r in rejected]
        if self._summary is not None:
            self._summary.apply(counted)  # SummaryUnavailable fails the batch: it is counted on redelivery
        if failures:
            self._record_failures(failures)
        self._publish(events)
        if self._dois is not None:
            dois = self._dois
            self._sync_dois(
                [(f"dataset {d.entry_id} version {d.version}", _bound(dois.dataset_changed, d)) for d in changed]
            )
        return len(docs)

    def _sync_dois(self, calls: list[tuple[str, Callable[[], object]]]) -> None:
        """Bring DOIs in step (:class:`~chalicelib.catalogue.dois.DoiService`), last, once the
        audit, index and events of the batch are done. Every failure is logged and counted (EMF
        ``Catalogue/Dois SyncFailures``) and never fails the batch: a stream retried while
        DataCite is down would hold up indexing and the change feed behind it. What is left
        out of step (DataCite unreachable, a concurrent change of a DOI record) is sent by the
        hourly :meth:`~chalicelib.catalogue.dois.DoiService.reconcile`; a refusal by DataCite
        (it would refuse again) waits for the record to change."""
        failures: list[tuple[str, str]] = []
        for what, call in calls:
            try:
                call()
            except (DoiServiceUnavailable, VersionConflict) as exc:
                failures.append((what, _reason("doi", exc)))
            except DataCiteError as exc:
                failures.append((what, _reason("doi refused", exc)))
        if failures:
            for what, reason in failures:
                log.error("DOI not in step: %s: %r", what, reason)
            dimensions = {"Stage": self._stage}
            self._metrics(
                emf_line(DOI_METRIC_NAMESPACE, {DOI_FAILURES_METRIC: len(failures)}, dimensions, self._clock())
            )

    def _dataset_events(self, old: Dataset | None, new: Dataset) -> list[ChangeEvent]:
        try:
            return change_feed.dataset_events(old, new)
        except Exception as exc:
            self._record_feed_failures([(f"dataset {new.entry_id} version {new.version}", _reason("events", exc))])
            return []

    def _archive_events(self, old_image: Mapping[str, Any], new_image: Mapping[str, Any]) -> list[ChangeEvent]:
        """The events of the archives whose state the entry's record changed (its ``archival``)."""
        if old_image.get("archival") == new_image.get("archival"):
            return []
        try:
            old_item = DatasetItem.from_raw_data(dict(old_image))
            new_item = DatasetItem.from_raw_data(dict(new_image))
            return change_feed.archive_events(
                new_item.uuid, new_item.base_uri, archival_from_item(old_item), archival_from_item(new_item)
            )
        except Exception as exc:
            entry, version = _key_of(new_image)
            self._record_feed_failures([(f"archives of {entry} version {version}", _reason("events", exc))])
            return []

    def _publish(self, events: list[ChangeEvent]) -> None:
        """Publish ``events`` (in stream order) to the change feed's bus.

        Only a bus that cannot be reached fails the batch: a transient error, or events still
        refused for a reason that may pass after the adapter's retries; the batch is then
        retried and what was published already is published again with the same ids. An
        event the bus can never take (over EventBridge's size limit, malformed) is left out
        before publishing, and an event refused for good, or every event when the bus does not
        exist, is logged, counted (EMF ``Catalogue/ChangeFeed EventFailures``) and skipped,
        as a record that cannot be indexed is.
        """
        if self._events is None or not events:
            return
        wire: list[Event] = []
        failed: list[tuple[str, str]] = []
        for event in events:
            candidate = Event(self._event_source, event.name, event.detail, event.time)
            try:
                check_events([candidate])
            except ValueError as exc:  # EventTooLarge is a ValueError too
                failed.append((_described(event), _reason("event", exc)))
                continue
            wire.append(candidate)
        try:
            if wire:
                self._events.publish(wire)
        except EventsNotPublished as exc:
            if exc.transient:
                raise
            failed += [(_described(wire[r.position]), f"{r.code}: {r.message}"[:MAX_REASON_CHARS]) for r in exc.refused]
        except EventBusError as exc:  # the bus does not exist, or refuses the call as a whole
            failed += [(_described(e), _reason("event bus", exc)) for e in wire]
        if failed:
            self._record_feed_failures(failed)

    def _record_feed_failures(self, failures: list[tuple[str, str]]) -> None:
        for what, reason in failures:
            log.error("change event not published: %s: %r", what, reason)
        dimensions = {"Stage": self._stage}
        self._metrics(emf_line(FEED_METRIC_NAMESPACE, {FEED_FAILURES_METRIC: len(failures)}, dimensions, self._clock()))

    def _record_failures(self, failures: list[tuple[str, int, str]]) -> None:
        """Log, count (EMF ``Catalogue/Index IndexFailures``) and keep them for ``catalogue drift``."""
        for entry, version, reason in failures:
            log.error("not indexed: dataset entry %r version %d: %r", entry, version, reason)
        now = self._clock()
        self._repo.append_audit(index_failure_entries(failures, now, SYSTEM_ACTOR))
        self._metrics(emf_line(INDEX_METRIC_NAMESPACE, {"IndexFailures": len(failures)}, {"Stage": self._stage}, now))

    def process_access(self, records: Iterable[Mapping[str, Any]]) -> int:
        written = 0
        published: list[BaseUri] = []  # base URIs published or withdrawn: their DOIs follow
        for record in records:
            ddb = record.get("dynamodb", {})
            new_image, old_image = ddb.get("NewImage"), ddb.get("OldImage")
            if not new_image:
                continue  # users and base URIs are tombstoned, never removed by requests
            pk = new_image.get("pk", {}).get("S")
            if pk == USER_PK:
                new_user = self._repo.user_from_image(new_image)
                old_user = self._repo.user_from_image(old_image) if old_image else None
                entries = user_changes(old_user, new_user)
            elif pk == BASE_URI_PK:
                new_b = self._repo.base_uri_from_image(new_image)
                old_b = self._repo.base_uri_from_image(old_image) if old_image else None
                entries = base_uri_changes(old_b, new_b)
                if (old_b.public if old_b is not None else False) != new_b.public:
                    published.append(new_b)
            elif pk == DOI_PK:
                entries = doi_changes(doi_from_image(old_image) if old_image else None, doi_from_image(new_image))
            else:
                log.warning("ignoring access-table record with pk %r", pk)
                continue
            self._repo.append_audit(entries)
            written += len(entries)
        if self._dois is not None and published:
            dois = self._dois
            self._sync_dois([(f"base URI {b.base_uri}", _bound(dois.base_uri_changed, b)) for b in published])
        return written

    def process_facility(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Audit a batch of facility-table records (add, edit, delete of facility records;
        claims and id counters give nothing) and publish their change events (projects,
        published submissions); returns the entries written."""
        written = 0
        events: list[ChangeEvent] = []
        for record in records:
            ddb = record.get("dynamodb", {})
            old_image, new_image = ddb.get("OldImage"), ddb.get("NewImage")
            old = record_from_image(old_image) if old_image else None
            new = record_from_image(new_image) if new_image else None
            if old is None and new is None:
                continue  # a claim or an id counter
            entries = facility_changes(old, new)
            self._repo.append_audit(entries)
            written += len(entries)
            if self._events is not None:
                try:
                    events += change_feed.record_events(old, new)
                except Exception as exc:
                    shown = new or old
                    what = f"{shown.kind} {shown.id} version {shown.version}" if shown is not None else "a record"
                    self._record_feed_failures([(what, _reason("events", exc))])
        self._publish(events)
        return written


def _record_time(ddb: Mapping[str, Any], default: float) -> float:
    """When the stream record was written (Lambda's ``ApproximateCreationDateTime``, whole
    seconds since the epoch), or ``default``."""
    try:
        return float(ddb["ApproximateCreationDateTime"])
    except (KeyError, TypeError, ValueError):
        return default


def _bound(call: Callable[[Any], object], argument: Any) -> Callable[[], object]:
    return lambda: call(argument)


def _described(event: ChangeEvent | Event) -> str:
    name = event.name if isinstance(event, ChangeEvent) else event.detail_type
    return f"{name} {event.detail.get('id')}"
