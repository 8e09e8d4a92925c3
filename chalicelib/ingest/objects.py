"""The object-store port the ingest code reads S3 through, with its S3 adapter and a fake."""

from __future__ import annotations

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
    every object under the prefix (following pagination), in key order.
    """

    @abstractmethod
    def head(self, bucket: str, key: str) -> ObjectMeta | None: ...

    @abstractmethod
    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        """The object's bytes, or ``None`` when it does not exist."""

    @abstractmethod
    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]: ...

    @abstractmethod
    def list(self, bucket: str, prefix: str) -> Iterator[ObjectMeta]: ...

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

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectMeta]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
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

    def list(self, bucket: str, prefix: str) -> Iterator[ObjectMeta]:
        for key, (data, mtime) in sorted(self.objects.get(bucket, {}).items()):
            if key.startswith(prefix):
                yield self._meta(key, data, mtime)
