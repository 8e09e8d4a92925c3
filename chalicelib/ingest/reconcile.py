"""Reconciliation: what S3 holds against what the catalogue knows, for every registered S3
base URI. Events can be lost (S3 delivers at least once, usually, not always): this job
registers what an event was missed for (the bulk index, idempotent) and reports replicas
whose objects are gone. Run daily by ``@app.schedule`` and on demand by ``catalogue reconcile``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.object_storage import ObjectStorage
from chalicelib.catalogue.search import SearchIndex, SearchQuery
from chalicelib.ingest.bags.targets import ARCHIVE_SUFFIXES, BAG_MARKER
from chalicelib.ingest.ingestion import IngestService, index_prefix
from chalicelib.ingest.layouts import SIDECAR_NAMES, UUID_RE

log = logging.getLogger(__name__)
REPORT_KEY = "reconcile/latest.json"
PAGE = 100
MAX_PAGES = 10_000  # bound on the walk over one base URI's datasets


@dataclass
class BaseUriFindings:
    base_uri: str
    outcomes: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    missing_replicas: list[dict[str, str]] = field(default_factory=list)
    checked_replicas: int = 0


@dataclass
class ReconcileReport:
    started_at: float
    finished_at: float = 0.0
    base_uris: list[BaseUriFindings] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def replica_exists(store: ObjectStorage, uri: str) -> bool:
    """Whether the objects a replica URI stands for are still there."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if re.fullmatch(UUID_RE, key):  # dtool: s3://bucket/<uuid>, registration key at the root
        return store.head(bucket, f"dtool-{key}") is not None
    if key.lower().endswith(ARCHIVE_SUFFIXES):
        return store.head(bucket, key) is not None
    return any(store.head(bucket, f"{key}/{name}") is not None for name in (*SIDECAR_NAMES, BAG_MARKER))


def reconcile(
    ingest: IngestService,
    store: ObjectStorage,
    search: SearchIndex,
    repo: Repository,
    *,
    clock: Callable[[], float] = time.time,
    passive: frozenset[str] = frozenset(),
) -> ReconcileReport:
    """``passive`` base URIs (the archive's) are only checked for vanished replicas: what
    they hold is written by the catalogue itself and must never be registered from S3."""
    report = ReconcileReport(started_at=clock())
    for base in repo.list_base_uris():
        if not base.base_uri.startswith("s3://"):
            continue
        findings = BaseUriFindings(base.base_uri)
        bucket, _, prefix = base.base_uri.removeprefix("s3://").partition("/")
        if base.base_uri not in passive:
            indexed = index_prefix(ingest, store, bucket, f"{prefix}/" if prefix else "")
            findings.outcomes = dict(indexed.outcomes)
            findings.problems = [{"uri": p.uri, "status": p.status, "reason": p.reason} for p in indexed.problems]
        after: list[Any] | None = None
        for _ in range(MAX_PAGES):
            result = search.search(SearchQuery(base_uris=(base.base_uri,), sort="created", size=PAGE, after=after))
            for hit in result.hits:
                for replica in hit["replicas"]:
                    if replica["base_uri"] != base.base_uri:
                        continue
                    findings.checked_replicas += 1
                    if not replica_exists(store, replica["uri"]):
                        findings.missing_replicas.append({"uuid": hit["uuid"], "uri": replica["uri"]})
            if result.next_after is None:
                break
            after = result.next_after
        for missing in findings.missing_replicas:
            log.warning("reconcile: %r of %r is gone from S3", missing["uri"], missing["uuid"])
        report.base_uris.append(findings)
    report.finished_at = clock()
    return report


def save_report(store: ObjectStorage, bucket: str, report: ReconcileReport) -> None:
    """Keep ``report`` as the latest (``reconcile/latest.json`` in ``bucket``)."""
    body = json.dumps(report.to_dict(), indent=1).encode()
    store.put(bucket, REPORT_KEY, body, content_type="application/json")


def load_report(store: ObjectStorage, bucket: str) -> dict[str, Any] | None:
    text = store.get_text(bucket, REPORT_KEY, 64 * 1024 * 1024)
    return None if text is None else dict(json.loads(text))
