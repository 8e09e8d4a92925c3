"""An in-memory :class:`~chalicelib.catalogue.summary_store.SummaryStore` (tests only)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence

from chalicelib.catalogue.summary_counts import Cell, Counters, Ledger, Profile
from chalicelib.catalogue.summary_store import Commit, Generations, SummaryStore
from chalicelib.errors import SummaryUnavailable


class InMemorySummaryStore(SummaryStore):
    """Ledgers and counters in dicts behind one lock (a commit is atomic, as the contract says).

    ``fail=True`` makes every operation raise :class:`SummaryUnavailable`, as a store that
    cannot be reached; ``commits`` counts the commits that wrote.
    """

    def __init__(self, *, max_actions: int = 100, fail: bool = False) -> None:
        self.max_actions = max_actions
        self.fail = fail
        self.commits = 0
        self._lock = threading.Lock()
        self._current, self._building, self._last = 1, None, 1
        self._ledgers: dict[int, dict[str, tuple[Ledger, int]]] = defaultdict(dict)
        self._cells: dict[int, dict[Cell, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        self._overlaps: dict[int, dict[Profile, int]] = defaultdict(lambda: defaultdict(int))

    def _check(self) -> None:
        if self.fail:
            raise SummaryUnavailable("summary counters: the in-memory store is set to fail")

    def generations(self) -> Generations:
        self._check()
        with self._lock:
            return Generations(self._current, self._building)

    def ledgers(self, generation: int, uuids: Sequence[str]) -> dict[str, tuple[Ledger, int]]:
        self._check()
        with self._lock:
            stored = self._ledgers[generation]
            return {u: stored[u] for u in uuids if u in stored}

    def commit(self, generation: int, commit: Commit) -> bool:
        self._check()
        if self.actions(commit) > self.max_actions:
            raise ValueError(f"a commit of {self.actions(commit)} items; at most {self.max_actions}")
        with self._lock:
            stored = self._ledgers[generation]
            if any(stored.get(u, ({}, 0))[1] != expected for u, (_, expected) in commit.ledgers.items()):
                return False
            for u, (ledger, expected) in commit.ledgers.items():
                stored[u] = (dict(ledger), expected + 1)
            for cell, counters in commit.deltas.cells.items():
                for name, delta in counters.items():
                    self._cells[generation][cell][name] += delta
            for profile, delta in commit.deltas.overlaps.values():
                self._overlaps[generation][profile] += delta
            self.commits += 1
            return True

    def counters(self, generation: int | None = None) -> Counters:
        self._check()
        with self._lock:
            generation = self._current if generation is None else generation
            return Counters(
                {cell: dict(values) for cell, values in self._cells[generation].items()},
                dict(self._overlaps[generation]),
            )

    def start_generation(self, takeover: bool = False) -> int:
        self._check()
        with self._lock:
            if self._building is not None and not takeover:
                raise ValueError(f"generation {self._building} is being built")
            if self._building is not None:
                self._forget(self._building)
            self._last += 1
            self._building = self._last
            return self._last

    def serve(self, generation: int) -> None:
        self._check()
        with self._lock:
            if self._building != generation:
                raise ValueError(f"generation {generation} is not being built")
            self._current, self._building = generation, None

    def drop(self, generation: int) -> int:
        self._check()
        with self._lock:
            return self._forget(generation)

    def _forget(self, generation: int) -> int:
        n = len(self._ledgers.pop(generation, {})) + len(self._cells.pop(generation, {}))
        return n + len(self._overlaps.pop(generation, {}))
