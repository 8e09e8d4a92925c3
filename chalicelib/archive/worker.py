"""The archival state machine's task worker: one SQS message = one step of one archive.

The state machine (``infra/statemachine/archive.asl.json``) posts a message carrying a task
token for each step; this worker records the step's start in the archive record, runs it,
records the outcome and answers the token:

* success → ``SendTaskSuccess`` with the step's output (small: large results are staged in S3);
* :class:`~chalicelib.archive.sip.SipRejected` → error ``Rejected`` (the workflow records the
  archive as rejected; never retried);
* :class:`~chalicelib.adapters.errors.TransientError` or a throttling/timeout error from AWS →
  error ``Transient`` (the workflow retries with backoff);
* anything else → error ``Failed`` (the workflow records the archive as failed).

Messages may come twice (SQS at-least-once; a step outliving the visibility timeout):
steps are idempotent per (archive, step), a message for a step the record shows as done
is answered from the record, and an answer to a token that no longer waits is ignored.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from chalicelib.adapters.aws import is_transient
from chalicelib.adapters.dynamodb.archives import ArchiveRepository
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.workflows import Workflow
from chalicelib.archive import model
from chalicelib.archive.archives import record_audit
from chalicelib.archive.model import Archive
from chalicelib.archive.sip import SipRejected
from chalicelib.domain import ARCHIVE_ACTOR
from chalicelib.errors import Conflict

log = logging.getLogger(__name__)

WORKER = ARCHIVE_ACTOR
MAX_SAVE_ATTEMPTS = 5
HEARTBEAT_SECONDS = 60.0  # well inside the state machine's HeartbeatSeconds (300)

# A step: given the archive record, do the work and return (output for the workflow,
# fields to set on the record); raise SipRejected / TransientError / anything else.
Step = Callable[[Archive], tuple[dict[str, Any], dict[str, Any]]]


class ArchiveWorker:
    def __init__(
        self,
        archives: ArchiveRepository,
        repo: Repository,
        workflow: Workflow,
        steps: Mapping[str, Step],
        clock: Callable[[], float] = time.time,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        self._heartbeat_seconds = heartbeat_seconds
        missing = set(model.STEPS) - set(steps)
        if missing:
            raise ValueError(f"no implementation for steps {sorted(missing)}")
        self._archives = archives
        self._repo = repo
        self._workflow = workflow
        self._steps = steps
        self._clock = clock

    def handle(self, body: str) -> None:
        """Handle one task message; raises only when the answer could not be sent (the
        message then comes back)."""
        message = json.loads(body)
        step, archive_id, token = message["step"], message["archive_id"], message["token"]
        archive = self._archives.get(archive_id)
        if archive is None:
            self._workflow.fail(token, "Failed", f"no archive {archive_id}")
            return
        if step in ("rejected", "failed"):
            self._record_end(archive, step, message)
            self._workflow.succeed(token, {})
            return
        if step not in model.STEPS:
            self._workflow.fail(token, "Failed", f"unknown step {step!r}")
            return
        if archive.status in model.FINAL:
            # a late duplicate for an archive that has ended: answer as the record says
            self._workflow.fail(token, "Failed", f"archive {archive_id} is {archive.status}")
            return
        if archive.steps[step].status == model.SUCCEEDED:
            self._workflow.succeed(token, {"step": step, "repeated": True})
            return
        archive = self._update(archive_id, lambda a: model.step_started(a, step, self._clock()))
        try:
            with self._heartbeats(token):
                output, fields = self._steps[step](archive)
        except Exception as exc:  # classified below; every failure is recorded, then answered
            if isinstance(exc, SipRejected):
                error, answer = "; ".join(exc.reasons), "Rejected"
            elif isinstance(exc, TransientError) or is_transient(exc):
                error, answer = f"transient: {exc}", "Transient"
            else:  # anything else ends the archive as failed (the workflow decides)
                log.exception("archive %s step %s failed", archive_id, step)
                error, answer = f"{type(exc).__name__}: {exc}", "Failed"
            self._update(archive_id, lambda a: model.step_attempt_failed(a, step, self._clock(), error))
            self._workflow.fail(token, answer, error)
        else:
            done = self._update(archive_id, lambda a: model.step_succeeded(a, step, self._clock(), **fields))
            if done.status == model.ARCHIVED:
                record_audit(self._repo, done, "edit", WORKER, {"status": done.status, "aip_uri": done.aip_uri})
            self._workflow.succeed(token, {"step": step, **output})

    @contextlib.contextmanager
    def _heartbeats(self, token: str) -> Iterator[None]:
        """Heartbeats while a step runs: the state machine fails a silent task after
        HeartbeatSeconds (300 s), and a long store or verify runs longer than that."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self._heartbeat_seconds):
                try:
                    self._workflow.heartbeat(token)
                except Exception:  # a missed heartbeat is retried by the next one
                    log.warning("heartbeat for a task failed", exc_info=True)

        thread = threading.Thread(target=beat, name="archive-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=5)

    def _record_end(self, archive: Archive, step: str, message: dict[str, Any]) -> None:
        if archive.status in (model.REJECTED, model.FAILED):
            return  # recorded already (a duplicate message)
        failed_step = message.get("failed_step") or _running_step(archive)
        error_doc = message.get("error") or {}
        # moto drops the Cause of SendTaskFailure: fall back to what the worker recorded
        error = (error_doc.get("Cause") if isinstance(error_doc, dict) else None) or (
            archive.steps[failed_step].error if failed_step in archive.steps else ""
        )
        error = error or (error_doc.get("Error", "") if isinstance(error_doc, dict) else "") or "unknown error"
        ended = self._update(
            archive.archive_id,
            lambda a: model.archive_ended_badly(a, failed_step, self._clock(), error, rejected=step == "rejected"),
        )
        record_audit(
            self._repo, ended, "edit", WORKER, {"status": ended.status, "step": failed_step, "error": error[:500]}
        )

    def _update(self, archive_id: str, change: Callable[[Archive], Archive]) -> Archive:
        for _ in range(MAX_SAVE_ATTEMPTS):
            current = self._archives.get(archive_id)
            if current is None:
                raise LookupError(f"archive {archive_id} vanished")
            new = change(current)
            try:
                self._archives.save(new, current.version)
                return new
            except Conflict:
                continue  # a concurrent update (e.g. a duplicate message): apply to the newer record
        raise RuntimeError(f"archive {archive_id} keeps changing")


def _running_step(archive: Archive) -> str:
    started = [s for s in model.STEPS if archive.steps[s].attempts > 0]
    return started[-1] if started else model.STEPS[0]
