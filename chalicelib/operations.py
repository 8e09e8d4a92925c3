"""Operator tasks: rebuild the index from DynamoDB and report drift between the two."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from chalicelib.indexdoc import index_doc
from chalicelib.search import SearchIndex
from chalicelib.store.repository import Repository

BULK_CHUNK = 200


@dataclass
class DriftReport:
    missing: list[str] = field(default_factory=list)  # in DynamoDB, not in the index
    stale: list[tuple[str, int, int]] = field(default_factory=list)  # (uuid, db version, index version)
    orphaned: list[str] = field(default_factory=list)  # live in the index, absent from DynamoDB
    checked: int = 0

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.orphaned)


def reindex(
    repo: Repository, search: SearchIndex, *, drop: bool = False, progress: Callable[[int], None] | None = None
) -> int:
    """Write every dataset's current document; returns how many were sent."""
    if drop:
        search.drop_index()
    search.ensure_index()
    sent = 0
    for chunk in _chunks(index_doc(d) for d in repo.iter_datasets()):
        search.upsert(chunk)
        sent += len(chunk)
        if progress:
            progress(len(chunk))
    return sent


def drift(repo: Repository, search: SearchIndex) -> DriftReport:
    report = DriftReport()
    indexed = dict(search.versions())
    seen: set[str] = set()
    for d in repo.iter_datasets():
        report.checked += 1
        seen.add(d.uuid)
        have = indexed.get(d.uuid)
        if have is None:
            if not d.deleted:
                report.missing.append(d.uuid)
        elif have < d.version:
            report.stale.append((d.uuid, d.version, have))
    report.orphaned = sorted(set(indexed) - seen)
    return report


def _chunks(docs: Iterator[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    chunk: list[dict[str, object]] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= BULK_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
