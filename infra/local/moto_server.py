"""moto in server mode, with DynamoDB writes made atomic as in DynamoDB.

moto checks a write's condition and then writes, with nothing in between held: under its
threaded server two conditional writes from the same version can both pass (measured here:
8 concurrent registrations of one dataset lost a replica about once in ten runs). DynamoDB
itself is atomic per item, and that is what the catalogue's optimistic locking relies on.
This launcher serves moto's own WSGI application and serializes DynamoDB write requests
only (reads, SQS long polls, S3 and the rest stay concurrent).

Transactions are checked before they write (:func:`transactions_without_table_copies`):
moto deep-copies every table a TransactWriteItems touches so that it can roll back, which
made each of the summary counters' commits cost as much as the whole summary table.

It also gives moto's SQS a cheap clock (:func:`fast_sqs_clock`): every ReceiveMessage and
GetQueueAttributes checks each message of the queue against the time, and moto builds two
datetimes per check; with the e2e tests' 1,000 queued events that was 60% of moto's CPU.

``python -m infra.local.moto_server -H 127.0.0.1 -p PORT``
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

WRITES = {
    f"DynamoDB_20120810.{op}" for op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
}


class SerializeDynamoDBWrites:
    """WSGI middleware: one DynamoDB write at a time; everything else passes through."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") in WRITES:
            with self.lock:
                # the body is produced inside the lock: moto does the work while building it
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
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            condition = op.get("ConditionExpression")
            if op_type == "Put":
                self.put_item(
                    op["TableName"],
                    op["Item"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    op["TableName"],
                    op["Key"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
            elif op_type == "Update":
                self.update_item(
                    op["TableName"],
                    op["Key"],
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition,
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
        return None

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5001)
    args = parser.parse_args(argv)
    fast_sqs_clock()
    transactions_without_table_copies()
    app = SerializeDynamoDBWrites(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
