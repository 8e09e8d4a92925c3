"""BagIt bags uploaded to S3, serialized (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``) or as a
folder under a prefix, turned into registrations. The safety checks are
:mod:`chalicelib.ingest.bags`; this module moves bytes between S3 and them.

Serialized bags are streamed to a private staging folder under the Lambda ``/tmp`` (its
size is the budget: :attr:`BagLimits.max_total_bytes`), extracted and validated there,
then deleted. Folder bags are checked from the listing, and every payload file's fixity is
streamed from S3 (never held in memory).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
import uuid as uuidlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from chalicelib.domain import DatasetContent, Manifest
from chalicelib.errors import ValidationError
from chalicelib.ingest.bags import (
    BagInfo,
    BagLimits,
    BagRefused,
    check_folder_bag,
    extract_serialized,
    validate_extracted_bag,
    verify_fixity,
)
from chalicelib.ingest.layouts import LayoutError, marker_folder, problem_placeholder
from chalicelib.ingest.objects import ObjectStore
from chalicelib.validation import Registration, parse_registration

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
BAG_MARKER = "bagit.txt"
MAX_BAG_DEPTH = 6
UUID_IN_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class BagTarget:
    bucket: str
    key: str  # the archive key, or the folder (no trailing slash) holding bagit.txt
    serialized: bool

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def name(self) -> str:
        leaf = self.key.rsplit("/", 1)[-1]
        for suffix in ARCHIVE_SUFFIXES:
            leaf = leaf.removesuffix(suffix)
        return leaf or self.bucket


def bag_uuid(uri: str) -> str:
    return str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, uri))


def bag_target(store: ObjectStore, bucket: str, key: str) -> BagTarget | None:
    """The bag ``key`` belongs to: a serialized bag itself, or a folder with ``bagit.txt`` at or above it."""
    if key.lower().endswith(ARCHIVE_SUFFIXES):
        return BagTarget(bucket, key, serialized=True)
    found = marker_folder(store, bucket, key, (BAG_MARKER,), MAX_BAG_DEPTH)
    return None if found is None else BagTarget(bucket, found[0], serialized=False)


def placeholder(target: BagTarget, base_uri: str) -> Registration:
    """A minimal registration naming an upload that could not be registered (for its status)."""
    reg = problem_placeholder(bag_uuid(target.uri), target.name, target.uri, base_uri, ("bagit",))
    return replace(reg, content=replace(reg.content, manifest=Manifest(hash_function="sha256")))


def read_serialized_bag(
    store: ObjectStore, target: BagTarget, base_uri: str, limits: BagLimits, tmp_root: str | None = None
) -> Registration | None:
    """Download, extract and fully validate a serialized bag; ``None`` when the object is gone.

    Raises BagRefused for anything hostile, malformed or over the limits.
    """
    with extracted_bag(store, target, limits, tmp_root) as found:
        if found is None:
            return None
        _, info, last_modified = found
    return _registration(info, target, base_uri, last_modified)


@contextlib.contextmanager
def extracted_bag(
    store: ObjectStore, target: BagTarget, limits: BagLimits, tmp_root: str | None = None
) -> Iterator[tuple[Path, BagInfo, float] | None]:
    """A serialized bag streamed to a private staging folder, extracted and fully validated:
    ``(bag folder, bag info, the object's last modified time)``, or ``None`` when the object
    is gone. The folder is deleted on exit. Raises BagRefused (hostile, malformed, too big)."""
    meta = store.head(target.bucket, target.key)
    if meta is None:
        yield None
        return
    if meta.size > limits.max_total_bytes:
        raise BagRefused([f"{target.uri} is {meta.size} bytes, over the {limits.max_total_bytes} byte limit"])
    stage = Path(tempfile.mkdtemp(prefix="bag-", dir=tmp_root))
    try:
        archive = stage / "archive"
        written = 0
        with archive.open("wb") as out:
            for chunk in store.iter_chunks(target.bucket, target.key):
                written += len(chunk)
                if written > limits.max_total_bytes:
                    raise BagRefused([f"{target.uri} grew past the {limits.max_total_bytes} byte limit"])
                out.write(chunk)
        dest = stage / "bag"
        dest.mkdir()
        bag_dir = extract_serialized(archive, dest, limits)
        archive.unlink()  # the budget: the archive and its extraction are never both kept longer than needed
        info = validate_extracted_bag(bag_dir, limits, bag_name=target.name)
        yield bag_dir, info, meta.last_modified
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def read_folder_bag(
    store: ObjectStore,
    target: BagTarget,
    base_uri: str,
    limits: BagLimits,
    registered: Callable[[Registration], bool] | None = None,
) -> Registration | None:
    """Check a folder bag from its listing and stream every item's fixity from S3.

    Raises BagIncomplete while files are missing, BagRefused for anything hostile or
    broken; ``None`` when ``bagit.txt`` is gone. When ``registered(registration)`` says
    the catalogue holds exactly this registration already, fixity is not checked again:
    its ``frozen_at`` is the newest object's time, so no object has changed since.
    """
    prefix = target.key + "/"
    listing: dict[str, int] = {}
    stamps: list[float] = []
    for obj in store.list(target.bucket, prefix):
        if not obj.key.endswith("/"):
            listing[obj.key[len(prefix) :]] = obj.size
            stamps.append(obj.last_modified)
    if BAG_MARKER not in listing:
        return None

    def read_text(path: str) -> str:
        data = store.get_bytes(target.bucket, prefix + path, limits.max_manifest_bytes)
        if data is None:
            raise BagRefused([f"{path} vanished while the bag was read"])
        return data.decode("utf-8")

    try:
        info = check_folder_bag(listing, read_text, limits, bag_name=target.name)
    except UnicodeDecodeError as exc:
        raise BagRefused([f"a tag file is not UTF-8: {exc}"]) from exc
    registration = _registration(info, target, base_uri, max(stamps))
    if registered is not None and registered(registration):
        return registration
    for item in info.items:
        verify_fixity(item, store.iter_chunks(target.bucket, prefix + item.relpath))
    return registration


def _registration(info: BagInfo, target: BagTarget, base_uri: str, frozen_at: float) -> Registration:
    found = UUID_IN_TEXT.search(info.external_identifier or "")
    uuid = found.group(0).lower() if found else bag_uuid(target.uri)
    algorithm = "sha512" if all(i.sha512 for i in info.items) and not all(i.sha256 for i in info.items) else "sha256"
    items: dict[str, Any] = {
        hashlib.sha1(i.relpath.encode()).hexdigest(): {
            "relpath": i.relpath,
            "size_in_bytes": i.size,
            "hash": (i.sha512 if algorithm == "sha512" else i.sha256) or "",
            "utc_timestamp": frozen_at,
        }
        for i in info.items
    }
    body = {
        "uuid": uuid,
        "base_uri": base_uri,
        "uri": target.uri,
        "name": (info.title or target.name)[:256],
        "creator_username": (info.contact or "unknown")[:256],
        "frozen_at": frozen_at,
        "created_at": _date(info.bagging_date) or frozen_at,
        "readme": yaml.safe_dump(info.raw, allow_unicode=True, sort_keys=False),
        "description": (info.description or "")[:4096],
        "manifest": {"hash_function": algorithm, "items": items},
        "annotations": {"bag-info": info.raw, "payload-oxum": list(info.payload_oxum or ())},
        "tags": ["bagit"],
    }
    try:
        return parse_registration(body)
    except ValidationError as exc:
        raise LayoutError(f"{target.uri}: {exc} ({exc.field})") from exc


def _date(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip()[:10], "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def keep_times(registration: Registration, stored: DatasetContent) -> Registration:
    """``registration`` with the stored record's times when nothing but times differ.

    A bag's times come from S3 (when its objects were written), so uploading the same bag
    again would otherwise be a new version of the dataset (and a new archive of a deposit).
    """
    new = registration.content

    def untimed(c: DatasetContent) -> DatasetContent:
        items = {k: replace(v, utc_timestamp=0.0) for k, v in c.manifest.items.items()}
        return replace(c, created_at=0.0, frozen_at=0.0, manifest=replace(c.manifest, items=items))

    if untimed(new) != untimed(stored):
        return registration
    return replace(registration, content=stored)
