"""Reading BagIt bags from S3 into registrations; the checks themselves are the other
modules of :mod:`chalicelib.ingest.bags`, this module moves bytes between S3 and them.

Serialized bags are streamed to a private staging folder under the Lambda ``/tmp`` (its
size is the budget: :attr:`BagLimits.max_total_bytes`), extracted and validated there,
then deleted. Folder bags are checked from the listing, and every payload file's fixity is
streamed from S3 (never held in memory).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from chalicelib.adapters.object_storage import ObjectStorage
from chalicelib.catalogue.validation import Registration
from chalicelib.ingest.bags.bag_info import BagInfo
from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.limits import BagLimits
from chalicelib.ingest.bags.listing import check_folder_bag, verify_fixity
from chalicelib.ingest.bags.on_disk import validate_extracted_bag
from chalicelib.ingest.bags.registration import bag_registration
from chalicelib.ingest.bags.serialized import extract_serialized
from chalicelib.ingest.bags.targets import BAG_MARKER, BagTarget


def read_serialized_bag(
    store: ObjectStorage, target: BagTarget, base_uri: str, limits: BagLimits, tmp_root: str | None = None
) -> Registration | None:
    """Download, extract and fully validate a serialized bag; ``None`` when the object is gone.

    Raises BagRefused for anything hostile, malformed or over the limits.
    """
    with extracted_bag(store, target, limits, tmp_root) as found:
        if found is None:
            return None
        _, info, last_modified = found
    return bag_registration(info, target, base_uri, last_modified)


@contextlib.contextmanager
def extracted_bag(
    store: ObjectStorage, target: BagTarget, limits: BagLimits, tmp_root: str | None = None
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
    store: ObjectStorage,
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
    registration = bag_registration(info, target, base_uri, max(stamps))
    if registered is not None and registered(registration):
        return registration
    for item in info.items:
        verify_fixity(item, store.iter_chunks(target.bucket, prefix + item.relpath))
    return registration
