"""The restore drill at size (issue 22): backup -> wipe -> restore -> reindex of N datasets, timed.

In this process over moto's ``mock_aws`` and the in-memory search index (as the functional
tier): N datasets are registered with the service's bulk path (one in six with a README over
the inline cap, kept as an S3 blob), a quarter edited once, and the streams pumped into the
audit log and the index, as the stream consumers would. Then, each phase timed: an on-demand
backup set of the five durable tables, every table deleted and the index dropped, the set
restored (stream, TTL, PITR set again), the ephemeral table re-created and the consumers
re-pointed, the full reindex, the drift check. The counts per table must come back equal and
the drift must be 0.

    .venv/bin/python bench/restore_drill.py --n 2000

Prints one JSON object (also written to ``--json``). The figures are moto's and this machine's,
not AWS's: a DynamoDB restore takes minutes to hours in AWS whatever moto says, and the
reindex there is bounded by the scan, the blob reads and OpenSearch's bulk writes instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
# as tests/conftest.py: dummy credentials, and the streams endpoint trap of botocore 1.44
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}.items():
    os.environ.setdefault(_name, _value)

BUCKET = "s3://bench-drill"
CHUNK = 200


def _bodies(n: int, inline_cap: int) -> list[dict[str, Any]]:
    from tests.support.data import registration

    bodies = []
    for i in range(n):
        body = registration(BUCKET, name=f"drill-{i:05d}", tags=["drill", f"group-{i % 7}"])
        if i % 6 == 0:  # over the cap: an S3 blob the reindex must read back
            line = f"  core {i}: permafrost depth profile, ice content by the field team\n"
            body["readme"] = "---\nnotes: |\n" + line * (inline_cap // len(line) + 2)
        bodies.append(body)
    return bodies


def _count(ddb: Any, table: str) -> int:
    total, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    for _ in range(100_000):
        page = ddb.scan(**kwargs)
        total += int(page["Count"])
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    raise RuntimeError("too many pages")


def run(n: int) -> dict[str, Any]:
    from moto import mock_aws

    from chalicelib.adapters.dynamodb.backups import TableBackups, catalogue_tables
    from chalicelib.bootstrap import create_resources, ensure_admin
    from chalicelib.catalogue.index_maintenance import drift, reindex
    from chalicelib.catalogue.validation import parse_registration
    from chalicelib.composition import Root, install, root
    from chalicelib.config import Settings
    from chalicelib.domain import User
    from infra.local.pump import StreamPump
    from tests.fakes.search import InMemorySearchIndex

    settings = Settings(stage="bench", region="eu-west-1", inline_cap_bytes=4096)
    handlers = {
        "CATALOGUE_DATASETS_STREAM_ARN": lambda event, _: root().streams.process_datasets(event["Records"]),
        "CATALOGUE_ACCESS_STREAM_ARN": lambda event, _: root().streams.process_access(event["Records"]),
        "CATALOGUE_FACILITY_STREAM_ARN": lambda event, _: root().streams.process_facility(event["Records"]),
    }
    phases: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        phases[name] = round(time.perf_counter() - started, 2)

    with mock_aws():
        search = InMemorySearchIndex()
        install(Root(settings, search=search))
        arns = create_resources(root())
        streams = root().aws_client("dynamodbstreams")

        def pumps(arns: dict[str, str]) -> list[StreamPump]:
            return [StreamPump(streams, arns[env], h, region=settings.region) for env, h in handlers.items()]

        def drain(consumers: list[StreamPump]) -> int:
            total = 0
            for _ in range(10_000):
                delivered = sum(p.pump_once() for p in consumers)
                total += delivered
                if delivered == 0:
                    return total
            raise RuntimeError("the streams never ran dry")

        consumers = pumps(arns)
        admin = User("bench", is_admin=True)
        ensure_admin(root(), "bench")
        root().access.add_base_uri(admin, BUCKET, "restore drill")
        started = time.perf_counter()
        bodies = _bodies(n, settings.inline_cap_bytes)
        for i in range(0, n, CHUNK):
            outcomes = root().catalogue.register_many(admin, [parse_registration(b) for b in bodies[i : i + CHUNK]])
            if any(not isinstance(o, str) for o in outcomes):
                raise RuntimeError(f"registration failed: {outcomes}")
            drain(consumers)
        for body in bodies[::4]:  # a quarter edited once: version 2
            uuid = body["uuid"]
            current = root().catalogue.get_dataset(admin, uuid, BUCKET)
            root().catalogue.patch_dataset(admin, uuid, partial(_patch, int(current["version"])), BUCKET)
        drain(consumers)
        timed("load_and_pump", started)

        ddb = root().aws_client("dynamodb")
        every_table = [
            settings.datasets_table,
            settings.access_table,
            settings.audit_table,
            settings.archives_table,
            settings.sign_in_attempts_table,
            settings.facility_table,
        ]
        before = {t: _count(ddb, t) for t in every_table}
        backups, specs = TableBackups(ddb, poll_seconds=0.1, timeout_seconds=60), catalogue_tables(settings)

        started = time.perf_counter()
        made = backups.back_up([s.name for s in specs], "bench")
        timed("backup", started)

        started = time.perf_counter()
        for table in every_table:
            ddb.delete_table(TableName=table)
        search.drop_index()
        timed("wipe", started)

        started = time.perf_counter()
        restored = backups.restore(backups.find(made.name, [s.name for s in specs]), specs)
        timed("restore", started)

        started = time.perf_counter()
        consumers = pumps(create_resources(root()))  # the ephemeral table again; consumers on the new streams
        timed("recreate_and_repoint", started)

        started = time.perf_counter()
        report = reindex(root().repo, root().search)
        timed("reindex", started)

        started = time.perf_counter()
        checked = drift(root().repo, root().search)
        timed("drift", started)

        after = {t: _count(ddb, t) for t in every_table}
        replayed = drain(consumers)
        install(None)

    if after != before or not checked.clean or report.failed or replayed:
        raise RuntimeError(f"the drill failed: {before} -> {after}, drift clean {checked.clean}, {report.failed}")
    per_10k = 10_000 / n
    return {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "backend": "moto mock_aws in process + in-memory search index",
        "n": n,
        "items_per_table": before,
        "restored": [{"table": r.name, "items": r.item_count} for r in restored],
        "seconds": phases,
        "reindex": {"written": report.written, "entries_per_s": round(report.written / phases["reindex"], 1)},
        "drill_seconds": round(sum(v for k, v in phases.items() if k not in ("load_and_pump", "wipe")), 2),
        "extrapolated_per_10k_datasets_s": {
            "reindex": round(phases["reindex"] * per_10k, 1),
            "drift": round(phases["drift"] * per_10k, 1),
        },
    }


def _patch(version: int) -> Any:
    from chalicelib.catalogue.validation import parse_patch

    return parse_patch({"tags": ["drill", "revised"], "version": version}, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = run(args.n)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
