"""An in-memory :class:`~chalicelib.adapters.queues.MessageQueue` (tests and benchmarks only)."""

from __future__ import annotations

import itertools
import time
import uuid as uuidlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib.adapters.queues import (
    MAX_BATCH,
    MessageQueue,
    QueueError,
    QueueMessage,
    QueueNotFound,
    check_receive,
)


@dataclass
class _Stored:
    message_id: str
    body: str
    sent_timestamp: int
    visible_at: float = 0.0
    receive_count: int = 0


class InMemoryQueue(MessageQueue):
    """A queue in a dict, on ``clock`` (seconds since the epoch; tests may pass their own).

    ``sent`` keeps every body ever sent, in order (tests read it); ``exists=False`` makes
    every operation raise :class:`QueueNotFound`, as on a queue that was never created.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, exists: bool = True) -> None:
        self._clock = clock
        self._exists = exists
        self._messages: dict[str, _Stored] = {}
        self._handles: dict[str, str] = {}  # receipt handle -> message id
        self._ids = itertools.count(1)
        self.sent: list[str] = []

    def send(self, body: str) -> None:
        self._check()
        message_id = f"m-{next(self._ids)}"
        self._messages[message_id] = _Stored(message_id, body, int(self._clock() * 1000))
        self.sent.append(body)

    def send_batch(self, bodies: Sequence[str]) -> None:
        self._check()
        for body in bodies:
            self.send(body)

    def receive(self, max_messages: int = MAX_BATCH, visibility_timeout: int = 30) -> list[QueueMessage]:
        check_receive(max_messages, visibility_timeout)
        self._check()
        now = self._clock()
        received: list[QueueMessage] = []
        for stored in self._messages.values():
            if len(received) == max_messages:
                break
            if stored.visible_at > now:
                continue
            stored.visible_at = now + visibility_timeout
            stored.receive_count += 1
            handle = uuidlib.uuid4().hex
            self._handles[handle] = stored.message_id
            received.append(
                QueueMessage(stored.message_id, stored.body, handle, stored.receive_count, stored.sent_timestamp)
            )
        return received

    def make_visible(self, receipt_handle: str) -> None:
        self._stored(receipt_handle).visible_at = self._clock()

    def delete(self, receipt_handle: str) -> None:
        stored = self._stored(receipt_handle)
        del self._messages[stored.message_id]

    def __len__(self) -> int:
        """Messages in the queue, visible or not."""
        return len(self._messages)

    def _stored(self, receipt_handle: str) -> _Stored:
        self._check()
        stored = self._messages.get(self._handles.get(receipt_handle, ""))
        if stored is None:
            raise QueueError(f"receipt handle {receipt_handle!r} names no message in the queue")
        return stored

    def _check(self) -> None:
        if not self._exists:
            raise QueueNotFound("no such queue")
