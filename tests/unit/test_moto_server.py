"""The local stack's moto launcher: its cheap SQS clock reads the same time as moto's own, and
its SendMessage counts no messages yet still deduplicates FIFO messages by content."""

from __future__ import annotations

import datetime
import time

import boto3
import pytest
from moto import mock_aws
from moto.core import utils
from moto.sqs import models

from infra.local.moto_server import cheap_attributes_on_send, fast_sqs_clock


def test_the_fast_sqs_clock_tells_moto_the_same_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "unix_time", models.unix_time)
    monkeypatch.setattr(models, "unix_time_millis", models.unix_time_millis)
    before = utils.unix_time()
    fast_sqs_clock()
    assert models.unix_time is not utils.unix_time
    now, now_ms = models.unix_time(), models.unix_time_millis()
    after = utils.unix_time()
    assert before - 0.01 <= now <= after + 0.01
    assert abs(now_ms / 1000 - time.time()) < 1
    moment = datetime.datetime(2026, 12, 6, 4, 30)  # naive UTC, as moto keeps its times
    assert models.unix_time(moment) == utils.unix_time(moment)
    assert models.unix_time_millis(moment) == utils.unix_time_millis(moment)


def test_send_message_counts_no_messages_and_fifo_deduplication_still_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models.Queue, "attributes", models.Queue.attributes)
    monkeypatch.setattr(models.SQSBackend, "send_message", models.SQSBackend.send_message)
    cheap_attributes_on_send()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-1")
        url = sqs.create_queue(QueueName="plain")["QueueUrl"]
        fifo = sqs.create_queue(
            QueueName="ordered.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        for i in range(20):
            sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
        counted = []
        real_count = models.Queue.approximate_number_of_messages

        def counting(self: models.Queue) -> int:
            counted.append(self.name)
            return int(real_count.fget(self))  # type: ignore[attr-defined]

        monkeypatch.setattr(models.Queue, "approximate_number_of_messages", property(counting))
        sqs.send_message(QueueUrl=url, MessageBody="one more")
        assert counted == []  # the send did not scan the queue
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "21" and counted == ["plain"]
        for _ in range(2):
            sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
        got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]
        assert [m["Body"] for m in got] == ["same"]  # deduplicated by content
