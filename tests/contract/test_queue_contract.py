"""The MessageQueue contract, run against the in-memory fake and SqsQueue on moto server.

Each moto test gets queues of its own (unique names), deleted afterwards. SQS does not
keep order, so bodies are compared as multisets.
"""

from __future__ import annotations

import time
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.adapters.aws import make_client
from chalicelib.adapters.queues import MessageQueue, QueueMessage, QueueNotFound, SqsQueue
from tests.fakes.queues import InMemoryQueue

NewQueue = Callable[[], MessageQueue]
AT_ONCE = 2.0  # seconds: "at once" for a message made visible again


@pytest.fixture(params=["memory", "moto"])
def queue_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sqs_client(queue_backend: str, request: pytest.FixtureRequest) -> Any:
    """A boto3 SQS client on the session's moto server (``None`` for the fake)."""
    if queue_backend == "memory":
        return None
    return make_client("sqs", region="eu-west-1", endpoint_url=request.getfixturevalue("moto_server_url"))


@pytest.fixture
def new_queue(queue_backend: str, sqs_client: Any) -> Iterator[NewQueue]:
    """Makes empty queues of the backend under test."""
    urls: list[str] = []

    def make() -> MessageQueue:
        if queue_backend == "memory":
            return InMemoryQueue()
        name = f"contract-{uuidlib.uuid4().hex[:12]}"
        urls.append(sqs_client.create_queue(QueueName=name)["QueueUrl"])
        return SqsQueue(sqs_client, name)

    yield make
    for url in urls:
        sqs_client.delete_queue(QueueUrl=url)


@pytest.fixture
def queue(new_queue: NewQueue) -> MessageQueue:
    return new_queue()


@pytest.fixture
def missing_queue(queue_backend: str, sqs_client: Any) -> MessageQueue:
    """A queue of the backend under test that was never created."""
    if queue_backend == "memory":
        return InMemoryQueue(exists=False)
    return SqsQueue(sqs_client, f"contract-missing-{uuidlib.uuid4().hex[:12]}")


def collect(queue: MessageQueue, count: int, timeout: float = 10.0, visibility_timeout: int = 60) -> list[QueueMessage]:
    """Receive until ``count`` messages (or more) came, or fail after ``timeout``."""
    received: dict[str, QueueMessage] = {}
    deadline = time.monotonic() + timeout
    while len(received) < count:
        assert time.monotonic() < deadline, f"{len(received)} of {count} messages received in {timeout} s"
        for message in queue.receive(10, visibility_timeout=visibility_timeout):
            assert message.message_id not in received, "a hidden message was received again"
            received[message.message_id] = message
    return list(received.values())


def test_a_sent_message_is_received_with_its_attributes(queue: MessageQueue) -> None:
    body = '{"Records": [{"s3": {"object": {"key": "caf%C3%A9+au+lait"}}}]} é ✓'
    before = int(time.time() * 1000)
    queue.send(body)
    after = int(time.time() * 1000)
    [message] = collect(queue, 1)
    assert message.body == body
    assert message.message_id and message.receipt_handle
    assert message.receive_count == 1
    assert before - 2000 <= message.sent_timestamp <= after + 2000  # the emulator's clock, in ms


def test_a_batch_over_ten_sends_every_body(queue: MessageQueue) -> None:
    bodies = [f"message {i}" for i in range(23)] + ["twice", "twice"]
    queue.send_batch(bodies)
    received = collect(queue, len(bodies))
    assert Counter(m.body for m in received) == Counter(bodies)
    assert len({m.message_id for m in received}) == len(bodies)
    assert queue.receive(10) == []


def test_an_empty_batch_sends_nothing(queue: MessageQueue) -> None:
    queue.send_batch([])
    assert queue.receive(10) == []


def test_receive_returns_at_most_the_number_asked(queue: MessageQueue) -> None:
    queue.send_batch([f"m{i}" for i in range(5)])
    first = queue.receive(3, visibility_timeout=60)
    assert 1 <= len(first) <= 3
    rest = collect(queue, 5 - len(first))
    assert sorted(m.body for m in first + rest) == [f"m{i}" for i in range(5)]


@pytest.mark.parametrize(("max_messages", "visibility_timeout"), [(0, 30), (11, 30), (1, -1), (1, 43_201)])
def test_receive_outside_the_sqs_bounds_is_a_value_error(
    queue: MessageQueue, max_messages: int, visibility_timeout: int
) -> None:
    with pytest.raises(ValueError):
        queue.receive(max_messages, visibility_timeout=visibility_timeout)


def test_a_received_message_is_hidden_until_made_visible(queue: MessageQueue) -> None:
    queue.send("hello")
    [first] = collect(queue, 1)
    assert queue.receive(10, visibility_timeout=60) == []
    queue.make_visible(first.receipt_handle)
    [again] = collect(queue, 1, timeout=AT_ONCE)
    assert (again.message_id, again.body) == (first.message_id, "hello")
    assert again.receive_count == 2


def test_a_message_comes_back_after_its_visibility_timeout(queue: MessageQueue) -> None:
    queue.send("slow")
    [first] = queue.receive(1, visibility_timeout=1)
    received_at = time.monotonic()
    assert queue.receive(10, visibility_timeout=1) == []
    while not (again := queue.receive(10, visibility_timeout=60)):
        assert time.monotonic() - received_at < 10, "the message did not come back"
        time.sleep(0.1)
    assert time.monotonic() - received_at >= 0.9
    assert [(m.message_id, m.receive_count) for m in again] == [(first.message_id, 2)]


def test_receive_counts_go_up_with_every_receive(queue: MessageQueue) -> None:
    queue.send("again and again")
    counts = []
    for _ in range(3):
        [message] = collect(queue, 1, timeout=AT_ONCE)
        counts.append(message.receive_count)
        queue.make_visible(message.receipt_handle)
    assert counts == [1, 2, 3]


def test_a_deleted_message_is_gone_for_good(queue: MessageQueue) -> None:
    queue.send_batch(["keep", "drop"])
    messages = {m.body: m for m in collect(queue, 2, visibility_timeout=1)}
    queue.delete(messages["drop"].receipt_handle)
    time.sleep(1.2)  # both would be visible again now
    assert [m.body for m in collect(queue, 1) + queue.receive(10)] == ["keep"]


def test_moving_messages_to_another_queue_keeps_every_one(new_queue: NewQueue) -> None:
    """What a redrive does: receive, send to the other queue, then delete."""
    source, target = new_queue(), new_queue()
    bodies = [f"dead letter {i}" for i in range(14)]
    source.send_batch(bodies)
    moved = 0
    while batch := source.receive(10, visibility_timeout=60):
        for message in batch:
            target.send(message.body)
            source.delete(message.receipt_handle)
            moved += 1
    assert moved == len(bodies)
    assert Counter(m.body for m in collect(target, len(bodies))) == Counter(bodies)
    assert source.receive(10) == []


@pytest.mark.parametrize(
    "operation",
    [
        lambda q: q.send("x"),
        lambda q: q.send_batch(["x"] * 11),
        lambda q: q.receive(10),
        lambda q: q.make_visible("handle"),
        lambda q: q.delete("handle"),
    ],
    ids=["send", "send_batch", "receive", "make_visible", "delete"],
)
def test_a_missing_queue_raises_queue_not_found(
    missing_queue: MessageQueue, operation: Callable[[MessageQueue], object]
) -> None:
    with pytest.raises(QueueNotFound):
        operation(missing_queue)
