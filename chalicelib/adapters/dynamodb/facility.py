"""Facility records (myMdC's proposals, runs, data groups, ...): the port and its DynamoDB adapter.

The facility domain (:mod:`chalicelib.facility`) keeps every entity kind in one store of
generic :class:`FacilityRecord` s. A record is identified by its kind and an integer id
(myMdC's ids: fixtures use negative ones, new ones come from :meth:`FacilityStore.allocate_id`),
carries the catalogue's own uuid beside it, and holds its fields as JSON values.

Two more things make the store enough for the domain without scans:

* **list keys**: a record is listed under at most two keys (``lists[0]`` and ``lists[1]``,
  e.g. ``"proposal_id=-1"``); :meth:`FacilityStore.listed` returns the records of a kind under
  one key of one slot, ordered by id (a DynamoDB Query on a sparse index);
* **claims**: strings a record holds exclusively (e.g. ``"repository|identifier=XFEL_TESTS_REPO"``):
  uniqueness rules, and the lookup by a unique value (:meth:`FacilityStore.claimant`).

The in-memory fake is ``tests.fakes.facility.InMemoryFacilityStore``; both pass
``tests/contract/test_facility_store_contract.py``.

The DynamoDB adapter (:class:`DynamoFacilityStore`) keeps everything in the facility table
(:class:`~chalicelib.adapters.dynamodb.tables.FacilityItem`), without transactions: a record
is one item keyed (kind, id); each claim is one item (kind ``claim:<claim>``, id 0) naming
its owner, taken by a conditional put before a record listing it is written and deleted once
no record lists it; each kind's id counter is one item (kind ``counter:<kind>``, id 0),
changed by ``UpdateItem`` only.
"""

from __future__ import annotations

import json
import time
import uuid as uuidlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.adapters.dynamodb.tables import FacilityItem
from chalicelib.errors import AlreadyExists, Conflict, PayloadTooLarge, VersionConflict

LIST_SLOTS = 2
MAX_CLAIM_CHARS = 1024
# DynamoDB's limit on a partition key (and on a GSI's): kinds, claim items' and list keys
MAX_KEY_BYTES = 2048
MAX_ID_DIGITS = 38  # DynamoDB numbers hold 38 significant digits
# DynamoDB holds items of at most 400 KB: a record's fields (its body, as JSON text with every
# non-ASCII character escaped) may take all but what its other attributes need (keys, list keys
# and claims of up to 2 KB each)
MAX_BODY_BYTES = 384 * 1024
# how old a claim of a record that does not list it must be before a writer takes it over:
# younger, it may belong to a write still under way (Lambda stops any invocation by 900 s)
CLAIM_GRACE_SECONDS = 900.0
CLAIM_PREFIX = "claim:"
COUNTER_PREFIX = "counter:"


class ClaimTaken(Conflict):
    """A create or save needed claims another record holds; ``claims`` names them (every
    one found taken, in the order the record lists them)."""

    code = "Taken"

    def __init__(self, claims: Sequence[str]) -> None:
        super().__init__(f"already taken: {', '.join(claims)}")
        self.claims = tuple(claims)


@dataclass(frozen=True)
class FacilityRecord:
    """One entity of the facility domain as stored.

    ``fields`` holds JSON values only (str, int, float, bool, None, lists and objects of
    them); integers of any size survive a round trip exactly. ``lists`` has exactly
    :data:`LIST_SLOTS` entries, each a key string or ``None``. ``version`` is 1 when created
    and grows by one with every save.
    """

    kind: str
    id: int
    uuid: str
    version: int
    fields: Mapping[str, Any]
    lists: tuple[str | None, str | None] = (None, None)
    claims: tuple[str, ...] = ()
    updated_at: float = 0.0
    updated_by: str = ""
    acting_for: str | None = None  # the person a service principal acted for (X-User-Email)


class FacilityStore(ABC):
    """Where facility records live.

    - ``get(kind, id)`` MUST return the record or ``None``; ``get_many(kind, ids)`` the ones
      that exist, in the order of ``ids``, duplicates once.
    - ``create(record)`` MUST store a new record (``record.version`` is 1) or raise: a record of
      that kind and id exists → :class:`~chalicelib.errors.AlreadyExists` (nothing changes);
      any claim of the record held by another record → :class:`ClaimTaken` naming every such
      claim (nothing changes: no claim of this record stays taken). Two concurrent creates with
      a common claim: exactly one succeeds.
    - ``save(record, expected_version)`` MUST replace the stored record when its version is
      ``expected_version`` (``record.version`` is ``expected_version + 1``), take the claims
      the new record adds and release the ones it drops; a different version (or no record) →
      :class:`~chalicelib.errors.VersionConflict`; an added claim held by another record →
      :class:`ClaimTaken` (the stored record and its claims unchanged).
    - ``delete(kind, id, expected_version)`` MUST remove the record and release its claims;
      a different version or no record → :class:`~chalicelib.errors.VersionConflict`.
    - ``claimant(claim)`` MUST return ``(kind, id)`` of the stored record that lists ``claim``,
      or ``None``. A claim left behind by a writer that stopped half-way (its record gone, or
      not listing the claim) is free: ``claimant`` answers ``None`` at once, and ``create`` and
      ``save`` take it over once it is :data:`CLAIM_GRACE_SECONDS` old (a younger one may
      belong to a write still under way, so it counts as taken until then).
    - ``listed(kind, slot, key)`` MUST return every record of ``kind`` whose ``lists[slot]``
      is ``key``, ordered by id ascending (negative ids first). On DynamoDB it reads a global
      secondary index, which is eventually consistent: a write may show there a moment later.
    - ``all(kind)`` MUST return every record of ``kind``, ordered by id ascending.
    - ``allocate_id(kind)`` MUST return an id never returned before for ``kind`` and greater
      than any id given to :meth:`reserve_ids` for it, atomically across containers.
    - ``reserve_ids(kind, up_to)`` MUST make every later ``allocate_id(kind)`` return more than
      ``up_to`` (it never lowers the counter).
    """

    @abstractmethod
    def get(self, kind: str, id: int) -> FacilityRecord | None: ...

    @abstractmethod
    def get_many(self, kind: str, ids: Sequence[int]) -> list[FacilityRecord]: ...

    @abstractmethod
    def create(self, record: FacilityRecord) -> None: ...

    @abstractmethod
    def save(self, record: FacilityRecord, expected_version: int) -> None: ...

    @abstractmethod
    def delete(self, kind: str, id: int, expected_version: int) -> None: ...

    @abstractmethod
    def claimant(self, claim: str) -> tuple[str, int] | None: ...

    @abstractmethod
    def listed(self, kind: str, slot: int, key: str) -> list[FacilityRecord]: ...

    @abstractmethod
    def all(self, kind: str) -> list[FacilityRecord]: ...

    @abstractmethod
    def allocate_id(self, kind: str) -> int: ...

    @abstractmethod
    def reserve_ids(self, kind: str, up_to: int) -> None: ...


# A record id derived from a uuid drops the uuid's lowest 8 bits: 120 bits fit the store's
# 38-digit numbers (ids of random uuids then still collide with probability ~2^-114 per pair;
# a collision is AlreadyExists).
_UUID_ID_SHIFT = 8


def uuid_record_id(uuid: str) -> int:
    """The record id of an entity known by ``uuid`` (any form ``uuid.UUID`` reads): one read
    per lookup by uuid (the Data Tracker's records, folders, annotation schemas)."""
    return uuidlib.UUID(uuid).int >> _UUID_ID_SHIFT


def check_record(record: FacilityRecord) -> None:
    """The shape every store requires (a programming error otherwise: ValueError)."""
    if len(record.lists) != LIST_SLOTS:
        raise ValueError(f"a record has exactly {LIST_SLOTS} list slots")
    if any(len(c) > MAX_CLAIM_CHARS for c in record.claims):
        raise ValueError(f"a claim is longer than {MAX_CLAIM_CHARS} characters")
    check_kind(record.kind)
    check_id(record.id)
    if not isinstance(record.fields, Mapping):
        raise ValueError("fields must be a mapping")
    if len(set(record.claims)) != len(record.claims):
        raise ValueError("a record names a claim twice")
    for claim in record.claims:
        _check_key_bytes(CLAIM_PREFIX + claim, "a claim")
    for key in record.lists:
        if key is not None:
            _check_key_bytes(f"{record.kind}|{key}", "a list key")


def check_kind(kind: str) -> None:
    if not isinstance(kind, str) or not kind or "|" in kind or ":" in kind:
        raise ValueError("a kind is a non-empty name without '|' or ':'")
    _check_key_bytes(COUNTER_PREFIX + kind, "a kind")


def check_id(id: int) -> None:
    if not isinstance(id, int) or isinstance(id, bool) or len(str(abs(id))) > MAX_ID_DIGITS:
        raise ValueError(f"an id is an integer of at most {MAX_ID_DIGITS} digits")


def _check_key_bytes(key: str, what: str) -> None:
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode") from None
    if size > MAX_KEY_BYTES:
        raise ValueError(f"{what} is too long for a DynamoDB key")


def check_version(record: FacilityRecord, expected_version: int | None) -> None:
    """``record.version`` is 1 for a create (``expected_version`` None), else one more than
    ``expected_version``."""
    wanted = 1 if expected_version is None else expected_version + 1
    if record.version != wanted:
        raise ValueError(f"the record's version must be {wanted}, not {record.version}")


def encode_fields(fields: Mapping[str, Any]) -> str:
    """``fields`` as compact JSON text (ValueError for anything but JSON values, NaN or infinities)."""
    value = dict(fields)
    if not is_json_value(value):
        raise ValueError("fields must hold JSON values only")
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def decode_fields(text: str) -> dict[str, Any]:
    value = json.loads(text)
    assert isinstance(value, dict)
    return value


def is_json_value(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(is_json_value(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_value(v) for k, v in value.items())
    return False


# -- the DynamoDB adapter ---------------------------------------------------------------------

CONDITION_FAILED = "ConditionalCheckFailedException"
# failures after which the write certainly did not happen (a timeout may hide a success)
_NOT_WRITTEN = frozenset({CONDITION_FAILED, "ValidationException"})
_NEW, _ADOPTED, _TAKEN = "new", "adopted", "taken"


class DynamoFacilityStore(FacilityStore):
    """Facility records in the facility table (bound by :func:`~chalicelib.adapters.dynamodb.tables.bind`).

    Claims without transactions (moto copies whole tables per TransactWriteItems): a writer
    takes each claim with a conditional put (``attribute_not_exists``, or already owned by the
    same record: a retried or concurrent write of one record shares its claims), writing its
    own random ``token`` and the time; then it writes the record with a condition on its
    version; then it releases the claims the record dropped. A write that fails on its
    condition releases the claims it took new (only while they carry its token, so a claim
    another write of the same record took over stays). A claim that cannot be taken is
    checked: when its owner record is gone or does not list it and it is
    :data:`CLAIM_GRACE_SECONDS` old, it is left over from a writer that stopped half-way, so
    it is deleted (on the condition that it is unchanged) and taken once more. Every release
    is conditional on the token read before the record changed, so it never removes a claim
    a later write took over.

    ``listed`` queries the sparse GSI of its slot (eventually consistent); everything else
    reads consistently. Failed conditions become :class:`~chalicelib.errors.AlreadyExists`,
    :class:`~chalicelib.errors.VersionConflict` and :class:`ClaimTaken`; any other failure
    of DynamoDB propagates as pynamodb's exception.
    """

    def __init__(
        self, *, claim_grace_seconds: float = CLAIM_GRACE_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self._grace = claim_grace_seconds
        self._clock = clock

    # -- reads ------------------------------------------------------------------------------
    def get(self, kind: str, id: int) -> FacilityRecord | None:
        check_kind(kind)
        item = _get_item(kind, id)
        return None if item is None else _record(item)

    def get_many(self, kind: str, ids: Sequence[int]) -> list[FacilityRecord]:
        check_kind(kind)
        wanted = list(dict.fromkeys(ids))
        found: dict[int, FacilityRecord] = {}
        for start in range(0, len(wanted), MAX_BATCH_GET):  # pynamodb retries unprocessed keys
            keys = [(kind, i) for i in wanted[start : start + MAX_BATCH_GET]]
            found.update((r.id, r) for r in map(_record, FacilityItem.batch_get(keys, consistent_read=True)))
        return [found[i] for i in wanted if i in found]

    def claimant(self, claim: str) -> tuple[str, int] | None:
        held = _get_item(CLAIM_PREFIX + claim, 0)
        if held is None or held.owner_kind is None or held.owner_id is None or not _listed_by_owner(held, claim):
            return None
        return held.owner_kind, int(held.owner_id)

    def listed(self, kind: str, slot: int, key: str) -> list[FacilityRecord]:
        check_kind(kind)
        if slot == 0:
            items = FacilityItem.by_list_a.query(_list_value(kind, key))
        elif slot == 1:
            items = FacilityItem.by_list_b.query(_list_value(kind, key))
        else:
            raise ValueError(f"a list slot is 0 or 1, not {slot}")
        return [_record(i) for i in items]  # the iterator follows LastEvaluatedKey; ids ascending

    def all(self, kind: str) -> list[FacilityRecord]:
        check_kind(kind)
        return [_record(i) for i in FacilityItem.query(kind, consistent_read=True)]

    # -- writes -----------------------------------------------------------------------------
    def create(self, record: FacilityRecord) -> None:
        check_record(record)
        check_version(record, None)
        item = _item(record)
        token = uuidlib.uuid4().hex
        try:
            new = self._take_all(record, record.claims, token)
        except ClaimTaken:
            if _get_item(record.kind, record.id) is not None:
                raise AlreadyExists(f"{record.kind} {record.id} exists already") from None
            raise
        try:
            item.save(condition=FacilityItem.kind.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code in _NOT_WRITTEN:
                self._release(record, dict.fromkeys(new, token))
            if exc.cause_response_code == CONDITION_FAILED:
                raise AlreadyExists(f"{record.kind} {record.id} exists already") from exc
            raise

    def save(self, record: FacilityRecord, expected_version: int) -> None:
        check_record(record)
        check_version(record, expected_version)
        item = _item(record)
        stored = _get_item(record.kind, record.id)
        if stored is None:
            raise VersionConflict(f"{record.kind} {record.id} does not exist")
        if int(stored.version) != expected_version:
            raise VersionConflict(
                f"version {expected_version} is no longer current", current_version=int(stored.version)
            )
        held = [str(c) for c in stored.claims or ()]
        added = [c for c in record.claims if c not in held]
        dropped = self._tokens(record, [c for c in held if c not in record.claims])
        token = uuidlib.uuid4().hex
        new = self._take_all(record, added, token)  # ClaimTaken: nothing changed
        try:
            item.save(condition=FacilityItem.version == expected_version)
        except PutError as exc:
            if exc.cause_response_code in _NOT_WRITTEN:
                self._release(record, dict.fromkeys(new, token))
            if exc.cause_response_code == CONDITION_FAILED:
                raise VersionConflict(f"version {expected_version} is no longer current") from exc
            raise
        self._release(record, dropped)

    def delete(self, kind: str, id: int, expected_version: int) -> None:
        check_kind(kind)
        stored = _get_item(kind, id)
        if stored is None:
            raise VersionConflict(f"{kind} {id} does not exist")
        if int(stored.version) != expected_version:
            raise VersionConflict(
                f"version {expected_version} is no longer current", current_version=int(stored.version)
            )
        record = _record(stored)
        tokens = self._tokens(record, list(record.claims))
        try:
            FacilityItem(kind, id).delete(condition=FacilityItem.version == expected_version)
        except DeleteError as exc:
            if exc.cause_response_code == CONDITION_FAILED:
                raise VersionConflict(f"version {expected_version} is no longer current") from exc
            raise
        self._release(record, tokens)

    def allocate_id(self, kind: str) -> int:
        check_kind(kind)
        counter = FacilityItem(COUNTER_PREFIX + kind, 0)
        counter.update(actions=[FacilityItem.next_id.add(1)])  # atomic; the new value comes back
        return int(counter.next_id)

    def reserve_ids(self, kind: str, up_to: int) -> None:
        check_kind(kind)
        check_id(up_to)
        if up_to < 1:
            return  # allocate_id starts at 1 anyway
        try:
            FacilityItem(COUNTER_PREFIX + kind, 0).update(
                actions=[FacilityItem.next_id.set(up_to)],
                condition=FacilityItem.next_id.does_not_exist() | (FacilityItem.next_id < up_to),
            )
        except UpdateError as exc:
            if exc.cause_response_code != CONDITION_FAILED:
                raise  # a failed condition: the counter is there already

    # -- claims -----------------------------------------------------------------------------
    def _take_all(self, owner: FacilityRecord, claims: Sequence[str], token: str) -> list[str]:
        """Take every one of ``claims`` for ``owner``; return those taken new (not adopted from
        an earlier write of the same record). If any is held by another record, release the new
        ones and raise ClaimTaken naming every held one."""
        new: list[str] = []
        taken: list[str] = []
        for claim in claims:
            outcome = self._take(owner, claim, token)
            if outcome == _NEW:
                new.append(claim)
            elif outcome == _TAKEN:
                taken.append(claim)
        if taken:
            self._release(owner, dict.fromkeys(new, token))
            raise ClaimTaken(taken)
        return new

    def _take(self, owner: FacilityRecord, claim: str, token: str) -> str:
        item = FacilityItem(
            CLAIM_PREFIX + claim, 0, owner_kind=owner.kind, owner_id=owner.id, token=token, claimed_at=self._clock()
        )
        same_owner = (FacilityItem.owner_kind == owner.kind) & (FacilityItem.owner_id == owner.id)
        for attempt in range(2):
            if _put_if(item, FacilityItem.kind.does_not_exist()):
                return _NEW
            if _put_if(item, same_owner):
                return _ADOPTED
            if attempt == 0 and not self._clear_if_left_over(claim):
                break
        return _TAKEN

    def _clear_if_left_over(self, claim: str) -> bool:
        """Whether ``claim`` is free now: gone, or left over by a writer that stopped half-way
        and deleted here (only if unchanged since read)."""
        held = _get_item(CLAIM_PREFIX + claim, 0)
        if held is None:
            return True
        if _listed_by_owner(held, claim):
            return False
        if held.claimed_at is not None and self._clock() - float(held.claimed_at) < self._grace:
            return False  # perhaps a write still under way
        unchanged = (
            _same(FacilityItem.owner_kind, held.owner_kind)
            & _same(FacilityItem.owner_id, held.owner_id)
            & _same(FacilityItem.token, held.token)
        )
        try:
            held.delete(condition=unchanged)
        except DeleteError as exc:
            if exc.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def _tokens(self, owner: FacilityRecord, claims: Sequence[str]) -> dict[str, str | None]:
        """The tokens of those of ``claims`` ``owner`` holds now (read before the record changes)."""
        tokens: dict[str, str | None] = {}
        for start in range(0, len(claims), MAX_BATCH_GET):
            keys = [(CLAIM_PREFIX + c, 0) for c in claims[start : start + MAX_BATCH_GET]]
            for held in FacilityItem.batch_get(keys, consistent_read=True):
                if held.owner_kind == owner.kind and held.owner_id is not None and int(held.owner_id) == owner.id:
                    tokens[held.kind[len(CLAIM_PREFIX) :]] = held.token
        return tokens

    def _release(self, owner: FacilityRecord, tokens: Mapping[str, str | None]) -> None:
        """Delete each claim of ``tokens`` still owned by ``owner`` with that token."""
        for claim, token in tokens.items():
            condition = (
                (FacilityItem.owner_kind == owner.kind)
                & (FacilityItem.owner_id == owner.id)
                & _same(FacilityItem.token, token)
            )
            try:
                FacilityItem(CLAIM_PREFIX + claim, 0).delete(condition=condition)
            except DeleteError as exc:
                if exc.cause_response_code != CONDITION_FAILED:
                    raise  # a failed condition: another write took it over (or it is gone)


MAX_BATCH_GET = 100  # BatchGetItem's limit


def _get_item(kind: str, id: int) -> FacilityItem | None:
    try:
        return FacilityItem.get(kind, id, consistent_read=True)
    except DoesNotExist:
        return None


def _put_if(item: FacilityItem, condition: Condition) -> bool:
    try:
        item.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == CONDITION_FAILED:
            return False
        raise
    return True


def _same(attribute: Any, value: Any) -> Condition:
    """``attribute`` holds ``value`` (None: is absent)."""
    return attribute.does_not_exist() if value is None else attribute == value


def _listed_by_owner(held: FacilityItem, claim: str) -> bool:
    """Whether the owner record of the claim item ``held`` exists and lists ``claim``."""
    if held.owner_kind is None or held.owner_id is None:
        return False
    try:
        owner = FacilityItem.get(
            held.owner_kind, int(held.owner_id), consistent_read=True, attributes_to_get=["claims"]
        )
    except DoesNotExist:
        return False
    return claim in (str(c) for c in owner.claims or ())


def _list_value(kind: str, key: str) -> str:
    return f"{kind}|{key}"


def _item(record: FacilityRecord) -> FacilityItem:
    body = encode_fields(record.fields)
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:  # refused before anything is written (DynamoDB would answer a ValidationException)
        raise PayloadTooLarge(f"the record is {size} bytes stored (JSON, non-ASCII escaped); at most {MAX_BODY_BYTES}")
    return FacilityItem(
        record.kind,
        record.id,
        uuid=record.uuid,
        version=record.version,
        body=body,
        list_a=None if record.lists[0] is None else _list_value(record.kind, record.lists[0]),
        list_b=None if record.lists[1] is None else _list_value(record.kind, record.lists[1]),
        claims=list(record.claims),
        updated_at=record.updated_at,
        updated_by=record.updated_by,
        acting_for=record.acting_for,
    )


def is_record_kind(kind: str) -> bool:
    """Whether an item of the facility table with this hash key is a record (not a claim or
    an id counter: their kinds carry a ``:``, which a record's kind never does)."""
    return ":" not in kind


def record_from_image(image: Mapping[str, Any]) -> FacilityRecord | None:
    """The record a DynamoDB-JSON image of the facility table holds (a stream record's
    NewImage/OldImage); ``None`` for a claim or an id counter."""
    kind = (image.get("kind") or {}).get("S")
    if not isinstance(kind, str) or not is_record_kind(kind):
        return None
    return _record(FacilityItem.from_raw_data(dict(image)))


def _record(item: FacilityItem) -> FacilityRecord:
    kind = item.kind
    lists = tuple(None if v is None else v[len(kind) + 1 :] for v in (item.list_a, item.list_b))
    return FacilityRecord(
        kind=kind,
        id=int(item.id),
        uuid=item.uuid or "",
        version=int(item.version),
        fields=decode_fields(item.body or "{}"),
        lists=(lists[0], lists[1]),
        claims=tuple(str(c) for c in item.claims or ()),
        updated_at=float(item.updated_at or 0.0),
        updated_by=item.updated_by or "",
        acting_for=item.acting_for,
    )
