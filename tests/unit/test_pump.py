"""StreamPump: Lambda-shaped records, and a failing batch is retried, never skipped."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.app import DynamoDBEvent
from moto import mock_aws

from infra.local.pump import StreamPump

REGION = "eu-west-1"
TABLE = "pump-test"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    """(dynamodb client, dynamodbstreams client, stream ARN) inside an in-process moto."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # botocore 1.44 sends dynamodbstreams calls to an account-id endpoint moto ignores.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        streams = boto3.client("dynamodbstreams", region_name=REGION)
        table = ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        yield ddb, streams, table["LatestStreamArn"]


def put(ddb: Any, pk: str, **attrs: Any) -> None:
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, **attrs})


class Recorder:
    """A handler that fails its first ``failures`` calls, and records every call."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        assert context is None
        json.dumps(event)  # the event must be JSON-safe, as Lambda's is
        self.calls.append(event["Records"])
        if len(self.calls) <= self.failures:
            raise RuntimeError("index unavailable")
        self.accepted.extend(event["Records"])


def test_records_have_the_lambda_shape(aws: tuple[Any, Any, str]) -> None:
    ddb, streams, arn = aws
    # Written before the pump exists: TRIM_HORIZON must still deliver them.
    put(ddb, "a", n={"N": "1.5"}, b={"B": b"\x00\xff"}, bs={"BS": [b"x"]}, m={"M": {"l": {"L": [{"S": "v"}]}}})
    put(ddb, "a", n={"N": "2"})
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})
    handler = Recorder()
    pump = StreamPump(streams, arn, handler, region=REGION)

    assert pump.pump_once() == 3
    assert pump.pump_once() == 0

    insert, modify, remove = handler.accepted
    assert [r["eventName"] for r in handler.accepted] == ["INSERT", "MODIFY", "REMOVE"]
    for record in handler.accepted:
        assert list(record) == [
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        ]
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == REGION
        assert record["eventSourceARN"] == arn
        assert isinstance(record["eventID"], str) and record["eventID"]
        d = record["dynamodb"]
        assert isinstance(d["ApproximateCreationDateTime"], int)
        assert abs(d["ApproximateCreationDateTime"] - time.time()) < 120
        assert d["Keys"] == {"pk": {"S": "a"}}
        assert isinstance(d["SequenceNumber"], str)
        assert isinstance(d["SizeBytes"], int) and d["SizeBytes"] > 0
        assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES"

    new = insert["dynamodb"]["NewImage"]
    assert new["n"] == {"N": "1.5"}  # numbers stay DynamoDB-JSON strings
    assert new["b"] == {"B": base64.b64encode(b"\x00\xff").decode()}  # binary as base64, like Lambda
    assert new["bs"] == {"BS": [base64.b64encode(b"x").decode()]}
    assert new["m"] == {"M": {"l": {"L": [{"S": "v"}]}}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["n"] == {"N": "1.5"}
    assert modify["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}}
    assert "NewImage" not in remove["dynamodb"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in handler.accepted]
    assert seqs == sorted(seqs)

    # Chalice's own event classes accept it (what @app.on_dynamodb_record handlers receive).
    parsed = list(DynamoDBEvent({"Records": handler.accepted}, None))
    assert [r.event_name for r in parsed] == ["INSERT", "MODIFY", "REMOVE"]
    assert parsed[0].table_name == TABLE
    assert parsed[0].new_image["n"] == {"N": "1.5"}


def test_failed_batch_is_retried_unchanged_and_never_skipped(
    aws: tuple[Any, Any, str], caplog: pytest.LogCaptureFixture
) -> None:
    ddb, streams, arn = aws
    for i in range(5):
        put(ddb, f"k{i}", i={"N": str(i)})
    handler = Recorder(failures=2)
    pump = StreamPump(streams, arn, handler, region=REGION, batch_size=3, initial_backoff=0.3)

    with caplog.at_level(logging.DEBUG, logger="infra.local.pump"):
        assert pump.pump_once() == 0  # attempt 1 fails
        assert pump.failing and pump.pending_records == 3
        put(ddb, "late", i={"N": "99"})  # written while failing: must wait its turn
        assert pump.pump_once() == 0  # still inside the backoff: no new attempt
        assert len(handler.calls) == 1
        time.sleep(0.31)
        assert pump.pump_once() == 0  # attempt 2 fails, backoff doubles
        time.sleep(0.61)
        assert pump.pump_once() == 6  # attempt 3 succeeds, then the rest drains in order

    assert len(handler.calls) == 4  # 3 attempts of batch 1, then k3, k4 and "late" in one batch
    assert handler.calls[0] == handler.calls[1] == handler.calls[2]  # the same batch, unchanged
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in handler.accepted] == ["k0", "k1", "k2", "k3", "k4", "late"]
    assert not pump.failing
    assert pump.delivered == 6 and pump.failures == 2
    failures_logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures_logged) == 1  # once per distinct failure, not once per attempt
    assert "retrying the same batch" in failures_logged[0].getMessage()


def test_backoff_is_capped(aws: tuple[Any, Any, str]) -> None:
    ddb, streams, arn = aws
    put(ddb, "x")
    handler = Recorder(failures=100)
    pump = StreamPump(streams, arn, handler, region=REGION, initial_backoff=1.0, max_backoff=5.0)
    shard_waits = []
    for _ in range(6):
        pump.pump_once()
        shard = next(iter(pump._shards.values()))
        shard_waits.append(round(shard.next_attempt - time.monotonic()))
        shard.next_attempt = 0.0  # skip the wait, keep the attempt count
    assert shard_waits == [1, 2, 4, 5, 5, 5]
    assert handler.accepted == []


def test_run_delivers_new_records_until_stopped(aws: tuple[Any, Any, str]) -> None:
    ddb, streams, arn = aws
    handler = Recorder()
    pump = StreamPump(streams, arn, handler, region=REGION, poll_interval=0.01)
    stop = threading.Event()
    thread = threading.Thread(target=pump.run, args=(stop,), daemon=True)
    thread.start()
    try:
        put(ddb, "live")
        deadline = time.monotonic() + 10
        while not handler.accepted and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert [r["dynamodb"]["Keys"] for r in handler.accepted] == [{"pk": {"S": "live"}}]
