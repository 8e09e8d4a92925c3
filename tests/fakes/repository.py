"""In-memory fake of the records port, for tests (no AWS, no moto).

It follows :class:`chalicelib.adapters.dynamodb.repository.DynamoRepository` closely (both pass
``tests/contract/test_repository_contract.py``): the same conditional writes (an existing
record, tombstones included, blocks ``expected_version=None``; ``expected_version=v``
needs a stored record at version ``v``), all-or-nothing :meth:`save_users`, audit entries
written once per ``(subject, audit_sort_key)`` and paged by sort key. Records go in and
come out as copies: records are kept as their DynamoDB items (:mod:`chalicelib.adapters.dynamodb.items`,
serialized and read back), so what comes out is what DynamoDB would return and no caller can
change what is stored. Large parts stay inline (there is no blob store).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from pynamodb.attributes import MapAttribute

from chalicelib.adapters.dynamodb.items import (
    archival_value,
    audit_from_item,
    audit_item,
    base_uri_from_item,
    base_uri_item,
    dataset_from_item,
    dataset_item,
    inline_parts,
    round_trip,
    user_from_item,
    user_item,
)
from chalicelib.adapters.dynamodb.repository import (
    MAX_STAMPS_PER_CALL,
    DatasetStamp,
    EntryKey,
    LoadBlobs,
    Repository,
    audit_sort_key,
)
from chalicelib.adapters.dynamodb.tables import AuditItem, BaseUriItem, DatasetItem, UserItem
from chalicelib.domain import AuditEntry, BaseUri, Dataset, JSONObject, User
from chalicelib.errors import AlreadyExists, VersionConflict


class InMemoryRepository(Repository):
    """Dataset entries, users, base URIs and audit entries held as items in dicts."""

    def __init__(self) -> None:
        self._datasets: dict[EntryKey, DatasetItem] = {}
        self._users: dict[str, UserItem] = {}
        self._base_uris: dict[str, BaseUriItem] = {}
        self._audit: dict[str, dict[str, AuditItem]] = {}

    # -- datasets ---------------------------------------------------------------
    def get_dataset(self, uuid: str, base_uri: str, *, load_blobs: LoadBlobs = True) -> Dataset | None:
        stored = self._datasets.get((uuid, base_uri))
        return None if stored is None else _dataset(stored)

    def get_entries(
        self, uuid: str, base_uris: Collection[str] | None, *, load_blobs: LoadBlobs = True
    ) -> list[Dataset]:
        return [
            _dataset(item)
            for (u, b), item in sorted(self._datasets.items())
            if u == uuid and (base_uris is None or b in base_uris)
        ]

    def get_dataset_stamps(self, keys: Sequence[EntryKey]) -> dict[EntryKey, DatasetStamp]:
        if len(keys) > MAX_STAMPS_PER_CALL:
            raise ValueError(f"at most {MAX_STAMPS_PER_CALL} keys per call")
        return {k: DatasetStamp.of(_dataset(self._datasets[k])) for k in set(keys) if k in self._datasets}

    def save_dataset(self, dataset: Dataset, expected_version: int | None) -> None:
        key = (dataset.uuid, dataset.base_uri)
        stored = self._datasets.get(key)
        _check(stored, expected_version)
        item = round_trip(dataset_item(dataset, inline_parts(dataset)))
        if stored is not None:  # an update keeps the archive workflow's projection
            item.archival = stored.archival
        self._datasets[key] = item

    def record_archival(self, uuid: str, base_uri: str, archive_id: str, version: int, summary: JSONObject) -> None:
        stored = self._datasets.get((uuid, base_uri))
        if stored is None:
            return
        kept = stored.archival.as_dict() if stored.archival is not None else {}
        if archive_id in kept and int(kept[archive_id]["version"]) >= version:
            return
        stored.archival = MapAttribute(**{**kept, archive_id: archival_value(version, summary)})
        self._datasets[(uuid, base_uri)] = round_trip(stored)

    def iter_datasets(self) -> Iterator[Dataset]:
        for key in sorted(self._datasets):
            stored = self._datasets.get(key)
            if stored is not None:
                yield _dataset(stored)

    # -- users ------------------------------------------------------------------
    def get_user(self, username: str) -> User | None:
        stored = self._users.get(username)
        return None if stored is None else user_from_item(round_trip(stored))

    def save_user(self, user: User, expected_version: int | None) -> None:
        _check(self._users.get(user.username), expected_version)
        self._users[user.username] = round_trip(user_item(user))

    def save_users(self, changes: Sequence[tuple[User, int]]) -> None:
        names = [user.username for user, _ in changes]
        if len(set(names)) != len(names):
            raise ValueError("save_users got the same user twice")
        for user, expected in changes:
            stored = self._users.get(user.username)
            if stored is None or stored.version != expected:
                raise VersionConflict("a user changed meanwhile; read the permissions again and retry")
        for user, _ in changes:
            self._users[user.username] = round_trip(user_item(user))

    def list_users(self) -> list[User]:
        users = (user_from_item(round_trip(item)) for _, item in sorted(self._users.items()))
        return [u for u in users if not u.deleted]

    # -- base URIs --------------------------------------------------------------
    def get_base_uri(self, base_uri: str) -> BaseUri | None:
        stored = self._base_uris.get(base_uri)
        return None if stored is None else base_uri_from_item(round_trip(stored))

    def save_base_uri(self, record: BaseUri, expected_version: int | None) -> None:
        _check(self._base_uris.get(record.base_uri), expected_version)
        self._base_uris[record.base_uri] = round_trip(base_uri_item(record))

    def list_base_uris(self) -> list[BaseUri]:
        records = (base_uri_from_item(round_trip(item)) for _, item in sorted(self._base_uris.items()))
        return [b for b in records if not b.deleted]

    # -- audit ------------------------------------------------------------------
    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            stream = self._audit.setdefault(entry.subject, {})
            key = audit_sort_key(entry)
            # The first write wins, like the conditional put on (subject, sort key).
            stream.setdefault(key, round_trip(audit_item(entry, key)))

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
        entries = [audit_from_item(round_trip(stream[k])) for k in page]
        return entries, (page[-1] if len(keys) > limit else None)


def _dataset(item: DatasetItem) -> Dataset:
    return dataset_from_item(round_trip(item), None)


def _check(stored: DatasetItem | UserItem | BaseUriItem | None, expected_version: int | None) -> None:
    """Raise as DynamoDB's ``attribute_not_exists`` / ``version = :v`` conditions would."""
    if expected_version is None:
        if stored is not None:
            raise AlreadyExists("the record exists already")
    elif stored is None or stored.version != expected_version:
        raise VersionConflict(f"version {expected_version} is no longer current")
