"""Our catalogue against dtool-lookup-server 0.18 and dservercore 0.22, side by side, in one run (issues 9, 24).

    .venv/bin/python bench/run.py                 # N=1000 shared; ours alone at 1k, 10k, 100k (~1.5 h)
    .venv/bin/python bench/run.py --quick         # N=200; 200, 1,000, 2,000; 50 uploads: a few minutes
    .venv/bin/python bench/run.py --n 500 --sizes 1000,10000 --uploads 200 --skip-peer
    .venv/bin/python bench/run.py --quick --peers dserver   # one peer only (default: both)

1. Starts our local stack (moto server, osmem-server, the event runner, ``chalice local``) on
   free 127.0.0.1 ports, and the peers: dtool-lookup-server 0.18 (``bench/peer.py``: its own
   virtualenv in ``bench/.peer/``, nx-27017, gunicorn with 2 workers) and dservercore 0.22
   (``bench/dserver_peer.py``: the same in ``bench/.dserver/``).
2. Registers the same N realistic datasets (``infra.local.demo.demo_datasets``) in all
   through their HTTP APIs with one sequential client.
3. Times register, lookup, readme, manifest, list one page, search by uuid, tag search,
   free-text search and summary on each, and our floor for each (``bench/inproc.py``); ours
   also through the peers' own requests (our 0.18- and dserver-compatible routes), and
   dserver's reads by URI (lookup, annotations, tags) on dserver and ours;
   throughput with 1, 4 and 16 clients for lookup and free-text search; pyinstrument
   profiles of every operation where we are slower than 0.5x the peer.
4. Ours alone: upload -> searchable over a watched bucket; the upload race, ``--copies`` real
   ``dtool copy`` -> searchable against dserver's S3 notification plugin (``bench/upload_race.py``,
   ``<date>[-quick]-upload-race.{json,md}``); a catalogue grown to each of
   ``--sizes`` with search, lookup, list, summary and a large manifest timed at each
   (``bench/scale.py``, on a private stack); bulk-index throughput and its floor
   (``bench/bulk_index.py --profile``), the Lambda package size, the cold start of every
   Lambda function from that package (``bench/cold_start.py``).

Writes ``bench/results/<date>[-quick].json``, ``.md``, ``.png`` and the profiles' text, and
``bench/results/<date>[-quick]-cold-start.{json,md}`` and ``-scale.{json,md}``.
Every process started is stopped at the end, on an error and on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import scale  # noqa: E402
from dserver_peer import DserverServer  # noqa: E402
from dserver_workload import EXTRA_OPERATIONS, Dserver, OursDserver  # noqa: E402
from dserver_workload import OPERATIONS as DSERVER_OPERATIONS  # noqa: E402
from inproc import InProcess, wait_until  # noqa: E402
from judging import paired, verdict  # noqa: E402
from ours_api import UPLOAD_BUCKET, USER, free_ports, our_total, refresh_token, setup_ours  # noqa: E402
from ours_only import package_size, upload_to_searchable  # noqa: E402
from peer import PeerServer  # noqa: E402
from report import chart, machine, markdown, text_table  # noqa: E402
from workload import (  # noqa: E402
    FREE_TEXT_WORDS,
    OPERATIONS,
    TIMEOUT_S,
    Ours,
    OursCompat,
    Peer,
    System,
    datasets,
    sample,
    tags_of,
    throughput,
    timed,
)

from infra.local.stack import LocalStack  # noqa: E402

LOG = logging.getLogger("bench")
# Requests per operation at full size (--quick takes a quarter); the mix is the same for both systems.
COUNTS = {
    "lookup": 500,
    "readme": 200,
    "manifest": 200,
    "list_page": 200,
    "search_uuid": 300,
    "search_tag": 200,
    "search_text": 200,
    "summary": 50,
    # dserver's reads by URI (dserver and ours through its routes only)
    "lookup_uri": 300,
    "annotations": 200,
    "tags": 200,
}
PEERS = {"lookup-server": ("lookup-server",), "dserver": ("dserver",), "both": ("lookup-server", "dserver")}
THROUGHPUT_REQUESTS = {"lookup": 400, "search_text": 120}
CLIENT_LEVELS = (1, 4, 16)


class Interrupted(BaseException):
    """SIGTERM: unwind like Ctrl-C so that every process is stopped."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


def op_args(op: str, dss: list[dict[str, Any]], count: int, rng: random.Random) -> list[Any]:
    if op == "summary":
        return [None] * count
    if op == "list_page":
        pages = max(1, min(10, len(dss) // 10))
        return [1 + k % pages for k in range(count)]
    if op == "search_tag":
        return sample(rng, tags_of(dss), count)
    if op == "search_text":
        return sample(rng, list(FREE_TEXT_WORDS), count)
    return sample(rng, dss, count)


def call(system: System, op: str) -> Any:
    fn = getattr(system, op)
    return (lambda _arg: fn()) if op == "summary" else fn


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.scale = 0.25 if args.quick else 1.0
        self.result: dict[str, Any] = {}
        self.stack: LocalStack | None = None
        self.peer: PeerServer | None = None
        self.dserver: DserverServer | None = None
        self.work = Path(tempfile.mkdtemp(prefix="bench-stack-"))
        self.out_dir: Path = args.out
        self.name: str = args.name

    def count(self, op: str) -> int:
        return max(20, int(COUNTS[op] * self.scale))

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        api, moto, osm, web = free_ports(4)
        self.stack = LocalStack(
            api_port=api, moto_port=moto, opensearch_port=osm, token_port=0, web_port=web, work_dir=self.work
        )
        LOG.info("starting our local stack (logs in %s)", self.work)
        self.stack.start()
        if "lookup-server" in self.args.peers:
            LOG.info("starting the peer (virtualenv in %s)", self.args.peer_dir)
            self.peer = PeerServer(self.args.peer_dir, workers=2)
            self.peer.start()
        if "dserver" in self.args.peers:
            LOG.info("starting dservercore 0.22 (virtualenv in %s)", self.args.dserver_dir)
            self.dserver = DserverServer(self.args.dserver_dir, workers=2)
            self.dserver.start()

    def stop_peer(self) -> None:
        if self.peer is not None:
            self.peer.stop()
            self.peer = None
        if self.dserver is not None:
            self.dserver.stop()
            self.dserver = None

    def stop(self) -> None:
        self.stop_peer()
        if self.stack is not None:
            self.stack.stop()
            self.stack = None

    # -- the shared part ------------------------------------------------------------------

    def shared(self, ours: Ours, peer: Peer | None, dserver: Dserver | None = None) -> None:
        assert self.stack is not None
        n = self.args.n
        dss = datasets(n)
        systems: list[System] = [s for s in (peer, dserver, ours) if s is not None]
        ops: dict[str, dict[str, Any]] = {
            op: {"requests": {"peer": OPERATIONS[op][0], "ours": OPERATIONS[op][1], "ours_compat": OPERATIONS[op][0]}}
            for op in OPERATIONS
        }
        if dserver is not None:
            ops.update({op: {"requests": {}} for op in EXTRA_OPERATIONS})
            for op, request in DSERVER_OPERATIONS.items():
                ops[op]["requests"].update({"dserver": request, "ours_dserver": request})
        self.result["operations"] = ops

        if peer is not None:
            LOG.info("registering %d datasets in the peer", n)
            ops["register"]["peer"] = timed(peer.register, dss)
        if dserver is not None:
            LOG.info("registering %d datasets in dserver", n)
            ops["register"]["dserver"] = timed(dserver.register, dss)
        LOG.info("registering %d datasets in ours", n)
        ops["register"]["ours"] = timed(ours.register, dss)
        wait = wait_until(lambda: our_total(ours) >= n, timeout=300)
        self.result["ours_indexed_after_register_s"] = round(wait, 2)
        for other in (peer, dserver):
            if other is not None and other.summary() != n:
                raise RuntimeError(f"{other.name} holds {other.summary()} datasets, not {n}")
        self.result["table_sizes"] = {
            "shared": f"datasets table {n} items, search index {n} docs (ours); {n} Mongo docs + {n} SQLite rows "
            "(each peer)"
        }

        # the HTTP hop alone: an unauthenticated route that touches no emulator, same client
        health = ours.session.get(f"{ours.url}/health", timeout=TIMEOUT_S)
        health.raise_for_status()
        self.result["http_hop_ms"] = timed(
            lambda _arg: ours.session.get(f"{ours.url}/health", timeout=TIMEOUT_S).raise_for_status(),
            [None] * 300,
            warmup=20,
        )

        rng = random.Random(20261122)
        for op in OPERATIONS:
            if op == "register":
                continue
            args = op_args(op, dss, self.count(op), rng)
            for system in systems:
                LOG.info("%s: %d x %s", system.name, len(args), op)
                ops[op][system.name] = timed(call(system, op), args, warmup=5)
        for op in EXTRA_OPERATIONS if dserver is not None else ():
            args = op_args(op, dss, self.count(op), rng)
            LOG.info("%s: %d x %s", dserver.name, len(args), op)
            ops[op][dserver.name] = timed(call(dserver, op), args, warmup=5)

        # the peer's own requests against our 0.18-compatible routes (registration last, below)
        compat = OursCompat(ours.url, ours.token)
        for op in OPERATIONS:
            if op == "register":
                continue
            args = op_args(op, dss, self.count(op), random.Random(20261122 + len(op)))
            LOG.info("%s: %d x %s", compat.name, len(args), op)
            ops[op][compat.name] = timed(call(compat, op), args, warmup=5)
        # dserver's own requests against our dserver-compatible routes (registration last, below)
        ours_dserver = OursDserver(ours.url, ours.token) if dserver is not None else None
        for op in DSERVER_OPERATIONS if ours_dserver is not None else ():
            if op == "register":
                continue
            args = op_args(op, dss, self.count(op), rng)
            LOG.info("%s: %d x %s", ours_dserver.name, len(args), op)
            ops[op][ours_dserver.name] = timed(call(ours_dserver, op), args, warmup=5)

        # totals both systems report (free text differs by design: the peer indexes name + readme only)
        self.result["result_totals"] = {
            "search_text": {w: {s.name: s.search_text(w) for s in systems} for w in FREE_TEXT_WORDS},
            "search_tag": {t: {s.name: s.search_tag(t) for s in systems} for t in tags_of(dss)[:4]},
        }

        self.throughput(systems, dss)
        self.floors_and_profiles(ours, dss)
        # new datasets registered through POST /dataset/register, after every read was timed
        LOG.info("%s: registering %d datasets", compat.name, n)
        ops["register"][compat.name] = timed(compat.register, datasets(n, seed=8))
        compat.close()
        if ours_dserver is not None:
            LOG.info("%s: registering %d datasets", ours_dserver.name, n)
            ops["register"][ours_dserver.name] = timed(ours_dserver.register, datasets(n, seed=10))
            ours_dserver.close()

        for entry in ops.values():
            o, p = entry.get("ours"), entry.get("peer")
            if o and p:
                entry["ratio"] = round(o["median_ms"] / p["median_ms"], 3)
            od, d = entry.get("ours_dserver"), entry.get("dserver")
            if od and d:
                entry["dserver_ratio"] = round(od["median_ms"] / d["median_ms"], 3)
            if o:
                entry["verdict"] = verdict(
                    o["median_ms"], p["median_ms"] if p else None, entry.get("floor_ms"), entry.get("paired")
                )

    def throughput(self, systems: list[System], dss: list[dict[str, Any]]) -> None:
        rng = random.Random(99)
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for op, total in THROUGHPUT_REQUESTS.items():
            count = max(40, int(total * self.scale))
            args = op_args(op, dss, count, rng)
            out[op] = {}
            for clients in CLIENT_LEVELS:
                level: dict[str, Any] = {}
                for system in systems:
                    LOG.info("throughput: %s %s with %d clients (%d requests)", system.name, op, clients, count)
                    level[system.name] = throughput(system, op, args, clients, max_seconds=90)
                out[op][str(clients)] = level
        self.result["throughput"] = out
        self.result["throughput_note"] = (
            "requests shared by the clients (threads in one process, own connection each); "
            "ours is the local stack's API (chalice local with TCP_NODELAY: one process, threaded), "
            "each peer gunicorn with 2 sync workers; "
            "client and servers share the machine's cores"
        )

    def floors_and_profiles(self, ours: Ours, dss: list[dict[str, Any]]) -> None:
        assert self.stack is not None
        ops = self.result["operations"]
        rng = random.Random(5)
        reps = max(30, int(200 * self.scale))
        profiles: dict[str, Any] = {}
        with InProcess(self.stack, USER) as inproc:
            for op in OPERATIONS:
                if op == "register":
                    continue
                arg = op_args(op, dss, 1, rng)[0]
                calls = inproc.capture(op, arg)
                floor = inproc.replay(calls, reps)
                ops[op]["floor"] = floor
                ops[op]["floor_ms"] = floor["median_ms"]
                ops[op]["inproc_ms"] = inproc.inproc_latency(op, op_args(op, dss, 30, rng))["median_ms"]
                ops[op]["paired"] = paired(
                    call(ours, op),
                    functools.partial(inproc.replay_once, calls),
                    op_args(op, dss, reps, rng),
                    functools.partial(inproc.request, op),
                )
                LOG.info(
                    "floor %s: %.2f ms (%s); paired: ours %.2f, floor %.2f, own %.2f (handler %.2f, http %.2f) ms",
                    op,
                    floor["median_ms"],
                    ", ".join(floor["calls"]),
                    ops[op]["paired"]["ours_ms"],
                    ops[op]["paired"]["floor_ms"],
                    ops[op]["paired"]["own_ms"],
                    ops[op]["paired"]["handler_ms"],
                    ops[op]["paired"]["http_ms"],
                )
            # register last: its floor writes fresh datasets (they stay, and count in the sizes' part)
            extra = datasets(self.args.n + 1, seed=8)[-1]
            calls = inproc.capture("register", extra, warm=False)
            floor = inproc.replay(calls, max(20, reps // 2), fresh_uuid_of=extra["uuid"])
            ops["register"]["floor"] = floor
            ops["register"]["floor_ms"] = floor["median_ms"]
            self.result["floor_note"] = (
                "floor = median time of replaying, raw (boto3 / opensearch-py from this process), the emulator "
                "calls recorded from one steady-state request of our handler; register's replays use fresh "
                f"uuids and leave {floor['reps'] + 1} extra datasets in the catalogue"
            )

            for op in OPERATIONS:
                o, p = ops[op].get("ours"), ops[op].get("peer")
                if op == "register" or not o or not p or o["median_ms"] <= 0.5 * p["median_ms"]:
                    continue
                LOG.info("profiling %s (ours %.1f ms vs peer %.1f ms)", op, o["median_ms"], p["median_ms"])
                prof = inproc.profile(op, op_args(op, dss, max(20, int(60 * self.scale)), rng))
                text = prof.pop("text")
                path = self.out_dir / f"{self.name}-profile-{op}.txt"
                path.write_text(text)
                prof["full_profile"] = str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
                profiles[op] = prof
            if "register" in ops and ops["register"].get("peer"):
                o, p = ops["register"]["ours"], ops["register"]["peer"]
                if o["median_ms"] > 0.5 * p["median_ms"]:
                    fresh = datasets(self.args.n + 40, seed=9)[-30:]
                    prof = inproc.profile("register", fresh)
                    text = prof.pop("text")
                    path = self.out_dir / f"{self.name}-profile-register.txt"
                    path.write_text(text)
                    prof["full_profile"] = str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
                    profiles["register"] = prof
        self.result["profiles"] = profiles

    # -- ours only ------------------------------------------------------------------------

    def ours_only(self, ours: Ours) -> None:
        assert self.stack is not None
        oo: dict[str, Any] = {}
        self.result["ours_only"] = oo
        refresh_token(self.stack, ours)

        uploads = self.args.uploads
        if uploads > 0:
            LOG.info("upload -> searchable: %d sequential sidecar uploads", uploads)
            n_now = our_total(ours)
            up = upload_to_searchable(self.stack, ours, UPLOAD_BUCKET, uploads)
            up["table_size"] = f"datasets table ~{n_now + uploads} items while measuring"
            oo["upload_to_searchable"] = up

        self.stop()  # frees the cores for the upload race's, the sizes' and the bulk index's own stacks

        if self.args.copies > 0:  # dtool copy -> searchable, ours against dserver's S3 notification plugin
            import upload_race

            LOG.info("upload race: %d dtool copies (bench/upload_race.py on a private stack)", self.args.copies)
            try:
                race = upload_race.run(self.args.copies, dserver_dir=self.args.dserver_dir)
                base = upload_race.write(race, self.out_dir, f"{self.name}-upload-race")
                shown = base.relative_to(REPO) if base.is_relative_to(REPO) else base
                oo["upload_race"] = {"results": f"{shown}.{{json,md}}", **race["summary"]}
            except Exception:
                LOG.exception("the upload race failed; the rest of the run goes on")
                oo["upload_race"] = {"failed": traceback.format_exc()[-800:]}

        if not self.args.skip_scale:
            self.sizes(oo)
        if self.args.bulk_n > 0:
            LOG.info("bulk index: %d sidecar datasets (bench/bulk_index.py on a private stack)", self.args.bulk_n)
            import bulk_index

            # with the floor: the emulator calls replayed raw (~1 min more), so the run can
            # say whether the 500/s target is ours to reach
            bulk = bulk_index.run(self.args.bulk_n, 8, True)
            floor = bulk["profile_and_floor"]["floor"]
            oo["bulk_index"] = {
                "n": bulk["n"],
                "new_datasets_per_s": bulk["first_run"]["datasets_per_s"],
                "floor_new_datasets_per_s": floor["new_datasets_per_s"],
                "unchanged_datasets_per_s": bulk["second_run"]["datasets_per_s"],
                "floor_unchanged_datasets_per_s": floor["unchanged_datasets_per_s"],
                "target": bulk["target"],
                "searchable_after_s": bulk["first_run"].get("searchable_after_s"),
                "raw": bulk,
            }
        LOG.info("Lambda package size")
        with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
            zip_copy = Path(tmp) / "deployment.zip"
            oo["package"] = package_size(keep=zip_copy)
            LOG.info("cold start of every Lambda function (bench/cold_start.py, 5 fresh processes each)")
            import cold_start

            cold = cold_start.measure(5, zip_copy if zip_copy.exists() else None)
            base = cold_start.write(cold, self.out_dir, f"{self.name}-cold-start")
            oo["cold_start"] = {
                "results": str(base.relative_to(REPO) if base.is_relative_to(REPO) else base) + ".{json,md}",
                **{
                    variant: {"import_ms": v["import_ms_all"], "heavy_at_import": v["heavy_at_import"]}
                    | {name: f["first_call_ms"] for name, f in v["functions"].items()}
                    for variant, v in cold["variants"].items()
                },
            }

    def sizes(self, oo: dict[str, Any]) -> None:
        """A catalogue grown to each of ``--sizes`` (``bench/scale.py``, on a private stack: the
        shared part's datasets would make its first size larger than asked)."""
        sizes = ", ".join(map(str, self.args.sizes))
        LOG.info("scale: a catalogue grown to %s datasets (bench/scale.py on a private stack)", sizes)
        result = scale.run(self.args.sizes, quick=self.quick)
        base = scale.write(result, self.out_dir, f"{self.name}-scale")
        oo["scale"] = scale.summary(result, base)

    # -- everything -------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.result = {
            "date": dt.date.today().isoformat(),
            "machine": machine(),
            "n": self.args.n,
            "sizes": list(self.args.sizes),
            "quick": self.quick,
            "operations": {},
            "ours_only": {},
            "notes": [
                "osmem-server stands in for OpenSearch (search, summary, list): emulated, not Lucene",
                "moto's Query cost grows with table size (perf-anchors.md 2.2); our read paths use GetItem and "
                "OpenSearch, lookup adds one Query on the (empty) archives index",
                "peer search/summary/list figures are mostly nx-27017 (MongoDB wire protocol on SQLite) query "
                "evaluation; with a real mongod expect single-digit ms (perf-anchors.md 1.5)",
                "peer free text covers name and readme only (nx-27017 refuses the wildcard text index)",
                "dserver (dservercore 0.22) runs on the same nx-27017 with the shims of bench/dserver_app.py; "
                "ours/dserver compares ours through our dserver-compatible routes (the same requests) with dserver",
            ],
        }
        begin = time.monotonic()
        self.start()
        assert self.stack is not None
        ours = setup_ours(self.stack)
        peer = Peer(self.peer.url, self.peer.token) if self.peer is not None else None
        if self.peer is not None:
            self.result["peer_versions"] = self.peer.versions()
        dserver = Dserver(self.dserver.url, self.dserver.token) if self.dserver is not None else None
        if self.dserver is not None:
            self.result["dserver_versions"] = self.dserver.versions()
        self.shared(ours, peer, dserver)
        self.stop_peer()
        print("\n" + text_table(self.result) + "\n", flush=True)
        self.ours_only(ours)
        self.result["wall_s"] = round(time.monotonic() - begin, 1)
        return self.result

    def write(self) -> None:
        base = self.out_dir / self.name
        base.with_suffix(".json").write_text(json.dumps(self.result, indent=2) + "\n")
        base.with_suffix(".md").write_text(markdown(self.result))
        problem = chart(self.result, base.with_suffix(".png"))
        if problem:
            LOG.warning(problem)
        LOG.info("results: %s.{json,md,png}", base.relative_to(REPO) if base.is_relative_to(REPO) else base)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=None, help="datasets in both systems (default 1000; quick 200)")
    parser.add_argument(
        "--sizes", type=scale.parse_sizes, default=None, help="ours-only catalogue sizes (default 1000,10000,100000)"
    )
    parser.add_argument("--uploads", type=int, default=None, help="upload -> searchable samples (default 200)")
    parser.add_argument("--bulk-n", type=int, default=None, help="bulk-index datasets (default 1000; 0 skips)")
    parser.add_argument("--copies", type=int, default=None, help="upload race dtool copies (default 200; 0 skips)")
    parser.add_argument("--quick", action="store_true", help="small sizes and a quarter of the requests")
    parser.add_argument("--skip-peer", action="store_true", help="ours only (no ratios): --peers none")
    parser.add_argument(
        "--peers", choices=[*PEERS, "none"], default="both", help="lookup-server (0.18), dserver (0.22), both, none"
    )
    parser.add_argument("--skip-scale", "--skip-large", action="store_true", help="skip the sizes (bench/scale.py)")
    parser.add_argument("--peer-dir", type=Path, default=BENCH / ".peer", help="the 0.18 peer's scratch directory")
    parser.add_argument("--dserver-dir", type=Path, default=BENCH / ".dserver", help="dserver's scratch directory")
    parser.add_argument("--out", type=Path, default=BENCH / "results")
    parser.add_argument("--name", default=None, help="results file name (default: the date, -quick if --quick)")
    args = parser.parse_args(argv)
    q = args.quick
    args.n = args.n or (200 if q else 1000)
    args.sizes = args.sizes or (scale.QUICK_SIZES if q else scale.SIZES)
    args.uploads = args.uploads if args.uploads is not None else (50 if q else 200)
    args.bulk_n = args.bulk_n if args.bulk_n is not None else (300 if q else 1000)
    args.copies = args.copies if args.copies is not None else (30 if q else 200)
    args.name = args.name or dt.date.today().isoformat() + ("-quick" if q else "")
    args.peers = () if args.skip_peer or args.peers == "none" else PEERS[args.peers]
    if args.n < 20:
        parser.error("--n must be at least 20")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("bench").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _on_sigterm)
    bench = Bench(args)
    code = 0
    try:
        bench.run()
    except (KeyboardInterrupt, Interrupted):
        print("\ninterrupted: stopping every process ...", file=sys.stderr)
        bench.result.setdefault("notes", []).append("run interrupted; figures incomplete")
        code = 130
    except Exception:
        traceback.print_exc()
        bench.result.setdefault("notes", []).append("run failed; figures incomplete: " + traceback.format_exc()[-500:])
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        bench.stop()
        shutil.rmtree(bench.work, ignore_errors=True)
    if bench.result.get("operations"):
        if code:
            bench.name += "-partial"
        bench.write()
        print(text_table(bench.result))
    return code


if __name__ == "__main__":
    sys.exit(main())
