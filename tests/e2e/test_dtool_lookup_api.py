"""The real dserver client, dtool-lookup-api 0.10.3, unchanged, against the real local stack.

Every call the client has is made through its synchronous API in a subprocess with its own
``HOME`` (tests/e2e/dtool_client.py), and is expected to return what it returns against
dservercore 0.22 for the same data (``../shared/research/dserver.md`` §3-4): dataset rows,
the readme string, the manifest, annotations, tags, summaries, users and base URIs, with the
``pagination`` and ``sorting`` dicts filled from ``X-Pagination`` / ``X-Sort``.

Where we answer differently from dserver on purpose, the test says so and asserts ours:
a dataset the caller may not see is 404 (dserver: 403), which the client hands back as the
error dict (or fails on with ``KeyError`` where it unwraps a key); a base URI with a trailing
slash and unknown users in a base URI's permissions are refused (400); deleting what is not
there is 404 (dserver: 200); admin-only calls are 403 to everyone else, as in dserver.

Four subprocesses in all: the reads of three personas, the writes, and two token-endpoint
scenarios.
"""

from __future__ import annotations

import hashlib
import math
import uuid as uuidlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from infra.local.stack import LocalStack
from tests.e2e.dtool_client import Outcome, as_user, call, read_config, run_client
from tests.e2e.helpers import enc, persona, total, wait_for
from tests.support.data import registration

ROW_KEYS = (
    "base_uri", "uri", "uuid", "name", "creator_username", "frozen_at", "created_at",
    "number_of_items", "size_in_bytes",
)  # fmt: skip
SUMMARY_KEYS = (
    "number_of_datasets", "total_size_in_bytes", "creator_usernames", "base_uris", "tags",
    "datasets_per_creator", "datasets_per_base_uri", "datasets_per_tag",
    "size_in_bytes_per_creator", "size_in_bytes_per_base_uri", "size_in_bytes_per_tag",
)  # fmt: skip
USER_KEYS = ("username", "is_admin", "search_permissions_on_base_uris", "register_permissions_on_base_uris")
ASC, DESC = 1, -1  # dtool_lookup_api.core.LookupClient.ASCENDING / DESCENDING
T = 1700000100.0  # a frozen_at for datasets that are never registered


# -- the data, and what dserver answers for it ---------------------------------------------
def manifest(files: dict[str, int], frozen: float) -> dict[str, Any]:
    items = {
        hashlib.sha1(relpath.encode()).hexdigest(): {  # dtool's item id: sha1 of the relpath
            "relpath": relpath,
            "size_in_bytes": size,
            "hash": hashlib.md5(relpath.encode()).hexdigest(),
            "utc_timestamp": frozen - 60.0,
        }
        for relpath, size in files.items()
    }
    return {"hash_function": "md5sum_hexdigest", "dtoolcore_version": "3.18.3", "items": items}


def dataset(
    base_uri: str, name: str, creator: str, tags: list[str], frozen: float, files: dict[str, int], **kw: Any
) -> dict[str, Any]:
    """A registration as ``dtoolcore``'s admin metadata has it: float ``frozen_at``/``created_at``."""
    return registration(
        base_uri,
        name=name,
        creator_username=creator,
        tags=sorted(tags),
        frozen_at=frozen,
        created_at=frozen - 3600.5,
        manifest=manifest(files, frozen),
        **kw,
    )


def replica(body: dict[str, Any], base_uri: str) -> dict[str, Any]:
    """The same dataset copied to ``base_uri`` (``dtool cp``): same uuid and content."""
    return {**body, "base_uri": base_uri, "uri": f"{base_uri}/{body['uuid']}"}


def row(body: dict[str, Any]) -> dict[str, Any]:
    """dserver's Dataset row for a registration."""
    items = body["manifest"]["items"].values()
    return {
        "base_uri": body["base_uri"],
        "uri": body["uri"],
        "uuid": body["uuid"],
        "name": body["name"],
        "creator_username": body["creator_username"],
        "frozen_at": float(body["frozen_at"]),
        "created_at": float(body["created_at"]),
        "number_of_items": len(items),
        "size_in_bytes": sum(i["size_in_bytes"] for i in items),
    }


def summary(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """dserver's summary of these datasets (one record per URI)."""
    rows = [(row(b), b["tags"]) for b in bodies]
    per: dict[str, Counter[str]] = {k: Counter() for k in ("dc", "db", "dt", "sc", "sb", "st")}
    for r, tags in rows:
        per["dc"][r["creator_username"]] += 1
        per["db"][r["base_uri"]] += 1
        per["sc"][r["creator_username"]] += r["size_in_bytes"]
        per["sb"][r["base_uri"]] += r["size_in_bytes"]
        for t in tags:
            per["dt"][t] += 1
            per["st"][t] += r["size_in_bytes"]
    return {
        "number_of_datasets": len(rows),
        "total_size_in_bytes": sum(r["size_in_bytes"] for r, _ in rows),
        "creator_usernames": sorted(per["dc"]),
        "base_uris": sorted(per["db"]),
        "tags": sorted(per["dt"]),
        "datasets_per_creator": dict(per["dc"]),
        "datasets_per_base_uri": dict(per["db"]),
        "datasets_per_tag": dict(per["dt"]),
        "size_in_bytes_per_creator": dict(per["sc"]),
        "size_in_bytes_per_base_uri": dict(per["sb"]),
        "size_in_bytes_per_tag": dict(per["st"]),
    }


def smorest(count: int, page: int, page_size: int) -> dict[str, int]:
    """flask-smorest's X-Pagination (dserver.md §3): no ``page`` past the last page."""
    pages = math.ceil(count / page_size)
    out = {"total": count, "total_pages": pages}
    if pages:
        out |= {"first_page": 1, "last_page": pages}
        if page <= pages:
            out["page"] = page
            if page > 1:
                out["previous_page"] = page - 1
            if page < pages:
                out["next_page"] = page + 1
    return out


def sort_rows(rows: list[dict[str, Any]], *keys: tuple[str, int]) -> list[dict[str, Any]]:
    out = list(rows)
    for name, order in reversed(keys):
        out.sort(key=lambda r, n=name: r[n], reverse=order < 0)
    return out


def absent_uri(base_uri: str) -> str:
    return f"{base_uri}/{uuidlib.uuid4()}"


# -- outcomes ----------------------------------------------------------------------------
def ok(o: Outcome) -> Any:
    """The value of a call that raised nothing and logged no warning (such as "Server
    returned no pagination information")."""
    assert o.error is None, str(o)
    assert not o.logs, f"{o.logs}\n{o}"
    return o.value


def refused(o: Outcome, status: int) -> None:
    """A call the server refused with ``status``: the client returns the JSON error as data
    (never a ``{"msg"}``, which would raise ``LookupServerError``)."""
    assert o.error is None, str(o)
    assert isinstance(o.value, dict) and not set(o.value) & {"uri", "username", "base_uri", "msg"}, str(o)
    assert o.status == status, str(o)


def failed_write(o: Outcome, status: int) -> None:
    """A PUT/DELETE the server refused: the client returns False."""
    assert o.error is None and o.value is False, str(o)
    assert o.status == status, str(o)


def unwrap_fails(o: Outcome, key: str, status: int) -> None:
    """get_readme/get_annotations/get_tags index the answer (``["readme"]``): on an error body
    the client raises ``KeyError``, against dserver (403) as against us (404)."""
    assert o.error == f"KeyError: '{key}'", str(o)
    assert o.status == status, str(o)


def deprecated(o: Outcome) -> Any:
    assert any("deprecated" in w for w in o.warnings), str(o)
    return ok(o)


# -- the world -----------------------------------------------------------------------------
@dataclass
class World:
    stack: LocalStack
    s: str  # this run's suffix: names, creators and tags no other test uses
    admin: str
    champion: str  # search and register on A; search on C
    reader: str  # search on A
    outsider: str  # a registered user without permissions
    registrar: str  # search and register on C
    a: str
    b: str  # admin only
    c: str  # the writes' base URI
    word: str  # free text in the readmes of north and south
    north: dict[str, Any]  # on A (and as north_b on B: a replica with the same uuid)
    north_b: dict[str, Any]
    south: dict[str, Any]
    beam: dict[str, Any]
    xfel: dict[str, Any]  # on B
    tokens: dict[str, str]

    @property
    def config(self) -> dict[str, str]:
        return {"DSERVER_URL": self.stack.api_url}

    @property
    def on_a(self) -> list[dict[str, Any]]:
        return [self.north, self.south, self.beam]

    @property
    def on_ab(self) -> list[dict[str, Any]]:
        return [self.north, self.north_b, self.south, self.beam, self.xfel]


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> World:
    s = uuidlib.uuid4().hex[:6]
    names = {k: f"dla-{k}-{s}" for k in ("champion", "reader", "outsider", "registrar")}
    admin = persona(stack, "admin", admin=True)
    clients = {k: persona(stack, n) for k, n in names.items()}
    a, b, c = (f"s3://dla-{x}-{s}" for x in "abc")
    for base in (a, b, c):
        assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    perms = {
        a: ([names["champion"], names["reader"]], [names["champion"]]),
        c: ([names["registrar"], names["champion"]], [names["registrar"]]),
    }
    for base, (search, register) in perms.items():
        body = {"users_with_search_permissions": search, "users_with_register_permissions": register}
        r = admin.put(f"/base-uris/{enc(base)}/permissions", body)
        assert r.status_code == 200, r.text
    word = f"zephyr{s}"
    priya, okafor = f"priya-{s}", f"okafor-{s}"
    lidar, north_tag, xray, xfel = (f"{t}-{s}" for t in ("lidar", "north", "xray", "xfel"))
    readme = "---\ndescription: LiDAR {} campaign {}\nowners:\n  - name: Priya\n"
    north = dataset(
        a, f"dla-{s}-lidar-north", priya, [lidar, north_tag], 1700000001.25,
        {"scan/a.laz": 1024, "scan/b.laz": 2048}, readme=readme.format("north", word),
        annotations={"site": "north", "operator": {"name": "Priya", "shifts": [1, 2]}},
    )  # fmt: skip
    south = dataset(
        a, f"dla-{s}-lidar-south", okafor, [lidar], 1700000002.5, {"scan/c.laz": 500},
        readme=readme.format("south", word), annotations={"site": "south"},
    )  # fmt: skip
    beam = dataset(a, f"dla-{s}-beam", priya, [xray], 1700000003.75, {"img/0001.tif": 4096, "img/0002.tif": 4096})
    xfel_body = dataset(b, f"dla-{s}-xfel", okafor, [xfel], 1700000004.125, {"run/0001.h5": 10_000})
    north_b = replica(north, b)
    for client, body in (
        (clients["champion"], north),
        (clients["champion"], south),
        (clients["champion"], beam),
        (admin, xfel_body),
        (admin, north_b),
    ):
        r = client.post("/datasets", body)
        assert r.status_code == 201, r.text
    scope = f"?base_uri={a}&base_uri={b}&page_size=100"
    assert wait_for(lambda: total(admin, scope) == 5, timeout=60), "the datasets did not become searchable"
    tokens = {n: stack.token(n) for n in ("admin", *names.values())}
    return World(
        stack, s, "admin", names["champion"], names["reader"], names["outsider"], names["registrar"],
        a, b, c, word, north, north_b, south, beam, xfel_body, tokens,
    )  # fmt: skip


# -- the reads: admin, reader and outsider in one subprocess ---------------------------------
@pytest.fixture(scope="module")
def reads(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    w = world
    ab = [w.a, w.b]
    uuid1, uri1 = w.north["uuid"], w.north["uri"]
    page = {"base_uris": ab, "sort_fields": ["name", "uri"], "sort_order": [ASC, ASC], "page_size": 2}
    mongo = {"name": w.north["name"]}
    steps = [
        as_user(w.admin),
        call("config", "get_config"),
        call("versions", "get_versions"),
        call("all_ab", "get_datasets", base_uris=ab, page_size=100, pages=True, sorts=True),
        call("default", "get_datasets", base_uris=ab, pages=True, sorts=True),
        call("free_text", "get_datasets", free_text=w.word, page_size=100, pages=True),
        call("creators", "get_datasets", creator_usernames=[w.north["creator_username"]], page_size=100),
        call("base_b", "get_datasets", base_uris=[w.b], page_size=100, pages=True),
        call("uuids", "get_datasets", uuids=[uuid1, w.xfel["uuid"]], page_size=100),
        call("tags_one", "get_datasets", tags=[w.south["tags"][0]], page_size=100),
        call("tags_all", "get_datasets", tags=w.north["tags"], page_size=100),
        call(
            "combined",
            "get_datasets",
            base_uris=[w.a],
            tags=[w.south["tags"][0]],
            creator_usernames=[w.south["creator_username"]],
            free_text=w.word,
        ),
        call(
            "sort_desc",
            "get_datasets",
            base_uris=ab,
            sort_fields=["name", "uri"],
            sort_order=[DESC, ASC],
            page_size=100,
            sorts=True,
        ),
        call(
            "sort_two",
            "get_datasets",
            base_uris=ab,
            sort_fields=["creator_username", "frozen_at"],
            sort_order=[ASC, DESC],
            page_size=100,
            sorts=True,
        ),
        call("sort_one", "get_datasets", base_uris=ab, sort_fields="frozen_at", sort_order=DESC, sorts=True),
        *(call(f"page{n}", "get_datasets", page_number=n, **page, pages=True, sorts=True) for n in (1, 2, 3, 4)),
        call("dataset", "get_dataset", uri1),
        call("dataset_replica", "get_dataset", w.north_b["uri"]),
        call("dataset_absent", "get_dataset", absent_uri(w.a)),
        call("readme", "get_readme", uri1),
        call("manifest", "get_manifest", uri1),
        call("annotations", "get_annotations", uri1),
        call("tags", "get_tags", uri1),
        call("readme_absent", "get_readme", absent_uri(w.a)),
        call("by_uuid", "get_datasets_by_uuid", uuid1, pages=True, sorts=True),
        call(
            "by_uuid_page2",
            "get_datasets_by_uuid",
            uuid1,
            sort_fields="base_uri",
            sort_order=DESC,
            page_size=1,
            page_number=2,
            pages=True,
            sorts=True,
        ),
        call("by_uuid_none", "get_datasets_by_uuid", str(uuidlib.uuid4()), pages=True),
        call("summary_admin", "get_summary"),
        call("summary_of_reader", "get_summary", w.reader),
        call("my_summary", "get_my_summary"),
        call("me", "get_user"),
        call("get_me", "get_me"),
        call("user_reader", "get_user", w.reader),
        call("user_absent", "get_user", f"nobody-{w.s}"),
        call("users", "get_users", page_size=100, pages=True, sorts=True),
        call("users_desc", "get_users", sort_fields="username", sort_order=DESC, page_size=2, pages=True, sorts=True),
        call("base_uris", "get_base_uris", page_size=100, pages=True, sorts=True),
        call("base_uris_desc", "get_base_uris", sort_order=DESC, page_size=100, sorts=True),
        call("base_uri_a", "get_base_uri", w.a),
        # deprecated aliases
        call("dep_all", "all", page_size=3, pages=True),
        call("dep_search", "search", w.word, page_size=100, pages=True),
        call("dep_lookup", "lookup", uuid1, pages=True),
        call("dep_by_uuid", "by_uuid", uuid1),
        call("dep_readme", "readme", uri1),
        call("dep_manifest", "manifest", uri1),
        call("dep_list_users", "list_users", page_size=100, pages=True),
        call("dep_user_info", "user_info", w.reader),
        call("dep_list_base_uris", "list_base_uris", page_size=100, pages=True),
        call("dep_config", "config"),
        call("dep_versions", "versions"),
        # server plugins dserver may have (mongo, graph): not routes of ours
        call("mongo_query", "get_datasets_by_mongo_query", mongo),
        call("mongo_aggregation", "get_datasets_by_mongo_aggregation", [{"$match": mongo}]),
        call("graph_by_uuid", "get_graph_by_uuid", uuid1),
        call("dep_query", "query", mongo),
        call("dep_by_query", "by_query", mongo),
        call("dep_aggregate", "aggregate", [{"$match": mongo}]),
        call("dep_graph", "graph", uuid1),
        # the reader: A only
        as_user(w.reader),
        call("r_config", "get_config"),
        call("r_all", "get_datasets", base_uris=ab, page_size=100, pages=True),
        call("r_base_b", "get_datasets", base_uris=[w.b], pages=True),
        call("r_free_text", "get_datasets", free_text=w.word, page_size=100),
        call("r_by_uuid", "get_datasets_by_uuid", uuid1, pages=True),
        call("r_by_uuid_b", "get_datasets_by_uuid", w.xfel["uuid"], pages=True),
        call("r_dataset_a", "get_dataset", uri1),
        call("r_dataset_b", "get_dataset", w.xfel["uri"]),
        call("r_readme_b", "get_readme", w.xfel["uri"]),
        call("r_manifest_b", "get_manifest", w.xfel["uri"]),
        call("r_annotations_b", "get_annotations", w.xfel["uri"]),
        call("r_tags_b", "get_tags", w.xfel["uri"]),
        call("r_summary", "get_summary"),
        call("r_summary_self", "get_summary", w.reader),
        call("r_dep_summary", "summary"),
        call("r_summary_admin", "get_summary", w.admin),
        call("r_me", "get_user"),
        call("r_user_self", "get_user", w.reader),
        call("r_user_admin", "get_user", w.admin),
        call("r_users", "get_users"),
        call("r_base_uris", "get_base_uris"),
        call("r_base_uri", "get_base_uri", w.a),
        call("r_register_user", "register_user", f"dla-new-{w.s}"),
        call("r_delete_user", "delete_user", w.outsider),
        call("r_register_base_uri", "register_base_uri", w.a, [w.reader], [w.reader]),
        call("r_delete_base_uri", "delete_base_uri", w.b),
        call("r_register_dataset", "register_dataset", **register_args(dataset(w.a, "sneaky", w.reader, [], T, {}))),
        call("r_delete_dataset", "delete_dataset", uri1),
        # the outsider: nothing
        as_user(w.outsider),
        call("o_all", "get_datasets", pages=True, sorts=True),
        call("o_base_a", "get_datasets", base_uris=[w.a], pages=True),
        call("o_free_text", "get_datasets", free_text=w.word, pages=True),
        call("o_by_uuid", "get_datasets_by_uuid", uuid1, pages=True),
        call("o_dataset", "get_dataset", uri1),
        call("o_readme", "get_readme", uri1),
        call("o_manifest", "get_manifest", uri1),
        call("o_tags", "get_tags", uri1),
        call("o_summary", "get_summary"),
        call("o_me", "get_user"),
        call("o_dep_all", "all", pages=True),
        call("o_dep_search", "search", w.word, pages=True),
        call("o_dep_lookup", "lookup", uuid1, pages=True),
        call("o_register_dataset", "register_dataset", **register_args(dataset(w.a, "nope", w.outsider, [], T, {}))),
        call("o_delete_dataset", "delete_dataset", uri1),
    ]
    return run_client(tmp_path_factory.mktemp("dtool-home"), steps, config=w.config, tokens=w.tokens)


def register_args(body: dict[str, Any]) -> dict[str, Any]:
    """``register_dataset``'s keyword arguments (all required) for a registration body."""
    r = row(body)
    return {
        **{k: body[k] for k in ("uri", "base_uri", "readme", "manifest", "uuid", "name", "type")},
        **{k: body[k] for k in ("creator_username", "frozen_at", "created_at", "annotations", "tags")},
        "number_of_items": r["number_of_items"],
        "size_in_bytes": r["size_in_bytes"],
    }


def test_config_and_versions(reads: dict[str, Outcome]) -> None:
    config, versions = ok(reads["config"]), ok(reads["versions"])
    assert isinstance(config, dict) and config["version"] == versions["catalogue"], reads["config"]
    assert ok(reads["r_config"]) == config  # any registered user, as dserver
    assert [h["path"] for h in reads["versions"].http] == ["/config/info", "/config/versions"]


def test_get_datasets_returns_dserver_rows(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    expected = sort_rows([row(b) for b in w.on_ab], ("uri", ASC))
    assert ok(reads["all_ab"]) == expected, reads["all_ab"]
    assert reads["all_ab"].pagination == smorest(5, 1, 100)
    assert reads["all_ab"].sorting == {"sort": {"uri": 1}}
    # the client's defaults: page 1 of 10, sorted by uri
    assert ok(reads["default"]) == expected
    assert reads["default"].pagination == smorest(5, 1, 10)
    assert reads["default"].sorting == {"sort": {"uri": 1}}
    assert reads["default"].http[-1]["path"].endswith("/uris?page=1&page_size=10&sort=uri")


def test_get_datasets_filters(world: World, reads: dict[str, Outcome]) -> None:
    w = world

    def uris(key: str) -> list[str]:
        return [r["uri"] for r in ok(reads[key])]

    def expect(*bodies: dict[str, Any]) -> list[str]:
        return sorted(b["uri"] for b in bodies)

    assert uris("free_text") == expect(w.north, w.north_b, w.south), reads["free_text"]
    assert reads["free_text"].pagination == smorest(3, 1, 100)
    assert uris("creators") == expect(w.north, w.north_b, w.beam), reads["creators"]
    assert uris("base_b") == expect(w.north_b, w.xfel), reads["base_b"]
    assert reads["base_b"].pagination == smorest(2, 1, 100)
    assert uris("uuids") == expect(w.north, w.north_b, w.xfel), reads["uuids"]
    assert uris("tags_one") == expect(w.north, w.north_b, w.south), reads["tags_one"]
    assert uris("tags_all") == expect(w.north, w.north_b), reads["tags_all"]  # every tag given
    assert ok(reads["combined"]) == [row(w.south)], reads["combined"]


def test_get_datasets_sorts_and_pages(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    rows = [row(b) for b in w.on_ab]
    assert ok(reads["sort_desc"]) == sort_rows(rows, ("name", DESC), ("uri", ASC)), reads["sort_desc"]
    assert reads["sort_desc"].sorting == {"sort": {"name": -1, "uri": 1}}
    assert reads["sort_desc"].http[-1]["path"].endswith("&sort=-name,uri")

    def key(r: dict[str, Any]) -> tuple[str, float]:
        return r["creator_username"], r["frozen_at"]

    # north and north_b tie on both keys: compare the keys, and the rows as a set
    got = ok(reads["sort_two"])
    assert [key(r) for r in got] == [key(r) for r in sort_rows(rows, ("creator_username", ASC), ("frozen_at", DESC))]
    assert sorted(r["uri"] for r in got) == sorted(r["uri"] for r in rows)
    assert reads["sort_two"].sorting == {"sort": {"creator_username": 1, "frozen_at": -1}}
    got = ok(reads["sort_one"])
    assert [r["frozen_at"] for r in got] == sorted((r["frozen_at"] for r in rows), reverse=True), reads["sort_one"]
    assert reads["sort_one"].sorting == {"sort": {"frozen_at": -1}}

    by_name = sort_rows(rows, ("name", ASC), ("uri", ASC))
    for n, want in ((1, by_name[0:2]), (2, by_name[2:4]), (3, by_name[4:]), (4, [])):
        o = reads[f"page{n}"]
        assert ok(o) == want, o
        assert o.pagination == smorest(5, n, 2), o  # page 4: past the end, 200 [] without "page"
        assert o.sorting == {"sort": {"name": 1, "uri": 1}}


def test_a_dataset_and_its_parts_by_uri(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    assert ok(reads["dataset"]) == row(w.north), reads["dataset"]
    assert ok(reads["dataset_replica"]) == row(w.north_b), reads["dataset_replica"]
    assert ok(reads["readme"]) == w.north["readme"]
    assert ok(reads["manifest"]) == w.north["manifest"], reads["manifest"]
    assert ok(reads["annotations"]) == w.north["annotations"], reads["annotations"]
    assert ok(reads["tags"]) == w.north["tags"], reads["tags"]
    # the client sends the URI quote_plus-encoded in one path segment
    assert reads["dataset"].http[-1]["path"] == "/uris/" + quote_plus(w.north["uri"])
    # absent: dserver answers 404 too; get_dataset hands back the error dict, get_readme fails unwrapping it
    refused(reads["dataset_absent"], 404)
    unwrap_fails(reads["readme_absent"], "readme", 404)


def test_datasets_by_uuid(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    o = reads["by_uuid"]
    assert ok(o) == [row(w.north), row(w.north_b)], o  # one row per URI, sorted by uri
    assert o.pagination == smorest(2, 1, 10) and o.sorting == {"sort": {"uri": 1}}
    o = reads["by_uuid_page2"]
    assert ok(o) == [row(w.north)], o  # by base_uri descending: B, then A
    assert o.pagination == smorest(2, 2, 1) and o.sorting == {"sort": {"base_uri": -1}}
    o = reads["by_uuid_none"]
    assert ok(o) == [] and o.pagination == {"total": 0, "total_pages": 0}, o


def test_summaries(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    want = summary(w.on_a)
    for key in ("summary_of_reader", "r_summary", "r_summary_self", "r_dep_summary"):
        got = ok(reads[key])
        assert {k: got.get(k) for k in SUMMARY_KEYS} == want, reads[key]
    assert reads["r_dep_summary"].warnings
    # the admin's own summary spans the whole (shared) stack: check this module's base URIs
    mine = ok(reads["summary_admin"])
    assert set(SUMMARY_KEYS) <= set(mine), reads["summary_admin"]
    sizes = summary(w.on_ab)["size_in_bytes_per_base_uri"]
    assert {b: mine["datasets_per_base_uri"][b] for b in (w.a, w.b)} == {w.a: 3, w.b: 2}
    assert {b: mine["size_in_bytes_per_base_uri"][b] for b in (w.a, w.b)} == sizes
    again = ok(reads["my_summary"])  # GET /me/summary (get_summary() without a name is the same route)
    assert set(again) == set(mine) and reads["my_summary"].http[-1]["path"] == "/me/summary"
    assert {b: again["size_in_bytes_per_base_uri"][b] for b in (w.a, w.b)} == sizes
    empty = ok(reads["o_summary"])
    assert {k: empty.get(k) for k in SUMMARY_KEYS} == summary([]), reads["o_summary"]


def test_users_as_the_admin_sees_them(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    me = ok(reads["me"])
    assert me["username"] == "admin" and me["is_admin"] is True, reads["me"]
    assert ok(reads["get_me"]) == me
    reader = {"username": w.reader, "is_admin": False}
    reader |= {"search_permissions_on_base_uris": [w.a], "register_permissions_on_base_uris": []}
    for key in ("user_reader", "dep_user_info"):
        got = ok(reads[key])
        assert {k: got.get(k) for k in USER_KEYS} == reader, reads[key]
    refused(reads["user_absent"], 404)
    users = ok(reads["users"])
    names = [u["username"] for u in users]
    assert names == sorted(names) and {"admin", w.reader, w.outsider} <= set(names), reads["users"]
    assert all({"username", "is_admin"} <= set(u) for u in users)
    assert reads["users"].pagination == smorest(len(users), 1, 100)
    assert reads["users"].sorting == {"sort": {"username": 1}}
    desc = reads["users_desc"]
    assert [u["username"] for u in ok(desc)] == sorted(names, reverse=True)[:2], desc
    assert desc.pagination["total"] == len(users) and desc.sorting == {"sort": {"username": -1}}
    assert [u["username"] for u in deprecated(reads["dep_list_users"])] == names
    assert reads["dep_list_users"].pagination == reads["users"].pagination


def test_base_uris_as_the_admin_sees_them(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    listed = [b["base_uri"] for b in ok(reads["base_uris"])]
    assert listed == sorted(listed) and {w.a, w.b, w.c} <= set(listed), reads["base_uris"]
    assert reads["base_uris"].pagination == smorest(len(listed), 1, 100)
    assert reads["base_uris"].sorting == {"sort": {"base_uri": 1}}
    assert [b["base_uri"] for b in ok(reads["base_uris_desc"])] == sorted(listed, reverse=True)
    assert reads["base_uris_desc"].sorting == {"sort": {"base_uri": -1}}
    got = ok(reads["base_uri_a"])
    want = {"base_uri": w.a, "users_with_search_permissions": sorted([w.champion, w.reader])}
    want["users_with_register_permissions"] = [w.champion]
    assert {k: got.get(k) for k in want} == want, reads["base_uri_a"]
    assert [b["base_uri"] for b in deprecated(reads["dep_list_base_uris"])] == listed


def test_deprecated_aliases(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    everything = deprecated(reads["dep_all"])
    assert len(everything) == 3 and [r["uri"] for r in everything] == sorted(r["uri"] for r in everything)
    assert reads["dep_all"].pagination["total"] >= 5 and reads["dep_all"].pagination["page"] == 1
    hits = deprecated(reads["dep_search"])
    assert sorted(r["uri"] for r in hits) == sorted(b["uri"] for b in (w.north, w.north_b, w.south)), hits
    assert reads["dep_search"].pagination == smorest(3, 1, 100)
    assert deprecated(reads["dep_lookup"]) == [row(w.north), row(w.north_b)]
    assert reads["dep_lookup"].pagination == smorest(2, 1, 10)
    assert deprecated(reads["dep_by_uuid"]) == [row(w.north), row(w.north_b)]
    assert deprecated(reads["dep_readme"]) == w.north["readme"]
    assert deprecated(reads["dep_manifest"]) == w.north["manifest"]
    # the client's own defect (dserver.md §4): config()/versions() return the coroutine of
    # get_config()/get_versions() without awaiting it; only the token check reached the server
    for key, name in (("dep_config", "get_config"), ("dep_versions", "get_versions")):
        assert deprecated(reads[key]) == {"__coroutine__": f"UnauthenticatedLookupClient.{name}"}
        assert reads[key].statuses() == [("GET", "/config/info", 200)]


def test_server_plugin_calls_fail_cleanly(reads: dict[str, Outcome]) -> None:
    """dserver without its mongo/graph plugins answers 404 and the client hands back the
    error dict; we have no such routes either: API Gateway (and chalice local) answer an
    unknown path with 403 ``{"message": "Missing Authentication Token"}``, handed back the same way."""
    for key in ("mongo_query", "mongo_aggregation", "graph_by_uuid", "dep_query", "dep_by_query", "dep_aggregate"):
        o = reads[key]
        assert o.error is None and isinstance(o.value, dict) and o.status in {403, 404}, o
        assert o.http[-1]["path"].startswith(("/mongo/", "/graph/")), o
    # graph() passes self twice to get_graph_by_uuid: the client fails before any request
    assert reads["dep_graph"].error is not None and reads["dep_graph"].error.startswith("TypeError")
    assert [h["path"] for h in reads["dep_graph"].http] == ["/config/info"]


def test_reader_sees_only_its_base_uris(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    assert ok(reads["r_all"]) == sort_rows([row(b) for b in w.on_a], ("uri", ASC)), reads["r_all"]
    assert reads["r_all"].pagination == smorest(3, 1, 100)
    # B asked for by name: absent, never 403
    assert ok(reads["r_base_b"]) == [] and reads["r_base_b"].pagination == smorest(0, 1, 10), reads["r_base_b"]
    assert sorted(r["uri"] for r in ok(reads["r_free_text"])) == sorted([w.north["uri"], w.south["uri"]])
    assert ok(reads["r_by_uuid"]) == [row(w.north)] and reads["r_by_uuid"].pagination == smorest(1, 1, 10)
    assert ok(reads["r_by_uuid_b"]) == [] and reads["r_by_uuid_b"].pagination == smorest(0, 1, 10)
    assert ok(reads["r_dataset_a"]) == row(w.north)
    # on B: dserver answers 403, we 404 (no existence oracle); the client reacts the same way
    refused(reads["r_dataset_b"], 404)
    refused(reads["r_manifest_b"], 404)
    unwrap_fails(reads["r_readme_b"], "readme", 404)
    unwrap_fails(reads["r_annotations_b"], "annotations", 404)
    unwrap_fails(reads["r_tags_b"], "tags", 404)
    me = ok(reads["r_me"])
    assert {k: me.get(k) for k in USER_KEYS} == {
        "username": w.reader, "is_admin": False,
        "search_permissions_on_base_uris": [w.a], "register_permissions_on_base_uris": [],
    }, reads["r_me"]  # fmt: skip
    own = ok(reads["r_user_self"])  # one's own record, as dserver allows
    assert {k: own.get(k) for k in USER_KEYS} == {k: me.get(k) for k in USER_KEYS}, reads["r_user_self"]


def test_reader_is_refused_admin_calls_and_writes(world: World, reads: dict[str, Outcome]) -> None:
    """Admin-only calls are 403 to non-admins, as in dserver; registering without the
    register permission is 403 too; the reader may search A but not register there."""
    for key in ("r_summary_admin", "r_user_admin", "r_users", "r_base_uris", "r_base_uri"):
        refused(reads[key], 403)
    for key in ("r_register_user", "r_delete_user", "r_register_base_uri", "r_delete_base_uri"):
        failed_write(reads[key], 403)
    failed_write(reads["r_register_dataset"], 403)
    failed_write(reads["r_delete_dataset"], 403)


def test_outsider_sees_nothing(world: World, reads: dict[str, Outcome]) -> None:
    w = world
    for key in ("o_all", "o_base_a", "o_free_text", "o_by_uuid", "o_dep_lookup"):
        assert ok(reads[key]) == [] and reads[key].pagination == {"total": 0, "total_pages": 0}, reads[key]
    assert reads["o_all"].sorting == {"sort": {"uri": 1}}
    for key in ("o_dep_all", "o_dep_search"):
        assert deprecated(reads[key]) == [] and reads[key].pagination == {"total": 0, "total_pages": 0}
    refused(reads["o_dataset"], 404)  # dserver: 403
    refused(reads["o_manifest"], 404)
    unwrap_fails(reads["o_readme"], "readme", 404)
    unwrap_fails(reads["o_tags"], "tags", 404)
    me = ok(reads["o_me"])
    assert {k: me.get(k) for k in USER_KEYS} == {
        "username": w.outsider, "is_admin": False,
        "search_permissions_on_base_uris": [], "register_permissions_on_base_uris": [],
    }, reads["o_me"]  # fmt: skip
    failed_write(reads["o_register_dataset"], 403)
    # no register permission anywhere: 403 before the dataset is looked at (dserver: 403)
    failed_write(reads["o_delete_dataset"], 403)


# -- the writes: datasets, users and base URIs in one subprocess ---------------------------
@pytest.fixture(scope="module")
def writes(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    w = world
    new = dataset(
        w.c, f"dla-{w.s}-registered", w.registrar, [f"new-{w.s}"], 1700000009.5, {"x.csv": 77, "y.csv": 23},
        readme=f"---\ndescription: registered through dtool-lookup-api {w.word}\n", annotations={"run": 7},
    )  # fmt: skip
    slash = dataset(w.c + "/", "trailing", w.registrar, [], 1700000010.0, {})
    slash["uri"] = f"{w.c}/{slash['uuid']}"
    user, d, e = f"dla-user-{w.s}", f"s3://dla-d-{w.s}", f"s3://dla-e-{w.s}"
    steps = [
        # datasets on C: the registrar may register there, the champion only search
        as_user(w.registrar),
        call("register", "register_dataset", **register_args(new)),
        call("register_again", "register_dataset", **register_args(new)),
        call("get", "get_dataset", new["uri"]),
        call("readme", "get_readme", new["uri"]),
        call("manifest", "get_manifest", new["uri"]),
        call("annotations", "get_annotations", new["uri"]),
        call("tags", "get_tags", new["uri"]),
        call("by_uuid", "get_datasets_by_uuid", new["uuid"], pages=True),
        call("register_slash", "register_dataset", **register_args(slash)),
        call("get_slash", "get_dataset", slash["uri"]),
        as_user(w.champion),
        call("champion_get", "get_dataset", new["uri"]),
        call("champion_register", "register_dataset", **register_args(new)),
        call("champion_delete", "delete_dataset", new["uri"]),
        as_user(w.reader),
        call("reader_delete", "delete_dataset", new["uri"]),
        as_user(w.registrar),
        call("registrar_delete_b", "delete_dataset", w.xfel["uri"]),
        call("delete", "delete_dataset", new["uri"]),
        call("get_deleted", "get_dataset", new["uri"]),
        call("readme_deleted", "get_readme", new["uri"]),
        call("by_uuid_deleted", "get_datasets_by_uuid", new["uuid"], pages=True),
        call("delete_again", "delete_dataset", new["uri"]),
        # users
        as_user(w.admin),
        call("u_register", "register_user", user),
        call("u_get", "get_user", user),
        call("u_register_admin", "register_user", user, is_admin=True),
        call("u_get_admin", "get_user", user),
        call("u_list", "get_users", page_size=100),
        call("u_delete", "delete_user", user),
        call("u_get_deleted", "get_user", user),
        call("u_list_after", "get_users", page_size=100),
        # base URIs
        call("b_register", "register_base_uri", d, [w.reader], [w.champion]),
        call("b_get", "get_base_uri", d),
        call("b_register_again", "register_base_uri", d, [], [w.reader]),
        call("b_get_again", "get_base_uri", d),
        call("b_list", "get_base_uris", page_size=100),
        as_user(w.reader),
        call("b_reader_me", "get_user"),
        as_user(w.admin),
        call("b_trailing", "register_base_uri", e + "/", [w.reader], []),
        call("b_unknown_user", "register_base_uri", e, [f"nobody-{w.s}"], []),
        call("b_get_unknown", "get_base_uri", e),
        call("b_delete", "delete_base_uri", d),
        call("b_get_deleted", "get_base_uri", d),
        call("b_delete_holding", "delete_base_uri", w.b),
        call("b_get_holding", "get_base_uri", w.b),
    ]
    outcomes = run_client(tmp_path_factory.mktemp("dtool-home"), steps, config=w.config, tokens=w.tokens)
    outcomes["_new"] = Outcome("data", new, None)
    outcomes["_names"] = Outcome("data", {"user": user, "d": d, "e": e}, None)
    return outcomes


def test_register_dataset_and_read_it_back(writes: dict[str, Outcome]) -> None:
    new = writes["_new"].value
    assert ok(writes["register"]) is True and writes["register"].status == 201, writes["register"]
    assert ok(writes["register_again"]) is True and writes["register_again"].status == 200, writes["register_again"]
    path = writes["register"].http[-1]
    assert (path["method"], path["path"]) == ("PUT", "/uris/" + quote_plus(new["uri"]))
    assert ok(writes["get"]) == row(new), writes["get"]  # float frozen_at kept (dserver: 422)
    assert ok(writes["readme"]) == new["readme"]
    assert ok(writes["manifest"]) == new["manifest"]
    assert ok(writes["annotations"]) == new["annotations"]
    assert ok(writes["tags"]) == new["tags"]
    assert ok(writes["by_uuid"]) == [row(new)] and writes["by_uuid"].pagination == smorest(1, 1, 10)
    assert ok(writes["champion_get"]) == row(new)  # the champion may search C


def test_register_dataset_refusals(writes: dict[str, Outcome]) -> None:
    # a base URI with a trailing slash: refused (ours 400, dserver 403); nothing registered
    failed_write(writes["register_slash"], 400)
    refused(writes["get_slash"], 404)
    # the champion may search C but not register there (403, as dserver)
    failed_write(writes["champion_register"], 403)
    failed_write(writes["champion_delete"], 403)
    # the reader may register nowhere: 403, before the dataset is looked at (as dserver)
    failed_write(writes["reader_delete"], 403)
    # the registrar registers on C but cannot see B: 404 (dserver: 403)
    failed_write(writes["registrar_delete_b"], 404)


def test_delete_dataset(writes: dict[str, Outcome]) -> None:
    assert ok(writes["delete"]) is True and writes["delete"].status == 200, writes["delete"]
    refused(writes["get_deleted"], 404)
    unwrap_fails(writes["readme_deleted"], "readme", 404)
    assert ok(writes["by_uuid_deleted"]) == [], writes["by_uuid_deleted"]
    # deleting what is not there: dserver answers 200 (True); we 404, so the client says False
    # (tests/functional/test_dserver_api.py::test_register_and_delete_by_uri)
    failed_write(writes["delete_again"], 404)


def test_admin_registers_and_deletes_users(writes: dict[str, Outcome]) -> None:
    user = writes["_names"].value["user"]
    assert ok(writes["u_register"]) is True and writes["u_register"].status == 201, writes["u_register"]
    got = ok(writes["u_get"])
    assert {k: got.get(k) for k in USER_KEYS} == {
        "username": user, "is_admin": False,
        "search_permissions_on_base_uris": [], "register_permissions_on_base_uris": [],
    }, writes["u_get"]  # fmt: skip
    o = writes["u_register_admin"]
    assert ok(o) is True and o.status == 200, o
    assert ok(writes["u_get_admin"])["is_admin"] is True, writes["u_get_admin"]
    assert user in [u["username"] for u in ok(writes["u_list"])], writes["u_list"]
    assert ok(writes["u_delete"]) is True and writes["u_delete"].status == 200, writes["u_delete"]
    refused(writes["u_get_deleted"], 404)
    assert user not in [u["username"] for u in ok(writes["u_list_after"])], writes["u_list_after"]


def test_admin_registers_and_deletes_base_uris(world: World, writes: dict[str, Outcome]) -> None:
    w, names = world, writes["_names"].value
    d = names["d"]
    assert ok(writes["b_register"]) is True and writes["b_register"].status == 201, writes["b_register"]
    got = ok(writes["b_get"])
    want = {"base_uri": d, "users_with_search_permissions": [w.reader], "users_with_register_permissions": [w.champion]}
    assert {k: got.get(k) for k in want} == want, writes["b_get"]
    o = writes["b_register_again"]  # the lists replace the permissions
    assert ok(o) is True and o.status == 200, o
    got = ok(writes["b_get_again"])
    want = {"base_uri": d, "users_with_search_permissions": [], "users_with_register_permissions": [w.reader]}
    assert {k: got.get(k) for k in want} == want, writes["b_get_again"]
    assert d in [b["base_uri"] for b in ok(writes["b_list"])], writes["b_list"]
    me = ok(writes["b_reader_me"])
    assert d in me["register_permissions_on_base_uris"] and d not in me["search_permissions_on_base_uris"], me
    # refused on purpose (dserver differs): a trailing slash, and unknown users (dserver drops
    # them silently; tests/functional/test_dserver_api.py::test_base_uris_list_put_and_delete)
    failed_write(writes["b_trailing"], 400)
    failed_write(writes["b_unknown_user"], 400)
    refused(writes["b_get_unknown"], 404)  # nothing was made
    assert ok(writes["b_delete"]) is True and writes["b_delete"].status == 200, writes["b_delete"]
    refused(writes["b_get_deleted"], 404)
    # a base URI holding datasets is kept (409, ours: no dataset is hidden by removing its base URI)
    failed_write(writes["b_delete_holding"], 409)
    assert ok(writes["b_get_holding"])["base_uri"] == w.b


# -- the token endpoint ---------------------------------------------------------------------
def _token_scenario(stack: LocalStack, home: Path, username: str, password: str) -> dict[str, Outcome]:
    """No usable token in dtool.json, credentials and the server in the environment: the
    client finds the stale token refused by GET /config/info, POSTs the credentials to
    DSERVER_TOKEN_GENERATOR_URL, uses the token and writes it into dtool.json."""
    env = {
        "DSERVER_URL": stack.api_url,
        "DSERVER_TOKEN_GENERATOR_URL": f"{stack.api_url}/token",
        "DSERVER_USERNAME": username,
        "DSERVER_PASSWORD": password,
    }
    steps = [
        call("me", "get_user"),
        read_config("file"),
        call("summary", "get_summary"),
        call("datasets", "get_datasets", pages=True),
    ]
    return run_client(home, steps, config={"DSERVER_TOKEN": "stale-token"}, env=env)


def test_token_from_the_token_endpoint(stack: LocalStack, tmp_path: Path) -> None:
    name = f"dla-token-{uuidlib.uuid4().hex[:6]}"
    stack.add_user(name)
    got = _token_scenario(stack, tmp_path, name, stack.state()["passwords"][name])
    o = got["me"]
    assert o.statuses()[:2] == [("GET", "/config/info", 401), ("POST", "/token", 200)], o
    assert ok(o)["username"] == name and ok(o)["search_permissions_on_base_uris"] == [], o
    token = got["file"].value["DSERVER_TOKEN"]
    assert token != "stale-token" and token.count(".") == 2, got["file"]  # the client kept it
    # the next call reuses it: no second visit to the token endpoint
    assert got["summary"].statuses() == [("GET", "/config/info", 200), ("GET", "/me/summary", 200)], got["summary"]
    assert ok(got["summary"])["number_of_datasets"] == 0
    assert ok(got["datasets"]) == [] and got["datasets"].pagination == {"total": 0, "total_pages": 0}


def test_wrong_password_at_the_token_endpoint(stack: LocalStack, tmp_path: Path) -> None:
    name = f"dla-token-{uuidlib.uuid4().hex[:6]}"
    stack.add_user(name)
    got = _token_scenario(stack, tmp_path, name, "Wrong-Password-1a!")
    o = got["me"]
    # the client raises "Error <status> retrieving data from authentication server."
    assert o.error is not None and o.error.startswith("RuntimeError: Error 401"), o
    assert o.statuses() == [("GET", "/config/info", 401), ("POST", "/token", 401)], o
    assert got["file"].value.get("DSERVER_TOKEN") == "stale-token"
