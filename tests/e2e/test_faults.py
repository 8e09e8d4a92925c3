"""Processes of the local stack killed with SIGKILL in the middle of their work (issue 22):
the event runner during uploads, osmem-server during a bulk index, the archival worker in the
middle of a step. Each comes back; nothing is lost, nothing is registered twice, the index has
no drift, the archive completes.

These tests crash processes, so they run on a stack of their own (module-scoped, other ports):
a crashed runner's successor reads every table stream again from ``TRIM_HORIZON``, a crashed
osmem-server loses the whole index, and the archival drill shortens the main state machine's
``HeartbeatSeconds`` and the task queue's visibility timeout — none of which may reach the
tests sharing the session stack. Each test restarts what it killed; a guard restarts it if the
test failed half-way.

The archival drill: moto (5.2.5, its Step Functions interpreter) does enforce a task's
``HeartbeatSeconds``, but the ASL file's 300 s is too long to wait for, so this stack's main
state machine gets 5 s for the test (the worker heartbeats every 60 s, so on this stack a step
must end within 5 s: the tiny dataset's do). The runner is restarted with the local hook
``CATALOGUE_LOCAL_SLOW_STEP`` (:mod:`infra.local.runner`) making ``store`` sleep once its start
is recorded, and killed in that sleep; a sound runner answers the retried task. moto names the
timeout ``States.Timeout`` in the history (as AWS documents for both timeouts); that it was the
heartbeat's shows in its timing (``store``'s ``TimeoutSeconds`` is a day) and in the lost SQS
message still being invisible when the archive completes.

Sizes: ``scale(bounded, full)`` (full under ``make soak``). Figures (how much was in flight at
the kill, how long recovery took) are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib import bootstrap, resources
from chalicelib.archive import model
from chalicelib.bootstrap import LOCAL_VISIBILITY_TIMEOUT
from chalicelib.composition import Root
from chalicelib.ingest.ingestion import BASE_URI_MISS_REFRESH_SECONDS
from infra.local.processes import REPO_ROOT
from infra.local.runner import SLOW_STEP_ENV
from infra.local.stack import LocalStack, patched_environ
from tests.e2e.conftest import own_stack
from tests.e2e.helpers import Client, catalogue_cli, persona, scale, sidecar_dataset, total, unique, wait_for
from tests.support.data import registration

UPLOADS = scale(50, 200)  # sidecar folders uploaded while the runner is killed and restarted
UPLOAD_PAUSE_SECONDS = 0.1  # between two folders: the runner keeps up, roughly
BULK = scale(200, 1000)  # datasets of the bulk index during which osmem-server is killed
# the archival drill: the state machine's HeartbeatSeconds on this stack (300 in the ASL file)
HEARTBEAT_SECONDS = 5
# ... and the task queue's visibility timeout meanwhile (120 locally), so that the message the
# killed worker had received comes back within the test and can be shown to change nothing
TASK_VISIBILITY_SECONDS = 30
SLOW_STEP = "store"
FILES = {"a.csv": b"t,v\n1,2\n", "sub/b.bin": b"\x03" * 2000}


@pytest.fixture(scope="module")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A local stack of this module's own, stopped at its end; the user ``admin`` exists."""
    with own_stack(tmp_path_factory.mktemp("fault-stack")) as local:
        yield local


@pytest.fixture
def stack(fault_stack: LocalStack) -> Iterator[LocalStack]:
    """This module's stack (not the session's), with whatever a failed test left killed restarted."""
    yield fault_stack
    names = {p.name for p in fault_stack.processes}
    if "osmem" not in names:
        fault_stack.start_opensearch()
    if "runner" not in names:
        fault_stack.start_runner()
    dead = fault_stack.dead_processes()
    assert not dead, [(p.name, p.returncode, p.log_tail()) for p in dead]


# -- observations -------------------------------------------------------------------------


def registered(stack: LocalStack, base_uri: str) -> int:
    """Dataset entries under ``base_uri`` in DynamoDB (the truth), whatever the index says."""
    ddb = stack.client("dynamodb")
    count = 0
    for page in ddb.get_paginator("scan").paginate(
        TableName=stack.settings().datasets_table,
        FilterExpression="base_uri = :b",
        ExpressionAttributeValues={":b": {"S": base_uri}},
        Select="COUNT",
    ):
        count += int(page["Count"])
    return count


def queue_depth(stack: LocalStack, queue: str) -> tuple[int, int]:
    """(messages waiting, messages received and not yet deleted: in flight) of a queue."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def all_hits(admin: Client, base_uri: str) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = []
    page = admin.get("/datasets", params={"base_uri": base_uri, "page_size": 100}).json()
    hits += page["items"]
    for _ in range(10_000):  # bounded pagination
        if not page["next"]:
            break
        page = admin.get("/datasets", params={"base_uri": base_uri, "page_size": 100, "after": page["next"]}).json()
        hits += page["items"]
    return hits


def dataset_log(admin: Client, uuid: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    page = admin.get(f"/datasets/{uuid}/log", params={"limit": 100}).json()
    entries += page["entries"]
    for _ in range(100):  # bounded pagination
        if not page["next"]:
            break
        page = admin.get(f"/datasets/{uuid}/log", params={"limit": 100, "after": page["next"]}).json()
        entries += page["entries"]
    return entries


def audit_actions(stack: LocalStack, uuids: set[str]) -> Counter[tuple[str, str]]:
    """(entity type, action) of every audit entry of these datasets, from the audit table."""
    ddb = stack.client("dynamodb")
    counts: Counter[tuple[str, str]] = Counter()
    for page in ddb.get_paginator("scan").paginate(TableName=stack.settings().audit_table):
        for item in page["Items"]:
            subject = item["subject"]["S"]
            # dataset#<uuid>@<base URI>: the log of one entry
            if subject.startswith("dataset#") and subject.split("#", 1)[1].split("@", 1)[0] in uuids:
                counts[(item["entity_type"]["S"], item["action"]["S"])] += 1
    return counts


def no_drift(stack: LocalStack) -> None:
    drift = catalogue_cli(stack, "drift")
    assert drift.returncode == 0 and "no drift" in drift.stdout, drift.stdout + drift.stderr


def cli_in_background(stack: LocalStack, *args: str) -> subprocess.Popen[str]:
    """The ``catalogue`` command, as :func:`tests.e2e.helpers.catalogue_cli` runs it, not awaited;
    its tables are wide enough for whole entry ids."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **stack.env}
    env["CATALOGUE_OPERATOR"] = "e2e-operator"
    env["COLUMNS"] = "400"
    return subprocess.Popen(
        [sys.executable, "-c", "from infra.local.cli import main; main()", *args],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@dataclass
class AtKill:
    """What the stack had done when the process was killed."""

    uploaded: int
    registered: int
    queued: int
    in_flight: int


# -- 1. the event runner killed in the middle of uploads --------------------------------------


def test_runner_killed_during_uploads_registers_every_dataset_exactly_once(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    bucket = unique("kill-runner")
    base = f"s3://{bucket}"
    stack.watch_bucket(bucket)
    assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    time.sleep(BASE_URI_MISS_REFRESH_SECONDS + 0.1)  # the runner's base URI cache sees it at once
    ingest_queue = stack.settings().ingest_queue
    names = [f"crash-upload-{i:04d}" for i in range(UPLOADS)]
    uploaded: list[str] = []
    failed: list[BaseException] = []

    def upload_all() -> None:  # paced, as a client uploads: the runner keeps up until it is killed
        s3 = stack.client("s3")
        try:
            for i, name in enumerate(names):
                # the data first, the sidecar last: the sidecar's event registers the complete folder
                s3.put_object(Bucket=bucket, Key=f"runs/{name}/data-{i}.csv", Body=f"i,v\n{i},{i * i}\n".encode())
                s3.put_object(Bucket=bucket, Key=f"runs/{name}/dataset.json", Body=json.dumps({"name": name}).encode())
                uploaded.append(name)
                time.sleep(UPLOAD_PAUSE_SECONDS)
        except BaseException as exc:  # reported by the test's thread
            failed.append(exc)

    uploader = threading.Thread(target=upload_all, name="uploads", daemon=True)
    uploader.start()
    try:
        # in the middle: part registered, more uploads still to come
        def under_way() -> bool:
            return registered(stack, base) >= max(1, UPLOADS // 4) or (
                len(uploaded) >= UPLOADS * 3 // 4 and registered(stack, base) >= 1
            )

        assert wait_for(under_way, timeout=120, interval=0.2), (len(uploaded), registered(stack, base))
        queued, in_flight = queue_depth(stack, ingest_queue)
        done, sent = registered(stack, base), len(uploaded)
        assert stack.kill_runner() is not None
        killed_at = time.monotonic()
        at_kill = AtKill(sent, done, queued, in_flight)
    finally:
        uploader.join(timeout=UPLOADS * (UPLOAD_PAUSE_SECONDS + 1) + 30)
    assert not uploader.is_alive() and not failed, failed
    assert at_kill.uploaded < UPLOADS, "every upload was done before the runner was killed"
    time.sleep(LOCAL_VISIBILITY_TIMEOUT)  # the messages the killed runner held are visible again
    uploads_done = time.monotonic()
    while_dead = registered(stack, base)
    assert while_dead < UPLOADS, "the runner registered everything before it was killed"

    restarting = time.monotonic()
    stack.start_runner()
    ready = time.monotonic()

    def caught_up() -> bool:
        return (
            registered(stack, base) == UPLOADS
            and queue_depth(stack, ingest_queue) == (0, 0)
            and total(admin, f"?base_uri={base}&page_size=1") == UPLOADS
        )

    assert wait_for(caught_up, timeout=120, interval=0.5), (
        registered(stack, base),
        queue_depth(stack, ingest_queue),
        total(admin, f"?base_uri={base}&page_size=1"),
    )
    recovered = time.monotonic()
    print(
        f"\nrunner SIGKILLed after {at_kill.uploaded}/{UPLOADS} uploads: {at_kill.registered} registered, "
        f"{at_kill.queued} events queued, {at_kill.in_flight} in flight; {while_dead} registered when the "
        f"{UPLOADS - at_kill.uploaded} remaining uploads were done and the runner had been dead "
        f"{uploads_done - killed_at:.1f} s; "
        f"new runner ready in {ready - restarting:.1f} s, all {UPLOADS} registered and searchable "
        f"{recovered - restarting:.1f} s after the restart"
    )

    # exactly once: one entry each, version 1, one "add" in each dataset's log
    hits = all_hits(admin, base)
    assert sorted(h["name"] for h in hits) == names
    assert len({h["uuid"] for h in hits}) == UPLOADS
    for hit in hits:
        shown = admin.get(f"/datasets/{hit['uuid']}").json()
        assert shown["version"] == 1 and shown["name"] == hit["name"], shown
        assert [r["uri"] for r in shown["replicas"]] == [f"{base}/runs/{hit['name']}"], shown
        log = dataset_log(admin, hit["uuid"])
        assert Counter((e["entity_type"], e["action"]) for e in log) == Counter({("dataset", "add"): 1}), log
    # searchable by name, and the index is the table's
    assert total(admin, f"?base_uri={base}&q={names[-1]}") == 1
    no_drift(stack)


# -- 2. osmem-server killed during a bulk index ---------------------------------------------


def test_opensearch_killed_during_a_bulk_index_loses_nothing(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    bucket = unique("kill-osmem")
    base = f"s3://{bucket}"
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})  # not watched
    assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    names = [f"bulk-crash-{i:04d}" for i in range(BULK)]
    for name in names:
        s3.put_object(Bucket=bucket, Key=f"runs/{name}/data.csv", Body=b"1,2\n")
        s3.put_object(Bucket=bucket, Key=f"runs/{name}/dataset.json", Body=json.dumps({"name": name}).encode())

    indexing = cli_in_background(stack, "index", base)
    try:

        def under_way() -> bool:  # part registered, part of that searchable
            if indexing.poll() is not None:
                return True
            return registered(stack, base) >= BULK // 4 and total(admin, f"?base_uri={base}&page_size=1") >= 1

        assert wait_for(under_way, timeout=60, interval=0.05)
        searchable_at_kill = total(admin, f"?base_uri={base}&page_size=1")
        assert indexing.poll() is None, "the bulk index ended before osmem-server could be killed"
        assert stack.kill_opensearch() is not None
        killed_at = time.monotonic()
        registered_at_kill = registered(stack, base)  # an upper bound of what the dead index held
        time.sleep(3)  # an outage: the stream consumer's batches fail and are retried meanwhile
        stack.start_opensearch()
        back_at = time.monotonic()
        output, _ = indexing.communicate(timeout=300)
    finally:
        if indexing.poll() is None:
            indexing.kill()
            indexing.wait()
    assert indexing.returncode == 0, output
    assert f"{BULK} created" in output, output  # osmem-server is not on the registration path

    # the stream consumer retried its failed batches: a dataset registered after the outage is
    # searchable only once everything before it in the (single-shard) stream has been delivered
    sentinel = registration(base, name="after-the-osmem-crash")
    assert admin.post("/datasets", sentinel).status_code == 201
    assert wait_for(lambda: total(admin, f"?base_uri={base}&q=after-the-osmem-crash") == 1, timeout=60)
    caught_up = time.monotonic()
    searchable_before_reindex = total(admin, f"?base_uri={base}&page_size=1")

    # what the crashed emulator held is gone from the index (not from DynamoDB): drift names each
    # entry, of this bulk index and of the tests before (whatever the dead emulator held)
    drifting = cli_in_background(stack, "drift")
    report, _ = drifting.communicate(timeout=120)
    summary = re.search(r"(\d+) missing, (\d+) stale, (\d+) orphaned", report)
    assert drifting.returncode == 1 and summary is not None and summary.group(2, 3) == ("0", "0"), report
    missing = re.findall(r"([0-9a-f-]{36}@s3://[^\s│|]+)\s*[│|]\s*missing", report)
    assert len(missing) == int(summary.group(1)), report
    lost = [entry for entry in missing if entry.endswith(f"@{base}")]
    # ... and here exactly what search lacks: some of what was searchable before the kill
    assert len(lost) == BULK + 1 - searchable_before_reindex, (len(lost), searchable_before_reindex)
    assert searchable_at_kill <= len(lost) <= registered_at_kill, (len(lost), searchable_at_kill, registered_at_kill)
    reindexing = time.monotonic()
    rebuilt = catalogue_cli(stack, "reindex")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    reindexed = time.monotonic()
    no_drift(stack)
    print(
        f"\nosmem-server SIGKILLed during a bulk index of {BULK}: {registered_at_kill} registered and "
        f"{searchable_at_kill} searchable at the kill, back after {back_at - killed_at:.1f} s; the stream "
        f"consumer caught up {caught_up - back_at:.1f} s later ({searchable_before_reindex} of {BULK + 1} "
        f"searchable: {len(lost)} of them lost with the emulator's memory, and {len(missing) - len(lost)} "
        f"of the earlier tests); reindex {reindexed - reindexing:.1f} s"
    )

    # nothing lost, nothing twice
    assert registered(stack, base) == BULK + 1
    assert total(admin, f"?base_uri={base}&page_size=1") == BULK + 1
    hits = all_hits(admin, base)
    assert sorted(h["name"] for h in hits) == sorted([*names, "after-the-osmem-crash"])
    uuids = {h["uuid"] for h in hits}
    assert len(uuids) == BULK + 1
    assert audit_actions(stack, uuids) == Counter({("dataset", "add"): BULK + 1})


# -- 3. the archival worker killed in the middle of a step -----------------------------------


def _steps(archive: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in archive["steps"]}


def test_archival_worker_killed_mid_step_is_retried_after_the_heartbeat_timeout(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    settings = stack.settings()
    definition = (REPO_ROOT / resources.ARCHIVE_DEFINITION_FILE).read_text()
    short = definition.replace('"HeartbeatSeconds": 300', f'"HeartbeatSeconds": {HEARTBEAT_SECONDS}')
    assert short != definition and '"HeartbeatSeconds": 300' not in short  # every task state's
    sqs = stack.client("sqs")
    task_queue = sqs.get_queue_url(QueueName=settings.archive_task_queue)["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=f"{settings.archive_task_queue}-dlq")["QueueUrl"]

    def deploy(text: str) -> None:
        with patched_environ(stack.env):
            bootstrap.create_archive_state_machine(Root(settings), text)

    def visibility(seconds: int) -> None:
        sqs.set_queue_attributes(QueueUrl=task_queue, Attributes={"VisibilityTimeout": str(seconds)})

    deploy(short)
    visibility(TASK_VISIBILITY_SECONDS)
    slow_runner = None
    try:
        # a runner whose store step sleeps (infra/local/runner.py's local fault hook)
        assert stack.kill_runner() is not None
        slow_runner = stack.start_runner({SLOW_STEP_ENV: f"{SLOW_STEP}:600"})
        _, uuid = sidecar_dataset(stack, admin, FILES, "killed mid-step")
        r = admin.post(f"/datasets/{uuid}/archive", {})
        assert r.status_code == 202, r.text
        archive_id = r.json()["id"]

        def storing() -> bool:
            return bool(_steps(admin.get(f"/archives/{archive_id}").json())[SLOW_STEP]["status"] == "running")

        assert wait_for(storing, timeout=60, interval=0.05)
        at_kill = admin.get(f"/archives/{archive_id}").json()
        queued, in_flight = queue_depth(stack, settings.archive_task_queue)
        assert stack.kill_runner() is slow_runner
        killed_at = time.monotonic()
        stack.start_runner()  # a sound worker
        ready = time.monotonic()

        final = {"archived", "failed", "rejected"}
        assert wait_for(lambda: admin.get(f"/archives/{archive_id}").json()["status"] in final, timeout=90)
        ended = time.monotonic()
        archive = admin.get(f"/archives/{archive_id}").json()
        assert archive["status"] == "archived", archive
        # each step's attempts: the killed one counts, the retry is the second
        assert [(s["name"], s["status"], s["attempts"]) for s in archive["steps"]] == [
            (name, "succeeded", 2 if name == SLOW_STEP else 1) for name in model.STEPS
        ]
        assert archive["fixity"]["ok"] is True and archive["error"] is None
        assert (_steps(at_kill)[SLOW_STEP]["status"], _steps(at_kill)[SLOW_STEP]["attempts"]) == ("running", 1)
        # it was the heartbeat timeout that retried the step (the lost message is still invisible)
        assert ended - killed_at < TASK_VISIBILITY_SECONDS
        sfn = stack.client("stepfunctions")
        main = stack.env["CATALOGUE_ARCHIVE_STATE_MACHINE_ARN"]
        execution = f"{main.replace(':stateMachine:', ':execution:')}:{archive_id}"
        assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"
        events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        timed_out = [e for e in events if e["type"] == "TaskTimedOut"]
        assert len(timed_out) == 1, [e["type"] for e in events]
        # "States.Timeout": the name AWS documents for both timeouts in events (States.HeartbeatTimeout
        # exists in Retry/Catch only), and moto gives; it was the heartbeat's (store's
        # TimeoutSeconds is a day): HEARTBEAT_SECONDS after the killed attempt was scheduled
        assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout", timed_out
        [scheduled] = [e for e in events if e["type"] == "TaskScheduled" and e["id"] < timed_out[0]["id"]][-1:]
        silent = (timed_out[0]["timestamp"] - scheduled["timestamp"]).total_seconds()
        assert HEARTBEAT_SECONDS - 0.5 <= silent < HEARTBEAT_SECONDS + 5, (silent, events)
        print(
            f"\narchival worker SIGKILLed in step {SLOW_STEP} (attempt 1; {queued} task messages queued, "
            f"{in_flight} in flight); new runner ready in {ready - killed_at:.1f} s; the state machine "
            f"retried the step after its heartbeat timeout ({silent:.1f} s without a heartbeat) and the archive was "
            f"archived {ended - killed_at:.1f} s after the kill"
        )

        # the message the killed worker had received comes back after its visibility timeout: the
        # archive has ended, the answer to its timed-out token is ignored, the message is deleted
        def drained() -> bool:
            return queue_depth(stack, settings.archive_task_queue) == (0, 0)

        assert wait_for(drained, timeout=TASK_VISIBILITY_SECONDS + 30, interval=0.5)
        dead_letters = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
        assert dead_letters["Attributes"]["ApproximateNumberOfMessages"] == "0"
        again = admin.get(f"/archives/{archive_id}").json()
        assert again["status"] == "archived" and again["steps"] == archive["steps"], again
    finally:
        visibility(bootstrap.LOCAL_ARCHIVE_VISIBILITY_TIMEOUT)
        deploy(definition)
        if slow_runner is not None and slow_runner in stack.processes:  # failed before the kill
            stack.kill_runner()
        if not any(p.name == "runner" for p in stack.processes):
            stack.start_runner()
