"""An in-memory :class:`~chalicelib.archive.writer.ArchiveWriter` for tests and local runs.

Production code never imports this module: it is the only one under ``chalicelib/archive``
that uses :class:`~chalicelib.ingest.objects.InMemoryObjectStore`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from chalicelib.archive.writer import ArchiveWriter, SourceChanged, _check_prefix
from chalicelib.ingest.objects import InMemoryObjectStore


class InMemoryArchiveWriter(ArchiveWriter):
    """Writes into an :class:`InMemoryObjectStore` (whose ETag is the md5 of the bytes)."""

    def __init__(self, store: InMemoryObjectStore) -> None:
        self.store = store

    def put(self, bucket: str, key: str, data: bytes) -> str:
        self.store.put(bucket, key, bytes(data))
        return hashlib.md5(data).hexdigest()

    def put_file(self, bucket: str, key: str, path: Path) -> str:
        return self.put(bucket, key, path.read_bytes())

    def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *, if_match: str, cold: bool = False
    ) -> None:
        found = self.store.objects.get(src_bucket, {}).get(src_key)
        if found is None or hashlib.md5(found[0]).hexdigest() != if_match.strip('"'):
            self.store.delete(dst_bucket, dst_key)
            raise SourceChanged(f"s3://{src_bucket}/{src_key} changed or vanished (expected ETag {if_match})")
        self.store.put(dst_bucket, dst_key, found[0])

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        _check_prefix(prefix)
        keys = [key for key in self.store.objects.get(bucket, {}) if key.startswith(prefix)]
        for key in keys:
            self.store.delete(bucket, key)
        return len(keys)
