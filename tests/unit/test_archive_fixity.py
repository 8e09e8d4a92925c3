"""The periodic fixity audit over AIPs built by the real pipeline (in memory): damage is found
from the AIP alone, recorded once per change of status and counted for the alarm."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.object_storage import ObjectStorage
from chalicelib.archive import aip, model
from chalicelib.archive.fixity import audit_archive, run_fixity_audit
from chalicelib.archive.model import Archive
from chalicelib.archive.steps import aip_prefix
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.domain import AuditEntry
from tests.fakes.archives import InMemoryArchiveRepository
from tests.unit.test_archive_steps import ARCHIVE_BUCKET, Rig, _archived
from tests.unit.test_ingest import DtoolDataset

TAG_PATHS = {
    "bagit.txt",
    "bag-info.txt",
    "manifest-sha256.txt",
    "metadata/catalogue.json",
    "metadata/premis.json",
    aip.TAG_MANIFEST,
}


@pytest.fixture
def rig() -> Rig:
    return Rig()


def _archive(rig: Rig, items: dict[str, bytes] | None = None) -> Archive:
    ds = DtoolDataset(items=items) if items is not None else DtoolDataset()
    ds.put(rig.world.store)
    assert rig.world.created(ds.key("dtool")).status == "created"
    return _archived(rig, ds.uuid)


class Run:
    """One audit run over the rig; keeps the metric lines it emitted."""

    def __init__(self, rig: Rig, store: ObjectStorage | None = None) -> None:
        self.rig = rig
        self.store = store or rig.world.store
        self.lines: list[str] = []

    def __call__(self, fraction: float = 1.0, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("clock", time.time)
        return run_fixity_audit(
            self.rig.archives,
            self.rig.world.repo,
            self.store,
            ARCHIVE_BUCKET,
            fraction=fraction,
            rng=random.Random(7),
            metrics=self.lines.append,
            stage="test",
            **kwargs,
        )

    def metric(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.lines[-1])
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Catalogue/Archive"
        assert {m["Name"] for m in directive["Metrics"]} >= {"FixityChecked", "FixityFailures"}
        assert directive["Dimensions"] == [["Stage"]] and doc["Stage"] == "test"
        return doc


def _audit_entries(rig: Rig, archive: Archive) -> list[AuditEntry]:
    entries, _ = rig.world.repo.list_audit(dataset_subject(archive.dataset_uuid, archive.entry_base_uri), 100, None)
    return [e for e in entries if e.entity_id == archive.archive_id]


def _put(rig: Rig, archive: Archive, path: str, data: bytes) -> None:
    rig.world.store.put(ARCHIVE_BUCKET, aip_prefix(archive) + path, data)


def test_an_intact_aip_passes_and_writes_no_audit_entry(rig: Rig) -> None:
    archive = _archive(rig)
    before = _audit_entries(rig, archive)
    run = Run(rig)
    report = run(fraction=1.0, clock=lambda: 2e9)
    assert report["checked"] == 1 and report["failed"] == [] and report["skipped"] == []
    assert report["files_checked"] == len(TAG_PATHS) + 2
    stored = rig.stored(archive.archive_id)
    assert stored.status == model.ARCHIVED and stored.version == archive.version + 1
    assert stored.fixity == {"checked_at": 2e9, "ok": True, "files_checked": 8, "mismatches": []}
    assert _audit_entries(rig, archive) == before
    assert run.metric()["FixityChecked"] == 1 and run.metric()["FixityFailures"] == 0


def test_a_corrupted_payload_object_fails_fixity_then_a_repair_restores_it(rig: Rig) -> None:
    archive = _archive(rig)
    good = rig.aip_bytes(archive, "data/notes.txt")
    _put(rig, archive, "data/notes.txt", b"KO")  # same size: only the bytes differ
    before = len(_audit_entries(rig, archive))
    run = Run(rig)
    report = run(fraction=1.0)
    [failed] = report["failed"]
    assert failed["id"] == archive.archive_id and failed["dataset"] == archive.dataset_uuid
    assert failed["mismatches"] == [
        f"'data/notes.txt': sha256 {hashlib.sha256(b'KO').hexdigest()}, expected {hashlib.sha256(good).hexdigest()}"
    ]
    stored = rig.stored(archive.archive_id)
    assert stored.status == model.FIXITY_FAILED and stored.fixity["ok"] is False
    entries = _audit_entries(rig, archive)
    assert len(entries) == before + 1
    assert entries[-1].actor == "fixity-audit" and entries[-1].action == "edit"
    assert entries[-1].value == {"status": "fixity_failed", "mismatches": failed["mismatches"]}
    assert run.metric()["FixityFailures"] == 1

    run(fraction=1.0)  # still damaged: counted again, no new audit entry
    assert run.metric()["FixityFailures"] == 1 and len(_audit_entries(rig, archive)) == before + 1

    _put(rig, archive, "data/notes.txt", good)  # restored from a second copy
    report = run(fraction=1.0)
    assert report["failed"] == [] and report["checked"] == 1
    assert rig.stored(archive.archive_id).status == model.ARCHIVED
    entries = _audit_entries(rig, archive)
    assert len(entries) == before + 2 and entries[-1].value == {"status": "archived", "mismatches": []}
    assert run.metric()["FixityFailures"] == 0


def test_deleted_and_extra_objects_are_reported_whatever_the_sample(rig: Rig) -> None:
    archive = _archive(rig)
    rig.world.store.delete(ARCHIVE_BUCKET, aip_prefix(archive) + "data/raw/scan_001.las")
    rig.world.store.delete(ARCHIVE_BUCKET, aip_prefix(archive) + "metadata/premis.json")
    _put(rig, archive, "data/smuggled.bin", b"x")
    mismatches, _ = audit_archive(rig.world.store, ARCHIVE_BUCKET, archive, 0.0, random.Random(1))
    assert "'data/raw/scan_001.las': missing" in mismatches
    assert "'metadata/premis.json': missing" in mismatches
    assert "'data/smuggled.bin': unexpected object (not in the bag's manifests)" in mismatches


def test_a_truncated_file_is_caught_by_payload_oxum_without_reading_it(rig: Rig) -> None:
    archive = _archive(rig)
    _put(rig, archive, "data/raw/scan_001.las", b"x" * 99)
    mismatches, checked = audit_archive(rig.world.store, ARCHIVE_BUCKET, archive, 0.0, random.Random(1))
    assert mismatches == ["'data/': 101 bytes stored, Payload-Oxum says 102"] and checked == len(TAG_PATHS)


def test_a_consistently_replaced_bag_is_caught_by_the_recorded_tag_manifest_digest(rig: Rig) -> None:
    archive = _archive(rig)
    # tamper a payload file, then rewrite both manifests so that the bag is consistent again
    _put(rig, archive, "data/notes.txt", b"KO")
    manifest = rig.aip_bytes(archive, "manifest-sha256.txt").decode()
    lines = [
        f"{hashlib.sha256(b'KO').hexdigest()}  data/notes.txt" if line.endswith("  data/notes.txt") else line
        for line in manifest.splitlines()
    ]
    forged = ("\n".join(lines) + "\n").encode()
    _put(rig, archive, "manifest-sha256.txt", forged)
    tags = rig.aip_bytes(archive, aip.TAG_MANIFEST).decode().splitlines()
    tag_lines = [
        f"{hashlib.sha256(forged).hexdigest()}  manifest-sha256.txt" if t.endswith("  manifest-sha256.txt") else t
        for t in tags
    ]
    forged_tags = ("\n".join(tag_lines) + "\n").encode()
    _put(rig, archive, aip.TAG_MANIFEST, forged_tags)

    mismatches, _ = audit_archive(rig.world.store, ARCHIVE_BUCKET, archive, 1.0, random.Random(1))
    assert mismatches == [
        f"'{aip.TAG_MANIFEST}': sha256 {hashlib.sha256(forged_tags).hexdigest()}, "
        f"recorded at archive time {archive.tagmanifest_sha256}"
    ]
    report = Run(rig)(fraction=0.0)
    assert [f["id"] for f in report["failed"]] == [archive.archive_id]
    assert rig.stored(archive.archive_id).status == model.FIXITY_FAILED


def test_a_sample_checks_every_tag_file_and_at_least_one_payload_file(rig: Rig) -> None:
    archive = _archive(rig, {f"f{i:02}.bin": bytes([i]) * (i + 1) for i in range(30)})
    store = rig.world.store
    store.reads.clear()
    mismatches, checked = audit_archive(store, ARCHIVE_BUCKET, archive, 0.1, random.Random(3))
    first_reads = list(store.reads)
    read = [k.removeprefix(aip_prefix(archive)) for k in first_reads]
    payload = [p for p in read if p.startswith("data/")]
    assert mismatches == [] and checked == len(TAG_PATHS) + 3
    assert set(read) - set(payload) == TAG_PATHS and len(payload) == 3 == len(set(payload))
    store.reads.clear()
    audit_archive(store, ARCHIVE_BUCKET, archive, 0.1, random.Random(3))
    assert store.reads == first_reads  # seeded: the same sample
    assert audit_archive(store, ARCHIVE_BUCKET, archive, 0.0, random.Random(3)) == ([], len(TAG_PATHS))
    with pytest.raises(ValueError):
        audit_archive(store, ARCHIVE_BUCKET, archive, 1.5, random.Random(3))


def _set_checked_at(rig: Rig, archive_id: str, checked_at: float) -> None:
    current = rig.stored(archive_id)
    fixity = {**current.fixity, "checked_at": checked_at}
    rig.archives.save(replace(current, version=current.version + 1, fixity=fixity), current.version)


def test_archives_checked_longest_ago_go_first_and_a_period_covers_them_all(rig: Rig) -> None:
    ids = [_archive(rig).archive_id for _ in range(3)]
    for archive_id, checked_at in zip(ids, (3000.0, 1000.0, 2000.0), strict=True):
        _set_checked_at(rig, archive_id, checked_at)
    now = 4000.0  # none overdue: ceil(3 archives / 3 days) = 1 per run
    run = Run(rig)
    order = []
    for day in range(3):
        report = run(period_days=3, clock=lambda day=day: now + day)
        assert report["checked"] == 1 and report["not_due"] == 2
        order += [a for a in ids if rig.stored(a).fixity["checked_at"] == now + day]
    assert order == [ids[1], ids[2], ids[0]]
    # runs were missed: everything overdue is audited at once (up to max_archives)
    late = now + 10 * 86_400
    assert run(period_days=3, clock=lambda: late)["checked"] == 3
    assert run(period_days=3, clock=lambda: late * 2, max_archives=2)["checked"] == 2


def test_failed_and_running_archives_are_not_audited(rig: Rig) -> None:
    archive = _archive(rig)
    current = rig.stored(archive.archive_id)
    rig.archives.save(replace(current, version=current.version + 1, status=model.FAILED), current.version)
    report = Run(rig)()
    assert report["checked"] == 0 and report["not_due"] == 0


def test_an_unreadable_aip_is_skipped_not_failed(rig: Rig) -> None:
    archive = _archive(rig)
    _freeze(rig, archive, lambda _path: True)  # a lifecycle rule moved everything to DEEP_ARCHIVE
    run = Run(rig)
    report = run()
    assert report["checked"] == 0 and report["failed"] == []
    [skipped] = report["skipped"]
    assert skipped["id"] == archive.archive_id and "restore" in skipped["reason"]
    assert rig.stored(archive.archive_id).status == model.ARCHIVED
    assert run.metric()["FixitySkipped"] == 1 and run.metric()["FixityChecked"] == 0


def test_a_concurrent_change_of_the_record_is_retried_on_the_new_version(rig: Rig) -> None:
    archive = _archive(rig)
    racing = RacingArchives(rig.archives)
    rig.archives = racing
    report = Run(rig)(fraction=1.0)
    assert report["checked"] == 1 and racing.conflicts == 1
    stored = racing.get(archive.archive_id)
    assert stored is not None and stored.fixity["ok"] is True and stored.storage_class == "GLACIER_IR"


def _freeze(rig: Rig, archive: Archive, frozen: Callable[[str], bool]) -> None:
    """Move the AIP's objects whose bag path ``frozen`` accepts to DEEP_ARCHIVE (as the
    bucket's lifecycle rule does): still listed, no longer readable without a restore."""
    prefix = aip_prefix(archive)
    for key in rig.world.store.keys(ARCHIVE_BUCKET, prefix):
        if frozen(key[len(prefix) :]):
            rig.world.store.set_state(ARCHIVE_BUCKET, key, storage_class="DEEP_ARCHIVE")


class RacingArchives(InMemoryArchiveRepository):
    """Another writer changes the record just before the audit's first save."""

    def __init__(self, inner: InMemoryArchiveRepository) -> None:
        super().__init__()
        self._items = inner._items
        self.conflicts = 0

    def save(self, archive: Archive, expected_version: int) -> None:
        if self.conflicts == 0:
            self.conflicts += 1
            current = self.get(archive.archive_id)
            assert current is not None
            super().save(replace(current, version=current.version + 1, storage_class="GLACIER_IR"), current.version)
        super().save(archive, expected_version)


def test_cold_payload_is_checked_by_size_and_the_tag_files_by_hash(rig: Rig) -> None:
    archive = _archive(rig)
    # the lifecycle rule moved only the payload (tagged cold) to DEEP_ARCHIVE
    _freeze(rig, archive, lambda path: path.startswith("data/"))
    run = Run(rig)
    report = run(fraction=1.0)
    assert report["checked"] == 1 and report["failed"] == [] and report["skipped"] == []
    assert rig.stored(archive.archive_id).fixity["ok"] is True
    _put(rig, archive, "tagmanifest-sha256.txt", b"tampered")  # the tag files are still re-hashed
    assert Run(rig)(fraction=1.0)["failed"]
