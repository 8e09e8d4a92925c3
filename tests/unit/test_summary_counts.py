"""Summary counters: the arithmetic against a brute-force count, the stream consumer keeping
them, and the operator's rebuild and drift check (in-memory store; the DynamoDB store passes
the same contract in tests/contract/test_summary_store_contract.py)."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.adapters.dynamodb.repository import DynamoRepository
from chalicelib.catalogue.index_documents import index_doc
from chalicelib.catalogue.streams import StreamProcessor
from chalicelib.catalogue.summary_counts import Counted, EntryState, Summary, entry_state, summarize, tally
from chalicelib.catalogue.summary_store import SummaryCounts, counts_drift, rebuild_counts
from chalicelib.domain import REGISTERED, Replica, User
from chalicelib.errors import SummaryUnavailable
from tests.fakes.search import InMemorySearchIndex
from tests.fakes.summary import InMemorySummaryStore
from tests.unit.test_facility_audit import stream_record
from tests.unit.test_stream_feed import BASE, ImageRepository, dataset, image

BASES = ("s3://a", "s3://b", "s3://c")
PROJECTS = ("", "", "p1", "p2")


def random_catalogue(rng: random.Random, uuids: int) -> dict[str, dict[str, tuple[int, Counted | None]]]:
    out: dict[str, dict[str, tuple[int, Counted | None]]] = {}
    for i in range(uuids):
        entries: dict[str, tuple[int, Counted | None]] = {}
        for base_uri in rng.sample(BASES, rng.choice((1, 1, 2, 3))):
            live = rng.random() > 0.15
            c = Counted(
                rng.choice(PROJECTS),
                rng.choice(("alice", "bob", "carol")),
                tuple(sorted(rng.sample(("raw", "soil", "x", "y"), rng.randint(0, 3)))),
                rng.choice(("dtool", "record")),
                rng.randint(0, 1000),
            )
            entries[base_uri] = (1, c if live else None)
        out[f"u{i}"] = entries
    return out


Catalogue = dict[str, dict[str, tuple[int, Counted | None]]]


def brute_force(
    catalogue: Catalogue, allowed: frozenset[str] | None, projects: frozenset[str]
) -> tuple[Summary, dict[str, int], dict[str, int]]:
    """What a search engine's aggregations give: every visible live entry looked at."""
    seen = [
        (uuid, base_uri, c)
        for uuid, entries in catalogue.items()
        for base_uri, (_, c) in entries.items()
        if c is not None and (allowed is None or base_uri in allowed or (c.project and c.project in projects))
    ]

    def distinct(label: Any) -> dict[str, int]:
        sets: dict[str, set[str]] = {}
        for uuid, base_uri, c in seen:
            for value in label(base_uri, c):
                sets.setdefault(value, set()).add(uuid)
        return {k: len(v) for k, v in sorted(sets.items())}

    def sizes(label: Any) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, base_uri, c in seen:
            for value in label(base_uri, c):
                out[value] = out.get(value, 0) + c.size
        return dict(sorted(out.items()))

    summary = Summary(
        number_of_datasets=len({u for u, _, _ in seen}),
        datasets_per_base_uri=distinct(lambda b, c: [b]),
        datasets_per_creator=distinct(lambda b, c: [c.creator]),
        datasets_per_tag=distinct(lambda b, c: c.tags),
        total_size_in_bytes=sum(c.size for _, _, c in seen),
        size_in_bytes_per_base_uri=sizes(lambda b, c: [b]),
        size_in_bytes_per_creator=sizes(lambda b, c: [c.creator]),
        size_in_bytes_per_tag=sizes(lambda b, c: c.tags),
    )
    return summary, distinct(lambda b, c: [c.project] if c.project else []), distinct(lambda b, c: [c.type])


@pytest.mark.parametrize("seed", range(40))
def test_counters_give_what_looking_at_every_entry_gives_for_any_caller(seed: int) -> None:
    rng = random.Random(seed)
    catalogue = random_catalogue(rng, rng.randint(0, 40))
    counters = tally(catalogue.values())
    callers: list[tuple[frozenset[str] | None, frozenset[str]]] = [(None, frozenset()), (frozenset(), frozenset())]
    for _ in range(6):
        bases, projects = rng.sample(BASES, rng.randint(0, 3)), rng.sample(("p1", "p2"), rng.randint(0, 2))
        callers.append((frozenset(bases), frozenset(projects)))
    for allowed, projects in callers:
        assert summarize(counters, allowed, projects) == brute_force(catalogue, allowed, projects), (allowed, projects)


def test_a_dataset_on_two_visible_base_uris_is_one_dataset_and_two_entries() -> None:
    c = Counted("", "alice", ("raw",), "dtool", 100)
    counters = tally([{"s3://a": (1, c), "s3://b": (2, c)}])
    both, _, _ = summarize(counters, frozenset({"s3://a", "s3://b"}))
    assert (both.number_of_datasets, both.datasets_per_creator, both.datasets_per_tag) == (1, {"alice": 1}, {"raw": 1})
    assert both.datasets_per_base_uri == {"s3://a": 1, "s3://b": 1}
    assert both.total_size_in_bytes == 200  # stored twice
    one, _, _ = summarize(counters, frozenset({"s3://b"}))
    assert (one.number_of_datasets, one.datasets_per_base_uri, one.total_size_in_bytes) == (1, {"s3://b": 1}, 100)


def test_an_entry_counts_exactly_when_its_index_document_is_live() -> None:
    live = dataset()
    for entry in (
        live,
        replace(live, deleted=True),
        replace(live, replicas=()),
        replace(live, status="refused"),
        replace(live, status="incomplete"),
        replace(live, status=REGISTERED, content=replace(live.content, tags=("b", "a", "a"), project="p")),
    ):
        state = entry_state(entry)
        assert (state.counted is None) == index_doc(entry)["deleted"]
        if state.counted is not None:
            assert state.counted.tags == tuple(sorted(set(entry.content.tags)))


def test_a_later_record_moves_the_counts_and_an_older_or_repeated_one_does_not() -> None:
    counts = SummaryCounts(InMemorySummaryStore())
    c1, c2 = Counted("", "alice", ("raw",), "dtool", 5), Counted("", "bob", (), "dtool", 7)
    v1, v2, v3 = EntryState("u", "s3://a", 1, c1), EntryState("u", "s3://a", 2, c2), EntryState("u", "s3://a", 3, None)
    assert counts.apply([v2, v1]) == 1  # out of order in one batch: the newest counts
    assert counts.summary(None)["datasets_per_creator"] == {"bob": 1}
    assert counts.apply([v1, v2]) == 0
    assert counts.summary(None)["datasets_per_creator"] == {"bob": 1}
    counts.apply([v3])
    assert counts.summary(None)["number_of_datasets"] == 0
    assert counts.apply([v2]) == 0  # a late record of a deleted entry does not bring it back
    assert counts.summary(None)["number_of_datasets"] == 0


def test_a_caller_sees_the_summary_of_what_they_may_search() -> None:
    counts = SummaryCounts(InMemorySummaryStore())
    c = Counted("proj", "alice", (), "dtool", 1)
    counts.apply([EntryState("u1", "s3://a", 1, c), EntryState("u2", "s3://b", 1, replace(c, project=""))])
    admin = User(username="admin", is_admin=True)
    reader = User(username="reader", search_base_uris=frozenset({"s3://b"}))
    member = User(username="member", projects=frozenset({"proj"}))
    outsider = User(username="outsider")
    assert counts.summary_for(admin)["number_of_datasets"] == 2
    assert counts.summary_for(reader)["base_uris"] == ["s3://b"]
    assert counts.summary_for(member)["datasets_per_project"] == {"proj": 1}
    assert counts.summary_for(member)["base_uris"] == ["s3://a"]
    assert counts.summary_for(outsider)["number_of_datasets"] == 0


class Counting:
    def __init__(self) -> None:
        self.repo = ImageRepository()
        self.store = InMemorySummaryStore()
        self.counts = SummaryCounts(self.store, sleep=lambda _: None)
        self.processor = StreamProcessor(
            cast("DynamoRepository", self.repo), InMemorySearchIndex(), stage="test", summary=self.counts
        )


def test_the_datasets_stream_keeps_the_counts_through_a_lifecycle_and_a_purge() -> None:
    world = Counting()
    v1 = dataset(content=replace(dataset().content, tags=("raw",), size_in_bytes=10))
    v2 = dataset(version=2, content=replace(v1.content, tags=("clean",)))
    gone = dataset(version=3, replicas=(), deleted=True)
    world.processor.process_datasets([stream_record("INSERT", None, image(v1))])
    assert world.counts.summary(None)["datasets_per_tag"] == {"raw": 1}
    world.processor.process_datasets([stream_record("MODIFY", image(v1), image(v2))] * 2)  # repeated
    s = world.counts.summary(None)
    assert (s["number_of_datasets"], s["datasets_per_tag"], s["total_size_in_bytes"]) == (1, {"clean": 1}, 10)
    world.processor.process_datasets([stream_record("MODIFY", image(v2), image(gone))])
    world.processor.process_datasets([stream_record("REMOVE", image(gone), None)])
    assert world.counts.summary(None)["number_of_datasets"] == 0


def test_counters_that_cannot_be_written_fail_the_batch_and_its_redelivery_counts_once() -> None:
    world = Counting()
    record = stream_record("INSERT", None, image(dataset()))
    world.store.fail = True
    with pytest.raises(SummaryUnavailable):
        world.processor.process_datasets([record])
    world.store.fail = False
    world.processor.process_datasets([record])
    world.processor.process_datasets([record])
    assert world.counts.summary(None)["number_of_datasets"] == 1


def test_drift_finds_counters_that_disagree_and_a_rebuild_mends_them_while_the_stream_flows() -> None:
    world = Counting()
    entries = [dataset(uuid=f"u{i}", content=replace(dataset(uuid=f"u{i}").content, size_in_bytes=i)) for i in range(5)]
    for e in entries:
        world.repo.save_dataset(e, None)
    world.processor.process_datasets([stream_record("INSERT", None, image(e)) for e in entries])
    assert counts_drift(world.repo.iter_datasets(), world.store).clean
    # a record the counters never saw (say, lost by a restore of the datasets table)
    extra = replace(dataset(uuid="u9"), replicas=(Replica(f"{BASE}/u9", BASE, 0.0, "alice"),))
    world.repo.save_dataset(extra, None)
    drift = counts_drift(world.repo.iter_datasets(), world.store)
    assert not drift.clean and (BASE, "n", 6, 5) in drift.differences
    old = world.store.generations().current

    def datasets_while_streaming() -> Any:
        for n, d in enumerate(world.repo.iter_datasets()):
            if n == 2:  # a change arrives through the stream during the rebuild
                edited = replace(entries[0], version=2, content=replace(entries[0].content, tags=("late",)))
                world.repo.save_dataset(edited, 1)
                world.processor.process_datasets([stream_record("MODIFY", image(entries[0]), image(edited))])
            yield d

    report = rebuild_counts(datasets_while_streaming, world.counts)
    assert report.generation > old and report.entries == 6 and report.dropped > 0
    assert world.store.generations().building is None
    assert counts_drift(world.repo.iter_datasets(), world.store).clean
    assert world.counts.summary(None)["datasets_per_tag"] == {"late": 1}
