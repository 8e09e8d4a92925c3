"""DynamoDB Streams consumers: the audit log and the search index are derived here (the
datasets and access tables' streams; the facility table's feeds the audit log only).

Delivery is at least once (Lambda retries a failed batch; the local pump does the same),
so both outputs are idempotent: audit entries have deterministic ids written with
``attribute_not_exists``, and index documents carry the item version with external
versioning, so a late or repeated record never regresses a document. Audit is written
before indexing: if the index is down the batch fails and is retried, and the audit
writes of the retry are no-ops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from chalicelib.adapters.dynamodb.facility import record_from_image
from chalicelib.adapters.dynamodb.repository import DynamoRepository
from chalicelib.adapters.dynamodb.tables import BASE_URI_PK, USER_PK
from chalicelib.catalogue.audit import base_uri_changes, dataset_changes, index_failure_entries, user_changes
from chalicelib.catalogue.index_documents import index_doc
from chalicelib.catalogue.search import SearchIndex
from chalicelib.domain import SYSTEM_ACTOR, entry_id
from chalicelib.facility.audit import facility_changes
from chalicelib.metrics import emf_line

log = logging.getLogger(__name__)


INDEX_METRIC_NAMESPACE = "Catalogue/Index"
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
    def __init__(
        self,
        repo: DynamoRepository,
        search: SearchIndex,
        *,
        stage: str = "",
        clock: Callable[[], float] = time.time,
        metrics: Callable[[str], None] = print,
    ) -> None:
        self._repo = repo
        self._search = search
        self._stage = stage
        self._clock = clock
        self._metrics = metrics

    def process_datasets(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Audit and index a batch of datasets-table records; returns the documents sent.

        A record that cannot be read, audited or indexed (a README that breaks the YAML
        parser, a string that is not valid Unicode, ...) is recorded as a failure and
        skipped: it must never hold back the records behind it, which the stream would
        redeliver without end. Only a backend that cannot be reached fails the batch.
        """
        docs: dict[str, dict[str, Any]] = {}
        failures: list[tuple[str, int, str]] = []
        for record in records:
            ddb = record.get("dynamodb", {})
            old_image, new_image = ddb.get("OldImage"), ddb.get("NewImage")
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
            elif old is not None:
                # A physical delete (TTL or purge) after the tombstone: keep the index in step.
                new = replace(old, deleted=True, version=old.version + 1)
            else:
                continue
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
        if failures:
            self._record_failures(failures)
        return len(docs)

    def _record_failures(self, failures: list[tuple[str, int, str]]) -> None:
        """Log, count (EMF ``Catalogue/Index IndexFailures``) and keep them for ``catalogue drift``."""
        for entry, version, reason in failures:
            log.error("not indexed: dataset entry %r version %d: %r", entry, version, reason)
        now = self._clock()
        self._repo.append_audit(index_failure_entries(failures, now, SYSTEM_ACTOR))
        self._metrics(emf_line(INDEX_METRIC_NAMESPACE, {"IndexFailures": len(failures)}, {"Stage": self._stage}, now))

    def process_access(self, records: Iterable[Mapping[str, Any]]) -> int:
        written = 0
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
            else:
                log.warning("ignoring access-table record with pk %r", pk)
                continue
            self._repo.append_audit(entries)
            written += len(entries)
        return written

    def process_facility(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Audit a batch of facility-table records (add, edit, delete of facility records;
        claims and id counters give nothing); returns the entries written."""
        written = 0
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
        return written
