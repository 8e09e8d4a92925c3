"""The summary counters' port, and the service that keeps them, rebuilds them and checks them.

The stream consumer hands every new entry state to :meth:`SummaryCounts.apply`; a summary reads
:meth:`SummaryCounts.summary`. Both cost the same whatever the size of the catalogue: a batch
reads the ledgers of its own uuids and writes them with the counters they change, a summary
reads the counters (one per cell and overlap class, see :mod:`chalicelib.catalogue.summary_counts`).

Exactly once under at-least-once delivery: a uuid's ledger remembers the version each of its
entries was counted at, a record not newer than that changes nothing, and a ledger is written
only together with the counters it moves, in one atomic commit conditional on the ledger
being unchanged since it was read. Two consumers counting entries of one uuid at once (two
stream shards) cannot both win: the loser reads again and recounts.

Generations make a rebuild safe while the stream keeps flowing (:func:`rebuild_counts`):
counters are kept per generation; while a new one is being built every batch is counted into
both, and the new one is served once the datasets table has been read into it.
"""

from __future__ import annotations

import logging
import random
import time
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib.catalogue.summary_counts import (
    Cell,
    Counters,
    Deltas,
    EntryState,
    Ledger,
    advance,
    entry_state,
    summarize,
    tally,
)
from chalicelib.domain import Dataset, JSONObject, User
from chalicelib.errors import SummaryUnavailable
from chalicelib.identity import permissions as perm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generations:
    """The generation served, and the one being built (None: no rebuild running)."""

    current: int
    building: int | None = None

    @property
    def written(self) -> tuple[int, ...]:
        return (self.current,) if self.building is None else (self.current, self.building)


@dataclass(frozen=True)
class Commit:
    """One atomic write: each uuid's new ledger (on the condition that its stored revision is
    still ``expected``, 0 for none) and the counter changes those ledgers make together."""

    ledgers: Mapping[str, tuple[Ledger, int]]
    deltas: Deltas


class SummaryStore(ABC):
    """Storage of ledgers and counters, per generation.

    Contract (``tests/contract/test_summary_store_contract.py``, fake and DynamoDB):

    - :meth:`commit` is all or nothing: when any ledger's revision is not the expected one it
      writes nothing and returns False; otherwise every ledger gets revision ``expected + 1``
      and every counter moves by its delta, and it returns True.
    - A commit holds at most :attr:`max_actions` ledgers and counter items (cells and overlap
      classes together): :meth:`actions` counts them.
    - :meth:`counters` returns what the commits of a generation add up to (the one served when
      none is named), counters at zero included or not; :meth:`ledgers` the ledgers and
      revisions stored (absent: none).
    - :meth:`start_generation` names a new generation being built (refused while another is
      being built: ValueError), :meth:`serve` makes it current and :meth:`drop` forgets a
      generation's ledgers and counters.
    - Failures of the backend raise :class:`SummaryUnavailable` (nothing backend-specific).
    """

    max_actions: int = 100

    @abstractmethod
    def generations(self) -> Generations: ...

    @abstractmethod
    def ledgers(self, generation: int, uuids: Sequence[str]) -> dict[str, tuple[Ledger, int]]: ...

    @abstractmethod
    def commit(self, generation: int, commit: Commit) -> bool: ...

    @abstractmethod
    def counters(self, generation: int | None = None) -> Counters:
        """The counters of ``generation`` (None: the one served, read with it in one go)."""

    @abstractmethod
    def start_generation(self, takeover: bool = False) -> int:
        """A new generation, being built from now on (ValueError while another one is, unless
        ``takeover``: a rebuild that stopped half-way leaves one; it is dropped first)."""

    @abstractmethod
    def serve(self, generation: int) -> None:
        """Serve ``generation``, the one being built (ValueError for any other)."""

    @abstractmethod
    def drop(self, generation: int) -> int:
        """Delete the generation's items; how many."""

    @staticmethod
    def actions(commit: Commit) -> int:
        return len(commit.ledgers) + len(commit.deltas.cells) + len(commit.deltas.overlaps)


MAX_ATTEMPTS = 6


class SummaryCounts:
    """Keeps the counters from entry states and answers summaries from them."""

    def __init__(
        self,
        store: SummaryStore,
        *,
        attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._attempts = attempts
        self._sleep = sleep
        self._rng = rng or random.Random()

    def apply(self, states: Iterable[EntryState]) -> int:
        """Count ``states`` (a stream batch, in any order, repeats allowed) into every generation
        written; returns the uuids whose ledger changed in the current one."""
        batch = list(states)
        if not batch:
            return 0
        gens = self._store.generations()
        changed = 0
        for gen in gens.written:
            n = self.apply_to(gen, batch)
            if gen == gens.current:
                changed = n
        return changed

    def apply_to(self, generation: int, states: Sequence[EntryState]) -> int:
        by_uuid: dict[str, list[EntryState]] = defaultdict(list)
        for s in states:
            by_uuid[s.uuid].append(s)
        pending = sorted(by_uuid)
        changed = 0
        for attempt in range(self._attempts):
            stored = self._store.ledgers(generation, pending)
            conflicts: list[str] = []
            for commit in self._commits(stored, {u: by_uuid[u] for u in pending}):
                if self._store.commit(generation, commit):
                    changed += len(commit.ledgers)
                else:
                    conflicts += list(commit.ledgers)
            if not conflicts:
                return changed
            pending = sorted(conflicts)
            # another consumer counted some of these uuids meanwhile: read them again
            self._sleep(self._rng.uniform(0, 0.05 * 2**attempt))
        raise SummaryUnavailable(f"summary counters: {len(pending)} uuids still contended after {self._attempts} tries")

    def _commits(
        self, stored: Mapping[str, tuple[Ledger, int]], states: Mapping[str, list[EntryState]]
    ) -> Iterable[Commit]:
        """Commits of at most ``max_actions`` items, each uuid whole in one of them."""
        ledgers: dict[str, tuple[Ledger, int]] = {}
        deltas = Deltas()
        for uuid in sorted(states):
            old, rev = stored.get(uuid, ({}, 0))
            new: Ledger = old
            for s in sorted(states[uuid], key=lambda s: s.version):
                new = advance(new, s) or new
            if new is old:
                continue  # every state already counted
            one = Deltas()
            one.add_change(old, new)
            # the commit's items with this uuid, counting cells and classes before netting (an
            # upper bound: netting only removes counters that cancel out)
            size = len(ledgers) + 1 + len(deltas.cells.keys() | one.cells.keys())
            size += len(deltas.overlaps.keys() | one.overlaps.keys())
            if ledgers and size > self._store.max_actions:
                yield Commit(ledgers, deltas.net())
                ledgers, deltas = {}, Deltas()
            ledgers[uuid] = (new, rev)
            deltas.add(one)
        if ledgers:
            yield Commit(ledgers, deltas.net())

    def summary_for(self, user: User) -> JSONObject:
        """The summary of what ``user`` may search: its base URIs and its projects' entries."""
        return self.summary(perm.searchable_base_uris(user), perm.searchable_projects(user))

    def summary(
        self, allowed_base_uris: frozenset[str] | None, allowed_projects: frozenset[str] = frozenset()
    ) -> JSONObject:
        """The summary a caller with these base URIs and projects sees (the routes' JSON)."""
        counters = self._store.counters()
        s, per_project, per_type = summarize(counters, allowed_base_uris, allowed_projects)
        return {
            "number_of_datasets": s.number_of_datasets,
            "base_uris": sorted(s.datasets_per_base_uri),
            "creator_usernames": sorted(s.datasets_per_creator),
            "tags": sorted(s.datasets_per_tag),
            "datasets_per_base_uri": s.datasets_per_base_uri,
            "datasets_per_creator": s.datasets_per_creator,
            "datasets_per_tag": s.datasets_per_tag,
            "datasets_per_project": per_project,
            "datasets_per_type": per_type,
            "total_size_in_bytes": s.total_size_in_bytes,
            "size_in_bytes_per_base_uri": s.size_in_bytes_per_base_uri,
            "size_in_bytes_per_creator": s.size_in_bytes_per_creator,
            "size_in_bytes_per_tag": s.size_in_bytes_per_tag,
        }

    @property
    def store(self) -> SummaryStore:
        return self._store


# -- operator tasks -------------------------------------------------------------------------

REBUILD_CHUNK = 200


@dataclass
class CountsRebuild:
    generation: int = 0
    entries: int = 0
    dropped: int = 0  # items of the generation served before


def rebuild_counts(
    datasets: Callable[[], Iterable[Dataset]],
    counts: SummaryCounts,
    *,
    takeover: bool = False,
    progress: Callable[[int], None] | None = None,
) -> CountsRebuild:
    """Count the datasets table afresh into a new generation, serve it, drop the old one.

    The stream consumer counts into the new generation from the moment it exists, so what
    changes while the table is read is counted too (each entry once: the ledgers' versions).
    ``takeover``: a generation left by a rebuild that stopped half-way is dropped and built
    anew (otherwise ValueError).
    """
    store = counts.store
    old = store.generations().current
    report = CountsRebuild(generation=store.start_generation(takeover))
    chunk: list[EntryState] = []
    for dataset in datasets():
        chunk.append(entry_state(dataset))
        report.entries += 1
        if len(chunk) >= REBUILD_CHUNK:
            counts.apply_to(report.generation, chunk)
            chunk = []
            if progress:
                progress(REBUILD_CHUNK)
    if chunk:
        counts.apply_to(report.generation, chunk)
    store.serve(report.generation)
    report.dropped = store.drop(old)
    return report


@dataclass
class CountsDrift:
    checked: int = 0
    # (cell or overlap class, counter, expected from the datasets table, stored)
    differences: list[tuple[str, str, int, int]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences


def counts_drift(datasets: Iterable[Dataset], store: SummaryStore) -> CountsDrift:
    """Compare the served counters with what the datasets table adds up to (an operator task:
    it holds one ledger per uuid in memory)."""
    report = CountsDrift()
    ledgers: dict[str, Ledger] = {}
    for dataset in datasets:
        report.checked += 1
        state = entry_state(dataset)
        ledgers[state.uuid] = advance(ledgers.get(state.uuid, {}), state) or ledgers.get(state.uuid, {})
    expected = tally(ledgers.values())
    stored = store.counters()
    for cell in sorted(set(expected.cells) | set(stored.cells)):
        want, have = expected.cells.get(cell, {}), stored.cells.get(cell, {})
        for name in sorted(set(want) | set(have)):
            if want.get(name, 0) != have.get(name, 0):
                report.differences.append((_cell_label(cell), name, want.get(name, 0), have.get(name, 0)))
    for profile in sorted(set(expected.overlaps) | set(stored.overlaps)):
        want_n, have_n = expected.overlaps.get(profile, 0), stored.overlaps.get(profile, 0)
        if want_n != have_n:
            label = "overlap " + " + ".join(b for b, *_ in profile)
            report.differences.append((label, "uuids", want_n, have_n))
    return report


def _cell_label(cell: Cell) -> str:
    base_uri, project = cell
    return f"{base_uri} (project {project})" if project else base_uri
