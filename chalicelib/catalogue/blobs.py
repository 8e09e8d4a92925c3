"""Texts too large to live inside a DynamoDB item (400 KB cap): READMEs, manifests and
annotations kept as content-addressed objects in the catalogue bucket."""

from __future__ import annotations

import hashlib

from chalicelib.adapters.object_storage import ObjectNotFound, ObjectStorage

# Larger than any text the catalogue keeps (a manifest read at ingest is at most 256 MiB):
# a guard against reading something else whole into memory.
MAX_BLOB_BYTES = 1024 * 1024 * 1024


def blob_key(prefix: str, text: str) -> str:
    return f"{prefix}/{hashlib.sha256(text.encode()).hexdigest()}"


class BlobStore:
    """Content-addressed text blobs in ``bucket`` of ``storage``.

    ``put`` is idempotent and returns a key derived from the content (``<prefix>/<sha256>``),
    so a pointer written after ``put`` never dangles and never changes meaning. ``get`` of a
    key that ``put`` returned gives the same text; ``get`` and ``size`` of any other key
    raise :class:`~chalicelib.adapters.object_storage.ObjectNotFound`.
    """

    def __init__(self, storage: ObjectStorage, bucket: str) -> None:
        self._storage = storage
        self._bucket = bucket

    def put(self, prefix: str, text: str) -> str:
        key = blob_key(prefix, text)
        self._storage.put(self._bucket, key, text.encode(), content_type="text/plain")
        return key

    def get(self, key: str) -> str:
        text = self._storage.get_text(self._bucket, key, MAX_BLOB_BYTES)
        if text is None:
            raise ObjectNotFound(f"blob {key} is not in s3://{self._bucket}")
        return text

    def size(self, key: str) -> int:
        meta = self._storage.head(self._bucket, key)
        if meta is None:
            raise ObjectNotFound(f"blob {key} is not in s3://{self._bucket}")
        return meta.size

    def link(self, key: str, expires_in: int = 300) -> str:
        """A URL a client can fetch the blob from directly (presigned in S3)."""
        return self._storage.link(self._bucket, key, expires_in)
