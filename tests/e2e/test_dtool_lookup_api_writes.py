"""dtool-lookup-api 0.10.3, unchanged, writing through the local stack: register_dataset and
delete_dataset, users and base URIs registered and deleted by an admin, and a token from the
catalogue's token endpoint (``DSERVER_TOKEN_GENERATOR_URL``). See test_dtool_lookup_api.py
for the reads and for where we answer differently from dserver on purpose."""

from __future__ import annotations

import uuid as uuidlib
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from infra.local.stack import LocalStack
from tests.e2e.dtool_client import Outcome, as_user, call, read_config, run_client
from tests.e2e.dtool_world import (
    USER_KEYS,
    World,
    build_world,
    dataset,
    failed_write,
    ok,
    refused,
    register_args,
    row,
    smorest,
    unwrap_fails,
)


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> World:
    return build_world(stack)


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
