"""The archival steps (OAIS: SIP → AIP), each a function over ports, each safe to run again.

Every step runs in its own Lambda invocation, so each reads its inputs from S3 and stages
its outputs under ``staging/<archive_id>/`` in the archive bucket:

1. :func:`validate_sip` checks the dataset's manifest items against the source objects
   (safe names, presence, sizes, caps) and returns a :class:`Sip`; :func:`stage_sip` /
   :func:`load_sip` keep it at ``staging/<id>/sip.json``.
2. :func:`build_aip` streams every source file once (sha256, and the SIP's own digest when
   it can be checked), writes the bag's tag files to ``staging/<id>/bag/`` and the
   :class:`AipPlan` to ``staging/<id>/plan.json`` (:func:`load_plan`).
3. :func:`store_aip` copies the payload (server-side, guarded by the ETag seen at
   validation) and the staged tag files to the AIP prefix.
4. :func:`verify_aip` re-reads every stored object against the plan;
   :func:`verify_sample` does the same for a sample (the periodic fixity audit).
5. :func:`cleanup_staging` removes ``staging/<id>/``.

The AIP is a BagIt 1.0 bag (RFC 8493) stored as objects: ``<prefix>bagit.txt``,
``bag-info.txt``, ``manifest-sha256.txt``, ``metadata/catalogue.json``,
``metadata/premis.json``, ``tagmanifest-sha256.txt`` and ``data/<relpath>`` for every file.

Errors: :class:`SipRejected` (hostile or broken input: never retry), :class:`SourceChanged`
(a source object changed after validation: fail the archive, a new archive picks up the new
content), :class:`TransientError` (throttling, 5xx, timeouts: retry the step).

Names. By default (``bagit_readable=True``) a relpath must also survive LoC ``bagit`` 1.9's
reading of a manifest, the check :func:`chalicelib.ingest.bags.on_disk.validate_extracted_bag`
applies: ``bagit`` never decodes ``%25`` (so any ``%`` in a name), strips trailing
whitespace and splits lines on U+2028 & co. An AIP that the reference tool reports as
invalid would be a false "corrupt" at every future audit, so such names are refused at
validation with a reason naming them. With ``bagit_readable=False`` they are archived with
RFC 8493 encoding (``%25``), valid for RFC parsers (ours) but not for ``bagit`` 1.9.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import math
import random
import re
import time
import unicodedata
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.ingest.bags.paths import bagit_manifest_view, encode_manifest_path, nfc, path_problem
from chalicelib.ingest.objects import InMemoryObjectStore, ObjectMeta, ObjectStore
from chalicelib.reasons import Reasons

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB

DEFAULT_MAX_FILES = 1_000_000
DEFAULT_MAX_TOTAL_BYTES = 5 * TiB
#: S3 keys are at most 1024 bytes: ``<aip prefix>data/<relpath>`` must fit.
DEFAULT_MAX_RELPATH_BYTES = 900
MAX_S3_KEY_BYTES = 1024
MAX_COMPONENT_BYTES = 255  # a file name on every common file system (restores, bagit on disk)
MAX_REASONS = 50
MAX_STAGED_JSON_BYTES = 4 * GiB
# the tag on AIP payload objects that the archive bucket's lifecycle rule moves to DEEP_ARCHIVE
COLD_TAG_KEY = "archive-tier"
COLD_TAG = f"{COLD_TAG_KEY}=cold"
SOFTWARE_AGENT = "research-data-catalogue archive (chalicelib.archive.aip)"

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
TAG_MANIFEST = "tagmanifest-sha256.txt"
# Copied to the AIP in this order: the tag manifest last, as the seal of a complete bag.
TAG_FILES = (
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "metadata/catalogue.json",
    "metadata/premis.json",
    TAG_MANIFEST,
)

_ARCHIVE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_MULTIPART_ETAG = re.compile(r"[0-9a-fA-F]{32}-[0-9]+")

#: Manifest digest algorithms → (hashlib name, encoding of the digest).
_HEX_ALGORITHMS = {
    "md5sum_hexdigest": "md5",
    "sha1sum_hexdigest": "sha1",
    "sha256sum_hexdigest": "sha256",
    "md5": "md5",
    "sha256": "sha256",
    "sha512": "sha512",
}
ALGORITHMS = (*_HEX_ALGORITHMS, "sha256-base64", "s3-etag")

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


class SipRejected(Exception):
    """The SIP is hostile or broken; ``reasons`` name the path and the rule. Never retried."""

    def __init__(self, reasons: Iterable[str]) -> None:
        self.reasons: list[str] = list(reasons) or ["SIP rejected"]
        shown = "; ".join(self.reasons[:3])
        more = len(self.reasons) - 3
        super().__init__(shown + (f" (+{more} more)" if more > 0 else ""))


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


# --------------------------------------------------------------------------- keys


def check_archive_id(archive_id: str) -> str:
    """``archive_id`` if it is safe inside a key (staging prefixes are deleted by it)."""
    if not _ARCHIVE_ID.fullmatch(archive_id) or archive_id in (".", ".."):
        raise ValueError(f"archive id {archive_id!r} must match {_ARCHIVE_ID.pattern}")
    return archive_id


def _check_prefix(prefix: str) -> str:
    if not prefix or not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix:
        raise ValueError(f"prefix {prefix!r} must be non-empty, relative and end with '/'")
    return prefix


def staging_prefix(archive_id: str) -> str:
    return f"staging/{check_archive_id(archive_id)}/"


def sip_key(archive_id: str) -> str:
    return staging_prefix(archive_id) + "sip.json"


def plan_key(archive_id: str) -> str:
    return staging_prefix(archive_id) + "plan.json"


def staged_tag_key(archive_id: str, path: str) -> str:
    return staging_prefix(archive_id) + "bag/" + path


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


# --------------------------------------------------------------------------- digests


class _Check(NamedTuple):
    """How to check one expected digest: hashlib name and the expected raw digest bytes."""

    hash_name: str
    digest: bytes


def _expected_check(expected: tuple[str, str] | None) -> tuple[_Check | None, str | None]:
    """``(check, problem)``: ``check`` None when the digest cannot be checked by hashing."""
    if expected is None:
        return None, None
    algorithm, value = expected
    value = value.strip()
    if algorithm in _HEX_ALGORITHMS:
        name = _HEX_ALGORITHMS[algorithm]
        length = hashlib.new(name, usedforsecurity=False).digest_size * 2
        if len(value) != length or not _HEX.fullmatch(value):
            return None, f"{algorithm} digest {value[:140]!r} is not {length} hex digits"
        return _Check(name, bytes.fromhex(value)), None
    if algorithm == "s3-etag":
        value = value.strip('"')
        if _MULTIPART_ETAG.fullmatch(value):
            return None, None  # an md5 of part md5s: not checkable by hashing the object
        if len(value) != 32 or not _HEX.fullmatch(value):
            return None, f"s3-etag {value[:140]!r} is neither an md5 nor a multipart ETag"
        return _Check("md5", bytes.fromhex(value)), None
    if algorithm == "sha256-base64":
        if re.fullmatch(r"[A-Za-z0-9+/=]+-[0-9]+", value):
            return None, None  # a multipart upload's checksum of part checksums
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            return None, f"sha256-base64 digest {value[:140]!r} is not a base64 sha256"
        return _Check("sha256", raw), None
    return None, f"unsupported digest algorithm {algorithm!r} (supported: {', '.join(ALGORITHMS)})"


# --------------------------------------------------------------------------- SIP


class SipCandidate(Protocol):
    """One manifest item and where it is (``chalicelib.archive.sources.Entry`` fits).

    ``digest`` empty: the manifest has none for this item (it is archived unchecked).
    """

    @property
    def relpath(self) -> str: ...
    @property
    def bucket(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def algorithm(self) -> str: ...
    @property
    def digest(self) -> str: ...


@dataclass(frozen=True)
class SourceFile:
    """A file of the SIP: ``etag`` is the source object's ETag when it was validated."""

    relpath: str
    bucket: str
    key: str
    size: int
    etag: str
    expected: tuple[str, str] | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "relpath": self.relpath,
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "expected": list(self.expected) if self.expected else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SourceFile:
        expected = raw.get("expected")
        return cls(
            relpath=str(raw["relpath"]),
            bucket=str(raw["bucket"]),
            key=str(raw["key"]),
            size=int(raw["size"]),
            etag=str(raw["etag"]),
            expected=(str(expected[0]), str(expected[1])) if expected else None,
        )


@dataclass(frozen=True)
class Sip:
    archive_id: str
    dataset_uuid: str
    files: tuple[SourceFile, ...]
    record: dict[str, Any] = field(hash=False)
    source_uris: tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def to_json(self) -> str:
        return json.dumps(
            {
                "archive_id": self.archive_id,
                "dataset_uuid": self.dataset_uuid,
                "source_uris": list(self.source_uris),
                "record": self.record,
                "files": [f.to_dict() for f in self.files],
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Sip:
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("record"), dict):
            raise ValueError("not a staged SIP")
        return cls(
            archive_id=str(raw["archive_id"]),
            dataset_uuid=str(raw["dataset_uuid"]),
            files=tuple(SourceFile.from_dict(f) for f in raw["files"]),
            record=raw["record"],
            source_uris=tuple(str(u) for u in raw["source_uris"]),
        )


def relpath_problem(
    relpath: str, *, bagit_readable: bool = True, max_relpath_bytes: int = DEFAULT_MAX_RELPATH_BYTES
) -> str | None:
    """Why ``relpath`` cannot be a payload path of an AIP, or None.

    The rules of :mod:`chalicelib.ingest.bags` (no ``..``/``.``/empty components, not
    absolute, no backslash, NUL or leading ``~``, valid UTF-8), plus: no control characters
    (C0, DEL, C1: newline, CR, tab…), components of at most 255 bytes, at most
    ``max_relpath_bytes`` bytes and, with ``bagit_readable``, a name ``bagit`` 1.9 reads back.
    """
    problem = path_problem(relpath)
    if problem is not None:
        return problem
    for char in relpath:
        if unicodedata.category(char) == "Cc":
            return f"contains the control character U+{ord(char):04X}"
    encoded = relpath.encode("utf-8")
    if len(encoded) > max_relpath_bytes:
        return f"is {len(encoded)} bytes long, more than the {max_relpath_bytes} allowed"
    if any(len(part.encode("utf-8")) > MAX_COMPONENT_BYTES for part in relpath.split("/")):
        return f"has a path component longer than {MAX_COMPONENT_BYTES} bytes"
    if bagit_readable:
        line = "0" * 64 + "  data/" + encode_manifest_path(relpath)
        if bagit_manifest_view(line) != ["data/" + relpath]:
            return (
                "cannot be read back by bagit 1.9 from a manifest ('%', leading/trailing whitespace "
                "or a Unicode line separator; upstream #143/#157)"
            )
    return None


def _heads(store: ObjectStore, files: Sequence[SipCandidate]) -> dict[tuple[str, str], ObjectMeta]:
    """The source objects' metadata: one listing per bucket when the files share a prefix."""
    found: dict[tuple[str, str], ObjectMeta] = {}
    by_bucket: dict[str, set[str]] = {}
    for f in files:
        by_bucket.setdefault(f.bucket, set()).add(f.key)
    for bucket, keys in by_bucket.items():
        common = _common_prefix(keys)
        if len(keys) >= 100 and common:
            budget = 2 * len(keys) + 1000  # give up on listing when the prefix holds far more
            listed = 0
            with transient_as(f"list s3://{bucket}/{common}"):
                for meta in store.list(bucket, common):
                    listed += 1
                    if meta.key in keys:
                        found[(bucket, meta.key)] = meta
                    if listed > budget:
                        break
            if listed <= budget:
                continue  # a full listing: what it lacks is missing
        for key in sorted(keys):
            if (bucket, key) in found:
                continue
            with transient_as(f"head s3://{bucket}/{key}"):
                meta_or_none = store.head(bucket, key)
            if meta_or_none is not None:
                found[(bucket, key)] = meta_or_none
    return found


def _common_prefix(keys: Iterable[str]) -> str:
    ordered = sorted(keys)
    if not ordered:
        return ""
    first, last = ordered[0], ordered[-1]
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


def validate_sip(
    store: ObjectStore,
    candidates: Iterable[SipCandidate],
    *,
    archive_id: str,
    record: Mapping[str, Any],
    source_uris: Sequence[str],
    max_files: int = DEFAULT_MAX_FILES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_relpath_bytes: int = DEFAULT_MAX_RELPATH_BYTES,
    bagit_readable: bool = True,
) -> Sip:
    """Check a dataset's manifest items against the source objects; return the :class:`Sip`.

    Refused (:class:`SipRejected`, at most 50 reasons, each naming the path with ``repr``):
    unsafe names (:func:`relpath_problem`; never read, never reported as corrupt), names equal
    after Unicode NFC, a name that is also a directory of another, malformed or unsupported
    digests, negative sizes, more than ``max_files`` files or ``max_total_bytes`` bytes, no
    files; then (only when all of that passed) objects missing or of another size than the
    manifest says. ``record['uuid']`` is the dataset uuid.

    Presence is checked with one listing per bucket when 100 or more files share a key
    prefix (bounded), otherwise with a HEAD each; pass a ``SnapshotStore`` to answer from a
    listing already made.
    """
    check_archive_id(archive_id)
    dataset_uuid = record.get("uuid")
    if not isinstance(dataset_uuid, str) or not dataset_uuid:
        raise SipRejected(["the catalogue record has no uuid"])
    reasons = Reasons(SipRejected, MAX_REASONS)
    files: list[SipCandidate] = []
    seen: dict[str, str] = {}  # NFC relpath → relpath
    total = 0
    count = 0
    for candidate in candidates:
        count += 1
        if count > max_files:
            raise SipRejected([f"the dataset has more than {max_files} files, the most one archive may hold"])
        relpath = candidate.relpath
        problem = relpath_problem(relpath, bagit_readable=bagit_readable, max_relpath_bytes=max_relpath_bytes)
        if problem is not None:
            reasons.add(f"path {relpath!r}: {problem}")
            continue
        key = nfc(relpath)
        if key in seen:
            reasons.add(f"path {relpath!r}: same name as {seen[key]!r} after Unicode NFC normalisation")
            continue
        seen[key] = relpath
        size = candidate.size
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            reasons.add(f"path {relpath!r}: invalid size {size!r}")
            continue
        if candidate.digest:
            _check, digest_problem = _expected_check((candidate.algorithm, candidate.digest))
            if digest_problem is not None:
                reasons.add(f"path {relpath!r}: manifest digest unusable: {digest_problem}")
                continue
        total += size
        files.append(candidate)
    directories: set[str] = set()
    for key in seen:
        parts = key.split("/")
        directories.update("/".join(parts[:i]) for i in range(1, len(parts)))
    for key in sorted(directories & set(seen))[:5]:
        reasons.add(f"path {seen[key]!r}: used both as a file and as a directory")
    if total > max_total_bytes:
        reasons.add(f"the dataset holds {total} bytes, more than the {max_total_bytes} one archive may hold")
    if not files and not reasons:
        reasons.add("the dataset has no files")
    reasons.raise_if_any()

    metas = _heads(store, files)
    for f in files:
        meta = metas.get((f.bucket, f.key))
        if meta is None:
            reasons.add(f"path {f.relpath!r}: missing (s3://{f.bucket}/{f.key})")
        elif meta.size != f.size:
            reasons.add(f"path {f.relpath!r}: {meta.size} bytes in s3://{f.bucket}/{f.key}, the manifest says {f.size}")
    reasons.raise_if_any()
    sources = tuple(
        SourceFile(
            relpath=f.relpath,
            bucket=f.bucket,
            key=f.key,
            size=f.size,
            etag=metas[(f.bucket, f.key)].etag.strip('"'),
            expected=(f.algorithm, f.digest.strip()) if f.digest else None,
        )
        for f in sorted(files, key=lambda c: c.relpath)
    )
    return Sip(
        archive_id=archive_id,
        dataset_uuid=dataset_uuid,
        files=sources,
        record=dict(record),
        source_uris=tuple(source_uris),
    )


def _read_staged(store: ObjectStore, bucket: str, key: str) -> str:
    with transient_as(f"get s3://{bucket}/{key}"):
        text = store.get_text(bucket, key, MAX_STAGED_JSON_BYTES)
    if text is None:
        raise FileNotFoundError(f"s3://{bucket}/{key} is not staged")
    return text


def stage_sip(writer: ArchiveWriter, bucket: str, archive_id: str, sip: Sip) -> str:
    """Write the SIP to ``staging/<archive_id>/sip.json``; return the key."""
    if sip.archive_id != archive_id:
        raise ValueError(f"SIP of {sip.archive_id} staged as {archive_id}")
    key = sip_key(archive_id)
    writer.put(bucket, key, sip.to_json().encode("utf-8"))
    return key


def load_sip(store: ObjectStore, bucket: str, archive_id: str) -> Sip:
    """The staged SIP (``FileNotFoundError`` when it is not staged)."""
    return Sip.from_json(_read_staged(store, bucket, sip_key(archive_id)))


# --------------------------------------------------------------------------- AIP plan


@dataclass(frozen=True)
class PayloadEntry:
    """A payload file: its source, the ETag it is copied with, and the sha256 of its bytes.

    ``checked_with``: the digest of the SIP it was checked against (``md5sum_hexdigest``…),
    ``""`` when there was none that hashing can check (no digest, a multipart ETag).
    """

    relpath: str
    bucket: str
    key: str
    etag: str
    size: int
    sha256: str
    checked_with: str = ""

    @property
    def path(self) -> str:
        return "data/" + self.relpath


@dataclass(frozen=True)
class TagFile:
    """A tag file staged under ``staging/<id>/bag/``; ``etag`` of the staged object."""

    path: str
    size: int
    sha256: str
    etag: str


@dataclass(frozen=True)
class AipPlan:
    archive_id: str
    dataset_uuid: str
    staging_bucket: str
    payload: tuple[PayloadEntry, ...]
    tag_files: tuple[TagFile, ...]

    @property
    def payload_bytes(self) -> int:
        return sum(e.size for e in self.payload)

    @property
    def total_bytes(self) -> int:
        """Bytes of every object of the AIP (payload and tag files)."""
        return self.payload_bytes + sum(t.size for t in self.tag_files)

    @property
    def object_count(self) -> int:
        return len(self.payload) + len(self.tag_files)

    @property
    def tagmanifest_sha256(self) -> str:
        return next(t.sha256 for t in self.tag_files if t.path == TAG_MANIFEST)

    def to_json(self) -> str:
        return json.dumps(
            {
                "archive_id": self.archive_id,
                "dataset_uuid": self.dataset_uuid,
                "staging_bucket": self.staging_bucket,
                "total_bytes": self.total_bytes,
                # arrays, not objects: a plan may hold a million entries
                "payload": [
                    [e.relpath, e.bucket, e.key, e.etag, e.size, e.sha256, e.checked_with] for e in self.payload
                ],
                "tag_files": [[t.path, t.size, t.sha256, t.etag] for t in self.tag_files],
            }
        )

    @classmethod
    def from_json(cls, text: str) -> AipPlan:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not a staged AIP plan")
        return cls(
            archive_id=str(raw["archive_id"]),
            dataset_uuid=str(raw["dataset_uuid"]),
            staging_bucket=str(raw["staging_bucket"]),
            payload=tuple(
                PayloadEntry(str(r), str(b), str(k), str(e), int(s), str(h), str(c))
                for r, b, k, e, s, h, c in raw["payload"]
            ),
            tag_files=tuple(TagFile(str(p), int(s), str(h), str(e)) for p, s, h, e in raw["tag_files"]),
        )


def load_plan(store: ObjectStore, bucket: str, archive_id: str) -> AipPlan:
    """The staged plan (``FileNotFoundError`` when it is not staged)."""
    return AipPlan.from_json(_read_staged(store, bucket, plan_key(archive_id)))


class ObjectGone(Exception):
    """An object that was listed or recorded no longer exists (raised by :func:`stream_object`)."""


def stream_object(store: ObjectStore, bucket: str, key: str) -> Generator[bytes, None, None]:
    """The object's chunks; TransientError for network trouble, ObjectGone when it does not exist."""
    try:
        yield from store.iter_chunks(bucket, key)
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"read s3://{bucket}/{key}: {exc}") from exc
        # the port does not say how a missing object fails: ask
        with transient_as(f"head s3://{bucket}/{key}"):
            meta = store.head(bucket, key)
        if meta is None:
            raise ObjectGone(f"s3://{bucket}/{key}") from exc
        raise


def hash_object(
    store: ObjectStore, bucket: str, key: str, size: int, extra: str | None = None
) -> tuple[int, str, bytes | None]:
    """``(bytes read, sha256 hex, digest of extra)``; stops reading past ``size`` bytes."""
    sha256 = hashlib.sha256()
    other = hashlib.new(extra, usedforsecurity=False) if extra and extra != "sha256" else None
    count = 0
    with contextlib.closing(stream_object(store, bucket, key)) as chunks:
        for chunk in chunks:
            count += len(chunk)
            if count > size:
                break
            sha256.update(chunk)
            if other is not None:
                other.update(chunk)
    extra_digest = None
    if extra:
        extra_digest = other.digest() if other is not None else sha256.digest()
    return count, sha256.hexdigest(), extra_digest


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _bag_info_value(value: object) -> str:
    """A value on one bag-info line (continuation lines for newlines; no control characters)."""
    text = "" if value is None else str(value)
    lines = ["".join(c for c in line if unicodedata.category(c) != "Cc").strip() for line in text.splitlines()]
    return "\n  ".join(line[:1000] for line in lines if line) or "unknown"


def _json_bytes(value: object) -> bytes:
    try:
        return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates in the record: keep them as \\ud8xx escapes
        return (json.dumps(value, sort_keys=True, indent=2) + "\n").encode("ascii")


def manifest_text(entries: Iterable[tuple[str, str]]) -> str:
    """A payload manifest: ``(relpath, sha256)`` → ``<sha256>  data/<relpath>`` lines, RFC 8493 encoded."""
    return "".join(f"{digest}  data/{encode_manifest_path(relpath)}\n" for relpath, digest in entries)


def build_aip(
    store: ObjectStore,
    writer: ArchiveWriter,
    bucket: str,
    sip: Sip,
    events: Sequence[Mapping[str, Any]],
    *,
    now: float | None = None,
    software_agent: str = SOFTWARE_AGENT,
    source_organization: str | None = None,
) -> AipPlan:
    """Stream every source file once, write the bag's tag files and the plan to staging.

    Each file is read once (never held in memory): sha256 for the bag, plus the SIP's digest
    when hashing can check it; a mismatch or a byte count other than the manifest's size is
    a :class:`SipRejected` (``fixity: <relpath> …`` / ``size: <relpath> …``; all files are
    read and up to 50 reasons given); a file gone since validation is
    :class:`SourceChanged`. Then ``bagit.txt``, ``bag-info.txt``, ``manifest-sha256.txt``,
    ``metadata/catalogue.json``, ``metadata/premis.json`` (``events`` plus a message digest
    calculation and a fixity check event) and ``tagmanifest-sha256.txt`` are put under
    ``staging/<id>/bag/``, and the plan at ``staging/<id>/plan.json``. ``now`` (epoch
    seconds) dates the bag and the events; pass the same value on a retry for identical
    tag files.
    """
    moment = time.time() if now is None else now
    prefix = staging_prefix(sip.archive_id)
    reasons = Reasons(SipRejected, MAX_REASONS)
    payload: list[PayloadEntry] = []
    checked: Counter[str] = Counter()
    unchecked: list[str] = []
    for f in sorted(sip.files, key=lambda s: s.relpath):
        check, problem = _expected_check(f.expected)
        if problem is not None:  # validate_sip refuses these; a hand-made SIP may not
            reasons.add(f"path {f.relpath!r}: manifest digest unusable: {problem}")
            continue
        try:
            count, sha256, digest = hash_object(store, f.bucket, f.key, f.size, check.hash_name if check else None)
        except ObjectGone as exc:
            raise SourceChanged(f"{f.relpath!r}: s3://{f.bucket}/{f.key} vanished after validation") from exc
        if count != f.size:
            shown = f"more than {f.size}" if count > f.size else str(count)
            reasons.add(f"size: {f.relpath!r}: s3://{f.bucket}/{f.key} has {shown} bytes, the manifest says {f.size}")
            continue
        if check is not None and f.expected is not None:
            if digest != check.digest:
                algorithm, value = f.expected
                reasons.add(
                    f"fixity: {f.relpath!r}: the bytes of s3://{f.bucket}/{f.key} do not match its {algorithm} {value}"
                )
                continue
            checked[f.expected[0]] += 1
        else:
            unchecked.append(f.relpath)
        payload.append(
            PayloadEntry(
                f.relpath, f.bucket, f.key, f.etag, f.size, sha256, f.expected[0] if check and f.expected else ""
            )
        )
    reasons.raise_if_any()

    payload_bytes = sum(e.size for e in payload)
    record = sip.record
    info = {
        "Bagging-Date": datetime.fromtimestamp(moment, UTC).date().isoformat(),
        "Payload-Oxum": f"{payload_bytes}.{len(payload)}",
        "External-Identifier": sip.dataset_uuid,
        "External-Description": record.get("name") or sip.dataset_uuid,
        "Contact-Name": record.get("creator_username") or record.get("creator") or "unknown",
        "Internal-Sender-Identifier": sip.archive_id,
        "Bag-Software-Agent": software_agent,
    }
    if source_organization:
        info["Source-Organization"] = source_organization
    bag_info = "".join(f"{label}: {_bag_info_value(value)}\n" for label, value in info.items())
    detail_checked = ", ".join(f"{n} by {alg}" for alg, n in sorted(checked.items())) or "none"
    premis_events = [dict(e) for e in events] + [
        {
            "eventType": "message digest calculation",
            "eventDateTime": _iso(moment),
            "eventOutcome": "success",
            "eventDetail": f"sha256 of {len(payload)} files ({payload_bytes} bytes) read from the source",
            "linkingAgent": software_agent,
            "linkingObject": [sip.dataset_uuid, sip.archive_id],
        },
        {
            "eventType": "fixity check",
            "eventDateTime": _iso(moment),
            "eventOutcome": "success",
            "eventDetail": (
                f"source bytes compared with the catalogue manifest: {detail_checked}; "
                f"{len(unchecked)} without a digest hashing can check (no digest or a multipart S3 ETag)"
            ),
            "eventOutcomeDetail": {"unchecked": unchecked[:1000], "unchecked_count": len(unchecked)},
            "linkingAgent": software_agent,
            "linkingObject": [sip.dataset_uuid, sip.archive_id],
        },
    ]
    contents: dict[str, bytes] = {
        "bagit.txt": BAGIT_TXT.encode("utf-8"),
        "bag-info.txt": bag_info.encode("utf-8"),
        "manifest-sha256.txt": manifest_text((e.relpath, e.sha256) for e in payload).encode("utf-8"),
        "metadata/catalogue.json": _json_bytes(
            {
                "archive_id": sip.archive_id,
                "dataset_uuid": sip.dataset_uuid,
                "source_uris": list(sip.source_uris),
                "record": record,
            }
        ),
        "metadata/premis.json": _json_bytes({"archive_id": sip.archive_id, "events": premis_events}),
    }
    contents[TAG_MANIFEST] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in contents.items()
    ).encode("utf-8")
    tag_files = []
    for path in TAG_FILES:
        data = contents[path]
        etag = writer.put(bucket, f"{prefix}bag/{path}", data)
        tag_files.append(TagFile(path, len(data), hashlib.sha256(data).hexdigest(), etag))
    plan = AipPlan(sip.archive_id, sip.dataset_uuid, bucket, tuple(payload), tuple(tag_files))
    writer.put(bucket, plan_key(sip.archive_id), plan.to_json().encode("utf-8"))
    return plan


# --------------------------------------------------------------------------- store, verify


@dataclass(frozen=True)
class StoredAip:
    uri: str
    object_count: int
    total_bytes: int
    tagmanifest_sha256: str


def _aip_key(aip_prefix: str, path: str) -> str:
    key = aip_prefix + path
    if len(key.encode("utf-8")) > MAX_S3_KEY_BYTES:
        raise ValueError(f"{key!r} is longer than S3's {MAX_S3_KEY_BYTES} bytes: use a shorter AIP prefix")
    return key


def store_aip(writer: ArchiveWriter, plan: AipPlan, archive_bucket: str, aip_prefix: str) -> StoredAip:
    """Copy the payload to ``<aip_prefix>data/<relpath>`` and the staged tag files beside it.

    Payload copies carry the ETag seen at validation; a source changed since then raises
    :class:`SourceChanged` (fail the archive). What is left then: the payload objects copied
    before it, and no tag files (they are copied after the payload, the tag manifest last),
    so the prefix never looks like a complete bag; ``writer.delete_prefix`` removes it.
    Running it again overwrites the same objects with the same bytes.
    """
    _check_prefix(aip_prefix)
    # every key is checked before anything is copied
    payload_keys = [_aip_key(aip_prefix, e.path) for e in plan.payload]
    tag_keys = [_aip_key(aip_prefix, t.path) for t in plan.tag_files]
    for entry, key in zip(plan.payload, payload_keys, strict=True):
        writer.copy(entry.bucket, entry.key, archive_bucket, key, if_match=entry.etag, cold=True)
    for tag, key in zip(plan.tag_files, tag_keys, strict=True):
        writer.copy(
            plan.staging_bucket, staged_tag_key(plan.archive_id, tag.path), archive_bucket, key, if_match=tag.etag
        )
    return StoredAip(
        uri=f"s3://{archive_bucket}/{aip_prefix}",
        object_count=plan.object_count,
        total_bytes=plan.total_bytes,
        tagmanifest_sha256=plan.tagmanifest_sha256,
    )


class _Expected(NamedTuple):
    path: str
    size: int
    sha256: str


def _expected_objects(plan: AipPlan) -> list[_Expected]:
    return [_Expected(e.path, e.size, e.sha256) for e in plan.payload] + [
        _Expected(t.path, t.size, t.sha256) for t in plan.tag_files
    ]


def _check_object(
    store: ObjectStore, bucket: str, key: str, expected: _Expected, listed_size: int | None
) -> str | None:
    if listed_size is None:
        return f"{expected.path!r}: missing"
    if listed_size != expected.size:
        return f"{expected.path!r}: {listed_size} bytes, expected {expected.size}"
    try:
        count, sha256, _digest = hash_object(store, bucket, key, expected.size)
    except ObjectGone:
        return f"{expected.path!r}: missing"
    if count != expected.size:
        return f"{expected.path!r}: read {count} bytes, expected {expected.size}"
    if sha256 != expected.sha256:
        return f"{expected.path!r}: sha256 {sha256}, expected {expected.sha256}"
    return None


def verify_aip(store: ObjectStore, plan: AipPlan, archive_bucket: str, aip_prefix: str) -> list[str]:
    """Re-read every object of the AIP: mismatches, one line naming the bag path each (empty: OK).

    The prefix is listed once: a missing object, another size, other bytes (sha256) and an
    object the plan does not know are mismatches.
    """
    _check_prefix(aip_prefix)
    with transient_as(f"list s3://{archive_bucket}/{aip_prefix}"):
        listed = {meta.key: meta.size for meta in store.list(archive_bucket, aip_prefix)}
    mismatches: list[str] = []
    known: set[str] = set()
    for expected in _expected_objects(plan):
        key = aip_prefix + expected.path
        known.add(key)
        problem = _check_object(store, archive_bucket, key, expected, listed.get(key))
        if problem is not None:
            mismatches.append(problem)
    for key in sorted(set(listed) - known):
        mismatches.append(f"{key[len(aip_prefix) :]!r}: unexpected object (not in the AIP plan)")
    return mismatches


class Sampled(NamedTuple):
    mismatches: list[str]
    checked: int


def verify_sample(
    store: ObjectStore, plan: AipPlan, bucket: str, prefix: str, fraction: float, rng: random.Random
) -> Sampled:
    """Check the tag files and a random ``fraction`` of the payload files (at least one when
    ``fraction > 0``); each sampled object is HEADed, then streamed."""
    _check_prefix(prefix)
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction {fraction} is not between 0 and 1")
    payload = list(plan.payload)
    count = 0 if fraction == 0 or not payload else min(len(payload), max(1, math.ceil(fraction * len(payload))))
    chosen = [_Expected(e.path, e.size, e.sha256) for e in rng.sample(payload, count)]
    chosen += [_Expected(t.path, t.size, t.sha256) for t in plan.tag_files]
    mismatches = []
    for expected in chosen:
        key = prefix + expected.path
        with transient_as(f"head s3://{bucket}/{key}"):
            meta = store.head(bucket, key)
        problem = _check_object(store, bucket, key, expected, None if meta is None else meta.size)
        if problem is not None:
            mismatches.append(problem)
    return Sampled(mismatches, len(chosen))


def cleanup_staging(writer: ArchiveWriter, bucket: str, archive_id: str) -> int:
    """Delete ``staging/<archive_id>/``; return how many objects were deleted."""
    return writer.delete_prefix(bucket, staging_prefix(archive_id))
