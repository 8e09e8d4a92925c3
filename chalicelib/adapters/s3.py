"""S3 behind the :class:`~chalicelib.adapters.object_storage.ObjectStorage` port.

The only module that talks to S3 and the only one that knows S3's error codes: a missing
object becomes ``None`` or :class:`ObjectNotFound`, a failed ``If-Match`` becomes
:class:`SourceChanged`, ``InvalidObjectState`` / ``ObjectNotInActiveTierError`` become
:class:`NeedsRestore`, ``RestoreAlreadyInProgress`` is success, and throttling, 5xx and
network failures become :class:`~chalicelib.adapters.errors.TransientError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import TRANSIENT_CODES, error_code, transient_as
from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.object_storage import (
    CHUNK,
    COLD_TAG,
    NEEDS_RESTORE,
    RESTORE_DONE,
    RESTORE_NONE,
    RESTORE_ONGOING,
    BucketNotFound,
    NeedsRestore,
    ObjectMeta,
    ObjectNotFound,
    ObjectStorage,
    SourceChanged,
    StoredObject,
    TooLarge,
    UploadForm,
    attachment,
    check_prefix,
)

MAX_PAGE_SIZE = 1000  # S3: at most 1000 keys per ListObjectsV2 page and per DeleteObjects call
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


@contextmanager
def _bucket_named(bucket: str) -> Iterator[None]:
    """S3's NoSuchBucket inside the block as :class:`BucketNotFound` (an AWS code never leaves)."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) == "NoSuchBucket":
            raise BucketNotFound(f"s3://{bucket}") from exc
        raise


_PRECONDITION_CODES = frozenset({"412", "PreconditionFailed"})
# GetObject of an archived object answers InvalidObjectState, CopyObject ObjectNotInActiveTierError
_NOT_RESTORED_CODES = frozenset({"InvalidObjectState", "ObjectNotInActiveTierError"})


def _quoted(etag: str) -> str:
    return '"' + etag.strip('"') + '"'


def _etag(response: dict[str, Any]) -> str:
    return str(response.get("ETag", "")).strip('"')


class S3ObjectStorage(ObjectStorage):
    """S3 through an injected boto3 client.

    ``put`` and ``put_file`` write STANDARD (staging, blobs, reports); ``copy`` writes
    ``storage_class`` (it creates the AIP's objects). GLACIER and DEEP_ARCHIVE are refused:
    their objects cannot be read back without a restore, so the verify step and fixity
    audits could not run; transition them with a lifecycle rule after verification
    instead (GLACIER_IR is fine).

    ``copy`` uses boto3's managed copy (CopyObject below ``transfer_config``'s multipart
    threshold, UploadPartCopy above it, which handles objects over 5 GB). boto3 HEADs the
    source with ``If-Match`` and sends ``CopySourceIfMatch`` on CopyObject and on every
    UploadPartCopy; S3 enforces it on each request. moto 5.2.5 honours only the HEAD's
    ``If-Match``, so a change between that HEAD and the copy would go unnoticed there:
    with ``recheck_source`` (the default) the source is HEADed again after the copy and
    a changed source deletes the destination and raises :class:`SourceChanged`.

    ``transfer_config`` (a ``boto3.s3.transfer.TransferConfig``) also applies to
    ``put_file``; ``page_size`` is the number of keys per listing request (tests use a
    small one to exercise pagination).
    """

    def __init__(
        self,
        client: Any,
        storage_class: str = "STANDARD",
        *,
        transfer_config: Any = None,
        recheck_source: bool = True,
        page_size: int = MAX_PAGE_SIZE,
    ) -> None:
        if storage_class in NEEDS_RESTORE:
            raise ValueError(
                f"storage class {storage_class} needs a restore before any read: "
                "store as STANDARD/STANDARD_IA/GLACIER_IR and transition with a lifecycle rule"
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size {page_size} is not between 1 and {MAX_PAGE_SIZE}")
        self._client = client
        self._storage_class = storage_class
        self._config = transfer_config
        self._recheck = recheck_source
        self._page_size = page_size

    # -- reading ---------------------------------------------------------------------------
    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        try:
            with transient_as(f"head s3://{bucket}/{key}"):
                r = self._client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                return None
            raise
        return ObjectMeta(
            key=key,
            size=int(r.get("ContentLength", 0)),
            etag=_etag(r),
            last_modified=r["LastModified"].timestamp(),
            checksum=str(r.get("ChecksumSHA256", "") or ""),
        )

    def _get(self, bucket: str, key: str) -> dict[str, Any] | None:
        """GetObject's response (the body not read yet), or ``None`` for a missing object."""
        try:
            with transient_as(f"get s3://{bucket}/{key}"):
                response: dict[str, Any] = self._client.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            code = error_code(exc)
            if code in _MISSING_CODES:
                return None
            if code in _NOT_RESTORED_CODES:
                raise NeedsRestore(f"s3://{bucket}/{key} needs a restore before it can be read") from exc
            raise
        return response

    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        response = self._get(bucket, key)
        if response is None:
            return None
        body = response["Body"]
        with contextlib.closing(body):
            if int(response.get("ContentLength", 0)) > max_bytes:
                raise TooLarge(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
            with transient_as(f"read s3://{bucket}/{key}"):
                data: bytes = body.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(f"s3://{bucket}/{key} is larger than {max_bytes} bytes")
        return data

    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        response = self._get(bucket, key)
        if response is None:
            raise ObjectNotFound(f"s3://{bucket}/{key}")
        body = response["Body"]
        try:
            with transient_as(f"read s3://{bucket}/{key}"):
                yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def _pages(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("list_objects_v2")
        config = {"PageSize": self._page_size}
        yield from paginator.paginate(Bucket=bucket, Prefix=prefix, StartAfter=start_after, PaginationConfig=config)

    def list(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[ObjectMeta]:
        with transient_as(f"list s3://{bucket}/{prefix}"), _bucket_named(bucket):
            for page in self._pages(bucket, prefix, start_after):
                for obj in page.get("Contents", []):
                    yield ObjectMeta(
                        key=obj["Key"],
                        size=int(obj.get("Size", 0)),
                        etag=_etag(obj),
                        last_modified=obj["LastModified"].timestamp(),
                    )

    def objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        with transient_as(f"list s3://{bucket}/{prefix}"):
            for page in self._pages(bucket, prefix):
                for obj in page.get("Contents", []):
                    storage_class = str(obj.get("StorageClass", "STANDARD"))
                    restore = RESTORE_NONE
                    if storage_class in NEEDS_RESTORE:  # only HEAD tells the restore state
                        found = self._restore_state(bucket, obj["Key"])
                        if found is None:
                            continue  # deleted since it was listed
                        restore = found
                    yield StoredObject(obj["Key"], int(obj.get("Size", 0)), storage_class, restore)

    def _restore_state(self, bucket: str, key: str) -> str | None:
        try:
            header = str(self._client.head_object(Bucket=bucket, Key=key).get("Restore", ""))
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                return None
            raise
        if 'ongoing-request="true"' in header:
            return RESTORE_ONGOING
        return RESTORE_DONE if header else RESTORE_NONE

    # -- links and restores ------------------------------------------------------------------
    def link(self, bucket: str, key: str, expires: int) -> str:
        params = {"Bucket": bucket, "Key": key}
        return str(self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))

    def download_link(self, bucket: str, key: str, expires: int, filename: str) -> str:
        # S3 answers the GET with this Content-Disposition (a signed response-* override).
        # Like the upload form, the link stops working when the signing credentials expire.
        params = {"Bucket": bucket, "Key": key, "ResponseContentDisposition": attachment(filename)}
        return str(self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))

    def upload_link(self, bucket: str, key: str, expires: int) -> str:
        params = {"Bucket": bucket, "Key": key}
        return str(self._client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires))

    def upload_form(self, bucket: str, prefix: str, expires: int, max_bytes: int) -> UploadForm:
        check_prefix(prefix)
        # The policy S3 checks on every POST: the key starts with the prefix, the file is at
        # most max_bytes (5 GiB is S3's own limit of one POST). Signed locally, no request.
        conditions: list[Any] = [["starts-with", "$key", prefix], ["content-length-range", 0, max_bytes]]
        post = self._client.generate_presigned_post(
            Bucket=bucket, Key=prefix + "${filename}", Conditions=conditions, ExpiresIn=expires
        )
        # Trap: the form is signed with this client's credentials (in Lambda the role's temporary
        # ones) and stops working when they expire, whatever ExpiresIn says.
        # "key" (prefix + "${filename}": S3 would put every file at the top of the prefix, by its
        # base name) is left out: the client sends its own per file, with the relative path
        fields = {str(k): str(v) for k, v in post["fields"].items() if k != "key"}
        return UploadForm(
            url=str(post["url"]), fields=fields, key_prefix=prefix, expires_in=expires, max_bytes=max_bytes
        )

    def restore(self, bucket: str, key: str, days: int, tier: str) -> None:
        try:
            with transient_as(f"restore s3://{bucket}/{key}"):
                self._client.restore_object(
                    Bucket=bucket, Key=key, RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": tier}}
                )
        except ClientError as exc:
            code = error_code(exc)
            # asked before and still running; or a class that needs no restore (InvalidObjectState)
            if code in ("RestoreAlreadyInProgress", "InvalidObjectState"):
                return
            if code in _MISSING_CODES:
                raise ObjectNotFound(f"s3://{bucket}/{key}") from exc
            raise

    # -- writing -----------------------------------------------------------------------------
    def put(self, bucket: str, key: str, data: bytes, *, content_type: str | None = None) -> str:
        extra = {} if content_type is None else {"ContentType": content_type}
        with transient_as(f"put s3://{bucket}/{key}"):
            response = self._client.put_object(Bucket=bucket, Key=key, Body=data, **extra)
        return _etag(response)

    def put_file(self, bucket: str, key: str, path: Path) -> str:
        # upload_file streams the file (multipart above the threshold); it returns nothing
        with transient_as(f"upload s3://{bucket}/{key}"):
            self._client.upload_file(str(path), bucket, key, Config=self._config)
        etag = self._current_etag(bucket, key)
        if etag is None:
            raise TransientError(f"s3://{bucket}/{key} is not visible after its upload")
        return etag

    def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *, if_match: str, cold: bool = False
    ) -> None:
        source = f"s3://{src_bucket}/{src_key}"
        extra = {"CopySourceIfMatch": _quoted(if_match), "StorageClass": self._storage_class}
        if cold:
            extra |= {"Tagging": COLD_TAG, "TaggingDirective": "REPLACE"}
        kwargs: dict[str, Any] = {"ExtraArgs": extra}
        if self._config is not None:
            kwargs["Config"] = self._config
        try:
            with transient_as(f"copy {source}"):
                self._client.copy(
                    CopySource={"Bucket": src_bucket, "Key": src_key}, Bucket=dst_bucket, Key=dst_key, **kwargs
                )
        except ClientError as exc:
            code = error_code(exc)
            if code in _PRECONDITION_CODES | _MISSING_CODES:
                self._discard(dst_bucket, dst_key)
                raise SourceChanged(f"{source} changed or vanished (expected ETag {if_match})") from exc
            if code in _NOT_RESTORED_CODES:
                raise NeedsRestore(f"{source} needs a restore before it can be copied") from exc
            raise
        if self._recheck:
            current = self._current_etag(src_bucket, src_key)
            if current != if_match.strip('"'):
                self._discard(dst_bucket, dst_key)
                raise SourceChanged(f"{source} changed during the copy (ETag {current or 'gone'}, expected {if_match})")

    def _current_etag(self, bucket: str, key: str) -> str | None:
        try:
            with transient_as(f"head s3://{bucket}/{key}"):
                response = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                return None
            raise
        return _etag(response)

    def _discard(self, bucket: str, key: str) -> None:
        with transient_as(f"delete s3://{bucket}/{key}"):
            self._client.delete_object(Bucket=bucket, Key=key)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        check_prefix(prefix)
        deleted = 0
        with transient_as(f"delete s3://{bucket}/{prefix}"):
            for page in self._pages(bucket, prefix):
                keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
                if not keys:
                    continue
                # deleting from the page being listed is fine: pages continue from the last key
                response = self._client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
                errors = response.get("Errors", [])
                if errors:
                    codes = {str(e.get("Code", "")) for e in errors}
                    detail = "; ".join(f"{e.get('Key')}: {e.get('Code')}" for e in errors[:5])
                    failure = f"delete under s3://{bucket}/{prefix} failed for {len(errors)} objects ({detail})"
                    if codes <= TRANSIENT_CODES:
                        raise TransientError(failure)
                    raise RuntimeError(failure)
                deleted += len(keys)
        return deleted
