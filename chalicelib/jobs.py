"""Jobs started by schedules, queues, the admin API and the operator CLI: each takes the
composition root and runs one use case with the parts it needs."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from chalicelib.composition import Root

log = logging.getLogger(__name__)


# -- ingest ------------------------------------------------------------------------------
def run_reconcile(root: Root) -> dict[str, Any]:
    """Reconcile every S3 base URI and keep the report in the catalogue bucket."""
    from chalicelib.ingest.reconcile import reconcile, save_report

    ingest = root.ingest
    passive = frozenset({root.settings.archive_base_uri})
    report = reconcile(ingest, ingest.store, root.search, root.repo, passive=passive)
    save_report(root.objects, root.settings.catalogue_bucket, report)
    return report.to_dict()


def run_doi_reconcile(root: Root) -> dict[str, int]:
    """Send every DOI whose DataCite state or metadata lags its dataset (hourly)."""
    counts = root.dois.reconcile()
    log.info("DOI reconcile: %s", counts)
    return counts


def latest_reconcile_report(root: Root) -> dict[str, Any] | None:
    from chalicelib.ingest.reconcile import load_report

    return load_report(root.ingest.store, root.settings.catalogue_bucket)


def start_bulk_index(root: Root, base_uri: str) -> dict[str, Any]:
    """Start the asynchronous bulk index of an S3 base URI: one message to the ingest queue,
    whose handler lists the base URI step by step (:func:`on_ingest_message`)."""
    from chalicelib.ingest.ingestion import continuation_body

    root.ingest_queue.send(continuation_body(base_uri, ""))
    return {"base_uri": base_uri, "status": "started"}


def on_ingest_message(root: Root, body: str, receive_count: int) -> None:
    """One message of the ingest queue: an S3 notification, or a step of a bulk index."""
    from chalicelib.ingest.ingestion import enqueue_index, parse_continuation

    step = parse_continuation(body)
    if step is None:
        root.ingest.handle_message(body, receive_count)
        return
    base_uri, after = step
    record = root.repo.get_base_uri(base_uri)
    if record is None or record.deleted or not base_uri.startswith("s3://") or is_passive(root, base_uri):
        log.warning("bulk index of %r dropped: not a registered S3 base URI", base_uri)
        return
    queued, continues_after = enqueue_index(root.ingest_queue, root.ingest.store, base_uri, after)
    log.info("bulk index of %r: %d datasets queued after %r; continues: %r", base_uri, queued, after, continues_after)


def is_passive(root: Root, base_uri: str) -> bool:
    """The archive's base URI holds AIPs written by the catalogue: never registered from S3."""
    return base_uri == root.settings.archive_base_uri


# -- archive -----------------------------------------------------------------------------
def run_fixity_audit(
    root: Root, fraction: float | None = None, period_days: int = 30, metrics: Callable[[str], None] = print
) -> dict[str, Any]:
    """One run of the fixity audit over the deployed catalogue (see :mod:`chalicelib.archive.fixity`)."""
    from chalicelib.archive.fixity import run_fixity_audit as audit

    s = root.settings
    return audit(
        root.archive_records,
        root.repo,
        root.objects,
        s.archive_bucket,
        fraction=s.fixity_sample_fraction if fraction is None else fraction,
        rng=random.SystemRandom(),
        metrics=metrics,
        period_days=period_days,
        stage=s.stage,
    )
