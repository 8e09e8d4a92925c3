"""Operator tasks: rebuild the index from DynamoDB and report drift between the two (per entry)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.audit import INDEX_FAILURES_SUBJECT
from chalicelib.catalogue.index_documents import index_doc
from chalicelib.catalogue.search import SearchIndex
from chalicelib.domain import AuditEntry

BULK_CHUNK = 200


@dataclass
class DriftReport:
    # entries are named by entry id (``uuid@base_uri``)
    missing: list[str] = field(default_factory=list)  # in DynamoDB, not in the index
    stale: list[tuple[str, int, int]] = field(default_factory=list)  # (entry, db version, index version)
    orphaned: list[str] = field(default_factory=list)  # live in the index, absent from DynamoDB
    checked: int = 0
    # why a missing or stale entry was not indexed, when the stream consumer recorded it
    reasons: dict[str, str] = field(default_factory=dict)
    # the served index was made by an older mapping: some searches miss documents until a reindex
    mapping_outdated: bool = False

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphaned or self.mapping_outdated)


@dataclass
class ReindexReport:
    written: int = 0
    caught_up: int = 0  # documents written again after the switch (changes made meanwhile)
    failed: list[tuple[str, int, str]] = field(default_factory=list)  # (entry id, version, reason)


def reindex(repo: Repository, search: SearchIndex, *, progress: Callable[[int], None] | None = None) -> ReindexReport:
    """Rebuild the index from DynamoDB (the truth) without ever serving an empty one.

    Every dataset's document goes into a new index, which replaces the served one in one
    step (:meth:`SearchIndex.rebuild`); a failure on the way leaves the served index as it
    was. Changes the stream consumer wrote to the old index meanwhile are then written
    again from a second read of the table (external versions make this idempotent). A
    record that cannot be made into a document is reported, not fatal.
    """
    report = ReindexReport()

    def docs() -> Iterator[dict[str, object]]:
        for n, dataset in enumerate(repo.iter_datasets(), 1):
            try:
                yield index_doc(dataset)
            except Exception as exc:
                report.failed.append((dataset.entry_id, dataset.version, f"{type(exc).__name__}: {exc}"[:500]))
            if progress and n % BULK_CHUNK == 0:
                progress(BULK_CHUNK)

    report.written, rejected = search.rebuild(docs())
    for chunk in _chunks(_documents(repo, report)):
        rejected += search.upsert(chunk)
        report.caught_up += len(chunk)
    reported = {(entry, version) for entry, version, _ in report.failed}
    for r in rejected:  # the catch-up pass rejects what the rebuild rejected: report each once
        if (r.entry_id, r.version) not in reported:
            reported.add((r.entry_id, r.version))
            report.failed.append((r.entry_id, r.version, r.reason))
    return report


def _documents(repo: Repository, report: ReindexReport) -> Iterator[dict[str, object]]:
    failed = {entry for entry, _, _ in report.failed}
    for dataset in repo.iter_datasets():
        if dataset.entry_id in failed:
            continue
        try:
            doc = index_doc(dataset)
        except Exception:  # reported by the first pass
            continue
        yield doc


def drift(repo: Repository, search: SearchIndex) -> DriftReport:
    report = DriftReport(mapping_outdated=search.mapping_outdated())
    indexed = dict(search.versions())
    seen: set[str] = set()
    for d in repo.iter_datasets():
        report.checked += 1
        seen.add(d.entry_id)
        have = indexed.get(d.entry_id)
        if have is None:
            if not d.deleted:
                report.missing.append(d.entry_id)
        elif have < d.version:
            report.stale.append((d.entry_id, d.version, have))
    report.orphaned = sorted(set(indexed) - seen)
    behind = set(report.missing) | {entry for entry, _, _ in report.stale}
    for entry in _index_failures(repo):
        if entry.entity_id in behind:
            report.reasons[entry.entity_id] = str(entry.value.get("reason", ""))  # the newest wins
    return report


MAX_FAILURE_ENTRIES = 10_000


def _index_failures(repo: Repository) -> Iterator[AuditEntry]:
    """The recorded indexing failures, oldest first (at most MAX_FAILURE_ENTRIES)."""
    after: str | None = None
    for _ in range(MAX_FAILURE_ENTRIES // 100):
        entries, after = repo.list_audit(INDEX_FAILURES_SUBJECT, 100, after)
        yield from entries
        if after is None:
            return


def _chunks(docs: Iterator[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    chunk: list[dict[str, object]] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= BULK_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
