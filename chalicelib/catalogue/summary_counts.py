"""Summary counts that do not grow with the catalogue: what each entry adds, kept as counters.

The summary (``GET /datasets/summary`` and its dtool forms) used to aggregate every index
document on each call. Now the datasets stream keeps counters (:mod:`chalicelib.catalogue.summary_store`)
and a summary reads only them: one counter item per **cell** (a base URI and a project), plus
one per **overlap class** (the uuids with live entries on two or more base URIs, grouped by
what those entries are), however many datasets there are.

Counting rules (the :class:`Summary` contract):

- an entry counts while it is live as the search index sees it (not deleted, registered, with
  replicas: :func:`entry_state`);
- cells count **entries** and bytes, in all and per creator, tag and type. Entries per base
  URI and every size are sums over the visible cells;
- datasets (in all, per creator, tag, project and type) are **distinct uuids**: a uuid whose
  visible entries lie in two cells was counted twice by the cells, and its overlap class takes
  the extra count back, for exactly the entries the caller sees (:func:`summarize`).

Everything here is pure: the ledger of a uuid (what its entries added, at which version) and
the counter deltas a new entry state makes. Stored state and conditional writes are the
store's (:class:`~chalicelib.catalogue.summary_store.SummaryStore`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.catalogue.index_documents import is_searchable
from chalicelib.catalogue.search import sees_nothing
from chalicelib.domain import Dataset

# Counter names in a cell: entries and bytes, and per value of a facet (name + SEP + value)
ENTRIES, BYTES = "n", "b"
CREATOR, CREATOR_BYTES, TAG, TAG_BYTES, TYPE = "c", "cb", "t", "tb", "y"
SEP = "#"

Cell = tuple[str, str]  # (base URI, project or "")


@dataclass(frozen=True)
class Summary:
    """Datasets are distinct uuids, except per base URI, where entries are counted (one per uuid).

    Sizes are bytes stored: the sum of ``size_in_bytes`` over entries, so a dataset copied
    to two visible base URIs counts twice (it is stored twice); per creator and per tag
    for the same creators and tags as the counts.
    """

    number_of_datasets: int
    datasets_per_base_uri: dict[str, int] = field(default_factory=dict)
    datasets_per_creator: dict[str, int] = field(default_factory=dict)
    datasets_per_tag: dict[str, int] = field(default_factory=dict)
    total_size_in_bytes: int = 0
    size_in_bytes_per_base_uri: dict[str, int] = field(default_factory=dict)
    size_in_bytes_per_creator: dict[str, int] = field(default_factory=dict)
    size_in_bytes_per_tag: dict[str, int] = field(default_factory=dict)

    def counts(self) -> Summary:
        """The counts alone (sizes zeroed): what tests of counting compare."""
        return Summary(
            self.number_of_datasets, self.datasets_per_base_uri, self.datasets_per_creator, self.datasets_per_tag
        )


@dataclass(frozen=True)
class Counted:
    """What one live entry adds: its cell's project, creator, tags (sorted, distinct), type and bytes."""

    project: str
    creator: str
    tags: tuple[str, ...]
    type: str
    size: int

    def to_json(self) -> list[Any]:
        return [self.project, self.creator, list(self.tags), self.type, self.size]

    @classmethod
    def from_json(cls, value: list[Any]) -> Counted:
        project, creator, tags, type_, size = value
        return cls(str(project), str(creator), tuple(str(t) for t in tags), str(type_), int(size))


@dataclass(frozen=True)
class EntryState:
    """An entry at one version: ``counted`` is what it adds, ``None`` while it is not live."""

    uuid: str
    base_uri: str
    version: int
    counted: Counted | None


def entry_state(dataset: Dataset) -> EntryState:
    """The entry as the summary counts it: counted exactly when it is searchable
    (:func:`chalicelib.catalogue.index_documents.is_searchable`, the rule its index document
    follows too)."""
    c = dataset.content
    counted = (
        Counted(c.project or "", c.creator_username, tuple(sorted(set(c.tags))), c.type, int(c.size_in_bytes))
        if is_searchable(dataset)
        else None
    )
    return EntryState(c.uuid, dataset.base_uri, dataset.version, counted)


# A uuid's ledger: per base URI, the version last counted and what it added (None: nothing).
# Tombstoned entries stay in it, so that an older record delivered again is recognised.
Ledger = Mapping[str, tuple[int, Counted | None]]


def advance(ledger: Ledger, state: EntryState) -> dict[str, tuple[int, Counted | None]] | None:
    """The ledger once ``state`` is counted, or None when it holds that version or a newer one."""
    have = ledger.get(state.base_uri)
    if have is not None and have[0] >= state.version:
        return None
    out = dict(ledger)
    out[state.base_uri] = (state.version, state.counted)
    return out


def ledger_to_json(ledger: Ledger) -> str:
    return json.dumps(
        {b: [v, c.to_json() if c else None] for b, (v, c) in sorted(ledger.items())}, separators=(",", ":")
    )


def ledger_from_json(text: str) -> dict[str, tuple[int, Counted | None]]:
    return {b: (int(v), Counted.from_json(c) if c else None) for b, (v, c) in json.loads(text).items()}


# An overlap class: the live entries of a uuid on two or more base URIs, without sizes, as
# sorted (base URI, project, creator, tags, type) tuples.
Profile = tuple[tuple[str, str, str, tuple[str, ...], str], ...]


def profile_of(ledger: Ledger) -> Profile | None:
    """The overlap class of a uuid with this ledger; None unless two or more entries are live."""
    live = sorted((b, c.project, c.creator, c.tags, c.type) for b, (_, c) in ledger.items() if c is not None)
    return tuple(live) if len(live) >= 2 else None


def profile_key(profile: Profile) -> str:
    """A short stable name of an overlap class (its counter's key)."""
    return hashlib.sha256(profile_to_json(profile).encode()).hexdigest()[:32]


def profile_to_json(profile: Profile) -> str:
    return json.dumps([[b, p, c, list(t), y] for b, p, c, t, y in profile], separators=(",", ":"))


def profile_from_json(text: str) -> Profile:
    return tuple((str(b), str(p), str(c), tuple(str(x) for x in t), str(y)) for b, p, c, t, y in json.loads(text))


@dataclass
class Deltas:
    """Counter changes: per cell, per counter name; per overlap class (key), its profile and count."""

    cells: dict[Cell, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    overlaps: dict[str, tuple[Profile, int]] = field(default_factory=dict)

    def add_entry(self, base_uri: str, counted: Counted, sign: int) -> None:
        cell = self.cells[(base_uri, counted.project)]
        cell[ENTRIES] += sign
        cell[BYTES] += sign * counted.size
        cell[CREATOR + SEP + counted.creator] += sign
        cell[CREATOR_BYTES + SEP + counted.creator] += sign * counted.size
        for tag in counted.tags:
            cell[TAG + SEP + tag] += sign
            cell[TAG_BYTES + SEP + tag] += sign * counted.size
        cell[TYPE + SEP + counted.type] += sign

    def add_overlap(self, profile: Profile, sign: int) -> None:
        key = profile_key(profile)
        _, count = self.overlaps.get(key, (profile, 0))
        self.overlaps[key] = (profile, count + sign)

    def add_change(self, old: Ledger, new: Ledger) -> None:
        """What replacing a uuid's ledger ``old`` by ``new`` changes."""
        for base_uri, (_, counted) in old.items():
            if counted is not None:
                self.add_entry(base_uri, counted, -1)
        for base_uri, (_, counted) in new.items():
            if counted is not None:
                self.add_entry(base_uri, counted, +1)
        before, after = profile_of(old), profile_of(new)
        if before != after:
            if before is not None:
                self.add_overlap(before, -1)
            if after is not None:
                self.add_overlap(after, +1)

    def add(self, other: Deltas) -> None:
        """Add ``other``'s changes to these."""
        for cell, counters in other.cells.items():
            mine = self.cells[cell]
            for name, d in counters.items():
                mine[name] = mine.get(name, 0) + d
        for key, (profile, d) in other.overlaps.items():
            _, have = self.overlaps.get(key, (profile, 0))
            self.overlaps[key] = (profile, have + d)

    def net(self) -> Deltas:
        """The same changes without the counters that did not move."""
        out = Deltas()
        for cell, counters in self.cells.items():
            moved = {name: d for name, d in counters.items() if d}
            if moved:
                out.cells[cell] = moved
        out.overlaps = {k: v for k, v in self.overlaps.items() if v[1]}
        return out


@dataclass(frozen=True)
class Counters:
    """Stored counters: per cell its counter values, per overlap class its uuid count."""

    cells: Mapping[Cell, Mapping[str, int]]
    overlaps: Mapping[Profile, int]


def tally(ledgers: Iterable[Ledger]) -> Counters:
    """The counters the given ledgers (one per uuid) add up to: what the stored ones must equal."""
    deltas = Deltas()
    for ledger in ledgers:
        deltas.add_change({}, ledger)
    net = deltas.net()
    return Counters(
        {cell: dict(counters) for cell, counters in net.cells.items()},
        dict(net.overlaps.values()),
    )


def summarize(
    counters: Counters, allowed_base_uris: frozenset[str] | None, allowed_projects: frozenset[str] = frozenset()
) -> tuple[Summary, dict[str, int], dict[str, int]]:
    """The summary a caller who may search ``allowed_base_uris`` (None: all) and the entries of
    ``allowed_projects`` sees, with its datasets per project and per type.

    An entry is visible when its base URI is allowed or its project is (as a search). Values
    whose count is zero are left out, as a search engine's aggregation leaves them out.
    """
    if sees_nothing(allowed_base_uris, allowed_projects):
        return Summary(number_of_datasets=0), {}, {}

    def visible(base_uri: str, project: str) -> bool:
        if allowed_base_uris is None or base_uri in allowed_base_uris:
            return True
        return bool(project) and project in allowed_projects

    datasets = total_bytes = 0
    per: dict[str, dict[str, int]] = {k: defaultdict(int) for k in ("base", "base_b", "c", "cb", "t", "tb", "p", "y")}
    for (base_uri, project), values in counters.cells.items():
        if not visible(base_uri, project):
            continue
        entries = values.get(ENTRIES, 0)
        datasets += entries
        total_bytes += values.get(BYTES, 0)
        per["base"][base_uri] += entries
        per["base_b"][base_uri] += values.get(BYTES, 0)
        if project:
            per["p"][project] += entries
        for name, value in values.items():
            kind, sep, label = name.partition(SEP)
            if sep and kind in per:
                per[kind][label] += value
    for profile, count in counters.overlaps.items():
        seen = [(p, c, t, y) for b, p, c, t, y in profile if visible(b, p)]
        if len(seen) < 2 or not count:
            continue
        datasets -= count * (len(seen) - 1)  # one dataset, not len(seen)
        for kind, labels in (
            ("c", [c for _, c, _, _ in seen]),
            ("t", [tag for _, _, t, _ in seen for tag in t]),
            ("p", [p for p, _, _, _ in seen if p]),
            ("y", [y for _, _, _, y in seen]),
        ):
            for label in set(labels):
                per[kind][label] -= count * (labels.count(label) - 1)

    def positive(counts: Mapping[str, int]) -> dict[str, int]:
        return {k: v for k, v in sorted(counts.items()) if v > 0}

    entries_per_base = positive(per["base"])
    summary = Summary(
        number_of_datasets=max(datasets, 0),
        datasets_per_base_uri=entries_per_base,
        datasets_per_creator=positive(per["c"]),
        datasets_per_tag=positive(per["t"]),
        total_size_in_bytes=total_bytes,
        size_in_bytes_per_base_uri={k: v for k, v in sorted(per["base_b"].items()) if k in entries_per_base},
        size_in_bytes_per_creator={k: v for k, v in sorted(per["cb"].items()) if per["c"].get(k, 0) > 0},
        size_in_bytes_per_tag={k: v for k, v in sorted(per["tb"].items()) if per["t"].get(k, 0) > 0},
    )
    return summary, positive(per["p"]), positive(per["y"])
