"""The records port and its DynamoDB (pynamodb) implementation.

The repository maps pynamodb items to domain records and translates storage failures
into domain errors at this boundary (ConditionalCheckFailed -> AlreadyExists / VersionConflict).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.items import (
    LARGE_PARTS,
    archival_value,
    audit_from_item,
    audit_item,
    base_uri_from_item,
    base_uri_item,
    dataset_from_item,
    dataset_item,
    large_part_texts,
    user_from_item,
    user_item,
)
from chalicelib.adapters.dynamodb.tables import (
    BASE_URI_PK,
    USER_PK,
    AuditItem,
    BaseUriItem,
    DatasetItem,
    UserItem,
)
from chalicelib.catalogue.blobs import BlobStore
from chalicelib.domain import (
    REGISTERED,
    AuditEntry,
    BaseUri,
    Dataset,
    JSONObject,
    User,
)
from chalicelib.errors import AlreadyExists, VersionConflict

CONDITION_FAILED = "ConditionalCheckFailedException"
MAX_TRANSACTION_ITEMS = 100
MAX_STAMPS_PER_CALL = 100  # BatchGetItem's limit


EntryKey = tuple[str, str]  # (uuid, base URI)


@dataclass(frozen=True)
class DatasetStamp:
    """What a bulk registration needs to know of a stored entry, without reading it all."""

    uuid: str
    base_uri: str
    version: int
    deleted: bool
    status: str
    content_hash: str
    description: str
    replicas: tuple[str, ...]  # uris
    project: str | None = None
    kind: str | None = None

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetStamp:
        return cls(
            uuid=dataset.uuid,
            base_uri=dataset.base_uri,
            version=dataset.version,
            deleted=dataset.deleted,
            status=dataset.status,
            content_hash=dataset.content.content_hash(),
            description=dataset.content.description,
            replicas=tuple(r.uri for r in dataset.replicas),
            project=dataset.content.project,
            kind=dataset.content.kind,
        )


# which parts held as blobs a read loads: all (True), none (False), or these part names
LoadBlobs = bool | Collection[str]


class Repository(ABC):
    """Records of dataset entries, users, base URIs and audit entries (DynamoDB is the truth).

    A dataset entry is keyed by (uuid, base URI): see :class:`chalicelib.domain.Dataset`.

    - ``save_*(record, expected_version)``: ``expected_version=None`` MUST succeed only when
      no live record exists under that key (a tombstone counts as absent only when
      ``expected_version`` equals its version); otherwise the stored version MUST equal
      ``expected_version``. Failures raise AlreadyExists / VersionConflict and change nothing.
    - Tombstones (``deleted=True``) are returned by ``get_*``; callers treat them as absent.
    - ``append_audit`` MUST be idempotent per entry id.
    """

    @abstractmethod
    def get_dataset(self, uuid: str, base_uri: str, *, load_blobs: LoadBlobs = True) -> Dataset | None:
        """The entry of ``uuid`` under ``base_uri``. With ``load_blobs=False`` parts kept in
        the blob store are left empty (their keys are in ``blob_refs``), and with a collection
        of part names (``"readme"``, ``"manifest"``, ``"annotations"``) all but those; such a
        record MUST NOT be saved back."""

    @abstractmethod
    def get_entries(
        self, uuid: str, base_uris: Collection[str] | None, *, load_blobs: LoadBlobs = True
    ) -> list[Dataset]:
        """The stored entries of ``uuid`` (tombstones included) under ``base_uris`` (``None``:
        under any base URI), read consistently, in base URI order. Entries under other base
        URIs MUST NOT be read into the result."""

    @abstractmethod
    def get_dataset_stamps(self, keys: Sequence[EntryKey]) -> dict[EntryKey, DatasetStamp]:
        """Stamps of those of ``keys`` that are stored (tombstones included), read
        consistently; MUST raise ValueError for more than ``MAX_STAMPS_PER_CALL`` keys."""

    @abstractmethod
    def save_dataset(self, dataset: Dataset, expected_version: int | None) -> None: ...

    @abstractmethod
    def iter_datasets(self) -> Iterator[Dataset]: ...

    @abstractmethod
    def record_archival(self, uuid: str, base_uri: str, archive_id: str, version: int, summary: JSONObject) -> None:
        """Keep ``summary`` as version ``version`` of archive ``archive_id`` in the
        ``archival`` of the entry (``uuid``, ``base_uri``), so that a lookup reads the entry's
        archives with the entry itself.

        It MUST NOT change the entry's content or version (no stream consumer sees a new
        version), and a later ``save_dataset`` MUST NOT lose it. A version not newer than the
        one kept is ignored (two writers may project one archive out of order), and so is an
        entry that does not exist.
        """

    @abstractmethod
    def get_user(self, username: str) -> User | None: ...

    @abstractmethod
    def save_user(self, user: User, expected_version: int | None) -> None: ...

    @abstractmethod
    def save_users(self, changes: Sequence[tuple[User, int]]) -> None:
        """Save several existing users, each against its expected version: all or nothing
        (per chunk of 100 on DynamoDB). A user named twice is a ValueError."""

    @abstractmethod
    def list_users(self) -> list[User]: ...

    @abstractmethod
    def get_base_uri(self, base_uri: str) -> BaseUri | None: ...

    @abstractmethod
    def save_base_uri(self, record: BaseUri, expected_version: int | None) -> None: ...

    @abstractmethod
    def list_base_uris(self) -> list[BaseUri]: ...

    @abstractmethod
    def append_audit(self, entries: Sequence[AuditEntry]) -> None: ...

    @abstractmethod
    def list_audit(self, subject: str, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]: ...


def audit_sort_key(entry: AuditEntry) -> str:
    return f"{entry.timestamp:017.6f}#{entry.entry_id}"


class DynamoRepository(Repository):
    def __init__(self, blobs: BlobStore, inline_cap_bytes: int) -> None:
        self._blobs = blobs
        self._cap = inline_cap_bytes

    # -- datasets ---------------------------------------------------------------
    def get_dataset(self, uuid: str, base_uri: str, *, load_blobs: LoadBlobs = True) -> Dataset | None:
        try:
            item = DatasetItem.get(uuid, base_uri, consistent_read=True)
        except DoesNotExist:
            return None
        return self._dataset_from_item(item, load_blobs=load_blobs)

    def get_entries(
        self, uuid: str, base_uris: Collection[str] | None, *, load_blobs: LoadBlobs = True
    ) -> list[Dataset]:
        if base_uris is not None and len(base_uris) <= MAX_STAMPS_PER_CALL:
            # GetItem per key in one BatchGetItem: entries of other base URIs are never read
            keys = [(uuid, b) for b in sorted(set(base_uris))]
            items = list(DatasetItem.batch_get(keys, consistent_read=True)) if keys else []
        else:
            items = [
                i for i in DatasetItem.query(uuid, consistent_read=True) if base_uris is None or i.base_uri in base_uris
            ]
        entries = [self._dataset_from_item(i, load_blobs=load_blobs) for i in items]
        return sorted(entries, key=lambda e: e.base_uri)

    def get_dataset_stamps(self, keys: Sequence[EntryKey]) -> dict[EntryKey, DatasetStamp]:
        if len(keys) > MAX_STAMPS_PER_CALL:
            raise ValueError(f"at most {MAX_STAMPS_PER_CALL} keys per call")
        attributes = [
            "uuid",
            "base_uri",
            "version",
            "deleted",
            "status",
            "content_hash",
            "description",
            "replicas",
            "project",
            "kind",
        ]
        # one BatchGetItem (pynamodb retries unprocessed keys), only the attributes needed
        return {
            (item.uuid, item.base_uri): DatasetStamp(
                uuid=item.uuid,
                base_uri=item.base_uri,
                version=int(item.version),
                deleted=bool(item.deleted),
                status=item.status or REGISTERED,
                content_hash=item.content_hash,
                description=item.description or "",
                replicas=tuple(r["uri"] for r in item.replicas or []),
                project=item.project,
                kind=item.kind,
            )
            for item in DatasetItem.batch_get(sorted(set(keys)), consistent_read=True, attributes_to_get=attributes)
        }

    def dataset_from_image(self, image: dict[str, Any]) -> Dataset:
        """Build a record from a DynamoDB-JSON image (a stream record's NewImage/OldImage)."""
        return self._dataset_from_item(DatasetItem.from_raw_data(image))

    def _dataset_from_item(self, item: DatasetItem, *, load_blobs: LoadBlobs = True) -> Dataset:
        if isinstance(load_blobs, bool):
            return dataset_from_item(item, self._blobs.get if load_blobs else None)
        return dataset_from_item(item, self._blobs.get, parts=frozenset(load_blobs))

    def record_archival(self, uuid: str, base_uri: str, archive_id: str, version: int, summary: JSONObject) -> None:
        value = archival_value(version, summary)
        slot = DatasetItem.archival[archive_id]
        entry = DatasetItem(uuid=uuid, base_uri=base_uri)
        newer = slot.does_not_exist() | (slot["version"] < version)
        into_slot: tuple[list[Action], Condition] = ([slot.set(value)], DatasetItem.archival.exists() & newer)
        new_map: tuple[list[Action], Condition] = (
            [DatasetItem.archival.set({archive_id: value})],
            DatasetItem.uuid.exists() & DatasetItem.archival.does_not_exist(),
        )
        # At most three conditional UpdateItems. The path update needs the map to exist
        # (DynamoDB refuses a document path under a missing attribute: ValidationException),
        # so the first archive of an entry creates the map; when another writer created it
        # meanwhile, the path update runs once more. A failed condition at the end means the
        # entry is gone or a newer version is kept: nothing to write.
        attempts = (
            (into_slot, (CONDITION_FAILED, "ValidationException")),
            (new_map, (CONDITION_FAILED,)),
            (into_slot, (CONDITION_FAILED,)),
        )
        for (actions, condition), tolerated in attempts:
            try:
                entry.update(actions=actions, condition=condition)
                return
            except UpdateError as exc:
                if exc.cause_response_code not in tolerated:
                    raise

    def save_dataset(self, dataset: Dataset, expected_version: int | None) -> None:
        texts = large_part_texts(dataset)
        parts = {name: self._inline_or_blob(f"datasets/{dataset.uuid}/{name}", texts[name]) for name in LARGE_PARTS}
        item = dataset_item(dataset, parts)
        condition = (
            DatasetItem.uuid.does_not_exist() if expected_version is None else DatasetItem.version == expected_version
        )
        if expected_version is None:
            _conditional_save(item, condition, expected_version)  # a new entry: nothing to keep
            return
        # an update is an UpdateItem over every attribute but ``archival``, not a PutItem: the
        # archive workflow's projection (record_archival) lives on the same item and must survive
        actions: list[Action] = [
            attr.remove() if getattr(item, name) is None else attr.set(getattr(item, name))
            for name, attr in DatasetItem.get_attributes().items()
            if not (attr.is_hash_key or attr.is_range_key or name == "archival")
        ]
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            raise _conflict(exc, expected_version) from exc

    def iter_datasets(self) -> Iterator[Dataset]:
        # Operator commands only (reindex, drift): never on a request path.
        for item in DatasetItem.scan():
            yield self._dataset_from_item(item)

    def _inline_or_blob(self, prefix: str, text: str) -> tuple[str | None, str | None]:
        if len(text.encode()) <= self._cap:
            return text, None
        return None, self._blobs.put(prefix, text)

    # -- users ------------------------------------------------------------------
    def get_user(self, username: str) -> User | None:
        try:
            item = UserItem.get(USER_PK, username, consistent_read=True)
        except DoesNotExist:
            return None
        return user_from_item(item)

    def user_from_image(self, image: dict[str, Any]) -> User:
        return user_from_item(UserItem.from_raw_data(image))

    def save_user(self, user: User, expected_version: int | None) -> None:
        item = user_item(user)
        condition = UserItem.sk.does_not_exist() if expected_version is None else UserItem.version == expected_version
        _conditional_save(item, condition, expected_version)

    def save_users(self, changes: Sequence[tuple[User, int]]) -> None:
        # The access table stays small (users and base URIs only), so moto's whole-table
        # copy per transaction stays cheap here; datasets never take part. DynamoDB caps a
        # transaction at 100 actions: larger batches are atomic per chunk of 100 only.
        names = [user.username for user, _ in changes]
        if len(set(names)) != len(names):
            raise ValueError("save_users got the same user twice")
        for start in range(0, len(changes), MAX_TRANSACTION_ITEMS):
            chunk = changes[start : start + MAX_TRANSACTION_ITEMS]
            try:
                with TransactWrite(connection=UserItem._get_connection().connection) as tx:
                    for user, expected in chunk:
                        tx.save(user_item(user), condition=UserItem.version == expected)
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons if exc.cause_response_code == "TransactionCanceledException" else []
                if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
                    raise VersionConflict("a user changed meanwhile; read the permissions again and retry") from exc
                raise

    def list_users(self) -> list[User]:
        return [u for u in (user_from_item(i) for i in UserItem.query(USER_PK, consistent_read=True)) if not u.deleted]

    # -- base URIs --------------------------------------------------------------
    def get_base_uri(self, base_uri: str) -> BaseUri | None:
        try:
            item = BaseUriItem.get(BASE_URI_PK, base_uri, consistent_read=True)
        except DoesNotExist:
            return None
        return base_uri_from_item(item)

    def base_uri_from_image(self, image: dict[str, Any]) -> BaseUri:
        return base_uri_from_item(BaseUriItem.from_raw_data(image))

    def save_base_uri(self, record: BaseUri, expected_version: int | None) -> None:
        item = base_uri_item(record)
        condition = (
            BaseUriItem.sk.does_not_exist() if expected_version is None else BaseUriItem.version == expected_version
        )
        _conditional_save(item, condition, expected_version)

    def list_base_uris(self) -> list[BaseUri]:
        items = BaseUriItem.query(BASE_URI_PK, consistent_read=True)
        return [b for b in (base_uri_from_item(i) for i in items) if not b.deleted]

    # -- audit ------------------------------------------------------------------
    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            item = audit_item(entry, audit_sort_key(entry))
            try:
                item.save(condition=AuditItem.sk.does_not_exist())
            except PutError as exc:
                # Already written by an earlier delivery of the same stream record.
                if exc.cause_response_code != CONDITION_FAILED:
                    raise

    def list_audit(self, subject: str, limit: int, after: str | None) -> tuple[list[AuditEntry], str | None]:
        kwargs: dict[str, Any] = {"limit": limit, "consistent_read": True}
        if after:
            kwargs["last_evaluated_key"] = {"subject": {"S": subject}, "sk": {"S": after}}
        result = AuditItem.query(subject, **kwargs)
        entries = [audit_from_item(i) for i in result]
        last = result.last_evaluated_key
        return entries, (last["sk"]["S"] if last else None)


def _conditional_save(item: Any, condition: Condition, expected_version: int | None) -> None:
    try:
        item.save(condition=condition)
    except PutError as exc:
        raise _conflict(exc, expected_version) from exc


def _conflict(exc: PutError | UpdateError, expected_version: int | None) -> Exception:
    """The domain error for a failed conditional write (anything but a failed condition: itself)."""
    if exc.cause_response_code != CONDITION_FAILED:
        return exc
    if expected_version is None:
        return AlreadyExists("the record exists already")
    return VersionConflict(f"version {expected_version} is no longer current")
