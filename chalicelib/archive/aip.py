"""The AIP side of archiving (OAIS: SIP → AIP), each step a function over ports, each safe to run again.

Every step runs in its own Lambda invocation, so each reads its inputs from S3 and stages
its outputs under ``staging/<archive_id>/`` in the archive bucket; the SIP is validated and
staged by :mod:`chalicelib.archive.sip`, then:

1. :func:`build_aip` streams every source file once (sha256, and the SIP's own digest when
   it can be checked), writes the bag's tag files to ``staging/<id>/bag/`` and the
   :class:`AipPlan` to ``staging/<id>/plan.json`` (:func:`load_plan`).
2. :func:`store_aip` copies the payload (server-side, guarded by the ETag seen at
   validation) and the staged tag files to the AIP prefix.
3. :func:`verify_aip` re-reads every stored object against the plan;
   :func:`verify_sample` does the same for a sample (the periodic fixity audit).
4. :func:`cleanup_staging` removes ``staging/<id>/``.

The AIP is a BagIt 1.0 bag (RFC 8493) stored as objects: ``<prefix>bagit.txt``,
``bag-info.txt``, ``manifest-sha256.txt``, ``metadata/catalogue.json``,
``metadata/premis.json``, ``tagmanifest-sha256.txt`` and ``data/<relpath>`` for every file.

Errors: :class:`~chalicelib.archive.sip.SipRejected` (a source file's bytes do not match
its manifest: never retry), :class:`~chalicelib.adapters.object_storage.SourceChanged` (a source
object changed after validation: fail the archive, a new archive picks up the new content),
:class:`~chalicelib.adapters.errors.TransientError` (throttling, 5xx, timeouts: retry the step).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from chalicelib.adapters.object_storage import ObjectNotFound, ObjectStorage, SourceChanged, check_prefix
from chalicelib.archive.sip import (
    MAX_REASONS,
    Sip,
    SipRejected,
    _expected_check,
    _read_staged,
    plan_key,
    staged_tag_key,
    staging_prefix,
)
from chalicelib.ingest.bags.paths import encode_manifest_path
from chalicelib.reasons import Reasons

MAX_S3_KEY_BYTES = 1024
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


def load_plan(store: ObjectStorage, bucket: str, archive_id: str) -> AipPlan:
    """The staged plan (``FileNotFoundError`` when it is not staged)."""
    return AipPlan.from_json(_read_staged(store, bucket, plan_key(archive_id)))


class ObjectGone(Exception):
    """An object that was listed or recorded no longer exists (raised by :func:`stream_object`)."""


def stream_object(store: ObjectStorage, bucket: str, key: str) -> Generator[bytes, None, None]:
    """The object's chunks; ObjectGone when it does not exist (and the storage's TransientError
    for network trouble, NeedsRestore for an object in an archival class)."""
    try:
        yield from store.iter_chunks(bucket, key)
    except ObjectNotFound as exc:
        raise ObjectGone(f"s3://{bucket}/{key}") from exc


def hash_object(
    store: ObjectStorage, bucket: str, key: str, size: int, extra: str | None = None
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
    store: ObjectStorage,
    writer: ObjectStorage,
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


def store_aip(writer: ObjectStorage, plan: AipPlan, archive_bucket: str, aip_prefix: str) -> StoredAip:
    """Copy the payload to ``<aip_prefix>data/<relpath>`` and the staged tag files beside it.

    Payload copies carry the ETag seen at validation; a source changed since then raises
    :class:`SourceChanged` (fail the archive). What is left then: the payload objects copied
    before it, and no tag files (they are copied after the payload, the tag manifest last),
    so the prefix never looks like a complete bag; ``writer.delete_prefix`` removes it.
    Running it again overwrites the same objects with the same bytes.
    """
    check_prefix(aip_prefix)
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
    store: ObjectStorage, bucket: str, key: str, expected: _Expected, listed_size: int | None
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


def verify_aip(store: ObjectStorage, plan: AipPlan, archive_bucket: str, aip_prefix: str) -> list[str]:
    """Re-read every object of the AIP: mismatches, one line naming the bag path each (empty: OK).

    The prefix is listed once: a missing object, another size, other bytes (sha256) and an
    object the plan does not know are mismatches.
    """
    check_prefix(aip_prefix)
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
    store: ObjectStorage, plan: AipPlan, bucket: str, prefix: str, fraction: float, rng: random.Random
) -> Sampled:
    """Check the tag files and a random ``fraction`` of the payload files (at least one when
    ``fraction > 0``); each sampled object is HEADed, then streamed."""
    check_prefix(prefix)
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction {fraction} is not between 0 and 1")
    payload = list(plan.payload)
    count = 0 if fraction == 0 or not payload else min(len(payload), max(1, math.ceil(fraction * len(payload))))
    chosen = [_Expected(e.path, e.size, e.sha256) for e in rng.sample(payload, count)]
    chosen += [_Expected(t.path, t.size, t.sha256) for t in plan.tag_files]
    mismatches = []
    for expected in chosen:
        key = prefix + expected.path
        meta = store.head(bucket, key)
        problem = _check_object(store, bucket, key, expected, None if meta is None else meta.size)
        if problem is not None:
            mismatches.append(problem)
    return Sampled(mismatches, len(chosen))


def cleanup_staging(writer: ObjectStorage, bucket: str, archive_id: str) -> int:
    """Delete ``staging/<archive_id>/``; return how many objects were deleted."""
    return writer.delete_prefix(bucket, staging_prefix(archive_id))
