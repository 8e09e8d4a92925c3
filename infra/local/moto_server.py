"""moto in server mode, with DynamoDB writes made atomic as in DynamoDB.

moto checks a write's condition and then writes, with nothing in between held: under its
threaded server two conditional writes from the same version can both pass (measured here:
8 concurrent registrations of one dataset lost a replica about once in ten runs). DynamoDB
itself is atomic per item, and that is what the catalogue's optimistic locking relies on.
This launcher serves moto's own WSGI application and serializes DynamoDB write requests
only (reads, SQS long polls, S3 and the rest stay concurrent).

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5001)
    args = parser.parse_args(argv)
    fast_sqs_clock()
    app = SerializeDynamoDBWrites(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
