"""The asynchronous bulk index in process: POST /base-uris/{uri}/index queues its first step
on the ingest queue (SQS in moto), and each step queues one S3-shaped event per dataset and,
past its limit, the next step."""

from __future__ import annotations

import json

from chalicelib import jobs
from chalicelib.composition import root
from chalicelib.ingest.events import parse_notification
from chalicelib.ingest.ingestion import parse_continuation
from tests.functional.conftest import BUCKET_A, Api, base_uri_path


def drain() -> list[str]:
    """Every message of the ingest queue, deleted as read."""
    queue, bodies = root().ingest_queue, []
    while batch := queue.receive(10, visibility_timeout=30):
        for message in batch:
            bodies.append(message.body)
            queue.delete(message.receipt_handle)
    return bodies


def test_index_queues_a_step_then_one_event_per_dataset(personas: Api) -> None:
    bucket = BUCKET_A.removeprefix("s3://")
    s3 = root().aws_client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    keys = {f"runs/run-{i:02d}/dataset.json" for i in range(13)}
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps({"name": key.split("/")[1]}).encode())
    drain()

    r = personas.post(f"/base-uris/{base_uri_path(BUCKET_A)}/index", {}, user="admin")
    assert r.status_code == 202, r.body
    [step] = drain()
    assert parse_continuation(step) == (BUCKET_A, "")

    jobs.on_ingest_message(root(), step, 1)
    events = [e for body in drain() for e in parse_notification(body)]
    assert {e.key for e in events} == keys and len(events) == len(keys)


def test_only_admins_index(personas: Api) -> None:
    assert personas.post(f"/base-uris/{base_uri_path(BUCKET_A)}/index", {}, user="champion").status_code == 403
    assert not drain()
