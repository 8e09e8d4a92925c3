"""The workflow port (Step Functions) with its adapter and an in-memory fake."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from botocore.exceptions import ClientError

# SendTaskSuccess/Failure on a token that is done (completed, timed out, execution gone)
_STALE_TOKEN = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


class Workflow(ABC):
    """Executions of the archival state machine, and the answers of its task steps.

    - ``start(name, payload)`` MUST be idempotent by name: when an execution of that name
      exists (running or finished) it MUST do nothing and return ``False``; ``True`` when
      it started one.
    - ``succeed``/``fail`` answer one task token; an answer for a token that is no longer
      waiting (a duplicate message, a timed-out task) MUST be ignored, not raised.
    """

    @abstractmethod
    def start(self, name: str, payload: dict[str, Any]) -> bool: ...

    @abstractmethod
    def succeed(self, token: str, output: dict[str, Any]) -> None: ...

    @abstractmethod
    def fail(self, token: str, error: str, cause: str) -> None: ...

    @abstractmethod
    def heartbeat(self, token: str) -> None:
        """Tell the workflow the task is alive (its HeartbeatSeconds restart)."""


class StepFunctionsWorkflow(Workflow):
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                return False
            raise
        return True

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self._answer(lambda: self._client.send_task_success(taskToken=token, output=json.dumps(output)))

    def fail(self, token: str, error: str, cause: str) -> None:
        # Step Functions caps error at 256 and cause at 32,768 characters
        self._answer(lambda: self._client.send_task_failure(taskToken=token, error=error[:256], cause=cause[:32_000]))

    def heartbeat(self, token: str) -> None:
        self._answer(lambda: self._client.send_task_heartbeat(taskToken=token))

    @staticmethod
    def _answer(call: Any) -> None:
        try:
            call()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _STALE_TOKEN:
                raise


class InMemoryWorkflow(Workflow):
    """Records starts and answers; tests drive the steps themselves."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        self.answers: dict[str, tuple[str, Any]] = {}
        self.heartbeats: dict[str, int] = {}

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started[name] = dict(payload)
        return True

    def succeed(self, token: str, output: dict[str, Any]) -> None:
        self.answers.setdefault(token, ("success", output))

    def fail(self, token: str, error: str, cause: str) -> None:
        self.answers.setdefault(token, (error, cause))

    def heartbeat(self, token: str) -> None:
        self.heartbeats[token] = self.heartbeats.get(token, 0) + 1
