"""What one registration, lookup, search and upload costs in AWS requests: counted, not guessed.

Runs the operations in this process against moto's ``mock_aws`` and the in-memory search index
(the functional tests' set-up: the real handlers, the real stream consumers pumped after each
request) and records every botocore API call, every search-index call and the handler time
of each Lambda function involved. DynamoDB request units are computed from the items sent and
returned (1 KB per write unit, 4 KB per read unit, half for an eventually consistent read,
twice for a transaction), as DynamoDB bills them; an UpdateItem or DeleteItem whose item size
is not in the request or the answer counts as one write unit (a floor: the real charge is the
size of the larger of the old and new item).

Handler times are in-process wall times over moto, so they include moto's own CPU per call
(~2-3 ms a GetItem, bench figures); in AWS each call is a network round trip of a similar
order. They bill Lambda GB-seconds in the model as measured.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BASE_URI = "s3://bench-data"
INGEST_BUCKET = "cost-ingest"


# -- DynamoDB item sizes and request units --------------------------------------------------
def value_size(value: dict[str, Any]) -> int:
    """Bytes of one typed DynamoDB attribute value, by DynamoDB's item-size rules (approximately
    for numbers: 1 byte per two significant digits, plus one)."""
    (kind, v), *_ = value.items()
    if kind == "S":
        return len(str(v).encode())
    if kind == "N":
        return len(str(v).strip("-").replace(".", "").lstrip("0")) // 2 + 2
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(x) for k, x in v.items())
    if kind == "L":
        return 3 + sum(1 + value_size(x) for x in v)
    if kind == "SS":
        return sum(len(s.encode()) for s in v)
    if kind == "NS":
        return sum(len(s) // 2 + 2 for s in v)
    if kind == "BS":
        return sum(len(b) for b in v)
    return 0


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return units if consistent else units / 2


def dynamodb_units(op: str, params: dict[str, Any], answer: dict[str, Any]) -> tuple[float, float]:
    """(write units, read units) one DynamoDB call is billed."""
    consistent = bool(params.get("ConsistentRead"))
    if op == "PutItem":
        return write_units(item_size(params.get("Item"))), 0.0
    if op in ("UpdateItem", "DeleteItem"):
        return write_units(item_size(answer.get("Attributes"))), 0.0
    if op == "BatchWriteItem":
        wru = 0
        for requests in params.get("RequestItems", {}).values():
            for req in requests:
                wru += write_units(item_size(req.get("PutRequest", {}).get("Item")))
        return float(wru), 0.0
    if op == "TransactWriteItems":
        wru = 0
        for entry in params.get("TransactItems", []):
            wru += 2 * write_units(item_size(entry.get("Put", {}).get("Item")))
        return float(wru), 0.0
    if op == "GetItem":
        return 0.0, read_units(item_size(answer.get("Item")), consistent)
    if op == "BatchGetItem":
        rru = 0.0
        for table, items in answer.get("Responses", {}).items():
            strong = bool(params.get("RequestItems", {}).get(table, {}).get("ConsistentRead"))
            rru += sum(read_units(item_size(i), strong) for i in items)
        return 0.0, rru
    if op in ("Query", "Scan"):
        return 0.0, read_units(sum(item_size(i) for i in answer.get("Items", [])), consistent)
    if op == "TransactGetItems":
        return 0.0, sum(2 * read_units(item_size(r.get("Item")), True) for r in answer.get("Responses", []))
    return 0.0, 0.0


# -- the recorder ---------------------------------------------------------------------------
@dataclass
class Tally:
    """What a run of one operation asked of AWS and of the search index."""

    calls: Counter[str] = field(default_factory=Counter)  # "service.Operation" -> n
    wru: float = 0.0
    rru: float = 0.0
    search: Counter[str] = field(default_factory=Counter)  # search-index method -> n
    handler_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sqs_messages: int = 0  # S3 notifications delivered to the ingest queue (sent by S3, not by us)
    stream_records: Counter[str] = field(default_factory=Counter)
    tables: Counter[str] = field(default_factory=Counter)  # "Operation table" -> n (DynamoDB)

    def per_op(self, n: int) -> dict[str, Any]:
        return {
            "aws_calls": {k: round(v / n, 2) for k, v in sorted(self.calls.items())},
            "dynamodb_wru": round(self.wru / n, 2),
            "dynamodb_rru": round(self.rru / n, 2),
            "search_index_calls": {k: round(v / n, 2) for k, v in sorted(self.search.items())},
            "lambda_ms": {k: round(sum(v) / n, 2) for k, v in sorted(self.handler_ms.items())},
            "lambda_invocations": {k: round(len(v) / n, 2) for k, v in sorted(self.handler_ms.items())},
            "handler_ms_median": {k: round(statistics.median(v), 2) for k, v in sorted(self.handler_ms.items())},
            "s3_notifications": round(self.sqs_messages / n, 2),
            "stream_records": {k: round(v / n, 2) for k, v in sorted(self.stream_records.items())},
            "dynamodb_by_table": {k: round(v / n, 2) for k, v in sorted(self.tables.items())},
        }


class Recorder:
    def __init__(self) -> None:
        self.tally: Tally | None = None

    @contextlib.contextmanager
    def counting(self) -> Iterator[Tally]:
        self.tally = Tally()
        try:
            yield self.tally
        finally:
            self.tally = None

    def timed(self, function: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return handler(*args, **kwargs)
            finally:
                if self.tally is not None:
                    self.tally.handler_ms[function].append((time.perf_counter() - start) * 1000)

        return run


@contextlib.contextmanager
def patched(recorder: Recorder, search_index: Any) -> Iterator[None]:
    """Count every botocore call (with its DynamoDB units) and every search-index call."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        answer = original(self, operation_name, api_params)
        tally = recorder.tally
        if tally is not None:
            service = self.meta.service_model.service_name
            tally.calls[f"{service}.{operation_name}"] += 1
            if service == "dynamodb":
                for table in api_params.get("RequestItems") or [api_params.get("TableName", "?")]:
                    key = api_params.get("Key", {}).get("pk", {}).get("S")  # the access table's record kind
                    tally.tables[f"{operation_name} {table}{'/' + key if key else ''}"] += 1
                w, r = dynamodb_units(operation_name, api_params, answer)
                tally.wru, tally.rru = tally.wru + w, tally.rru + r
        return answer

    wrapped: dict[str, Any] = {}
    for name in ("upsert", "search", "facets", "summary", "delete", "get"):
        method = getattr(search_index, name, None)
        if method is None:
            continue
        wrapped[name] = method

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            if recorder.tally is not None:
                recorder.tally.search[_name] += 1
            return _method(*args, **kwargs)

        setattr(search_index, name, counted)
    setattr(BaseClient, "_make_api_call", api_call)  # noqa: B010 - restored below
    try:
        yield
    finally:
        setattr(BaseClient, "_make_api_call", original)  # noqa: B010
        for name in wrapped:
            delattr(search_index, name)


# -- the operations -------------------------------------------------------------------------
def measure(n: int = 20) -> dict[str, Any]:
    """Counts per operation (means over ``n`` runs each) and the set-up they ran in."""
    from chalice.test import Client
    from moto import mock_aws

    # as tests/conftest.py: dummy credentials (nothing can reach AWS), the streams endpoint trap
    # (botocore routes describe_stream to an account-id endpoint moto does not serve), and the
    # stream ARNs app.py reads at import
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    for key, table in (("DATASETS", "d"), ("ACCESS", "a"), ("FACILITY", "f")):
        os.environ.setdefault(f"CATALOGUE_{key}_STREAM_ARN", f"arn:aws:dynamodb:eu-west-1:1:table/{table}/stream/x")
    import app as app_module
    from bench.workload import datasets
    from chalicelib import bootstrap, jobs
    from chalicelib.bootstrap import create_resources, ensure_admin
    from chalicelib.composition import Root, install, root
    from chalicelib.config import Settings
    from chalicelib.identity.tokens import TokenVerifier
    from infra.local.pump import StreamPump
    from tests.fakes.search import InMemorySearchIndex
    from tests.support.tokens import TokenMint, jwks_fetcher

    mint = TokenMint()
    # the change feed on, as the stack deploys it (a registration publishes to the bus)
    settings = Settings(
        stage="test", region="eu-west-1", issuers=(mint.issuer_config(),), event_bus_name="catalogue-events-test"
    )
    recorder = Recorder()
    results: dict[str, Any] = {}
    with mock_aws():
        install(None)
        search = InMemorySearchIndex()
        services = Root(
            settings,
            search=search,
            verifier=TokenVerifier(settings.issuers, stage=settings.stage, fetch_jwks=jwks_fetcher(mint)),
        )
        install(services)
        try:
            arns = create_resources(services)
            ensure_admin(services, "admin")
            streams = root().aws_client("dynamodbstreams")

            def pump(arn_key: str, function: str, handler: Callable[..., Any]) -> StreamPump:
                def consume(event: Any, context: Any = None) -> Any:
                    if recorder.tally is not None:
                        recorder.tally.stream_records[function] += len(event.get("Records", []))
                    return handler(event, context)

                return StreamPump(streams, arns[arn_key], recorder.timed(function, consume), region="eu-west-1")

            pumps = [
                pump("CATALOGUE_DATASETS_STREAM_ARN", "OnDatasetsStream", app_module.on_datasets_stream),
                pump("CATALOGUE_ACCESS_STREAM_ARN", "OnAccessStream", app_module.on_access_stream),
                pump("CATALOGUE_FACILITY_STREAM_ARN", "OnFacilityStream", app_module.on_facility_stream),
            ]

            def drain() -> None:
                for _ in range(20):
                    if sum(p.pump_once() for p in pumps) == 0:
                        return

            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {mint.access_token('admin')}"}
            with Client(app_module.app, stage_name="local", project_dir=str(REPO)) as client:
                api_handler = recorder.timed("APIHandler", client.http.request)

                def call(method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
                    data = json.dumps(body).encode() if body is not None else b""
                    answer = api_handler(method, path, headers=headers, body=data)
                    drain()
                    if answer.status_code not in ok:
                        raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.body[:300]!r}")
                    return answer

                call("POST", "/base-uris", {"base_uri": BASE_URI}, ok=(201,))
                drain()
                dss = datasets(3 * n, seed=11)
                for ds in dss[n:]:  # datasets to look up and search, registered before counting
                    call("POST", "/datasets", ds, ok=(200, 201))
                with patched(recorder, search):
                    with recorder.counting() as tally:
                        for ds in dss[:n]:
                            call("POST", "/datasets", ds, ok=(200, 201))
                    results["registration"] = tally.per_op(n)
                    with recorder.counting() as tally:
                        for ds in dss[n : 2 * n]:
                            call("GET", f"/datasets/{ds['uuid']}")
                    results["lookup"] = tally.per_op(n)
                    words = ("soil", "lidar", "moisture", "diffraction", "woodland")
                    with recorder.counting() as tally:
                        for i in range(n):
                            call("GET", f"/datasets?q={words[i % len(words)]}&page_size=10")
                    results["search"] = tally.per_op(n)
                    results["upload_registration"] = _uploads(
                        n, recorder, bootstrap, jobs, root, drain, call, headers, api_handler
                    )
        finally:
            install(None)
    return results


def _uploads(
    n: int,
    recorder: Recorder,
    bootstrap: Any,
    jobs: Any,
    root: Callable[[], Any],
    drain: Callable[[], None],
    call: Callable[..., Any],
    headers: dict[str, str],
    api_handler: Callable[..., Any],
) -> dict[str, Any]:
    """The ingest path: files and a ``dataset.json`` sidecar put into a watched bucket, S3's
    notifications through the ingest queue to the ingest handler (as Lambda's SQS trigger would
    deliver them, one message per invocation: ``batch_size=1``)."""
    base_uri = f"s3://{INGEST_BUCKET}"
    bootstrap.watch_bucket(root(), INGEST_BUCKET)
    call("POST", "/base-uris", {"base_uri": base_uri}, ok=(201,))
    s3 = root().aws_client("s3")
    queue = root().ingest_queue
    handle = recorder.timed("OnIngestMessage", jobs.on_ingest_message)
    with recorder.counting() as tally:
        for i in range(n):
            # the uploader's own requests are not ours: counted apart, below
            with _paused(recorder):
                for name in ("data.csv", "notes.txt"):
                    s3.put_object(Bucket=INGEST_BUCKET, Key=f"runs/run-{i:04d}/{name}", Body=b"1,2\n" * (i + 1))
                sidecar = {"name": f"run-{i:04d}", "creator": "admin", "tags": ["cost"]}
                s3.put_object(Bucket=INGEST_BUCKET, Key=f"runs/run-{i:04d}/dataset.json", Body=json.dumps(sidecar))
            while batch := queue.receive(10, visibility_timeout=30):
                for message in batch:
                    tally.sqs_messages += 1
                    handle(root(), message.body, 1)
                    queue.delete(message.receipt_handle)  # Lambda's poller deletes it: billed
            drain()
    out = tally.per_op(n)
    out["uploader_s3_puts"] = 3
    return out


@contextlib.contextmanager
def _paused(recorder: Recorder) -> Iterator[None]:
    saved, recorder.tally = recorder.tally, None
    try:
        yield
    finally:
        recorder.tally = saved


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=2))
