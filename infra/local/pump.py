"""A local stand-in for Lambda's DynamoDB Streams event source mapping.

:class:`StreamPump` polls one stream with the low-level ``dynamodbstreams`` client and
calls a Chalice ``@app.on_dynamodb_record`` handler as ``handler({"Records": batch}, None)``
with records in the exact Lambda event shape. Semantics copied from Lambda:

- every shard is read from ``TRIM_HORIZON``: a long-running stack must not miss what was
  written before the pump started (``LATEST`` would);
- a batch holds records of one shard, in order, at most ``batch_size``;
- when the handler raises, the *same* batch is retried (never skipped, the shard does not
  advance) with exponential backoff capped at 5 s, until it succeeds; other shards go on;
- child shards are read only after their parent shard is closed and drained.

Delivery is at least once: a restarted pump starts again from ``TRIM_HORIZON``.

Trap: with botocore 1.44 the streams client must be built with an explicit
``endpoint_url`` or with ``AWS_ACCOUNT_ID_ENDPOINT_MODE=disabled``; otherwise
``describe_stream`` goes to ``<account>.streams-ddb.<region>.amazonaws.com``, which moto
does not intercept (404 "Not yet implemented").
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

Handler = Callable[[dict[str, Any], Any], Any]

_LOG = logging.getLogger("infra.local.pump")


def json_safe(value: Any) -> Any:
    """``value`` with bytes as base64 text, datetimes as epoch seconds, Decimals as numbers.

    Binary attributes (``B``, ``BS``) arrive from botocore as ``bytes``; Lambda delivers
    them base64-encoded, which is what this produces.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _epoch_seconds(value: Any) -> int:
    # Lambda gives whole epoch seconds (e.g. 1479499740); botocore parses the wire value
    # into a datetime, moto keeps milliseconds.
    if isinstance(value, dt.datetime):
        return int(value.timestamp())
    if isinstance(value, (int, float, Decimal)):
        return int(value)
    return int(time.time())


def to_lambda_record(record: Mapping[str, Any], *, stream_arn: str, region: str) -> dict[str, Any]:
    """One ``get_records`` record as Lambda would deliver it in ``event["Records"]``.

    Values stay in DynamoDB JSON (``{"S": ...}``, ``{"N": "1.5"}``, ...). ``awsRegion``,
    ``eventVersion`` ("1.1") and ``eventSourceARN`` are set as Lambda sets them: moto
    reports ``us-east-1`` and "1.0" and omits the ARN.
    """
    ddb = record.get("dynamodb", {})
    out_ddb: dict[str, Any] = {"ApproximateCreationDateTime": _epoch_seconds(ddb.get("ApproximateCreationDateTime"))}
    for key in ("Keys", "NewImage", "OldImage"):
        if key in ddb:
            out_ddb[key] = json_safe(ddb[key])
    out_ddb["SequenceNumber"] = str(ddb["SequenceNumber"])
    out_ddb["SizeBytes"] = int(ddb.get("SizeBytes", 0))
    out_ddb["StreamViewType"] = str(ddb.get("StreamViewType", ""))
    out: dict[str, Any] = {
        "eventID": str(record["eventID"]),
        "eventName": str(record["eventName"]),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": out_ddb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:  # TTL deletions
        out["userIdentity"] = json_safe(record["userIdentity"])
    return out


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    started: bool = False
    finished: bool = False  # closed and fully delivered
    last_sequence: str | None = None  # of the last record fetched
    pending: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None


class StreamPump:
    """Deliver one DynamoDB stream to one handler, Lambda style (see the module docstring).

    ``streams_client`` is a boto3 ``dynamodbstreams`` client (see the endpoint trap above).
    Not thread-safe: use one pump per thread.
    """

    def __init__(
        self,
        streams_client: Any,
        stream_arn: str,
        handler: Handler,
        *,
        region: str,
        batch_size: int = 100,
        log: logging.Logger | None = None,
        initial_backoff: float = 0.1,
        max_backoff: float = 5.0,
        poll_interval: float = 0.05,
        shard_refresh_interval: float = 1.0,
        max_batches_per_shard: int = 1000,
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000")
        self.client = streams_client
        self.stream_arn = stream_arn
        self.handler = handler
        self.region = region
        self.batch_size = batch_size
        self.log = log or _LOG
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.poll_interval = poll_interval
        self.shard_refresh_interval = shard_refresh_interval
        self.max_batches_per_shard = max_batches_per_shard
        self.delivered = 0
        self.failures = 0
        self._shards: dict[str, _Shard] = {}
        self._order: list[str] = []
        self._last_refresh = float("-inf")

    # -- public -------------------------------------------------------------------------

    def pump_once(self) -> int:
        """Deliver what is in the stream now; return the number of records delivered.

        Bounded: at most ``max_batches_per_shard`` batches per shard, one delivery attempt
        per due batch. A failing batch stays pending (see :attr:`failing`) and is retried
        by a later call once its backoff has passed.
        """
        self._refresh_shards(force=not self._shards)
        total = 0
        for shard_id in list(self._order):
            shard = self._shards[shard_id]
            if shard.finished or not self._parent_done(shard):
                continue
            total += self._drain(shard)
        return total

    def run(self, stop: threading.Event) -> None:
        """Pump until ``stop`` is set; errors are logged and retried, never raised."""
        self.log.info("pumping %s", self.stream_arn)
        error: str | None = None
        backoff = self.initial_backoff
        while not stop.is_set():
            try:
                delivered = self.pump_once()
            except Exception as exc:  # the emulator went away, a bad response, ...
                signature = f"{type(exc).__name__}: {exc}"
                if signature != error:
                    self.log.exception("reading %s failed; retrying", self.stream_arn)
                    error = signature
                stop.wait(backoff)
                backoff = min(self.max_backoff, backoff * 2)
                continue
            error, backoff = None, self.initial_backoff
            if delivered == 0:
                stop.wait(self._idle_wait())
        self.log.info("stopped pumping %s (%d records delivered)", self.stream_arn, self.delivered)

    @property
    def failing(self) -> bool:
        """True while some batch is waiting to be retried after a handler error."""
        return any(s.pending and s.attempts for s in self._shards.values())

    @property
    def pending_records(self) -> int:
        return sum(len(s.pending) for s in self._shards.values())

    # -- internals ----------------------------------------------------------------------

    def _idle_wait(self) -> float:
        now = time.monotonic()
        due = [s.next_attempt - now for s in self._shards.values() if s.pending]
        return max(0.0, min([self.poll_interval, *due]))

    def _refresh_shards(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_refresh < self.shard_refresh_interval:
            return
        self._last_refresh = now
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "Limit": 100}
        for _ in range(1000):  # bounded pagination
            desc = self.client.describe_stream(**kwargs)["StreamDescription"]
            for raw in desc.get("Shards", []):
                shard_id = raw["ShardId"]
                if shard_id not in self._shards:
                    self._shards[shard_id] = _Shard(shard_id=shard_id, parent_id=raw.get("ParentShardId"))
                    self._order.append(shard_id)
                    self.log.debug("tracking shard %s of %s", shard_id, self.stream_arn)
            last = desc.get("LastEvaluatedShardId")
            if not last:
                break
            kwargs["ExclusiveStartShardId"] = last

    def _parent_done(self, shard: _Shard) -> bool:
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        # An unknown parent has been trimmed from the stream: nothing left to wait for.
        return parent is None or parent.finished

    def _iterator(self, shard: _Shard) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.last_sequence is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            kwargs["SequenceNumber"] = shard.last_sequence
        return str(self.client.get_shard_iterator(**kwargs)["ShardIterator"])

    def _fetch(self, shard: _Shard) -> list[dict[str, Any]]:
        if not shard.started:
            shard.iterator = self._iterator(shard)
            shard.started = True
        if shard.iterator is None:
            return []
        try:
            resp = self.client.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ExpiredIteratorException":  # iterators live 15 minutes
                shard.iterator = self._iterator(shard)
                resp = self.client.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
            elif code == "TrimmedDataAccessException":
                self.log.warning("shard %s was trimmed past our position; restarting at TRIM_HORIZON", shard.shard_id)
                shard.last_sequence = None
                shard.iterator = self._iterator(shard)
                resp = self.client.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
            else:
                raise
        shard.iterator = resp.get("NextShardIterator")  # None: the shard is closed and read to its end
        records = [to_lambda_record(r, stream_arn=self.stream_arn, region=self.region) for r in resp.get("Records", [])]
        if records:
            shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        return records

    def _drain(self, shard: _Shard) -> int:
        delivered = 0
        for _ in range(self.max_batches_per_shard):
            if not shard.pending:
                if shard.iterator is None and shard.started:
                    shard.finished = True
                    self.log.debug("shard %s is closed and drained", shard.shard_id)
                    return delivered
                shard.pending = self._fetch(shard)
                if not shard.pending:
                    if shard.iterator is None:
                        shard.finished = True
                    return delivered
            if time.monotonic() < shard.next_attempt:
                return delivered
            if not self._deliver(shard):
                return delivered
            delivered += len(shard.pending)
            shard.pending = []
        return delivered

    def _deliver(self, shard: _Shard) -> bool:
        batch = shard.pending
        try:
            self.handler({"Records": batch}, None)
        except Exception as exc:
            shard.attempts += 1
            self.failures += 1
            delay = min(self.max_backoff, self.initial_backoff * 2 ** (shard.attempts - 1))
            shard.next_attempt = time.monotonic() + delay
            signature = f"{type(exc).__name__}: {exc}"
            if signature != shard.last_error:
                # Logged once per distinct failure; identical repeats are only counted.
                self.log.error(
                    "handler failed on a batch of %d records of %s (shard %s, first sequence %s); "
                    "retrying the same batch with backoff up to %.0f s",
                    len(batch),
                    self.stream_arn,
                    shard.shard_id,
                    batch[0]["dynamodb"]["SequenceNumber"],
                    self.max_backoff,
                    exc_info=True,
                )
                shard.last_error = signature
            return False
        if shard.attempts:
            self.log.warning(
                "batch at sequence %s of shard %s delivered after %d failed attempts",
                batch[0]["dynamodb"]["SequenceNumber"],
                shard.shard_id,
                shard.attempts,
            )
        shard.attempts, shard.next_attempt, shard.last_error = 0, 0.0, None
        self.delivered += len(batch)
        return True
