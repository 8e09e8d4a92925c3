"""S3 adapter for READMEs and manifests too large to live inside a DynamoDB item (400 KB cap)."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from typing import Any


class BlobStore(ABC):
    """Content-addressed text blobs.

    ``put`` MUST be idempotent and return a key derived from the content, so a pointer
    written after ``put`` never dangles and never changes meaning. ``get`` of a key that
    was returned by ``put`` MUST return the same text.
    """

    @abstractmethod
    def put(self, prefix: str, text: str) -> str: ...

    @abstractmethod
    def get(self, key: str) -> str: ...

    @abstractmethod
    def size(self, key: str) -> int: ...

    @abstractmethod
    def link(self, key: str, expires_in: int = 300) -> str:
        """A URL a client can fetch the blob from directly (presigned in S3)."""


def blob_key(prefix: str, text: str) -> str:
    return f"{prefix}/{hashlib.sha256(text.encode()).hexdigest()}"


class S3BlobStore(BlobStore):
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, prefix: str, text: str) -> str:
        key = blob_key(prefix, text)
        self._client.put_object(Bucket=self._bucket, Key=key, Body=text.encode(), ContentType="text/plain")
        return key

    def get(self, key: str) -> str:
        body = self._client.get_object(Bucket=self._bucket, Key=key)["Body"]
        return str(body.read().decode())

    def size(self, key: str) -> int:
        return int(self._client.head_object(Bucket=self._bucket, Key=key)["ContentLength"])

    def link(self, key: str, expires_in: int = 300) -> str:
        return str(
            self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
            )
        )


class InMemoryBlobStore(BlobStore):
    def __init__(self) -> None:
        self.blobs: dict[str, str] = {}

    def put(self, prefix: str, text: str) -> str:
        key = blob_key(prefix, text)
        self.blobs[key] = text
        return key

    def get(self, key: str) -> str:
        return self.blobs[key]

    def size(self, key: str) -> int:
        return len(self.blobs[key].encode())

    def link(self, key: str, expires_in: int = 300) -> str:
        return f"memory://blobs/{key}"
