"""Typed views of the catalogue's answers. Each keeps the whole answer in ``raw``: fields the
catalogue adds later are there before this package names them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What an entry is, by the way it reached the catalogue (searched as ``type``)."""

    DTOOL = "dtool"
    FOLDER = "folder"
    BAG = "bag"
    FACILITY = "facility"
    SUBMISSION = "submission"
    RECORD = "record"


def _str(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Dataset:
    """A dataset as search and lists show it (one entry: the dataset under one base URI)."""

    uuid: str
    name: str
    base_uri: str
    uri: str | None
    creator_username: str
    tags: tuple[str, ...]
    version: int
    raw: dict[str, Any] = field(repr=False, compare=False)
    # how it reached the catalogue: dtool, folder, bag, facility, submission or record
    kind: str = "record"

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Dataset:
        return cls(
            uuid=_str(raw, "uuid"),
            name=_str(raw, "name"),
            base_uri=_str(raw, "base_uri"),
            uri=raw.get("uri"),
            creator_username=_str(raw, "creator_username"),
            tags=tuple(t for t in raw.get("tags", []) if isinstance(t, str)),
            version=int(raw.get("version") or 0),
            raw=raw,
            kind=str(raw.get("kind") or "record"),
        )


@dataclass(frozen=True)
class DatasetRecord(Dataset):
    """A dataset's record: with its annotations and every replica you may see (the README and
    the manifest are read on their own: :meth:`Catalogue.readme`, :meth:`Catalogue.manifest`)."""

    annotations: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DatasetRecord:
        base = Dataset.from_json(raw)
        annotations = raw.get("annotations")
        return cls(
            **{
                k: getattr(base, k)
                for k in ("uuid", "name", "base_uri", "uri", "creator_username", "tags", "version", "kind")
            },
            raw=raw,
            annotations=annotations if isinstance(annotations, dict) else {},
        )


@dataclass(frozen=True)
class ArchiveStep:
    name: str
    status: str


@dataclass(frozen=True)
class Archive:
    """An archival of a dataset: its status and each step's."""

    id: str
    dataset: str
    status: str
    steps: tuple[ArchiveStep, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def finished(self) -> bool:
        """No step will run any more (archived, failed, rejected, or a fixity failure)."""
        return self.status in ("archived", "failed", "rejected", "fixity_failed")

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Archive:
        steps = tuple(
            ArchiveStep(_str(s, "name"), _str(s, "status")) for s in raw.get("steps", []) if isinstance(s, dict)
        )
        return cls(id=_str(raw, "id"), dataset=_str(raw, "dataset"), status=_str(raw, "status"), steps=steps, raw=raw)


@dataclass(frozen=True)
class User:
    username: str
    is_admin: bool
    search_base_uris: tuple[str, ...]
    register_base_uris: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> User:
        return cls(
            username=_str(raw, "username"),
            is_admin=bool(raw.get("is_admin")),
            search_base_uris=tuple(raw.get("search_permissions_on_base_uris", [])),
            register_base_uris=tuple(raw.get("register_permissions_on_base_uris", [])),
            raw=raw,
        )


@dataclass(frozen=True)
class UploadStart:
    """``POST /uploads``'s answer: a presigned POST form for the folder's files (``url``,
    ``fields``, ``key_prefix``, ``expires_in``, ``max_bytes``) and the dataset it becomes
    (``uuid``, ``uri``) once ``sidecar`` (``dataset.json``) is posted."""

    base_uri: str
    folder: str
    uri: str
    uuid: str
    sidecar: str
    creator: str
    url: str
    fields: dict[str, str]
    key_prefix: str
    expires_in: int
    max_bytes: int
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> UploadStart:
        fields = raw.get("fields")
        return cls(
            **{k: _str(raw, k) for k in ("base_uri", "folder", "uri", "uuid", "creator", "url", "key_prefix")},
            sidecar=_str(raw, "sidecar") or "dataset.json",
            fields={str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {},
            expires_in=int(raw.get("expires_in") or 0),
            max_bytes=int(raw.get("max_bytes") or 0),
            raw=raw,
        )
