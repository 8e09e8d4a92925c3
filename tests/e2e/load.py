"""The measuring side of the mixed-load test (issue 22, "T3"): timed requests, the ledger of
acknowledged writes checked afterwards, the memory of the stack's processes over time, and
the reports (``build/test-output/load.json``; under ``make soak`` also ``build/soak/report.md``
and ``report.json``).

Nothing here knows the API: :mod:`tests.e2e.test_mixed_load` says what is sent and what an
answer means.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from infra.local.processes import ManagedProcess
from tests.e2e.helpers import Client

SHOWN = 20  # problems listed in a failure message or a report, per sort


# -- timed requests -------------------------------------------------------------------------
@dataclass
class Recorder:
    """Every request's kind, status and latency. A 5xx, a connection failure and a status
    outside what the caller expects are problems (with the method, path and answer)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # no answer at all (connection, timeout)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(
        self,
        client: Client,
        kind: str,
        method: str,
        path: str,
        *,
        ok: Collection[int] = (200,),
        tolerated: Collection[int] = (),
        **kw: Any,
    ) -> requests.Response | None:
        """One request as ``client``; None when none came back. ``ok`` are the answers the
        operation wants, ``tolerated`` the 4xx it explains (a stale versioned edit's 409)."""
        began = time.perf_counter()
        try:
            r = client.call(method, path, **kw)
        except requests.RequestException as exc:
            with self.lock:
                self.failures.append(f"{client.username} {method} {path}: {type(exc).__name__}: {exc}")
            return None
        seconds = time.perf_counter() - began
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[(kind, r.status_code)] += 1
            if r.status_code >= 500:
                self.server_errors.append(f"{client.username} {method} {path} -> {r.status_code} {r.text[:300]}")
            elif r.status_code not in ok and r.status_code not in tolerated:
                self.unexpected.append(f"{client.username} {method} {path} -> {r.status_code} {r.text[:300]}")
        return r

    def problem(self, text: str) -> None:
        """An answer with the expected status but not the expected content."""
        with self.lock:
            self.unexpected.append(text)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least ``p`` percent of the values at or below it."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def kind_table(rec: Recorder, seconds: float) -> dict[str, dict[str, Any]]:
    """Per kind: count, requests per second over the run, p50/p95/p99/max in ms, statuses."""
    table: dict[str, dict[str, Any]] = {}
    for kind in sorted(rec.latencies):
        values = sorted(rec.latencies[kind])
        table[kind] = {
            "count": len(values),
            "per_second": round(len(values) / seconds, 2) if seconds else None,
            **{f"p{p}_ms": round(percentile(values, p) * 1000, 1) for p in (50, 95, 99)},
            "max_ms": round(values[-1] * 1000, 1),
            "statuses": {str(s): n for (k, s), n in sorted(rec.statuses.items()) if k == kind},
        }
    return table


# -- acknowledged writes --------------------------------------------------------------------
@dataclass(frozen=True)
class Ack:
    """One edit answered 2xx: the value written, the version it made (when the answer or
    the request tells it) and when the request was sent and answered."""

    value: str
    version: int | None
    sent: float
    answered: float


Reader = Callable[[], tuple[int | None, str]]


@dataclass
class Tracked:
    """An editable record: how to read its ``(version or None, value)``, what it held when
    the load began, and every acknowledged edit of it."""

    key: str
    read: Reader
    start_version: int | None
    start_value: str
    acks: list[Ack] = field(default_factory=list)


class Ledger:
    """Every acknowledged write of the run, checked against what the stack answers afterwards."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: dict[str, Tracked] = {}
        self.registered: list[dict[str, str]] = []  # {"uuid", "uri", "base_uri", "how"}
        self.created: list[tuple[Client, str]] = []  # (who, a path that must answer them 200)

    def track(self, key: str, read: Reader, version: int | None, value: str) -> None:
        with self._lock:
            self.records[key] = Tracked(key, read, version, value)

    def ack(self, key: str, ack: Ack) -> None:
        with self._lock:
            self.records[key].acks.append(ack)

    def register(self, entry: dict[str, str]) -> None:
        with self._lock:
            self.registered.append(entry)

    def create(self, who: Client, path: str) -> None:
        with self._lock:
            self.created.append((who, path))

    def registered_snapshot(self) -> list[dict[str, str]]:
        with self._lock:
            return list(self.registered)


def check_record(rec: Tracked, version: int | None, value: str) -> list[str]:
    """What is wrong with a record that ends at ``(version, value)``: a lost edit (fewer
    versions than acknowledged edits, two edits acknowledged with one version) or a stale
    value (not the last acknowledged edit's)."""
    problems: list[str] = []
    acks = rec.acks
    if rec.start_version is not None:
        expected = rec.start_version + len(acks)
        if version != expected:
            problems.append(f"{rec.key}: version {version}, expected {rec.start_version} + {len(acks)} acknowledged")
    known = [a.version for a in acks if a.version is not None]
    if len(known) != len(set(known)):
        doubled = sorted(v for v, n in Counter(known).items() if n > 1)
        problems.append(f"{rec.key}: versions {doubled[:5]} acknowledged more than once (a lost write)")
    if not acks:
        if value != rec.start_value:
            problems.append(f"{rec.key}: value {value!r} though no edit was acknowledged (start {rec.start_value!r})")
        return problems
    if known and len(known) == len(acks):  # every edit named its version: the highest wins
        wanted = {max(acks, key=lambda a: a.version or 0).value}
    else:  # last writer wins: any edit no other acknowledged edit was sent after
        latest_sent = max(a.sent for a in acks)
        wanted = {a.value for a in acks if a.answered >= latest_sent}
    if value not in wanted:
        problems.append(f"{rec.key}: value {value!r}, expected one of {sorted(wanted)[:3]} (stale)")
    return problems


# -- memory of the stack's processes --------------------------------------------------------
def rss_kib(pid: int) -> int | None:
    """VmRSS of ``pid`` in KiB (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples the resident memory of the stack's processes every ``interval`` seconds in a
    thread, from ``/proc/<pid>/status`` (the pids of ``stack.processes``)."""

    def __init__(self, processes: list[ManagedProcess], interval: float) -> None:
        self.pids = {p.name: p.pid for p in processes if p.pid is not None}
        self.interval = interval
        self.samples: list[dict[str, Any]] = []  # {"t": seconds since start, name: KiB, ...}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._began = 0.0

    def _sample(self) -> None:
        row: dict[str, Any] = {"t": round(time.monotonic() - self._began, 1)}
        row.update({name: rss_kib(pid) for name, pid in self.pids.items()})
        self.samples.append(row)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> RssSampler:
        self._began = time.monotonic()
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._sample()

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per process: pid, start/end/max RSS in MB and the growth in MB per minute (least
        squares over the samples)."""
        out: dict[str, dict[str, Any]] = {}
        for name, pid in self.pids.items():
            points = [(s["t"], s[name] / 1024) for s in self.samples if s.get(name) is not None]
            if not points:
                out[name] = {"pid": pid, "samples": 0}
                continue
            out[name] = {
                "pid": pid,
                "samples": len(points),
                "start_mb": round(points[0][1], 1),
                "end_mb": round(points[-1][1], 1),
                "max_mb": round(max(v for _, v in points), 1),
                "growth_mb_per_min": round(_slope(points) * 60, 2),
            }
        return out


def _slope(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / var if var else 0.0


# -- reports --------------------------------------------------------------------------------
def build_report(
    rec: Recorder, seconds: float, clients: int, rss: RssSampler, problems: list[str], settings: dict[str, Any]
) -> dict[str, Any]:
    return {
        "settings": {**settings, "clients": clients},
        "seconds": round(seconds, 1),
        "requests": rec.total,
        "throughput_per_second": round(rec.total / seconds, 2) if seconds else None,
        "server_errors": len(rec.server_errors),
        "unexpected": len(rec.unexpected),
        "failures": len(rec.failures),
        "lost_or_stale": len(problems),
        "kinds": kind_table(rec, seconds),
        "rss": rss.summary(),
        "rss_samples_kib": rss.samples,
        "examples": {
            "server_errors": rec.server_errors[:SHOWN],
            "unexpected": rec.unexpected[:SHOWN],
            "failures": rec.failures[:SHOWN],
            "lost_or_stale": problems[:SHOWN],
        },
    }


def print_report(report: dict[str, Any]) -> None:
    print(
        f"\nT3 mixed load: {report['settings']['clients']} clients, {report['requests']} requests in "
        f"{report['seconds']} s = {report['throughput_per_second']}/s; 5xx {report['server_errors']}, "
        f"unexpected {report['unexpected']}, no answer {report['failures']}, lost/stale {report['lost_or_stale']}"
    )
    print(f"{'kind':<26}{'count':>7}{'/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}  statuses")
    for kind, row in report["kinds"].items():
        print(
            f"{kind:<26}{row['count']:>7}{row['per_second']:>8}{row['p50_ms']:>9}{row['p95_ms']:>9}"
            f"{row['p99_ms']:>9}  {row['statuses']}"
        )
    for name, row in report["rss"].items():
        if row.get("samples"):
            print(
                f"RSS {name:<14} start {row['start_mb']} MB, end {row['end_mb']} MB, max {row['max_mb']} MB, "
                f"{row['growth_mb_per_min']} MB/min ({row['samples']} samples)"
            )


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def write_markdown(path: Path, report: dict[str, Any]) -> None:
    s = report["settings"]
    lines = [
        "# Soak report: T3 mixed load",
        "",
        f"{report['settings']['clients']} clients for {report['seconds']} s "
        f"(duration asked: {s.get('duration_seconds') or 'a fixed count'}; seed {s.get('seed')}), "
        f"RSS sampled every {s.get('rss_interval_seconds')} s.",
        "",
        f"- requests: **{report['requests']}**, throughput **{report['throughput_per_second']} requests/s**",
        f"- 5xx answers: **{report['server_errors']}**",
        f"- unexpected 4xx or content: **{report['unexpected']}**; requests with no answer: **{report['failures']}**",
        f"- lost or stale writes: **{report['lost_or_stale']}**",
        "",
        "## Latency per kind",
        "",
        "| kind | count | per s | p50 ms | p95 ms | p99 ms | max ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for kind, row in report["kinds"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in row["statuses"].items())
        lines.append(
            f"| {kind} | {row['count']} | {row['per_second']} | {row['p50_ms']} | {row['p95_ms']} | "
            f"{row['p99_ms']} | {row['max_ms']} | {statuses} |"
        )
    lines += [
        "",
        "## Memory (RSS) of the local stack's processes",
        "",
        "| process | pid | samples | start MB | end MB | max MB | growth MB/min |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["rss"].items():
        if row.get("samples"):
            lines.append(
                f"| {name} | {row['pid']} | {row['samples']} | {row['start_mb']} | {row['end_mb']} | "
                f"{row['max_mb']} | {row['growth_mb_per_min']} |"
            )
    moto = report["rss"].get("moto", {})
    if moto.get("samples"):
        lines += ["", f"moto grew **{moto['growth_mb_per_min']} MB/min** (least squares over the samples)."]
    for title, key in (
        ("5xx answers", "server_errors"),
        ("Unexpected answers", "unexpected"),
        ("Requests with no answer", "failures"),
        ("Lost or stale writes", "lost_or_stale"),
    ):
        shown = report["examples"][key]
        if shown:
            lines += ["", f"## {title} (first {len(shown)})", "", *(f"- `{line}`" for line in shown)]
    lines += ["", "The samples over time are in report.json (`rss_samples_kib`, KiB per process).", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
