"""EventBridgeBus on its own (botocore's Stubber: no network): how events are cut into
PutEvents calls, which refusals are sent again and how often, and the errors callers see.
What both the adapter and the fake promise is in tests/contract/test_event_bus_contract.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber

from chalicelib.adapters.errors import BusNotFound, EventBusError, EventsNotPublished, TransientError
from chalicelib.adapters.events import (
    MAX_ENTRY_BYTES,
    TIME_BYTES,
    Event,
    EventBridgeBus,
    batches,
    check_events,
    entry_size,
)
from chalicelib.retries import full_jitter

BUS = "catalogue-events"
Stubbed = tuple[Stubber, EventBridgeBus, list[float]]


def events_client() -> Any:
    """An ``events`` client for botocore's Stubber (no network, no retries of its own)."""
    return boto3.client(
        "events",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def stubbed() -> Iterator[Stubbed]:
    client = events_client()
    slept: list[float] = []
    with Stubber(client) as stubber:
        yield (
            stubber,
            EventBridgeBus(client, BUS, attempts=3, backoff=0.5, sleep=slept.append, jitter=lambda bound: bound),
            slept,
        )
        stubber.assert_no_pending_responses()


def events(count: int, **detail: Any) -> list[Event]:
    return [
        Event("catalogue.test", "dataset.registered", {"n": i, **detail}, 1_700_000_000.0 + i) for i in range(count)
    ]


def expect(stubber: Stubber, entries: int, *, failed: dict[int, str] | None = None) -> None:
    """One PutEvents call of ``entries`` entries; ``failed`` maps positions to their error code."""
    failed = failed or {}
    results = [
        {"ErrorCode": failed[i], "ErrorMessage": "no"} if i in failed else {"EventId": f"e{i}"} for i in range(entries)
    ]
    stubber.add_response(
        "put_events", {"FailedEntryCount": len(failed), "Entries": results}, {"Entries": [ANY] * entries}
    )


def test_twenty_three_events_are_three_calls_of_at_most_ten(stubbed: Stubbed) -> None:
    stubber, bus, slept = stubbed
    for size in (10, 10, 3):
        expect(stubber, size)
    bus.publish(events(23))
    assert slept == []


def test_an_entry_is_sent_as_eventbridge_takes_it() -> None:
    client = boto3.client("events", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    event = Event("catalogue.test", "dataset.updated", {"name": "café", "n": 1}, 1_700_000_000.5)
    with Stubber(client) as stubber:
        stubber.add_response(
            "put_events",
            {"FailedEntryCount": 0, "Entries": [{"EventId": "e"}]},
            {
                "Entries": [
                    {
                        "Source": "catalogue.test",
                        "DetailType": "dataset.updated",
                        "Detail": '{"n":1,"name":"café"}',
                        "EventBusName": BUS,
                        "Time": dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.UTC),
                    }
                ]
            },
        )
        EventBridgeBus(client, BUS).publish([event])


def test_calls_are_cut_at_256_kb_as_eventbridge_sizes_entries() -> None:
    big = Event("s", "t", {"x": "é" * 60_000})  # 2 bytes a character in UTF-8
    assert entry_size(big) == 1 + 1 + len('{"x":""}') + 2 * 60_000
    assert entry_size(Event("s", "t", {}, 0.0)) == TIME_BYTES + 1 + 1 + 2
    sizes = [size for _, size in check_events([big] * 5)]
    assert [len(b) for b in batches(range(5), sizes)] == [2, 2, 1]  # 120 KB each: two a call
    assert all(sum(sizes[i] for i in b) <= MAX_ENTRY_BYTES for b in batches(range(5), sizes))


def test_pauses_are_jittered_below_the_doubling_bound() -> None:
    pauses = [full_jitter(0.5) for _ in range(200)]
    assert all(0 <= p <= 0.5 for p in pauses)
    assert len(set(pauses)) > 100  # drawn, not fixed


def test_the_bus_draws_each_pause_below_its_bound() -> None:
    client = events_client()
    bounds: list[float] = []

    def jitter(bound: float) -> float:
        bounds.append(bound)
        return bound / 4

    slept: list[float] = []
    with Stubber(client) as stubber:
        bus = EventBridgeBus(client, BUS, attempts=3, backoff=0.5, sleep=slept.append, jitter=jitter)
        expect(stubber, 2, failed={0: "InternalFailure"})
        expect(stubber, 1, failed={0: "InternalFailure"})
        expect(stubber, 1)
        bus.publish(events(2))
    assert bounds == [0.5, 1.0]
    assert slept == [0.125, 0.25]


def test_a_throttled_entry_is_sent_again_alone(stubbed: Stubbed) -> None:
    stubber, bus, slept = stubbed
    expect(stubber, 3, failed={1: "ThrottlingException"})
    expect(stubber, 1)
    bus.publish(events(3))
    assert slept == [0.5]


def test_entries_still_refused_after_the_attempts_raise_a_transient_refusal(
    stubbed: Stubbed,
) -> None:
    stubber, bus, slept = stubbed
    expect(stubber, 2, failed={0: "InternalFailure"})
    expect(stubber, 1, failed={0: "InternalFailure"})
    expect(stubber, 1, failed={0: "InternalFailure"})
    with pytest.raises(EventsNotPublished) as raised:
        bus.publish(events(2))
    assert raised.value.transient
    assert [(r.position, r.code) for r in raised.value.refused] == [(0, "InternalFailure")]
    assert slept == [0.5, 1.0]


def test_an_entry_refused_for_good_is_not_sent_again(stubbed: Stubbed) -> None:
    stubber, bus, slept = stubbed
    expect(stubber, 10, failed={0: "InvalidArgument"})
    expect(stubber, 2, failed={1: "ThrottlingException"})
    expect(stubber, 1)  # position 11, sent again
    with pytest.raises(EventsNotPublished) as raised:
        bus.publish(events(12))
    assert not raised.value.transient
    assert [(r.position, r.code, r.transient) for r in raised.value.refused] == [(0, "InvalidArgument", False)]
    assert slept == [0.5]


def test_a_missing_bus_is_bus_not_found(stubbed: Stubbed) -> None:
    stubber, bus, _ = stubbed
    expect(stubber, 1, failed={0: "NotFoundException"})
    with pytest.raises(BusNotFound):
        bus.publish(events(1))
    stubber.add_client_error("put_events", "ResourceNotFoundException", "Event bus x does not exist.", 400)
    with pytest.raises(BusNotFound):
        bus.publish(events(1))


def test_call_errors_are_the_ports(stubbed: Stubbed) -> None:
    stubber, bus, _ = stubbed
    stubber.add_client_error("put_events", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(TransientError):
        bus.publish(events(1))
    stubber.add_client_error("put_events", "InternalException", "oops", 500)
    with pytest.raises(TransientError):
        bus.publish(events(1))
    stubber.add_client_error("put_events", "AccessDeniedException", "not allowed", 400)
    with pytest.raises(EventBusError):
        bus.publish(events(1))


def test_nothing_is_sent_when_one_event_cannot_be(stubbed: Stubbed) -> None:
    _, bus, _ = stubbed  # no response stubbed: any call would fail the test
    with pytest.raises(ValueError, match="event 1"):
        bus.publish([*events(1), Event("catalogue.test", "x", {"v": float("nan")})])
    with pytest.raises(ValueError, match="source"):
        bus.publish([Event("", "x", {})])
    with pytest.raises(ValueError, match="detail type"):
        bus.publish([Event("s", "x" * 129, {})])


def test_an_empty_publication_makes_no_call(stubbed: Stubbed) -> None:
    _, bus, _ = stubbed
    bus.publish([])
