"""Every record of the catalogue to and from its DynamoDB item: the one mapping.

The DynamoDB repositories write and read items through these pairs, and the in-memory
fakes keep their records as the same items (:func:`round_trip`: serialized to DynamoDB JSON
and back), so a fake returns exactly what DynamoDB would and no caller shares its state.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pynamodb.models import Model

from chalicelib.adapters.dynamodb.tables import (
    BASE_URI_PK,
    USER_PK,
    ArchiveItem,
    AuditItem,
    BaseUriItem,
    DatasetItem,
    UserItem,
)
from chalicelib.archive.model import Archive, StepState
from chalicelib.domain import (
    REGISTERED,
    AuditEntry,
    BaseUri,
    Dataset,
    DatasetContent,
    JSONObject,
    Manifest,
    ManifestItem,
    Replica,
    User,
)

# the parts of an entry that may be too large for its item (stored in the blob store then)
LARGE_PARTS = ("readme", "manifest", "annotations")

ItemT = TypeVar("ItemT", bound=Model)
# part name -> (the text kept inline, or None; the blob key, or None)
StoredParts = Mapping[str, tuple[str | None, str | None]]


def round_trip(item: ItemT) -> ItemT:
    """``item`` as DynamoDB would return it: serialized and read back (fresh containers)."""
    return type(item).from_raw_data(copy.deepcopy(item.serialize()))


# -- datasets ------------------------------------------------------------------------------
def large_part_texts(dataset: Dataset) -> dict[str, str]:
    """The text of each of :data:`LARGE_PARTS` as it is stored (inline or as a blob)."""
    c = dataset.content
    return {
        "readme": c.readme,
        "manifest": json.dumps(c.manifest.to_dict(), separators=(",", ":")),
        "annotations": json.dumps(dict(c.annotations), separators=(",", ":")),
    }


def inline_parts(dataset: Dataset) -> dict[str, tuple[str | None, str | None]]:
    """Every large part kept inline (no blob store)."""
    return {name: (text, None) for name, text in large_part_texts(dataset).items()}


def dataset_item(dataset: Dataset, parts: StoredParts) -> DatasetItem:
    """The item of an entry whose large parts are stored as ``parts`` says. ``archival`` is
    never part of it (it is written by ``record_archival`` only)."""
    c = dataset.content
    readme, readme_ref = parts["readme"]
    manifest, manifest_ref = parts["manifest"]
    annotations, annotations_ref = parts["annotations"]
    return DatasetItem(
        uuid=c.uuid,
        base_uri=dataset.base_uri,
        name=c.name,
        creator_username=c.creator_username,
        created_at=c.created_at,
        frozen_at=c.frozen_at,
        registered_at=dataset.registered_at,
        updated_at=dataset.updated_at,
        updated_by=dataset.updated_by,
        updated_for=dataset.updated_for,
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
            {"uri": r.uri, "base_uri": r.base_uri, "registered_at": r.registered_at, "registered_by": r.registered_by}
            for r in dataset.replicas
        ],
        version=dataset.version,
        content_hash=c.content_hash(),
        deleted=dataset.deleted,
        status=None if dataset.status == REGISTERED else dataset.status,
        status_reasons=list(dataset.status_reasons) or None,
        project=c.project,
        kind=c.kind,
    )


BLOB_PARTS = frozenset({"readme", "manifest", "annotations"})


def dataset_from_item(
    item: DatasetItem, load_blob: Callable[[str], str] | None, parts: frozenset[str] = BLOB_PARTS
) -> Dataset:
    """The entry of ``item``; the ``parts`` held as blobs are read with ``load_blob`` (all
    with ``load_blob`` ``None``: left empty, their keys in ``blob_refs``). A part not among
    ``parts`` is left empty even when inline (a large manifest is not parsed for a read that
    shows none)."""
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
        if name not in parts:
            return None
        if name not in refs:
            return inline
        return load_blob(refs[name]) if load_blob is not None else None

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
        project=item.project,
        kind=item.kind,
    )
    return Dataset(
        content=content,
        replicas=tuple(
            Replica(
                uri=r["uri"],
                base_uri=r["base_uri"],
                registered_at=float(r["registered_at"]),
                registered_by=r["registered_by"],
            )
            for r in item.replicas or []
        ),
        version=int(item.version),
        registered_at=float(item.registered_at),
        updated_at=float(item.updated_at),
        updated_by=item.updated_by,
        updated_for=item.updated_for,
        deleted=bool(item.deleted),
        status=item.status or REGISTERED,
        status_reasons=tuple(str(r) for r in item.status_reasons or ()),
        blob_refs=refs,
        base_uri=item.base_uri,
        archival=archival_from_item(item),
    )


def archival_value(version: int, summary: JSONObject) -> dict[str, Any]:
    """One archive's value in an item's ``archival`` map."""
    return {"version": version, "summary": json.dumps(summary, sort_keys=True, separators=(",", ":"))}


def archival_from_item(item: DatasetItem) -> dict[str, JSONObject]:
    kept = item.archival.as_dict() if item.archival is not None else {}
    return {str(archive_id): json.loads(str(value["summary"])) for archive_id, value in kept.items()}


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


# -- users and base URIs ---------------------------------------------------------------------
def user_item(user: User) -> UserItem:
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
        projects=set(user.projects) or None,
        version=user.version,
        updated_by=user.updated_by,
        updated_at=user.updated_at,
        deleted=user.deleted,
        topics=set(user.topics) or None,
        affiliation=user.affiliation or None,
        contact=user.contact or None,
        url=user.url or None,
        auth_ids=list(user.auth_ids) or None,
    )


def user_from_item(item: UserItem) -> User:
    return User(
        username=item.sk,
        is_admin=bool(item.is_admin),
        display_name=item.display_name or "",
        email=item.email or "",
        orcid=item.orcid or "",
        created_at=float(item.created_at),
        search_base_uris=frozenset(item.search or ()),
        register_base_uris=frozenset(item.register or ()),
        projects=frozenset(item.projects or ()),
        version=int(item.version),
        updated_by=item.updated_by,
        updated_at=float(item.updated_at),
        deleted=bool(item.deleted),
        topics=frozenset(item.topics or ()),
        affiliation=item.affiliation or "",
        contact=item.contact or "",
        url=item.url or "",
        auth_ids=tuple(str(a) for a in item.auth_ids or ()),
    )


def base_uri_item(record: BaseUri) -> BaseUriItem:
    return BaseUriItem(
        pk=BASE_URI_PK,
        sk=record.base_uri,
        created_at=record.created_at,
        description=record.description,
        version=record.version,
        updated_by=record.updated_by,
        updated_at=record.updated_at,
        deleted=record.deleted,
        public=record.public,
        was_public=record.was_public,
    )


def base_uri_from_item(item: BaseUriItem) -> BaseUri:
    return BaseUri(
        base_uri=item.sk,
        created_at=float(item.created_at),
        version=int(item.version),
        updated_by=item.updated_by,
        updated_at=float(item.updated_at),
        description=item.description or "",
        deleted=bool(item.deleted),
        public=bool(item.public),
        was_public=bool(item.was_public),
    )


# -- audit -----------------------------------------------------------------------------------
def audit_item(entry: AuditEntry, sort_key: str) -> AuditItem:
    return AuditItem(
        subject=entry.subject,
        sk=sort_key,
        entry_id=entry.entry_id,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        action=entry.action,
        timestamp=entry.timestamp,
        actor=entry.actor,
        value=entry.value,
        acting_for=entry.acting_for,
    )


def audit_from_item(item: AuditItem) -> AuditEntry:
    return AuditEntry(
        entry_id=item.entry_id,
        entity_type=item.entity_type,
        entity_id=item.entity_id,
        action=item.action,
        timestamp=float(item.timestamp),
        actor=item.actor,
        value=item.value,
        subject=item.subject,
        acting_for=item.acting_for,
    )


# -- archives --------------------------------------------------------------------------------
def archive_item(a: Archive) -> ArchiveItem:
    return ArchiveItem(
        archive_id=a.archive_id,
        dataset_uuid=a.dataset_uuid,
        content_hash=a.content_hash,
        source_uri=a.source_uri,
        base_uris=list(a.base_uris),
        requested_by=a.requested_by,
        requested_at=a.requested_at,
        updated_at=a.updated_at,
        version=a.version,
        status=a.status,
        steps={k: copy.copy(v.__dict__) for k, v in a.steps.items()},
        aip_uri=a.aip_uri or None,
        aip_bytes=a.aip_bytes,
        aip_objects=a.aip_objects,
        tagmanifest_sha256=a.tagmanifest_sha256 or None,
        storage_class=a.storage_class or None,
        failed_step=a.failed_step or None,
        error=a.error or None,
        retries=a.retries,
        fixity=dict(a.fixity) or None,
    )


def archive_from_item(item: ArchiveItem) -> Archive:
    steps: dict[str, Any] = item.steps or {}
    return Archive(
        archive_id=item.archive_id,
        dataset_uuid=item.dataset_uuid,
        content_hash=item.content_hash,
        source_uri=item.source_uri,
        base_uris=tuple(str(b) for b in item.base_uris or ()),
        requested_by=item.requested_by,
        requested_at=float(item.requested_at),
        updated_at=float(item.updated_at),
        version=int(item.version),
        status=item.status,
        steps={k: StepState(**v) for k, v in steps.items()},
        aip_uri=item.aip_uri or "",
        aip_bytes=int(item.aip_bytes or 0),
        aip_objects=int(item.aip_objects or 0),
        tagmanifest_sha256=item.tagmanifest_sha256 or "",
        storage_class=item.storage_class or "",
        failed_step=item.failed_step or "",
        error=item.error or "",
        retries=int(item.retries or 0),
        fixity=item.fixity or {},
    )
