"""moto in server mode, with DynamoDB writes made atomic as in DynamoDB.

moto checks a write's condition and then writes, with nothing in between held: under its
threaded server two conditional writes from the same version can both pass (measured here:
8 concurrent registrations of one dataset lost a replica about once in ten runs). DynamoDB
itself is atomic per item, and that is what the catalogue's optimistic locking relies on.
This launcher serves moto's own WSGI application, serializes DynamoDB write requests and
keeps DynamoDB reads from running beside a write (reads run beside each other; SQS long
polls, S3 and the rest stay concurrent).

Transactions are checked before they write (:func:`transactions_without_table_copies`):
moto deep-copies every table a TransactWriteItems touches so that it can roll back, which
made each of the summary counters' commits cost as much as the whole summary table.

It also gives moto's SQS a cheap clock (:func:`fast_sqs_clock`): every ReceiveMessage and
GetQueueAttributes checks each message of the queue against the time, and moto builds two
datetimes per check; with the e2e tests' 1,000 queued events that was 60% of moto's CPU. And
SendMessage no longer counts the queue's messages (:func:`cheap_attributes_on_send`).

``python -m infra.local.moto_server -H 127.0.0.1 -p PORT``
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

WRITES = {
    f"DynamoDB_20120810.{op}" for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
}
# every other DynamoDB and DynamoDB Streams request reads what the writes change
READS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")


class ReadWriteLock:
    """Many readers at once or one writer; a writer that waits goes before readers that come later."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class SerializeDynamoDBWrites:
    """WSGI middleware: one DynamoDB write at a time, and no DynamoDB read while one runs;
    everything else passes through.

    Reads are held too because moto changes an item in place, attribute by attribute: a
    GetItem or BatchGetItem running beside an UpdateItem could see the item half-written (a
    new ``rev`` beside the old ``ledger``), which DynamoDB never shows. The summary counters'
    contract test caught it: a consumer that read such an item overwrote another's ledger.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = ReadWriteLock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
        if target in WRITES:
            with self.lock.writing():
                # the body is produced inside the lock: moto does the work while building it
                return list(self.app(environ, start_response))
        if target.startswith(READS):
            with self.lock.reading():
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def fast_sqs_clock() -> None:
    """Let moto's SQS read the time as ``time.time()`` instead of building datetimes.

    ``moto.core.utils.unix_time(None)`` is ``utcnow() - utcfromtimestamp(0)`` in seconds, the
    same value as ``time.time()``; with a datetime argument the original is called.
    """
    from moto.core import utils
    from moto.sqs import models

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else utils.unix_time(dt)

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else utils.unix_time_millis(dt)

    models.unix_time = unix_time
    models.unix_time_millis = unix_time_millis


def cheap_attributes_on_send() -> None:
    """Let moto's SendMessage read a queue's attributes without counting its messages.

    ``SQSBackend.send_message`` reads ``queue.attributes`` only for ``ContentBasedDeduplication``,
    but that property computes every attribute, the three approximate message counts among
    them, each a scan of the queue: every send cost O(messages in the queue). The local change
    feed's queue, which nothing drains, grew with every registration, and EventBridge's sends
    to it took 76% of moto's CPU at ~50,000 datasets (py-spy, bench/scale.py at 100k). While a
    SendMessage runs, the property now gives only the deduplication attribute (FIFO queues;
    standard queues have none); everywhere else moto's own property answers.
    """
    from moto.sqs import models

    original = models.Queue.attributes
    sending = threading.local()

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(sending, "active", False):
            if not self.fifo_queue:
                return {}
            return {"ContentBasedDeduplication": str(bool(self.content_based_deduplication)).lower()}
        return dict(original.fget(self))  # type: ignore[attr-defined]

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            sending.active = False

    original_send = models.SQSBackend.send_message
    models.Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    models.SQSBackend.send_message = send_message  # type: ignore[method-assign]


def transactions_without_table_copies() -> None:
    """Let a TransactWriteItems whose conditions all hold write without copying its tables.

    moto's ``transact_write_items`` deep-copies each table it touches before writing, then
    restores the copies if a condition fails: its cost grows with the tables (78 ms a call at
    4,000 items, research/reliability-anchors.md). Here every write is serialized
    (:class:`SerializeDynamoDBWrites`), so nothing can change between checking and writing:
    the conditions are checked first, on the items as they are; when all hold the writes are
    made as moto makes them, without the copies; otherwise (a failed condition, two actions on
    one item, an expression moto cannot read) moto's own method runs and answers as it does.
    The trap left: a write that fails *after* its condition passed (an item over 400 KB)
    leaves the actions before it written.
    """
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    # a transaction's action -> the backend's method, the op's key or item, and extra arguments
    writes: dict[str, tuple[str, str, dict[str, str]]] = {
        "Put": ("put_item", "Item", {}),
        "Delete": ("delete_item", "Key", {}),
        "Update": ("update_item", "Key", {"update_expression": "UpdateExpression"}),
    }

    def keys_of(backend: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
        if op_type != "Put":
            return dict(op["Key"])
        table = backend.get_table(op["TableName"])
        key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = op["Item"][table.range_key_attr]
        return key

    def conditions_hold(backend: Any, items: list[dict[str, Any]]) -> bool:
        seen: set[tuple[str, str]] = set()
        for item in items:
            if len(item) != 1:
                return False
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                return False
            key = keys_of(backend, op_type, op)
            target = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if target in seen:
                return False
            seen.add(target)
            expression = op.get("ConditionExpression")
            if expression is not None:
                condition = get_filter_expression(
                    expression, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not condition.expr(backend.get_item(op["TableName"], key)):
                    return False
        return True

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        try:
            checked = len(transact_items) <= 100 and conditions_hold(self, transact_items)
        except Exception:  # moto's own method reports what it cannot read
            checked = False
        if not checked:
            return original(self, transact_items)
        for item in transact_items:
            op_type, op = next(iter(item.items()))
            if op_type == "ConditionCheck":
                continue  # checked above
            write, target, extra = writes[op_type]
            getattr(self, write)(
                op["TableName"],
                op[target],
                condition_expression=op.get("ConditionExpression"),
                expression_attribute_names=op.get("ExpressionAttributeNames"),
                expression_attribute_values=op.get("ExpressionAttributeValues"),
                **{name: op[key] for name, key in extra.items()},
            )
        return None

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5001)
    args = parser.parse_args(argv)
    fast_sqs_clock()
    cheap_attributes_on_send()
    transactions_without_table_copies()
    app = SerializeDynamoDBWrites(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
