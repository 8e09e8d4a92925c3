"""The workflow port (Step Functions) and its boto3 adapter.

:class:`Workflow` is what the archive service starts archives with and what the archive
worker answers task steps through; :class:`StepFunctionsWorkflow` implements it over an
injected boto3 Step Functions client. The in-memory fake is
``tests.fakes.workflow.InMemoryWorkflow``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code

# SendTaskSuccess/Failure on a token that is done (completed, timed out, execution gone)
_STALE_TOKEN = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


class Workflow(ABC):
    """Executions of the archival state machine, and the answers of its task steps.

    - ``start(name, payload)`` MUST be idempotent by name: when an execution of that name
      exists (running or finished) it MUST NOT start another one and MUST return ``False``,
      with one exception Step Functions imposes: repeated with the same payload while
      that execution still runs, the start is answered as if it had started it, so the
      answer MAY then be ``True``. It returns ``True`` when it started one.
    - ``succeed``/``fail`` answer one task token; an answer for a token that is no longer
      waiting (a duplicate message, a timed-out task, an answered one, a token never
      issued) MUST be ignored, not raised: the first answer is the one that counts.
    - ``heartbeat`` on a waiting token MUST restart its heartbeat clock; on any other
      token it MUST be ignored.
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
    """Executions of the state machine ``state_machine_arn``, through a boto3 client."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self._arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> bool:
        try:
            self._client.start_execution(stateMachineArn=self._arn, name=name, input=json.dumps(payload))
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
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
    def _answer(call: Callable[[], Any]) -> None:
        try:
            call()
        except ClientError as exc:
            if error_code(exc) not in _STALE_TOKEN:
                raise
