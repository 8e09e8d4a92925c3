"""An in-memory :class:`~chalicelib.adapters.dynamodb.facility.FacilityStore` (tests only)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.adapters.dynamodb.facility import (
    CLAIM_GRACE_SECONDS,
    ClaimTaken,
    FacilityRecord,
    FacilityStore,
    check_id,
    check_kind,
    check_record,
    check_version,
    decode_fields,
    encode_fields,
)
from chalicelib.errors import AlreadyExists, VersionConflict

Key = tuple[str, int]


@dataclass(frozen=True)
class _Claim:
    owner: Key
    claimed_at: float


class InMemoryFacilityStore(FacilityStore):
    """Records, claims and counters in dicts, behind one lock (every operation is atomic).

    Fields are kept as the JSON text the DynamoDB adapter stores, so a caller's later change
    to a dict never reaches the store and a read never shares a dict with it. Writes here
    never leave a claim behind; :meth:`plant_claim` makes one (a writer that stopped half-way,
    or one still under way) to test the rules for them, which are the adapter's.
    """

    def __init__(
        self, *, claim_grace_seconds: float = CLAIM_GRACE_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._grace = claim_grace_seconds
        self._clock = clock
        self._records: dict[Key, tuple[FacilityRecord, str]] = {}  # fields {} with their JSON text
        self._claims: dict[str, _Claim] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()

    def plant_claim(self, claim: str, owner_kind: str, owner_id: int, claimed_at: float = 0.0) -> None:
        """Test hook: ``claim`` held by (``owner_kind``, ``owner_id``) since ``claimed_at``,
        whether or not that record exists or lists it."""
        with self._lock:
            self._claims[claim] = _Claim((owner_kind, owner_id), claimed_at)

    # -- reads ------------------------------------------------------------------------------
    def get(self, kind: str, id: int) -> FacilityRecord | None:
        check_kind(kind)
        with self._lock:
            return self._read((kind, id))

    def get_many(self, kind: str, ids: Sequence[int]) -> list[FacilityRecord]:
        check_kind(kind)
        with self._lock:
            found = (self._read((kind, i)) for i in dict.fromkeys(ids))
            return [r for r in found if r is not None]

    def claimant(self, claim: str) -> tuple[str, int] | None:
        with self._lock:
            held = self._claims.get(claim)
            return held.owner if held is not None and self._listed_by_owner(held, claim) else None

    def listed(self, kind: str, slot: int, key: str) -> list[FacilityRecord]:
        check_kind(kind)
        if slot not in (0, 1):
            raise ValueError(f"a list slot is 0 or 1, not {slot}")
        return [r for r in self.all(kind) if r.lists[slot] == key]

    def all(self, kind: str) -> list[FacilityRecord]:
        check_kind(kind)
        with self._lock:
            keys = sorted(k for k in self._records if k[0] == kind)
            return [r for r in map(self._read, keys) if r is not None]

    # -- writes -----------------------------------------------------------------------------
    def create(self, record: FacilityRecord) -> None:
        check_record(record)
        check_version(record, None)
        body = encode_fields(record.fields)
        key = (record.kind, record.id)
        with self._lock:
            if key in self._records:
                raise AlreadyExists(f"{record.kind} {record.id} exists already")
            self._take(key, record.claims)
            self._records[key] = (replace(record, fields={}), body)

    def save(self, record: FacilityRecord, expected_version: int) -> None:
        check_record(record)
        check_version(record, expected_version)
        body = encode_fields(record.fields)
        key = (record.kind, record.id)
        with self._lock:
            stored = self._records.get(key)
            if stored is None:
                raise VersionConflict(f"{record.kind} {record.id} does not exist")
            old = stored[0]
            if old.version != expected_version:
                raise VersionConflict(f"version {expected_version} is no longer current", current_version=old.version)
            self._take(key, [c for c in record.claims if c not in old.claims])
            self._records[key] = (replace(record, fields={}), body)
            self._release(key, [c for c in old.claims if c not in record.claims])

    def delete(self, kind: str, id: int, expected_version: int) -> None:
        check_kind(kind)
        key = (kind, id)
        with self._lock:
            stored = self._records.get(key)
            if stored is None:
                raise VersionConflict(f"{kind} {id} does not exist")
            if stored[0].version != expected_version:
                raise VersionConflict(
                    f"version {expected_version} is no longer current", current_version=stored[0].version
                )
            del self._records[key]
            self._release(key, stored[0].claims)

    def allocate_id(self, kind: str) -> int:
        check_kind(kind)
        with self._lock:
            self._counters[kind] = self._counters.get(kind, 0) + 1
            return self._counters[kind]

    def reserve_ids(self, kind: str, up_to: int) -> None:
        check_kind(kind)
        check_id(up_to)
        with self._lock:
            self._counters[kind] = max(self._counters.get(kind, 0), up_to)

    # -- under the lock ---------------------------------------------------------------------
    def _read(self, key: Key) -> FacilityRecord | None:
        stored = self._records.get(key)
        return None if stored is None else replace(stored[0], fields=decode_fields(stored[1]))

    def _listed_by_owner(self, held: _Claim, claim: str) -> bool:
        owner = self._records.get(held.owner)
        return owner is not None and claim in owner[0].claims

    def _take(self, owner: Key, claims: Sequence[str]) -> None:
        """Take every one of ``claims`` for ``owner``, or none (ClaimTaken naming the held ones)."""
        taken = [c for c in claims if not self._free_for(owner, c)]
        if taken:
            raise ClaimTaken(taken)
        now = self._clock()
        for claim in claims:
            self._claims[claim] = _Claim(owner, now)

    def _free_for(self, owner: Key, claim: str) -> bool:
        held = self._claims.get(claim)
        if held is None or held.owner == owner:
            return True
        if self._listed_by_owner(held, claim):
            return False
        return self._clock() - held.claimed_at >= self._grace  # else perhaps a write under way

    def _release(self, owner: Key, claims: Sequence[str]) -> None:
        for claim in claims:
            held = self._claims.get(claim)
            if held is not None and held.owner == owner:
                del self._claims[claim]


class RacingStore(InMemoryFacilityStore):
    """Other writers get in first (the races of edits sent without a version): before each
    save, the next of ``rivals`` (when any is left) runs. ``saves`` counts the saves asked of
    the store (a rival's :meth:`bump` not)."""

    def __init__(self) -> None:
        super().__init__()
        self.rivals: Iterator[Callable[[], None]] = iter(())
        self.saves = 0

    def save(self, record: FacilityRecord, expected_version: int) -> None:
        self.saves += 1
        rival = next(self.rivals, None)
        if rival is not None:
            rival()
        super().save(record, expected_version)

    def bump(self, kind: str, id: int, **fields: Any) -> None:
        """A rival's write of ``fields`` into the record, one version on."""
        current = self.get(kind, id)
        assert current is not None
        changed = replace(current, version=current.version + 1, fields={**current.fields, **fields})
        super().save(changed, current.version)
