"""The dserver-compatible routes (chalicelib/routes/dserver.py) in process: shapes that
dtool-lookup-api 0.10.3 reads, paging and sorting headers, and what each persona sees."""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import pytest

from chalicelib.routes._http import LOCAL_WEB_ORIGIN
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.functional.test_datasets import register
from tests.support.data import registration


def test_config_answers_both_client_generations(personas: Api) -> None:
    info = personas.get("/config/info", user="reader")
    assert info.status_code == 200
    assert {k.lower(): v for k, v in info.headers.items()}["content-type"] == "application/json"
    body = info.json_body
    assert body["config"]["stage"] == body["stage"] and "msg" not in body
    versions = personas.get("/config/versions", user=None)  # no token needed, as in dserver
    assert versions.status_code == 200
    assert versions.json_body["versions"] == {"catalogue": versions.json_body["catalogue"]}
    assert personas.get("/config/info", user=None).status_code == 401


def test_me_lists_the_callers_rights(personas: Api) -> None:
    assert personas.get("/me", user="champion").json_body == {
        "username": "champion",
        "is_admin": False,
        "search_permissions_on_base_uris": [BUCKET_A],
        "register_permissions_on_base_uris": [BUCKET_A],
    }
    assert personas.get("/me", user="outsider").json_body["search_permissions_on_base_uris"] == []
    assert personas.get("/me", user=None).status_code == 401


def test_uuids_lists_one_row_per_visible_uri(personas: Api) -> None:
    body = register(personas)
    uuid = body["uuid"]
    register(personas, user="bravo", base_uri=BUCKET_B, uuid=uuid)  # the same uuid, another entry
    personas.sync()
    seen = personas.get(f"/uuids/{uuid}", user="admin")
    assert seen.status_code == 200
    assert [r["uri"] for r in seen.json_body] == sorted([f"{BUCKET_A}/{uuid}", f"{BUCKET_B}/{uuid}"])
    row = seen.json_body[0]
    assert set(row) == {
        "base_uri", "uri", "uuid", "name", "creator_username", "frozen_at", "created_at",
        "number_of_items", "size_in_bytes",
    }  # fmt: skip
    assert row["frozen_at"] == 1700000000.5 and isinstance(row["created_at"], float)
    assert json.loads(seen.headers["X-Pagination"]) == {
        "total": 2, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1,
    }  # fmt: skip
    assert json.loads(seen.headers["X-Sort"]) == {"sort": {"uri": 1}}
    # each persona sees the rows of the base URIs it may search, and nothing else
    assert [r["base_uri"] for r in personas.get(f"/uuids/{uuid}", user="reader").json_body] == [BUCKET_A]
    assert [r["base_uri"] for r in personas.get(f"/uuids/{uuid}", user="bravo").json_body] == [BUCKET_B]
    for nobody in ("outsider",):
        hidden = personas.get(f"/uuids/{uuid}", user=nobody)
        assert hidden.status_code == 200 and hidden.json_body == []
        assert json.loads(hidden.headers["X-Pagination"]) == {"total": 0, "total_pages": 0}
    assert personas.get(f"/uuids/{uuid}", user=None).status_code == 401


def test_uuids_pages_and_sorts(personas: Api) -> None:
    body = register(personas)
    uuid = body["uuid"]
    register(personas, user="bravo", base_uri=BUCKET_B, uuid=uuid)
    personas.sync()
    desc = personas.get(f"/uuids/{uuid}?sort=-base_uri&page=2&page_size=1", user="admin")
    assert [r["base_uri"] for r in desc.json_body] == [BUCKET_A]
    assert json.loads(desc.headers["X-Pagination"]) == {
        "total": 2, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2, "previous_page": 1,
    }  # fmt: skip
    assert json.loads(desc.headers["X-Sort"]) == {"sort": {"base_uri": -1}}
    past = personas.get(f"/uuids/{uuid}?page=3&page_size=1", user="admin")
    assert past.status_code == 200 and past.json_body == []
    assert "page" not in json.loads(past.headers["X-Pagination"])


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "page_size=101", "page_size=0", "sort=readme", "sort=name,-nope", "page=1&page=2"]
)
def test_uuids_bad_paging_or_sort_is_400_json(personas: Api, query: str) -> None:
    uuid = register(personas)["uuid"]
    r = personas.get(f"/uuids/{uuid}?{query}", user="reader")
    assert r.status_code == 400 and set(r.json_body) >= {"Code", "Message"}


def test_uuids_of_a_malformed_uuid_is_400(personas: Api) -> None:
    assert personas.get("/uuids/not-a-uuid", user="reader").status_code == 400


# -- /uris: search and list --------------------------------------------------------------
def _uris(api: Api, user: str, query: str = "", body: object = None, method: str = "POST") -> tuple[list, dict]:
    if method == "POST":
        r = api.post(f"/uris{query}", body, user=user) if body is not None else api.call("POST", f"/uris{query}", user)
    else:
        r = api.get(f"/uris{query}", user=user)
    assert r.status_code == 200, r.body
    return r.json_body, json.loads(r.headers["X-Pagination"])


def _three(api: Api) -> list[dict]:
    out = [
        register(api, name="alpha-scan", tags=["lidar"]),
        register(api, name="beta-scan", tags=["lidar", "raw"]),
        register(api, user="bravo", base_uri=BUCKET_B, name="gamma", creator_username="bravo"),
    ]
    api.sync()
    return out


def test_uris_search_filters_as_dserver(personas: Api) -> None:
    a, b, c = _three(personas)
    rows, pages = _uris(personas, "admin", "?sort=name")
    assert [r["name"] for r in rows] == ["alpha-scan", "beta-scan", "gamma"]
    assert pages == {"total": 3, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1}
    assert set(rows[0]) == {
        "base_uri", "uri", "uuid", "name", "creator_username", "frozen_at", "created_at",
        "number_of_items", "size_in_bytes",
    }  # fmt: skip
    assert rows[0]["uri"] == a["uri"] and rows[0]["number_of_items"] == 2
    names = lambda body: sorted(r["name"] for r in _uris(personas, "admin", "", body)[0])  # noqa: E731
    assert names({"free_text": "scan"}) == ["alpha-scan", "beta-scan"]
    assert names({"tags": ["lidar", "raw"]}) == ["beta-scan"]  # every tag
    assert names({"base_uris": [BUCKET_B]}) == ["gamma"]
    assert names({"creator_usernames": ["bravo", "nobody"]}) == ["gamma"]
    assert names({"uuids": [a["uuid"], c["uuid"]]}) == ["alpha-scan", "gamma"]
    assert names({}) == ["alpha-scan", "beta-scan", "gamma"]
    # GET /uris takes the same filters in the query, a list filter repeating its key
    rows, _ = _uris(personas, "admin", f"?tags=lidar&uuids={b['uuid']}&uuids={c['uuid']}", method="GET")
    assert [r["name"] for r in rows] == ["beta-scan"]


def test_uris_search_shows_only_what_the_caller_may_search(personas: Api) -> None:
    _three(personas)
    assert sorted(r["name"] for r in _uris(personas, "reader")[0]) == ["alpha-scan", "beta-scan"]
    assert _uris(personas, "reader", "", {"base_uris": [BUCKET_B]})[0] == []  # asked for, still not shown
    rows, pages = _uris(personas, "outsider")
    assert rows == [] and pages == {"total": 0, "total_pages": 0}
    assert personas.call("POST", "/uris", None).status_code == 401


def test_uris_search_sorts_and_pages(personas: Api) -> None:
    _three(personas)
    rows, pages = _uris(personas, "admin", "?sort=-creator_username,name&page=2&page_size=2")
    assert [r["name"] for r in rows] == ["gamma"]
    assert pages == {"total": 3, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2, "previous_page": 1}
    r = personas.call("POST", "/uris?sort=-creator_username,name&page_size=2", "admin")
    assert [x["name"] for x in r.json_body] == ["alpha-scan", "beta-scan"]
    assert json.loads(r.headers["X-Sort"]) == {"sort": {"creator_username": -1, "name": 1}}
    default = personas.call("POST", "/uris", "admin")
    assert [x["uri"] for x in default.json_body] == sorted(x["uri"] for x in default.json_body)
    assert json.loads(default.headers["X-Sort"]) == {"sort": {"uri": 1}}


@pytest.mark.parametrize(
    "query,body",
    [
        ("", {"$text": {"$search": "x"}}),
        ("", {"free_text": 3}),
        ("", {"tags": "lidar"}),
        ("", {"uuids": ["not-a-uuid"]}),
        ("", {"base_uris": ["s3://bucket-a/"]}),
        ("", [1]),
        ("?sort=readme", {}),
        ("?page_size=101", {}),
        ("?page=1001&page_size=10", {}),
        ("?free_text=x", {}),  # POST takes its filters in the body
    ],
)
def test_uris_search_refuses_bad_input_with_400_json(personas: Api, query: str, body: object) -> None:
    r = personas.post(f"/uris{query}", body, user="reader")
    assert r.status_code == 400 and set(r.json_body) >= {"Code", "Message"} and "msg" not in r.json_body


# -- /uris/{uri} and the parts of a dataset by URI ----------------------------------------
def test_a_dataset_and_its_parts_by_uri_in_both_path_forms(personas: Api) -> None:
    body = register(personas, tags=["lidar"], annotations={"site": "north"})
    personas.sync()
    encoded = quote_plus(body["uri"])
    suffix = body["uri"].replace("://", "/", 1)
    for path in (encoded, suffix, encoded.lower()):  # escapes in either case
        got = personas.get(f"/uris/{path}", user="reader")
        assert got.status_code == 200, (path, got.body)
        assert got.json_body["uri"] == body["uri"] and got.json_body["uuid"] == body["uuid"]
        assert personas.get(f"/readmes/{path}", user="reader").json_body == {"readme": body["readme"]}
        manifest = personas.get(f"/manifests/{path}", user="reader").json_body
        assert set(manifest) >= {"items", "hash_function"} and len(manifest["items"]) == 2
        assert personas.get(f"/annotations/{path}", user="reader").json_body == {"annotations": {"site": "north"}}
        assert personas.get(f"/tags/{path}", user="reader").json_body == {"tags": ["lidar"]}


@pytest.mark.parametrize("part", ["uris", "readmes", "manifests", "annotations", "tags"])
def test_a_dataset_the_caller_may_not_see_is_404_by_uri(personas: Api, part: str) -> None:
    body = register(personas)
    for user in ("outsider", "bravo"):
        hidden = personas.get(f"/{part}/{quote_plus(body['uri'])}", user=user)
        absent = personas.get(
            f"/{part}/{quote_plus(BUCKET_A + '/' + '0' * 8 + '-0000-4000-8000-' + '0' * 12)}", user=user
        )
        assert hidden.status_code == absent.status_code == 404
        assert hidden.json_body["Code"] == absent.json_body["Code"] and "msg" not in hidden.json_body
    assert personas.get(f"/{part}/{quote_plus(body['uri'])}", user=None).status_code == 401


def test_a_uri_that_does_not_end_with_its_uuid_is_found_through_the_index(personas: Api) -> None:
    body = registration(uri=f"{BUCKET_A}/projects/scan-7")
    assert personas.post("/datasets", body, user="champion").status_code == 201
    personas.sync()
    got = personas.get(f"/uris/{quote_plus(body['uri'])}", user="reader")
    assert got.status_code == 200 and got.json_body["uuid"] == body["uuid"]
    assert personas.get(f"/tags/{quote_plus(body['uri'])}", user="outsider").status_code == 404


def test_register_and_delete_by_uri(personas: Api) -> None:
    body = registration(frozen_at="1536238185.88", readme={"project": "lidar", "owners": ["a"]})
    path = f"/uris/{quote_plus(body['uri'])}"
    first = personas.put(path, body, user="champion")
    assert first.status_code == 201, first.body
    again = personas.put(path, body, user="champion")
    assert again.status_code == 200 and again.json_body["status"] == "unchanged"
    personas.sync()
    assert personas.get(path, user="reader").json_body["frozen_at"] == 1536238185.88
    readme = personas.get(f"/readmes/{quote_plus(body['uri'])}", user="reader").json_body["readme"]
    assert readme == "project: lidar\nowners:\n- a\n"
    # the URI in the path must be the body's; a registrar elsewhere may not; outsiders never
    other = personas.put(f"/uris/{quote_plus(body['uri'] + 'x')}", body, user="champion")
    assert other.status_code == 400 and other.json_body["Field"] == "uri"
    assert personas.put(path, body, user="bravo").status_code == 403
    assert personas.put(path, body, user="outsider").status_code == 403
    # delete: 404 to whoever may not see it, 403 to a reader who may, then gone for everyone
    assert personas.delete(path, user="bravo").status_code == 404
    assert personas.delete(path, user="reader").status_code == 403
    gone = personas.delete(path, user="champion")
    assert gone.status_code == 200 and gone.json_body["dataset_deleted"] is True
    personas.sync()
    assert personas.get(path, user="champion").status_code == 404
    assert personas.get(f"/readmes/{quote_plus(body['uri'])}", user="champion").status_code == 404
    assert _uris(personas, "champion", "", {"uuids": [body["uuid"]]})[0] == []  # the index forgot it too
    assert personas.delete(path, user="champion").status_code == 404


def test_register_refuses_a_base_uri_with_a_trailing_slash(personas: Api) -> None:
    body = registration()
    body["base_uri"] += "/"
    r = personas.put(f"/uris/{quote_plus(body['uri'])}", body, user="champion")
    assert r.status_code == 400 and r.json_body["Field"] == "base_uri"


# -- summaries ---------------------------------------------------------------------------
def test_summaries_as_dserver(personas: Api) -> None:
    _three(personas)
    mine = personas.get("/me/summary", user="reader").json_body
    assert mine["number_of_datasets"] == 2 and mine["base_uris"] == [BUCKET_A]
    assert mine["total_size_in_bytes"] == 2 * 3072
    assert mine["size_in_bytes_per_tag"] == {"lidar": 6144, "raw": 3072}
    assert mine["datasets_per_creator"] == {"olssont": 2} and mine["size_in_bytes_per_base_uri"] == {BUCKET_A: 6144}
    assert set(mine) >= {
        "number_of_datasets", "total_size_in_bytes", "creator_usernames", "base_uris", "tags",
        "datasets_per_creator", "datasets_per_base_uri", "datasets_per_tag",
        "size_in_bytes_per_creator", "size_in_bytes_per_base_uri", "size_in_bytes_per_tag",
    }  # fmt: skip
    assert personas.get("/users/reader/summary", user="admin").json_body == mine
    assert personas.get("/users/reader/summary", user="reader").json_body == mine
    assert personas.get("/users/reader/summary", user="champion").status_code == 403
    assert personas.get("/users/nobody/summary", user="admin").status_code == 404
    assert personas.get("/me/summary", user="outsider").json_body["number_of_datasets"] == 0


# -- users and base URIs as dserver manages them -------------------------------------------
def test_users_list_put_and_delete(personas: Api) -> None:
    r = personas.get("/users?page_size=2&sort=-username", user="admin")
    assert r.status_code == 200 and len(r.json_body) == 2
    names = [u["username"] for u in personas.get("/users?page_size=100", user="admin").json_body]
    assert [u["username"] for u in r.json_body] == sorted(names, reverse=True)[:2]
    assert json.loads(r.headers["X-Pagination"])["total"] == len(names)
    assert personas.put("/users/dora", {"is_admin": False}, user="admin").status_code == 201
    assert personas.put("/users/dora", {"username": "dora", "is_admin": True}, user="admin").status_code == 200
    assert personas.get("/users/dora", user="admin").json_body["is_admin"] is True
    assert personas.put("/users/dora", {"username": "eve"}, user="admin").status_code == 400
    assert personas.put("/users/dora", {"is_admin": "yes"}, user="admin").status_code == 400
    assert personas.put("/users/dora", {"is_admin": True}, user="champion").status_code == 403
    assert personas.get("/users", user="champion").status_code == 403
    assert personas.delete("/users/dora", user="admin").status_code == 200
    assert personas.get("/users/dora", user="admin").status_code == 404


def test_base_uris_list_put_and_delete(personas: Api) -> None:
    listed = personas.get("/base-uris?sort=-base_uri", user="admin")
    assert [b["base_uri"] for b in listed.json_body] == sorted((b["base_uri"] for b in listed.json_body), reverse=True)
    new = quote_plus("s3://bucket-new")
    perms = {"users_with_search_permissions": ["reader"], "users_with_register_permissions": []}
    assert personas.put(f"/base-uris/{new}", perms, user="admin").status_code == 201
    got = personas.get(f"/base-uris/{new}", user="admin").json_body
    assert got["users_with_search_permissions"] == ["reader"] and got["users_with_register_permissions"] == []
    perms = {
        "base_uri": "s3://bucket-new",
        "users_with_search_permissions": [],
        "users_with_register_permissions": ["champion"],
    }
    assert personas.put(f"/base-uris/{new}", perms, user="admin").status_code == 200
    assert personas.get("/me", user="champion").json_body["register_permissions_on_base_uris"] == sorted(
        [BUCKET_A, "s3://bucket-new"]
    )
    # bad input changes nothing: an unknown user, a trailing slash, another base URI in the body
    unknown = {"users_with_search_permissions": ["nobody"], "users_with_register_permissions": []}
    assert personas.put(f"/base-uris/{quote_plus('s3://bucket-x')}", unknown, user="admin").status_code == 400
    assert personas.get(f"/base-uris/{quote_plus('s3://bucket-x')}", user="admin").status_code == 404
    assert personas.put(f"/base-uris/{quote_plus('s3://bucket-x/')}", perms, user="admin").status_code == 400
    assert personas.put(f"/base-uris/{new}", {**perms, "base_uri": "s3://other"}, user="admin").status_code == 400
    assert personas.put(f"/base-uris/{new}", perms, user="champion").status_code == 403
    # delete: only an empty one; permissions go with it
    assert personas.delete(f"/base-uris/{new}", user="champion").status_code == 403
    assert personas.delete(f"/base-uris/{new}", user="admin").status_code == 200
    assert personas.get(f"/base-uris/{new}", user="admin").status_code == 404
    assert "s3://bucket-new" not in personas.get("/me", user="champion").json_body["register_permissions_on_base_uris"]
    assert personas.delete(f"/base-uris/{new}", user="admin").status_code == 404


def test_a_base_uri_holding_datasets_is_not_deleted(personas: Api) -> None:
    register(personas)
    personas.sync()
    r = personas.delete(f"/base-uris/{quote_plus(BUCKET_A)}", user="admin")
    assert r.status_code == 409 and "holds" in r.json_body["Message"]
    assert personas.get("/me", user="champion").json_body["register_permissions_on_base_uris"] == [BUCKET_A]


def test_paging_headers_are_exposed_to_browsers(personas: Api) -> None:
    uuid = register(personas)["uuid"]
    r = personas.get(f"/uuids/{uuid}", user="reader")
    headers = {k.lower(): v for k, v in r.headers.items()}
    assert headers["access-control-allow-origin"] == LOCAL_WEB_ORIGIN  # the web page's origin only
    exposed = {h.strip() for h in headers["access-control-expose-headers"].split(",")}
    assert {"X-Pagination", "X-Sort", "X-Total-Count", "Link", "ETag"} <= exposed
    denied = personas.get(f"/uuids/{uuid}", user=None)  # errors carry them too (a browser reads the 401)
    assert {k.lower() for k in denied.headers} >= {"access-control-allow-origin"}
