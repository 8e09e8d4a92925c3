"""dservercore 0.22 as the benchmark's second peer (bench/, issue 24): the nx-27017 shims'
rewriting, the workload's mapping onto dserver's routes (and so onto ours), the table's
dserver columns, ``--peers``. Nothing here starts dserver: it is not installed in this
virtualenv (its own is built by ``bench/dserver_peer.py`` for ``make bench``)."""

from __future__ import annotations

import json
import sys
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
OPENAPI = REPO / "chalicelib" / "openapi" / "openapi.json"


@pytest.fixture(scope="module")
def bench() -> Iterator[types.SimpleNamespace]:
    saved = list(sys.path)  # the bench modules put bench/ and the repository first on the path
    sys.path.insert(0, str(BENCH))
    try:
        import dserver_app
        import dserver_workload
        import report
        import run
        import workload

        yield types.SimpleNamespace(app=dserver_app, dw=dserver_workload, report=report, run=run, workload=workload)
    finally:
        sys.path[:] = saved


# -- the shims --------------------------------------------------------------------------


def test_only_the_wildcard_text_index_is_rewritten_to_name_and_readme(bench: Any) -> None:
    keys = bench.app.text_index_keys
    assert keys([("$**", "text")]) == [("name", "text"), ("readme", "text")]
    assert keys([("uuid", 1)]) is None
    assert keys([("$**", "text"), ("uri", 1)]) is None
    assert keys([("name", "text")]) is None


def test_uuids_reach_mongo_as_strings_and_the_caller_keeps_its_dict(bench: Any) -> None:
    u, v = uuid.uuid4(), uuid.uuid4()
    doc = {"uuid": u, "uri": f"s3://b/{u}", "uuids": [u, str(v)], "tags": ["a"]}
    out = bench.app.uuids_as_strings(doc)
    assert out == {"uuid": str(u), "uri": f"s3://b/{u}", "uuids": [str(u), str(v)], "tags": ["a"]}
    assert doc["uuid"] is u and doc["uuids"][0] is u  # the plugins' own dict is not changed
    assert bench.app.uuids_as_strings({"free_text": "soil"}) == {"free_text": "soil"}


def test_the_shims_patch_pymongo_and_both_plugins_once(bench: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    class OperationFailure(Exception):
        pass

    created: list[Any] = []

    class Collection:
        def create_index(self, keys: Any, **kwargs: Any) -> str:
            if created and keys == created[0]:
                raise OperationFailure("constraint failed")  # nx-27017 on a populated FTS5 table
            if keys == [("uri", 1)] and created:
                raise OperationFailure("something else")
            created.append(keys)
            return "made"

    seen: list[Any] = []

    def register(collection: Any, info: dict[str, Any]) -> Any:
        seen.append(info)
        return info["uuid"]

    def to_query(query: dict[str, Any]) -> dict[str, Any]:
        seen.append(query)
        return {"uuid": query["uuids"][0]}

    pymongo = types.ModuleType("pymongo")
    pymongo.TEXT = "text"  # type: ignore[attr-defined]
    collection_mod = types.ModuleType("pymongo.collection")
    collection_mod.Collection = Collection  # type: ignore[attr-defined]
    errors = types.ModuleType("pymongo.errors")
    errors.OperationFailure = OperationFailure  # type: ignore[attr-defined]
    search = types.ModuleType("dserver_search_plugin_mongo.utils_search")
    search._register_dataset_descriptive_metadata = register  # type: ignore[attr-defined]
    search._dict_to_mongo_query = to_query  # type: ignore[attr-defined]
    retrieve = types.ModuleType("dserver_retrieve_plugin_mongo.utils_retrieve")
    retrieve._register_dataset_descriptive_metadata = register  # type: ignore[attr-defined]
    search_pkg = types.ModuleType("dserver_search_plugin_mongo")
    search_pkg.utils_search = search  # type: ignore[attr-defined]
    retrieve_pkg = types.ModuleType("dserver_retrieve_plugin_mongo")
    retrieve_pkg.utils_retrieve = retrieve  # type: ignore[attr-defined]
    for name, module in {
        "pymongo": pymongo,
        "pymongo.collection": collection_mod,
        "pymongo.errors": errors,
        "dserver_search_plugin_mongo": search_pkg,
        "dserver_search_plugin_mongo.utils_search": search,
        "dserver_retrieve_plugin_mongo": retrieve_pkg,
        "dserver_retrieve_plugin_mongo.utils_retrieve": retrieve,
    }.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(bench.app, "_SHIMMED", [])

    bench.app.apply_shims()
    bench.app.apply_shims()  # a second call wraps nothing twice

    coll = Collection()
    assert coll.create_index([("$**", "text")]) == "made"
    assert created == [[("name", "text"), ("readme", "text")]]
    # re-created (second init_app, next worker): nx-27017's refusal is the index that exists
    assert coll.create_index([("$**", "text")]) == "name_text_readme_text"
    assert coll.create_index([("uuid", 1)]) == "made"  # other indexes untouched
    with pytest.raises(OperationFailure):
        coll.create_index([("uri", 1)])  # and their errors too

    u = uuid.uuid4()
    assert search._register_dataset_descriptive_metadata(coll, {"uuid": u}) == str(u)
    assert retrieve._register_dataset_descriptive_metadata(coll, {"uuid": u}) == str(u)
    assert search._dict_to_mongo_query({"uuids": [u]}) == {"uuid": str(u)}
    assert seen == [{"uuid": str(u)}, {"uuid": str(u)}, {"uuids": [str(u)]}]


# -- the workload through dserver's routes --------------------------------------------------


class _Response:
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self._body = body
        self.headers = headers or {}
        self.text = json.dumps(body)

    def json(self) -> Any:
        return self._body


class _Session:
    """Records each request and answers what dserver would for the one dataset ``ds``."""

    def __init__(self, ds: dict[str, Any]) -> None:
        self.ds = ds
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    def _answer(self, method: str, path: str, kw: dict[str, Any]) -> _Response:
        ds, paging = self.ds, {"X-Pagination": json.dumps({"total": 1, "total_pages": 1})}
        row = {"uuid": ds["uuid"], "uri": ds["uri"]}
        if method == "PUT":
            return _Response(201, None)
        if method == "POST":
            return _Response(200, [row], paging)
        part = path.split("/")[1]
        return _Response(
            200,
            {
                "uuids": [row],
                "uris": [row] * 10 if path == "/uris" else row,
                "readmes": {"readme": ds["readme"]},
                "manifests": ds["manifest"],
                "annotations": {"annotations": ds["annotations"]},
                "tags": {"tags": list(reversed(ds["tags"]))},
                "me": {"number_of_datasets": 1},
            }[part],
            paging,
        )

    def request(self, method: str, url: str, **kw: Any) -> _Response:
        path = urlsplit(url).path
        self.requests.append((method, path, kw))
        return self._answer(method, path, kw)

    def get(self, url: str, **kw: Any) -> _Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> _Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> _Response:
        return self.request("PUT", url, **kw)


def _our_route(method: str, path: str) -> str | None:
    """The path template of our API description that serves ``method path`` (one segment each)."""
    paths = json.loads(OPENAPI.read_text())["paths"]
    segments = path.strip("/").split("/")
    for template, operations in paths.items():
        parts = template.strip("/").split("/")
        if (
            method.lower() in operations
            and len(parts) == len(segments)
            and all(p.startswith("{") or p == s for p, s in zip(parts, segments, strict=True))
        ):
            return str(template)
    return None


def test_every_operation_sends_dservers_request_which_our_dserver_routes_serve(bench: Any) -> None:
    ds = bench.workload.datasets(1)[0]
    client = bench.dw.Dserver("http://127.0.0.1:1", "token")
    session = _Session(ds)
    client.session = session
    arg = {"list_page": 2, "search_tag": ds["tags"][0], "search_text": "soil"}
    sent: dict[str, tuple[str, str]] = {}
    for op in bench.dw.OPERATIONS:
        fn = getattr(client, op)
        fn() if op == "summary" else fn(arg.get(op, ds))
        method, path, _ = session.requests[-1]
        sent[op] = (method, path)
        assert bench.dw.OPERATIONS[op].startswith(f"{method} /{path.split('/')[1]}"), op
    quoted = "s3%3A%2F%2Fbench-data%2F" + ds["uuid"]
    assert sent["lookup"] == ("GET", f"/uuids/{ds['uuid']}")
    assert sent["lookup_uri"] == ("GET", f"/uris/{quoted}")
    assert sent["readme"] == ("GET", f"/readmes/{quoted}")
    assert sent["register"] == ("PUT", f"/uris/{quoted}")
    assert unquote_plus(quoted) == ds["uri"]
    bodies = {op: kw.get("json") for op, (_, _, kw) in zip(bench.dw.OPERATIONS, session.requests, strict=True)}
    assert bodies["search_uuid"] == {"uuids": [ds["uuid"]]}
    assert bodies["search_text"] == {"free_text": "soil"}
    assert isinstance(bodies["register"]["frozen_at"], str)  # dserver: 422 on a JSON number
    # the very same requests are what ours is timed with (OursDserver), on routes we serve
    for op, (method, path) in sent.items():
        assert _our_route(method, path), f"{op}: {method} {path} is not one of our routes"
    assert set(bench.workload.OPERATIONS) | set(bench.dw.EXTRA_OPERATIONS) == set(bench.dw.OPERATIONS)
    assert issubclass(bench.dw.OursDserver, bench.dw.Dserver)


def test_a_wrong_answer_fails_the_run_instead_of_winning_it(bench: Any) -> None:
    ds = bench.workload.datasets(1)[0]
    client = bench.dw.Dserver("http://127.0.0.1:1", "token")
    client.session = _Session({**ds, "tags": ["other"]})
    with pytest.raises(bench.workload.BenchError):
        client.tags(ds)
    client.session = _Session(ds)
    with pytest.raises(bench.workload.BenchError):
        client.manifest({**ds, "manifest": {"items": {}}})
    assert bench.dw.total_of(_Response(200, [], {})) == 0


# -- the run's options and the table ----------------------------------------------------------


def test_peers_option_picks_the_peers(bench: Any) -> None:
    parse = bench.run.parse_args
    assert parse(["--quick"]).peers == ("lookup-server", "dserver")
    assert parse(["--quick", "--peers", "dserver"]).peers == ("dserver",)
    assert parse(["--peers", "lookup-server"]).peers == ("lookup-server",)
    assert parse(["--skip-peer"]).peers == ()
    assert parse(["--peers", "none"]).peers == ()


def test_the_table_has_dservers_columns_and_its_reads_by_uri(bench: Any) -> None:
    def timing(median: float, p95: float) -> dict[str, float]:
        return {"n": 50, "median_ms": median, "p95_ms": p95}

    result = {
        "date": "2026-12-07",
        "machine": {"cpu": "Test CPU", "cpus": 2, "memory_gib": 4.0, "os": "Linux", "python": "3.11.7"},
        "n": 200,
        "operations": {
            "summary": {
                "peer": timing(80.0, 90.0),
                "ours": timing(16.0, 20.0),
                "ratio": 0.2,
                "dserver": timing(33.5, 41.0),
                "ours_dserver": timing(17.0, 21.0),
                "dserver_ratio": 0.507,
            },
            "tags": {"dserver": timing(6.2, 15.9), "ours_dserver": timing(9.4, 30.2), "dserver_ratio": 1.516},
        },
        "throughput": {"lookup": {"1": {"peer": {"ops_per_s": 400.0}, "dserver": {"ops_per_s": 130.0}}}},
    }
    md = bench.report.markdown(result)
    assert "| ours/peer | dserver median / p95 ms | ours via dserver's routes median / p95 ms | ours/dserver |" in md
    assert "| summary | 80.0 / 90.0 | 16.0 / 20.0 | - | 0.20 | 33.5 / 41.0 | 17.0 / 21.0 | 0.51 |" in md
    assert "| tags | - | - | - | - | 6.2 / 15.9 | 9.4 / 30.2 | 1.52 |" in md
    assert "| lookup | 1 | 400.0 (-, -) | 130.0 (-, -) | - |" in md
    assert "ours via dserver's routes" in bench.report.text_table(result).splitlines()[0]
