"""Ingest jobs started by the schedule, the admin API and the CLI, wired from :mod:`chalicelib.deps`."""

from __future__ import annotations

from typing import Any

from chalicelib import deps


def run_reconcile() -> dict[str, Any]:
    """Reconcile every S3 base URI and keep the report in the catalogue bucket."""
    from chalicelib.ingest.reconcile import reconcile, save_report

    ingest = deps.get_ingest()
    report = reconcile(ingest, ingest.store, deps.get_search(), deps.get_repo())
    save_report(deps.aws_client("s3"), deps.get_settings().catalogue_bucket, report)
    return report.to_dict()


def latest_reconcile_report() -> dict[str, Any] | None:
    from chalicelib.ingest.reconcile import load_report

    return load_report(deps.get_ingest().store, deps.get_settings().catalogue_bucket)


def start_bulk_index(base_uri: str) -> dict[str, Any]:
    """Queue one ingest event per dataset found under an S3 base URI (the async bulk index)."""
    from chalicelib.ingest.service import enqueue_index

    bucket, _, prefix = base_uri.removeprefix("s3://").partition("/")
    sqs = deps.aws_client("sqs")
    url = sqs.get_queue_url(QueueName=deps.get_settings().ingest_queue)["QueueUrl"]
    queued, truncated = enqueue_index(sqs, url, deps.get_ingest().store, bucket, f"{prefix}/" if prefix else "")
    return {"base_uri": base_uri, "queued": queued, "truncated": truncated}
