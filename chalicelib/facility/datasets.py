"""A data group is a dataset of the catalogue: one data path, one permission check.

A data group's files are its manifest; each repository it is available in is a base URI,
and the replica there is an entry of the catalogue under that base URI (``<base URI>/<uuid>``).
Registering a replica registers the data group there through
:meth:`CatalogueService.register` (register permission on the repository's base URI);
unregistering removes that replica through :meth:`CatalogueService.delete_replica`. Whether a
data group is available in a repository is read from the catalogue, never stored twice, so
both APIs always agree (and the audit log has one entry per change: the catalogue's).
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import yaml

from chalicelib.catalogue.validation import Registration, parse_base_uri
from chalicelib.domain import KIND_FACILITY, SYSTEM_ACTOR, Dataset, DatasetContent, Manifest, ManifestItem, User
from chalicelib.errors import Forbidden, InvalidRecord, NotFound, ValidationError
from chalicelib.identity.permissions import may_register

# Availability is a fact about the data group, read whoever asks (the caller's right to read
# the data group was checked by the facility service).
FACILITY_READER = User(username=SYSTEM_ACTOR, is_admin=True)
BASE_URI_PREFIX = "file://mymdc"
MAX_FILES_TEXT = 4 * 1024 * 1024
NO_HASH = "none"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class Catalogue(Protocol):
    """What the bridge needs of :class:`chalicelib.catalogue.datasets.CatalogueService`."""

    def register(self, user: User, reg: Registration) -> Any: ...

    def entries(self, user: User, uuid: str) -> list[Dataset]: ...

    def delete_replica(self, user: User, uuid: str, uri: str | None) -> Any: ...


def repository_base_uri(identifier: str, mount_point: str = "") -> str:
    """The catalogue base URI of a repository: its mount point when that is in S3
    (``s3://bucket[/prefix]``: its data groups can then be archived), otherwise
    ``file://mymdc/<identifier>`` (characters outside ``A-Za-z0-9_.-`` become ``-``)."""
    if mount_point.startswith("s3://"):
        try:
            return parse_base_uri(mount_point.rstrip("/"))
        except ValidationError as exc:
            raise InvalidRecord({"mount_point": ["is invalid"]}) from exc
    safe = _UNSAFE.sub("-", identifier).strip(".") or "repository"
    return f"{BASE_URI_PREFIX}/{safe}"


def replica_uri(base_uri: str, uuid: str, prefix_path: str = "") -> str:
    """Where a data group's replica is: in an S3 repository the folder holding its files
    (``<base URI>/<prefix_path>``, so that the archive finds ``<folder>/<relative path>``),
    elsewhere ``<base URI>/<uuid>``."""
    segments = [s for s in prefix_path.split("/") if s not in ("", ".")]
    if not base_uri.startswith("s3://") or not segments:
        return f"{base_uri}/{uuid}"
    if ".." in segments:
        raise InvalidRecord({"prefix_path": ["is invalid"]})
    return f"{base_uri}/{'/'.join(segments)}"


def parse_files(text: str) -> list[dict[str, Any]]:
    """The file entries of a data file's ``files`` text: a Python or JSON list of objects
    (``[{'filename': 's0000.h5', 'relative_path': 'r0001/'}]``, as metadata_client sends
    it); entries without a file name are skipped, unreadable text gives ``[]``."""
    if len(text) > MAX_FILES_TEXT:
        return []
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return []
    if not isinstance(value, list | tuple):
        return []
    return [e for e in value if isinstance(e, dict) and isinstance(e.get("filename"), str) and e["filename"]]


def _number(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def epoch_of(value: Any, default: float) -> float:
    """An ISO 8601 datetime as seconds since the epoch (``default`` for anything else)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return default
    return default


def manifest_of(files: Sequence[Mapping[str, Any]], created_at: float) -> Manifest:
    """dtool's manifest of the files (item id: the SHA-1 of the relative path, as dtool's);
    ``size``, ``checksum`` and ``creation_date`` are taken when an entry has them."""
    items: dict[str, ManifestItem] = {}
    for entry in files:
        relpath = (str(entry.get("relative_path") or "").strip("/") + "/" + entry["filename"]).strip("/")
        items[hashlib.sha1(relpath.encode()).hexdigest()] = ManifestItem(
            relpath=relpath,
            size_in_bytes=_number(entry.get("size")),
            hash=str(entry.get("checksum") or ""),
            utc_timestamp=epoch_of(entry.get("creation_date"), created_at),
        )
    hashed = any(i.hash for i in items.values())
    return Manifest(hash_function="md5sum_hexdigest" if hashed else NO_HASH, items=items)


def data_group_content(
    *,
    uuid: str,
    data_group: Mapping[str, Any],
    data_group_id: int,
    type_identifier: str,
    proposal: Mapping[str, Any],
    instrument_identifier: str,
    run_numbers: Sequence[int],
    files: Sequence[Mapping[str, Any]],
    creator: str,
    created_at: float,
    project: str | None,
) -> DatasetContent:
    """The catalogue's view of a data group; ``project`` is its proposal's (members see it)."""
    number = int(proposal.get("number") or 0)
    runs = sorted(run_numbers)
    run_part = f"_r{runs[0]:04d}" if runs else ""
    name = data_group.get("name") or f"p{number:06d}{run_part}_{type_identifier.lower() or 'data'}_{data_group_id}"
    manifest = manifest_of(files, created_at)
    facts = {
        "proposal": number,
        "proposal_title": proposal.get("title") or "",
        "instrument": instrument_identifier,
        "runs": runs,
        "data_group_id": data_group_id,
        "data_group_type": type_identifier,
        "prefix_path": data_group.get("prefix_path") or "",
    }
    tags = {"mymdc", f"p{number:06d}", *(t.lower() for t in (type_identifier, instrument_identifier) if t)}
    return DatasetContent(
        uuid=uuid,
        name=str(name)[:256],
        creator_username=creator,
        created_at=created_at,
        frozen_at=created_at,
        readme=yaml.safe_dump(facts, sort_keys=False),
        manifest=manifest,
        annotations={"mymdc": facts},
        tags=tuple(sorted(_UNSAFE.sub("-", t) for t in tags)),
        description=str(data_group.get("description") or ""),
        number_of_items=len(manifest.items),
        size_in_bytes=manifest.total_size,
        project=project,
        kind=KIND_FACILITY,
    )


class DataGroupDatasets:
    """Replicas of data groups as catalogue entries."""

    def __init__(
        self,
        catalogue: Catalogue,
        ensure_base_uri: Callable[[User, str, str], None],
        set_project_members: Callable[[User, str, frozenset[str]], None],
    ) -> None:
        self._catalogue = catalogue
        self._ensure_base_uri = ensure_base_uri
        self._set_project_members = set_project_members

    def set_members(self, admin: User, project: str, usernames: frozenset[str]) -> None:
        """Exactly ``usernames`` see the datasets of ``project`` (admins only)."""
        self._set_project_members(admin, project, usernames)

    def ensure_repository(self, admin: User, base_uri: str, name: str) -> None:
        """The repository's base URI exists in the catalogue (admins only)."""
        self._ensure_base_uri(admin, base_uri, f"myMdC repository {name}")

    def available_in(self, uuid: str) -> frozenset[str]:
        """The base URIs holding a live replica of the data group ``uuid``."""
        return frozenset(e.base_uri for e in self._catalogue.entries(FACILITY_READER, uuid))

    def register(self, user: User, content: DatasetContent, base_uri: str, prefix_path: str) -> None:
        uri = replica_uri(base_uri, content.uuid, prefix_path)
        self._catalogue.register(user, Registration(content=content, base_uri=base_uri, uri=uri))

    def unregister(self, user: User, uuid: str, base_uri: str) -> None:
        """Remove the replica in ``base_uri`` (nothing when there is none)."""
        if not may_register(user, base_uri):
            raise Forbidden(f"no register permission on {base_uri}")
        for entry in self._catalogue.entries(FACILITY_READER, uuid):
            if entry.base_uri != base_uri:
                continue
            for replica in entry.replicas:
                try:
                    self._catalogue.delete_replica(user, uuid, replica.uri)
                except NotFound:
                    continue  # removed meanwhile
