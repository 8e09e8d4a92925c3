"""The archival state machine's ASL: shape, error handling and wiring (no AWS, no moto)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ASL_PATH = Path(__file__).resolve().parents[2] / "infra" / "statemachine" / "archive.asl.json"
WAIT_FOR_TOKEN = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
QUEUE_PLACEHOLDER = "${TaskQueueUrl}"
CHAIN = ["ValidateSip", "BuildAip", "Store", "VerifyFixity", "Register", "Done"]
STEP_NAMES = {
    "ValidateSip": "validate",
    "BuildAip": "build",
    "Store": "store",
    "VerifyFixity": "verify",
    "Register": "register",
}
RECORDERS = {"RecordRejected": ("rejected", "Rejected"), "RecordFailure": ("failed", "Failed")}
STEP_RETRY = {
    "ErrorEquals": ["Transient", "States.Timeout", "States.HeartbeatTimeout"],
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxAttempts": 3,
}

Definition = dict[str, Any]


@pytest.fixture(scope="module")
def asl() -> Definition:
    definition: Definition = json.loads(ASL_PATH.read_text())
    return definition


@pytest.fixture(scope="module")
def states(asl: Definition) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = asl["States"]
    return result


def successors(state: dict[str, Any]) -> Iterator[str]:
    """Every state name ``state`` can hand over to."""
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def tasks(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in states.items() if s["Type"] == "Task"}


def test_starts_at_validate_sip(asl: Definition) -> None:
    assert asl["StartAt"] == "ValidateSip"


def test_step_chain_order(asl: Definition, states: dict[str, dict[str, Any]]) -> None:
    chain, name = [], asl["StartAt"]
    while True:
        chain.append(name)
        state = states[name]
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            break
        name = state["Next"]
        assert len(chain) <= len(states), "Next chain loops"
    assert chain == CHAIN
    assert states["Done"]["Type"] == "Succeed"


def test_every_task_is_an_sqs_wait_for_token_on_the_task_queue(states: dict[str, dict[str, Any]]) -> None:
    all_tasks = tasks(states)
    assert set(all_tasks) == set(STEP_NAMES) | set(RECORDERS)
    for name, state in all_tasks.items():
        assert state["Resource"] == WAIT_FOR_TOKEN, name
        params = state["Parameters"]
        assert params["QueueUrl"] == QUEUE_PLACEHOLDER, name
        body = params["MessageBody"]
        assert body["token.$"] == "$$.Task.Token", name
        assert body["archive_id.$"] == "$.archive_id", name
        assert body["execution.$"] == "$$.Execution.Id", name
        assert isinstance(state["HeartbeatSeconds"], int), name
        assert state["HeartbeatSeconds"] < state["TimeoutSeconds"], name


def test_step_messages_and_results(states: dict[str, dict[str, Any]]) -> None:
    for name, step in STEP_NAMES.items():
        state = states[name]
        assert state["Parameters"]["MessageBody"]["step"] == step
        assert state["Parameters"]["MessageBody"]["input.$"] == "$"
        # each step's output is kept under $.steps.<step>; the rest of the state (archive_id) stays
        assert state["ResultPath"] == f"$.steps.{step}"
        assert "OutputPath" not in state
        assert "ResultSelector" not in state


def test_every_step_retries_and_catches(states: dict[str, dict[str, Any]]) -> None:
    for name, step in STEP_NAMES.items():
        state = states[name]
        assert state["Retry"] == [STEP_RETRY], name
        rejected, anything = state["Catch"]
        assert rejected == {"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "RecordRejected"}, name
        assert anything["ErrorEquals"] == ["States.ALL"], name
        assert anything["ResultPath"] == "$.error", name
        # the States.ALL catcher goes through a Pass state naming the failed step, then RecordFailure
        marker = states[anything["Next"]]
        assert marker["Type"] == "Pass", name
        assert marker["Result"] == step, name
        assert marker["ResultPath"] == "$.failed_step", name
        assert marker["Next"] == "RecordFailure", name


def test_recorders_retry_but_never_catch(states: dict[str, dict[str, Any]]) -> None:
    for name, (step, fail_state) in RECORDERS.items():
        state = states[name]
        body = state["Parameters"]["MessageBody"]
        assert body["step"] == step
        assert body["error.$"] == "$.error"
        assert [r["ErrorEquals"] for r in state["Retry"]] == [["States.ALL"]]
        assert 1 <= state["Retry"][0]["MaxAttempts"] <= 5
        assert "Catch" not in state
        assert state["Next"] == fail_state
        assert states[fail_state]["Type"] == "Fail"
    assert states["RecordFailure"]["Parameters"]["MessageBody"]["failed_step.$"] == "$.failed_step"
    assert states["Rejected"]["Error"] == "Rejected"


def test_every_target_exists_and_every_state_is_reachable(asl: Definition, states: dict[str, dict[str, Any]]) -> None:
    for name, state in states.items():
        for target in successors(state):
            assert target in states, f"{name} -> {target}"
    reachable, todo = set(), [asl["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in reachable:
            reachable.add(name)
            todo.extend(successors(states[name]))
    assert reachable == set(states), f"unreachable: {sorted(set(states) - reachable)}"


def test_terminal_states(states: dict[str, dict[str, Any]]) -> None:
    for name, state in states.items():
        terminal = state["Type"] in ("Succeed", "Fail") or state.get("End") is True
        assert terminal != ("Next" in state), name


def test_the_only_placeholder_is_the_task_queue_url() -> None:
    text = ASL_PATH.read_text()
    # CloudFormation DefinitionSubstitutions syntax; $$.Task.Token and friends have no braces
    assert set(re.findall(r"\$\{[^}]*\}", text)) == {QUEUE_PLACEHOLDER}
