"""The Workflow contract, run against the in-memory fake and StepFunctionsWorkflow on moto server.

On moto every test gets a state machine of its own (unique name) whose one task posts its
token to a queue of its own and waits (``.waitForTaskToken``), as the archival steps do;
moto runs executions once told to through its config endpoint (before the machines are
created). The fake takes any token for a waiting one, so its harness makes one up per
execution name.
"""

from __future__ import annotations

import json
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pytest
import requests

from chalicelib.adapters.aws import make_client
from chalicelib.adapters.workflows import StepFunctionsWorkflow, Workflow
from tests.fakes.workflow import InMemoryWorkflow

ROLE_ARN = "arn:aws:iam::123456789012:role/contract"  # moto does not check roles
SETTLE_SECONDS = 15.0

Outcome = tuple[str, Any]  # ("running", None), ("succeeded", output) or ("failed", error)


class Flow(Protocol):
    """A workflow under test and what the test needs to see of its executions."""

    workflow: Workflow
    heartbeat_seconds: float  # the task's heartbeat timeout (0: none kept)

    def token(self, name: str) -> str:
        """The token of the task the execution ``name`` waits on."""
        ...

    def outcome(self, name: str, *, settle: bool = True) -> Outcome:
        """How the execution ``name`` stands (``settle``: once it is no longer running)."""
        ...

    def executions(self, name: str) -> int:
        """How many executions named ``name`` there are."""
        ...


class MemoryFlow:
    heartbeat_seconds = 0.0  # the fake keeps no time

    def __init__(self) -> None:
        self.fake = InMemoryWorkflow()
        self.workflow: Workflow = self.fake

    def token(self, name: str) -> str:
        assert name in self.fake.started, f"no execution {name}"
        return f"task-token-of-{name}"

    def outcome(self, name: str, *, settle: bool = True) -> Outcome:
        answer = self.fake.answers.get(f"task-token-of-{name}")
        if answer is None:
            return ("running", None)
        kind, value = answer
        return ("succeeded", value) if kind == "success" else ("failed", kind)

    def executions(self, name: str) -> int:
        return int(name in self.fake.started)


class MotoFlow:
    def __init__(self, sfn: Any, sqs: Any, heartbeat_seconds: int) -> None:
        self.sfn, self.sqs = sfn, sqs
        self.heartbeat_seconds = float(heartbeat_seconds)
        suffix = uuidlib.uuid4().hex[:12]
        self.queue_url = sqs.create_queue(QueueName=f"contract-tasks-{suffix}")["QueueUrl"]
        wait = {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": self.queue_url,
                "MessageBody": {"name.$": "$$.Execution.Name", "token.$": "$$.Task.Token"},
            },
            "HeartbeatSeconds": heartbeat_seconds,
            "TimeoutSeconds": 300,
            "End": True,
        }
        definition = json.dumps({"StartAt": "Wait", "States": {"Wait": wait}})
        self.arn = sfn.create_state_machine(name=f"contract-{suffix}", definition=definition, roleArn=ROLE_ARN)[
            "stateMachineArn"
        ]
        self.workflow: Workflow = StepFunctionsWorkflow(sfn, self.arn)
        self._tokens: dict[str, str] = {}

    def token(self, name: str) -> str:
        deadline = time.monotonic() + SETTLE_SECONDS
        while name not in self._tokens:
            assert time.monotonic() < deadline, f"no task message for {name}"
            received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in received.get("Messages", []):
                body = json.loads(message["Body"])
                self._tokens[body["name"]] = body["token"]
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return self._tokens[name]

    def outcome(self, name: str, *, settle: bool = True) -> Outcome:
        arn = f"{self.arn.replace(':stateMachine:', ':execution:')}:{name}"
        deadline = time.monotonic() + SETTLE_SECONDS
        while (described := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING" and settle:
            assert time.monotonic() < deadline, f"{name} still runs after {SETTLE_SECONDS} s"
            time.sleep(0.05)
        status = described["status"]
        if status == "SUCCEEDED":
            return ("succeeded", json.loads(described["output"]))
        if status == "FAILED":
            return ("failed", described.get("error"))
        return (status.lower(), None)

    def executions(self, name: str) -> int:
        pages = self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.arn)
        return sum(e["name"] == name for page in pages for e in page["executions"])

    def close(self) -> None:
        self.sfn.delete_state_machine(stateMachineArn=self.arn)
        self.sqs.delete_queue(QueueUrl=self.queue_url)


@pytest.fixture(scope="module")
def moto_clients(moto_server_url: str) -> tuple[Any, Any]:
    """Step Functions and SQS clients on the session's moto server, with executions on."""
    requests.post(
        f"{moto_server_url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}, timeout=10
    ).raise_for_status()
    return (
        make_client("stepfunctions", region="eu-west-1", endpoint_url=moto_server_url),
        make_client("sqs", region="eu-west-1", endpoint_url=moto_server_url),
    )


@pytest.fixture(params=["memory", "moto"])
def make_flow(request: pytest.FixtureRequest) -> Iterator[Callable[..., Flow]]:
    """Makes a flow of the backend under test (``heartbeat_seconds``: the task's heartbeat timeout)."""
    made: list[MotoFlow] = []

    def make(heartbeat_seconds: int = 60) -> Flow:
        if request.param == "memory":
            return MemoryFlow()
        sfn, sqs = request.getfixturevalue("moto_clients")
        made.append(MotoFlow(sfn, sqs, heartbeat_seconds))
        return made[-1]

    yield make
    for flow in made:
        flow.close()


@pytest.fixture
def flow(make_flow: Callable[..., Flow]) -> Flow:
    return make_flow()


def name() -> str:
    return f"archive-{uuidlib.uuid4().hex[:16]}"


def test_start_is_idempotent_by_name(flow: Flow) -> None:
    n = name()
    assert flow.workflow.start(n, {"archive_id": "a-1"}) is True
    assert flow.workflow.start(n, {"archive_id": "a-2"}) is False
    assert flow.executions(n) == 1
    other = name()
    assert flow.workflow.start(other, {"archive_id": "a-1"}) is True
    assert flow.executions(other) == 1


def test_the_same_start_while_running_starts_nothing_more(flow: Flow) -> None:
    n = name()
    assert flow.workflow.start(n, {"archive_id": "a-1"}) is True
    flow.workflow.start(n, {"archive_id": "a-1"})  # the answer MAY be True here (Step Functions)
    assert flow.executions(n) == 1
    assert flow.outcome(n, settle=False) == ("running", None)


def test_start_after_the_execution_ended_is_false(flow: Flow) -> None:
    n = name()
    assert flow.workflow.start(n, {"archive_id": "a-1"}) is True
    flow.workflow.succeed(flow.token(n), {"done": True})
    assert flow.outcome(n) == ("succeeded", {"done": True})
    assert flow.workflow.start(n, {"archive_id": "a-1"}) is False
    assert flow.executions(n) == 1


def test_the_first_answer_counts_and_later_ones_are_ignored(flow: Flow) -> None:
    n = name()
    flow.workflow.start(n, {"archive_id": "a-1"})
    token = flow.token(n)
    assert flow.outcome(n, settle=False) == ("running", None)
    flow.workflow.succeed(token, {"steps": {"validate": {"files": 2}}})
    assert flow.outcome(n) == ("succeeded", {"steps": {"validate": {"files": 2}}})
    flow.workflow.succeed(token, {"other": 1})
    flow.workflow.fail(token, "Late", "a duplicate message")
    flow.workflow.heartbeat(token)
    assert flow.outcome(n) == ("succeeded", {"steps": {"validate": {"files": 2}}})


def test_fail_ends_the_task_with_the_error_whatever_its_length(flow: Flow) -> None:
    n = name()
    flow.workflow.start(n, {"archive_id": "a-1"})
    token = flow.token(n)
    error, cause = "Rejected" + "!" * 400, "why " * 10_000
    flow.workflow.fail(token, error, cause)
    kind, recorded = flow.outcome(n)
    assert kind == "failed" and recorded.startswith("Rejected") and error.startswith(recorded)
    flow.workflow.succeed(token, {"too": "late"})
    assert flow.outcome(n)[0] == "failed"


def test_answers_to_tokens_never_issued_are_ignored(flow: Flow) -> None:
    flow.workflow.start(name(), {"archive_id": "a-1"})  # something that waits, for other tokens
    for token in ("never-issued", "AQCEAAAAKgAAAAMAAAAAAAAAAX" + "x" * 40):
        flow.workflow.succeed(token, {})
        flow.workflow.fail(token, "Error", "cause")
        flow.workflow.heartbeat(token)


def test_heartbeats_keep_a_waiting_task_alive(make_flow: Callable[..., Flow]) -> None:
    flow = make_flow(heartbeat_seconds=2)
    n = name()
    flow.workflow.start(n, {"archive_id": "a-1"})
    token = flow.token(n)
    alive_until = time.monotonic() + 1.75 * flow.heartbeat_seconds  # well past the heartbeat timeout
    flow.workflow.heartbeat(token)
    while time.monotonic() < alive_until:
        time.sleep(0.4)
        flow.workflow.heartbeat(token)
    assert flow.outcome(n, settle=False) == ("running", None)
    flow.workflow.succeed(token, {"ok": True})
    assert flow.outcome(n) == ("succeeded", {"ok": True})
