"""Where a registered dataset's files are, layout by layout (framework-free).

The catalogue's manifest names every item (relpath, size, digest); the layout of the
replica the archive is taken from says under which key each item is stored:

* dtool (``s3://bucket/<uuid>``): ``<prefix><uuid>/data/<item id>``, the prefix read from
  ``dtool-<uuid>`` at the bucket root; digests are md5 (``md5sum_hexdigest``);
* folder bag (tagged ``bagit``): ``<folder>/<relpath>`` with relpaths under ``data/``; the
  bag's sha256/sha512; the archive's payload path drops the leading ``data/``;
* sidecar folder: ``<folder>/<relpath>``; digests are S3 ETags or S3 SHA-256 checksums.

Serialized bags (``.zip``, ``.tar``…) are not read here: their payload is inside one
object (see :mod:`chalicelib.archive.worker`).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.object_storage import ObjectStorage
from chalicelib.domain import Dataset
from chalicelib.ingest.bags.targets import ARCHIVE_SUFFIXES


@dataclass(frozen=True)
class Entry:
    """One item of a SIP: where it is, what the catalogue's manifest says of it."""

    relpath: str
    bucket: str
    key: str
    size: int
    algorithm: str
    digest: str


class UnsupportedSource(Exception):
    """The replica's layout cannot be archived from (the reason is the message)."""


def split_s3(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise UnsupportedSource(f"{uri} is not in S3")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def is_serialized(uri: str) -> bool:
    return uri.lower().endswith(ARCHIVE_SUFFIXES)


def sip_entries(store: ObjectStorage, dataset: Dataset, replica_uri: str) -> list[Entry]:
    bucket, path = split_s3(replica_uri)
    if is_serialized(replica_uri):
        raise UnsupportedSource(f"{replica_uri} is a serialized bag: its payload is read from the archive file")
    manifest = dataset.content.manifest
    algorithm = manifest.hash_function
    if path == dataset.uuid and algorithm == "md5sum_hexdigest":
        prefix = (store.get_text(bucket, f"dtool-{dataset.uuid}", 4096) or "").strip()
        data = f"{prefix}{dataset.uuid}/data/"
        return [
            Entry(item.relpath, bucket, data + item_id, item.size_in_bytes, algorithm, item.hash)
            for item_id, item in sorted(manifest.items.items(), key=lambda kv: kv[1].relpath)
        ]
    bag = "bagit" in dataset.content.tags and algorithm in ("sha256", "sha512")
    entries = []
    for item in sorted(manifest.items.values(), key=lambda i: i.relpath):
        relpath = item.relpath.removeprefix("data/") if bag else item.relpath
        entries.append(Entry(relpath, bucket, f"{path}/{item.relpath}", item.size_in_bytes, algorithm, item.hash))
    return entries
