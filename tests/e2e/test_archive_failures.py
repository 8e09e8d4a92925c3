"""The archival workflow's retry and failure paths on the real state machine (moto), with faults
injected into the steps.

The local stack's runner answers the main task queue, so each test deploys a second copy of
``infra/statemachine/archive.asl.json`` posting to its own task queue, on the same moto, and
drives it with an :class:`ArchiveWorker` in the test process (wired as
``chalicelib.composition.Root.archive_worker`` wires it) whose steps can be made to fail. Archives
are requested through an :class:`ArchiveService` whose workflow is that second machine;
what the API shows of them is read through the real API.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from chalicelib import bootstrap, resources
from chalicelib.adapters.dynamodb.archives import ArchiveRepository
from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.s3 import S3ObjectStorage
from chalicelib.adapters.workflows import StepFunctionsWorkflow
from chalicelib.archive import model
from chalicelib.archive.archives import ArchiveService
from chalicelib.archive.model import Archive
from chalicelib.archive.steps import ArchiveSteps
from chalicelib.archive.worker import ArchiveWorker, Step
from chalicelib.composition import Root, install, root
from chalicelib.domain import User
from infra.local.processes import REPO_ROOT
from infra.local.stack import LocalStack, patched_environ
from tests.e2e.helpers import Client, persona, sidecar_dataset, unique, wait_for

FILES = {"a.csv": b"t,v\n1,2\n", "sub/b.bin": b"\x02" * 3000}
ADMIN = User(username="admin", is_admin=True)
DRIVE_SECONDS = 60

# A fault: given the archive record as the step starts (its attempts already counted), raise or return.
Fault = Callable[[Archive], None]


@dataclass
class Rig:
    """A second archival state machine and its task queue, answered by a worker in this process."""

    stack: LocalStack
    sqs: Any
    queue_url: str
    machine_arn: str
    archives: ArchiveRepository
    worker: ArchiveWorker
    service: ArchiveService
    faults: dict[tuple[str, str], Fault] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def execution_arn(self, name: str) -> str:
        return f"{self.machine_arn.replace(':stateMachine:', ':execution:')}:{name}"

    def drive(self, archive_id: str, timeout: float = DRIVE_SECONDS) -> Archive:
        """Answer the queue's task messages until the archive has ended (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.archives.get(archive_id)
            if current is not None and current.status in model.FINAL:
                return current
            received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in received.get("Messages", []):
                self.messages.append(json.loads(message["Body"]))
                self.worker.handle(message["Body"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        raise AssertionError(f"archive {archive_id} did not end in {timeout} s: {self.archives.get(archive_id)}")

    def steps_seen(self, archive_id: str) -> list[str]:
        return [m["step"] for m in self.messages if m["archive_id"] == archive_id]

    def execution_status(self, name: str) -> dict[str, Any]:
        sfn = self.stack.client("stepfunctions")

        def ended() -> bool:
            return bool(sfn.describe_execution(executionArn=self.execution_arn(name))["status"] != "RUNNING")

        assert wait_for(ended, timeout=15, interval=0.1)
        return dict(sfn.describe_execution(executionArn=self.execution_arn(name)))


def _faulty(name: str, step: Step, faults: dict[tuple[str, str], Fault]) -> Step:
    def run(archive: Archive) -> tuple[dict[str, Any], dict[str, Any]]:
        fault = faults.get((archive.archive_id, name))
        if fault is not None:
            fault(archive)
        return step(archive)

    return run


@pytest.fixture
def rig(stack: LocalStack) -> Iterator[Rig]:
    """Everything runs with the stack's environment (pynamodb and boto3 read it lazily)."""
    with patched_environ(stack.env):
        settings = replace(stack.settings(), archive_task_queue=unique("tasks"))
        install(None)
        install(Root(settings))
        try:
            queue_url = bootstrap.create_archive_task_queues(root())
            definition = (REPO_ROOT / resources.ARCHIVE_DEFINITION_FILE).read_text()
            sfn = stack.client("stepfunctions")
            machine_arn = sfn.create_state_machine(
                name=unique("arch"),
                definition=definition.replace("${TaskQueueUrl}", queue_url),
                roleArn="arn:aws:iam::123456789012:role/x",
            )["stateMachineArn"]
            repo = root().repo  # binds the tables
            s3 = stack.client("s3")
            steps = ArchiveSteps(
                repo,
                S3ObjectStorage(s3),
                S3ObjectStorage(s3, storage_class=settings.archive_storage_class),
                settings.archive_bucket,
                storage_class=settings.archive_storage_class,
            )
            workflow = StepFunctionsWorkflow(sfn, machine_arn)
            archives = root().archive_records  # as deployed: each write also kept on the entry
            faults: dict[tuple[str, str], Fault] = {}
            mapping = {name: _faulty(name, step, faults) for name, step in steps.mapping().items()}
            worker = ArchiveWorker(archives, repo, workflow, mapping)
            service = ArchiveService(archives, repo, workflow)
        finally:
            install(None)
        rig = Rig(stack, stack.client("sqs"), queue_url, machine_arn, archives, worker, service, faults)
        try:
            yield rig
        finally:
            sfn.delete_state_machine(stateMachineArn=machine_arn)


def registered_dataset(stack: LocalStack, admin: Client) -> str:
    return sidecar_dataset(stack, admin, FILES, "fault drill")[1]


def steps_of(archive: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in archive["steps"]}


def test_a_throttled_store_is_retried_by_the_state_machine_and_the_archive_completes(
    stack: LocalStack, rig: Rig
) -> None:
    admin = persona(stack, "admin", admin=True)
    uuid = registered_dataset(stack, admin)
    archive_id = str(rig.service.request(ADMIN, uuid)["id"])

    def slow_down(archive: Archive) -> None:
        if archive.steps["store"].attempts <= 2:
            raise TransientError("SlowDown")

    rig.faults[(archive_id, "store")] = slow_down
    began = time.monotonic()
    assert rig.drive(archive_id).status == model.ARCHIVED
    assert time.monotonic() - began >= 2 + 4 - 0.5  # the Retry's backoff: 2 s, then 4 s

    # the workflow sent the store step three times, each with its retry count. (AWS gives every
    # attempt a new task token; moto 5.2.5 was seen to reuse one: the worker relies on neither.)
    stores = [m for m in rig.messages if m["archive_id"] == archive_id and m["step"] == "store"]
    assert [m["attempt"] for m in stores] == [0, 1, 2]
    assert rig.steps_seen(archive_id) == ["validate", "build", "store", "store", "store", "verify", "register"]
    assert rig.execution_status(archive_id)["status"] == "SUCCEEDED"

    shown = admin.get(f"/archives/{archive_id}").json()
    assert shown["status"] == "archived" and shown["error"] is None and shown["retries"] == 0
    steps = steps_of(shown)
    assert steps["store"]["attempts"] == 3 and steps["store"]["status"] == "succeeded"
    assert steps["store"]["error"] is None  # the transient errors are not the outcome
    assert all(steps[s]["attempts"] == 1 and steps[s]["status"] == "succeeded" for s in steps if s != "store")
    assert shown["aip"]["uri"].startswith(f"s3://{resources.ARCHIVE_BUCKET}/aips/{uuid}/{archive_id}/")
    assert shown["fixity"]["ok"] is True


def test_a_failing_verify_fails_the_archive_and_a_retry_archives_it(stack: LocalStack, rig: Rig) -> None:
    admin = persona(stack, "admin", admin=True)
    uuid = registered_dataset(stack, admin)
    archive_id = str(rig.service.request(ADMIN, uuid)["id"])

    def broken(archive: Archive) -> None:
        raise RuntimeError("injected")

    rig.faults[(archive_id, "verify")] = broken
    ended = rig.drive(archive_id)
    assert ended.status == model.FAILED, ended

    # "Failed" is not retried: caught, the step named by the Pass state, recorded by the worker
    assert rig.steps_seen(archive_id) == ["validate", "build", "store", "verify", "failed"]
    [record] = [m for m in rig.messages if m["archive_id"] == archive_id and m["step"] == "failed"]
    assert record["failed_step"] == "verify" and record["error"]["Error"] == "Failed"
    execution = rig.execution_status(archive_id)
    assert execution["status"] == "FAILED" and execution.get("error") == "ArchiveFailed"

    shown = admin.get(f"/archives/{archive_id}").json()
    assert shown["status"] == "failed" and shown["failed_step"] == "verify"
    assert "injected" in shown["error"]  # moto drops the Cause: the worker's own record gives it
    steps = steps_of(shown)
    assert (steps["verify"]["status"], steps["verify"]["attempts"]) == ("failed", 1)
    assert "injected" in steps["verify"]["error"]
    assert [steps[s]["status"] for s in ("validate", "build", "store")] == ["succeeded"] * 3
    assert steps["register"]["status"] == "pending"
    log = admin.get(f"/datasets/{uuid}/log").json()["entries"]
    failed = [e for e in log if e["entity_type"] == "archive" and e["value"].get("status") == "failed"]
    assert len(failed) == 1 and failed[0]["value"]["step"] == "verify" and "injected" in failed[0]["value"]["error"]
    assert admin.get(f"/datasets/{uuid}").json()["archival"]["status"] == "failed"

    # (c) an operator restarts it: a new execution on the main machine, whose worker (the runner's) is sound
    outsider = persona(stack, unique("outsider"))
    assert outsider.post(f"/archives/{archive_id}/retry", {}).status_code == 404
    r = admin.post(f"/archives/{archive_id}/retry", {})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "requested" and r.json()["retries"] == 1
    assert r.json()["failed_step"] is None and r.json()["error"] is None

    def done() -> bool:
        return admin.get(f"/archives/{archive_id}").json()["status"] in ("archived", "failed", "rejected")

    assert wait_for(done, timeout=60, interval=0.2)
    again = admin.get(f"/archives/{archive_id}").json()
    assert again["status"] == "archived", again
    assert again["retries"] == 1 and again["failed_step"] is None and again["error"] is None
    assert [(s["name"], s["status"], s["attempts"]) for s in again["steps"]] == [
        (name, "succeeded", 1) for name in model.STEPS
    ]
    assert again["fixity"]["ok"] is True
    sfn = stack.client("stepfunctions")
    main = stack.env["CATALOGUE_ARCHIVE_STATE_MACHINE_ARN"]
    restarted = sfn.describe_execution(executionArn=f"{main.replace(':stateMachine:', ':execution:')}:{archive_id}-r1")
    assert restarted["status"] == "SUCCEEDED"
    assert admin.post(f"/archives/{archive_id}/retry", {}).status_code == 409  # only failed archives restart
    statuses = [e["value"].get("status") for e in admin.get(f"/datasets/{uuid}/log").json()["entries"]]
    assert {"requested", "failed", "archived"} <= set(statuses)
