"""Operator access to the ingest dead-letter queue: look at what failed, send it back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from chalicelib.adapters.queues import MessageQueue

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


def list_dead_letters(dlq: MessageQueue, limit: int = 100) -> list[DeadLetter]:
    """Peek at up to ``limit`` dead letters (they stay in the queue; hidden for 30 s while read)."""
    seen: dict[str, DeadLetter] = {}
    handles: list[str] = []
    for _ in range(max(1, min(limit, MAX_MESSAGES) // 10 + 1)):
        batch = dlq.receive(10, visibility_timeout=30)
        if not batch:
            break
        for m in batch:
            handles.append(m.receipt_handle)
            seen[m.message_id] = DeadLetter(
                message_id=m.message_id,
                receive_count=m.receive_count,
                sent_at=str(m.sent_timestamp or ""),
                keys=_keys(m.body),
                body=m.body,
            )
        if len(seen) >= limit:
            break
    for handle in handles:  # visible again at once: listing must not delay a redrive
        dlq.make_visible(handle)
    return list(seen.values())[:limit]


def redrive(dlq: MessageQueue, queue: MessageQueue, limit: int = MAX_MESSAGES) -> int:
    """Move dead letters back to the ingest queue (send first, then delete: never lose one)."""
    moved = 0
    while moved < limit:
        batch = dlq.receive(10, visibility_timeout=60)
        if not batch:
            break
        for m in batch:
            queue.send(m.body)
            dlq.delete(m.receipt_handle)
            moved += 1
    return moved
