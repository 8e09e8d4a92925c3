"""In-memory fake of the records port, for tests (no AWS, no moto).

It follows :class:`chalicelib.store.repository.DynamoRepository` closely (both pass
``tests/contract/test_repository_contract.py``): the same conditional writes (an existing
record, tombstones included, blocks ``expected_version=None``; ``expected_version=v``
needs a stored record at version ``v``), all-or-nothing :meth:`save_users`, audit entries
written once per ``(subject, audit_sort_key)`` and paged by sort key. Records go in and
come out as copies: annotations and audit values take the same JSON round trip as the
DynamoDB item, so no caller can change what is stored.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import replace
from typing import Any

from chalicelib.domain import AuditEntry, BaseUri, Dataset, User
from chalicelib.errors import AlreadyExists, VersionConflict
from chalicelib.store.repository import MAX_STAMPS_PER_CALL, DatasetStamp, EntryKey, Repository, audit_sort_key


class InMemoryRepository(Repository):
    """Dataset entries, users, base URIs and audit entries held in dicts."""

    def __init__(self) -> None:
        self._datasets: dict[EntryKey, Dataset] = {}
        self._users: dict[str, User] = {}
        self._base_uris: dict[str, BaseUri] = {}
        self._audit: dict[str, dict[str, AuditEntry]] = {}

    # -- datasets ---------------------------------------------------------------
    def get_dataset(self, uuid: str, base_uri: str, *, load_blobs: bool = True) -> Dataset | None:
        stored = self._datasets.get((uuid, base_uri))
        return None if stored is None else _copy_dataset(stored)

    def get_entries(self, uuid: str, base_uris: Collection[str] | None, *, load_blobs: bool = True) -> list[Dataset]:
        return [
            _copy_dataset(d)
            for (u, b), d in sorted(self._datasets.items())
            if u == uuid and (base_uris is None or b in base_uris)
        ]

    def get_dataset_stamps(self, keys: Sequence[EntryKey]) -> dict[EntryKey, DatasetStamp]:
        if len(keys) > MAX_STAMPS_PER_CALL:
            raise ValueError(f"at most {MAX_STAMPS_PER_CALL} keys per call")
        return {k: DatasetStamp.of(self._datasets[k]) for k in set(keys) if k in self._datasets}

    def save_dataset(self, dataset: Dataset, expected_version: int | None) -> None:
        record = _copy_dataset(dataset)
        key = (record.uuid, record.base_uri)
        _check(self._datasets.get(key), expected_version)
        self._datasets[key] = record

    def iter_datasets(self) -> Iterator[Dataset]:
        for key in sorted(self._datasets):
            stored = self._datasets.get(key)
            if stored is not None:
                yield _copy_dataset(stored)

    # -- users ------------------------------------------------------------------
    def get_user(self, username: str) -> User | None:
        stored = self._users.get(username)
        return None if stored is None else _copy_user(stored)

    def save_user(self, user: User, expected_version: int | None) -> None:
        record = _copy_user(user)
        _check(self._users.get(record.username), expected_version)
        self._users[record.username] = record

    def save_users(self, changes: Sequence[tuple[User, int]]) -> None:
        records = [(_copy_user(user), expected) for user, expected in changes]
        names = [user.username for user, _ in records]
        if len(set(names)) != len(names):
            raise ValueError("save_users got the same user twice")
        for user, expected in records:
            stored = self._users.get(user.username)
            if stored is None or stored.version != expected:
                raise VersionConflict("a user changed meanwhile; read the permissions again and retry")
        for user, _ in records:
            self._users[user.username] = user

    def list_users(self) -> list[User]:
        return [_copy_user(u) for _, u in sorted(self._users.items()) if not u.deleted]

    # -- base URIs --------------------------------------------------------------
    def get_base_uri(self, base_uri: str) -> BaseUri | None:
        # BaseUri holds only immutable values, so the frozen record itself is safe to share.
        return self._base_uris.get(base_uri)

    def save_base_uri(self, record: BaseUri, expected_version: int | None) -> None:
        _check(self._base_uris.get(record.base_uri), expected_version)
        self._base_uris[record.base_uri] = record

    def list_base_uris(self) -> list[BaseUri]:
        return [b for _, b in sorted(self._base_uris.items()) if not b.deleted]

    # -- audit ------------------------------------------------------------------
    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            stream = self._audit.setdefault(entry.subject, {})
            # The first write wins, like the conditional put on (subject, sort key).
            stream.setdefault(audit_sort_key(entry), _copy_audit(entry))

    def list_audit(self, subject: str, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        """Up to ``limit`` entries after sort key ``after`` (exclusive), in sort-key order.

        The second value is the sort key of the last entry returned when more entries follow,
        else ``None``. (DynamoDB may also return a key when the page is exactly full and
        nothing follows; callers then get one empty page, so loop until ``None``.)
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        stream = self._audit.get(subject, {})
        keys = sorted(k for k in stream if not after or k > after)
        page = keys[:limit]
        entries = [_copy_audit(stream[k]) for k in page]
        return entries, (page[-1] if len(keys) > limit else None)


def _check(stored: Dataset | User | BaseUri | None, expected_version: int | None) -> None:
    """Raise as DynamoDB's ``attribute_not_exists`` / ``version = :v`` conditions would."""
    if expected_version is None:
        if stored is not None:
            raise AlreadyExists("the record exists already")
    elif stored is None or stored.version != expected_version:
        raise VersionConflict(f"version {expected_version} is no longer current")


def _json_copy(value: Any) -> Any:
    """The value as a JSONAttribute stores and returns it (fresh containers, str keys)."""
    return None if value is None else json.loads(json.dumps(value), strict=False)


def _copy_dataset(dataset: Dataset) -> Dataset:
    c = dataset.content
    manifest = replace(c.manifest, items=dict(sorted(c.manifest.items.items())))
    content = replace(
        c,
        manifest=manifest,
        annotations=_json_copy(dict(c.annotations)) or {},
        tags=tuple(str(t) for t in c.tags),
    )
    return replace(dataset, content=content, replicas=tuple(dataset.replicas))


def _copy_user(user: User) -> User:
    return replace(
        user,
        search_base_uris=frozenset(user.search_base_uris),
        register_base_uris=frozenset(user.register_base_uris),
    )


def _copy_audit(entry: AuditEntry) -> AuditEntry:
    return replace(entry, value=_json_copy(entry.value))
