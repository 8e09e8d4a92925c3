"""The EventBus contract, run against the in-memory fake and EventBridgeBus on moto server.

What was published is read where a consumer would read it. On moto, each test gets a bus of
its own with a rule matching the test's source and an SQS queue as the rule's target (made as
the local stack makes its own: ``provisioning.ensure_event_queue``), deleted afterwards; the
fake keeps what it published. EventBridge keeps no order, so events are compared as multisets.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.adapters import provisioning
from chalicelib.adapters.aws import make_client
from chalicelib.adapters.errors import BusNotFound, EventTooLarge
from chalicelib.adapters.events import MAX_ENTRY_BYTES, Event, EventBridgeBus, EventBus, check_events, entry_size
from tests.fakes.events import InMemoryEventBus

# what a consumer receives of one event: source, detail type, detail (as sorted JSON) and time
# (whole seconds since the epoch, as EventBridge keeps it)
Delivered = tuple[str, str, str, int]
T0 = 1_700_000_000.0


@dataclass
class BusUnderTest:
    bus: EventBus
    source: str
    # the events delivered so far, once at least ``count`` came (or fail after a timeout)
    delivered: Callable[[int], list[Delivered]]


def as_delivered(event: Event) -> Delivered:
    assert event.time is not None
    return (event.source, event.detail_type, json.dumps(event.detail, sort_keys=True), int(event.time))


@pytest.fixture(params=["memory", "moto"])
def bus_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clients(bus_backend: str, request: pytest.FixtureRequest) -> tuple[Any, Any] | None:
    """boto3 ``events`` and SQS clients on the session's moto server (``None`` for the fake)."""
    if bus_backend == "memory":
        return None
    url = request.getfixturevalue("moto_server_url")
    return make_client("events", region="eu-west-1", endpoint_url=url), make_client(
        "sqs", region="eu-west-1", endpoint_url=url
    )


@pytest.fixture
def under_test(bus_backend: str, clients: tuple[Any, Any] | None) -> Iterator[BusUnderTest]:
    tag = uuidlib.uuid4().hex[:12]
    source = f"contract.{tag}"
    if clients is None:
        fake = InMemoryEventBus()
        yield BusUnderTest(fake, source, lambda count: [as_delivered(e) for e in fake.published])
        return
    events, sqs = clients
    name = f"contract-{tag}"
    created = provisioning.ensure_event_queue(events, sqs, bus=name, rule=name, source=source, queue=name)
    try:
        yield BusUnderTest(EventBridgeBus(events, name), source, lambda count: _read_queue(sqs, created.url, count))
    finally:
        events.remove_targets(Rule=name, EventBusName=name, Ids=[name])
        events.delete_rule(Name=name, EventBusName=name)
        events.delete_event_bus(Name=name)
        sqs.delete_queue(QueueUrl=created.url)


def _read_queue(sqs: Any, url: str, count: int, timeout: float = 10.0) -> list[Delivered]:
    """Receive from the rule's queue until ``count`` events came, then once more (so that an
    extra event shows)."""
    received: list[Delivered] = []
    deadline = time.monotonic() + timeout
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            stamped = dt.datetime.strptime(body["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
            detail = json.dumps(body["detail"], sort_keys=True)
            received.append((body["source"], body["detail-type"], detail, int(stamped.timestamp())))
        if len(received) >= count and not messages:
            return received
        assert time.monotonic() < deadline, f"{len(received)} of {count} events delivered in {timeout} s"


def test_a_published_event_is_delivered_with_its_source_type_detail_and_time(under_test: BusUnderTest) -> None:
    detail = {
        "schema_version": 1,
        "id": "6f0a4c1e-3b7d-5e29-9c41-8d2f7a60b513",
        "name": "Bodenfeuchte ✓ café über",
        "tags": ["soil", "field"],
        "project": None,
        "size_in_bytes": 12_345_678_901,
        "time": T0 + 0.25,
        "nested": {"a": [1, 2.5, True, {"b": None}]},
    }
    event = Event(under_test.source, "dataset.registered", detail, T0 + 0.25)
    under_test.bus.publish([event])
    assert under_test.delivered(1) == [as_delivered(event)]


def test_twenty_three_events_in_one_call_are_all_delivered(under_test: BusUnderTest) -> None:
    events = [Event(under_test.source, "dataset.updated", {"n": i}, T0 + i) for i in range(21)]
    twice = Event(under_test.source, "dataset.removed", {"n": "again"}, T0)
    under_test.bus.publish([*events, twice, twice])
    assert Counter(under_test.delivered(23)) == Counter(as_delivered(e) for e in [*events, twice, twice])


def test_events_of_more_than_256_kb_together_are_all_delivered(under_test: BusUnderTest) -> None:
    events = [Event(under_test.source, "dataset.updated", {"n": i, "text": "x" * 100_000}, T0) for i in range(5)]
    assert sum(entry_size(e) for e in events) > MAX_ENTRY_BYTES
    under_test.bus.publish(events)
    assert Counter(under_test.delivered(5)) == Counter(as_delivered(e) for e in events)


def test_an_empty_publication_delivers_nothing(under_test: BusUnderTest) -> None:
    under_test.bus.publish([])
    assert under_test.delivered(0) == []


def test_an_event_over_the_limit_is_refused_before_anything_is_sent(under_test: BusUnderTest) -> None:
    small = Event(under_test.source, "dataset.updated", {"n": 1}, T0)
    padding = MAX_ENTRY_BYTES - entry_size(Event(under_test.source, "dataset.updated", {"text": ""}, T0))
    at_limit = Event(under_test.source, "dataset.updated", {"text": "x" * padding}, T0)
    assert entry_size(at_limit) == MAX_ENTRY_BYTES
    check_events([at_limit])  # the limit itself is allowed
    over = Event(under_test.source, "dataset.updated", {"text": "x" * (padding + 1)}, T0)
    with pytest.raises(EventTooLarge):
        under_test.bus.publish([small, over])
    assert under_test.delivered(0) == []


def test_a_malformed_event_is_a_value_error_and_nothing_is_sent(under_test: BusUnderTest) -> None:
    small = Event(under_test.source, "dataset.updated", {"n": 1}, T0)
    for bad in (
        Event(under_test.source, "dataset.updated", {"n": float("nan")}, T0),
        Event(under_test.source, "", {"n": 1}, T0),
        Event("", "dataset.updated", {"n": 1}, T0),
        Event(under_test.source, "dataset.updated", {"n": 1}, float("inf")),
    ):
        with pytest.raises(ValueError):
            under_test.bus.publish([small, bad])
    assert under_test.delivered(0) == []


def test_an_event_without_a_time_is_stamped_when_received(under_test: BusUnderTest) -> None:
    before = int(time.time())
    under_test.bus.publish([Event(under_test.source, "project.created", {"n": 1})])
    [(source, detail_type, detail, stamped)] = under_test.delivered(1)
    assert (source, detail_type, json.loads(detail)) == (under_test.source, "project.created", {"n": 1})
    assert before - 2 <= stamped <= int(time.time()) + 2


def test_a_missing_bus_raises_bus_not_found(bus_backend: str, clients: tuple[Any, Any] | None) -> None:
    if clients is None:
        missing: EventBus = InMemoryEventBus(exists=False)
    else:
        missing = EventBridgeBus(clients[0], f"contract-missing-{uuidlib.uuid4().hex[:12]}")
    with pytest.raises(BusNotFound):
        missing.publish([Event("contract.missing", "dataset.updated", {"n": 1}, T0)])
