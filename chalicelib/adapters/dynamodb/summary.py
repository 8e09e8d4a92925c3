"""The summary counters in DynamoDB (:class:`~chalicelib.catalogue.summary_store.SummaryStore`).

Items of the summary table (hash key ``pk`` only; every item its own partition):

- ``generations``: ``current`` and ``building`` (numbers), ``last`` (the last number given
  out: never reused), and per generation ``g`` the keys of its counter items, as string sets
  ``cells@g`` and ``overlaps@g`` (so that a summary reads exactly those, without a scan);
- ``<g>|u|<uuid>``: a uuid's ledger (JSON in ``ledger``) and its revision ``rev``;
- ``<g>|c|<digest>``: a cell (``cell``: JSON ``[base URI, project]``) with one number per
  counter (``n``, ``b``, ``c#<creator>``, ``t#<tag>``, ...): an item may hold about 10,000
  distinct creators and tags before DynamoDB's 400 KB item limit;
- ``<g>|o|<digest>``: an overlap class (``profile``: JSON) and its uuid count ``n``.

A commit is one TransactWriteItems: a conditional put per ledger (on its revision), an ADD per
counter item, and an ADD of new counter keys to ``generations`` when the commit makes any.
The traps: moto copies every table a transaction touches (the local stack's moto server
checks the conditions first instead, see :mod:`infra.local.moto_server`), and DynamoDB
answers a transaction racing another on one item with ``TransactionConflict``, which is
retried like a failed condition.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.tables import SummaryItem
from chalicelib.catalogue.summary_counts import (
    Cell,
    Counters,
    Ledger,
    Profile,
    ledger_from_json,
    ledger_to_json,
    profile_from_json,
    profile_to_json,
)
from chalicelib.catalogue.summary_store import Commit, Generations, SummaryStore
from chalicelib.errors import SummaryUnavailable

GENERATIONS = "generations"
CONDITION_FAILED = "ConditionalCheckFailedException"
BATCH_GET = 100
# failed conditions and races with another transaction: the caller reads again and retries
_CONTENDED = frozenset({"ConditionalCheckFailed", "TransactionConflict"})


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cell_json(cell: Cell) -> str:
    return json.dumps(list(cell), separators=(",", ":"))


class DynamoSummaryStore(SummaryStore):
    """Ledgers and counters in the summary table (bound by :func:`~chalicelib.adapters.dynamodb.tables.bind`)."""

    max_actions = 99  # DynamoDB's 100, less the generations item a commit may add keys to

    def __init__(self) -> None:
        self._known: dict[int, set[str]] = {}  # counter keys listed in ``generations``, per generation

    # -- reads ------------------------------------------------------------------------------
    def _raw_get(self, pk: str) -> dict[str, Any] | None:
        with _unavailable("reading"):
            item = SummaryItem._get_connection().get_item(pk, consistent_read=True).get("Item")
        return item or None

    def generations(self) -> Generations:
        item = self._raw_get(GENERATIONS) or {}
        current = int(item["current"]["N"]) if "current" in item else 1
        building = int(item["building"]["N"]) if "building" in item else None
        for gen in (current, building):
            if gen is not None:
                self._known[gen] = _listed(item, gen)
        return Generations(current, building)

    def ledgers(self, generation: int, uuids: Sequence[str]) -> dict[str, tuple[Ledger, int]]:
        out: dict[str, tuple[Ledger, int]] = {}
        keys = {f"{generation}|u|{u}": u for u in uuids}
        for item in self._batch_get(list(keys)):
            out[keys[item["pk"]["S"]]] = (ledger_from_json(item["ledger"]["S"]), int(item["rev"]["N"]))
        return out

    def counters(self, generation: int | None = None) -> Counters:
        item = self._raw_get(GENERATIONS) or {}
        if generation is None:
            generation = int(item["current"]["N"]) if "current" in item else 1
        cells: dict[Cell, dict[str, int]] = {}
        overlaps: dict[Profile, int] = {}
        for raw in self._batch_get(sorted(_listed(item, generation))):
            if "cell" in raw:
                base_uri, project = json.loads(raw["cell"]["S"])
                cells[(str(base_uri), str(project))] = {
                    name: int(v["N"]) for name, v in raw.items() if "N" in v and name not in ("pk",)
                }
            elif "profile" in raw:
                overlaps[profile_from_json(raw["profile"]["S"])] = int(raw.get("n", {}).get("N", 0))
        return Counters(cells, overlaps)

    def _batch_get(self, keys: list[str]) -> Iterator[dict[str, Any]]:
        connection = SummaryItem._get_connection()
        table = SummaryItem.Meta.table_name
        for start in range(0, len(keys), BATCH_GET):
            todo: list[Any] = [{"pk": {"S": k}} for k in keys[start : start + BATCH_GET]]
            for _ in range(10):  # unprocessed keys come back under load; bounded
                with _unavailable("reading"):
                    answer = connection.batch_get_item(todo, consistent_read=True)
                yield from answer.get("Responses", {}).get(table, [])
                todo = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
                if not todo:
                    break
            else:
                raise SummaryUnavailable("summary counters: keys still unprocessed after 10 reads")

    # -- the commit -------------------------------------------------------------------------
    def commit(self, generation: int, commit: Commit) -> bool:
        known = self._known.setdefault(generation, set())
        new_keys: dict[str, set[str]] = {"cells": set(), "overlaps": set()}
        try:
            with TransactWrite(connection=SummaryItem._get_connection().connection) as tx:
                for uuid, (ledger, expected) in commit.ledgers.items():
                    item = SummaryItem(pk=f"{generation}|u|{uuid}")
                    condition = Path(["rev"]) == expected if expected else SummaryItem.pk.does_not_exist()
                    tx.update(
                        item,
                        actions=[Path(["ledger"]).set(ledger_to_json(ledger)), Path(["rev"]).set(expected + 1)],
                        condition=condition,
                    )
                for cell, counters in commit.deltas.cells.items():
                    text = cell_json(cell)
                    key = f"{generation}|c|{_digest(text)}"
                    actions: list[Any] = [Path(["cell"]).set(text)]
                    actions += [Path([name]).add(delta) for name, delta in sorted(counters.items())]
                    tx.update(SummaryItem(pk=key), actions=actions)
                    if key not in known:
                        new_keys["cells"].add(key)
                for digest, (profile, delta) in commit.deltas.overlaps.items():
                    key = f"{generation}|o|{digest}"
                    tx.update(
                        SummaryItem(pk=key),
                        actions=[Path(["profile"]).set(profile_to_json(profile)), Path(["n"]).add(delta)],
                    )
                    if key not in known:
                        new_keys["overlaps"].add(key)
                listing: list[Action] = [
                    Path([f"{kind}@{generation}"]).add(keys) for kind, keys in new_keys.items() if keys
                ]
                if listing:
                    tx.update(SummaryItem(pk=GENERATIONS), actions=listing)
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons if exc.cause_response_code == "TransactionCanceledException" else []
            if any(r is not None and r.code in _CONTENDED for r in reasons):
                return False
            if exc.cause_response_code == "TransactionConflictException":
                return False
            raise SummaryUnavailable(f"summary counters: commit failed ({exc.cause_response_code})") from exc
        except PynamoDBException as exc:
            raise SummaryUnavailable(f"summary counters: commit failed ({exc.cause_response_code})") from exc
        known.update(new_keys["cells"] | new_keys["overlaps"])
        return True

    # -- generations ------------------------------------------------------------------------
    def start_generation(self, takeover: bool = False) -> int:
        gens = self.generations()
        if gens.building is not None:
            if not takeover:
                raise ValueError(f"generation {gens.building} is being built; a rebuild is running or was interrupted")
            self.drop(gens.building)
            with _unavailable("abandoning a generation"):
                SummaryItem._get_connection().update_item(GENERATIONS, actions=[Path(["building"]).remove()])
        connection = SummaryItem._get_connection()
        with _unavailable("starting a generation"):
            answer = connection.update_item(
                GENERATIONS,
                actions=[Path(["last"]).set((Path(["last"]) | gens.current) + 1)],
                return_values="UPDATED_NEW",
            )
            number = int(answer["Attributes"]["last"]["N"])
            try:
                connection.update_item(
                    GENERATIONS,
                    actions=[Path(["building"]).set(number), Path(["current"]).set(Path(["current"]) | 1)],
                    condition=Path(["building"]).does_not_exist(),
                )
            except UpdateError as exc:
                if exc.cause_response_code != CONDITION_FAILED:
                    raise
                raise ValueError("another rebuild started meanwhile") from exc
        self._known[number] = set()
        return number

    def serve(self, generation: int) -> None:
        with _unavailable("serving a generation"):
            try:
                SummaryItem._get_connection().update_item(
                    GENERATIONS,
                    actions=[Path(["current"]).set(generation), Path(["building"]).remove()],
                    condition=Path(["building"]) == generation,
                )
            except UpdateError as exc:
                if exc.cause_response_code != CONDITION_FAILED:
                    raise
                raise ValueError(f"generation {generation} is not being built") from exc

    def drop(self, generation: int) -> int:
        dropped = 0
        connection = SummaryItem._get_connection()
        with _unavailable("dropping a generation"):
            for item in SummaryItem.scan(SummaryItem.pk.startswith(f"{generation}|")):
                connection.delete_item(item.pk)
                dropped += 1
            connection.update_item(
                GENERATIONS, actions=[Path([f"{kind}@{generation}"]).remove() for kind in ("cells", "overlaps")]
            )
        self._known.pop(generation, None)
        return dropped


def _listed(item: Mapping[str, Any], generation: int) -> set[str]:
    out: set[str] = set()
    for kind in ("cells", "overlaps"):
        out.update(item.get(f"{kind}@{generation}", {}).get("SS", []))
    return out


class _unavailable:
    """Turn a failure of DynamoDB into :class:`SummaryUnavailable` (pynamodb's and botocore's)."""

    def __init__(self, what: str) -> None:
        self._what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, PynamoDBException):
            raise SummaryUnavailable(f"summary counters: {self._what} failed ({exc.cause_response_code})") from exc
