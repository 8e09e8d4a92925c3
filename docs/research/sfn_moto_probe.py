"""What moto 5.2.5 (server mode) supports of Step Functions for a waitForTaskToken + SQS workflow.

The archival workflow runs every step as a Task ``arn:aws:states:::sqs:sendMessage.waitForTaskToken``
that posts a message carrying ``$$.Task.Token`` to one SQS queue; a Python worker polls the queue,
does the step and answers with SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat. This script
measures, on a real ``python -m moto.server`` subprocess (free 127.0.0.1 port, always stopped), what
moto's ASL interpreter does with each feature the workflow relies on, and prints one
``[probe] PASS|FAIL|OBSERVED: ...`` line per check (probes a..j; see
``docs/research/sfn_moto_findings.md``).

Notes learned on the way (both needed for anything to run):

* execution must be switched on with ``POST /moto-api/config``
  ``{"stepfunctions": {"execute_state_machine": true}}`` *before* the state machine is created
  (moto keeps two separate backends; the switch chooses which one serves a request);
* the interpreter's SQS integration calls back into the server at
  ``http://localhost:$MOTO_PORT`` (default 5000), so the server must be started with
  ``MOTO_PORT`` set to its own port.

Run from the repository root::

    .venv/bin/python docs/research/sfn_moto_probe.py            # all probes
    .venv/bin/python docs/research/sfn_moto_probe.py c e        # some probes
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sfn"
WAIT_TASK = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


# -- moto server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    port: int
    log_path: Path


@contextlib.contextmanager
def moto_server(log_dir: Path, start_timeout: float = 30.0) -> Iterator[Server]:
    """Run ``python -m moto.server`` on a free loopback port for the block; always stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"moto_server-{port}.log"
    env = dict(os.environ)
    env["MOTO_PORT"] = str(port)  # the SFN interpreter's SQS client calls localhost:$MOTO_PORT
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"moto server exited with {proc.returncode}; see {log_path}")
                try:
                    with urllib.request.urlopen(f"{url}/moto-api/", timeout=1.0):
                        break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"moto server did not answer on {url} in {start_timeout:.0f} s") from None
                    time.sleep(0.1)
            enable_execution(url)
            yield Server(url=url, port=port, log_path=log_path)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def enable_execution(url: str) -> None:
    body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    req = urllib.request.Request(
        f"{url}/moto-api/config", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5.0) as resp:
        resp.read()


# -- clients and helpers ---------------------------------------------------------------------


@dataclass
class Env:
    """Clients on one moto server plus the task queue."""

    sfn: Any
    sqs: Any
    queue_url: str

    def create_sm(self, definition: dict[str, Any], name: str | None = None) -> str:
        resp = self.sfn.create_state_machine(
            name=name or f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE
        )
        return str(resp["stateMachineArn"])

    def start(self, sm_arn: str, payload: dict[str, Any] | None = None, name: str | None = None) -> str:
        resp = self.sfn.start_execution(
            stateMachineArn=sm_arn, name=name or f"ex-{uuid.uuid4().hex[:8]}", input=json.dumps(payload or {})
        )
        return str(resp["executionArn"])

    def receive(self, timeout: float, max_messages: int = 10) -> list[Msg]:
        """Receive (and delete) whatever arrives within ``timeout`` s; returns at the first non-empty batch."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            wait = max(0, min(1, int(deadline - time.monotonic())))
            resp = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait
            )
            got = resp.get("Messages", [])
            if got:
                now = time.monotonic()
                for m in got:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
                return [Msg(body=json.loads(m["Body"]), at=now) for m in got]
            if wait == 0:
                time.sleep(0.005)
        return []

    def receive_one(self, timeout: float = 10.0) -> Msg | None:
        got = self.receive(timeout, max_messages=1)
        return got[0] if got else None

    def fresh_queue(self) -> None:
        """Switch to a new empty queue (PurgeQueue is limited to once a minute), so probes cannot see each
        other's leftover messages."""
        self.queue_url = self.sqs.create_queue(QueueName=f"tasks-{uuid.uuid4().hex[:6]}")["QueueUrl"]

    def wait_done(self, exec_arn: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            d = self.sfn.describe_execution(executionArn=exec_arn)
            if d["status"] != "RUNNING" or time.monotonic() > deadline:
                return dict(d)
            time.sleep(0.02)

    def history_types(self, exec_arn: str) -> list[str]:
        return [e["type"] for e in self.sfn.get_execution_history(executionArn=exec_arn, maxResults=1000)["events"]]


@dataclass
class Msg:
    body: dict[str, Any]
    at: float  # time.monotonic() when received


def make_env(server: Server) -> Env:
    config = Config(region_name=REGION, retries={"total_max_attempts": 1}, read_timeout=30)
    kw: dict[str, Any] = {
        "endpoint_url": server.url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "config": config,
    }
    sfn = boto3.client("stepfunctions", **kw)
    sqs = boto3.client("sqs", **kw)
    queue_url = sqs.create_queue(QueueName=f"tasks-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    return Env(sfn=sfn, sqs=sqs, queue_url=queue_url)


def error_code(fn: Callable[[], Any]) -> str:
    """The AWS error code ``fn`` raises, or ``no error``."""
    try:
        fn()
    except ClientError as exc:
        return f"{exc.response['Error']['Code']} ({exc.response['Error'].get('Message', '')[:90]})"
    return "no error"


def task(queue_url: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": WAIT_TASK, "Parameters": {"QueueUrl": queue_url, "MessageBody": body}, **extra}


def body_token(msg: Msg | None) -> str:
    assert msg is not None, "no SQS message"
    return str(msg.body["token"])


# -- reporting -------------------------------------------------------------------------------


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def __call__(self, probe: str, verdict: str, text: str) -> None:
        line = f"[{probe}] {verdict}: {text}"
        self.lines.append(line)
        print(line, flush=True)

    def check(self, probe: str, ok: bool, text: str) -> None:
        self(probe, "PASS" if ok else "FAIL", text)


R = Report()


# -- probes ----------------------------------------------------------------------------------


def probe_a(env: Env) -> None:
    """waitForTaskToken: message, result, ResultPath/ResultSelector/Parameters, intrinsics."""
    q = env.queue_url
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    q,
                    {"token.$": "$$.Task.Token", "id.$": "$.id", "nested.$": "$.obj.k", "const": "c"},
                    ResultSelector={"value.$": "$.value", "fixed": 1},
                    ResultPath="$.res",
                    Next="Ok",
                ),
                "Ok": {"Type": "Succeed"},
            },
        }
    )
    ex = env.start(sm, {"id": "A1", "obj": {"k": "v"}})
    msg = env.receive_one()
    R.check(
        "a",
        msg is not None and "token" in msg.body and len(msg.body["token"]) > 10,
        f"SQS message arrives with token; body keys={sorted(msg.body) if msg else None}",
    )
    if msg is None:
        return
    R.check(
        "a",
        msg.body.get("id") == "A1" and msg.body.get("nested") == "v" and msg.body.get("const") == "c",
        f"Parameters .$ paths resolved in MessageBody (MessageBody object is JSON-encoded): {msg.body}",
    )
    env.sfn.send_task_success(taskToken=msg.body["token"], output=json.dumps({"value": 42, "other": "x"}))
    d = env.wait_done(ex)
    out = json.loads(d.get("output", "null"))
    R.check(
        "a",
        d["status"] == "SUCCEEDED" and out == {"id": "A1", "obj": {"k": "v"}, "res": {"value": 42, "fixed": 1}},
        f"SendTaskSuccess output -> ResultSelector -> ResultPath $.res: status={d['status']} output={out}",
    )

    # no ResultSelector/ResultPath: the task output replaces the state's output
    sm = env.create_sm(
        {"StartAt": "T", "States": {"T": task(q, {"token.$": "$$.Task.Token"}, End=True)}},
    )
    ex = env.start(sm, {"keep": "me"})
    env.sfn.send_task_success(taskToken=body_token(env.receive_one()), output=json.dumps({"r": 1}))
    d = env.wait_done(ex)
    R("a", "OBSERVED", f"no ResultPath: output={d.get('output')} (AWS: the task output replaces the input)")

    # ResultPath null: the input passes through unchanged
    sm = env.create_sm(
        {"StartAt": "T", "States": {"T": task(q, {"token.$": "$$.Task.Token"}, ResultPath=None, End=True)}},
    )
    ex = env.start(sm, {"keep": "me"})
    env.sfn.send_task_success(taskToken=body_token(env.receive_one()), output=json.dumps({"r": 1}))
    d = env.wait_done(ex)
    R.check("a", json.loads(d.get("output", "null")) == {"keep": "me"}, f"ResultPath null: output={d.get('output')}")

    # intrinsics, one per Pass state (a bad one must not hide the others), then inside a Task
    intrinsics = {
        "States.Format": ("States.Format('archive {} step {}', $.id, $.n)", "archive A1 step 3"),
        "States.JsonToString": ("States.JsonToString($.obj)", '{"k":"v"}'),
        "States.StringToJson": ("States.StringToJson($.js)", {"a": 1}),
        "States.Array": ("States.Array($.id, $.n)", ["A1", 3]),
        "States.MathAdd": ("States.MathAdd($.n, 1)", 4),
        "States.UUID": ("States.UUID()", None),
        "States.ArrayGetItem": ("States.ArrayGetItem($.arr, 1)", "y"),
        "States.StringSplit": ("States.StringSplit($.csv, ',')", ["p", "q"]),
    }
    inp = {"id": "A1", "n": 3, "obj": {"k": "v"}, "js": '{"a": 1}', "arr": ["x", "y"], "csv": "p,q"}
    for name, (expr, want) in intrinsics.items():
        try:
            sm = env.create_sm(
                {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": expr}, "End": True}}}
            )
        except ClientError as exc:
            R("a", "FAIL", f"{name}: definition rejected: {exc.response['Error']['Code']}")
            continue
        d = env.wait_done(env.start(sm, inp))
        got = json.loads(d["output"])["v"] if d["status"] == "SUCCEEDED" else d.get("error")
        ok = d["status"] == "SUCCEEDED" and (want is None or got == want)
        R.check("a", ok, f"{name} in Pass Parameters: {expr} -> {got!r}")
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    q,
                    {
                        "token.$": "$$.Task.Token",
                        "msg.$": "States.Format('archive {} step {}', $.id, $.n)",
                        "obj.$": "States.JsonToString($.obj)",
                    },
                    End=True,
                )
            },
        }
    )
    ex = env.start(sm, inp)
    msg = env.receive_one()
    R.check(
        "a",
        msg is not None and msg.body.get("msg") == "archive A1 step 3" and msg.body.get("obj") == '{"k":"v"}',
        f"States.Format/States.JsonToString inside the SQS MessageBody: {msg.body if msg else None}",
    )
    if msg:
        env.sfn.send_task_success(taskToken=msg.body["token"], output="{}")
    env.wait_done(ex)
    # MessageBody as a plain string built by States.Format
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": WAIT_TASK,
                    "Parameters": {"QueueUrl": q, "MessageBody.$": "States.JsonToString($)"},
                    "End": True,
                }
            },
        }
    )
    ex = env.start(sm, {"id": "A1"})
    msg = env.receive_one()
    R(
        "a",
        "OBSERVED",
        f"'MessageBody.$': 'States.JsonToString($)' (no token in it) -> body {msg.body if msg else None}",
    )
    env.sfn.stop_execution(executionArn=ex)


CONTEXT_FIELDS = {
    "token": "$$.Task.Token",
    "execution_id": "$$.Execution.Id",
    "execution_name": "$$.Execution.Name",
    "execution_input": "$$.Execution.Input",
    "execution_start": "$$.Execution.StartTime",
    "state_name": "$$.State.Name",
    "entered": "$$.State.EnteredTime",
    "retry_count": "$$.State.RetryCount",
    "sm_id": "$$.StateMachine.Id",
    "sm_name": "$$.StateMachine.Name",
}


def probe_b(env: Env) -> None:
    """Context object fields in Parameters (each tried alone, then all together)."""
    q = env.queue_url
    for key, path in CONTEXT_FIELDS.items():
        body = {"token.$": "$$.Task.Token", key + ".$": path}
        sm = env.create_sm({"StartAt": "Step1", "States": {"Step1": task(q, body, End=True)}})
        name = f"ctx-{key}-{uuid.uuid4().hex[:4]}"
        ex = env.start(sm, {"x": 1}, name=name)
        msg = env.receive_one(timeout=5)
        if msg is None:
            d = env.wait_done(ex, timeout=5)
            R("b", "FAIL", f"{path}: no message; execution {d['status']} {d.get('error')} {d.get('cause', '')[:120]}")
            continue
        R.check("b", msg.body.get(key) is not None, f"{path} -> {msg.body.get(key)!r}")
        env.sfn.send_task_success(taskToken=msg.body["token"], output="{}")
        env.wait_done(ex)


def probe_c(env: Env) -> None:
    """Retry: custom error, MaxAttempts, IntervalSeconds, BackoffRate; States.ALL; States.Timeout."""
    q = env.queue_url
    body = {"token.$": "$$.Task.Token", "attempt.$": "$$.State.RetryCount"}
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    q,
                    body,
                    Retry=[{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "BackoffRate": 2, "MaxAttempts": 3}],
                    End=True,
                )
            },
        }
    )
    ex = env.start(sm, {})
    times, attempts = [], []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        msg = env.receive_one(timeout=max(0.1, deadline - time.monotonic()))
        if msg is None:
            break
        times.append(msg.at)
        attempts.append(msg.body.get("attempt"))
        env.sfn.send_task_failure(taskToken=msg.body["token"], error="Transient", cause="throttled")
        if len(times) == 4:
            extra = env.receive_one(timeout=3)
            if extra:
                times.append(extra.at)
            break
    d = env.wait_done(ex)
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(times)]
    R.check(
        "c",
        len(times) == 4,
        f"Retry Transient MaxAttempts=3: {len(times)} messages (1 + 3 retries expected), "
        f"$$.State.RetryCount per message={attempts}",
    )
    R.check(
        "c",
        len(gaps) == 3 and all(abs(g - w) < 0.6 for g, w in zip(gaps, [1, 2, 4], strict=False)),
        f"IntervalSeconds=1, BackoffRate=2: gaps between messages {gaps} s (expected ~1, 2, 4)",
    )
    R(
        "c",
        "OBSERVED",
        f"after retries exhausted: status={d['status']} error={d.get('error')!r} cause={d.get('cause')!r}",
    )

    # States.ALL retry on a custom error
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    q,
                    {"token.$": "$$.Task.Token"},
                    Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    End=True,
                )
            },
        }
    )
    ex = env.start(sm, {})
    n = 0
    for _ in range(3):
        msg = env.receive_one(timeout=4)
        if msg is None:
            break
        n += 1
        env.sfn.send_task_failure(taskToken=msg.body["token"], error="Whatever")
    d = env.wait_done(ex)
    R.check("c", n == 2, f"Retry States.ALL MaxAttempts=1 on error 'Whatever': {n} messages; final {d['status']}")

    # States.Timeout retry: nobody answers
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    q,
                    {"token.$": "$$.Task.Token"},
                    TimeoutSeconds=1,
                    Retry=[{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    End=True,
                )
            },
        }
    )
    t0 = time.monotonic()
    ex = env.start(sm, {})
    stamps = []
    for _ in range(3):
        msg = env.receive_one(timeout=5)
        if msg is None:
            break
        stamps.append(round(msg.at - t0, 2))
    d = env.wait_done(ex, timeout=10)
    R.check(
        "c",
        len(stamps) == 2 and d.get("error") == "States.Timeout",
        f"Retry States.Timeout (TimeoutSeconds=1, MaxAttempts=1): messages at {stamps} s; "
        f"final {d['status']} error={d.get('error')!r}",
    )

    # MaxAttempts 0 means: do not retry
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    q,
                    {"token.$": "$$.Task.Token"},
                    Retry=[{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                    End=True,
                )
            },
        }
    )
    ex = env.start(sm, {})
    env.sfn.send_task_failure(taskToken=body_token(env.receive_one()), error="X")
    extra = env.receive_one(timeout=2.5)
    d = env.wait_done(ex)
    R.check("c", extra is None, f"MaxAttempts=0: retried={extra is not None}; final {d['status']}")


def catch_sm(env: Env) -> str:
    return env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    env.queue_url,
                    {"token.$": "$$.Task.Token"},
                    Retry=[{"ErrorEquals": ["Transient"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    Catch=[
                        {"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "WasRejected"},
                        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "WasOther"},
                    ],
                    Next="Ok",
                ),
                "WasRejected": {"Type": "Pass", "Result": "rejected", "ResultPath": "$.branch", "End": True},
                "WasOther": {"Type": "Pass", "Result": "other", "ResultPath": "$.branch", "End": True},
                "Ok": {"Type": "Succeed"},
            },
        }
    )


def probe_d(env: Env) -> None:
    """Catch: custom error, States.ALL, ResultPath $.error, after retries exhausted."""
    sm = catch_sm(env)
    ex = env.start(sm, {"archive_id": "X"})
    env.sfn.send_task_failure(taskToken=body_token(env.receive_one()), error="Rejected", cause="bad SIP: no manifest")
    d = env.wait_done(ex)
    out = json.loads(d.get("output") or "null")
    R.check(
        "d",
        d["status"] == "SUCCEEDED" and out and out.get("branch") == "rejected" and out.get("archive_id") == "X",
        f"Catch Rejected -> ResultPath $.error: output={out}",
    )
    cause = (out or {}).get("error", {}).get("Cause")
    R.check("d", cause == "bad SIP: no manifest", f"$.error.Cause carries SendTaskFailure's cause: {cause!r}")

    ex = env.start(sm, {"archive_id": "Y"})
    env.sfn.send_task_failure(taskToken=body_token(env.receive_one()), error="Boom", cause="disk on fire")
    d = env.wait_done(ex)
    out = json.loads(d.get("output") or "null")
    R.check("d", (out or {}).get("branch") == "other", f"Catch States.ALL on 'Boom': output={out}")

    ex = env.start(sm, {"archive_id": "Z"})
    n = 0
    for _ in range(3):
        msg = env.receive_one(timeout=4)
        if msg is None:
            break
        n += 1
        env.sfn.send_task_failure(taskToken=msg.body["token"], error="Transient", cause="slow down")
    d = env.wait_done(ex)
    out = json.loads(d.get("output") or "null")
    R.check(
        "d",
        n == 2 and (out or {}).get("branch") == "other",
        f"Catch fires after retries exhausted: {n} messages, output={out}",
    )

    # the cause is lost: is it the HTTP layer? send the failure with an error only
    ex = env.start(sm, {"archive_id": "W"})
    env.sfn.send_task_failure(taskToken=body_token(env.receive_one()), error="Rejected")
    d = env.wait_done(ex)
    R("d", "OBSERVED", f"SendTaskFailure without cause: output={d.get('output')}")
    ex = env.start(sm, {"archive_id": "V"})
    env.sfn.send_task_failure(taskToken=body_token(env.receive_one()), cause="only a cause")
    d = env.wait_done(ex)
    R("d", "OBSERVED", f"SendTaskFailure without error (cause only): output={d.get('output')}")


def probe_e(env: Env) -> None:
    """TimeoutSeconds, HeartbeatSeconds, SendTaskHeartbeat."""
    q = env.queue_url
    catch_all = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "C"}]
    after = {"C": {"Type": "Pass", "End": True}}

    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {"T": task(q, {"token.$": "$$.Task.Token"}, TimeoutSeconds=2, Catch=catch_all, End=True)} | after,
        }
    )
    t0 = time.monotonic()
    ex = env.start(sm, {})
    msg = env.receive_one()
    d = env.wait_done(ex, timeout=10)
    dt = time.monotonic() - t0
    out = json.loads(d.get("output") or "null")
    R.check(
        "e",
        (out or {}).get("error", {}).get("Error") == "States.Timeout",
        f"TimeoutSeconds=2 enforced: after {dt:.2f} s output={out}",
    )
    late = error_code(lambda: env.sfn.send_task_success(taskToken=body_token(msg), output="{}"))
    R("e", "OBSERVED", f"SendTaskSuccess after the task timed out -> {late}")

    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(
                    q, {"token.$": "$$.Task.Token"}, TimeoutSeconds=30, HeartbeatSeconds=2, Catch=catch_all, End=True
                )
            }
            | after,
        }
    )
    t0 = time.monotonic()
    ex = env.start(sm, {})
    env.receive_one()
    d = env.wait_done(ex, timeout=10)
    dt = time.monotonic() - t0
    out = json.loads(d.get("output") or "null")
    R.check(
        "e",
        (out or {}).get("error", {}).get("Error") == "States.HeartbeatTimeout",
        f"HeartbeatSeconds=2 without heartbeats: after {dt:.2f} s output={out}",
    )

    t0 = time.monotonic()
    ex = env.start(sm, {})
    token = body_token(env.receive_one())
    beats = []
    while time.monotonic() - t0 < 5.5:
        time.sleep(1)
        beats.append(error_code(lambda: env.sfn.send_task_heartbeat(taskToken=token)))
    alive = env.sfn.describe_execution(executionArn=ex)["status"]
    env.sfn.send_task_success(taskToken=token, output=json.dumps({"done": True}))
    d = env.wait_done(ex)
    R.check(
        "e",
        alive == "RUNNING" and d["status"] == "SUCCEEDED" and json.loads(d["output"]) == {"done": True},
        f"heartbeats every 1 s keep a HeartbeatSeconds=2 task alive for 5.5 s: {set(beats)}; "
        f"final {d['status']} {d.get('output')}",
    )
    R(
        "e",
        "OBSERVED",
        f"SendTaskHeartbeat unknown token -> {error_code(lambda: env.sfn.send_task_heartbeat(taskToken='nope'))}",
    )


def probe_f(env: Env) -> None:
    """Choice, Pass, Succeed, Fail; DescribeExecution; history event types; ListExecutions."""
    sm = env.create_sm(
        {
            "StartAt": "Mark",
            "States": {
                "Mark": {"Type": "Pass", "Result": {"seen": True}, "ResultPath": "$.mark", "Next": "Route"},
                "Route": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.kind", "StringEquals": "ok", "Next": "Good"},
                        {"Variable": "$.kind", "StringEquals": "fail", "Next": "Bad"},
                        {
                            "And": [
                                {"Variable": "$.n", "IsPresent": True},
                                {"Variable": "$.n", "NumericGreaterThan": 5},
                            ],
                            "Next": "Good",
                        },
                    ],
                    "Default": "Other",
                },
                "Other": {"Type": "Pass", "Parameters": {"was.$": "$.kind"}, "Next": "Good"},
                "Good": {"Type": "Succeed"},
                "Bad": {"Type": "Fail", "Error": "Nope", "Cause": "asked to fail"},
            },
        }
    )
    cases = [({"kind": "ok"}, "SUCCEEDED"), ({"kind": "fail"}, "FAILED"), ({"kind": "x", "n": 9}, "SUCCEEDED")]
    cases.append(({"kind": "zzz"}, "SUCCEEDED"))
    for inp, want in cases:
        ex = env.start(sm, inp)
        d = env.wait_done(ex)
        R.check(
            "f",
            d["status"] == want,
            f"input {inp}: status={d['status']} output={d.get('output')} error={d.get('error')!r} "
            f"cause={d.get('cause')!r}",
        )
    R(
        "f",
        "OBSERVED",
        f"history of the Fail run: {env.history_types(env.start(sm, {'kind': 'fail'}))}",
    )
    time.sleep(0.3)
    # a task execution's history, and ListExecutions with statusFilter
    tsm = env.create_sm({"StartAt": "T", "States": {"T": task(env.queue_url, {"token.$": "$$.Task.Token"}, End=True)}})
    ex = env.start(tsm, {})
    token = body_token(env.receive_one())
    running = env.sfn.list_executions(stateMachineArn=tsm, statusFilter="RUNNING")["executions"]
    env.sfn.send_task_success(taskToken=token, output='{"ok": 1}')
    env.wait_done(ex)
    R("f", "OBSERVED", f"history of a one-task run: {env.history_types(ex)}")
    counts = {
        s: len(env.sfn.list_executions(stateMachineArn=sm, statusFilter=s)["executions"])
        for s in ("RUNNING", "SUCCEEDED", "FAILED")
    }
    R.check(
        "f",
        counts == {"RUNNING": 0, "SUCCEEDED": 3, "FAILED": 2} and len(running) == 1,
        f"ListExecutions statusFilter counts={counts}; RUNNING while a task waited={len(running)}",
    )


def probe_g(env: Env) -> None:
    """StartExecution with the same name twice."""
    sm = env.create_sm({"StartAt": "T", "States": {"T": task(env.queue_url, {"token.$": "$$.Task.Token"}, End=True)}})
    first = env.start(sm, {"a": 1}, name="dup")
    token = body_token(env.receive_one())
    try:
        again = env.start(sm, {"a": 1}, name="dup")
        R("g", "OBSERVED", f"same name + same input while RUNNING -> no error, same ARN returned: {again == first}")
    except ClientError as exc:
        R("g", "OBSERVED", f"same name + same input while RUNNING -> {exc.response['Error']['Code']}")
    extra = env.receive_one(timeout=1.5)
    R("g", "OBSERVED", f"... and a second task message was sent: {extra is not None}")
    R(
        "g",
        "OBSERVED",
        f"same name + different input while RUNNING -> {error_code(lambda: env.start(sm, {'a': 2}, name='dup'))}",
    )
    env.sfn.send_task_success(taskToken=token, output="{}")
    env.wait_done(first)
    R(
        "g",
        "OBSERVED",
        f"same name + same input after it SUCCEEDED -> {error_code(lambda: env.start(sm, {'a': 1}, name='dup'))}",
    )
    n = len(env.sfn.list_executions(stateMachineArn=sm)["executions"])
    R("g", "OBSERVED", f"executions listed for the state machine: {n}")


def probe_h(env: Env) -> None:
    """SendTaskSuccess/Failure with an unknown or already used token."""
    sfn = env.sfn

    def obs(label: str, fn: Callable[[], Any]) -> None:
        R("h", "OBSERVED", f"{label} -> {error_code(fn)}")

    sm = env.create_sm({"StartAt": "T", "States": {"T": task(env.queue_url, {"token.$": "$$.Task.Token"}, End=True)}})
    obs("SendTaskSuccess unknown token", lambda: sfn.send_task_success(taskToken="nope", output="{}"))
    obs("SendTaskFailure unknown token", lambda: sfn.send_task_failure(taskToken="nope", error="E"))
    ex = env.start(sm, {})
    token = body_token(env.receive_one())
    obs("SendTaskSuccess invalid JSON output", lambda: sfn.send_task_success(taskToken=token, output="not json"))
    d = env.wait_done(ex, timeout=3)
    R("h", "OBSERVED", f"... that execution: {d['status']} {d.get('error')!r} cause={str(d.get('cause'))[:100]!r}")
    ex = env.start(sm, {})
    token = body_token(env.receive_one())
    sfn.send_task_success(taskToken=token, output="{}")
    env.wait_done(ex)
    obs("SendTaskSuccess used token (execution finished)", lambda: sfn.send_task_success(taskToken=token, output="{}"))
    obs("SendTaskFailure used token (execution finished)", lambda: sfn.send_task_failure(taskToken=token, error="E"))
    # a used token whose execution is still running (two-step machine, answer the first step twice)
    sm2 = env.create_sm(
        {
            "StartAt": "A",
            "States": {
                "A": task(env.queue_url, {"token.$": "$$.Task.Token"}, Next="B"),
                "B": task(env.queue_url, {"token.$": "$$.Task.Token"}, End=True),
            },
        }
    )
    ex = env.start(sm2, {})
    t1 = body_token(env.receive_one())
    sfn.send_task_success(taskToken=t1, output="{}")
    t2 = body_token(env.receive_one())
    obs("SendTaskSuccess used token, execution still RUNNING", lambda: sfn.send_task_success(taskToken=t1, output="{}"))
    sfn.send_task_success(taskToken=t2, output='{"b": 1}')
    d = env.wait_done(ex)
    R("h", "OBSERVED", f"... that execution then: status={d['status']} output={d.get('output')}")


def probe_i(env: Env) -> None:
    """StopExecution while a task waits."""
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {
                "T": task(env.queue_url, {"token.$": "$$.Task.Token"}, Next="After"),
                "After": task(env.queue_url, {"token.$": "$$.Task.Token", "after": True}, End=True),
            },
        }
    )
    ex = env.start(sm, {})
    token = body_token(env.receive_one())
    resp = env.sfn.stop_execution(executionArn=ex, error="Operator", cause="stopped by probe")
    d = env.wait_done(ex, timeout=3)
    R.check(
        "i",
        d["status"] == "ABORTED",
        f"StopExecution while the task waits -> 3 s later status={d['status']} "
        f"(stopDate in StopExecution response: {'stopDate' in resp})",
    )
    R("i", "OBSERVED", f"history while stopped: {env.history_types(ex)}")
    R(
        "i",
        "OBSERVED",
        f"SendTaskSuccess on the stopped execution's token -> "
        f"{error_code(lambda: env.sfn.send_task_success(taskToken=token, output='{}'))}",
    )
    d = env.wait_done(ex, timeout=3)
    R(
        "i",
        "OBSERVED",
        f"after that: status={d['status']} error={d.get('error')!r} cause={d.get('cause')!r} "
        f"stopDate={'stopDate' in d}",
    )
    extra = env.receive_one(timeout=1.5)
    R.check("i", extra is None, f"no next-state message after stop: {extra is None}")
    R("i", "OBSERVED", f"history: {env.history_types(ex)}")
    R("i", "OBSERVED", f"StopExecution again -> {error_code(lambda: env.sfn.stop_execution(executionArn=ex))}")

    # a stopped task with a TimeoutSeconds: does the timeout end the stopped execution?
    sm = env.create_sm(
        {
            "StartAt": "T",
            "States": {"T": task(env.queue_url, {"token.$": "$$.Task.Token"}, TimeoutSeconds=2, End=True)},
        }
    )
    ex = env.start(sm, {})
    env.receive_one()
    env.sfn.stop_execution(executionArn=ex)
    d = env.wait_done(ex, timeout=5)
    R(
        "i",
        "OBSERVED",
        f"StopExecution on a task with TimeoutSeconds=2, 5 s later: status={d['status']} error={d.get('error')!r}; "
        f"history tail {env.history_types(ex)[-2:]}",
    )


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


def probe_j(env: Env, runs: int = 15) -> None:
    """Latency: StartExecution -> message receivable; SendTaskSuccess -> next state's message."""
    sm = env.create_sm(
        {
            "StartAt": "A",
            "States": {
                "A": task(env.queue_url, {"token.$": "$$.Task.Token"}, Next="B"),
                "B": task(env.queue_url, {"token.$": "$$.Task.Token"}, End=True),
            },
        }
    )
    start_ms, next_ms, end_ms = [], [], []
    for _ in range(runs):
        t0 = time.monotonic()
        ex = env.start(sm, {})
        m1 = env.receive_one()
        start_ms.append((m1.at - t0) * 1000 if m1 else float("nan"))
        t1 = time.monotonic()
        env.sfn.send_task_success(taskToken=body_token(m1), output="{}")
        m2 = env.receive_one()
        next_ms.append((m2.at - t1) * 1000 if m2 else float("nan"))
        t2 = time.monotonic()
        env.sfn.send_task_success(taskToken=body_token(m2), output="{}")
        env.wait_done(ex)
        end_ms.append((time.monotonic() - t2) * 1000)

    def fmt(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.0f} ms, p90 {pct(xs, 0.9):.0f} ms, max {max(xs):.0f} ms"

    R("j", "OBSERVED", f"StartExecution -> first message received ({runs} runs): {fmt(start_ms)}")
    R("j", "OBSERVED", f"SendTaskSuccess -> next state's message received: {fmt(next_ms)}")
    R("j", "OBSERVED", f"last SendTaskSuccess -> DescribeExecution SUCCEEDED (20 ms polling): {fmt(end_ms)}")


PROBES: dict[str, Callable[[Env], None]] = {
    "a": probe_a,
    "b": probe_b,
    "c": probe_c,
    "d": probe_d,
    "e": probe_e,
    "f": probe_f,
    "g": probe_g,
    "h": probe_h,
    "i": probe_i,
    "j": probe_j,
}


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops the server


def prepare_process_env() -> None:
    for var in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ[var] = os.devnull
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(var, None)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("probes", nargs="*", default=list(PROBES), help="which probes (a..j); default all")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    prepare_process_env()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="sfn-probe-") as tmp, moto_server(Path(tmp)) as server:
        print(f"moto server on {server.url}", flush=True)
        env = make_env(server)
        for key in args.probes:
            env.fresh_queue()
            began = time.monotonic()
            try:
                PROBES[key](env)
            except Exception as exc:  # a broken probe must not hide the others
                R(key, "FAIL", f"probe crashed: {type(exc).__name__}: {exc}")
            env.fresh_queue()
            print(f"  ({key} took {time.monotonic() - began:.1f} s)", flush=True)
        tail = server.log_path.read_text(errors="replace").count("Traceback")
        print(f"server log tracebacks: {tail}", flush=True)
    failures = sum(1 for line in R.lines if "] FAIL:" in line)
    print(f"{failures} FAIL line(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
