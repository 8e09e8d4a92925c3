"""The archive worker's bookkeeping: one message = one step; outcomes recorded and answered."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.adapters.errors import TransientError as Transient
from chalicelib.archive import model
from chalicelib.archive.model import Archive
from chalicelib.archive.sip import SipRejected as Rejected
from chalicelib.archive.worker import ArchiveWorker
from chalicelib.catalogue.audit import dataset_subject
from tests.fakes.archives import InMemoryArchiveRepository
from tests.fakes.repository import InMemoryRepository
from tests.fakes.workflow import InMemoryWorkflow

ARCHIVE = Archive(
    archive_id="ar-0123456789abcdef01234567",
    dataset_uuid="11111111-2222-4333-8444-555555555555",
    content_hash="h",
    source_uri="s3://lab/x",
    base_uris=("s3://lab",),
    requested_by="ana",
    requested_at=1.0,
    updated_at=1.0,
)


class Steps:
    def __init__(self) -> None:
        self.plan: dict[str, list[Exception | None]] = {}
        self.calls: list[str] = []

    def make(self, name: str) -> Any:
        def run(archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
            self.calls.append(name)
            outcomes = self.plan.get(name, [])
            if outcomes and (exc := outcomes.pop(0)) is not None:
                raise exc
            fields = {"aip_uri": "s3://archive/aips/x/", "aip_bytes": 5} if name == "store" else {}
            return {"done": name}, fields

        return run


@pytest.fixture
def parts() -> tuple[ArchiveWorker, InMemoryArchiveRepository, InMemoryWorkflow, Steps, InMemoryRepository]:
    archives, workflow, steps, repo = InMemoryArchiveRepository(), InMemoryWorkflow(), Steps(), InMemoryRepository()
    archives.create(ARCHIVE)
    clock = iter(range(100, 10_000))
    worker = ArchiveWorker(archives, repo, workflow, {s: steps.make(s) for s in model.STEPS}, clock=lambda: next(clock))
    return worker, archives, workflow, steps, repo


def msg(step: str, token: str, **extra: Any) -> str:
    return json.dumps({"step": step, "archive_id": ARCHIVE.archive_id, "token": token, "input": {}, **extra})


def test_every_step_succeeds_and_the_archive_is_archived(parts: Any) -> None:
    worker, archives, workflow, _steps, repo = parts
    for n, step in enumerate(model.STEPS):
        worker.handle(msg(step, f"t{n}"))
        assert workflow.answers[f"t{n}"] == ("success", {"step": step, "done": step})
    stored = archives.get(ARCHIVE.archive_id)
    assert stored.status == "archived" and stored.aip_uri == "s3://archive/aips/x/"
    assert all(stored.steps[s].status == "succeeded" and stored.steps[s].attempts == 1 for s in model.STEPS)
    entries, _ = repo.list_audit(dataset_subject(ARCHIVE.dataset_uuid, ARCHIVE.entry_base_uri), 10, None)
    assert [(e.action, e.value["status"]) for e in entries] == [("edit", "archived")]


def test_transient_then_success_counts_attempts(parts: Any) -> None:
    worker, archives, workflow, steps, _ = parts
    steps.plan["store"] = [Transient("SlowDown"), Transient("SlowDown"), None]
    worker.handle(msg("store", "a"))
    worker.handle(msg("store", "b"))
    worker.handle(msg("store", "c"))
    assert [workflow.answers[t][0] for t in "abc"] == ["Transient", "Transient", "success"]
    state = archives.get(ARCHIVE.archive_id).steps["store"]
    assert state.attempts == 3 and state.status == "succeeded" and state.error == ""


def test_a_duplicate_message_for_a_done_step_does_not_run_it_again(parts: Any) -> None:
    worker, _, _workflow, steps, _ = parts
    worker.handle(msg("validate", "a"))
    worker.handle(msg("validate", "a"))
    assert steps.calls == ["validate"]


def test_rejected_then_recorded(parts: Any) -> None:
    worker, archives, workflow, steps, repo = parts
    steps.plan["validate"] = [Rejected(["../x: unsafe path"])]
    worker.handle(msg("validate", "a"))
    assert workflow.answers["a"] == ("Rejected", "../x: unsafe path")
    worker.handle(msg("rejected", "r", error={"Error": "Rejected", "Cause": None}))  # moto drops the cause
    stored = archives.get(ARCHIVE.archive_id)
    assert stored.status == "rejected" and stored.failed_step == "validate" and "../x" in stored.error
    assert stored.steps["validate"].status == "failed"
    worker.handle(msg("rejected", "r2", error={"Error": "Rejected"}))  # a duplicate changes nothing
    assert archives.get(ARCHIVE.archive_id).version == stored.version
    entries, _ = repo.list_audit(dataset_subject(ARCHIVE.dataset_uuid, ARCHIVE.entry_base_uri), 10, None)
    assert [e.value["status"] for e in entries] == ["rejected"]


def test_failure_names_the_step_and_error(parts: Any) -> None:
    worker, archives, workflow, steps, _ = parts
    steps.plan["verify"] = [RuntimeError("sha256 differs for data/a.csv")]
    for step in ("validate", "build", "store", "verify"):
        worker.handle(msg(step, step))
    assert workflow.answers["verify"][0] == "Failed"
    worker.handle(msg("failed", "f", failed_step="verify", error={"Error": "Failed", "Cause": "RuntimeError: x"}))
    stored = archives.get(ARCHIVE.archive_id)
    assert stored.status == "failed" and stored.failed_step == "verify" and stored.error == "RuntimeError: x"
    worker.handle(msg("register", "late"))  # a late message for an ended archive runs nothing
    assert workflow.answers["late"][0] == "Failed" and "register" not in list(steps.calls)


def test_unknown_archive_or_step_fails_the_task(parts: Any) -> None:
    worker, _, workflow, _, _ = parts
    worker.handle(json.dumps({"step": "validate", "archive_id": "ar-nope", "token": "x"}))
    worker.handle(msg("explode", "y"))
    assert workflow.answers["x"][0] == "Failed" and workflow.answers["y"][0] == "Failed"


def test_a_long_step_sends_heartbeats(parts: Any) -> None:
    _, archives, workflow, _, repo = parts
    import time as _time

    def slow(archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
        _time.sleep(0.35)
        return {}, {}

    steps = dict.fromkeys(model.STEPS, slow)
    worker = ArchiveWorker(archives, repo, workflow, steps, heartbeat_seconds=0.1)
    worker.handle(msg("validate", "slow"))
    assert workflow.answers["slow"][0] == "success" and workflow.heartbeats["slow"] >= 2
