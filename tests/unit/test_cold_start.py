"""Cold start, without a clock: what a fresh Lambda container imports.

Lambda imports ``app`` once per container for every function (API, stream and queue
consumers, schedules), so a library imported at module level anywhere under ``app`` is paid
by all of them at every cold start. The heavy libraries of exports, submissions and
harvests (rdflib, rocrate, xmlschema…) are imported inside the functions that use them; these
tests fail when one of them creeps back into ``import app`` or into the first request for a
dataset. The times are measured by ``bench/cold_start.py`` (``make bench``), not here.

Each check runs in a fresh interpreter: this test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# never needed by ``import app``: exports (rdflib, rocrate, lxml), submissions (xmlschema,
# elementpath, jsonschema), test and bench tools, gRPC
NOT_AT_IMPORT = (
    "rdflib",
    "rocrate",
    "xmlschema",
    "elementpath",
    "lxml",
    "jsonschema",
    "pyld",
    "moto",
    "schemathesis",
    "hypothesis",
    "pytest",
    "pyinstrument",
    "grpc",
    "cryptography",
)
# the export libraries: loaded by an export request only
EXPORT_LIBRARIES = ("rdflib", "rocrate", "xmlschema", "elementpath", "lxml", "pyld")

_IMPORT_APP = """
import json, sys
import app
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""

# import app first (as Lambda does), then the functional tier's in-process API over moto
# (tests/functional/conftest.py); the modules loaded after each request are printed
_FIRST_REQUESTS = """
import json, sys
import app

def loaded():
    return sorted({m.split(".")[0] for m in sys.modules})

from tests.functional.conftest import add_personas, running_api
from tests.support.data import registration
from tests.support.tokens import TokenMint
from chalicelib.config import Settings

mint = TokenMint()
settings = Settings(stage="test", region="eu-west-1", issuers=(mint.issuer_config(),), inline_cap_bytes=4096)
out = {}
with running_api(settings, mint) as api:
    add_personas(api)
    body = registration()
    assert api.post("/datasets", body, user="champion").status_code == 201
    api.sync()
    out["setup"] = loaded()
    r = api.get(f"/datasets/{body['uuid']}", user="reader")
    assert r.status_code == 200, r.body
    r = api.get(f"/datasets?uuid={body['uuid']}", user="reader")
    assert r.status_code == 200 and r.json_body["total"] == 1, r.body
    out["dataset"] = loaded()
    r = api.get(f"/datasets/{body['uuid']}/export/dcat+turtle", user="reader")
    assert r.status_code == 200, r.body
    out["export"] = loaded()
print(json.dumps(out))
"""


def _fresh(code: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOGUE_") or k.endswith("_STREAM_ARN")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_app_leaves_the_heavy_libraries_alone() -> None:
    loaded = set(_fresh(_IMPORT_APP))
    assert "app" in loaded and "chalicelib" in loaded
    assert sorted(loaded & set(NOT_AT_IMPORT)) == []


def test_the_first_dataset_request_loads_no_export_library_and_an_export_does() -> None:
    seen = _fresh(_FIRST_REQUESTS)
    assert sorted(set(seen["setup"]) & set(EXPORT_LIBRARIES)) == []  # else the check below proves nothing
    assert sorted(set(seen["dataset"]) & set(EXPORT_LIBRARIES)) == []
    # the control: the same process does load them when asked for an export
    assert "rdflib" in seen["export"]


# -- the bench's events (bench/cold_start.py) are what Lambda hands the handlers ----------------
BENCH = ROOT / "bench"


def _bench_modules() -> Any:
    saved = list(sys.path)
    sys.path.insert(0, str(BENCH))
    try:
        import cold_child
        import cold_start

        return cold_start, cold_child
    finally:
        sys.path[:] = saved


def test_the_benchs_api_gateway_events_reach_the_route_they_name() -> None:
    from moto import mock_aws

    import app
    from chalicelib.composition import Root, install
    from chalicelib.config import Settings

    cold_start, cold_child = _bench_modules()
    context = cold_child.LambdaContext("APIHandler")
    with mock_aws():
        install(Root(Settings(stage="test", region="eu-west-1")))
        try:
            health = app.app(cold_start.api_event("GET", "/health", "/health", "no-token"), context)
            uuid = "00000000-0000-4000-8000-000000000000"
            event = cold_start.api_event("GET", "/datasets/{uuid}", f"/datasets/{uuid}", "not-a-jwt")
            lookup = app.app(event, context)
        finally:
            install(None)
    assert health["statusCode"] == 200 and json.loads(health["body"])["status"] == "ok"
    assert lookup["statusCode"] == 401 and set(json.loads(lookup["body"])) == {"Code", "Message"}


def test_the_benchs_report_names_every_function_of_the_stack() -> None:
    from infra.stacks.catalogue import FUNCTIONS

    cold_start, _ = _bench_modules()
    assert {logical_id for logical_id, _, _ in cold_start.FUNCTIONS} == set(FUNCTIONS)
    import app

    for _, handler, _ in cold_start.FUNCTIONS:
        assert callable(getattr(app, handler))
