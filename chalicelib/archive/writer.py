"""The archive bucket's writer port, its S3 adapter and the transient-error helpers.

:class:`ArchiveWriter` is what the archival steps (:mod:`chalicelib.archive.sip`,
:mod:`chalicelib.archive.aip`) write through; :class:`S3ArchiveWriter` is the boto3-backed
adapter (the in-memory fake is :class:`chalicelib.archive.memory_writer.InMemoryArchiveWriter`).

Errors: :class:`SourceChanged` (a source object changed after validation: fail the archive, a
new archive picks up the new content), :class:`TransientError` (throttling, 5xx, timeouts:
retry the step). :func:`is_transient` and :func:`transient_as` recognise botocore's transient
failures, so that the SIP and AIP modules never handle botocore errors themselves.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

# the tag on AIP payload objects that the archive bucket's lifecycle rule moves to DEEP_ARCHIVE
COLD_TAG_KEY = "archive-tier"
COLD_TAG = f"{COLD_TAG_KEY}=cold"

_TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "500",
        "502",
        "503",
        "504",
    }
)
_TRANSIENT_BOTOCORE = (
    BotoConnectionError,  # EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError…
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
    IncompleteReadError,
)
_PRECONDITION_CODES = frozenset({"412", "PreconditionFailed"})
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
# Objects in these classes cannot be read (or copied) without a restore: verify could not run.
_NEEDS_RESTORE = frozenset({"GLACIER", "DEEP_ARCHIVE"})


# --------------------------------------------------------------------------- errors


class SourceChanged(Exception):
    """A source object is gone or no longer has the ETag the archive was planned with."""


class TransientError(Exception):
    """Throttling, a 5xx or a network timeout: the step is worth another attempt."""


def is_transient(exc: BaseException) -> bool:
    """Whether a botocore error is throttling, a server error or a network failure."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in _TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return isinstance(exc, _TRANSIENT_BOTOCORE)


@contextlib.contextmanager
def transient_as(what: str) -> Iterator[None]:
    """Re-raise a transient botocore failure inside the block as :class:`TransientError`
    naming ``what`` (the step is then retried); any other error passes unchanged."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        if is_transient(exc):
            raise TransientError(f"{what}: {exc}") from exc
        raise


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _check_prefix(prefix: str) -> str:
    if not prefix or not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix:
        raise ValueError(f"prefix {prefix!r} must be non-empty, relative and end with '/'")
    return prefix


# --------------------------------------------------------------------------- the writer port


class ArchiveWriter(ABC):
    """Writes to the archive bucket (and copies into it). Every method MAY be retried.

    - ``put`` MUST store the whole object or nothing and return its ETag (unquoted);
      ``put_file`` likewise for a local file, streamed (never read whole into memory).
    - ``copy`` is a server-side copy that MUST raise :class:`SourceChanged` when the source
      is missing or its ETag is not ``if_match`` (quoted or not), MUST handle sources larger
      than 5 GB and MUST overwrite the destination (so a repeated copy is harmless). It
      SHOULD NOT leave a destination object behind when it raises ``SourceChanged``.
    - ``delete_prefix`` MUST delete every object under ``prefix`` and return how many; it
      MUST refuse (``ValueError``) an empty prefix or one not ending with ``/``.
    - All MUST raise :class:`TransientError` for throttling, 5xx and network failures.
    """

    @abstractmethod
    def put(self, bucket: str, key: str, data: bytes) -> str: ...

    @abstractmethod
    def put_file(self, bucket: str, key: str, path: Path) -> str: ...

    @abstractmethod
    def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *, if_match: str, cold: bool = False
    ) -> None:
        """``cold``: tag the copy ``archive-tier=cold`` (payload files). The archive bucket's
        lifecycle rule moves only such objects to DEEP_ARCHIVE, so that the tag files stay
        readable for fixity audits without a restore."""

    @abstractmethod
    def delete_prefix(self, bucket: str, prefix: str) -> int: ...


def _quoted(etag: str) -> str:
    return '"' + etag.strip('"') + '"'


class S3ArchiveWriter(ArchiveWriter):
    """The archive bucket through a boto3 S3 client.

    ``put`` writes STANDARD (it is used for staging); ``copy`` writes ``storage_class`` (it
    creates the AIP's objects). GLACIER and DEEP_ARCHIVE are refused: their objects cannot
    be read back without a restore, so the verify step and fixity audits could not run;
    transition them with a lifecycle rule after verification instead (GLACIER_IR is fine).

    ``copy`` uses boto3's managed copy (CopyObject below ``transfer_config``'s multipart
    threshold, UploadPartCopy above it, which handles objects over 5 GB). boto3 HEADs the
    source with ``If-Match`` and sends ``CopySourceIfMatch`` on CopyObject and on every
    UploadPartCopy; S3 enforces it on each request. moto 5.2.5 honours only the HEAD's
    ``If-Match``, so a change between that HEAD and the copy would go unnoticed there:
    with ``recheck_source`` (the default) the source is HEADed again after the copy and
    a changed source deletes the destination and raises :class:`SourceChanged`.
    """

    def __init__(
        self,
        client: Any,
        storage_class: str = "STANDARD",
        *,
        transfer_config: Any = None,
        recheck_source: bool = True,
    ) -> None:
        if storage_class in _NEEDS_RESTORE:
            raise ValueError(
                f"storage class {storage_class} needs a restore before any read: "
                "store as STANDARD/STANDARD_IA/GLACIER_IR and transition with a lifecycle rule"
            )
        self._client = client
        self._storage_class = storage_class
        self._config = transfer_config
        self._recheck = recheck_source

    def put(self, bucket: str, key: str, data: bytes) -> str:
        with transient_as(f"put s3://{bucket}/{key}"):
            response = self._client.put_object(Bucket=bucket, Key=key, Body=data)
        return str(response.get("ETag", "")).strip('"')

    def put_file(self, bucket: str, key: str, path: Path) -> str:
        # upload_file streams the file (multipart above the threshold); it returns nothing
        with transient_as(f"upload s3://{bucket}/{key}"):
            self._client.upload_file(str(path), bucket, key, Config=self._config)
        etag = self._etag(bucket, key)
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
            if _code(exc) in _PRECONDITION_CODES | _MISSING_CODES:
                self._discard(dst_bucket, dst_key)
                raise SourceChanged(f"{source} changed or vanished (expected ETag {if_match})") from exc
            raise
        if self._recheck:
            current = self._etag(src_bucket, src_key)
            if current != if_match.strip('"'):
                self._discard(dst_bucket, dst_key)
                raise SourceChanged(f"{source} changed during the copy (ETag {current or 'gone'}, expected {if_match})")

    def _etag(self, bucket: str, key: str) -> str | None:
        try:
            with transient_as(f"head s3://{bucket}/{key}"):
                response = self._client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING_CODES:
                return None
            raise
        return str(response.get("ETag", "")).strip('"')

    def _discard(self, bucket: str, key: str) -> None:
        with transient_as(f"delete s3://{bucket}/{key}"):
            self._client.delete_object(Bucket=bucket, Key=key)

    def delete_prefix(self, bucket: str, prefix: str) -> int:
        _check_prefix(prefix)
        deleted = 0
        with transient_as(f"delete s3://{bucket}/{prefix}"):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
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
                    if codes <= _TRANSIENT_CODES:
                        raise TransientError(failure)
                    raise RuntimeError(failure)
                deleted += len(keys)
        return deleted
