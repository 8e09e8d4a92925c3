"""API keys of the Data Tracker's users and the sessions opened with them, over the facility record store.

Records (in :class:`~chalicelib.adapters.dynamodb.facility.FacilityStore`, kinds below):

- ``api_key``: ``{key_id, owner, name, salt, hash, created_at, last_used_at}``, listed under
  ``owner=<username>``, claiming its ``key_id`` (the lookup) and its name per owner (names are
  unique per owner, compared exactly). The secret is shown once by :meth:`ApiKeyService.create`
  and never stored; only its salted hash is (:mod:`chalicelib.tracker.keys`).
- ``api_session``: ``{session_id, owner, key_id, salt, hash, created_at, expires_at}``, listed
  under ``key_id=<key_id>``, claiming its ``session_id``. Revoking a key deletes them, and a
  session is refused once its key is gone, so one opened while the key was being revoked dies too.
- ``api_key_lockout``: see the rate limit below.

Every deletion saves the record once more first, naming who deleted it, as
:meth:`chalicelib.facility.records.FacilityService._remove` does: the audit log derived from the
table's stream reads the deleter from the last image. That log must never show :data:`SECRET_FIELDS`
(the original served its keys' hashes and salts from ``/user/<id>/log/``), and sessions, lockouts
and ``last_used_at`` updates are bookkeeping the deriver may skip (:data:`BOOKKEEPING_KINDS`).

**Rate limit.** Failed attempts are counted per (key id, source) in fixed windows of
``failure_window_seconds`` (window index = ``int(now // window)``), with the store's atomic
:meth:`~chalicelib.adapters.dynamodb.facility.FacilityStore.allocate_id` as the counter, on the kind
``api_key_failures.<key_id>.<sha256(source)[:16]>.<window index>`` (a kind may hold no ``:``).
Reading a counter without changing it is not something the port offers, so the failure whose
count reaches ``max_failures`` also creates a small ``api_key_lockout`` record claiming
``api_key_lockout|key_id=…|source=…|window=…``; every attempt first asks
:meth:`~chalicelib.adapters.dynamodb.facility.FacilityStore.claimant` for the claim of the current
window: one consistent read, no scan, and nothing written for a correct key. A locked-out attempt is
refused before its secret is checked, so the right secret is refused too until the window ends.
Failures are counted for unknown key ids as well, so the 429 says nothing about which ids exist.
Fixed windows let up to twice ``max_failures`` attempts through around a window's end, harmless
against 384-bit secrets. Counter items stay behind (one per key, source and window with a
failure); expired lockouts of a key are swept when it is locked out again or revoked.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import math
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from chalicelib.adapters.dynamodb.facility import ClaimTaken, FacilityRecord, FacilityStore
from chalicelib.domain import ANONYMOUS, SYSTEM_ACTOR, JSONObject, User
from chalicelib.errors import (
    AlreadyExists,
    AuthenticationError,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    ValidationError,
    VersionConflict,
)
from chalicelib.tracker import keys
from chalicelib.tracker.topics import USER_MANAGEMENT, holds

KEY_KIND = "api_key"
SESSION_KIND = "api_session"
LOCKOUT_KIND = "api_key_lockout"
FAILURES_KIND_PREFIX = "api_key_failures"
SECRET_FIELDS = frozenset({"salt", "hash"})
BOOKKEEPING_KINDS = frozenset({SESSION_KIND, LOCKOUT_KIND})
MAX_NAME_CHARS = 80
MAX_KEYS_PER_USER = 20
INVALID_KEY = "invalid API key"
INVALID_SESSION = "invalid or expired session"
LOCKED_OUT = "too many failed attempts with this API key; try again later"
_REMOVE_ATTEMPTS = 3
# checked against when the key id is unknown, so that both failures take as long
_DUMMY_SALT = "00" * keys.SALT_BYTES
_DUMMY_DIGEST = "0" * 128


def key_claim(key_id: str) -> str:
    return f"api_key|key_id={key_id}"


def name_claim(owner: str, name: str) -> str:
    return f"api_key|owner={owner}|name={name}"


def session_claim(session_id: str) -> str:
    return f"api_session|session_id={session_id}"


def lockout_claim(key_id: str, source_digest: str, window: int) -> str:
    return f"api_key_lockout|key_id={key_id}|source={source_digest}|window={window}"


def source_digest(source: str) -> str:
    """A short name of a request's source (its address) for counters and claims."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class ApiKeyService:
    """Named API keys per user, their use, and the short-lived sessions opened with them.

    ``user_exists(username)`` says whether that user exists and is not deleted; a key of a user
    for whom it says no fails as an unknown key does. ``clock`` gives epoch seconds.
    Managing keys (:meth:`create`, :meth:`list`, :meth:`revoke`, :meth:`revoke_all`) checks, in
    this order: the caller may manage ``owner``'s keys (else Forbidden), ``owner`` exists (else
    NotFound, so outsiders learn nothing), then the input (ValidationError naming the field).
    """

    def __init__(
        self,
        store: FacilityStore,
        *,
        user_exists: Callable[[str], bool],
        clock: Callable[[], float] = time.time,
        session_seconds: int = 3600,
        max_failures: int = 10,
        failure_window_seconds: int = 900,
        max_keys_per_user: int = MAX_KEYS_PER_USER,
        last_used_resolution_seconds: float = 60.0,
    ) -> None:
        if min(session_seconds, max_failures, failure_window_seconds, max_keys_per_user) < 1:
            raise ValueError("durations and limits must be at least 1")
        self._store = store
        self._user_exists = user_exists
        self._clock = clock
        self._session_seconds = session_seconds
        self._max_failures = max_failures
        self._window = failure_window_seconds
        self._max_keys = max_keys_per_user
        self._resolution = last_used_resolution_seconds

    # -- managing keys ----------------------------------------------------------------------
    def create(self, user: User, owner: str, name: str) -> tuple[JSONObject, str]:
        """A new key of ``owner`` named ``name`` (1 to 80 printable characters, stripped):
        its view and the presented key ``<key_id>.<secret>``, which is shown this once only.
        A name ``owner`` uses already, or ``max_keys_per_user`` keys already: Conflict."""
        self._require_manager(user, owner)
        name = _parse_name(name)
        held = self._store.listed(KEY_KIND, 0, f"owner={owner}")  # eventually consistent: a race may pass one more
        if len(held) >= self._max_keys:
            raise Conflict(f"{owner} has {len(held)} API keys, the most allowed; revoke one first")
        key_id, secret = keys.new_key()
        salt = keys.new_salt()
        now = self._clock()
        fields = {
            "key_id": key_id,
            "owner": owner,
            "name": name,
            "salt": salt,
            "hash": keys.hash_secret(secret, salt),
            "created_at": now,
            "last_used_at": None,
        }
        record = self._new_record(KEY_KIND, fields, f"owner={owner}", (key_claim(key_id), name_claim(owner, name)))
        record = replace(record, updated_at=now, updated_by=user.username, acting_for=user.acting_for)
        try:
            self._store.create(record)
        except ClaimTaken as exc:
            if name_claim(owner, name) in exc.claims:
                raise Conflict(f"{owner} has an API key named {name!r} already") from None
            raise
        return _view(record), keys.present(key_id, secret)

    def list(self, user: User, owner: str) -> builtins.list[JSONObject]:
        """``owner``'s keys, oldest first: ``{key_id, name, created_at, last_used_at}`` each."""
        self._require_manager(user, owner)
        records = self._store.listed(KEY_KIND, 0, f"owner={owner}")
        return [_view(r) for r in sorted(records, key=lambda r: (float(r.fields["created_at"]), r.id))]

    def revoke(self, user: User, owner: str, key_id: str) -> None:
        """Delete ``owner``'s key ``key_id`` and end every session opened with it (NotFound when
        ``owner`` has no such key)."""
        self._require_manager(user, owner)
        record = self._find_key(key_id)
        if record is None or record.fields.get("owner") != owner:
            raise NotFound("no such API key")
        self._revoke(user, record)

    def revoke_all(self, user: User, owner: str) -> int:
        """Revoke every key of ``owner`` (when the user is deleted); how many were revoked here.
        Unlike the other methods it works for an owner that no longer exists, so that keys
        left behind by a deletion can still be swept."""
        if not _may_manage(user, owner):
            raise Forbidden("only the owner or a USER_MANAGEMENT holder manages a user's API keys")
        return sum(self._revoke(user, r) for r in self._store.listed(KEY_KIND, 0, f"owner={owner}"))

    # -- using keys -------------------------------------------------------------------------
    def authenticate(self, presented: str, source: str) -> str:
        """The username owning the presented key ``<key_id>.<secret>``, used from ``source``
        (the caller's address). Any failure: AuthenticationError ("invalid API key", whatever
        the cause); after ``max_failures`` failures for that key id and source within the
        current window: TooManyRequests until the window ends, even for the right secret."""
        return str(self._authenticate(presented, source).fields["owner"])

    def open_session(self, presented_key: str, source: str) -> JSONObject:
        """Authenticate the key as :meth:`authenticate` does and open a session for its owner:
        ``{token: "dts.…", token_type: "Bearer", expires_in, expires_at}``."""
        key = self._authenticate(presented_key, source)
        owner, key_id = str(key.fields["owner"]), str(key.fields["key_id"])
        now = self._clock()
        for old in self._store.listed(SESSION_KIND, 0, f"key_id={key_id}"):
            if float(old.fields["expires_at"]) <= now:
                self._discard(SYSTEM_ACTOR, old)
        session_id, secret = keys.new_session_token()
        salt = keys.new_salt()
        expires_at = now + self._session_seconds
        fields = {
            "session_id": session_id,
            "owner": owner,
            "key_id": key_id,
            "salt": salt,
            "hash": keys.hash_secret(secret, salt),
            "created_at": now,
            "expires_at": expires_at,
        }
        record = self._new_record(SESSION_KIND, fields, f"key_id={key_id}", (session_claim(session_id),))
        self._store.create(replace(record, updated_at=now, updated_by=owner))
        return {
            "token": keys.present_session(session_id, secret),
            "token_type": "Bearer",
            "expires_in": self._session_seconds,
            "expires_at": expires_at,
        }

    def authenticate_session(self, token: str, source: str) -> str:
        """The username of the session ``dts.<session_id>.<secret>``. Malformed, unknown, wrong
        secret, expired, its key revoked or its owner gone: AuthenticationError ("invalid or
        expired session"). Not rate-limited (``source`` is accepted for symmetry): a session id
        is only ever learnt with its 384-bit secret, so there is nothing to guess."""
        session = self._find_session(token)
        if session is None:
            raise AuthenticationError(INVALID_SESSION)
        owner = str(session.fields["owner"])
        expired = self._clock() >= float(session.fields["expires_at"])
        if expired or self._store.claimant(key_claim(str(session.fields["key_id"]))) is None:
            self._discard(SYSTEM_ACTOR, session)
            raise AuthenticationError(INVALID_SESSION)
        if not self._user_exists(owner):
            raise AuthenticationError(INVALID_SESSION)
        return owner

    def close_session(self, token: str) -> None:
        """End the session (log out); a malformed or unknown token is no error."""
        session = self._find_session(token)
        if session is not None:
            self._discard(str(session.fields["owner"]), session)

    # -- internals --------------------------------------------------------------------------
    def _require_manager(self, user: User, owner: str) -> None:
        if not _may_manage(user, owner):
            raise Forbidden("only the owner or a USER_MANAGEMENT holder manages a user's API keys")
        if not self._user_exists(owner):
            raise NotFound(f"no user {owner!r}")

    def _new_record(self, kind: str, fields: dict[str, Any], listed_as: str, claims: tuple[str, ...]) -> FacilityRecord:
        return FacilityRecord(
            kind=kind,
            id=self._store.allocate_id(kind),
            uuid=str(uuidlib.uuid4()),
            version=1,
            fields=fields,
            lists=(listed_as, None),
            claims=claims,
        )

    def _find_key(self, key_id: str) -> FacilityRecord | None:
        if not keys.is_key_id(key_id):
            return None
        found = self._store.claimant(key_claim(key_id))
        if found is None or found[0] != KEY_KIND:
            return None
        return self._store.get(KEY_KIND, found[1])

    def _find_session(self, token: str) -> FacilityRecord | None:
        """The session ``token`` names, when its secret is right."""
        try:
            session_id, secret = keys.parse_session_token(token)
        except AuthenticationError:
            return None
        found = self._store.claimant(session_claim(session_id))
        record = None if found is None or found[0] != SESSION_KIND else self._store.get(SESSION_KIND, found[1])
        if record is None or not keys.verify(secret, str(record.fields["salt"]), str(record.fields["hash"])):
            return None
        return record

    def _authenticate(self, presented: str, source: str) -> FacilityRecord:
        try:
            key_id, secret = keys.parse_key(presented)
        except AuthenticationError:
            raise AuthenticationError(INVALID_KEY) from None
        now = self._clock()
        digest = source_digest(source)
        window = int(now // self._window)
        if self._store.claimant(lockout_claim(key_id, digest, window)) is not None:
            raise TooManyRequests(LOCKED_OUT, retry_after=max(1, math.ceil((window + 1) * self._window - now)))
        record = self._find_key(key_id)
        salt, digest_hex = (
            (_DUMMY_SALT, _DUMMY_DIGEST) if record is None else (record.fields["salt"], record.fields["hash"])
        )
        valid = keys.verify(secret, str(salt), str(digest_hex))  # checked even for no key: both take as long
        if record is None or not valid or not self._user_exists(str(record.fields["owner"])):
            self._count_failure(key_id, digest, window, now)
            raise AuthenticationError(INVALID_KEY)
        self._touch(record, now)
        return record

    def _count_failure(self, key_id: str, digest: str, window: int, now: float) -> None:
        count = self._store.allocate_id(f"{FAILURES_KIND_PREFIX}.{key_id}.{digest}.{window}")
        if count < self._max_failures:
            return
        fields = {"key_id": key_id, "source_digest": digest, "window": window, "until": (window + 1) * self._window}
        record = self._new_record(LOCKOUT_KIND, fields, f"key_id={key_id}", (lockout_claim(key_id, digest, window),))
        try:
            self._store.create(replace(record, updated_at=now, updated_by=SYSTEM_ACTOR))
        except (ClaimTaken, AlreadyExists):
            return  # a concurrent failure locked it out already
        for old in self._store.listed(LOCKOUT_KIND, 0, f"key_id={key_id}"):
            if float(old.fields["until"]) <= now:
                self._discard(SYSTEM_ACTOR, old)

    def _touch(self, record: FacilityRecord, now: float) -> None:
        """Record the key's use, at most once per ``last_used_resolution_seconds``."""
        last = record.fields.get("last_used_at")
        if last is not None and now - float(last) < self._resolution:
            return
        touched = replace(
            record,
            version=record.version + 1,
            fields={**record.fields, "last_used_at": now},
            updated_at=now,
            updated_by=str(record.fields["owner"]),
            acting_for=None,
        )
        with contextlib.suppress(VersionConflict):  # a concurrent use (or the revocation) won
            self._store.save(touched, record.version)

    def _revoke(self, user: User, key: FacilityRecord) -> bool:
        """Delete ``key``, then its sessions and lockouts; whether the key was deleted here.
        The key goes first: a session whose key is gone is refused already."""
        removed = self._remove(user.username, user.acting_for, key)
        listed_as = f"key_id={key.fields['key_id']}"
        for kind in (SESSION_KIND, LOCKOUT_KIND):
            for record in self._store.listed(kind, 0, listed_as):
                self._remove(user.username, user.acting_for, record)
        return removed

    def _remove(self, actor: str, acting_for: str | None, record: FacilityRecord) -> bool:
        """Delete ``record``, saved once more first naming ``actor`` (the audit log reads the
        deleter from the last image). A concurrent save (a ``last_used_at`` update) makes it
        read the record again and retry; False when the record is gone already."""
        current: FacilityRecord | None = record
        for _ in range(_REMOVE_ATTEMPTS):
            if current is None:
                return False
            stamped = replace(
                current, version=current.version + 1, updated_at=self._clock(), updated_by=actor, acting_for=acting_for
            )
            try:
                self._store.save(stamped, current.version)
                self._store.delete(current.kind, current.id, stamped.version)
                return True
            except VersionConflict:
                current = self._store.get(record.kind, record.id)
        raise VersionConflict(f"{record.kind} {record.id} kept changing while being deleted")

    def _discard(self, actor: str, record: FacilityRecord) -> None:
        """:meth:`_remove`, best effort (a bookkeeping record another request is changing stays)."""
        with contextlib.suppress(VersionConflict):
            self._remove(actor, None, record)


def _may_manage(user: User, owner: str) -> bool:
    """Whether ``user`` may manage ``owner``'s keys: ``owner`` themself, signed in and not
    deleted, or a USER_MANAGEMENT holder (admins hold it)."""
    if user.deleted or user.username == ANONYMOUS:
        return False
    return user.username == owner or holds(user, USER_MANAGEMENT)


def _parse_name(name: object) -> str:
    """A key's name: stripped, 1 to :data:`MAX_NAME_CHARS` printable characters."""
    if not isinstance(name, str):
        raise ValidationError("name must be a string", field="name")
    stripped = name.strip()
    if not stripped or len(stripped) > MAX_NAME_CHARS or not stripped.isprintable():
        raise ValidationError(f"name must be 1 to {MAX_NAME_CHARS} printable characters", field="name")
    return stripped


def _view(record: FacilityRecord) -> JSONObject:
    """What a key's owner sees of it: never its salt or hash."""
    f = record.fields
    return {"key_id": f["key_id"], "name": f["name"], "created_at": f["created_at"], "last_used_at": f["last_used_at"]}
