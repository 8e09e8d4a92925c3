"""The periodic fixity audit: AIPs re-read from the archive bucket, damage recorded and alarmed.

The staging plan is deleted once an archive is registered, so the audit works from the AIP
itself, a BagIt bag under ``aips/<dataset uuid>/<archive id>/``:

* the prefix is listed once: every file the manifests name must be there (``missing``) and
  nothing else may be (``unexpected object``); the listed payload bytes and file count must
  equal bag-info's ``Payload-Oxum``;
* ``tagmanifest-sha256.txt`` must hash to the ``tagmanifest_sha256`` recorded on the archive
  when it was stored. That is the anchor: a tag manifest replaced together with a tampered
  ``manifest-sha256.txt`` (a consistent bag of other bytes) is caught here;
* every tag file is re-hashed against the tag manifest, and a random ``fraction`` of the
  payload files (at least one when ``fraction > 0``) against ``manifest-sha256.txt``.

Sample and period. :func:`run_fixity_audit` audits the archives least recently checked
first, ``ceil(archives / period_days)`` per run (more when some are overdue, at most
``max_archives``), so that run daily it audits every AIP once every ``period_days``. Presence,
Payload-Oxum and the tag files are checked completely at every audit; the bytes of a given
payload file are re-hashed with probability ``fraction`` per audit. A damaged file therefore
goes unnoticed for ``k`` periods with probability ``(1 - fraction) ** k``, and on average
for ``period_days / fraction`` days (0.05 and 30 days: about 600 days; ``fraction=1`` re-reads
every byte each period). Every byte re-read costs GET requests (and, outside STANDARD storage,
retrieval fees): choose ``fraction`` as bytes-per-period you are willing to pay for.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import re
import time
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamodb.archives import ArchiveRepository
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.object_storage import NeedsRestore, ObjectStorage
from chalicelib.archive import aip, model
from chalicelib.archive.archives import record_audit
from chalicelib.archive.model import Archive
from chalicelib.archive.sip import DEFAULT_MAX_FILES, MAX_STAGED_JSON_BYTES, MiB
from chalicelib.archive.steps import aip_prefix
from chalicelib.errors import VersionConflict
from chalicelib.ingest.bags.bag_info import parse_bag_info
from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.limits import BagLimits
from chalicelib.ingest.bags.tag_files import parse_manifest, parse_tag_manifest
from chalicelib.metrics import emf_line

log = logging.getLogger(__name__)

METRIC_NAMESPACE = "Catalogue/Archive"
AUDITOR = "fixity-audit"
AUDITED_STATUSES = (model.ARCHIVED, model.FIXITY_FAILED)
DAY_SECONDS = 86_400.0
MAX_SAVE_ATTEMPTS = 5
MAX_REPORTED_MISMATCHES = 5  # per failed archive in the run's report
MAX_AUDITED_MISMATCHES = 20  # in the audit entry (DynamoDB items are at most 400 KB)
# with_status reads newest first: a cap on it would hide exactly the archives checked
# longest ago. Reaching this many per status is reported (``truncated``).
MAX_LISTED_PER_STATUS = 100_000
MAX_TAG_FILE_BYTES = 64 * MiB

# Anything build_aip can write must parse: as many manifest lines as an AIP has files, and
# the plan's own memory budget for the payload manifest.
AIP_LIMITS = BagLimits(
    max_files=DEFAULT_MAX_FILES,
    max_manifest_lines=DEFAULT_MAX_FILES,
    max_manifest_bytes=MAX_STAGED_JSON_BYTES,
    max_bag_info_bytes=MAX_TAG_FILE_BYTES,
)
_OXUM = re.compile(r"([0-9]+)\.([0-9]+)")
_PAYLOAD_MANIFEST = "manifest-sha256.txt"


def audit_archive(
    store: ObjectStorage, bucket: str, archive: Archive, fraction: float, rng: random.Random
) -> tuple[list[str], int]:
    """Audit one AIP: ``(mismatches, files re-hashed)``; no mismatches means intact.

    Each mismatch is one line naming the bag path. Raises
    :class:`~chalicelib.adapters.errors.TransientError` for throttling and network trouble,
    :class:`~chalicelib.adapters.object_storage.NeedsRestore` when a tag file needs a restore,
    and the storage's own error when a tag file cannot be read otherwise; the archive was
    then not audited. Payload files that need a restore (DEEP_ARCHIVE) are checked by size
    only: the tag files stay in a readable class (only payload objects carry the cold tag).
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction {fraction} is not between 0 and 1")
    prefix = aip_prefix(archive)
    listed = {meta.key[len(prefix) :]: meta.size for meta in store.list(bucket, prefix)}
    mismatches: list[str] = []
    checked = 0

    try:
        tag_manifest = _read_tag_file(store, bucket, prefix, aip.TAG_MANIFEST, listed)
    except _Oversized as exc:
        return [str(exc)], 0
    if tag_manifest is None:
        return [f"{aip.TAG_MANIFEST!r}: missing"], 0
    checked += 1
    recorded = archive.tagmanifest_sha256
    actual = hashlib.sha256(tag_manifest).hexdigest()
    if not recorded:
        mismatches.append(f"{aip.TAG_MANIFEST!r}: no sha256 was recorded when the AIP was stored")
    elif actual != recorded:
        mismatches.append(f"{aip.TAG_MANIFEST!r}: sha256 {actual}, recorded at archive time {recorded}")
    tag_digests = _parse(mismatches, aip.TAG_MANIFEST, tag_manifest, parse_tag_manifest)
    if tag_digests is None:
        return mismatches, checked
    if _PAYLOAD_MANIFEST not in tag_digests:
        mismatches.append(f"{aip.TAG_MANIFEST!r}: does not list {_PAYLOAD_MANIFEST}")

    tag_bytes: dict[str, bytes] = {}
    for path, expected in sorted(tag_digests.items()):
        try:
            data = _read_tag_file(store, bucket, prefix, path, listed)
        except _Oversized as exc:
            mismatches.append(str(exc))
            continue
        if data is None:
            mismatches.append(f"{path!r}: missing")
            continue
        checked += 1
        tag_bytes[path] = data
        if (digest := hashlib.sha256(data).hexdigest()) != expected:
            mismatches.append(f"{path!r}: sha256 {digest}, expected {expected}")

    payload: dict[str, str] = {}
    if _PAYLOAD_MANIFEST in tag_bytes:
        payload = _parse(mismatches, _PAYLOAD_MANIFEST, tag_bytes[_PAYLOAD_MANIFEST], parse_manifest) or {}
    for path in sorted(payload):
        if path not in listed:
            mismatches.append(f"{path!r}: missing")
    known = {aip.TAG_MANIFEST, *tag_digests, *payload}
    mismatches += [f"{path!r}: unexpected object (not in the bag's manifests)" for path in sorted(set(listed) - known)]
    if "bag-info.txt" in tag_bytes and payload:
        mismatches += _oxum_problems(tag_bytes["bag-info.txt"], payload, listed)

    present = sorted(p for p in payload if p in listed)
    count = 0 if fraction == 0 or not present else min(len(present), max(1, math.ceil(fraction * len(present))))
    for path in sorted(rng.sample(present, count)):
        try:
            problem = _check_payload(store, bucket, prefix + path, path, listed[path], payload[path])
        except NeedsRestore:
            # in DEEP_ARCHIVE (tagged cold): its size was checked from the listing above;
            # re-hashing it needs a restore, which the audit does not start
            log.info("fixity: %r is in cold storage, size checked only", prefix + path)
            continue
        checked += 1
        if problem is not None:
            mismatches.append(problem)
    return mismatches, checked


def run_fixity_audit(
    archives: ArchiveRepository,
    repo: Repository,
    store: ObjectStorage,
    bucket: str,
    *,
    fraction: float,
    rng: random.Random,
    clock: Callable[[], float] = time.time,
    metrics: Callable[[str], None] = print,
    period_days: int = 30,
    max_archives: int = 1000,
    stage: str = "local",
) -> dict[str, Any]:
    """One run of the audit (daily): the archives least recently checked, see the module doc.

    Each audited archive gets ``fixity_checked`` (status ``fixity_failed`` on a mismatch, back
    to ``archived`` once intact again), saved against its version (re-read and re-applied on
    a conflict); an audit entry is written only when the status changes. An archive that
    could not be read (throttling, a restore needed) or that changed status meanwhile is
    ``skipped`` and stays first in line. One EMF line (``Catalogue/Archive``): ``FixityChecked``,
    ``FixityFailures`` (archives with a mismatch: the alarm metric; a failed AIP counts again
    at each audit until repaired) and ``FixitySkipped``.

    Returns ``{"checked": n, "files_checked": n, "failed": [{"id", "dataset", "mismatches"}],
    "skipped": [{"id", "reason"}], "not_due": n, "truncated": bool}``.
    """
    if period_days < 1 or max_archives < 1:
        raise ValueError("period_days and max_archives must be at least 1")
    listed = [archives.with_status(s, MAX_LISTED_PER_STATUS) for s in AUDITED_STATUSES]
    candidates = sorted((a for found in listed for a in found), key=lambda a: (_checked_at(a), a.archive_id))
    overdue_before = clock() - period_days * DAY_SECONDS
    overdue = sum(1 for a in candidates if _checked_at(a) <= overdue_before)
    budget = min(max_archives, max(math.ceil(len(candidates) / period_days), overdue))

    checked = files = 0
    failed: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for archive in candidates[:budget]:
        try:
            mismatches, count = audit_archive(store, bucket, archive, fraction, rng)
        except (TransientError, NeedsRestore) as exc:
            skipped.append({"id": archive.archive_id, "reason": _read_error(exc)})
            continue
        except Exception as exc:  # one broken record must not stop the audit of all the others
            log.exception("fixity audit of %s failed", archive.archive_id)
            skipped.append({"id": archive.archive_id, "reason": f"{type(exc).__name__}: {exc}"})
            continue
        saved = _save(archives, repo, archive.archive_id, clock, mismatches, count)
        if saved is None:
            skipped.append({"id": archive.archive_id, "reason": "changed status or kept changing meanwhile"})
            continue
        checked += 1
        files += count
        if mismatches:
            failed.append(
                {
                    "id": archive.archive_id,
                    "dataset": archive.dataset_uuid,
                    "mismatches": mismatches[:MAX_REPORTED_MISMATCHES],
                }
            )
    metrics(_metric_line(clock(), stage, checked, len(failed), len(skipped)))
    return {
        "checked": checked,
        "files_checked": files,
        "failed": failed,
        "skipped": skipped,
        "not_due": len(candidates) - min(budget, len(candidates)),
        "truncated": any(len(found) >= MAX_LISTED_PER_STATUS for found in listed),
    }


def _checked_at(archive: Archive) -> float:
    value = archive.fixity.get("checked_at")
    return float(value) if isinstance(value, int | float) else 0.0


def _save(
    archives: ArchiveRepository,
    repo: Repository,
    archive_id: str,
    clock: Callable[[], float],
    mismatches: list[str],
    count: int,
) -> Archive | None:
    for _ in range(MAX_SAVE_ATTEMPTS):
        # the listing comes from a GSI (possibly stale): apply to the current record
        current = archives.get(archive_id)
        if current is None or current.status not in AUDITED_STATUSES:
            return None
        new = model.fixity_checked(current, clock(), mismatches, count)
        try:
            archives.save(new, current.version)
        except VersionConflict:
            continue
        if new.status != current.status:
            value = {"status": new.status, "mismatches": mismatches[:MAX_AUDITED_MISMATCHES]}
            record_audit(repo, new, "edit", AUDITOR, value)
        return new
    return None


class _Oversized(Exception):
    """A tag file larger than any the archive writes: not read into memory."""


def _read_tag_file(store: ObjectStorage, bucket: str, prefix: str, path: str, listed: dict[str, int]) -> bytes | None:
    """The bytes of a tag file, streamed; ``None`` when it is not there."""
    size = listed.get(path)
    if size is None:
        return None
    cap = AIP_LIMITS.max_manifest_bytes if path == _PAYLOAD_MANIFEST else MAX_TAG_FILE_BYTES
    if size > cap:
        raise _Oversized(f"{path!r}: {size} bytes, more than the {cap} a tag file of an AIP may have")
    chunks = []
    try:
        for chunk in aip.stream_object(store, bucket, prefix + path):
            chunks.append(chunk)
    except aip.ObjectGone:
        return None
    return b"".join(chunks)


def _parse(
    mismatches: list[str], path: str, data: bytes, parser: Callable[..., dict[str, str]]
) -> dict[str, str] | None:
    try:
        return parser(data.decode("utf-8"), "sha256", AIP_LIMITS, source=path)
    except UnicodeDecodeError:
        mismatches.append(f"{path!r}: not UTF-8")
    except BagRefused as exc:
        mismatches.append(f"{path!r}: unreadable: {'; '.join(exc.reasons[:3])}")
    return None


def _oxum_problems(bag_info: bytes, payload: dict[str, str], listed: dict[str, int]) -> list[str]:
    try:
        values = [
            v.strip()
            for k, vs in parse_bag_info(bag_info.decode("utf-8"), AIP_LIMITS).items()
            for v in vs
            if k.casefold() == "payload-oxum"
        ]
    except (UnicodeDecodeError, BagRefused):
        return ["'bag-info.txt': unreadable"]
    match = _OXUM.fullmatch(values[0]) if len(values) == 1 else None
    if match is None:
        return [f"'bag-info.txt': Payload-Oxum {values!r} is not one '<octets>.<files>'"]
    octets, files = int(match.group(1)), int(match.group(2))
    if files != len(payload):
        return [f"'bag-info.txt': Payload-Oxum says {files} files, the manifest lists {len(payload)}"]
    total = sum(listed.get(p, 0) for p in payload)
    if all(p in listed for p in payload) and total != octets:
        return [f"'data/': {total} bytes stored, Payload-Oxum says {octets}"]
    return []


def _check_payload(store: ObjectStorage, bucket: str, key: str, path: str, size: int, expected: str) -> str | None:
    try:
        count, digest, _ = aip.hash_object(store, bucket, key, size)
    except aip.ObjectGone:
        return f"{path!r}: missing"
    if count != size:
        return f"{path!r}: read {'more than ' if count > size else ''}{count} bytes, listed with {size}"
    if digest != expected:
        return f"{path!r}: sha256 {digest}, expected {expected}"
    return None


def _read_error(exc: Exception) -> str:
    if isinstance(exc, NeedsRestore):
        return f"needs a restore before it can be read (archival storage class): {exc}"
    return f"{type(exc).__name__}: {exc}"


def _metric_line(now: float, stage: str, checked: int, failures: int, skipped: int) -> str:
    """One CloudWatch Embedded Metric Format line with the dimension ``Stage`` (two stages
    in one account must not share an alarm)."""
    values = {"FixityChecked": checked, "FixityFailures": failures, "FixitySkipped": skipped}
    return emf_line(METRIC_NAMESPACE, values, {"Stage": stage}, now)
