"""The records port and its DynamoDB (pynamodb) implementation.

The repository maps pynamodb items to domain records and translates storage failures
into domain errors at this boundary (ConditionalCheckFailed -> AlreadyExists / VersionConflict).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.blobs import BlobStore
from chalicelib.domain import (
    REGISTERED,
    AuditEntry,
    BaseUri,
    Dataset,
    DatasetContent,
    Manifest,
    ManifestItem,
    Replica,
    User,
)
from chalicelib.errors import AlreadyExists, VersionConflict
from chalicelib.store.tables import (
    BASE_URI_PK,
    USER_PK,
    AuditItem,
    BaseUriItem,
    DatasetItem,
    ReplicaMap,
    UserItem,
)

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
        )


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
    def get_dataset(self, uuid: str, base_uri: str, *, load_blobs: bool = True) -> Dataset | None:
        """The entry of ``uuid`` under ``base_uri``. With ``load_blobs=False`` parts kept in
        the blob store are left empty (their keys are in ``blob_refs``); such a record MUST
        NOT be saved back."""

    @abstractmethod
    def get_entries(self, uuid: str, base_uris: Collection[str] | None, *, load_blobs: bool = True) -> list[Dataset]:
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
    def get_dataset(self, uuid: str, base_uri: str, *, load_blobs: bool = True) -> Dataset | None:
        try:
            item = DatasetItem.get(uuid, base_uri, consistent_read=True)
        except DoesNotExist:
            return None
        return self._dataset_from_item(item, load_blobs=load_blobs)

    def get_entries(self, uuid: str, base_uris: Collection[str] | None, *, load_blobs: bool = True) -> list[Dataset]:
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
        attributes = ["uuid", "base_uri", "version", "deleted", "status", "content_hash", "description", "replicas"]
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
                replicas=tuple(r.uri for r in item.replicas or []),
            )
            for item in DatasetItem.batch_get(sorted(set(keys)), consistent_read=True, attributes_to_get=attributes)
        }

    def dataset_from_image(self, image: dict[str, Any]) -> Dataset:
        """Build a record from a DynamoDB-JSON image (a stream record's NewImage/OldImage)."""
        return self._dataset_from_item(DatasetItem.from_raw_data(image))

    def _dataset_from_item(self, item: DatasetItem, *, load_blobs: bool = True) -> Dataset:
        refs = {
            name: ref
            for name, ref in (
                ("readme", item.readme_ref),
                ("manifest", item.manifest_ref),
                ("annotations", item.annotations_ref),
            )
            if ref is not None
        }

        def part(name: str, inline: str | None) -> str | None:
            if name not in refs:
                return inline
            return self._blobs.get(refs[name]) if load_blobs else None

        readme = part("readme", item.readme)
        manifest_text = part("manifest", item.manifest)
        annotations_text = part("annotations", None)
        annotations = item.annotations if annotations_text is None else json.loads(annotations_text)
        content = DatasetContent(
            uuid=item.uuid,
            name=item.name,
            creator_username=item.creator_username,
            created_at=float(item.created_at),
            frozen_at=float(item.frozen_at),
            readme=readme or "",
            manifest=_manifest_from_json(manifest_text),
            annotations=annotations or {},
            tags=tuple(str(t) for t in item.tags or ()),
            description=item.description or "",
            number_of_items=int(item.number_of_items),
            size_in_bytes=int(item.size_in_bytes),
        )
        return Dataset(
            content=content,
            replicas=tuple(
                Replica(
                    uri=r.uri,
                    base_uri=r.base_uri,
                    registered_at=float(r.registered_at),
                    registered_by=r.registered_by,
                )
                for r in item.replicas or []
            ),
            version=int(item.version),
            registered_at=float(item.registered_at),
            updated_at=float(item.updated_at),
            updated_by=item.updated_by,
            deleted=bool(item.deleted),
            status=item.status or REGISTERED,
            status_reasons=tuple(str(r) for r in item.status_reasons or ()),
            blob_refs=refs,
            base_uri=item.base_uri,
        )

    def save_dataset(self, dataset: Dataset, expected_version: int | None) -> None:
        c = dataset.content
        readme, readme_ref = self._inline_or_blob(f"datasets/{c.uuid}/readme", c.readme)
        manifest, manifest_ref = self._inline_or_blob(
            f"datasets/{c.uuid}/manifest", json.dumps(c.manifest.to_dict(), separators=(",", ":"))
        )
        annotations, annotations_ref = self._inline_or_blob(
            f"datasets/{c.uuid}/annotations", json.dumps(dict(c.annotations), separators=(",", ":"))
        )
        item = DatasetItem(
            uuid=c.uuid,
            base_uri=dataset.base_uri,
            name=c.name,
            creator_username=c.creator_username,
            created_at=c.created_at,
            frozen_at=c.frozen_at,
            registered_at=dataset.registered_at,
            updated_at=dataset.updated_at,
            updated_by=dataset.updated_by,
            readme=readme,
            readme_ref=readme_ref,
            manifest=manifest,
            manifest_ref=manifest_ref,
            annotations=None if annotations is None else json.loads(annotations),
            annotations_ref=annotations_ref,
            tags=list(c.tags),
            description=c.description,
            number_of_items=c.number_of_items,
            size_in_bytes=c.size_in_bytes,
            replicas=[
                ReplicaMap(uri=r.uri, base_uri=r.base_uri, registered_at=r.registered_at, registered_by=r.registered_by)
                for r in dataset.replicas
            ],
            version=dataset.version,
            content_hash=c.content_hash(),
            deleted=dataset.deleted,
            status=None if dataset.status == REGISTERED else dataset.status,
            status_reasons=list(dataset.status_reasons) or None,
        )
        condition = (
            DatasetItem.uuid.does_not_exist() if expected_version is None else DatasetItem.version == expected_version
        )
        _conditional_save(item, condition, expected_version)

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
        return _user_from_item(item)

    def user_from_image(self, image: dict[str, Any]) -> User:
        return _user_from_item(UserItem.from_raw_data(image))

    def save_user(self, user: User, expected_version: int | None) -> None:
        item = _user_item(user)
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
                        tx.save(_user_item(user), condition=UserItem.version == expected)
            except TransactWriteError as exc:
                reasons = exc.cancellation_reasons if exc.cause_response_code == "TransactionCanceledException" else []
                if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
                    raise VersionConflict("a user changed meanwhile; read the permissions again and retry") from exc
                raise

    def list_users(self) -> list[User]:
        return [u for u in (_user_from_item(i) for i in UserItem.query(USER_PK, consistent_read=True)) if not u.deleted]

    # -- base URIs --------------------------------------------------------------
    def get_base_uri(self, base_uri: str) -> BaseUri | None:
        try:
            item = BaseUriItem.get(BASE_URI_PK, base_uri, consistent_read=True)
        except DoesNotExist:
            return None
        return _base_uri_from_item(item)

    def base_uri_from_image(self, image: dict[str, Any]) -> BaseUri:
        return _base_uri_from_item(BaseUriItem.from_raw_data(image))

    def save_base_uri(self, record: BaseUri, expected_version: int | None) -> None:
        item = BaseUriItem(
            pk=BASE_URI_PK,
            sk=record.base_uri,
            created_at=record.created_at,
            description=record.description,
            version=record.version,
            updated_by=record.updated_by,
            updated_at=record.updated_at,
            deleted=record.deleted,
        )
        condition = (
            BaseUriItem.sk.does_not_exist() if expected_version is None else BaseUriItem.version == expected_version
        )
        _conditional_save(item, condition, expected_version)

    def list_base_uris(self) -> list[BaseUri]:
        items = BaseUriItem.query(BASE_URI_PK, consistent_read=True)
        return [b for b in (_base_uri_from_item(i) for i in items) if not b.deleted]

    # -- audit ------------------------------------------------------------------
    def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            item = AuditItem(
                subject=entry.subject,
                sk=audit_sort_key(entry),
                entry_id=entry.entry_id,
                entity_type=entry.entity_type,
                entity_id=entry.entity_id,
                action=entry.action,
                timestamp=entry.timestamp,
                actor=entry.actor,
                value=entry.value,
            )
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
        entries = [
            AuditEntry(
                entry_id=i.entry_id,
                entity_type=i.entity_type,
                entity_id=i.entity_id,
                action=i.action,
                timestamp=float(i.timestamp),
                actor=i.actor,
                value=i.value,
                subject=i.subject,
            )
            for i in result
        ]
        last = result.last_evaluated_key
        return entries, (last["sk"]["S"] if last else None)


def _conditional_save(item: Any, condition: Condition, expected_version: int | None) -> None:
    try:
        item.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code != CONDITION_FAILED:
            raise
        if expected_version is None:
            raise AlreadyExists("the record exists already") from exc
        raise VersionConflict(f"version {expected_version} is no longer current") from exc


def _manifest_from_json(text: str | None) -> Manifest:
    if not text:
        return Manifest()
    raw = json.loads(text)
    return Manifest(
        hash_function=raw.get("hash_function", "md5sum_hexdigest"),
        dtoolcore_version=raw.get("dtoolcore_version"),
        items={
            k: ManifestItem(
                relpath=v["relpath"],
                size_in_bytes=int(v["size_in_bytes"]),
                hash=v["hash"],
                utc_timestamp=float(v.get("utc_timestamp", 0.0)),
            )
            for k, v in raw.get("items", {}).items()
        },
    )


def _user_item(user: User) -> UserItem:
    return UserItem(
        pk=USER_PK,
        sk=user.username,
        is_admin=user.is_admin,
        display_name=user.display_name,
        email=user.email,
        orcid=user.orcid,
        created_at=user.created_at,
        search=set(user.search_base_uris) or None,
        register=set(user.register_base_uris) or None,
        version=user.version,
        updated_by=user.updated_by,
        updated_at=user.updated_at,
        deleted=user.deleted,
    )


def _user_from_item(item: UserItem) -> User:
    return User(
        username=item.sk,
        is_admin=bool(item.is_admin),
        display_name=item.display_name or "",
        email=item.email or "",
        orcid=item.orcid or "",
        created_at=float(item.created_at),
        search_base_uris=frozenset(item.search or ()),
        register_base_uris=frozenset(item.register or ()),
        version=int(item.version),
        updated_by=item.updated_by,
        updated_at=float(item.updated_at),
        deleted=bool(item.deleted),
    )


def _base_uri_from_item(item: BaseUriItem) -> BaseUri:
    return BaseUri(
        base_uri=item.sk,
        created_at=float(item.created_at),
        version=int(item.version),
        updated_by=item.updated_by,
        updated_at=float(item.updated_at),
        description=item.description or "",
        deleted=bool(item.deleted),
    )
