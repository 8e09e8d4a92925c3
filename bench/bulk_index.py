"""Bulk-index throughput on the local stack: `catalogue-admin index s3://bucket` in datasets/s.

Starts a private local stack (moto server, osmem-server, the event runner, chalice local)
on free 127.0.0.1 ports, fills an unwatched bucket with N sidecar-described folders (one
data file and one ``dataset.json`` each), registers the bucket as a base URI, then runs
the bulk index in this process exactly as the CLI does (:func:`index_prefix`), twice: the
first run registers every dataset, the second finds them all unchanged. The stream
consumer (audit + search index) runs meanwhile in the runner, as on ``make run``; the
time until search shows all N is reported as well.

    .venv/bin/python bench/bulk_index.py --n 2000
    .venv/bin/python bench/bulk_index.py --n 2000 --profile   # pyinstrument, first run

Prints one JSON object (also written to ``--json``). The figures are moto's, not AWS's.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.processes import free_port
from infra.local.stack import LocalStack, patched_environ


def _fill(stack: LocalStack, bucket: str, n: int) -> None:
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def put(i: int) -> None:
        s3.put_object(Bucket=bucket, Key=f"runs/run-{i:05d}/data.csv", Body=b"1,2\n" * (i % 7 + 1))
        sidecar = {"name": f"bulk-{i:05d}", "creator": f"user{i % 13}", "tags": ["bench"]}
        s3.put_object(Bucket=bucket, Key=f"runs/run-{i:05d}/dataset.json", Body=json.dumps(sidecar).encode())

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(n)))


def _search_total(stack: LocalStack, base_uri: str) -> int:
    from chalicelib.catalogue.search import SearchQuery
    from chalicelib.composition import root

    result = root().search.search(SearchQuery(base_uris=(base_uri,), size=1))
    return int(result.total)


def run(n: int, concurrency: int, profile: bool) -> dict[str, Any]:
    ports = {free_port() for _ in range(4)}
    while len(ports) < 4:  # bounded in practice: the OS hands out distinct ephemeral ports
        ports.add(free_port())
    api, moto, osm, web = sorted(ports)
    with tempfile.TemporaryDirectory() as work:
        stack = LocalStack(api_port=api, moto_port=moto, opensearch_port=osm, token_port=0, web_port=web, work_dir=work)
        stack.start()
        try:
            bucket = "bulk-bench"
            t0 = time.monotonic()
            _fill(stack, bucket, n)
            fill_s = time.monotonic() - t0
            with patched_environ(stack.env):
                from chalicelib import bootstrap
                from chalicelib.composition import Root, install, root
                from chalicelib.ingest.ingestion import index_prefix

                install(Root(stack.settings()))
                bootstrap.ensure_admin(root(), "bench")
                from chalicelib.domain import User

                root().access.add_base_uri(User("bench", is_admin=True), f"s3://{bucket}", "bulk bench")
                ingest = root().ingest
                runs = []
                profiler = None
                for attempt in range(2):
                    if profile and attempt == 0:
                        from pyinstrument import Profiler

                        profiler = Profiler(interval=0.0005)
                        profiler.start()
                    started, cpu = time.monotonic(), time.process_time()
                    report = index_prefix(ingest, ingest.store, bucket, "", concurrency=concurrency)
                    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
                    if profiler is not None:
                        profiler.stop()
                        print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)
                        profiler = None
                    runs.append(
                        {
                            "seconds": round(elapsed, 2),
                            "datasets_per_s": round(n / elapsed, 1),
                            "client_cpu_seconds": round(cpu, 2),
                            "outcomes": dict(report.outcomes),
                        }
                    )
                    if attempt == 0:
                        deadline = time.monotonic() + 300
                        while time.monotonic() < deadline and _search_total(stack, f"s3://{bucket}") < n:
                            time.sleep(0.1)
                        runs[0]["searchable_after_s"] = round(time.monotonic() - started, 2)
        finally:
            stack.stop()
    return {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "n": n,
        "concurrency": concurrency,
        "fill_seconds": round(fill_s, 1),
        "first_run": runs[0],
        "second_run": runs[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.n, args.concurrency, args.profile)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
