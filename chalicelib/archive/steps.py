"""The five archival steps over the catalogue and S3, as the worker runs them.

Each step reads what the previous one staged (``staging/<archive id>/`` in the archive
bucket) and is safe to run again. The AIP of an archive lives under
``aips/<dataset uuid>/<archive id>/``; every archive of a dataset (each content version)
keeps its own AIP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.object_storage import ObjectStorage, SourceChanged
from chalicelib.archive import aip
from chalicelib.archive.model import Archive
from chalicelib.archive.sip import SipRejected, load_sip, stage_sip, staging_prefix, validate_sip
from chalicelib.archive.sources import Entry, UnsupportedSource, is_serialized, sip_entries, split_s3
from chalicelib.archive.worker import Step
from chalicelib.domain import REGISTERED
from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.limits import DEFAULT_LIMITS, BagLimits
from chalicelib.ingest.bags.s3_reader import extracted_bag
from chalicelib.ingest.bags.targets import BagTarget


def aip_prefix(archive: Archive) -> str:
    return f"aips/{archive.dataset_uuid}/{archive.archive_id}/"


class DatasetChanged(Exception):
    """The dataset's content is no longer the version the archive was requested for."""


class ArchiveSteps:
    def __init__(
        self,
        repo: Repository,
        store: ObjectStorage,
        writer: ObjectStorage,
        bucket: str,
        *,
        storage_class: str = "STANDARD",
        clock: Callable[[], float] = time.time,
        limits: BagLimits = DEFAULT_LIMITS,
        tmp_root: str | None = None,
        add_replica: Callable[[str, str, str, str], str] | None = None,
    ) -> None:
        self._add_replica = add_replica
        self._limits = limits
        self._tmp_root = tmp_root
        self._repo = repo
        self._store = store
        self._writer = writer
        self._bucket = bucket
        self._storage_class = storage_class
        self._clock = clock

    def mapping(self) -> dict[str, Step]:
        return {
            "validate": self.validate,
            "build": self.build,
            "store": self.store,
            "verify": self.verify,
            "register": self.register,
        }

    def validate(self, archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
        dataset = self._repo.get_dataset(archive.dataset_uuid, archive.entry_base_uri)
        if dataset is None or dataset.deleted or dataset.status != REGISTERED:
            raise SipRejected([f"dataset {archive.dataset_uuid} is no longer registered"])
        if dataset.content.content_hash() != archive.content_hash:
            raise DatasetChanged(
                f"dataset {archive.dataset_uuid} changed after the archive was requested: request a new archive"
            )
        try:
            if is_serialized(archive.source_uri):
                entries = self._stage_serialized(archive)
            else:
                entries = sip_entries(self._store, dataset, archive.source_uri)
        except UnsupportedSource as exc:
            raise SipRejected([str(exc)]) from exc
        sip = validate_sip(
            self._store,
            entries,
            archive_id=archive.archive_id,
            record=dataset.detail_dict(),
            source_uris=tuple(r.uri for r in dataset.replicas),
        )
        stage_sip(self._writer, self._bucket, archive.archive_id, sip)
        return {"files": len(sip.files), "bytes": sip.total_bytes}, {}

    def _stage_serialized(self, archive: Archive) -> list[Entry]:
        """A serialized bag's payload, extracted and validated again (it may have been replaced
        since it was registered), staged as objects for the next steps to read."""
        bucket, key = split_s3(archive.source_uri)
        target = BagTarget(bucket, key, serialized=True)
        payload = f"{staging_prefix(archive.archive_id)}payload/"
        entries = []
        try:
            with extracted_bag(self._store, target, self._limits, self._tmp_root) as found:
                if found is None:
                    raise SipRejected([f"{archive.source_uri} is gone"])
                bag_dir, info, _ = found
                for item in info.items:
                    staged = payload + item.relpath
                    self._writer.put_file(self._bucket, staged, bag_dir / item.relpath)
                    algorithm, digest = ("sha256", item.sha256) if item.sha256 else ("sha512", item.sha512 or "")
                    relpath = item.relpath.removeprefix("data/")
                    entries.append(Entry(relpath, self._bucket, staged, item.size, algorithm, digest))
        except BagRefused as exc:
            raise SipRejected(exc.reasons) from exc
        return entries

    def build(self, archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
        sip = load_sip(self._store, self._bucket, archive.archive_id)
        events = [
            {
                "eventType": "ingestion start",
                "eventDateTime": _iso(archive.requested_at),
                "eventOutcome": "success",
                "eventDetail": f"archive requested by {archive.requested_by} from {archive.source_uri}",
                "linkingObject": archive.dataset_uuid,
            },
            {
                "eventType": "validation",
                "eventDateTime": _iso(archive.steps["validate"].ended_at or archive.requested_at),
                "eventOutcome": "success",
                "eventDetail": f"{len(sip.files)} files present with the sizes of the catalogue's manifest",
                "linkingObject": archive.dataset_uuid,
            },
        ]
        # the same `now` on every attempt: a retried build writes identical tag files
        plan = aip.build_aip(self._store, self._writer, self._bucket, sip, events, now=archive.requested_at)
        return {"objects": plan.object_count, "bytes": plan.total_bytes}, {}

    def store(self, archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
        plan = aip.load_plan(self._store, self._bucket, archive.archive_id)
        try:
            stored = aip.store_aip(self._writer, plan, self._bucket, aip_prefix(archive))
        except SourceChanged:
            # never leave a partial AIP behind: it has no tag manifest, but remove it anyway
            self._writer.delete_prefix(self._bucket, aip_prefix(archive))
            raise
        fields = {
            "aip_uri": stored.uri,
            "aip_bytes": stored.total_bytes,
            "aip_objects": stored.object_count,
            "tagmanifest_sha256": stored.tagmanifest_sha256,
            "storage_class": self._storage_class,
        }
        return {"uri": stored.uri, "objects": stored.object_count}, fields

    def verify(self, archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
        plan = aip.load_plan(self._store, self._bucket, archive.archive_id)
        mismatches = aip.verify_aip(self._store, plan, self._bucket, aip_prefix(archive))
        if mismatches:
            raise FixityMismatch("; ".join(mismatches[:20]))
        now = self._clock()
        fixity = {"checked_at": now, "ok": True, "files_checked": plan.object_count, "mismatches": []}
        return {"verified": plan.object_count}, {"fixity": fixity}

    def register(self, archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
        replica = "skipped"
        if self._add_replica is not None:
            # the AIP becomes a replica, in the dataset's entry under the archive base URI
            replica = self._add_replica(
                archive.dataset_uuid, archive.entry_base_uri, archive.content_hash, archive.aip_uri.rstrip("/")
            )
        # The plan stays staged until here so that a retried verify can still read it.
        aip.cleanup_staging(self._writer, self._bucket, archive.archive_id)
        return {"aip_uri": archive.aip_uri, "replica": replica}, {}


class FixityMismatch(Exception):
    """The stored AIP does not hash to the plan: the archive fails (and keeps the evidence)."""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
