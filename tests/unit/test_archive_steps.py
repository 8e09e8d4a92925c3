"""The five steps over a catalogue and a bucket (in memory): registered datasets of every
layout become verified AIPs; changes and damage end the archive as they should."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from chalicelib.archive import model
from chalicelib.archive.archives import ArchiveService
from chalicelib.archive.model import Archive
from chalicelib.archive.steps import ArchiveSteps, aip_prefix
from chalicelib.archive.worker import ArchiveWorker
from chalicelib.ingest.events import ObjectEvent
from chalicelib.ingest.ingestion import Deposits, IngestService
from chalicelib.ingest.reconcile import reconcile
from tests.fakes.archives import InMemoryArchiveRepository
from tests.fakes.workflow import InMemoryWorkflow
from tests.unit.test_ingest import BUCKET, FOLDER, ROOT, DtoolDataset, World, make_world, put_folder, uuid_of
from tests.unit.test_ingest_bags import make_bag, zipped

ARCHIVE_BUCKET = "archive"
DEPOSITS = f"s3://{BUCKET}/deposits"


class Rig:
    def __init__(self) -> None:
        self.world: World = make_world(f"s3://{BUCKET}", DEPOSITS)
        self.archives = InMemoryArchiveRepository()
        self.workflow = InMemoryWorkflow()
        writer = self.world.store
        steps = ArchiveSteps(
            self.world.repo,
            self.world.store,
            writer,
            ARCHIVE_BUCKET,
            add_replica=self.add_replica,
        )
        self.worker = ArchiveWorker(self.archives, self.world.repo, self.workflow, steps.mapping())
        self.service = ArchiveService(self.archives, self.world.repo, self.workflow)
        # deposits: the ingest service hands bags under DEPOSITS to the archive service
        self.world.ingest = IngestService(
            self.world.store,
            self.world.catalogue,
            self.world.repo,
            clock=self.world.clock,
            deposits=Deposits(DEPOSITS, self.service.deposit_registered, self.service.deposit_refused),
        )
        self.tokens = 0

    def add_replica(self, uuid: str, source_base_uri: str, content_hash: str, uri: str) -> str:
        """As the composition root wires the register step: the archive base URI on first use."""
        archive_base_uri = f"s3://{ARCHIVE_BUCKET}"
        self.world.access.ensure_base_uri(ROOT, archive_base_uri, "AIPs")
        return self.world.catalogue.add_archive_replica(
            ROOT, uuid, source_base_uri, content_hash, uri, archive_base_uri
        )

    def run(self, archive_id: str, until: str = "register") -> list[tuple[str, Any]]:
        """Drive the steps as the state machine would (no retries): stop at the first failure."""
        answers = []
        for step in model.STEPS:
            self.tokens += 1
            token = f"t{self.tokens}"
            self.worker.handle(json.dumps({"step": step, "archive_id": archive_id, "token": token}))
            answers.append(self.workflow.answers[token])
            if answers[-1][0] != "success":
                end = "rejected" if answers[-1][0] == "Rejected" else "failed"
                body = {"step": end, "archive_id": archive_id, "token": f"{token}-end", "error": {"Cause": None}}
                self.worker.handle(json.dumps(body))
                break
            if step == until:
                break
        return answers

    def stored(self, archive_id: str) -> Archive:
        found = self.archives.get(archive_id)
        assert found is not None
        return found

    def aip_bytes(self, archive: Archive, path: str) -> bytes:
        data = self.world.store.get_bytes(ARCHIVE_BUCKET, aip_prefix(archive) + path, 1 << 30)
        assert data is not None, path
        return data


@pytest.fixture
def rig() -> Rig:
    return Rig()


def _archived(rig: Rig, uuid: str) -> Archive:
    request = rig.service.request(ROOT, uuid)
    answers = rig.run(request["id"])
    assert [a[0] for a in answers] == ["success"] * 5, answers
    archive = rig.stored(request["id"])
    assert archive.status == "archived" and archive.fixity["ok"] is True
    assert archive.aip_uri == f"s3://{ARCHIVE_BUCKET}/{aip_prefix(archive)}"
    assert list(rig.world.store.list(ARCHIVE_BUCKET, f"staging/{archive.archive_id}/")) == []  # cleaned up
    replicas = {r["uri"]: r["base_uri"] for r in rig.world.dataset(uuid)["replicas"]}
    assert replicas[archive.aip_uri.rstrip("/")] == f"s3://{ARCHIVE_BUCKET}"  # the AIP is a replica
    return archive


def _manifest(rig: Rig, archive: Archive) -> dict[str, str]:
    lines = rig.aip_bytes(archive, "manifest-sha256.txt").decode().splitlines()
    return {path: digest for digest, path in (line.split("  ", 1) for line in lines)}  # "<sha256>  <path>"


def test_a_dtool_dataset_becomes_an_aip_whose_bytes_match_its_manifest(rig: Rig) -> None:
    ds = DtoolDataset()
    ds.put(rig.world.store)
    assert rig.world.created(ds.key("dtool")).status == "created"
    archive = _archived(rig, ds.uuid)
    manifest = _manifest(rig, archive)
    assert set(manifest) == {f"data/{r}" for r in ds.items}
    for relpath, data in ds.items.items():
        stored = rig.aip_bytes(archive, f"data/{relpath}")
        assert stored == data and hashlib.sha256(stored).hexdigest() == manifest[f"data/{relpath}"]
        assert (
            hashlib.md5(stored).hexdigest()
            == ds.manifest()["items"][hashlib.sha1(relpath.encode()).hexdigest()]["hash"]
        )
    record = json.loads(rig.aip_bytes(archive, "metadata/catalogue.json"))
    assert json.dumps(record).count(ds.uuid) >= 1
    assert b"External-Identifier: " + ds.uuid.encode() in rig.aip_bytes(archive, "bag-info.txt")


def test_a_sidecar_folder_and_a_folder_bag_are_archived(rig: Rig, tmp_path: Path) -> None:
    sidecar_key = put_folder(rig.world)
    assert rig.world.created(sidecar_key).status == "created"
    archive = _archived(rig, uuid_of())
    assert "data/raw/b.bin" in _manifest(rig, archive)
    bag = make_bag(tmp_path / "bag", {"scan.tif": b"x" * 100, "sub/notes.txt": b"hi"})
    for p in bag.rglob("*"):
        if p.is_file():
            rig.world.store.put(BUCKET, f"bags/b1/{p.relative_to(bag)}", p.read_bytes())
    outcome = rig.world.ingest.handle(ObjectEvent(BUCKET, "bags/b1/bagit.txt", "created"))
    assert outcome.status == "created"
    bag_archive = _archived(rig, outcome.uuid)
    assert set(_manifest(rig, bag_archive)) == {"data/scan.tif", "data/sub/notes.txt"}


def test_a_file_changed_after_registration_rejects_the_archive(rig: Rig) -> None:
    ds = DtoolDataset()
    ds.put(rig.world.store)
    rig.world.created(ds.key("dtool"))
    item_id = hashlib.sha1(b"notes.txt").hexdigest()
    rig.world.store.put(BUCKET, ds.key(f"data/{item_id}"), b"KO")  # same size, other bytes
    request = rig.service.request(ROOT, ds.uuid)
    answers = rig.run(request["id"])
    assert [a[0] for a in answers] == ["success", "Rejected"]
    archive = rig.stored(request["id"])
    assert archive.status == "rejected" and archive.failed_step == "build" and "notes.txt" in archive.error
    assert list(rig.world.store.list(ARCHIVE_BUCKET, "aips/")) == []  # nothing stored


def test_a_dataset_changed_since_the_request_fails_with_a_reason(rig: Rig) -> None:
    sidecar_key = put_folder(rig.world)
    rig.world.created(sidecar_key)
    request = rig.service.request(ROOT, uuid_of())
    rig.world.store.put(BUCKET, f"{FOLDER}/new.csv", b"1")
    rig.world.created(f"{FOLDER}/new.csv")
    answers = rig.run(request["id"])
    assert answers[0][0] == "Failed"
    archive = rig.stored(request["id"])
    assert archive.status == "failed" and archive.failed_step == "validate" and "changed" in archive.error


def test_a_damaged_aip_fails_verify_and_names_the_file(rig: Rig) -> None:
    ds = DtoolDataset()
    ds.put(rig.world.store)
    rig.world.created(ds.key("dtool"))
    request = rig.service.request(ROOT, ds.uuid)
    rig.run(request["id"], until="store")
    archive = rig.stored(request["id"])
    rig.world.store.put(ARCHIVE_BUCKET, aip_prefix(archive) + "data/notes.txt", b"KO")
    rig.tokens += 1
    rig.worker.handle(json.dumps({"step": "verify", "archive_id": archive.archive_id, "token": "v"}))
    assert rig.workflow.answers["v"][0] == "Failed" and "notes.txt" in rig.workflow.answers["v"][1]


def test_a_deposited_zipped_bag_is_registered_then_archived(rig: Rig, tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "sip", {"scan.tif": b"x" * 300, "notes ü.txt": b"hi"}, **{"Contact-Name": "Ana"})
    rig.world.store.put(BUCKET, "deposits/sip-1.zip", zipped(bag))
    outcome = rig.world.ingest.handle(ObjectEvent(BUCKET, "deposits/sip-1.zip", "created"))
    assert outcome.status == "created"
    [started] = rig.workflow.started.values()  # the deposit started its archive by itself
    assert started["dataset_uuid"] == outcome.uuid
    assert rig.world.ingest.handle(ObjectEvent(BUCKET, "deposits/sip-1.zip", "created")).status == "unchanged"
    rig.world.store.put(BUCKET, "deposits/sip-1.zip", zipped(bag), mtime=1.8e9)  # the same bytes, later
    assert rig.world.ingest.handle(ObjectEvent(BUCKET, "deposits/sip-1.zip", "created")).status == "unchanged"
    assert len(rig.workflow.started) == 1  # a repeated event or upload starts nothing new
    answers = rig.run(started["archive_id"])
    assert [a[0] for a in answers] == ["success"] * 5, answers
    archive = rig.stored(started["archive_id"])
    assert set(_manifest(rig, archive)) == {"data/scan.tif", "data/notes ü.txt"}
    assert rig.aip_bytes(archive, "data/scan.tif") == b"x" * 300
    assert list(rig.world.store.list(ARCHIVE_BUCKET, "staging/")) == []


def test_a_bag_outside_the_deposit_prefix_is_not_archived_by_itself(rig: Rig, tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "b", {"a.txt": b"a"})
    rig.world.store.put(BUCKET, "elsewhere/b.zip", zipped(bag))
    assert rig.world.ingest.handle(ObjectEvent(BUCKET, "elsewhere/b.zip", "created")).status == "created"
    assert rig.workflow.started == {}


def test_a_hostile_deposit_is_a_rejected_archive_and_nothing_is_stored(rig: Rig, tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "evil", {"a.txt": b"a"})
    (bag / "data" / "a.txt").write_bytes(b"b")  # tampered after bagging
    rig.world.store.put(BUCKET, "deposits/evil.zip", zipped(bag))
    outcome = rig.world.ingest.handle(ObjectEvent(BUCKET, "deposits/evil.zip", "created"))
    assert outcome.status == "rejected"
    [archive] = rig.archives.for_dataset(outcome.uuid)
    assert archive.status == "rejected" and "a.txt" in archive.error and rig.workflow.started == {}
    rig.world.ingest.handle(ObjectEvent(BUCKET, "deposits/evil.zip", "created"))
    assert len(rig.archives.for_dataset(outcome.uuid)) == 1  # the same refusal is one record
    assert list(rig.world.store.list(ARCHIVE_BUCKET, "")) == []


def test_an_aip_is_no_replica_of_content_that_changed_meanwhile(rig: Rig) -> None:
    sidecar_key = put_folder(rig.world)
    rig.world.created(sidecar_key)
    request = rig.service.request(ROOT, uuid_of())
    rig.run(request["id"], until="verify")
    rig.world.store.put(BUCKET, f"{FOLDER}/later.csv", b"1")
    rig.world.created(f"{FOLDER}/later.csv")  # a new version, registered before the archive ends
    rig.worker.handle(json.dumps({"step": "register", "archive_id": request["id"], "token": "r"}))
    assert rig.workflow.answers["r"] == ("success", {"step": "register", "aip_uri": ANY, "replica": "skipped"})
    assert rig.stored(request["id"]).status == "archived"
    assert [r["base_uri"] for r in rig.world.dataset(uuid_of())["replicas"]] == [f"s3://{BUCKET}"]


def test_events_and_reconciliation_never_register_the_archive(rig: Rig) -> None:
    ds = DtoolDataset()
    ds.put(rig.world.store)
    rig.world.created(ds.key("dtool"))
    _archived(rig, ds.uuid)
    rig.world.access.add_base_uri(ROOT, "s3://other", "")
    ingest = IngestService(
        rig.world.store,
        rig.world.catalogue,
        rig.world.repo,
        passive_base_uris=frozenset({f"s3://{ARCHIVE_BUCKET}"}),
    )
    [bag_info] = [o.key for o in rig.world.store.list(ARCHIVE_BUCKET, "aips/") if o.key.endswith("/bagit.txt")]
    outcome = ingest.handle(ObjectEvent(ARCHIVE_BUCKET, bag_info, "created"))
    assert outcome.status == "ignored" and "archive" in outcome.reason
    report = reconcile(
        ingest, rig.world.store, rig.world.search, rig.world.repo, passive=frozenset({f"s3://{ARCHIVE_BUCKET}"})
    )
    [archive_findings] = [f for f in report.base_uris if f.base_uri == f"s3://{ARCHIVE_BUCKET}"]
    assert archive_findings.outcomes == {} and archive_findings.checked_replicas == 1
    assert archive_findings.missing_replicas == []
