"""A listing already made, standing in for the bucket's ``head`` and ``list`` (bulk index)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from pathlib import Path

from chalicelib.adapters.object_storage import ObjectMeta, ObjectStorage, StoredObject, UploadForm


class SnapshotStore(ObjectStorage):
    """Storage that answers ``head`` and ``list`` from one listing already made (bulk index).

    ``listed`` is a contiguous run of a key-ordered listing of ``bucket``: every object
    whose key lies in ``[low, high)`` (``high`` ``None`` = no upper end). ``head`` and
    ``list`` inside that range are answered from it; anything outside, other buckets, all
    reads of bytes and every other operation go to ``store`` (a write does not change the
    snapshot). The snapshot may be stale by the time it is used, as any listing is: a read
    of an object deleted since returns ``None``, as it would with an event for it.
    """

    def __init__(self, store: ObjectStorage, bucket: str, listed: list[ObjectMeta], low: str, high: str | None) -> None:
        self._store = store
        self._bucket = bucket
        self.listed = listed
        self._keys = [o.key for o in listed]
        self._low = low
        self._high = high

    def _covers(self, first: str, last: str | None) -> bool:
        """Whether every key in ``[first, last)`` lies in the snapshot's range."""
        if first < self._low:
            return False
        if self._high is None:
            return True
        return last is not None and last <= self._high

    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        if bucket != self._bucket or not self._covers(key, key + "\0"):
            return self._store.head(bucket, key)
        i = bisect.bisect_left(self._keys, key)
        return self.listed[i] if i < len(self._keys) and self._keys[i] == key else None

    def list(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[ObjectMeta]:
        if bucket != self._bucket or not self._covers(prefix, prefix_end(prefix)):
            yield from self._store.list(bucket, prefix, start_after)
            return
        if start_after >= prefix:
            first = bisect.bisect_right(self._keys, start_after)
        else:
            first = bisect.bisect_left(self._keys, prefix)
        for i in range(first, len(self._keys)):
            if not self._keys[i].startswith(prefix):
                return
            yield self.listed[i]

    # -- everything else: the store -------------------------------------------------------------
    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        return self._store.get_bytes(bucket, key, max_bytes)

    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        return self._store.iter_chunks(bucket, key)

    def objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        return self._store.objects(bucket, prefix)

    def link(self, bucket: str, key: str, expires: int) -> str:
        return self._store.link(bucket, key, expires)

    def download_link(self, bucket: str, key: str, expires: int, filename: str) -> str:
        return self._store.download_link(bucket, key, expires, filename)

    def upload_link(self, bucket: str, key: str, expires: int) -> str:
        return self._store.upload_link(bucket, key, expires)

    def upload_form(self, bucket: str, prefix: str, expires: int, max_bytes: int) -> UploadForm:
        return self._store.upload_form(bucket, prefix, expires, max_bytes)

    def restore(self, bucket: str, key: str, days: int, tier: str) -> None:
        self._store.restore(bucket, key, days, tier)

    def put(self, bucket: str, key: str, data: bytes, *, content_type: str | None = None) -> str:
        return self._store.put(bucket, key, data, content_type=content_type)

    def put_file(self, bucket: str, key: str, path: Path) -> str:
        return self._store.put_file(bucket, key, path)

    def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *, if_match: str, cold: bool = False
    ) -> None:
        self._store.copy(src_bucket, src_key, dst_bucket, dst_key, if_match=if_match, cold=cold)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        return self._store.delete_prefix(bucket, prefix)


def prefix_end(prefix: str) -> str | None:
    """The least key greater than every key that starts with ``prefix`` (``None``: no such key)."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)
