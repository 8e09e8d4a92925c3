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

import uuid as uuidlib
from typing import Any
from urllib.parse import quote_plus

import pytest

from infra.local.stack import LocalStack
from tests.e2e.dtool_client import Outcome, as_user, call, run_client
from tests.e2e.dtool_world import (
    ASC,
    DESC,
    SUMMARY_KEYS,
    USER_KEYS,
    T,
    World,
    absent_uri,
    build_world,
    dataset,
    deprecated,
    failed_write,
    ok,
    refused,
    register_args,
    row,
    smorest,
    sort_rows,
    summary,
    unwrap_fails,
)


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> World:
    return build_world(stack)


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
