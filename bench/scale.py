"""Our catalogue grown to 1k, 10k and 100k datasets in one run: what grows, and why (issue 24).

    .venv/bin/python bench/scale.py                       # 1,000, 10,000, 100,000 (~1.5 h)
    .venv/bin/python bench/scale.py --quick               # 200, 1,000, 2,000: a few minutes
    .venv/bin/python bench/scale.py --sizes 1000,10000    # ~15 min

Starts its own local stack (moto server, osmem-server, the event runner, ``chalice local``) on
free 127.0.0.1 ports, as ``run.py`` does, so that the first size is exact; ``run.py`` (``make
bench``) calls :func:`run` after its shared part, with ``--sizes``. :func:`measure` does the
work on any running stack.

1. Registers a few datasets with a large manifest (``--manifest-items``, 5,000 by default).
2. For each size: grows the catalogue to it in this process with the service's bulk path
   (``bench/inproc.py`` ``register_many``, batches of realistic bodies), waits (bounded) until
   search finds them all (the stream consumer indexes them meanwhile), then times through HTTP,
   median and p95 of up to ``COUNTS`` calls each (within a time budget): free-text, tag and
   uuid search, lookup, the first page of the list and a page at N/2 through the ``after``
   cursor, the summary, and a large manifest; records the emulator calls of each request and
   replays them raw (the floor), the DynamoDB tables' item counts and (estimated) sizes, the
   search index's documents and store size, and the RSS of every process.
3. Writes ``bench/results/<date>[-quick]-scale.{json,md}``: a table per operation x size, the
   targets per size, and what grows (> 1.5x from the smallest size to the largest) and why
   (``bench/scale_report.py``).

Every process started is stopped at the end, on an error and on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import requests  # noqa: E402
import scale_report  # noqa: E402
from bulk_profile import process_cpu  # noqa: E402
from inproc import InProcess, register_many  # noqa: E402
from ours_api import USER, free_ports, our_total, refresh_token, setup_ours  # noqa: E402
from report import machine  # noqa: E402
from workload import FREE_TEXT_WORDS, TIMEOUT_S, BenchError, Ours, datasets, sample, stats, tags_of  # noqa: E402

from infra.local.stack import LocalStack  # noqa: E402

LOG = logging.getLogger("bench.scale")
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (200, 1_000, 2_000)
BATCH = 1_000  # bodies generated and registered at a time (memory stays flat however large N is)
GROW_SEED = 100_000  # batch k of growth uses datasets(seed=GROW_SEED + k): no overlap with run.py's seeds
MANIFEST_SEED = 90_000
MANIFEST_DATASETS = 3
PAGE = 100  # the largest page: the walk to the deep cursor
RESULT_WINDOW = 10_000  # page * page_size beyond it needs the cursor (chalicelib.catalogue.search)
# calls per operation and size (--quick: 40%), each operation also bounded by BUDGET_S
COUNTS = {"summary": 40, "manifest_large": 40, "list_deep": 60}
DEFAULT_COUNT = 100
BUDGET_S = 60.0
FLOOR_REPS = 20
IDLE_WINDOW_S = 2.0
PROCESSES = ("moto", "osmem", "runner", "chalice-local")
# what InProcess (bench/inproc.py) calls each operation, and with which argument
INPROC_OP = {
    "search_text": "search_text",
    "search_tag": "search_tag",
    "search_uuid": "search_uuid",
    "lookup": "lookup",
    "list_first": "list_page",
    "summary": "summary",
    "manifest_large": "manifest",
}


class Interrupted(BaseException):
    """SIGTERM: unwind like Ctrl-C so that every process is stopped."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"1000,10000"`` -> (1000, 10000): ascending, distinct, each at least 100."""
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"sizes must be integers separated by commas: {text!r}") from exc
    if not sizes or sizes[0] < 100:
        raise argparse.ArgumentTypeError("give at least one size, each at least 100")
    return tuple(sizes)


# -- the catalogue's contents -----------------------------------------------------------------


@dataclass
class Catalogue:
    """What this run registered (and found), to draw requests from."""

    uuids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    large: list[dict[str, Any]] = field(default_factory=list)  # the datasets with a large manifest
    batches: int = 0


def large_manifest_datasets(count: int, items: int, seed: int = MANIFEST_SEED) -> list[dict[str, Any]]:
    """``count`` registration bodies whose manifests hold ``items`` items each."""
    out = []
    for ds in datasets(count, seed=seed):
        entries: dict[str, dict[str, Any]] = {}
        for i in range(items):
            relpath = f"frames/run-{i // 500:03d}/frame-{i:06d}.h5"
            entries[hashlib.sha1(relpath.encode()).hexdigest()] = {
                "relpath": relpath,
                "size_in_bytes": 1_000_000 + i,
                "hash": hashlib.md5(f"{ds['uuid']}/{relpath}".encode()).hexdigest(),
                "utc_timestamp": round(ds["created_at"] + i, 6),
            }
        out.append({**ds, "manifest": {**ds["manifest"], "items": entries}})
    return out


def known_uuids(ours: Ours, limit: int = 2_000) -> list[str]:
    """Up to ``limit`` uuids already in the catalogue (run.py's shared datasets), by page."""
    out: list[str] = []
    for page in range(1, limit // PAGE + 1):
        body = _get(ours, {"page": page, "page_size": PAGE})
        out += [item["uuid"] for item in body["items"]]
        if len(body["items"]) < PAGE:
            break
    return out


def grow(stack: LocalStack, ours: Ours, size: int, cat: Catalogue, at_rest: float) -> dict[str, Any]:
    """Register datasets in-process until ``size`` are found, then wait for the index (bounded)."""
    have = our_total(ours)
    need = max(0, size - have)
    LOG.info("N=%d: %d found, registering %d in-process", size, have, need)
    load_s, left = 0.0, need
    while left > 0:
        bodies = datasets(min(BATCH, left), seed=GROW_SEED + cat.batches)
        cat.batches += 1
        load_s += register_many(stack, USER, bodies)
        cat.uuids += [b["uuid"] for b in bodies]
        cat.tags = sorted(set(cat.tags) | set(tags_of(bodies)))
        left -= len(bodies)
        if cat.batches % 10 == 0:
            LOG.info("N=%d: %d of %d registered (%.0f/s)", size, need - left, need, (need - left) / max(load_s, 1e-9))
    refresh_token(stack, ours)
    # the runner indexes through the stream while we load: this is what is left once loading ends
    waited, unavailable = catch_up(ours, size, timeout=300 + need / 10)
    return {
        "bulk_load": {"added": need, "seconds": round(load_s, 1), "per_s": round(need / load_s, 1) if need else None},
        "catch_up_s": round(waited, 1),
        "catch_up_unavailable": unavailable,
        "settle": settle(stack, at_rest),
    }


def catch_up(ours: Ours, size: int, timeout: float) -> tuple[float, int]:
    """Poll until search finds ``size`` datasets: seconds waited and the polls answered 5xx
    (the search backend timing out while the stream consumer bulk-indexes: retried)."""
    begin = last_log = time.monotonic()
    unavailable = 0
    while True:
        try:
            found = our_total(ours)
        except requests.HTTPError as exc:
            if exc.response is None or exc.response.status_code < 500:
                raise
            unavailable, found = unavailable + 1, -1
        now = time.monotonic()
        if found >= size:
            return now - begin, unavailable
        if now - begin > timeout:
            raise TimeoutError(f"search finds {found} of {size} datasets after {timeout:.0f} s")
        if now - last_log > 30:
            LOG.info("N=%d: search finds %d (%.0f s; %d polls unavailable)", size, found, now - begin, unavailable)
            last_log = now
        time.sleep(1.0)


def stack_cpu(stack: LocalStack, window_s: float = IDLE_WINDOW_S) -> float:
    """CPU seconds the emulators and the runner used over ``window_s`` (they poll even when idle)."""
    pids = [p.pid for p in stack.processes if p.pid is not None and p.name != "chalice-local"]
    before = sum(process_cpu(pid) for pid in pids)
    time.sleep(window_s)
    return sum(process_cpu(pid) for pid in pids) - before


def settle(stack: LocalStack, at_rest: float, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until the emulators and the runner use no more than twice their CPU ``at_rest``
    (the stream consumer's other work, the audit log and the summary counts, goes on after
    search finds everything); bounded by ``timeout``, then measured anyway."""
    begin = time.monotonic()
    used = stack_cpu(stack)
    while used > 2 * at_rest and time.monotonic() - begin < timeout:
        used = stack_cpu(stack)
    return {
        "seconds": round(time.monotonic() - begin, 1),
        "cpu_s_per_window": round(used, 2),
        "idle": used <= 2 * at_rest,
    }


# -- requests -----------------------------------------------------------------------------------


def _get(ours: Ours, params: Mapping[str, Any]) -> dict[str, Any]:
    resp = ours.session.get(f"{ours.url}/datasets", params=dict(params), timeout=TIMEOUT_S)
    if resp.status_code != 200:
        raise BenchError(f"GET /datasets {dict(params)} answered {resp.status_code}: {resp.text[:300]}")
    body: dict[str, Any] = resp.json()
    return body


def deep_cursor(ours: Ours, size: int) -> tuple[str, int]:
    """The ``after`` cursor at about ``size // 2`` (by page up to the result window, then by
    cursor) and the position it stands at; pages of at most PAGE, smaller for a small catalogue
    so that a full page of 10 always follows the cursor."""
    page_size = max(10, min(PAGE, size // 4))
    depth = max(page_size, size // 2)
    page = max(1, min(depth, RESULT_WINDOW) // page_size)
    body = _get(ours, {"page": page, "page_size": page_size})
    cursor, position = body["next"], page * page_size
    while position + page_size <= depth and cursor:
        cursor, position = _get(ours, {"after": cursor, "page_size": page_size})["next"], position + page_size
    if not cursor:
        raise BenchError(f"no cursor at {position} of {size}")
    return cursor, position


def list_after(ours: Ours, cursor: str) -> None:
    if len(_get(ours, {"after": cursor, "page_size": 10})["items"]) != 10:
        raise BenchError("the page after the deep cursor is not full")


def operations(ours: Ours, cursor: str) -> dict[str, Callable[[Any], Any]]:
    return {
        "search_text": ours.search_text,
        "search_tag": ours.search_tag,
        "search_uuid": lambda u: ours.search_uuid({"uuid": u}),
        "lookup": lambda u: ours.lookup({"uuid": u}),
        "list_first": lambda _: ours.list_page(1),
        "list_deep": lambda _: list_after(ours, cursor),
        "summary": lambda _: ours.summary(),
        "manifest_large": ours.manifest,
    }


def arguments(op: str, cat: Catalogue, count: int, rng: random.Random) -> list[Any]:
    if op == "search_text":
        return sample(rng, list(FREE_TEXT_WORDS), count)
    if op == "search_tag":
        return sample(rng, cat.tags, count)
    if op in ("search_uuid", "lookup"):
        return sample(rng, cat.uuids, count)
    if op == "manifest_large":
        return sample(rng, cat.large, count)
    return [None] * count


def timed_within(fn: Callable[[Any], Any], args: Sequence[Any], budget_s: float, warmup: int = 3) -> dict[str, Any]:
    """``fn(arg)`` for each arg after ``warmup`` untimed calls, stopping early (after at least
    ten) once ``budget_s`` is spent; latency stats of the calls that succeeded, ``calls_cut``
    when the budget stopped it, ``errors`` (and the first) when some failed (a 5xx: the
    search backend's 5 s timeout under load); raises when half of them fail."""
    for arg in args[:warmup]:
        fn(arg)
    latencies: list[float] = []
    errors: list[str] = []
    begin = time.perf_counter()
    for arg in args:
        if len(latencies) >= 10 and time.perf_counter() - begin > budget_s:
            break
        t0 = time.perf_counter()
        try:
            fn(arg)
        except BenchError as exc:
            errors.append(str(exc)[:300])
            if len(errors) > max(5, len(args) // 2):
                raise
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
    out = stats(latencies, time.perf_counter() - begin)
    if len(latencies) + len(errors) < len(args):
        out["calls_cut"] = len(args) - len(latencies) - len(errors)
    if errors:
        out["errors"], out["first_error"] = len(errors), errors[0]
    return out


def inproc_arg(op: str, cat: Catalogue, rng: random.Random) -> Any:
    if op == "list_first":
        return 1
    if op in ("search_uuid", "lookup"):
        return {"uuid": rng.choice(cat.uuids)}
    return arguments(op, cat, 1, rng)[0]


def floors(stack: LocalStack, cat: Catalogue, reps: int, rng: random.Random) -> tuple[dict[str, float], dict[str, Any]]:
    """Per operation: the median of ``reps`` raw replays of the emulator calls one request made,
    and those calls' labels."""
    out: dict[str, float] = {}
    calls: dict[str, Any] = {}
    with InProcess(stack, USER) as inproc:
        for op, name in INPROC_OP.items():
            try:
                recorded = inproc.capture(name, inproc_arg(op, cat, rng))
                out[op] = inproc.replay(recorded, reps)["median_ms"]
            except Exception as exc:  # a floor is a comparison: the run goes on without it
                LOG.warning("no floor for %s: %r", op, exc)
                continue
            calls[op] = [c.label() for c in recorded]
    return out, calls


# -- sizes of what is stored ---------------------------------------------------------------


def item_bytes(item: Mapping[str, Any]) -> int:
    """An item's size as DynamoDB counts it (attribute names and values), from its wire form."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _number_bytes(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("E")[0].split("e")[0].strip("0")
    return (len(digits) + 1) // 2 + 1


def _value_bytes(value: Mapping[str, Any]) -> int:
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_bytes(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(_number_bytes(n) for n in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    if kind == "L":
        return 3 + sum(1 + _value_bytes(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_bytes(e) for k, e in v.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


COUNT_SCAN_UP_TO = 20_000  # Scan(Select=COUNT) beside DescribeTable while tables are this small


def table_sizes(stack: LocalStack) -> dict[str, dict[str, Any]]:
    """Items per table (DescribeTable's ItemCount: moto answers ``len(table)``, live; checked by
    a paginated Scan with Select=COUNT on small tables) and bytes, estimated from a sample
    (moto's TableSizeBytes is always 0)."""
    ddb = stack.client("dynamodb")
    out: dict[str, dict[str, Any]] = {}
    for name in ddb.list_tables()["TableNames"]:
        described = ddb.describe_table(TableName=name)["Table"]
        items = int(described.get("ItemCount", 0))
        entry: dict[str, Any] = {"items": items, "table_size_bytes_reported": described.get("TableSizeBytes")}
        if items <= COUNT_SCAN_UP_TO:
            entry["items_by_scan"] = _scan_count(ddb, name)
        if items:
            page = ddb.scan(TableName=name, Limit=100)["Items"]
            mean = sum(item_bytes(i) for i in page) / max(1, len(page))
            entry["bytes_estimated"] = round(mean * items)
            entry["bytes_sample"] = len(page)
        out[name] = entry
    return out


def _scan_count(ddb: Any, name: str) -> int:
    total = 0
    kw: dict[str, Any] = {}
    for _ in range(100_000):  # bounded: one page per MB of table
        page = ddb.scan(TableName=name, Select="COUNT", **kw)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            break
        kw = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    return total


def index_stats(stack: LocalStack) -> dict[str, Any]:
    """Documents (``_cat/count``), Lucene documents with nested ones and store size (``_cat/indices``)."""

    def cat(path: str) -> list[dict[str, Any]]:
        resp = requests.get(f"{stack.opensearch_url}/_cat/{path}", params={"format": "json", "bytes": "b"}, timeout=60)
        resp.raise_for_status()
        rows: list[dict[str, Any]] = resp.json()
        return rows

    indices = [r for r in cat("indices") if not str(r.get("index", "")).startswith(".")]
    return {
        "docs": int(cat("count")[0]["count"]),
        "lucene_docs": sum(int(r.get("docs.count") or 0) for r in indices),
        "store_bytes": sum(_store_bytes(r.get("store.size")) for r in indices),
        "indices": [r.get("index") for r in indices],
    }


def _store_bytes(value: Any) -> int:
    """``store.size`` as bytes (``bytes=b`` gives a number; a server that ignores it, "744.4kb")."""
    text = str(value or "0").strip().lower()
    for unit, scale in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024), ("b", 1)):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * scale)
    return round(float(text))


def memory(stack: LocalStack) -> dict[str, dict[str, float]]:
    """RSS and peak RSS (VmHWM) in MiB of each stack process and of this one (it loads in-process)."""
    pids = {p.name: p.pid for p in stack.processes if p.pid is not None}
    pids["bench"] = os.getpid()
    out = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            out[name] = {
                k: round(int(fields[f].split()[0]) / 1024, 1) for k, f in (("rss", "VmRSS"), ("peak", "VmHWM"))
            }
    return out


# -- the run ------------------------------------------------------------------------------------


def measure(
    stack: LocalStack, ours: Ours, sizes: Sequence[int], *, quick: bool = False, manifest_items: int = 5_000
) -> dict[str, Any]:
    """Grow the catalogue of ``stack`` to each of ``sizes`` and time every operation there."""
    share = 0.4 if quick else 1.0
    budget = BUDGET_S * share
    result: dict[str, Any] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "sizes": list(sizes),
        "quick": quick,
        "requests": scale_report.REQUESTS,
        "at": {},
        "notes": [
            "osmem-server (Bleve-based, in memory) stands in for OpenSearch and moto server for DynamoDB: what grows "
            "here is measured on them, not on the AWS services",
            "DynamoDB items: DescribeTable ItemCount (moto: len(table), live; Scan Select=COUNT agreed on tables up "
            f"to {COUNT_SCAN_UP_TO:,} items); bytes estimated as the mean DynamoDB item size of a 100-item Scan page "
            "x ItemCount (moto's TableSizeBytes is always 0)",
            "index docs: _cat/count (one per entry); Lucene docs: _cat/indices docs.count, which counts nested "
            "documents (annotation values, replicas) too",
            f"at most {DEFAULT_COUNT} calls per operation ({', '.join(f'{k} {v}' for k, v in COUNTS.items())}; "
            f"--quick 40%), each operation stopped after {budget:.0f} s once it has 10",
        ],
    }
    begin = time.monotonic()
    at_rest = min(stack_cpu(stack) for _ in range(3))
    result["stack_cpu_s_at_rest"] = {"window_s": IDLE_WINDOW_S, "cpu_s": round(at_rest, 2)}
    cat = Catalogue(uuids=known_uuids(ours), tags=tags_of(datasets(40)))
    cat.large = large_manifest_datasets(MANIFEST_DATASETS, manifest_items)
    LOG.info("registering %d datasets of %d manifest items", MANIFEST_DATASETS, manifest_items)
    register_many(stack, USER, cat.large)
    rng = random.Random(24)
    for size in sizes:
        at: dict[str, Any] = grow(stack, ours, size, cat, at_rest)
        refresh_token(stack, ours)
        at["datasets"] = our_total(ours)
        cursor, at["deep_cursor_position"] = deep_cursor(ours, at["datasets"])
        timings: dict[str, Any] = {}
        for op, fn in operations(ours, cursor).items():
            count = max(10, int(COUNTS.get(op, DEFAULT_COUNT) * share))
            timings[op] = timed_within(fn, arguments(op, cat, count, rng), budget)
            LOG.info("N=%d %s: median %.1f ms (%d calls)", size, op, timings[op]["median_ms"], timings[op]["n"])
        floor_ms, at["calls"] = floors(stack, cat, max(5, int(FLOOR_REPS * share)), rng)
        for op, ms in floor_ms.items():
            timings[op]["floor_ms"] = ms
        at["operations"] = timings
        at["targets"] = scale_report.targets_at(timings)
        at["tables"] = table_sizes(stack)
        at["index"] = index_stats(stack)
        at["memory_mib"] = memory(stack)
        result["at"][str(size)] = at
    grown = scale_report.growth(scale_report.medians(result))
    result["growth"] = grown
    flat = scale_report.flat_target(grown)
    result["targets"] = [flat] if flat else []
    result["wall_s"] = round(time.monotonic() - begin, 1)
    return result


def write(result: Mapping[str, Any], out_dir: Path, name: str) -> Path:
    """``<out_dir>/<name>.{json,md}``; the base path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / name
    base.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    base.with_suffix(".md").write_text(scale_report.markdown(result))
    return base


def summary(result: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """What ``run.py`` keeps of a scale result in its own: medians per size, flags, targets, files."""
    return {
        "results": str(base.relative_to(REPO) if base.is_relative_to(REPO) else base) + ".{json,md}",
        "medians_ms": scale_report.medians(result),
        "growth": result.get("growth"),
        "targets": result.get("targets"),
        "targets_per_size": {size: at.get("targets") for size, at in result.get("at", {}).items()},
    }


@contextlib.contextmanager
def local_stack() -> Iterator[LocalStack]:
    """A private local stack on free ports, stopped on the way out (its logs removed unless it failed)."""
    api, moto, osm, web = free_ports(4)
    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    stack = LocalStack(api_port=api, moto_port=moto, opensearch_port=osm, token_port=0, web_port=web, work_dir=work)
    try:
        LOG.info("starting a local stack (logs in %s)", work)
        stack.start()
        yield stack
    except BaseException:
        stack.stop()
        LOG.warning("the stack's logs are kept in %s", work)
        raise
    stack.stop()
    shutil.rmtree(work, ignore_errors=True)


def run(sizes: Sequence[int], *, quick: bool = False, manifest_items: int = 5_000) -> dict[str, Any]:
    """:func:`measure` on a private local stack, from an empty catalogue."""
    with local_stack() as stack:
        ours = setup_ours(stack)
        try:
            return measure(stack, ours, sizes, quick=quick, manifest_items=manifest_items)
        finally:
            ours.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=None, help="comma-separated (default 1000,10000,100000)")
    parser.add_argument("--quick", action="store_true", help="sizes 200,1000,2000 and 40%% of the calls")
    parser.add_argument("--manifest-items", type=int, default=5_000, help="items of each large manifest")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--name", default=None, help="results file name (default: <date>[-quick]-scale)")
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    name = args.name or dt.date.today().isoformat() + ("-quick" if args.quick else "") + "-scale"
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    LOG.setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = run(sizes, quick=args.quick, manifest_items=args.manifest_items)
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: every process stopped", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    base = write(result, args.out, name)
    print(scale_report.markdown(result))
    LOG.info("results: %s.{json,md}", base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
