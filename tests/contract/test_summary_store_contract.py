"""The SummaryStore contract (and SummaryCounts over it), against the in-memory fake and
DynamoSummaryStore on DynamoDB in moto server mode (fresh, uniquely named tables per test).

Concurrency is checked on the moto server only with its writes serialized as the local stack
runs it (moto in-process is not atomic under threads)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest

from chalicelib.adapters.dynamodb.summary import DynamoSummaryStore
from chalicelib.catalogue.summary_counts import Counted, Counters, Deltas, EntryState, tally
from chalicelib.catalogue.summary_store import Commit, SummaryCounts, SummaryStore
from tests.contract.conftest import dynamodb_on_moto_server
from tests.fakes.summary import InMemorySummaryStore

A, B, C = "s3://bucket-a", "s3://bucket-b", "s3://bucket-c"


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[SummaryStore]:
    if request.param == "memory":
        yield InMemorySummaryStore()
        return
    for _ in dynamodb_on_moto_server(request.getfixturevalue("moto_server_url")):
        yield DynamoSummaryStore()


def counted(creator: str = "alice", tags: tuple[str, ...] = ("raw",), size: int = 10, project: str = "") -> Counted:
    return Counted(project, creator, tags, "dtool", size)


def one_entry(uuid: str, base_uri: str = A, **kw: object) -> Commit:
    ledger = {base_uri: (1, counted(**kw))}  # type: ignore[arg-type]
    deltas = Deltas()
    deltas.add_change({}, ledger)
    return Commit({uuid: (ledger, 0)}, deltas.net())


def plain(counters: Counters) -> tuple[dict[object, dict[str, int]], dict[object, int]]:
    """Counters without the ones at zero (a store may keep or drop them)."""
    cells = {cell: {k: v for k, v in values.items() if v} for cell, values in counters.cells.items()}
    return {c: v for c, v in cells.items() if v}, {p: n for p, n in counters.overlaps.items() if n}


def test_an_empty_store_serves_generation_one_with_nothing(store: SummaryStore) -> None:
    gens = store.generations()
    assert (gens.current, gens.building) == (1, None)
    assert plain(store.counters(1)) == ({}, {})
    assert store.ledgers(1, ["u1"]) == {}


def test_a_commit_writes_ledgers_and_moves_counters(store: SummaryStore) -> None:
    assert store.commit(1, one_entry("u1", size=5)) is True
    assert store.commit(1, one_entry("u2", tags=("raw", "x"), size=7)) is True
    cells, overlaps = plain(store.counters(1))
    assert cells == {
        (A, ""): {
            "n": 2,
            "b": 12,
            "c#alice": 2,
            "cb#alice": 12,
            "t#raw": 2,
            "tb#raw": 12,
            "t#x": 1,
            "tb#x": 7,
            "y#dtool": 2,
        }
    }
    assert overlaps == {}
    ledger, rev = store.ledgers(1, ["u1", "u2", "u3"])["u1"]
    assert rev == 1 and ledger == {A: (1, counted(size=5))}


def test_a_commit_on_a_changed_ledger_writes_nothing(store: SummaryStore) -> None:
    assert store.commit(1, one_entry("u1")) is True
    before = plain(store.counters(1))
    both = one_entry("u9")
    stale = Commit({**both.ledgers, "u1": ({B: (1, counted())}, 0)}, both.deltas)  # u1 is at revision 1
    assert store.commit(1, stale) is False
    assert plain(store.counters(1)) == before
    assert set(store.ledgers(1, ["u1", "u9"])) == {"u1"}
    # with the right revision it goes through, and the revision moves on
    assert store.commit(1, Commit({"u1": ({B: (2, None)}, 1)}, Deltas())) is True
    assert store.ledgers(1, ["u1"])["u1"][1] == 2


def test_generations_are_separate_and_one_is_built_at_a_time(store: SummaryStore) -> None:
    assert store.commit(1, one_entry("u1")) is True
    g = store.start_generation()
    assert g > 1 and store.generations().building == g
    with pytest.raises(ValueError):
        store.start_generation()
    assert plain(store.counters(g)) == ({}, {})
    assert store.commit(g, one_entry("u2", base_uri=B)) is True
    with pytest.raises(ValueError):
        store.serve(g + 1)
    store.serve(g)
    assert (store.generations().current, store.generations().building) == (g, None)
    assert set(plain(store.counters(g))[0]) == {(B, "")}
    assert store.drop(1) >= 2
    assert plain(store.counters(1)) == ({}, {})
    # a rebuild that stopped half-way is taken over
    h = store.start_generation()
    assert store.commit(h, one_entry("u3")) is True
    k = store.start_generation(takeover=True)
    assert k > h and store.generations().building == k
    assert plain(store.counters(h)) == ({}, {})


def states_for(rng: random.Random, uuids: int, versions: int) -> list[EntryState]:
    """Every version of entries of ``uuids`` uuids on up to three base URIs, some deleted."""
    out = []
    for i in range(uuids):
        for base_uri in rng.sample((A, B, C), rng.randint(1, 3)):
            for v in range(1, versions + 1):
                live = rng.random() > 0.2
                c = counted(rng.choice(("alice", "bob")), tuple(sorted(rng.sample(("raw", "x", "y"), 2))), v * 3)
                out.append(EntryState(f"u{i:03d}", base_uri, v, c if live else None))
    return out


def expected(states: list[EntryState]) -> tuple[dict[object, dict[str, int]], dict[object, int]]:
    latest: dict[str, dict[str, tuple[int, Counted | None]]] = {}
    for s in states:
        have = latest.setdefault(s.uuid, {}).get(s.base_uri)
        if have is None or have[0] < s.version:
            latest[s.uuid][s.base_uri] = (s.version, s.counted)
    return plain(tally(latest.values()))


def test_counts_are_exact_over_repeated_and_shuffled_batches_larger_than_a_commit(store: SummaryStore) -> None:
    rng = random.Random(7)
    states = states_for(rng, 60, 3)
    delivered = states + rng.sample(states, len(states) // 2)  # at least once: repeats
    rng.shuffle(delivered)
    counts = SummaryCounts(store)
    for start in range(0, len(delivered), 150):  # batches whose ledgers and cells exceed one commit
        counts.apply(delivered[start : start + 150])
    assert plain(store.counters(1)) == expected(states)
    counts.apply(states)  # everything again: nothing moves
    assert plain(store.counters(1)) == expected(states)


def test_concurrent_consumers_count_each_entry_once(request: pytest.FixtureRequest, store: SummaryStore) -> None:
    """Four consumers (as four stream shards) count overlapping batches of the same uuids at once."""
    rng = random.Random(11)
    states = states_for(rng, 25, 2)
    parts = [rng.sample(states, len(states) // 2) for _ in range(4)]
    parts[0] += [s for s in states if s not in parts[0]]  # every state delivered at least once
    errors: list[BaseException] = []

    def consume(part: list[EntryState]) -> None:
        counts = SummaryCounts(DynamoSummaryStore() if isinstance(store, DynamoSummaryStore) else store)
        try:
            for start in range(0, len(part), 20):
                counts.apply(part[start : start + 20])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert plain(store.counters(1)) == expected(states)


def unreachable(store: DynamoSummaryStore) -> None:
    from chalicelib.adapters.dynamodb import tables
    from chalicelib.errors import SummaryUnavailable

    assert store.commit(1, one_entry("u1")) is True
    tables.SummaryItem.delete_table()  # the table is gone: every call fails as DynamoDB's would
    for call in (
        store.generations,
        store.counters,
        lambda: store.ledgers(1, ["u1"]),
        lambda: store.commit(1, one_entry("u2")),
    ):
        with pytest.raises(SummaryUnavailable):
            call()


def test_a_store_that_cannot_be_reached_raises_summary_unavailable(request: pytest.FixtureRequest) -> None:
    from chalicelib.errors import SummaryUnavailable

    for _ in dynamodb_on_moto_server(request.getfixturevalue("moto_server_url")):
        unreachable(DynamoSummaryStore())
    with pytest.raises(SummaryUnavailable):
        SummaryCounts(InMemorySummaryStore(fail=True)).apply([EntryState("u", A, 1, counted())])
