"""An in-memory :class:`~chalicelib.adapters.workflows.Workflow` (tests and benchmarks only)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.workflows import Workflow


class InMemoryWorkflow(Workflow):
    """Records starts and answers; tests drive the steps themselves.

    Any token is taken for a waiting one until it is answered: the first answer to it is
    kept in ``answers``, later ones are ignored.
    """

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
