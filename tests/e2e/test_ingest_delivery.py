"""Exactly-once effect under at-least-once delivery, against moto in server mode:
duplicated and shuffled events, late older events, a poison message, crashes after commit."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

import pytest

from chalicelib.adapters.queues import SqsQueue
from chalicelib.composition import Root, install
from chalicelib.ingest.dlq import list_dead_letters, redrive
from infra.local.sqs import QueuePoller
from infra.local.stack import LocalStack, patched_environ
from tests.e2e.helpers import Client, persona, scale, total, unique, wait_for

# make test: 240 events for 120 keys, 30 overwrites, 30 crashes; make soak: 1,000 / 500 / 100 / 100
KEYS = scale(120, 500)
OVERWRITES = scale(30, 100)
CRASHES = scale(30, 100)


def notification(bucket: str, key: str, etag: str, sequencer: str) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "eu-west-1",
                    "eventTime": "2026-11-23T12:00:00.000Z",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": bucket},
                        "object": {"key": quote_plus(key), "size": 10, "eTag": etag, "sequencer": sequencer},
                    },
                }
            ]
        }
    )


def send_all(sqs: Any, url: str, bodies: list[str]) -> None:
    for i in range(0, len(bodies), 10):
        entries = [{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[i : i + 10])]
        assert not sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed")


def queue_empty(sqs: Any, url: str) -> bool:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return attrs["ApproximateNumberOfMessages"] == "0" and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def audit_actions(stack: LocalStack, uuids: set[str]) -> Counter[tuple[str, str]]:
    ddb = stack.client("dynamodb")
    counts: Counter[tuple[str, str]] = Counter()
    for page in ddb.get_paginator("scan").paginate(TableName=stack.settings().audit_table):
        for item in page["Items"]:
            subject = item["subject"]["S"]
            # dataset#<uuid>@<base URI>: the log of one entry
            if subject.startswith("dataset#") and subject.split("#", 1)[1].split("@", 1)[0] in uuids:
                counts[(item["entity_type"]["S"], item["action"]["S"])] += 1
    return counts


@pytest.fixture
def bucket(stack: LocalStack) -> Iterator[tuple[Client, str]]:
    admin = persona(stack, "admin", admin=True)
    name = unique("delivery")
    stack.client("s3").create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert admin.post("/base-uris", {"base_uri": f"s3://{name}"}).status_code == 201
    yield admin, name


def put_sidecar(s3: Any, bucket: str, key: str, description: str) -> str:
    body = json.dumps({"name": key.split("/", maxsplit=1)[0], "description": description, "creator": "bench"})
    return str(s3.put_object(Bucket=bucket, Key=key, Body=body.encode())["ETag"]).strip('"')


def test_poison_message_is_dead_lettered_after_max_receives(stack: LocalStack, bucket: tuple[Client, str]) -> None:
    _, name = bucket
    s3, sqs = stack.client("s3"), stack.client("sqs")
    settings = stack.settings()
    url = sqs.get_queue_url(QueueName=settings.ingest_queue)["QueueUrl"]
    dead_letters = SqsQueue(sqs, settings.ingest_dlq)
    uuid = "4a1b2c3d-0000-4000-8000-00000000d00d"
    admin_metadata = {
        "uuid": uuid,
        "name": "broken",
        "type": "dataset",
        "creator_username": "x",
        "created_at": 1.0,
        "frozen_at": 2.0,
    }
    s3.put_object(Bucket=name, Key=f"dtool-{uuid}", Body=b"")
    s3.put_object(Bucket=name, Key=f"{uuid}/dtool", Body=json.dumps(admin_metadata).encode())
    s3.put_object(Bucket=name, Key=f"{uuid}/manifest.json", Body=b"{not json")
    send_all(sqs, url, [notification(name, f"{uuid}/manifest.json", "x", "01")])

    def dead() -> list[Any]:
        return [d for d in list_dead_letters(dead_letters) if f"s3://{name}/{uuid}/manifest.json" in d.keys]

    assert wait_for(lambda: bool(dead()), timeout=90)
    log = (stack.work_dir / "runner.log").read_text()
    [letter] = dead()
    failures = log.count(f"handler failed for message {letter.message_id}")
    assert failures == 5, failures  # maxReceiveCount receives, then the DLQ

    # fixed at the source, a redrive registers it
    manifest = {"hash_function": "md5sum_hexdigest", "items": {}}
    s3.put_object(Bucket=name, Key=f"{uuid}/manifest.json", Body=json.dumps(manifest).encode())
    assert redrive(dead_letters, SqsQueue(sqs, settings.ingest_queue)) >= 1
    admin = Client(stack, "admin")
    assert wait_for(lambda: admin.get(f"/datasets/{uuid}").status_code == 200, timeout=30)


def test_crash_after_commit_redelivers_without_duplicates(stack: LocalStack, bucket: tuple[Client, str]) -> None:
    import app as app_module

    admin, name = bucket
    s3, sqs = stack.client("s3"), stack.client("sqs")
    url = sqs.create_queue(QueueName=unique("crash-q"), Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    keys = [f"crash-{i:03d}/dataset.json" for i in range(CRASHES)]
    send_all(sqs, url, [notification(name, k, put_sidecar(s3, name, k, "v1"), "01") for k in keys])
    crashed: set[str] = set()

    def crash_after_commit(event: dict[str, Any], context: Any) -> None:
        app_module.on_ingest_message(event, context)  # the DynamoDB write is committed here
        message_id = event["Records"][0]["messageId"]
        if message_id not in crashed:  # ... and the process dies before the message is deleted
            crashed.add(message_id)
            raise RuntimeError("crash after commit")

    with patched_environ(stack.env):
        install(None)
        install(Root(stack.settings()))
        try:
            poller = QueuePoller(sqs, url, crash_after_commit, region="eu-west-1", wait_seconds=0)
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and not queue_empty(sqs, url):
                if poller.poll_once() == 0:
                    time.sleep(0.05)
        finally:
            install(None)
    assert len(crashed) == CRASHES and poller.delivered == CRASHES
    scope = f"?base_uri=s3://{name}&q=crash&page_size=100"
    assert wait_for(lambda: total(admin, scope) == CRASHES, timeout=60)
    uuids = {h["uuid"] for h in admin.get(f"/datasets{scope}").json()["items"]}
    assert wait_for(lambda: audit_actions(stack, uuids) == Counter({("dataset", "add"): CRASHES}), timeout=60)


def test_duplicated_shuffled_and_late_events_give_exactly_one_dataset_each(
    stack: LocalStack, bucket: tuple[Client, str]
) -> None:
    admin, name = bucket
    s3, sqs = stack.client("s3"), stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.settings().ingest_queue)["QueueUrl"]
    rng = random.Random(500)
    keys = [f"ds-{i:03d}/dataset.json" for i in range(KEYS)]
    etags = {k: put_sidecar(s3, name, k, "v1") for k in keys}
    events = [notification(name, k, etags[k], f"0000000000000001{i:04X}") for i, k in enumerate(keys)] * 2
    rng.shuffle(events)
    send_all(sqs, url, events)
    scope = f"?base_uri=s3://{name}&page_size=1"
    assert wait_for(lambda: queue_empty(sqs, url) and total(admin, scope) == KEYS, timeout=240), total(admin, scope)

    # overwrites: the newer event and then, late, the older one for the same key
    changed = rng.sample(keys, OVERWRITES)
    newer = [
        notification(name, k, put_sidecar(s3, name, k, "v2"), f"0000000000000002{i:04X}") for i, k in enumerate(changed)
    ]
    older = [notification(name, k, etags[k], f"0000000000000001{i:04X}") for i, k in enumerate(changed)]
    rng.shuffle(newer)
    rng.shuffle(older)
    send_all(sqs, url, newer + older)
    assert wait_for(lambda: queue_empty(sqs, url), timeout=120)

    hits: list[dict[str, Any]] = []
    page = admin.get(f"/datasets?base_uri=s3://{name}&page_size=100").json()
    hits += page["items"]
    while page["next"]:
        page = admin.get(f"/datasets?base_uri=s3://{name}&page_size=100&after={page['next']}").json()
        hits += page["items"]
    assert len(hits) == KEYS == len({h["uuid"] for h in hits})
    by_name = {h["name"]: h for h in hits}
    stale = [k for k in changed if by_name[k.split("/")[0]]["description"] != "v2"]
    assert stale == []
    uuids = {h["uuid"] for h in hits}
    expected = Counter({("dataset", "add"): KEYS, ("dataset", "edit"): OVERWRITES})
    assert wait_for(lambda: audit_actions(stack, uuids) == expected, timeout=60), audit_actions(stack, uuids)
