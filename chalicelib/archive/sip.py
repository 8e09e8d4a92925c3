"""The SIP side of archiving (OAIS: the Submission Information Package).

:func:`validate_sip` checks the dataset's manifest items against the source objects (safe
names, presence, sizes, caps) and returns a :class:`Sip`; :func:`stage_sip` /
:func:`load_sip` keep it at ``staging/<id>/sip.json`` in the archive bucket. The staging key
helpers and the manifest digest checks used by :mod:`chalicelib.archive.aip` live here too.

Errors: :class:`SipRejected` (hostile or broken input: never retry);
:class:`~chalicelib.adapters.errors.TransientError` (throttling, 5xx, timeouts: retry the step).

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
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from chalicelib.adapters.object_storage import ObjectMeta, ObjectStorage
from chalicelib.ingest.bags.paths import bagit_manifest_view, encode_manifest_path, nfc, path_problem
from chalicelib.reasons import Reasons

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB

DEFAULT_MAX_FILES = 1_000_000
DEFAULT_MAX_TOTAL_BYTES = 5 * TiB
#: S3 keys are at most 1024 bytes: ``<aip prefix>data/<relpath>`` must fit.
DEFAULT_MAX_RELPATH_BYTES = 900
MAX_COMPONENT_BYTES = 255  # a file name on every common file system (restores, bagit on disk)
MAX_REASONS = 50
MAX_STAGED_JSON_BYTES = 4 * GiB

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


# --------------------------------------------------------------------------- errors


class SipRejected(Exception):
    """The SIP is hostile or broken; ``reasons`` name the path and the rule. Never retried."""

    def __init__(self, reasons: Iterable[str]) -> None:
        self.reasons: list[str] = list(reasons) or ["SIP rejected"]
        shown = "; ".join(self.reasons[:3])
        more = len(self.reasons) - 3
        super().__init__(shown + (f" (+{more} more)" if more > 0 else ""))


# --------------------------------------------------------------------------- keys


def check_archive_id(archive_id: str) -> str:
    """``archive_id`` if it is safe inside a key (staging prefixes are deleted by it)."""
    if not _ARCHIVE_ID.fullmatch(archive_id) or archive_id in (".", ".."):
        raise ValueError(f"archive id {archive_id!r} must match {_ARCHIVE_ID.pattern}")
    return archive_id


def staging_prefix(archive_id: str) -> str:
    return f"staging/{check_archive_id(archive_id)}/"


def sip_key(archive_id: str) -> str:
    return staging_prefix(archive_id) + "sip.json"


def plan_key(archive_id: str) -> str:
    return staging_prefix(archive_id) + "plan.json"


def staged_tag_key(archive_id: str, path: str) -> str:
    return staging_prefix(archive_id) + "bag/" + path


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


def _heads(store: ObjectStorage, files: Sequence[SipCandidate]) -> dict[tuple[str, str], ObjectMeta]:
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
    store: ObjectStorage,
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


def _read_staged(store: ObjectStorage, bucket: str, key: str) -> str:
    text = store.get_text(bucket, key, MAX_STAGED_JSON_BYTES)
    if text is None:
        raise FileNotFoundError(f"s3://{bucket}/{key} is not staged")
    return text


def stage_sip(writer: ObjectStorage, bucket: str, archive_id: str, sip: Sip) -> str:
    """Write the SIP to ``staging/<archive_id>/sip.json``; return the key."""
    if sip.archive_id != archive_id:
        raise ValueError(f"SIP of {sip.archive_id} staged as {archive_id}")
    key = sip_key(archive_id)
    writer.put(bucket, key, sip.to_json().encode("utf-8"))
    return key


def load_sip(store: ObjectStorage, bucket: str, archive_id: str) -> Sip:
    """The staged SIP (``FileNotFoundError`` when it is not staged)."""
    return Sip.from_json(_read_staged(store, bucket, sip_key(archive_id)))
