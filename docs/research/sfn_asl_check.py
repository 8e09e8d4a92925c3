"""Run ``infra/statemachine/archive.asl.json`` on moto (server mode) against a tiny in-script worker.

The definition is loaded as it is and its only placeholder, ``${TaskQueueUrl}``, is replaced with
``str.replace`` (not ``string.Template``: that would turn ``$$.Task.Token`` into ``$.Task.Token``).
moto is started as in ``docs/research/sfn_moto_probe.py`` (free 127.0.0.1 port, ``MOTO_PORT`` set, execution
switched on, always stopped). The worker polls the task queue and answers each message according to
the scenario:

1. every step succeeds -> SUCCEEDED, the output keeps archive_id/dataset_uuid and has every step's result;
2. ``store`` fails once with ``Transient`` then succeeds -> SUCCEEDED, two ``store`` messages;
3. ``validate`` fails with ``Rejected`` -> a ``rejected`` message (with ``error``) -> FAILED, error Rejected;
4. ``verify`` fails with ``Boom`` -> a ``failed`` message naming ``verify`` -> FAILED, error ArchiveFailed.

Run from the repository root::

    .venv/bin/python docs/research/sfn_asl_check.py
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sfn_moto_probe import Env, Msg, make_env, moto_server, prepare_process_env

ASL = Path(__file__).resolve().parent.parent / "infra" / "statemachine" / "archive.asl.json"
STEPS = ("validate", "build", "store", "verify", "register")

# A behaviour answers one message: ("success", output) or ("failure", error, cause).
Answer = tuple[str, ...]
Behaviour = Callable[[dict[str, Any], int], Answer]  # (message body, how many of this step seen so far)


def render(queue_url: str) -> str:
    text = ASL.read_text()
    return text.replace("${TaskQueueUrl}", queue_url)


@dataclass
class Run:
    status: str
    error: str | None
    output: dict[str, Any] | None
    messages: list[Msg] = field(default_factory=list)
    seconds: float = 0.0

    def steps(self) -> list[str]:
        return [str(m.body["step"]) for m in self.messages]


def run(env: Env, sm_arn: str, behaviour: Behaviour, timeout: float = 60.0) -> Run:
    archive_id = f"ar-{uuid.uuid4().hex[:6]}"
    t0 = time.monotonic()
    ex = env.sfn.start_execution(
        stateMachineArn=sm_arn,
        name=archive_id,
        input=json.dumps({"archive_id": archive_id, "dataset_uuid": str(uuid.uuid4())}),
    )["executionArn"]
    seen: dict[str, int] = {}
    messages: list[Msg] = []
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        d = env.sfn.describe_execution(executionArn=ex)
        if d["status"] != "RUNNING":
            break
        msg = env.receive_one(timeout=0.5)
        if msg is None:
            continue
        messages.append(msg)
        step = str(msg.body["step"])
        seen[step] = seen.get(step, 0) + 1
        answer = behaviour(msg.body, seen[step])
        if answer[0] == "success":
            env.sfn.send_task_success(taskToken=msg.body["token"], output=answer[1])
        else:
            env.sfn.send_task_failure(taskToken=msg.body["token"], error=answer[1], cause=answer[2])
    else:
        env.sfn.stop_execution(executionArn=ex)
        raise TimeoutError(f"execution {ex} still running after {timeout} s")
    out = d.get("output")
    return Run(
        status=d["status"],
        error=d.get("error"),
        output=json.loads(out) if out else None,
        messages=messages,
        seconds=time.monotonic() - t0,
    )


def ok(body: dict[str, Any], _n: int) -> Answer:
    return ("success", json.dumps({"done": body["step"], "attempt": body.get("attempt")}))


def store_transient_once(body: dict[str, Any], n: int) -> Answer:
    if body["step"] == "store" and n == 1:
        return ("failure", "Transient", "S3 throttled")
    return ok(body, n)


def validate_rejected(body: dict[str, Any], n: int) -> Answer:
    if body["step"] == "validate":
        return ("failure", "Rejected", "manifest missing")
    return ok(body, n)


def verify_boom(body: dict[str, Any], n: int) -> Answer:
    if body["step"] == "verify":
        return ("failure", "Boom", "checksum mismatch")
    return ok(body, n)


def report(label: str, passed: bool, text: str) -> bool:
    print(f"[{label}] {'PASS' if passed else 'FAIL'}: {text}", flush=True)
    return passed


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops the server


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    prepare_process_env()
    results: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="sfn-asl-") as tmp, moto_server(Path(tmp)) as server:
        env = make_env(server)
        sm = env.sfn.create_state_machine(
            name="archive", definition=render(env.queue_url), roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        print(f"moto server on {server.url}; state machine {sm}", flush=True)

        r = run(env, sm, ok)
        out = r.output or {}
        results.append(
            report(
                "1",
                r.status == "SUCCEEDED"
                and r.steps() == list(STEPS)
                and sorted(out.get("steps", {})) == sorted(STEPS)
                and {"archive_id", "dataset_uuid"} <= set(out),
                f"all succeed: {r.status} in {r.seconds:.2f} s, messages {r.steps()}, output {out}",
            )
        )
        first = r.messages[0].body
        print(f"    first message body: {first}")
        print(f"    last message's input: {r.messages[-1].body['input']}")

        r = run(env, sm, store_transient_once)
        stores = [m for m in r.messages if m.body["step"] == "store"]
        gap = stores[1].at - stores[0].at if len(stores) == 2 else float("nan")
        results.append(
            report(
                "2",
                r.status == "SUCCEEDED"
                and len(stores) == 2
                and [m.body["attempt"] for m in stores] == [0, 1]
                and (r.output or {}).get("steps", {}).get("store", {}).get("attempt") == 1,
                f"store Transient once: {r.status}, messages {r.steps()}, store attempts "
                f"{[m.body['attempt'] for m in stores]}, retry after {gap:.2f} s (IntervalSeconds 2)",
            )
        )

        r = run(env, sm, validate_rejected)
        rejected = [m.body for m in r.messages if m.body["step"] == "rejected"]
        results.append(
            report(
                "3",
                r.status == "FAILED"
                and r.error == "Rejected"
                and r.steps() == ["validate", "rejected"]
                and rejected[0]["error"]["Error"] == "Rejected",
                f"validate Rejected: {r.status} error={r.error}, messages {r.steps()}, "
                f"rejected message error={rejected[0]['error'] if rejected else None}",
            )
        )

        r = run(env, sm, verify_boom)
        failed = [m.body for m in r.messages if m.body["step"] == "failed"]
        results.append(
            report(
                "4",
                r.status == "FAILED"
                and r.error == "ArchiveFailed"
                and bool(failed)
                and failed[0]["failed_step"] == "verify"
                and failed[0]["error"]["Error"] == "Boom",
                f"verify Boom: {r.status} error={r.error}, messages {r.steps()}, failed message "
                f"failed_step={failed[0]['failed_step'] if failed else None} "
                f"error={failed[0]['error'] if failed else None} "
                f"steps done={sorted(failed[0]['input'].get('steps', {})) if failed else None}",
            )
        )
    print(f"{results.count(True)}/{len(results)} scenarios passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
