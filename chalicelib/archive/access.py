"""Access to stored AIPs and deposit uploads: the S3 port (presigned links, restores)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Objects in these storage classes must be restored before they can be read.
NEEDS_RESTORE = frozenset({"GLACIER", "DEEP_ARCHIVE"})


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    storage_class: str = "STANDARD"
    # for NEEDS_RESTORE classes: "none" (not requested), "ongoing", "done"
    restore: str = "none"

    @property
    def readable(self) -> bool:
        return self.storage_class not in NEEDS_RESTORE or self.restore == "done"


class ObjectAccess(ABC):
    """Links and restores.

    - ``objects`` MUST list every object under the prefix in key order, with its storage
      class and, for archive classes, its restore state (one HEAD per such object).
    - ``link`` / ``upload_link`` return presigned URLs valid ``expires`` seconds.
    - ``restore`` MUST be idempotent: asking again while a restore is ongoing is not an error.
    """

    @abstractmethod
    def objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]: ...

    @abstractmethod
    def link(self, bucket: str, key: str, expires: int) -> str: ...

    @abstractmethod
    def upload_link(self, bucket: str, key: str, expires: int) -> str: ...

    @abstractmethod
    def restore(self, bucket: str, key: str, days: int, tier: str) -> None: ...


class S3ObjectAccess(ObjectAccess):
    def __init__(self, client: Any) -> None:
        self._client = client

    def objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                storage_class = str(obj.get("StorageClass", "STANDARD"))
                restore = "none"
                if storage_class in NEEDS_RESTORE:
                    header = str(self._client.head_object(Bucket=bucket, Key=obj["Key"]).get("Restore", ""))
                    restore = "ongoing" if 'ongoing-request="true"' in header else ("done" if header else "none")
                yield StoredObject(obj["Key"], int(obj.get("Size", 0)), storage_class, restore)

    def link(self, bucket: str, key: str, expires: int) -> str:
        params = {"Bucket": bucket, "Key": key}
        return str(self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))

    def upload_link(self, bucket: str, key: str, expires: int) -> str:
        params = {"Bucket": bucket, "Key": key}
        return str(self._client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires))

    def restore(self, bucket: str, key: str, days: int, tier: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self._client.restore_object(
                Bucket=bucket, Key=key, RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}}
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "RestoreAlreadyInProgress":
                raise


class InMemoryObjectAccess(ObjectAccess):
    """Objects declared by the test; links are fake URLs; restores are recorded."""

    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], StoredObject] = {}
        self.restores: list[tuple[str, str, int, str]] = []

    def objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        for (b, key), obj in sorted(self.stored.items()):
            if b == bucket and key.startswith(prefix):
                yield obj

    def link(self, bucket: str, key: str, expires: int) -> str:
        return f"https://{bucket}.example/{key}?get&expires={expires}"

    def upload_link(self, bucket: str, key: str, expires: int) -> str:
        return f"https://{bucket}.example/{key}?put&expires={expires}"

    def restore(self, bucket: str, key: str, days: int, tier: str) -> None:
        self.restores.append((bucket, key, days, tier))
        obj = self.stored[(bucket, key)]
        self.stored[(bucket, key)] = StoredObject(obj.key, obj.size, obj.storage_class, "ongoing")
