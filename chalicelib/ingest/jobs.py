"""Ingest jobs started by the schedule, the admin API and the CLI, wired from :mod:`chalicelib.deps`."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib import deps

log = logging.getLogger(__name__)


def run_reconcile() -> dict[str, Any]:
    """Reconcile every S3 base URI and keep the report in the catalogue bucket."""
    from chalicelib.ingest.reconcile import reconcile, save_report

    ingest = deps.get_ingest()
    passive = frozenset({deps.get_settings().archive_base_uri})
    report = reconcile(ingest, ingest.store, deps.get_search(), deps.get_repo(), passive=passive)
    save_report(deps.aws_client("s3"), deps.get_settings().catalogue_bucket, report)
    return report.to_dict()


def latest_reconcile_report() -> dict[str, Any] | None:
    from chalicelib.ingest.reconcile import load_report

    return load_report(deps.get_ingest().store, deps.get_settings().catalogue_bucket)


def start_bulk_index(base_uri: str) -> dict[str, Any]:
    """Start the asynchronous bulk index of an S3 base URI: one message to the ingest queue,
    whose handler lists the base URI step by step (:func:`on_ingest_message`)."""
    from chalicelib.ingest.service import continuation_body

    sqs = deps.aws_client("sqs")
    url = sqs.get_queue_url(QueueName=deps.get_settings().ingest_queue)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=continuation_body(base_uri, ""))
    return {"base_uri": base_uri, "status": "started"}


def on_ingest_message(body: str, receive_count: int) -> None:
    """One message of the ingest queue: an S3 notification, or a step of a bulk index."""
    from chalicelib.ingest.service import enqueue_index, parse_continuation

    step = parse_continuation(body)
    if step is None:
        deps.get_ingest().handle_message(body, receive_count)
        return
    base_uri, after = step
    record = deps.get_repo().get_base_uri(base_uri)
    if record is None or record.deleted or not base_uri.startswith("s3://") or is_passive(base_uri):
        log.warning("bulk index of %r dropped: not a registered S3 base URI", base_uri)
        return
    sqs = deps.aws_client("sqs")
    url = sqs.get_queue_url(QueueName=deps.get_settings().ingest_queue)["QueueUrl"]
    queued, continues_after = enqueue_index(sqs, url, deps.get_ingest().store, base_uri, after)
    log.info("bulk index of %r: %d datasets queued after %r; continues: %r", base_uri, queued, after, continues_after)


def is_passive(base_uri: str) -> bool:
    """The archive's base URI holds AIPs written by the catalogue: never registered from S3."""
    return base_uri == deps.get_settings().archive_base_uri
