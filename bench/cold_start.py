"""Cold start of every Lambda function: ``import app`` and the first invocation, in fresh processes.

Every packaged function (``infra/stacks/catalogue.py`` FUNCTIONS) is a handler in ``app.py``;
Lambda imports the module ``app`` once per container, whichever function the container runs,
so each function's cold start is the same import plus its own first invocation. For each
function and each run this starts a fresh interpreter with the environment the local stack
gives the app (the CDK stack's variables, pointing at the emulators), and measures there:

- ``import app`` (``time.perf_counter`` around it; the process's own startup is apart),
- the first invocation of the handler with a representative event, called as Lambda calls it
  (``handler(event, context)``): the API with API Gateway proxy events (``GET /datasets/{uuid}``
  and a search), the stream consumers with one real stream record read from moto, the queue
  consumers with one real message (a sidecar upload's S3 notification; an archive's first
  task), the schedules with a scheduled event,
- the same invocation again (warm), the modules the first invocation imported (``sys.modules``
  before and after, by top-level package, heavy libraries flagged: ``bench/cold_child.py``),
- the emulators' own latency (a raw GetItem on moto, a raw search on osmem), which is not ours.

The emulators are the local stack's (moto server, osmem-server, the token and DataCite
stand-ins), started privately on free 127.0.0.1 ports; its event runner is stopped once the
fixtures are in, so the queued messages wait for us and nothing else takes the cores.
``python -X importtime`` gives the import's breakdown (one more process).

    .venv/bin/python bench/cold_start.py --runs 5 --out bench/results
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
IMPORT_TARGET_MS = 300.0  # issue 24
# (logical id in the CDK stack, handler attribute of ``app``, event kind)
FUNCTIONS: tuple[tuple[str, str, str], ...] = (
    ("APIHandler", "app", "api-lookup"),
    ("APIHandler", "app", "api-search"),
    ("OnDatasetsStream", "on_datasets_stream", "datasets-stream"),
    ("OnAccessStream", "on_access_stream", "access-stream"),
    ("OnFacilityStream", "on_facility_stream", "facility-stream"),
    ("OnIngestMessage", "on_ingest_message", "ingest-message"),
    ("OnArchiveTask", "on_archive_task", "archive-task"),
    ("FixityAuditDaily", "fixity_audit_daily", "schedule"),
    ("ReconcileDaily", "reconcile_daily", "schedule"),
    ("DoiReconcileHourly", "doi_reconcile_hourly", "schedule"),
)
UPLOAD_BUCKET = "cold-start-uploads"
ADMIN, READER = "cold-admin", "cold-reader"


# -- the parent: a private local stack, the events, the runs ---------------------------------------
def _child_env(stack_env: dict[str, str], function: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CATALOGUE_"))}
    env.update(stack_env)
    env.update({"PYTHONPATH": str(REPO), "AWS_LAMBDA_FUNCTION_NAME": function})
    return env


def _python(package_dir: Path | None) -> list[str]:
    """The interpreter: with a package, isolated (``-I -S``: no site-packages, no PYTHONPATH;
    the child puts the unzipped package first on its path, as Lambda's ``/var/task``) and
    writing no .pyc (``-B``: ``/var/task`` is read-only)."""
    return [sys.executable, "-I", "-S", "-B"] if package_dir is not None else [sys.executable]


def _run_child(stack_env: dict[str, str], spec: dict[str, Any], package_dir: Path | None) -> dict[str, Any]:
    if package_dir is not None:
        spec = {**spec, "sys_path": [str(package_dir)]}
    t0 = time.perf_counter()
    done = subprocess.run(
        [*_python(package_dir), str(Path(__file__).resolve().parent / "cold_child.py")],
        input=json.dumps(spec),
        cwd=REPO,
        env=_child_env(stack_env, spec["function"]),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    wall = (time.perf_counter() - t0) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{spec['function']}: child failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_ms"] = wall
    return result


def api_event(method: str, resource: str, path: str, token: str, **params: str) -> dict[str, Any]:
    """An API Gateway (REST, proxy) event as Lambda hands it to Chalice."""
    path_params = {}
    for name, value in zip(resource.split("/"), path.split("/"), strict=True):
        if name.startswith("{"):
            path_params[name.strip("{}")] = value
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Host": "api.example.org"}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": params or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": "cold-start",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "cold-start"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def schedule_event(rule: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "cold-start",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-1",
        "resources": [f"arn:aws:events:eu-west-1:123456789012:rule/{rule}"],
        "detail": {},
    }


class Fixtures:
    """The local stack's data and the events built from it."""

    def __init__(self, stack: Any) -> None:
        import requests

        self.stack = stack
        self.session = requests.Session()
        self.session.trust_env = False
        self.seq = 0

    def call(self, method: str, path: str, user: str, ok: tuple[int, ...], **kw: Any) -> Any:
        resp = self.session.request(
            method,
            f"{self.stack.api_url}{path}",
            headers={"Authorization": f"Bearer {self.stack.token(user)}"},
            timeout=60,
            **kw,
        )
        if resp.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:400]}")
        return resp.json() if resp.content else None

    def setup(self) -> None:
        """Users, the watched upload bucket, one dataset searchable, the XFEL test records; then
        the runner stops (the queues keep their messages for the children)."""
        from chalicelib.composition import Root, install, root
        from chalicelib.domain import User
        from infra.local import xfel
        from infra.local.stack import patched_environ

        stack = self.stack
        stack.add_user(ADMIN, admin=True)
        stack.add_user(READER)
        stack.watch_bucket(UPLOAD_BUCKET)
        base = f"s3://{UPLOAD_BUCKET}"
        self.call("POST", "/users", ADMIN, (201, 409), json={"username": READER})
        self.call("POST", "/base-uris", ADMIN, (201, 409), json={"base_uri": base})
        perms = {"users_with_search_permissions": [READER, ADMIN], "users_with_register_permissions": [ADMIN]}
        self.call("PUT", f"/base-uris/{urllib.parse.quote(base, safe='')}/permissions", ADMIN, (200,), json=perms)
        self.uuid = self.upload("seed")
        deadline = time.monotonic() + 120
        while self.call("GET", "/datasets", READER, (200,), params={"uuid": self.uuid})["total"] != 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the seed dataset never became searchable")
            time.sleep(0.2)
        with patched_environ(stack.env):
            install(Root(stack.settings()))
            try:
                xfel.load(root(), User(ADMIN, is_admin=True), xfel.test_fixtures()[:20], None)
            finally:
                install(None)
        time.sleep(1.0)  # the runner's last stream batches
        stack.kill_runner()
        self._drain(self._queue(stack.settings().ingest_queue)[0])

    def upload(self, name: str) -> str:
        """A sidecar-described folder in the watched bucket; its dataset's uuid."""
        from chalicelib.ingest.layouts import sidecar_uuid

        self.seq += 1
        folder = f"cold/{name}-{self.seq:03d}-{int(time.time())}"
        s3 = self.stack.client("s3")
        s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"{folder}/data.csv", Body=b"depth,moisture\n10,0.3\n")
        sidecar = {"name": f"cold-{name}-{self.seq}", "creator": "bench", "tags": ["cold-start"]}
        s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"{folder}/dataset.json", Body=json.dumps(sidecar).encode())
        self.folder = folder
        return sidecar_uuid(f"s3://{UPLOAD_BUCKET}/{folder}")

    def _queue(self, name: str) -> tuple[str, str]:
        sqs = self.stack.client("sqs")
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def _drain(self, url: str) -> None:
        sqs = self.stack.client("sqs")
        while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
            for m in msgs:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def _message(self, queue: str, wanted: Any, timeout: float = 60.0) -> dict[str, Any]:
        """The first message of ``queue`` whose body ``wanted`` accepts, as Lambda delivers it
        (the others are deleted: they are this bench's own leftovers)."""
        from infra.local.sqs import to_lambda_record

        url, arn = self._queue(queue)
        sqs = self.stack.client("sqs")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
            ).get("Messages", [])
            for m in msgs:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                if wanted(m["Body"]):
                    return {"Records": [to_lambda_record(m, queue_arn=arn, region="eu-west-1")]}
        raise RuntimeError(f"no wanted message on {queue} within {timeout:.0f} s")

    def stream_record(self, arn: str) -> dict[str, Any]:
        """The latest record with a new image on the stream ``arn``, as Lambda delivers it."""
        from infra.local.pump import to_lambda_record

        streams = self.stack.client("dynamodbstreams")
        best = None
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")[
                "ShardIterator"
            ]
            while it:
                resp = streams.get_records(ShardIterator=it, Limit=1000)
                for record in resp.get("Records", []):
                    if "NewImage" in record.get("dynamodb", {}):
                        best = record
                if not resp.get("Records"):
                    break
                it = resp.get("NextShardIterator")
        if best is None:
            raise RuntimeError(f"no stream record with a new image on {arn}")
        return {"Records": [to_lambda_record(best, stream_arn=arn, region="eu-west-1")]}

    def ingest_event(self) -> tuple[dict[str, Any], str]:
        """A new sidecar folder's S3 notification (its ``dataset.json``) and the dataset's uuid."""
        uuid = self.upload("ingest")
        key = f"{self.folder}/dataset.json"
        # S3 notifications carry the key URL-encoded ("cold%2F...%2Fdataset.json")
        event = self._message(self.stack.settings().ingest_queue, lambda body: key in urllib.parse.unquote_plus(body))
        return event, uuid

    def archive_event(self, uuid: str) -> dict[str, Any]:
        """The first task (``validate``) of a new archive of ``uuid``."""
        archive_id = self.call("POST", f"/datasets/{uuid}/archive", ADMIN, (202,), json={})["id"]

        def wanted(body: str) -> bool:
            message = json.loads(body)
            return bool(message.get("archive_id") == archive_id and message.get("step") == "validate")

        return self._message(self.stack.settings().archive_task_queue, wanted)


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def import_breakdown(stack_env: dict[str, str], package_dir: Path | None) -> dict[str, Any]:
    """``python -X importtime -c "import app"``: cumulative ms of app's direct imports and the
    self time of every module summed by top-level package (chalicelib by its subpackage)."""
    done = subprocess.run(
        [
            *_python(package_dir),
            "-X",
            "importtime",
            "-c",
            f"import sys; sys.path[:0] = [{str(package_dir)!r}]; import app",
        ]
        if package_dir is not None
        else [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=REPO,
        env=_child_env(stack_env, "importtime"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    direct: dict[str, float] = {}
    by_package: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, self_us, cumulative, name = (part for part in line.replace("import time:", "|", 1).split("|"))
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        module = name.strip()
        parts = module.split(".")
        key = ".".join(parts[:2]) if parts[0] == "chalicelib" and len(parts) > 1 else parts[0]
        by_package[key] = by_package.get(key, 0.0) + int(self_us) / 1000
        if depth == 1:
            direct[module] = max(direct.get(module, 0.0), int(cumulative) / 1000)
    return {
        "app_direct_imports_cumulative_ms": {
            k: round(v, 1) for k, v in sorted(direct.items(), key=lambda kv: -kv[1])[:12]
        },
        "self_ms_by_package": {k: round(v, 1) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:15]},
        "note": "-X importtime slows the import itself; shares, not absolute figures",
    }


def variants(package_dir: Path | None) -> list[tuple[str, Path | None, bool]]:
    """(name, package dir, compile it first?) of each way to measure. Without a package: this
    virtualenv, .pyc files cached. With one: as shipped (no .pyc in the zip, and Lambda's
    ``/var/task`` is read-only, so every cold start compiles every module it imports: ``-B``),
    then with the package's modules compiled beforehand (what shipping .pyc files would give)."""
    if package_dir is None:
        return [("virtualenv", None, False)]
    return [("package as shipped", package_dir, False), ("package with .pyc", package_dir, True)]


def measure(runs: int = 5, package: Path | None = None) -> dict[str, Any]:
    """``runs`` fresh processes per function against a private local stack; with ``package``
    (the deployment zip), the code and libraries are the package's, not this virtualenv's."""
    import tempfile
    import zipfile

    from infra.local.processes import free_port
    from infra.local.stack import LocalStack

    ports: set[int] = set()
    while len(ports) < 5:  # bounded in practice: the OS hands out distinct ephemeral ports
        ports.add(free_port())
    api, moto, osm, token, web = sorted(ports)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cold-start-") as work:
        stack = LocalStack(
            api_port=api, moto_port=moto, opensearch_port=osm, token_port=token, web_port=web, work_dir=work
        )
        package_dir = None
        if package is not None:
            package_dir = Path(work) / "task"
            with zipfile.ZipFile(package) as z:
                z.extractall(package_dir)
        stack.start()
        try:
            fx = Fixtures(stack)
            fx.setup()
            env = dict(stack.env)
            token_value = stack.token(READER)
            floor_key = {"uuid": {"S": fx.uuid}, "base_uri": {"S": f"s3://{UPLOAD_BUCKET}"}}
            events: dict[str, Any] = {
                "api-lookup": api_event("GET", "/datasets/{uuid}", f"/datasets/{fx.uuid}", token_value),
                "api-search": api_event("GET", "/datasets", "/datasets", token_value, q="cold", page_size="10"),
                "datasets-stream": fx.stream_record(env["CATALOGUE_DATASETS_STREAM_ARN"]),
                "access-stream": fx.stream_record(env["CATALOGUE_ACCESS_STREAM_ARN"]),
                "facility-stream": fx.stream_record(env["CATALOGUE_FACILITY_STREAM_ARN"]),
            }
            for variant, pkg, compile_first in variants(package_dir):
                if compile_first:
                    assert pkg is not None
                    subprocess.run(
                        [*_python(pkg), "-m", "compileall", "-q", "-j", "0", str(pkg)],
                        check=False,  # a vendored test file that does not compile is no matter
                        capture_output=True,
                    )
                raw: dict[str, list[dict[str, Any]]] = {}
                for run in range(runs):
                    ingested = None
                    for function, handler, kind in FUNCTIONS:
                        if kind == "ingest-message":
                            event, ingested = fx.ingest_event()
                        elif kind == "archive-task":
                            assert ingested is not None
                            event = fx.archive_event(ingested)
                        elif kind == "schedule":
                            event = schedule_event(function)
                        else:
                            event = events[kind]
                        name = f"{function} ({kind})" if function == "APIHandler" else function
                        spec = {"function": function, "handler": handler, "event": event, "floor_key": floor_key}
                        result = _run_child(env, spec, pkg)
                        raw.setdefault(name, []).append(result)
                        print(
                            f"{variant}, run {run + 1}/{runs}, {name}: import {result['import_ms']:.0f} ms, "
                            f"first call {result['first_ms']:.0f} ms, {result['answers']}",
                            file=sys.stderr,
                            flush=True,
                        )
                out[variant] = summarize(raw, import_breakdown(env, pkg))
        finally:
            stack.stop()
    first = next(iter(out.values()))
    return {
        "date": dt.date.today().isoformat(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "runs": runs,
        "how": "a fresh interpreter per function and run, environment of the local stack (the CDK stack's "
        "CATALOGUE_* variables pointing at moto server / osmem-server / the stand-ins), import app then "
        "handler(event, context) as Lambda calls it, twice; the emulators are local processes",
        "code_from": f"the deployment package {package.name}, unzipped, python -I -S" if package else "this virtualenv",
        "import_target_ms": IMPORT_TARGET_MS,
        "import_target_met": first["import_ms_all"]["max"] <= IMPORT_TARGET_MS,
        "variants": out,
    }


def summarize(raw: dict[str, list[dict[str, Any]]], breakdown: dict[str, Any]) -> dict[str, Any]:
    functions: dict[str, Any] = {}
    all_imports: list[float] = []
    for name, results in raw.items():
        imports = [r["import_ms"] for r in results]
        all_imports += imports
        last = results[-1]
        functions[name] = {
            "import_ms": _summary(imports),
            "first_call_ms": _summary([r["first_ms"] for r in results]),
            "warm_call_ms": _summary([r["second_ms"] for r in results]),
            "process_wall_ms": _summary([r["process_wall_ms"] for r in results]),
            "answers": sorted({str(a) for r in results for a in r["answers"]}),
            "modules_at_import": last["modules_at_import"],
            "new_modules_first_call": last["new_modules"],
            "new_by_package": dict(list(last["new_by_package"].items())[:10]),
            "heavy_loaded_by_first_call": sorted({m for r in results for m in r["heavy_loaded_by_first_call"]}),
            "emulator_floor_ms": {
                k: round(statistics.median(r["emulator_floor_ms"][k] for r in results), 2)
                for k in last["emulator_floor_ms"]
            },
        }
    first = next(iter(raw.values()))[-1]
    return {
        "import_ms_all": _summary(all_imports),
        "heavy_at_import": first["heavy_at_import"],
        "modules_at_import": first["modules_at_import"],
        "functions": functions,
        "import_breakdown": breakdown,
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Cold start, {result['date']} (CPython {result['python']}, {result['cpus']} CPUs, {result['runs']} runs)",
        "",
        f"{result['how']}; code from {result['code_from']}. Target: `import app` ≤ "
        f"{result['import_target_ms']:.0f} ms ({'met' if result['import_target_met'] else 'MISSED'}, first variant).",
    ]
    for variant, v in result["variants"].items():
        lines += [
            "",
            f"## {variant}",
            "",
            f"`import app` (every function imports it once per container): median {v['import_ms_all']['median']} ms, "
            f"max {v['import_ms_all']['max']} ms; {v['modules_at_import']} modules; heavy libraries loaded by it: "
            f"{', '.join(v['heavy_at_import']) or 'none'}.",
            "",
            "| function | import median / max ms | first call median / max ms | warm call median ms | answers |"
            " modules the first call imports (top packages) | heavy ones | emulator floor ms (moto GetItem / osmem) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, f in v["functions"].items():
            top = ", ".join(f"{k} {n}" for k, n in list(f["new_by_package"].items())[:6])
            floor = f["emulator_floor_ms"]
            lines.append(
                f"| {name} | {f['import_ms']['median']} / {f['import_ms']['max']} | {f['first_call_ms']['median']} / "
                f"{f['first_call_ms']['max']} | {f['warm_call_ms']['median']} | {', '.join(f['answers'])} | "
                f"{f['new_modules_first_call']}: {top} | {', '.join(f['heavy_loaded_by_first_call']) or '-'} | "
                f"{floor.get('moto_getitem_ms')} / {floor.get('osmem_search_ms')} |"
            )
        b = v["import_breakdown"]
        lines += [
            "",
            "`python -X importtime -c 'import app'` (" + b["note"] + "):",
            "",
            "- app's direct imports, cumulative ms: "
            + ", ".join(f"{k} {n}" for k, n in b["app_direct_imports_cumulative_ms"].items()),
            "- self time by package, ms: " + ", ".join(f"{k} {n}" for k, n in b["self_ms_by_package"].items()),
        ]
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], out: Path, name: str | None = None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    base = out / (name or f"{result['date']}-cold-start")
    base.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    base.with_suffix(".md").write_text(markdown(result))
    return base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument(
        "--package",
        type=Path,
        help="a deployment zip to import from (as Lambda does); 'build' builds it (bench/package_size.py)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.package is not None and str(args.package) == "build":
        import tempfile

        from package_size import build_package

        with tempfile.TemporaryDirectory(prefix="cold-start-pkg-") as tmp:
            result = measure(args.runs, build_package(Path(tmp)))
    else:
        result = measure(args.runs, args.package)
    base = write(result, args.out)
    print(markdown(result))
    print(f"results: {base}.{{json,md}}", file=sys.stderr)
    return 0 if result["import_target_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
