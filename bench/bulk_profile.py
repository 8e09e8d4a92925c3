"""Where the bulk index's time goes, and its floor (issue 24): used by ``bench/bulk_index.py``.

- **CPU per process.** utime + stime of this process (the bulk index's client) and of each
  local-stack process (moto, osmem-server, the event runner, chalice local), read from
  ``/proc`` before and after a run: CPU milliseconds per dataset, by process.
- **Calls and profile.** One more bulk index over a second bucket of the same shape, chunk by
  chunk in this thread (so that pyinstrument sees it), with every botocore call recorded: the
  emulator calls per dataset by operation, the wall time spent waiting on each, and our own
  CPU by package.
- **Floor.** Those recorded calls replayed raw (plain boto3 clients, no parsing, no
  registration logic), with the same chunking and the same thread pool as the bulk index:
  PutItems with fresh uuids (so that their conditions pass as in the measured run), reads as
  recorded. The floor for unchanged datasets is the same replay without the writes.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import threading
import time
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from inproc import _substitute, summarise

from infra.local.stack import LocalStack

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) a live process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def cpu_snapshot(stack: LocalStack) -> dict[str, float]:
    times = os.times()
    out = {"client (bulk index)": times.user + times.system}
    for proc in stack.processes:
        if proc.pid is not None and proc.running:
            out[proc.name] = process_cpu(proc.pid)
    return out


def cpu_per_dataset(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    """CPU ms per dataset by process between two snapshots."""
    return {name: round((after[name] - before.get(name, 0.0)) * 1000 / n, 2) for name in after}


@dataclass
class Recorded:
    service: str
    op: str
    params: Any
    seconds: float = 0.0


@dataclass
class Recorder:
    calls: list[Recorded] = field(default_factory=list)


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Every botocore API call made meanwhile (any thread), with its wall time."""
    from botocore.client import BaseClient

    rec = Recorder()
    original = BaseClient._make_api_call

    def api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        call = Recorded(self.meta.service_model.service_name, operation_name, copy.deepcopy(api_params))
        t0 = time.perf_counter()
        try:
            return original(self, operation_name, api_params)
        finally:
            call.seconds = time.perf_counter() - t0
            rec.calls.append(call)

    setattr(BaseClient, "_make_api_call", api_call)  # noqa: B010 - patched for the recording only
    try:
        yield rec
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010


def calls_per_dataset(calls: Sequence[Recorded], n: int) -> dict[str, dict[str, float]]:
    """Per emulator operation: calls per dataset and wall ms waited on it per dataset."""
    count: dict[str, int] = defaultdict(int)
    wall: dict[str, float] = defaultdict(float)
    for c in calls:
        count[f"{c.service}.{c.op}"] += 1
        wall[f"{c.service}.{c.op}"] += c.seconds
    return {
        k: {"per_dataset": round(count[k] / n, 3), "wall_ms_per_dataset": round(wall[k] * 1000 / n, 3)}
        for k in sorted(count, key=lambda k: -wall[k])
    }


def profile_sequential(ingest: Any, bucket: str, n: int) -> tuple[dict[str, Any], list[list[Recorded]]]:
    """The bulk index of ``bucket`` chunk by chunk in this thread, profiled and recorded.

    Returns the summary and the recorded calls, the listing first, then one list per chunk.
    """
    from pyinstrument import Profiler

    from chalicelib.ingest import ingestion
    from chalicelib.ingest.events import ObjectEvent

    chunks: list[list[Recorded]] = []
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    profiler.start()
    with recording() as rec:
        for snapshot in ingestion._snapshots(ingest.store, bucket, ""):
            chunks.append(list(rec.calls))
            rec.calls.clear()
            keys = list(ingestion.trigger_keys(o.key for o in snapshot.listed))
            scoped = ingest.using(snapshot)
            for i in range(0, len(keys), ingestion.INDEX_CHUNK):
                events = [
                    ObjectEvent(bucket=bucket, key=k, kind="created") for k in keys[i : i + ingestion.INDEX_CHUNK]
                ]
                scoped.handle_many(events, ingestion.INGEST_MAX_RECEIVE_COUNT)
                chunks.append(list(rec.calls))
                rec.calls.clear()
    profiler.stop()
    wall = time.perf_counter() - started
    session = profiler.last_session
    if session is None:
        raise RuntimeError("pyinstrument recorded no session")
    every = [c for chunk in chunks for c in chunk]
    waited = sum(c.seconds for c in every)
    summary = summarise(session.root_frame(), top=15)
    return {
        "n": n,
        "sequential_ms_per_dataset": round(wall * 1000 / n, 2),
        "waiting_on_emulators_ms_per_dataset": round(waited * 1000 / n, 2),
        "own_ms_per_dataset": round((wall - waited) * 1000 / n, 2),
        "calls": calls_per_dataset(every, n),
        "profile": summary,
        "text": profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False),
    }, chunks


def replay_floor(stack: LocalStack, chunks: Sequence[Sequence[Recorded]], concurrency: int, writes: bool) -> float:
    """Seconds to replay ``chunks`` raw: the first (the listing) alone, then the others over a
    pool of ``concurrency`` threads as the bulk index runs them. With ``writes``, every uuid
    written gets a fresh one (its conditional PutItem passes, as in a first run); without,
    the writes are left out (the calls of a run that finds everything unchanged)."""
    from botocore.exceptions import ClientError

    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def client(service: str) -> Any:
        with lock:
            if service not in clients:
                clients[service] = stack.client(service)
            return clients[service]

    fresh: dict[str, str] = {}
    for chunk in chunks:
        for c in chunk:
            if c.op == "PutItem" and "uuid" in c.params.get("Item", {}):
                fresh[c.params["Item"]["uuid"]["S"]] = str(uuidlib.uuid4())

    def prepared(chunk: Sequence[Recorded]) -> list[Recorded]:
        out = []
        for c in chunk:
            if c.op in WRITES and not writes:
                continue
            params = c.params
            if writes:
                for old in set(UUID.findall(repr(params))) & fresh.keys():
                    params = _substitute(params, old, fresh[old])
            out.append(Recorded(c.service, c.op, params))
        return out

    plans = [prepared(chunk) for chunk in chunks]
    for service in {c.service for plan in plans for c in plan}:
        client(service)  # built before the clock starts, as the bulk index's are

    def run(plan: Sequence[Recorded]) -> None:
        for c in plan:
            with contextlib.suppress(ClientError):
                client(c.service)._make_api_call(c.op, c.params)

    started = time.perf_counter()
    run(plans[0])
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(run, plans[1:]))
    return time.perf_counter() - started


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started
