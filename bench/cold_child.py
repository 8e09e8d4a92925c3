"""The child of ``bench/cold_start.py``: one fresh interpreter, one Lambda function.

Reads ``{"function", "handler", "event", "floor_key", "sys_path"}`` as JSON on stdin, imports ``app`` (timed),
calls ``getattr(app, handler)(event, context)`` twice as Lambda would, and prints one JSON
line: the times, the modules the first call imported, and the emulators' own latency. Only
``json``, ``sys`` and ``time`` are imported before ``app``: Lambda's runtime has loaded little
more when it imports the handler module.
"""

import json
import sys
import time

# flagged when the import or a first call loads them
HEAVY = (
    "rdflib",
    "rocrate",
    "xmlschema",
    "elementpath",
    "lxml",
    "jsonschema",
    "opensearchpy",
    "jose",
    "cryptography",
    "requests",
    "boto3",
    "botocore",
    "pynamodb",
    "yaml",
    "defusedxml",
    "bagit",
)


class LambdaContext:
    """What Lambda passes as ``context`` (the attributes Chalice and our handlers may read)."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = "00000000-0000-4000-8000-000000000001"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "cold-start"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def top_levels(names: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in names:
        top = name.split(".")[0]
        counts[top] = counts.get(top, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def run(spec: dict) -> dict:
    """Import ``app``, call the handler with the event twice; times and modules."""
    t0 = time.perf_counter()
    import app

    import_ms = (time.perf_counter() - t0) * 1000
    at_import = set(sys.modules)
    handler = getattr(app, spec["handler"])
    context = LambdaContext(spec["function"])
    answers: list = []
    times: list[float] = []
    after_first: set[str] = set()
    for event in (spec["event"], spec["event"]):
        t = time.perf_counter()
        try:
            answer = handler(event, context)
            answers.append(answer.get("statusCode") if isinstance(answer, dict) else "ok")
        except Exception as exc:  # reported, not hidden: the figure would be a failure's
            answers.append(f"{type(exc).__name__}: {str(exc)[:200]}")
        times.append((time.perf_counter() - t) * 1000)
        if not after_first:
            after_first = set(sys.modules)
    new = after_first - at_import
    new_by_package = top_levels(new)
    return {
        "import_ms": import_ms,
        "first_ms": times[0],
        "second_ms": times[1],
        "answers": answers,
        "modules_at_import": len(at_import),
        "heavy_at_import": sorted(set(top_levels(at_import)) & set(HEAVY)),
        "new_modules": len(new),
        "new_by_package": new_by_package,
        "heavy_loaded_by_first_call": sorted(set(new_by_package) & set(HEAVY)),
        "emulator_floor_ms": emulator_floor(spec["floor_key"]),
    }


def emulator_floor(key: dict, rounds: int = 15) -> dict:
    """The emulators' own latency from this process (clients made beforehand): one GetItem of
    the seed dataset on moto, one one-hit search on osmem (medians). Not ours."""
    import statistics

    from chalicelib.adapters.aws import make_client
    from chalicelib.adapters.opensearch import make_client as search_client
    from chalicelib.config import Settings

    settings = Settings.from_env()
    ddb = make_client("dynamodb", region=settings.region, endpoint_url=settings.aws_endpoint_url)
    search = search_client(settings.opensearch_url)
    calls = {
        "moto_getitem_ms": lambda: ddb.get_item(TableName=settings.datasets_table, Key=key),
        "osmem_search_ms": lambda: search.search(index=settings.search_index, body={"size": 1}),
    }
    out = {}
    for name, call in calls.items():
        call()
        samples = []
        for _ in range(rounds):
            t = time.perf_counter()
            call()
            samples.append((time.perf_counter() - t) * 1000)
        out[name] = round(statistics.median(samples), 2)
    return out


if __name__ == "__main__":
    given = json.loads(sys.stdin.read())
    sys.path.pop(0)  # this script's folder (bench/): Lambda's path has no such entry
    # the unzipped deployment package first, as Lambda's /var/task (run with -I -S: nothing else)
    sys.path[:0] = given.get("sys_path", [])
    print(json.dumps(run(given)))
