"""The object-store port the ingest code reads S3 through, with its S3 adapter and a fake."""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ObjectMeta:
    key: str
    size: int
    etag: str
    last_modified: float
    checksum: str = ""  # the S3 SHA-256 checksum when the uploader sent one


class TooLarge(Exception):
    """An object is larger than the caller is willing to read into memory."""


class ObjectStore(ABC):
    """Read-only access to a bucket.

    ``head`` MUST return ``None`` for a missing object (never raise). ``get_bytes`` MUST
    raise :class:`TooLarge` rather than read more than ``max_bytes``. ``list`` MUST return
    every object under the prefix (following pagination) whose key sorts after
    ``start_after``, in key order.
    """

    @abstractmethod
    def head(self, bucket: str, key: str) -> ObjectMeta | None: ...

    @abstractmethod
    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        """The object's bytes, or ``None`` when it does not exist."""

    @abstractmethod
    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]: ...

    @abstractmethod
    def list(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[ObjectMeta]: ...

    def get_text(self, bucket: str, key: str, max_bytes: int) -> str | None:
        data = self.get_bytes(bucket, key, max_bytes)
        return None if data is None else data.decode("utf-8")


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class S3ObjectStore(ObjectStore):
    def __init__(self, client: Any) -> None:
        self._client = client

    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        try:
            r = self._client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return ObjectMeta(
            key=key,
            size=int(r.get("ContentLength", 0)),
            etag=str(r.get("ETag", "")).strip('"'),
            last_modified=r["LastModified"].timestamp(),
            checksum=str(r.get("ChecksumSHA256", "") or ""),
        )

    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        try:
            r = self._client.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        if int(r.get("ContentLength", 0)) > max_bytes:
            r["Body"].close()
            raise TooLarge(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
        data: bytes = r["Body"].read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
        return data

    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def list(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[ObjectMeta]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, StartAfter=start_after):
            for obj in page.get("Contents", []):
                yield ObjectMeta(
                    key=obj["Key"],
                    size=int(obj.get("Size", 0)),
                    etag=str(obj.get("ETag", "")).strip('"'),
                    last_modified=obj["LastModified"].timestamp(),
                )


class InMemoryObjectStore(ObjectStore):
    """A bucket → key → bytes fake for unit tests."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, tuple[bytes, float]]] = {}

    def put(self, bucket: str, key: str, data: bytes | str, mtime: float = 1.7e9) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self.objects.setdefault(bucket, {})[key] = (raw, mtime)

    def delete(self, bucket: str, key: str) -> None:
        self.objects.get(bucket, {}).pop(key, None)

    def _meta(self, key: str, data: bytes, mtime: float) -> ObjectMeta:
        import hashlib

        return ObjectMeta(key=key, size=len(data), etag=hashlib.md5(data).hexdigest(), last_modified=mtime)

    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        found = self.objects.get(bucket, {}).get(key)
        return None if found is None else self._meta(key, *found)

    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        found = self.objects.get(bucket, {}).get(key)
        if found is None:
            return None
        if len(found[0]) > max_bytes:
            raise TooLarge(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
        return found[0]

    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        data = self.objects[bucket][key][0]
        for i in range(0, len(data), CHUNK):
            yield data[i : i + CHUNK]

    def list(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[ObjectMeta]:
        for key, (data, mtime) in sorted(self.objects.get(bucket, {}).items()):
            if key.startswith(prefix) and key > start_after:
                yield self._meta(key, data, mtime)


class SnapshotStore(ObjectStore):
    """A store that answers ``head`` and ``list`` from one listing already made (bulk index).

    ``objects`` is a contiguous run of a key-ordered listing of ``bucket``: every object
    whose key lies in ``[low, high)`` (``high`` ``None`` = no upper end). ``head`` and
    ``list`` inside that range are answered from it; anything outside, other buckets and
    all reads of bytes go to ``store``. The snapshot may be stale by the time it is used,
    as any listing is: a read of an object deleted since returns ``None``, as it would
    with an event for it.
    """

    def __init__(self, store: ObjectStore, bucket: str, objects: list[ObjectMeta], low: str, high: str | None) -> None:
        self._store = store
        self._bucket = bucket
        self.objects = objects
        self._keys = [o.key for o in objects]
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
        return self.objects[i] if i < len(self._keys) and self._keys[i] == key else None

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
            yield self.objects[i]

    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        return self._store.get_bytes(bucket, key, max_bytes)

    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        return self._store.iter_chunks(bucket, key)


def prefix_end(prefix: str) -> str | None:
    """The least key greater than every key that starts with ``prefix`` (``None``: no such key)."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    return stripped[:-1] + chr(ord(stripped[-1]) + 1)
