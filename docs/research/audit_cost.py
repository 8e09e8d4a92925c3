"""What the audit log costs: one TransactWriteItems versus an audit derived from the stream.

The catalogue derives its audit log from DynamoDB Streams: a request writes only the
dataset item (which carries ``updated_by``/``updated_at``/``version``), and the stream
consumer writes the audit entry with ``attribute_not_exists`` on a deterministic key. The
alternative writes the audit entry in the same ``TransactWriteItems`` as the change. This
script measures both on moto in server mode (``moto_server`` as a subprocess on a free
127.0.0.1 port, always stopped), with plain boto3 clients.

For each table size N (the datasets table and the audit table are each pre-filled with N
items of ~2 KB by BatchWriteItem; the datasets table has a NEW_AND_OLD_IMAGES stream from
creation, as in ``chalicelib/adapters/dynamodb/tables.py``), it times, per operation:

(a) transaction: one TransactWriteItems = conditional Put of a new dataset item
    (``attribute_not_exists(uuid)``) + Put of its audit item (``attribute_not_exists(sk)``);
(b) stream-derived, request path: one conditional PutItem of the dataset item;
(c) stream-derived, consumer: one ``get_records`` poll that returns that change plus one
    conditional PutItem of the audit item, and the lag from the request's PutItem being
    acknowledged to the audit row existing, with a poller thread started right after the
    write (polls every 5 ms, at most 2 s).

Every phase runs on its own fresh ``moto_server``: per size, (b)+(c) on one and (a) on
another, and each concurrency check on its own. moto keeps every table copy that a
transaction makes (its ``BaseModel`` records every instance until a reset), so a server
that has run transactions carries that garbage and the garbage collector's pauses; they
must not be charged to the design that runs none. The server's resident memory is
reported. After every timed operation its rows are deleted again (untimed), so the tables
stay at N items; the deletes add REMOVE records to the stream, which moto never trims and
which a transaction copies too (the stream length is reported).

Then, once at N=1000 (``--concurrency-n``), the concurrency check: 8 threads each run 50
operations of distinct keys at the same moment, (a) on one server, then (b) on another
with one stream consumer (c) running alongside (polling every 5 ms). Retries are off (one
attempt per call), so every HTTP 500 is counted, and the server log's tracebacks are
counted too; afterwards every acknowledged write and its audit row are read back, and
both tables are counted against what should be there.

Run from the repository root::

    .venv/bin/python docs/research/audit_cost.py
    .venv/bin/python docs/research/audit_cost.py --sizes 100,1000,4000 --ops 200 --json out.json

``--ops`` (default 200) is the number of timed (b)+(c) operations per size; (a) is timed
``--tx-ops`` times (default: ``--ops``, capped at 40), because at N=4000 each transaction
costs moto 0.6-1 s. With the defaults the whole run took 285 s on an otherwise idle
2-core machine: ~110 s in the concurrency check of (a), ~70 s in (a) at N=4000, ~40 s in
pre-fills. Other work on the machine slows it and shows up in the figures: the load
average at start and end is reported.

Progress goes to stderr; the markdown tables go to stdout. The figures are moto's, not
DynamoDB's: moto deep-copies every table a transaction touches (items and stream records),
so (a) grows with the table size locally; real DynamoDB does not behave like this.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid as uuidlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "eu-west-1"
STREAM_VIEW = "NEW_AND_OLD_IMAGES"
POLL_INTERVAL_S = 0.005
MAX_POLLS = 400  # 400 x 5 ms: a change not in the stream after ~2 s counts as missing
WARMUP_OPS = 5
BATCH = 25
CONDITION_FAILED = "ConditionalCheckFailedException"
TRACEBACK_LAST_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): ?(.*)$")

Item = dict[str, Any]  # DynamoDB JSON


# -- items -------------------------------------------------------------------------------

README = (
    "---\n"
    "description: Soil moisture time series from the Hillside transect, 2019-2023\n"
    "project: Hillside hydrology\n"
    "owners:\n  - name: A. Researcher\n    email: a.researcher@example.org\n    orcid: 0000-0002-1825-0097\n"
    "funders:\n  - organisation: Research Council\n    code: RC-2019-1234\n"
    "creation_date: 2023-06-01\n"
    "instrument: TDR probe array, 12 sensors at 10/30/60 cm\n"
    "processing: 15 min means, QC flags per CF conventions; gaps not filled\n"
    "licence: CC-BY-4.0\n"
    "related: doi:10.0000/example.hillside.2023\n"
)


def _manifest(key: str) -> str:
    items = {
        f"{n:040x}": {
            "relpath": f"sensors/probe_{n:02d}/soil_moisture_{key[:8]}.csv",
            "size_in_bytes": 104857 + n,
            "hash": f"{(n * 7919):032x}",
            "utc_timestamp": 1685600000.0 + n,
        }
        for n in range(5)
    }
    return json.dumps(
        {"hash_function": "md5sum_hexdigest", "dtoolcore_version": "3.18.2", "items": items}, separators=(",", ":")
    )


def dataset_item(key: str, now: float) -> Item:
    """A new dataset (version 1) shaped like ``DatasetItem``, about 2 KB."""
    return {
        "uuid": {"S": key},
        "name": {"S": f"hillside-soil-moisture-{key[:8]}"},
        "creator_username": {"S": "a.researcher"},
        "created_at": {"N": f"{now - 3600:.6f}"},
        "frozen_at": {"N": f"{now - 1800:.6f}"},
        "registered_at": {"N": f"{now:.6f}"},
        "updated_at": {"N": f"{now:.6f}"},
        "updated_by": {"S": "a.researcher"},
        "readme": {"S": README},
        "manifest": {"S": _manifest(key)},
        "annotations": {"S": json.dumps({"site": "hillside", "depths_cm": [10, 30, 60], "qc": "v2"})},
        "tags": {"L": [{"S": t} for t in ("soil", "moisture", "hydrology", "time-series")]},
        "description": {"S": "Soil moisture time series from the Hillside transect, 2019-2023"},
        "number_of_items": {"N": "5"},
        "size_in_bytes": {"N": "524295"},
        "replicas": {
            "L": [
                {
                    "M": {
                        "uri": {"S": f"s3://research-data-eu/{key}"},
                        "base_uri": {"S": "s3://research-data-eu"},
                        "registered_at": {"N": f"{now:.6f}"},
                        "registered_by": {"S": "a.researcher"},
                    }
                }
            ]
        },
        "version": {"N": "1"},
        "content_hash": {"S": hashlib.sha256(key.encode()).hexdigest()},
        "deleted": {"BOOL": False},
    }


def audit_item(image: Item) -> Item:
    """The "add" audit entry of a new dataset, built from its item (or its stream NewImage)."""
    key = image["uuid"]["S"]
    version = image["version"]["N"]
    timestamp = float(image["updated_at"]["N"])
    entry_id = f"dataset:{key}:v{version}:0"
    value = {
        "uuid": key,
        "name": image["name"]["S"],
        "creator_username": image["creator_username"]["S"],
        "description": image["description"]["S"],
        "tags": [t["S"] for t in image["tags"]["L"]],
        "readme": image["readme"]["S"],
        "manifest": json.loads(image["manifest"]["S"]),
    }
    return {
        "subject": {"S": f"dataset#{key}"},
        "sk": {"S": f"{timestamp:017.6f}#{entry_id}"},  # chalicelib.adapters.dynamodb.repository.audit_sort_key
        "entry_id": {"S": entry_id},
        "entity_type": {"S": "dataset"},
        "entity_id": {"S": key},
        "action": {"S": "add"},
        "timestamp": {"N": f"{timestamp:.6f}"},
        "actor": {"S": image["updated_by"]["S"]},
        "value": {"S": json.dumps(value, separators=(",", ":"))},
    }


def audit_key(item: Item) -> Item:
    return {"subject": item["subject"], "sk": item["sk"]}


def item_bytes(item: Item) -> int:
    """DynamoDB's item size, roughly: attribute names plus values."""

    def size(value: Any) -> int:
        if isinstance(value, dict):
            return sum(len(k) + size(v) for k, v in value.items())
        if isinstance(value, list):
            return sum(size(v) for v in value)
        return len(str(value).encode())

    return sum(len(k) + size(v) for k, v in item.items())


# -- moto server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def moto_server_path(explicit: str | None) -> str:
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "moto_server"
    if beside.exists():
        return str(beside)
    found = shutil.which("moto_server")
    if not found:
        raise SystemExit("moto_server not found; run with the project's .venv/bin/python or pass --moto-server")
    return found


@dataclass
class Server:
    url: str
    log_path: Path
    pid: int

    def rss_mb(self) -> float | None:
        """The server's resident memory (Linux ``/proc``), or None where that is not available."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
        return None

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def exceptions_since(self, offset: int) -> dict[str, int]:
        """Exceptions logged by the server (the last line of each traceback) since ``offset``."""
        counts: dict[str, int] = {}
        with self.log_path.open("rb") as f:
            f.seek(offset)
            for raw in f.read().decode(errors="replace").splitlines():
                match = TRACEBACK_LAST_LINE.match(raw)
                if match:
                    kind = f"server: {match.group(1)}: {match.group(2)[:80]}"
                    counts[kind] = counts.get(kind, 0) + 1
        return counts


@contextlib.contextmanager
def moto_server(executable: str, log_dir: Path, start_timeout: float = 30.0) -> Iterator[Server]:
    """Run ``moto_server`` on a free loopback port for the duration of the block; always stop it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / f"moto_server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [executable, "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(os.environ),
            start_new_session=True,  # Ctrl-C reaches only us; we stop it ourselves
        )
        try:
            deadline = time.monotonic() + start_timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"moto_server exited with {proc.returncode}; see {log_path}")
                try:
                    with urllib.request.urlopen(f"{url}/moto-api/", timeout=1.0):
                        break
                except (urllib.error.URLError, OSError):
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"moto_server did not answer on {url} within {start_timeout:.0f} s"
                        ) from None
                    time.sleep(0.1)
            yield Server(url=url, log_path=log_path, pid=proc.pid)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def clients(endpoint: str) -> tuple[Any, Any]:
    config = Config(
        region_name=REGION,
        retries={"mode": "standard", "total_max_attempts": 1},  # count every failure; hide none
        max_pool_connections=32,
        connect_timeout=5,
        read_timeout=60,
    )
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    ddb = session.client("dynamodb", endpoint_url=endpoint, config=config)
    streams = session.client("dynamodbstreams", endpoint_url=endpoint, config=config)
    return ddb, streams


# -- tables --------------------------------------------------------------------------------


@dataclass
class Tables:
    datasets: str
    audit: str
    stream_arn: str
    shard_id: str
    iterator: str = ""  # positioned after the last record read

    def read_stream(self, streams: Any, limit: int = 100) -> list[dict[str, Any]]:
        resp = streams.get_records(ShardIterator=self.iterator, Limit=limit)
        self.iterator = resp["NextShardIterator"]
        return list(resp.get("Records", []))

    def drain(self, streams: Any) -> int:
        """Move the iterator past everything in the stream now (bounded); return records skipped."""
        skipped = 0
        for _ in range(10_000):
            got = self.read_stream(streams, limit=1000)
            if not got:
                return skipped
            skipped += len(got)
        raise RuntimeError("stream did not drain")


def create_tables(ddb: Any, streams: Any, prefix: str) -> Tables:
    datasets, audit = f"{prefix}-datasets", f"{prefix}-audit"
    ddb.create_table(
        TableName=datasets,
        KeySchema=[{"AttributeName": "uuid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "uuid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW},
    )
    ddb.create_table(
        TableName=audit,
        KeySchema=[{"AttributeName": "subject", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "subject", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = ddb.describe_table(TableName=datasets)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return Tables(datasets=datasets, audit=audit, stream_arn=arn, shard_id=shard, iterator=it)


def batch_write(ddb: Any, table: str, items: Sequence[Item]) -> None:
    for start in range(0, len(items), BATCH):
        request: dict[str, Any] = {table: [{"PutRequest": {"Item": i}} for i in items[start : start + BATCH]]}
        for attempt in range(20):
            resp = ddb.batch_write_item(RequestItems=request)
            request = resp.get("UnprocessedItems") or {}
            if not request:
                break
            time.sleep(0.01 * (attempt + 1))
        else:
            raise RuntimeError(f"BatchWriteItem left items unprocessed in {table}")


def prefill(ddb: Any, streams: Any, tables: Tables, n: int) -> None:
    now = time.time() - 86400
    datasets = [dataset_item(f"prefill-{i:06d}-{uuidlib.uuid4()}", now + i) for i in range(n)]
    batch_write(ddb, tables.datasets, datasets)
    batch_write(ddb, tables.audit, [audit_item(d) for d in datasets])
    tables.drain(streams)  # the pre-fill's INSERT records stay in moto's stream, behind the iterator


def count(ddb: Any, table: str) -> int:
    total, kwargs = 0, {"TableName": table, "Select": "COUNT"}
    for _ in range(10_000):
        resp = ddb.scan(**kwargs)
        total += int(resp["Count"])
        if "LastEvaluatedKey" not in resp:
            return total
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    raise RuntimeError("scan did not finish")


def existing(ddb: Any, table: str, keys: Sequence[Item]) -> set[str]:
    """JSON of those ``keys`` that exist in ``table`` (BatchGetItem, consistent)."""
    found: set[str] = set()
    for start in range(0, len(keys), 100):
        request: dict[str, Any] = {table: {"Keys": list(keys[start : start + 100]), "ConsistentRead": True}}
        for attempt in range(20):
            resp = ddb.batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(table, []):
                found.add(_key_json({k: item[k] for k in keys[0]}))
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.01 * (attempt + 1))
        else:
            raise RuntimeError(f"BatchGetItem left keys unprocessed in {table}")
    return found


def _key_json(key: Item) -> str:
    return json.dumps(key, sort_keys=True)


# -- operations ------------------------------------------------------------------------------


def put_dataset(ddb: Any, tables: Tables, item: Item) -> None:
    ddb.put_item(
        TableName=tables.datasets,
        Item=item,
        ConditionExpression="attribute_not_exists(#u)",
        ExpressionAttributeNames={"#u": "uuid"},
    )


def put_audit(ddb: Any, tables: Tables, item: Item) -> bool:
    """Conditional put of an audit entry; False if it was there already (a repeated delivery)."""
    try:
        ddb.put_item(
            TableName=tables.audit,
            Item=item,
            ConditionExpression="attribute_not_exists(#sk)",
            ExpressionAttributeNames={"#sk": "sk"},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == CONDITION_FAILED:
            return False
        raise
    return True


def transact(ddb: Any, tables: Tables, item: Item) -> None:
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": tables.datasets,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(#u)",
                    "ExpressionAttributeNames": {"#u": "uuid"},
                }
            },
            {
                "Put": {
                    "TableName": tables.audit,
                    "Item": audit_item(item),
                    "ConditionExpression": "attribute_not_exists(#sk)",
                    "ExpressionAttributeNames": {"#sk": "sk"},
                }
            },
        ]
    )


def cleanup(ddb: Any, tables: Tables, item: Item) -> None:
    """Delete one operation's rows again (untimed), so the tables stay at N items."""
    ddb.delete_item(TableName=tables.datasets, Key={"uuid": item["uuid"]})
    ddb.delete_item(TableName=tables.audit, Key=audit_key(audit_item(item)))


def _insert_for(records: Sequence[dict[str, Any]], key: str) -> dict[str, Any] | None:
    for r in records:
        if r.get("eventName") == "INSERT" and r["dynamodb"]["Keys"]["uuid"]["S"] == key:
            return r
    return None


@dataclass
class StreamSample:
    put_ms: float  # (b)
    consumer_ms: float  # (c): the get_records poll that returned the change + the audit put
    lag_ms: float  # PutItem acknowledged -> audit row written
    write_to_audit_ms: float  # PutItem sent -> audit row written
    polls: int


def stream_op(ddb: Any, streams: Any, tables: Tables, item: Item) -> StreamSample:
    key = item["uuid"]["S"]
    t_sent = time.perf_counter()
    put_dataset(ddb, tables, item)
    t_ack = time.perf_counter()
    result: dict[str, Any] = {}

    def poller() -> None:
        try:
            for polls in range(1, MAX_POLLS + 1):
                t_poll = time.perf_counter()
                record = _insert_for(tables.read_stream(streams), key)
                if record is None:
                    time.sleep(POLL_INTERVAL_S)
                    continue
                put_audit(ddb, tables, audit_item(record["dynamodb"]["NewImage"]))
                t_done = time.perf_counter()
                result.update(t_poll=t_poll, t_done=t_done, polls=polls)
                return
            result["error"] = f"change not in the stream after {MAX_POLLS} polls"
        except Exception as exc:  # reported by the caller
            result["error"] = f"{type(exc).__name__}: {exc}"

    thread = threading.Thread(target=poller, name="audit-poller", daemon=True)
    thread.start()
    thread.join(timeout=MAX_POLLS * POLL_INTERVAL_S + 30)
    if thread.is_alive() or "error" in result:
        raise RuntimeError(f"stream consumer failed for {key}: {result.get('error', 'timed out')}")
    return StreamSample(
        put_ms=(t_ack - t_sent) * 1e3,
        consumer_ms=(result["t_done"] - result["t_poll"]) * 1e3,
        lag_ms=(result["t_done"] - t_ack) * 1e3,
        write_to_audit_ms=(result["t_done"] - t_sent) * 1e3,
        polls=int(result["polls"]),
    )


# -- statistics ------------------------------------------------------------------------------


@dataclass
class Stat:
    n: int
    median_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        if not samples:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        ordered = sorted(samples)
        p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]  # nearest rank
        return cls(
            len(ordered),
            round(statistics.median(ordered), 2),
            round(p95, 2),
            round(ordered[0], 2),
            round(ordered[-1], 2),
        )

    def cell(self) -> str:
        return f"{self.median_ms:.1f} / {self.p95_ms:.1f}"


@dataclass
class SizeResult:
    n: int
    ops: int  # timed (b)+(c) operations
    tx_ops: int  # timed (a) operations
    prefill_s: float
    stream_records_before: int  # moto's stream length on the (a) table when (a) started
    stream_records_after: int
    transaction: Stat
    request_put: Stat
    consumer: Stat
    lag_after_ack: Stat
    write_to_audit: Stat
    max_polls: int
    transaction_samples_ms: list[float]  # in order: moto's (a) slows down as its kept copies pile up
    server_rss_mb: dict[str, float | None]  # moto_server's resident memory at phase boundaries
    tx_rss_growth_mb_per_op: float | None  # what each transaction (warm-up included) left behind
    errors: list[str] = field(default_factory=list)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def stream_length(streams: Any, tables: Tables) -> int:
    """Records in moto's stream (moto never trims it): read it from TRIM_HORIZON, untimed."""
    desc = streams.describe_stream(StreamArn=tables.stream_arn)["StreamDescription"]
    start = int(desc["Shards"][0]["SequenceNumberRange"]["StartingSequenceNumber"])
    last = start - 1
    probe = streams.get_shard_iterator(
        StreamArn=tables.stream_arn, ShardId=tables.shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    for _ in range(100_000):
        resp = streams.get_records(ShardIterator=probe, Limit=1000)
        records = resp.get("Records", [])
        if not records:
            break
        last = int(records[-1]["dynamodb"]["SequenceNumber"])
        probe = resp["NextShardIterator"]
    return last - start + 1


# -- per-size timing ---------------------------------------------------------------------------


def prepared(ddb: Any, streams: Any, n: int, name: str) -> tuple[Tables, float]:
    t0 = time.perf_counter()
    tables = create_tables(ddb, streams, f"bench-{n}-{name}")
    prefill(ddb, streams, tables, n)
    elapsed = time.perf_counter() - t0
    log(f"N={n}: pre-filled {n} datasets + {n} audit entries for {name} in {elapsed:.1f} s")
    return tables, elapsed


def measure_stream(ddb: Any, streams: Any, tables: Tables, n: int, ops: int) -> tuple[list[StreamSample], list[str]]:
    """(b) and (c), ``ops`` times after a warm-up, on a server that has run no transaction."""
    samples: list[StreamSample] = []
    errors: list[str] = []
    for i in range(-WARMUP_OPS, ops):
        item = dataset_item(f"bench-st-{n}-{i}-{uuidlib.uuid4()}", time.time())
        try:
            sample = stream_op(ddb, streams, tables, item)
            if i >= 0:
                samples.append(sample)
        except (ClientError, RuntimeError) as exc:
            errors.append(f"(b/c) {exc}")
        cleanup(ddb, tables, item)
        tables.drain(streams)  # skip the cleanup's REMOVE records, untimed
    return samples, errors


def measure_transactions(ddb: Any, tables: Tables, n: int, tx_ops: int) -> tuple[list[float], list[str]]:
    """(a), ``tx_ops`` times after a warm-up."""
    tx_ms: list[float] = []
    errors: list[str] = []
    for i in range(-WARMUP_OPS, tx_ops):
        item = dataset_item(f"bench-tx-{n}-{i}-{uuidlib.uuid4()}", time.time())
        try:
            t = time.perf_counter()
            transact(ddb, tables, item)
            if i >= 0:
                tx_ms.append((time.perf_counter() - t) * 1e3)
        except ClientError as exc:
            errors.append(f"(a) {exc}")
        cleanup(ddb, tables, item)
        if i >= 0 and (i + 1) % max(1, tx_ops // 4) == 0:
            log(f"N={n}: {i + 1}/{tx_ops} transactions, median so far {statistics.median(tx_ms):.1f} ms")
    return tx_ms, errors


def measure_size(serve: Callable[[], Any], n: int, ops: int, tx_ops: int) -> SizeResult:
    """One size: (b)+(c) on one fresh moto_server, then (a) on another.

    Separate servers, because moto keeps every table copy a transaction makes (its
    ``BaseModel`` tracks all instances until a reset): the garbage, and the garbage
    collector's pauses over it, must not be charged to the design that runs no transaction.
    """
    rss: dict[str, float | None] = {}
    with serve() as (server, ddb, streams):
        tables, prefill_st = prepared(ddb, streams, n, "stream")
        rss["stream_after_prefill"] = server.rss_mb()
        samples, errors = measure_stream(ddb, streams, tables, n, ops)
        rss["stream_after_ops"] = server.rss_mb()
    with serve() as (server, ddb, streams):
        tables, prefill_tx = prepared(ddb, streams, n, "transactions")
        stream_before = stream_length(streams, tables)
        rss["tx_after_prefill"] = server.rss_mb()
        tx_ms, tx_errors = measure_transactions(ddb, tables, n, tx_ops)
        rss["tx_after_ops"] = server.rss_mb()
        stream_after = stream_length(streams, tables)
    before, after = rss["tx_after_prefill"], rss["tx_after_ops"]
    growth = round((after - before) / (tx_ops + WARMUP_OPS), 2) if before is not None and after is not None else None
    return SizeResult(
        n=n,
        ops=ops,
        tx_ops=tx_ops,
        prefill_s=round(prefill_st + prefill_tx, 2),
        stream_records_before=stream_before,
        stream_records_after=stream_after,
        transaction=Stat.of(tx_ms),
        transaction_samples_ms=[round(x, 2) for x in tx_ms],
        request_put=Stat.of([s.put_ms for s in samples]),
        consumer=Stat.of([s.consumer_ms for s in samples]),
        lag_after_ack=Stat.of([s.lag_ms for s in samples]),
        write_to_audit=Stat.of([s.write_to_audit_ms for s in samples]),
        max_polls=max((s.polls for s in samples), default=0),
        server_rss_mb=rss,
        tx_rss_growth_mb_per_op=growth,
        errors=errors + tx_errors,
    )


# -- concurrency check -------------------------------------------------------------------------


@dataclass
class ConcurrencyResult:
    design: str
    n: int
    threads: int
    per_thread: int
    wall_s: float
    acknowledged: int
    failed: int
    http_500: int
    errors_by_kind: dict[str, int]
    lost_dataset_rows: int  # acknowledged, but the dataset row is gone
    lost_audit_rows: int  # acknowledged, but its audit row is missing
    partial_failed_writes: int  # not acknowledged, yet exactly one of the two rows exists
    committed_despite_error: int  # not acknowledged, yet both rows exist
    datasets_count: int
    datasets_expected: int
    audit_count: int
    audit_expected: int
    consumer_errors: int = 0
    duplicate_deliveries: int = 0  # audit put found the row already (at-least-once delivery)
    stream_inserts_seen: int = 0
    lag_after_ack: Stat | None = None
    op_latency: Stat | None = None
    server_exceptions: dict[str, int] = field(default_factory=dict)
    server_rss_mb_before: float | None = None
    server_rss_mb_after: float | None = None


def _error_kind(exc: Exception) -> tuple[str, bool]:
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        code = str(exc.response.get("Error", {}).get("Code", "?"))
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if message.lstrip().startswith("<"):  # werkzeug's HTML error page; the cause is in the server log
            message = "Internal Server Error (HTML page)"
        return f"HTTP {status} {code}: {message[:80]}", status >= 500
    return f"{type(exc).__name__}: {str(exc)[:80]}", False


def _run_threads(threads: int, per_thread: int, op: Callable[[int, int], None]) -> tuple[float, list[list[Any]]]:
    """Run ``op(thread, i)`` for ``per_thread`` i in each of ``threads`` threads released together."""
    barrier = threading.Barrier(threads)
    outcomes: list[list[Any]] = [[] for _ in range(threads)]

    def worker(t: int) -> None:
        barrier.wait(timeout=30)
        for i in range(per_thread):
            try:
                op(t, i)
                outcomes[t].append(None)
            except Exception as exc:  # counted, never fatal
                outcomes[t].append(exc)

    pool = [threading.Thread(target=worker, args=(t,), name=f"writer-{t}", daemon=True) for t in range(threads)]
    t0 = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join(timeout=600)
    if any(th.is_alive() for th in pool):
        raise RuntimeError("writer threads did not finish within 600 s")
    return time.perf_counter() - t0, outcomes


def _verify(
    ddb: Any,
    tables: Tables,
    items: dict[tuple[int, int], Item],
    outcomes: list[list[Any]],
    n_before_datasets: int,
    n_before_audit: int,
) -> dict[str, Any]:
    acked = [items[(t, i)] for t, row in enumerate(outcomes) for i, o in enumerate(row) if o is None]
    failed = [items[(t, i)] for t, row in enumerate(outcomes) for i, o in enumerate(row) if o is not None]
    all_items = acked + failed
    ds_found = existing(ddb, tables.datasets, [{"uuid": it["uuid"]} for it in all_items]) if all_items else set()
    au_found = existing(ddb, tables.audit, [audit_key(audit_item(it)) for it in all_items]) if all_items else set()

    def has_ds(it: Item) -> bool:
        return _key_json({"uuid": it["uuid"]}) in ds_found

    def has_au(it: Item) -> bool:
        return _key_json(audit_key(audit_item(it))) in au_found

    kinds: dict[str, int] = {}
    http_500 = 0
    for row in outcomes:
        for o in row:
            if o is not None:
                kind, is_500 = _error_kind(o)
                kinds[kind] = kinds.get(kind, 0) + 1
                http_500 += is_500
    ds_committed = sum(has_ds(it) for it in all_items)
    au_committed = sum(has_au(it) for it in all_items)
    return {
        "acknowledged": len(acked),
        "failed": len(failed),
        "http_500": http_500,
        "errors_by_kind": kinds,
        "lost_dataset_rows": sum(not has_ds(it) for it in acked),
        "lost_audit_rows": sum(not has_au(it) for it in acked),
        "partial_failed_writes": sum(has_ds(it) != has_au(it) for it in failed),
        "committed_despite_error": sum(has_ds(it) and has_au(it) for it in failed),
        "datasets_count": count(ddb, tables.datasets),
        "datasets_expected": n_before_datasets + ds_committed,
        "audit_count": count(ddb, tables.audit),
        "audit_expected": n_before_audit + au_committed,
    }


def concurrency_transactions(ddb: Any, tables: Tables, n: int, threads: int, per_thread: int) -> ConcurrencyResult:
    before_ds, before_au = count(ddb, tables.datasets), count(ddb, tables.audit)
    now = time.time()
    items = {
        (t, i): dataset_item(f"conc-tx-{t}-{i}-{uuidlib.uuid4()}", now)
        for t in range(threads)
        for i in range(per_thread)
    }
    latencies: list[float] = []
    lock = threading.Lock()

    def op(t: int, i: int) -> None:
        start = time.perf_counter()
        transact(ddb, tables, items[(t, i)])
        with lock:
            latencies.append((time.perf_counter() - start) * 1e3)

    wall, outcomes = _run_threads(threads, per_thread, op)
    checks = _verify(ddb, tables, items, outcomes, before_ds, before_au)
    return ConcurrencyResult(
        design="(a) TransactWriteItems",
        n=n,
        threads=threads,
        per_thread=per_thread,
        wall_s=round(wall, 2),
        op_latency=Stat.of(latencies),
        **checks,
    )


def concurrency_stream(
    ddb: Any, streams: Any, tables: Tables, n: int, threads: int, per_thread: int, settle_s: float = 60.0
) -> ConcurrencyResult:
    """(b) from ``threads`` writers, while one consumer (c) reads the stream and writes audit rows."""
    tables.drain(streams)
    before_ds, before_au = count(ddb, tables.datasets), count(ddb, tables.audit)
    now = time.time()
    items = {
        (t, i): dataset_item(f"conc-st-{t}-{i}-{uuidlib.uuid4()}", now)
        for t in range(threads)
        for i in range(per_thread)
    }
    acked_at: dict[str, float] = {}
    audited_at: dict[str, float] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    writers_done = threading.Event()
    consumer_state = {"errors": 0, "duplicates": 0, "inserts": 0}
    consumer_errors: dict[str, int] = {}

    def consumer() -> None:
        deadline: float | None = None
        while True:
            if writers_done.is_set():
                with lock:
                    if set(acked_at) <= set(audited_at):
                        return
                deadline = deadline or time.monotonic() + settle_s
                if time.monotonic() > deadline:
                    return
            try:
                records = tables.read_stream(streams)
            except Exception as exc:  # the pump retries the poll
                consumer_state["errors"] += 1
                kind = _error_kind(exc)[0]
                consumer_errors[kind] = consumer_errors.get(kind, 0) + 1
                time.sleep(POLL_INTERVAL_S)
                continue
            if not records:
                time.sleep(POLL_INTERVAL_S)
                continue
            for record in records:
                if record.get("eventName") != "INSERT":
                    continue
                consumer_state["inserts"] += 1
                image = record["dynamodb"]["NewImage"]
                for _attempt in range(10):  # the pump retries a failed batch; bounded here
                    try:
                        if not put_audit(ddb, tables, audit_item(image)):
                            consumer_state["duplicates"] += 1
                    except Exception as exc:
                        consumer_state["errors"] += 1
                        kind = _error_kind(exc)[0]
                        consumer_errors[kind] = consumer_errors.get(kind, 0) + 1
                        time.sleep(POLL_INTERVAL_S)
                        continue
                    with lock:
                        audited_at.setdefault(image["uuid"]["S"], time.perf_counter())
                    break

    reader = threading.Thread(target=consumer, name="audit-consumer", daemon=True)
    reader.start()

    def op(t: int, i: int) -> None:
        item = items[(t, i)]
        start = time.perf_counter()
        put_dataset(ddb, tables, item)
        done = time.perf_counter()
        with lock:
            acked_at[item["uuid"]["S"]] = done
            latencies.append((done - start) * 1e3)

    try:
        wall, outcomes = _run_threads(threads, per_thread, op)
    finally:
        writers_done.set()
        reader.join(timeout=settle_s + 60)
    if reader.is_alive():
        raise RuntimeError("the stream consumer did not stop")
    checks = _verify(ddb, tables, items, outcomes, before_ds, before_au)
    if consumer_errors:
        checks["errors_by_kind"] = {
            **checks["errors_by_kind"],
            **{f"consumer {k}": v for k, v in consumer_errors.items()},
        }
    lags = [(audited_at[k] - t) * 1e3 for k, t in acked_at.items() if k in audited_at]
    return ConcurrencyResult(
        design="(b)+(c) PutItem + stream consumer",
        n=n,
        threads=threads,
        per_thread=per_thread,
        wall_s=round(wall, 2),
        consumer_errors=consumer_state["errors"],
        duplicate_deliveries=consumer_state["duplicates"],
        stream_inserts_seen=consumer_state["inserts"],
        lag_after_ack=Stat.of(lags),
        op_latency=Stat.of(latencies),
        **checks,
    )


# -- report ----------------------------------------------------------------------------------


def markdown(results: Sequence[SizeResult], conc: Sequence[ConcurrencyResult]) -> str:
    lines = [
        "Latency per operation, median / p95 ms (moto server mode, loopback HTTP, boto3); samples per size: "
        + ", ".join(sorted({f"(a) {r.tx_ops}, (b)+(c) {r.ops}" for r in results})),
        "",
        "| N (items per table) | stream records (a) | (a) TransactWriteItems | (b) PutItem (request path) "
        "| (c) consumer: get_records + audit PutItem | (c) lag: write acked -> audit row | write sent -> audit row "
        "| moto_server RSS kept per (a), MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        growth = "-" if r.tx_rss_growth_mb_per_op is None else f"{r.tx_rss_growth_mb_per_op:.1f}"
        lines.append(
            f"| {r.n:,} | {r.stream_records_before:,} -> {r.stream_records_after:,} | {r.transaction.cell()} "
            f"| {r.request_put.cell()} | {r.consumer.cell()} | {r.lag_after_ack.cell()} | {r.write_to_audit.cell()} "
            f"| {growth} |"
        )
    if conc:
        lines += [
            "",
            "Concurrency check (retries off; every acknowledged write read back afterwards):",
            "",
            "| design | N | threads x ops | wall s | acked | failed (committed anyway) | HTTP 500 "
            "| lost dataset rows | lost audit rows "
            "| partial failed writes | rows counted / expected | op median / p95 ms | lag median / p95 ms "
            "| moto_server RSS MB before -> after |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in conc:
            lag = c.lag_after_ack.cell() if c.lag_after_ack else "-"
            op = c.op_latency.cell() if c.op_latency else "-"
            lines.append(
                f"| {c.design} | {c.n:,} | {c.threads} x {c.per_thread} | {c.wall_s:.1f} "
                f"| {c.acknowledged} | {c.failed} ({c.committed_despite_error}) "
                f"| {c.http_500} | {c.lost_dataset_rows} | {c.lost_audit_rows} | {c.partial_failed_writes} "
                f"| datasets {c.datasets_count}/{c.datasets_expected}, audit {c.audit_count}/{c.audit_expected} "
                f"| {op} | {lag} | {c.server_rss_mb_before} -> {c.server_rss_mb_after} |"
            )
        for c in conc:
            found = {**c.errors_by_kind, **c.server_exceptions}
            if found:
                lines.append("")
                lines.append(f"Errors, {c.design} (client side, and tracebacks in the moto_server log):")
                lines += [f"- {v} x {k}" for k, v in sorted(found.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def environment() -> dict[str, Any]:
    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "?"

    return {
        "python": sys.version.split()[0],
        "moto": version("moto"),
        "boto3": version("boto3"),
        "botocore": version("botocore"),
        "cpus": os.cpu_count(),
        "loadavg_1_5_15_at_start": [round(x, 2) for x in os.getloadavg()],
        "platform": sys.platform,
        "dataset_item_bytes": item_bytes(dataset_item(str(uuidlib.uuid4()), time.time())),
        "audit_item_bytes": item_bytes(audit_item(dataset_item(str(uuidlib.uuid4()), time.time()))),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--sizes", default="100,1000,4000", help="table sizes N, comma-separated (default 100,1000,4000)")
    p.add_argument("--ops", type=int, default=200, help="timed (b)+(c) operations per size (default 200)")
    p.add_argument(
        "--tx-ops",
        type=int,
        help="timed (a) transactions per size (default: --ops, at most 40: each costs ~0.6-1 s at N=4000 on moto)",
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument("--concurrency-n", type=int, default=1000, help="table size for the concurrency check (0: skip)")
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--per-thread", type=int, default=50)
    p.add_argument("--moto-server", help="moto_server executable (default: beside this Python)")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s.strip()]
    if args.tx_ops is None:
        args.tx_ops = min(args.ops, 40)
    if not args.sizes or min(args.sizes) < 0 or args.ops < 1 or args.tx_ops < 1:
        p.error("--sizes must be non-negative integers, --ops and --tx-ops >= 1")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops moto_server


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # botocore 1.44 sends dynamodbstreams calls to an account-id endpoint unless this is set.
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    for var in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ[var] = os.devnull  # no profile, endpoint or region from ~/.aws
    os.environ.pop("AWS_ENDPOINT_URL", None)
    env = environment()
    log(f"environment: {env}")
    began = time.perf_counter()
    results: list[SizeResult] = []
    conc: list[ConcurrencyResult] = []
    executable = moto_server_path(args.moto_server)
    with tempfile.TemporaryDirectory(prefix="audit-cost-") as tmp:

        @contextlib.contextmanager
        def serve() -> Iterator[tuple[Server, Any, Any]]:
            with moto_server(executable, Path(tmp)) as server:
                log(f"moto_server pid {server.pid} on {server.url}")
                ddb, streams = clients(server.url)
                yield server, ddb, streams

        for n in args.sizes:
            result = measure_size(serve, n, args.ops, args.tx_ops)
            results.append(result)
            log(
                f"N={n}: (a) {result.transaction.cell()}  (b) {result.request_put.cell()}  "
                f"(c) {result.consumer.cell()}  lag {result.lag_after_ack.cell()}  errors {len(result.errors)}"
            )
        if args.concurrency_n:
            n = args.concurrency_n
            with serve() as (server, ddb, streams):
                tables, _ = prepared(ddb, streams, n, "transactions")
                log(f"N={n}: concurrency check, (a): {args.threads} threads x {args.per_thread} transactions")
                offset, rss = server.log_size(), server.rss_mb()
                conc.append(concurrency_transactions(ddb, tables, n, args.threads, args.per_thread))
                conc[-1].server_exceptions = server.exceptions_since(offset)
                conc[-1].server_rss_mb_before, conc[-1].server_rss_mb_after = rss, server.rss_mb()
            with serve() as (server, ddb, streams):
                tables, _ = prepared(ddb, streams, n, "stream")
                log(f"N={n}: concurrency check, (b)+(c): {args.threads} threads x {args.per_thread} puts + 1 consumer")
                offset, rss = server.log_size(), server.rss_mb()
                conc.append(concurrency_stream(ddb, streams, tables, n, args.threads, args.per_thread))
                conc[-1].server_exceptions = server.exceptions_since(offset)
                conc[-1].server_rss_mb_before, conc[-1].server_rss_mb_after = rss, server.rss_mb()
    total = time.perf_counter() - began
    # Other processes on the machine share the cores with client and server: say how busy it was.
    env["loadavg_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report = markdown(results, conc)
    print(report)
    print(
        f"\nTotal run time {total:.0f} s; timed operations per size: (a) {args.tx_ops}, (b)+(c) {args.ops} "
        f"(+{WARMUP_OPS} warm-up each); environment: {json.dumps(env)}"
    )
    if args.json:
        payload = {
            "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
            "environment": env,
            "total_s": round(total, 1),
            "sizes": [asdict(r) for r in results],
            "concurrency": [asdict(c) for c in conc],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
