"""The message queue port (SQS) and its boto3 adapter.

:class:`MessageQueue` is what the ingest code sends to and reads from (the bulk index's
notifications and continuations, the operator's dead-letter listing and redrive);
:class:`SqsQueue` implements it over an injected boto3 SQS client. The in-memory fake is
``tests.fakes.queues.InMemoryQueue``. Consuming the ingest and archive task queues is
not done through this port: Lambda's SQS event source delivers those messages.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code, transient_as

MAX_BATCH = 10  # SQS: at most 10 messages per SendMessageBatch and per ReceiveMessage
MAX_VISIBILITY_TIMEOUT = 43_200  # SQS: 12 hours
# GetQueueUrl and every call on a queue's URL, when the queue does not exist (the JSON
# protocol's code, and the query protocol's code some emulators still send)
_MISSING_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


class QueueError(Exception):
    """The queue refused an operation (not worth retrying as it is)."""


class QueueNotFound(QueueError):
    """The queue does not exist."""


class NotSent(QueueError):
    """Some messages of a batch were refused; the others may have been sent."""


@dataclass(frozen=True)
class QueueMessage:
    """One received message.

    ``receipt_handle`` names this receipt (for :meth:`MessageQueue.delete` and
    :meth:`MessageQueue.make_visible`); ``receive_count`` counts the receives so far,
    this one included; ``sent_timestamp`` is when it was first sent, in milliseconds
    since the epoch (SQS's ``SentTimestamp``)."""

    message_id: str
    body: str
    receipt_handle: str
    receive_count: int
    sent_timestamp: int


class MessageQueue(ABC):
    """One queue of text messages, delivered at least once.

    - ``send(body)`` MUST queue one message with ``body`` unchanged.
    - ``send_batch(bodies)`` MUST queue one message per body, whatever their number (the
      SQS limit of 10 per call is the implementation's business). When some are refused
      it MUST raise :class:`NotSent` after trying them all; the others MAY have been sent
      (receivers are idempotent: sending again is the way to recover).
    - ``receive(max_messages, visibility_timeout)`` MUST return at most ``max_messages``
      (1 to 10, else ``ValueError``) messages that are visible now, without waiting, and
      MUST hide each of them from other receives for ``visibility_timeout`` seconds (0 to
      43,200, else ``ValueError``); a message not deleted by then MUST come back, its
      ``receive_count`` one higher. It SHOULD return some message when any is visible
      (SQS's short poll samples a subset of its servers and may answer nothing: an empty
      answer does not prove the queue empty). Order is not guaranteed.
    - ``make_visible(receipt_handle)`` MUST make a received message receivable again at
      once; ``delete(receipt_handle)`` MUST remove it for good. Either MAY raise
      :class:`QueueError` for a handle that does not name a received message.
    - A queue that does not exist MUST raise :class:`QueueNotFound` from every operation;
      throttling and network failures SHOULD raise
      :class:`~chalicelib.adapters.errors.TransientError`.
    """

    @abstractmethod
    def send(self, body: str) -> None: ...

    @abstractmethod
    def send_batch(self, bodies: Sequence[str]) -> None: ...

    @abstractmethod
    def receive(self, max_messages: int = MAX_BATCH, visibility_timeout: int = 30) -> list[QueueMessage]: ...

    @abstractmethod
    def make_visible(self, receipt_handle: str) -> None: ...

    @abstractmethod
    def delete(self, receipt_handle: str) -> None: ...


def check_receive(max_messages: int, visibility_timeout: int) -> None:
    """``ValueError`` unless both are within SQS's bounds (every implementation checks alike)."""
    if not 1 <= max_messages <= MAX_BATCH:
        raise ValueError(f"max_messages must be 1 to {MAX_BATCH}, not {max_messages}")
    if not 0 <= visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
        raise ValueError(f"visibility_timeout must be 0 to {MAX_VISIBILITY_TIMEOUT} s, not {visibility_timeout}")


class SqsQueue(MessageQueue):
    """The queue named ``name``, through a boto3 SQS client; its URL is looked up on first use."""

    def __init__(self, client: Any, name: str) -> None:
        self._client = client
        self.name = name
        self._url: str | None = None

    def _queue_url(self) -> str:
        if self._url is None:
            with self._errors("GetQueueUrl"):
                self._url = str(self._client.get_queue_url(QueueName=self.name)["QueueUrl"])
        return self._url

    def send(self, body: str) -> None:
        url = self._queue_url()
        with self._errors("SendMessage"):
            self._client.send_message(QueueUrl=url, MessageBody=body)

    def send_batch(self, bodies: Sequence[str]) -> None:
        url = self._queue_url()
        refused: list[str] = []
        for start in range(0, len(bodies), MAX_BATCH):
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + MAX_BATCH])]
            with self._errors("SendMessageBatch"):
                failed = self._client.send_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
            refused += [f"{f.get('Code')}: {f.get('Message')}" for f in failed]
        if refused:
            raise NotSent(f"{len(refused)} of {len(bodies)} messages were not queued to {self.name}: {refused[0]}")

    def receive(self, max_messages: int = MAX_BATCH, visibility_timeout: int = 30) -> list[QueueMessage]:
        check_receive(max_messages, visibility_timeout)
        url = self._queue_url()
        with self._errors("ReceiveMessage"):
            response = self._client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=max_messages,
                VisibilityTimeout=visibility_timeout,
                AttributeNames=["All"],
                WaitTimeSeconds=0,
            )
        return [_message(m) for m in response.get("Messages", [])]

    def make_visible(self, receipt_handle: str) -> None:
        url = self._queue_url()
        with self._errors("ChangeMessageVisibility"):
            self._client.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)

    def delete(self, receipt_handle: str) -> None:
        url = self._queue_url()
        with self._errors("DeleteMessage"):
            self._client.delete_message(QueueUrl=url, ReceiptHandle=receipt_handle)

    @contextlib.contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """botocore's errors as the port's: missing queue, transient failure, anything else."""
        try:
            with transient_as(f"{operation} on {self.name}"):
                yield
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                self._url = None  # looked up again, should the queue be created again
                raise QueueNotFound(f"no queue {self.name!r}") from exc
            raise QueueError(f"{operation} on {self.name}: {exc}") from exc


def _message(m: dict[str, Any]) -> QueueMessage:
    attrs = m.get("Attributes", {})
    return QueueMessage(
        message_id=m["MessageId"],
        body=m.get("Body", ""),
        receipt_handle=m["ReceiptHandle"],
        receive_count=int(attrs.get("ApproximateReceiveCount", 0)),
        sent_timestamp=int(attrs.get("SentTimestamp", 0)),
    )
