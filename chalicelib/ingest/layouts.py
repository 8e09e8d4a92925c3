"""Recognising datasets in object keys, and reading them from a bucket (framework-free).

Layouts:

* **dtool** (written by the ``dtool`` CLI with the dtool-s3 broker): ``dtool-<uuid>`` at the
  bucket root holds the dataset prefix; under ``<prefix><uuid>/`` live the admin metadata
  ``dtool`` (``type: dataset`` once frozen), ``README.yml``, ``manifest.json``,
  ``tags/<tag>``, ``annotations/<name>.json``, ``structure.json``, ``README.txt`` and
  ``data/<item id>``. Its URI is ``s3://<bucket>/<uuid>`` whatever the prefix.
* **sidecar folder**: a folder holding ``dataset.json`` or ``dataset.yaml``; the folder's
  other objects are the items.

BagIt bags, the third layout, are read by the :mod:`chalicelib.ingest.bags` package.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.object_storage import ObjectMeta, ObjectStorage
from chalicelib.catalogue.index_documents import MAX_PARSED_README, load_yaml
from chalicelib.catalogue.validation import Registration, parse_registration
from chalicelib.domain import KIND_DTOOL, KIND_FOLDER, DatasetContent
from chalicelib.errors import ValidationError

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
DTOOL_REGISTRATION_RE = re.compile(rf"^dtool-(?P<uuid>{UUID_RE})$")
DTOOL_KEY_RE = re.compile(
    rf"^(?P<prefix>(?:.*/)?)(?P<uuid>{UUID_RE})/(?P<rest>dtool|README\.yml|manifest\.json|tags/.+|annotations/.+\.json)$"
)
DTOOL_ANY_RE = re.compile(
    rf"^(?P<prefix>(?:.*/)?)(?P<uuid>{UUID_RE})/"
    r"(?:dtool|README\.yml|README\.txt|manifest\.json|structure\.json|http_manifest\.json"
    r"|(?:tags|annotations|data|overlays|fragments)/.+)$"
)
SIDECAR_NAMES = ("dataset.json", "dataset.yaml", "dataset.yml")
MAX_SIDECAR_DEPTH = 6
MAX_METADATA_BYTES = 8 * 1024 * 1024
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
# Caps checked before anything is parsed (issue 15, finding 4: an 8 MiB YAML sidecar took
# 125 s and 1.6 GiB to parse once; the ingest function has 120 s and 1 GB). A sidecar is
# parsed as YAML or JSON whole, so it gets the README parser's cap; dtool annotations are
# one JSON file each, counted and summed from the listing before any is read.
MAX_SIDECAR_BYTES = MAX_PARSED_README
MAX_ANNOTATION_FILES = 100
MAX_ANNOTATION_BYTES = 1024 * 1024  # all of a dataset's annotations, as the API's body cap


class LayoutError(Exception):
    """The objects are there but do not make a valid dataset (the reason is the message)."""


@dataclass(frozen=True)
class DtoolTarget:
    bucket: str
    prefix: str
    uuid: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.uuid}"

    def key(self, rest: str) -> str:
        return f"{self.prefix}{self.uuid}/{rest}"


@dataclass(frozen=True)
class SidecarTarget:
    bucket: str
    folder: str  # without trailing slash
    sidecar_key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.folder}"


def dtool_target(store: ObjectStorage, bucket: str, key: str) -> DtoolTarget | None:
    """The dtool dataset a metadata key belongs to (data items and structure files are not triggers)."""
    m = DTOOL_REGISTRATION_RE.match(key)
    if m:
        prefix = _text(store, bucket, key, 4096)
        return DtoolTarget(bucket, (prefix or "").strip(), m.group("uuid"))
    m = DTOOL_KEY_RE.match(key)
    if m:
        return DtoolTarget(bucket, m.group("prefix"), m.group("uuid"))
    return None


def is_dtool_object(key: str) -> bool:
    return bool(DTOOL_REGISTRATION_RE.match(key) or DTOOL_ANY_RE.match(key))


def marker_folder(
    store: ObjectStorage, bucket: str, key: str, names: tuple[str, ...], max_depth: int
) -> tuple[str, str] | None:
    """The nearest folder at or above ``key`` holding one of ``names`` (a sidecar, ``bagit.txt``),
    as ``(folder, marker key)``; at most ``max_depth`` folders are probed with HEAD."""
    parts = key.split("/")
    if len(parts) > 1 and parts[-1] in names:
        return "/".join(parts[:-1]), key
    for depth in range(len(parts) - 1, max(0, len(parts) - 1 - max_depth), -1):
        folder = "/".join(parts[:depth])
        for name in names:
            if store.head(bucket, f"{folder}/{name}") is not None:
                return folder, f"{folder}/{name}"
    return None


def sidecar_target(store: ObjectStorage, bucket: str, key: str) -> SidecarTarget | None:
    """The sidecar-described folder ``key`` lies in: its own folder or an ancestor (bounded)."""
    found = marker_folder(store, bucket, key, SIDECAR_NAMES, MAX_SIDECAR_DEPTH)
    return None if found is None else SidecarTarget(bucket, *found)


def _text(store: ObjectStorage, bucket: str, key: str, max_bytes: int = MAX_METADATA_BYTES) -> str | None:
    try:
        return store.get_text(bucket, key, max_bytes)
    except UnicodeDecodeError as exc:
        raise LayoutError(f"s3://{bucket}/{key} is not UTF-8 text") from exc


def _json(store: ObjectStorage, bucket: str, key: str, max_bytes: int = MAX_METADATA_BYTES) -> Any:
    text = _text(store, bucket, key, max_bytes)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise LayoutError(f"s3://{bucket}/{key} is not JSON") from exc


def read_dtool(store: ObjectStorage, target: DtoolTarget, base_uri: str) -> Registration | None:
    """The registration of a frozen dtool dataset; ``None`` while it is a proto dataset or gone."""
    admin = _json(store, target.bucket, target.key("dtool"))
    if admin is None or not isinstance(admin, dict) or admin.get("type") != "dataset":
        return None
    manifest = _json(store, target.bucket, target.key("manifest.json"), MAX_MANIFEST_BYTES)
    if manifest is None:
        return None  # frozen admin metadata is written before the manifest on some paths: wait for it
    readme = _text(store, target.bucket, target.key("README.yml")) or ""
    tags = sorted(o.key.rsplit("/", 1)[-1] for o in store.list(target.bucket, target.key("tags/")))
    annotations: dict[str, Any] = {}
    for obj in _annotation_objects(store, target):
        name = obj.key.rsplit("/", 1)[-1].removesuffix(".json")
        annotations[name] = _json(store, target.bucket, obj.key, MAX_ANNOTATION_BYTES)
    body = {
        "uuid": admin.get("uuid", target.uuid),
        "base_uri": base_uri,
        "uri": target.uri,
        "name": admin.get("name"),
        "type": "dataset",
        "creator_username": admin.get("creator_username"),
        "frozen_at": admin.get("frozen_at"),
        "created_at": admin.get("created_at"),
        "readme": readme,
        "manifest": manifest,
        "annotations": annotations,
        "tags": tags,
    }
    if body["uuid"] != target.uuid:
        raise LayoutError(f"{target.uri}: admin metadata names uuid {body['uuid']}")
    try:
        return parse_registration(body, KIND_DTOOL)
    except ValidationError as exc:
        raise LayoutError(f"{target.uri}: {exc} ({exc.field})") from exc


def problem_placeholder(uuid: str, name: str, uri: str, base_uri: str, tags: tuple[str, ...] = ()) -> Registration:
    """A minimal registration naming an upload that could not be registered (for its status)."""
    content = DatasetContent(
        uuid=uuid, name=name[:256] or "unnamed", creator_username="unknown", created_at=0.0, frozen_at=0.0, tags=tags
    )
    return Registration(content=content, base_uri=base_uri, uri=uri)


def _annotation_objects(store: ObjectStorage, target: DtoolTarget) -> list[ObjectMeta]:
    """The dataset's annotation files, refused as a whole when there are too many or too many bytes."""
    found: list[ObjectMeta] = []
    total = 0
    for obj in store.list(target.bucket, target.key("annotations/")):
        found.append(obj)
        total += obj.size
        if len(found) > MAX_ANNOTATION_FILES:
            raise LayoutError(f"{target.uri}: more than {MAX_ANNOTATION_FILES} annotations")
        if total > MAX_ANNOTATION_BYTES:
            raise LayoutError(f"{target.uri}: annotations larger than {MAX_ANNOTATION_BYTES} bytes in all")
    return found


# The dataset's uuid is always a UUID-5 of the folder URI, so that the dataset can be found
# again when the sidecar is gone.
SIDECAR_FIELDS = {"name", "description", "creator", "creator_username", "tags", "readme", "annotations"}


def sidecar_uuid(uri: str) -> str:
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, uri))


def read_sidecar(store: ObjectStorage, target: SidecarTarget, base_uri: str) -> Registration | None:
    """A folder described by a sidecar; its manifest is the folder listing. ``None`` when gone."""
    text = _text(store, target.bucket, target.sidecar_key, MAX_SIDECAR_BYTES)  # TooLarge above the cap
    if text is None:
        return None
    if target.sidecar_key.endswith(".json"):
        try:
            meta = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise LayoutError(f"s3://{target.bucket}/{target.sidecar_key} is not JSON") from exc
    else:
        try:
            meta = load_yaml(text)  # parsed once: no second parse to name a syntax error
        except Exception as exc:
            raise LayoutError(f"s3://{target.bucket}/{target.sidecar_key} is not YAML (without aliases)") from exc
    if not isinstance(meta, dict):
        raise LayoutError(f"s3://{target.bucket}/{target.sidecar_key} must hold a mapping")
    items = [
        o
        for o in store.list(target.bucket, target.folder + "/")
        if o.key not in _sidecars(target.folder) and not o.key.endswith("/")  # folder markers
    ]
    annotations = dict(meta.get("annotations") or {}) if isinstance(meta.get("annotations", {}), dict) else {}
    annotations.update({k: v for k, v in meta.items() if k not in SIDECAR_FIELDS})
    stamps = [o.last_modified for o in items] or [store.head(target.bucket, target.sidecar_key).last_modified]  # type: ignore[union-attr]
    body = {
        "uuid": sidecar_uuid(target.uri),
        "base_uri": base_uri,
        "uri": target.uri,
        "name": meta.get("name") or target.folder.rsplit("/", 1)[-1],
        "creator_username": meta.get("creator_username") or meta.get("creator") or "unknown",
        "created_at": min(stamps),
        "frozen_at": max(stamps),
        "readme": meta.get("readme") or "",
        "manifest": _listing_manifest(target.folder, items),
        "annotations": annotations,
        "tags": meta.get("tags") or [],
    }
    if "description" in meta:  # absent: keep a description edited through the API
        body["description"] = meta["description"]
    try:
        return parse_registration(body, KIND_FOLDER)
    except ValidationError as exc:
        raise LayoutError(f"{target.uri}: {exc} ({exc.field})") from exc


def _sidecars(folder: str) -> set[str]:
    return {f"{folder}/{name}" for name in SIDECAR_NAMES}


def _listing_manifest(folder: str, items: list[ObjectMeta]) -> dict[str, Any]:
    with_checksum = bool(items) and all(o.checksum for o in items)
    return {
        "hash_function": "sha256-base64" if with_checksum else "s3-etag",
        "items": {
            # dtool's item id: sha1 of the relpath
            _item_id(o.key[len(folder) + 1 :]): {
                "relpath": o.key[len(folder) + 1 :],
                "size_in_bytes": o.size,
                "hash": o.checksum if with_checksum else o.etag,
                "utc_timestamp": o.last_modified,
            }
            for o in items
        },
    }


def _item_id(relpath: str) -> str:
    import hashlib

    return hashlib.sha1(relpath.encode()).hexdigest()
