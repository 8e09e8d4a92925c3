"""The local event runner: what AWS Lambda event sources do in the cloud, on one machine.

``python -m infra.local.runner`` (started by :class:`infra.local.stack.LocalStack`, from
the project root) reads the same environment as the app, imports ``app`` and pumps

- the datasets table stream → ``app.on_datasets_stream``
- the access table stream   → ``app.on_access_stream``
- the facility table stream → ``app.on_facility_stream``
- the ingest queue           → ``app.on_ingest_message``
- the archive task queue     → ``app.on_archive_task``

each in its own thread (:class:`infra.local.pump.StreamPump`), until SIGTERM or SIGINT,
then exits 0. It also stops when its parent process disappears.

Fault drills only (``tests/e2e/test_faults.py``): ``CATALOGUE_LOCAL_SLOW_STEP=<step>:<seconds>``
makes every attempt of that archival step sleep so long once the worker has recorded its
start, so that a drill can kill the runner in the middle of a step (see :func:`slow_step`).
The stack never sets it (``LocalStack.start_runner(extra_env=...)`` does, for one runner);
this module does not run in AWS.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import boto3

from chalicelib.config import Settings
from infra.local.processes import RUNNER_READY_MARKER
from infra.local.pump import StreamPump
from infra.local.sqs import QueuePoller

LOG = logging.getLogger("infra.local.runner")
SLOW_STEP_ENV = "CATALOGUE_LOCAL_SLOW_STEP"


@dataclass
class Worker:
    """One background loop of the runner: ``run(stop)`` returns soon after ``stop`` is set."""

    name: str
    run: Callable[[threading.Event], None]


def stream_workers(settings: Settings, app_module: Any, env: dict[str, str]) -> list[Worker]:
    """One StreamPump per table stream the app handles."""
    streams = boto3.client(
        "dynamodbstreams",
        region_name=settings.region,
        # An explicit endpoint also avoids the botocore account-id endpoint trap.
        endpoint_url=settings.aws_endpoint_url,
    )
    wiring = [
        ("datasets-stream", env["CATALOGUE_DATASETS_STREAM_ARN"], app_module.on_datasets_stream),
        ("access-stream", env["CATALOGUE_ACCESS_STREAM_ARN"], app_module.on_access_stream),
        ("facility-stream", env["CATALOGUE_FACILITY_STREAM_ARN"], app_module.on_facility_stream),
    ]
    workers = []
    for name, arn, handler in wiring:
        pump = StreamPump(streams, arn, handler, region=settings.region, log=logging.getLogger(f"runner.{name}"))
        workers.append(Worker(name, pump.run))
    return workers


def queue_workers(
    settings: Settings, queue: str, handler: Callable[..., Any], name: str, concurrency: int
) -> list[Worker]:
    """``concurrency`` pollers of one SQS queue, each calling ``handler`` as Lambda would
    (Lambda runs several invocations of a queue's handler at once; so does the runner)."""
    sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.aws_endpoint_url)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    return [
        Worker(f"{name}-{n}", QueuePoller(sqs, url, handler, region=settings.region).run) for n in range(concurrency)
    ]


def ingest_workers(settings: Settings, app_module: Any, env: dict[str, str]) -> list[Worker]:
    """S3 → SQS auto-registration: the ingest queue → ``app.on_ingest_message``."""
    concurrency = int(env.get("CATALOGUE_INGEST_CONCURRENCY", "4"))
    return queue_workers(settings, settings.ingest_queue, app_module.on_ingest_message, "ingest-queue", concurrency)


def archive_workers(settings: Settings, app_module: Any, env: dict[str, str]) -> list[Worker]:
    """The archival state machine's task steps: the task queue → ``app.on_archive_task``."""
    concurrency = int(env.get("CATALOGUE_ARCHIVE_CONCURRENCY", "2"))
    return queue_workers(
        settings, settings.archive_task_queue, app_module.on_archive_task, "archive-tasks", concurrency
    )


def slow_step(env: dict[str, str]) -> None:
    """The local fault hook: with ``CATALOGUE_LOCAL_SLOW_STEP=store:30`` every archival worker
    this process builds runs the step ``store`` 30 s late (after the step's start is recorded,
    inside its heartbeats). Patches :meth:`ArchiveSteps.mapping` in this process only."""
    spec = env.get(SLOW_STEP_ENV)
    if not spec:
        return
    from chalicelib.archive import model
    from chalicelib.archive.steps import ArchiveSteps
    from chalicelib.archive.worker import Step

    name, _, raw_seconds = spec.partition(":")
    seconds = float(raw_seconds)
    if name not in model.STEPS:
        raise ValueError(f"{SLOW_STEP_ENV}: unknown archival step {name!r}")
    original = ArchiveSteps.mapping

    def slowed(step: Step) -> Step:
        def run(archive: model.Archive) -> tuple[dict[str, Any], dict[str, Any]]:
            LOG.warning("fault drill: step %s of archive %s sleeps %.1f s", name, archive.archive_id, seconds)
            time.sleep(seconds)
            return step(archive)

        return run

    def mapping(self: ArchiveSteps) -> dict[str, Step]:
        steps = original(self)
        steps[name] = slowed(steps[name])
        return steps

    ArchiveSteps.mapping = mapping  # type: ignore[method-assign]
    LOG.warning("fault drill: archival step %s sleeps %.1f s (%s)", name, seconds, SLOW_STEP_ENV)


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("CATALOGUE_RUNNER_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "boto3", "urllib3", "opensearch", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    env = dict(os.environ)
    for name in ("CATALOGUE_DATASETS_STREAM_ARN", "CATALOGUE_ACCESS_STREAM_ARN", "CATALOGUE_FACILITY_STREAM_ARN"):
        if not env.get(name):
            LOG.error("%s is not set; start the runner through infra.local.stack", name)
            return 2
    settings = Settings.from_env(env)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        LOG.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    slow_step(env)
    sys.path.insert(0, os.getcwd())  # the project root, where app.py lives
    app_module = importlib.import_module("app")

    workers = (
        stream_workers(settings, app_module, env)
        + ingest_workers(settings, app_module, env)
        + archive_workers(settings, app_module, env)
    )
    threads = [threading.Thread(target=w.run, args=(stop,), name=w.name, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    LOG.info("%s: %s", RUNNER_READY_MARKER, ", ".join(w.name for w in workers))

    parent = os.getppid()
    while not stop.wait(0.5):
        if os.getppid() != parent:  # the stack died without stopping us
            LOG.warning("parent process %d is gone, stopping", parent)
            stop.set()
    for thread in threads:
        thread.join(timeout=10)
    with contextlib.suppress(Exception):
        logging.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
