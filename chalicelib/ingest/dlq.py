"""Operator access to the ingest dead-letter queue: look at what failed, send it back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

MAX_MESSAGES = 10_000  # bound on one listing or redrive


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    receive_count: int
    sent_at: str
    keys: list[str]
    body: str


def _keys(body: str) -> list[str]:
    try:
        doc = json.loads(body)
        return [
            f"s3://{r['s3']['bucket']['name']}/{unquote_plus(r['s3']['object']['key'])}" for r in doc.get("Records", [])
        ]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return []


def _receive(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    return list(
        sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
    )


def list_dead_letters(sqs: Any, dlq_url: str, limit: int = 100) -> list[DeadLetter]:
    """Peek at up to ``limit`` dead letters (they stay in the queue; hidden for 30 s while read)."""
    seen: dict[str, DeadLetter] = {}
    handles: list[str] = []
    for _ in range(max(1, min(limit, MAX_MESSAGES) // 10 + 1)):
        batch = _receive(sqs, dlq_url, 30)
        if not batch:
            break
        for m in batch:
            handles.append(m["ReceiptHandle"])
            attrs = m.get("Attributes", {})
            seen[m["MessageId"]] = DeadLetter(
                message_id=m["MessageId"],
                receive_count=int(attrs.get("ApproximateReceiveCount", 0)),
                sent_at=str(attrs.get("SentTimestamp", "")),
                keys=_keys(m.get("Body", "")),
                body=m.get("Body", ""),
            )
        if len(seen) >= limit:
            break
    for handle in handles:  # visible again at once: listing must not delay a redrive
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return list(seen.values())[:limit]


def redrive(sqs: Any, dlq_url: str, queue_url: str, limit: int = MAX_MESSAGES) -> int:
    """Move dead letters back to the ingest queue (send first, then delete: never lose one)."""
    moved = 0
    while moved < limit:
        batch = _receive(sqs, dlq_url, 60)
        if not batch:
            break
        for m in batch:
            sqs.send_message(QueueUrl=queue_url, MessageBody=m["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    return moved
