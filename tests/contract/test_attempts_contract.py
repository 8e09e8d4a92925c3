"""The AttemptCounter contract, run against the in-memory fake and DynamoAttemptCounter on
DynamoDB in moto server mode (fresh, uniquely named tables per test)."""

from __future__ import annotations

import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.adapters.aws import make_client
from chalicelib.adapters.dynamodb import tables
from chalicelib.adapters.dynamodb.attempts import AttemptCounter, AttemptsUnavailable, DynamoAttemptCounter
from chalicelib.config import Settings
from tests.contract.conftest import dynamodb_on_moto_server
from tests.fakes.attempts import InMemoryAttemptCounter

LATER = time.time() + 900


class Backend:
    """A counter of the backend under test, and (for DynamoDB) the settings its tables are
    bound to."""

    def __init__(self, counter: AttemptCounter, settings: Settings | None = None) -> None:
        self.counter = counter
        self.settings = settings

    def raw_item(self, k: str) -> dict[str, Any] | None:
        """The DynamoDB item of counter ``k`` as stored (None if there is none)."""
        assert self.settings is not None
        item = self.ddb().get_item(TableName=self.settings.sign_in_attempts_table, Key={"key": {"S": k}})
        return cast("dict[str, Any] | None", item.get("Item"))

    def ddb(self) -> Any:
        assert self.settings is not None
        return make_client("dynamodb", region=self.settings.region, endpoint_url=self.settings.aws_endpoint_url)


@pytest.fixture(params=["memory", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        yield Backend(InMemoryAttemptCounter())
        return
    for settings in dynamodb_on_moto_server(request.getfixturevalue("moto_server_url")):
        yield Backend(DynamoAttemptCounter(), settings)


@pytest.fixture
def counter(backend: Backend) -> AttemptCounter:
    return backend.counter


def key() -> str:
    return f"sign-in#user#{uuidlib.uuid4().hex}#900#1"


def test_an_unknown_key_holds_nothing_and_a_take_starts_it(counter: AttemptCounter) -> None:
    k = key()
    assert counter.count(k) == 0
    assert counter.take(k, 3, LATER) is True
    assert counter.count(k) == 1


def test_takes_stop_at_the_limit_and_a_refused_take_changes_nothing(counter: AttemptCounter) -> None:
    k = key()
    assert [counter.take(k, 3, LATER) for _ in range(5)] == [True, True, True, False, False]
    assert counter.count(k) == 3
    assert counter.take(k, 4, LATER) is True  # the limit is the caller's, per take
    assert counter.count(k) == 4


def test_a_limit_below_one_never_takes(counter: AttemptCounter) -> None:
    k = key()
    assert counter.take(k, 0, LATER) is False
    assert counter.count(k) == 0


def test_giving_back_frees_a_take_and_never_goes_below_zero(counter: AttemptCounter) -> None:
    k = key()
    assert counter.take(k, 2, LATER) and counter.take(k, 2, LATER)
    assert counter.take(k, 2, LATER) is False
    counter.give_back(k)
    assert counter.count(k) == 1
    assert counter.take(k, 2, LATER) is True
    for _ in range(4):
        counter.give_back(k)
    assert counter.count(k) == 0
    assert [counter.take(k, 2, LATER) for _ in range(3)] == [True, True, False]


def test_giving_back_to_an_unknown_key_creates_nothing(backend: Backend) -> None:
    k = key()
    backend.counter.give_back(k)
    assert backend.counter.count(k) == 0
    if backend.settings is not None:
        assert backend.raw_item(k) is None
    assert backend.counter.take(k, 1, LATER) is True


def test_keys_are_independent(counter: AttemptCounter) -> None:
    a, b = key(), key()
    assert counter.take(a, 1, LATER) is True
    assert counter.take(a, 1, LATER) is False
    assert counter.take(b, 1, LATER) is True
    counter.give_back(b)
    assert (counter.count(a), counter.count(b)) == (1, 0)


def test_concurrent_takes_never_pass_the_limit(counter: AttemptCounter) -> None:
    k = key()
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def take() -> None:
        start.wait()
        outcome = counter.take(k, 5, LATER)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=take) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True] * 5
    assert counter.count(k) == 5


def test_dynamodb_counters_carry_their_expiry_as_the_table_ttl(backend: Backend) -> None:
    if backend.settings is None:
        pytest.skip("the fake forgets nothing: there is no expiry to store")
    k = key()
    expires_at = 1_900_000_000.0
    assert backend.counter.take(k, 3, expires_at)
    assert backend.raw_item(k) == {"key": {"S": k}, "attempts": {"N": "1"}, "expires_at": {"N": str(int(expires_at))}}
    table = backend.settings.sign_in_attempts_table
    ttl = backend.ddb().describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}


@pytest.fixture
def unreachable(backend: Backend) -> Iterator[AttemptCounter]:
    """A counter of the backend under test whose store cannot be used (DynamoDB: its table
    does not exist)."""
    if backend.settings is None:
        yield InMemoryAttemptCounter(fail=True)
        return
    tables.bind(replace(backend.settings, sign_in_attempts_table=f"missing-{uuidlib.uuid4().hex[:8]}"))
    try:
        yield DynamoAttemptCounter()
    finally:
        tables.bind(backend.settings)  # the fixture's teardown deletes the tables it bound


def test_an_unusable_store_raises_attempts_unavailable(unreachable: AttemptCounter) -> None:
    with pytest.raises(AttemptsUnavailable):
        unreachable.take(key(), 3, LATER)
    with pytest.raises(AttemptsUnavailable):
        unreachable.give_back(key())
    with pytest.raises(AttemptsUnavailable):
        unreachable.count(key())
