"""Where a BagIt bag is in a bucket: a serialized bag is one object (``.zip``, ``.tar``,
``.tar.gz``/``.tgz``), a folder bag is the objects under the folder holding ``bagit.txt``."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.object_storage import ObjectStorage
from chalicelib.ingest.layouts import marker_folder

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
BAG_MARKER = "bagit.txt"
MAX_BAG_DEPTH = 6


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


def bag_target(store: ObjectStorage, bucket: str, key: str) -> BagTarget | None:
    """The bag ``key`` belongs to: a serialized bag itself, or a folder with ``bagit.txt`` at or above it."""
    if key.lower().endswith(ARCHIVE_SUFFIXES):
        return BagTarget(bucket, key, serialized=True)
    found = marker_folder(store, bucket, key, (BAG_MARKER,), MAX_BAG_DEPTH)
    return None if found is None else BagTarget(bucket, found[0], serialized=False)
