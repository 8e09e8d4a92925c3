"""The object storage port (S3): every read, write, link and restore the catalogue makes.

The ingest reads datasets in the users' buckets through it, the archive writes, verifies
and audits AIPs, hands out download and upload links and starts restores, and the catalogue
keeps texts too large for DynamoDB (:class:`chalicelib.catalogue.blobs.BlobStore`) and its reports in
its own bucket. :class:`ObjectStorage` states the contract;
:class:`chalicelib.adapters.s3.S3ObjectStorage` implements it over boto3, and the fake is
``tests.fakes.object_storage.InMemoryObjectStorage``. No boto3 here.

Errors, besides each method's return values: :class:`TooLarge`, :class:`ObjectNotFound`,
:class:`NeedsRestore`, :class:`SourceChanged` and
:class:`~chalicelib.adapters.errors.TransientError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

CHUNK = 1024 * 1024  # bytes per chunk of :meth:`ObjectStorage.iter_chunks` (the last may be shorter)

# Objects in these storage classes must be restored before they can be read (or copied).
NEEDS_RESTORE = frozenset({"GLACIER", "DEEP_ARCHIVE"})

# the tag on AIP payload objects that the archive bucket's lifecycle rule moves to DEEP_ARCHIVE
COLD_TAG_KEY = "archive-tier"
COLD_TAG_VALUE = "cold"
COLD_TAG = f"{COLD_TAG_KEY}={COLD_TAG_VALUE}"

# restore states of an object in a NEEDS_RESTORE class
RESTORE_NONE = "none"  # not requested (or expired)
RESTORE_ONGOING = "ongoing"
RESTORE_DONE = "done"  # a readable copy exists for the days asked


@dataclass(frozen=True)
class ObjectMeta:
    key: str
    size: int
    etag: str  # unquoted
    last_modified: float  # epoch seconds
    checksum: str = ""  # the S3 SHA-256 checksum when the uploader sent one (``head`` only)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    storage_class: str = "STANDARD"
    # for NEEDS_RESTORE classes: RESTORE_NONE, RESTORE_ONGOING or RESTORE_DONE
    restore: str = RESTORE_NONE

    @property
    def readable(self) -> bool:
        return self.storage_class not in NEEDS_RESTORE or self.restore == RESTORE_DONE


@dataclass(frozen=True)
class UploadForm:
    """A presigned POST (:meth:`ObjectStorage.upload_form`): how anyone holding it uploads files
    under ``key_prefix`` of one bucket with an HTML form, without credentials of their own.

    A browser or HTTP client sends ``POST url`` as ``multipart/form-data`` with every one of
    ``fields`` (unchanged), then ``key`` (``key_prefix`` + the file's relative path), then
    ``file`` (the bytes) LAST: S3 ignores whatever follows the file, and refuses any other field
    (one its signed policy does not name, e.g. ``Content-Type``). One POST per file; posting
    the same key again overwrites it (so a failed POST may simply be repeated). S3 accepts any
    key that starts with ``key_prefix`` and files of at most ``max_bytes`` bytes, for
    ``expires_in`` seconds after the form was made; it refuses anything else (403, or 400
    ``EntityTooLarge``) and answers 204 when stored.
    """

    url: str
    fields: dict[str, str]
    key_prefix: str
    expires_in: int
    max_bytes: int


class TooLarge(Exception):
    """An object is larger than the caller is willing to read into memory."""


class ObjectNotFound(LookupError):
    """The object does not exist (for the operations that cannot answer ``None``)."""


class BucketNotFound(LookupError):
    """The bucket does not exist: ``list`` raises it where the store knows buckets (S3); a
    store that makes buckets on first write (the in-memory fake) lists nothing instead."""


class NeedsRestore(Exception):
    """The object is in an archival storage class (:data:`NEEDS_RESTORE`) and has no restored
    copy: its bytes cannot be read or copied until :meth:`ObjectStorage.restore` is done."""


class SourceChanged(Exception):
    """A source object is gone or no longer has the ETag the caller planned with."""


def attachment(filename: str) -> str:
    """The ``Content-Disposition`` of a download saved as ``filename`` (RFC 6266): ``attachment``
    with an ASCII ``filename`` (any other character, quote, backslash or control as ``_``;
    ``download`` when nothing is left) and, when that differs from a non-empty ``filename``, the
    exact name as UTF-8 in ``filename*`` (which browsers prefer)."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in filename) or "download"
    value = f'attachment; filename="{fallback}"'
    if filename and fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def check_prefix(prefix: str) -> str:
    """``prefix`` when it is non-empty, relative, ends with ``/`` and has no empty segment;
    otherwise ``ValueError`` (a guard for deleting "everything under" a prefix)."""
    if not prefix or not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix:
        raise ValueError(f"prefix {prefix!r} must be non-empty, relative and end with '/'")
    return prefix


class ObjectStorage(ABC):
    """Buckets of objects: bytes under a key, with an ETag, a size and a storage class.

    Keys sort by their UTF-8 bytes (code point order). Every operation MAY be retried, and
    every one MUST raise :class:`~chalicelib.adapters.errors.TransientError` for throttling,
    server errors and network failures (the caller retries); other failures (access denied,
    a bucket that does not exist) are errors of the deployment and pass unchanged.

    Reading:

    - ``head`` MUST return ``None`` for a missing object (never raise).
    - ``get_bytes`` / ``get_text`` MUST return ``None`` for a missing object, MUST raise
      :class:`TooLarge` rather than read more than ``max_bytes``, and MUST raise
      :class:`NeedsRestore` for an object that needs a restore first.
    - ``iter_chunks`` MUST stream the object (never read it whole into memory) and raise
      :class:`ObjectNotFound` when it is missing, :class:`NeedsRestore` when it needs a
      restore (both when iterated, not when called).
    - ``list`` MUST yield every object under the prefix whose key sorts after
      ``start_after``, in key order, following pagination.
    - ``objects`` MUST yield every object under the prefix in key order with its storage
      class and, for :data:`NEEDS_RESTORE` classes, its restore state.

    Links and restores:

    - ``link`` / ``upload_link`` MUST return a URL that lets anyone holding it read
      (``GET``) / write (``PUT``) that one object for ``expires`` seconds (presigned).
    - ``download_link`` likewise for ``GET``, and the answer MUST carry the header
      ``Content-Disposition: <attachment(filename)>`` (a browser saves it as ``filename``).
    - ``upload_form`` MUST return an :class:`UploadForm` that lets anyone holding it write
      objects of at most ``max_bytes`` under ``prefix`` (and nowhere else) for ``expires``
      seconds, one POST per object, with ``prefix`` as its ``key_prefix`` and no ``key`` among
      its fields (the client names each object). It MUST refuse (``ValueError``) a prefix
      :func:`check_prefix` refuses: a form for a whole bucket is never handed out.
    - ``restore`` starts making a readable copy of an archived object for ``days`` days
      (``tier``: how fast, e.g. ``Bulk``). It MUST be idempotent: asking again while a
      restore is ongoing or done, or for an object that needs no restore, is not an error.
      After it, ``objects`` MUST report the restore as ongoing or done. A missing object
      MUST raise :class:`ObjectNotFound`.

    Writing:

    - ``put`` MUST store the whole object or nothing, in the STANDARD class, and return
      its ETag (unquoted; the md5 of the bytes for a plain upload), the one ``head`` and
      ``list`` report; it overwrites. ``put_file`` likewise for a local file, streamed
      (never read whole into memory), in as many parts as its size needs.
    - ``copy`` is a server-side copy that MUST raise :class:`SourceChanged` when the source
      is missing or its ETag is not ``if_match`` (quoted or not), MUST handle sources larger
      than 5 GB and MUST overwrite the destination (so a repeated copy is harmless). It
      SHOULD NOT leave an object at the destination when it raises ``SourceChanged`` (one
      there before is removed too). It MUST raise :class:`NeedsRestore` for a source that
      needs a restore. The copy is stored in the storage class the implementation was
      configured with (never one of :data:`NEEDS_RESTORE`); ``cold`` tags it :data:`COLD_TAG`.
    - ``delete_prefix`` MUST delete every object under ``prefix`` and return how many; it
      MUST refuse (``ValueError``, deleting nothing) a prefix :func:`check_prefix` refuses.
    """

    # -- reading ---------------------------------------------------------------------------
    @abstractmethod
    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        """The object's metadata, or ``None`` when it does not exist."""

    @abstractmethod
    def get_bytes(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        """The object's bytes, or ``None`` when it does not exist."""

    def get_text(self, bucket: str, key: str, max_bytes: int) -> str | None:
        """The object's bytes decoded as UTF-8, or ``None`` when it does not exist."""
        data = self.get_bytes(bucket, key, max_bytes)
        return None if data is None else data.decode("utf-8")

    @abstractmethod
    def iter_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks of at most :data:`CHUNK` bytes."""

    @abstractmethod
    def list(self, bucket: str, prefix: str, start_after: str = "") -> Iterator[ObjectMeta]:
        """Every object under ``prefix`` whose key sorts after ``start_after``, in key order."""

    @abstractmethod
    def objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        """Every object under ``prefix`` in key order, with its storage class and restore state."""

    # -- links and restores ------------------------------------------------------------------
    @abstractmethod
    def link(self, bucket: str, key: str, expires: int) -> str:
        """A URL to download the object, valid ``expires`` seconds."""

    @abstractmethod
    def download_link(self, bucket: str, key: str, expires: int, filename: str) -> str:
        """A URL to download the object as an attachment saved as ``filename``, valid ``expires`` seconds."""

    @abstractmethod
    def upload_link(self, bucket: str, key: str, expires: int) -> str:
        """A URL to upload the object with one ``PUT``, valid ``expires`` seconds."""

    @abstractmethod
    def upload_form(self, bucket: str, prefix: str, expires: int, max_bytes: int) -> UploadForm:
        """A form to upload files of at most ``max_bytes`` under ``prefix``, valid ``expires`` seconds."""

    @abstractmethod
    def restore(self, bucket: str, key: str, days: int, tier: str) -> None:
        """Start a restore of an archived object (idempotent)."""

    # -- writing -----------------------------------------------------------------------------
    @abstractmethod
    def put(self, bucket: str, key: str, data: bytes, *, content_type: str | None = None) -> str:
        """Store ``data`` under ``key``; its ETag."""

    @abstractmethod
    def put_file(self, bucket: str, key: str, path: Path) -> str:
        """Store the local file ``path`` under ``key``, streamed; its ETag."""

    @abstractmethod
    def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str, *, if_match: str, cold: bool = False
    ) -> None:
        """``cold``: tag the copy ``archive-tier=cold`` (payload files). The archive bucket's
        lifecycle rule moves only such objects to DEEP_ARCHIVE, so that the tag files stay
        readable for fixity audits without a restore."""

    @abstractmethod
    def delete_prefix(self, bucket: str, prefix: str) -> int:
        """Delete every object under ``prefix``; how many were deleted."""
