"""The dtool-lookup-server 0.18 routes (chalicelib/routes/lookup_server.py) in process:
the shapes dtool-lookup-api 0.7.0 and the 0.18 README read, paging headers, what each
persona sees, and bad input refused with 400 JSON, changing nothing."""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.support.data import registration

ROW = {
    "base_uri", "uri", "uuid", "name", "creator_username", "frozen_at", "created_at",
    "number_of_items", "size_in_bytes",
}  # fmt: skip
ABSENT_UUID = "00000000-0000-4000-8000-000000000000"


def register(api: Api, user: str = "champion", **kw: Any) -> dict[str, Any]:
    body = registration(**kw)
    r = api.post("/dataset/register", body, user=user)
    assert r.status_code == 201, r.body
    return body


def three(api: Api) -> list[dict[str, Any]]:
    """Two datasets on bucket-a (champion's), one on bucket-b (bravo's)."""
    out = [
        register(api, name="alpha-scan", tags=["lidar"]),
        register(api, name="beta-scan", tags=["lidar", "raw"]),
        register(api, user="bravo", base_uri=BUCKET_B, name="gamma", creator_username="bravo"),
    ]
    api.sync()
    return out


def pages(response: Any) -> dict[str, int]:
    return dict(json.loads(response.headers["X-Pagination"]))


def is_json(response: Any) -> bool:
    return {k.lower(): v for k, v in response.headers.items()}.get("content-type") == "application/json"


def refused(response: Any, status: int = 400) -> bool:
    """An error as ours: ``{"Code", "Message"}`` JSON (its Content-Type is the gateway's
    default for a non-text body, which chalice.test does not add; the e2e walkthrough checks it)."""
    body = response.json_body
    return response.status_code == status and set(body or ()) >= {"Code", "Message"} and "msg" not in body


# -- GET /dataset/lookup/<uuid> -------------------------------------------------------------
def test_lookup_gives_one_row_per_uri_the_caller_may_see(personas: Api) -> None:
    uuid = register(personas)["uuid"]
    register(personas, user="bravo", base_uri=BUCKET_B, uuid=uuid)  # the same uuid, another entry
    both = personas.get(f"/dataset/lookup/{uuid}", user="admin")
    assert both.status_code == 200 and is_json(both)
    assert [r["uri"] for r in both.json_body] == [f"{BUCKET_A}/{uuid}", f"{BUCKET_B}/{uuid}"]
    assert set(both.json_body[0]) == ROW
    assert both.json_body[0]["frozen_at"] == 1700000000.5 and both.json_body[0]["created_at"] == 1699990000.0
    assert pages(both) == {"total": 2, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1}
    assert "X-Sort" not in both.headers  # 0.18 sent none
    assert [r["base_uri"] for r in personas.get(f"/dataset/lookup/{uuid}", user="reader").json_body] == [BUCKET_A]
    assert [r["base_uri"] for r in personas.get(f"/dataset/lookup/{uuid}", user="bravo").json_body] == [BUCKET_B]
    for hidden in (
        personas.get(f"/dataset/lookup/{uuid}", user="outsider"),
        personas.get(f"/dataset/lookup/{ABSENT_UUID}"),
    ):
        assert hidden.status_code == 200 and hidden.json_body == []
        assert pages(hidden) == {"total": 0, "total_pages": 0}
    second = personas.get(f"/dataset/lookup/{uuid}?page=2&page_size=1", user="admin")
    assert [r["base_uri"] for r in second.json_body] == [BUCKET_B]
    assert pages(second) == {
        "total": 2, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2, "previous_page": 1,
    }  # fmt: skip
    past = personas.get(f"/dataset/lookup/{uuid}?page=3&page_size=1", user="admin")
    assert past.status_code == 200 and past.json_body == [] and "page" not in pages(past)
    assert personas.get(f"/dataset/lookup/{uuid}", user=None).status_code == 401


BAD_PATHS = (
    "/dataset/lookup/not-a-uuid",
    f"/dataset/lookup/{ABSENT_UUID}?page=0",
    f"/dataset/lookup/{ABSENT_UUID}?page_size=101",
    f"/dataset/lookup/{ABSENT_UUID}?page_size=x",
    f"/dataset/lookup/{ABSENT_UUID}?sort=uri",
    "/dataset/list?page_size=0",
    "/dataset/list?page=1&page=2",
    "/dataset/list?free_text=x",
    "/dataset/list?page=1001&page_size=10",
    "/admin/user/list?page_size=101",
    "/admin/base_uri/list?page=-1",
)


def test_bad_paging_or_parameters_are_400_json(personas: Api) -> None:
    for path in BAD_PATHS:
        user = "admin" if path.startswith("/admin") else "reader"
        assert refused(personas.get(path, user=user)), path


# -- GET /dataset/list, /dataset/summary, POST /dataset/search --------------------------------
def test_list_shows_what_the_caller_may_search_in_uri_order(personas: Api) -> None:
    a, b, c = three(personas)
    listed = personas.get("/dataset/list", user="admin")
    assert listed.status_code == 200 and is_json(listed)
    assert [r["uri"] for r in listed.json_body] == sorted(x["uri"] for x in (a, b, c))
    assert set(listed.json_body[0]) == ROW
    assert pages(listed) == {"total": 3, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1}
    assert sorted(r["name"] for r in personas.get("/dataset/list", user="reader").json_body) == [
        "alpha-scan",
        "beta-scan",
    ]
    assert [r["name"] for r in personas.get("/dataset/list", user="bravo").json_body] == ["gamma"]
    nothing = personas.get("/dataset/list", user="outsider")
    assert nothing.json_body == [] and pages(nothing) == {"total": 0, "total_pages": 0}
    paged = personas.get("/dataset/list?page=2&page_size=2", user="admin")
    assert len(paged.json_body) == 1 and pages(paged)["previous_page"] == 1
    assert personas.get("/dataset/list", user=None).status_code == 401


def test_summary_has_the_0_18_keys_over_what_the_caller_may_search(personas: Api) -> None:
    three(personas)
    mine = personas.get("/dataset/summary", user="reader")
    assert mine.status_code == 200 and is_json(mine)
    body = mine.json_body
    assert set(body) >= {
        "number_of_datasets", "creator_usernames", "base_uris", "tags",
        "datasets_per_creator", "datasets_per_base_uri", "datasets_per_tag",
    }  # fmt: skip
    assert body["number_of_datasets"] == 2 and body["base_uris"] == [BUCKET_A]
    assert body["creator_usernames"] == ["olssont"] and body["datasets_per_creator"] == {"olssont": 2}
    assert body["tags"] == ["lidar", "raw"] and body["datasets_per_tag"] == {"lidar": 2, "raw": 1}
    assert personas.get("/dataset/summary", user="admin").json_body["number_of_datasets"] == 3
    assert personas.get("/dataset/summary", user="outsider").json_body["number_of_datasets"] == 0


def test_search_filters_as_0_18_and_returns_rows_with_type_and_tags(personas: Api) -> None:
    a, b, c = three(personas)

    def names(body: object, user: str = "admin") -> list[str]:
        r = personas.post("/dataset/search", body, user=user)
        assert r.status_code == 200 and is_json(r), r.body
        return sorted(x["name"] for x in r.json_body)

    everything = personas.call("POST", "/dataset/search", "admin")  # no body counts as {}
    assert everything.status_code == 200 and len(everything.json_body) == 3
    assert pages(everything) == {"total": 3, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1}
    hit = next(x for x in everything.json_body if x["uuid"] == b["uuid"])
    assert set(hit) == ROW | {"type", "tags"}
    assert hit["type"] == "dataset" and hit["tags"] == ["lidar", "raw"]
    assert hit["uri"] == b["uri"] and hit["number_of_items"] == 2 and hit["size_in_bytes"] == 3072
    assert names({}) == ["alpha-scan", "beta-scan", "gamma"]
    assert names({"free_text": "scan"}) == ["alpha-scan", "beta-scan"]
    assert names({"tags": ["lidar", "raw"]}) == ["beta-scan"]  # every tag (AND)
    assert names({"creator_usernames": ["bravo", "nobody"]}) == ["gamma"]  # any creator (OR)
    assert names({"base_uris": [BUCKET_A, BUCKET_B], "free_text": "gamma"}) == ["gamma"]
    assert names({"uuids": [a["uuid"], c["uuid"]]}) == ["alpha-scan", "gamma"]
    # base URIs the caller may not search are dropped, as in 0.18
    assert names({}, user="reader") == ["alpha-scan", "beta-scan"]
    assert names({"base_uris": [BUCKET_B]}, user="reader") == []
    assert names({}, user="outsider") == []
    paged = personas.post("/dataset/search?page=2&page_size=2", {}, user="admin")
    assert len(paged.json_body) == 1 and pages(paged)["page"] == 2
    assert personas.post("/dataset/search", {}, user=None).status_code == 401


def test_search_refuses_bad_input_with_400_json(personas: Api) -> None:
    for query, body in (
        ("", {"$text": {"$search": "x"}}),  # dtool-lookup-client 0.1's raw Mongo query: 422 in 0.18
        ("", {"free_text": 3}),
        ("", {"tags": "lidar"}),
        ("", {"uuids": ["not-a-uuid"]}),
        ("", {"base_uris": ["s3://bucket-a/"]}),
        ("", [1]),
        ("?page_size=101", {}),
        ("?page=1001&page_size=10", {}),
        ("?sort=name", {}),
        ("?free_text=x", {}),
    ):
        assert refused(personas.post(f"/dataset/search{query}", body, user="reader")), (query, body)
    assert refused(personas.call("POST", "/dataset/search", "reader", raw=b"{"))


# -- POST /dataset/register -------------------------------------------------------------------
def test_register_answers_201_uri_for_new_and_repeated_registrations(personas: Api) -> None:
    body = registration()
    first = personas.post("/dataset/register", body, user="champion")
    assert first.status_code == 201 and first.json_body == {"uri": body["uri"]} and is_json(first)
    again = personas.post("/dataset/register", body, user="champion")
    assert again.status_code == 201 and again.json_body == {"uri": body["uri"]}
    assert personas.get(f"/datasets/{body['uuid']}").json_body["version"] == 1  # the same content: no change
    changed = personas.post("/dataset/register", {**body, "name": "renamed"}, user="champion")
    assert changed.status_code == 201 and changed.json_body == {"uri": body["uri"]}
    assert personas.get(f"/datasets/{body['uuid']}").json_body["name"] == "renamed"


def test_register_takes_the_0_17_readme_body_0_18_refused(personas: Api) -> None:
    """The README's example: float timestamps, ``dtoolcore_version``, a README mapping."""
    body = registration(
        created_at=1537802877.62,
        frozen_at=1537916653.7,
        dtoolcore_version="3.7.0",
        readme={"accession_id": "U00096.3", "description": "U00096.3 genome with Bowtie2 indices"},
        annotations={},
    )
    body.pop("manifest")
    r = personas.post("/dataset/register", body, user="champion")
    assert r.status_code == 201, r.body
    readme = personas.post("/dataset/readme", {"uri": body["uri"]}, user="reader").json_body
    assert yaml.safe_load(readme) == body["readme"]
    row = personas.get(f"/dataset/lookup/{body['uuid']}", user="reader").json_body[0]
    assert row["frozen_at"] == 1537916653.7 and row["created_at"] == 1537802877.62 and row["number_of_items"] == 0


def test_register_needs_register_permission_on_the_body_s_base_uri(personas: Api) -> None:
    body = registration()
    assert refused(personas.post("/dataset/register", body, user="bravo"), 403)  # registrar elsewhere
    assert refused(personas.post("/dataset/register", body, user="reader"), 403)  # search only
    assert refused(personas.post("/dataset/register", {"junk": 1}, user="outsider"), 403)  # authorize first
    assert personas.post("/dataset/register", body, user=None).status_code == 401
    unregistered = registration(base_uri="s3://bucket-nobody-registered")
    assert refused(personas.post("/dataset/register", unregistered, user="admin"))
    assert personas.get(f"/dataset/lookup/{body['uuid']}").json_body == []


def test_register_refuses_bad_bodies_with_400_and_changes_nothing(personas: Api) -> None:
    for change in (
        {"uuid": "not-a-uuid"},
        {"type": "protodataset"},
        {"base_uri": "s3://bucket-a/"},
        {"frozen_at": "yesterday"},
        {"uri": "s3://bucket-b/elsewhere"},
        {"unknown_key": 1},
        {"name": None},
    ):
        assert refused(personas.post("/dataset/register", {**registration(), **change}, user="champion")), change
    assert refused(personas.call("POST", "/dataset/register", "champion", raw=b"[]"))
    assert refused(personas.call("POST", "/dataset/register", "champion"))
    assert personas.get("/dataset/list", user="admin").json_body == []


# -- POST /dataset/readme | manifest | annotations ----------------------------------------------
def test_parts_of_a_dataset_by_uri(personas: Api) -> None:
    body = register(personas, annotations={"site": "north"})
    readme = personas.post("/dataset/readme", {"uri": body["uri"]}, user="reader")
    assert readme.status_code == 200 and is_json(readme)
    assert json.loads(readme.body) == body["readme"]  # a JSON string, as 0.18 sent it
    manifest = personas.post("/dataset/manifest", {"uri": body["uri"]}, user="reader")
    assert manifest.status_code == 200 and is_json(manifest)
    assert manifest.json_body == body["manifest"]
    annotations = personas.post("/dataset/annotations", {"uri": body["uri"]}, user="reader")
    assert annotations.status_code == 200 and annotations.json_body == {"site": "north"}


def test_a_part_the_caller_may_not_see_is_404_like_an_absent_one(personas: Api) -> None:
    body = register(personas)
    for part in ("readme", "manifest", "annotations"):
        _hidden_part(personas, part, body)


def _hidden_part(personas: Api, part: str, body: dict[str, Any]) -> None:
    for user in ("outsider", "bravo"):
        hidden = personas.post(f"/dataset/{part}", {"uri": body["uri"]}, user=user)
        absent = personas.post(f"/dataset/{part}", {"uri": f"{BUCKET_A}/{ABSENT_UUID}"}, user=user)
        assert refused(hidden, 404) and refused(absent, 404)
        assert hidden.json_body["Code"] == absent.json_body["Code"] and set(hidden.json_body) == set(absent.json_body)
    assert refused(personas.post(f"/dataset/{part}", {"uri": f"{BUCKET_A}/{ABSENT_UUID}"}, user="admin"), 404)
    for bad in (b"", b"{", b"{}", b"[]", b'{"uri": 7}', b'{"uri": ""}', b'{"uri": "s3://x/y", "more": 1}'):
        assert refused(personas.call("POST", f"/dataset/{part}", "reader", raw=bad)), bad
    assert personas.post(f"/dataset/{part}", {"uri": body["uri"]}, user=None).status_code == 401


# -- GET /user/info/<username>, /admin/user/* ----------------------------------------------------
def test_user_info_for_oneself_or_an_admin(personas: Api) -> None:
    mine = personas.get("/user/info/champion", user="champion")
    assert mine.status_code == 200 and is_json(mine)
    assert {k: mine.json_body[k] for k in ("username", "is_admin")} == {"username": "champion", "is_admin": False}
    assert mine.json_body["search_permissions_on_base_uris"] == [BUCKET_A]
    assert mine.json_body["register_permissions_on_base_uris"] == [BUCKET_A]
    assert personas.get("/user/info/champion", user="admin").json_body == mine.json_body
    assert refused(personas.get("/user/info/champion", user="reader"), 403)
    assert refused(personas.get("/user/info/nobody", user="reader"), 403)  # the same answer: no oracle
    assert refused(personas.get("/user/info/nobody", user="admin"), 404)
    assert refused(personas.get("/user/info/not%20a%20name", user="admin"))
    assert personas.get("/user/info/champion", user=None).status_code == 401


def test_admin_user_list_is_paged(personas: Api) -> None:
    listed = personas.get("/admin/user/list?page_size=100", user="admin")
    assert listed.status_code == 200 and is_json(listed)
    names = [u["username"] for u in listed.json_body]
    assert names == sorted(names) and {"admin", "champion", "reader", "outsider", "bravo"} <= set(names)
    assert all({"username", "is_admin"} <= set(u) for u in listed.json_body)
    assert next(u for u in listed.json_body if u["username"] == "admin")["is_admin"] is True
    first = personas.get("/admin/user/list?page_size=2", user="admin")
    assert [u["username"] for u in first.json_body] == names[:2]
    assert pages(first)["total"] == len(names) and pages(first)["next_page"] == 2
    past = personas.get("/admin/user/list?page=99", user="admin")
    assert past.status_code == 200 and past.json_body == []  # 0.18: 404
    assert refused(personas.get("/admin/user/list", user="champion"), 403)


def test_admin_user_register_adds_new_users_and_skips_existing_ones(personas: Api) -> None:
    r = personas.post(
        "/admin/user/register",
        [{"username": "admin", "is_admin": True}, {"username": "joe"}, {"username": "dora", "is_admin": True}],
    )
    assert r.status_code == 201 and is_json(r)
    assert r.json_body == {"registered": ["joe", "dora"], "skipped": ["admin"]}
    assert personas.get("/user/info/dora").json_body["is_admin"] is True
    assert personas.get("/user/info/joe").json_body["is_admin"] is False
    again = personas.post("/admin/user/register", [{"username": "joe", "is_admin": True}])
    assert again.status_code == 201 and again.json_body == {"registered": [], "skipped": ["joe"]}
    assert personas.get("/user/info/joe").json_body["is_admin"] is False  # skipped means unchanged


def test_admin_user_register_refuses_bad_bodies_and_adds_nobody(personas: Api) -> None:
    for body in (
        {"username": "solo"},  # a single object: 422 in 0.18
        [{"username": "solo"}, {"username": "bad name"}],  # one bad entry: none added
        [{"username": "solo", "is_admin": "yes"}],
        [{"username": "solo", "password": "x"}],
        ["solo"],
        [{"username": "system"}],  # reserved for the catalogue's own actors
    ):
        assert refused(personas.post("/admin/user/register", body)), body
    assert refused(personas.call("POST", "/admin/user/register", "admin"))
    assert refused(personas.get("/user/info/solo"), 404)


def test_admin_routes_are_403_to_everyone_else_whatever_they_send(personas: Api) -> None:
    for user in ("champion", "reader", "bravo", "outsider"):
        for path, body in (
            ("/admin/user/register", [{"username": "mallory", "is_admin": True}]),
            ("/admin/base_uri/register", {"base_uri": "s3://evil"}),
            ("/admin/permission/info", {"base_uri": BUCKET_A}),
            (
                "/admin/permission/update_on_base_uri",
                {
                    "base_uri": BUCKET_A,
                    "users_with_search_permissions": [user],
                    "users_with_register_permissions": [user],
                },
            ),
            ("/admin/permission/info", {"nonsense": True}),
        ):
            assert refused(personas.post(path, body, user=user), 403), (user, path)
        for path in ("/admin/user/list", "/admin/base_uri/list"):
            assert refused(personas.get(path, user=user), 403), (user, path)
    assert refused(personas.get("/user/info/mallory"), 404)
    assert "s3://evil" not in [b["base_uri"] for b in personas.get("/admin/base_uri/list").json_body]
    assert personas.get("/user/info/outsider").json_body["search_permissions_on_base_uris"] == []


# -- /admin/base_uri/*, /admin/permission/* -------------------------------------------------------
def test_base_uri_register_is_idempotent_and_listed(personas: Api) -> None:
    first = personas.post("/admin/base_uri/register", {"base_uri": "s3://another-bucket"})
    assert first.status_code == 201 and first.json_body == {"base_uri": "s3://another-bucket"} and is_json(first)
    assert personas.post("/admin/base_uri/register", {"base_uri": "s3://another-bucket"}).status_code == 201
    listed = personas.get("/admin/base_uri/list")
    assert listed.status_code == 200
    rows = {b["base_uri"]: b for b in listed.json_body}
    assert list(rows) == sorted([BUCKET_A, BUCKET_B, "s3://another-bucket"])
    assert rows["s3://another-bucket"]["users_with_search_permissions"] == []
    assert rows[BUCKET_A]["users_with_register_permissions"] == ["champion"]
    assert pages(listed) == {"total": 3, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1}
    assert [b["base_uri"] for b in personas.get("/admin/base_uri/list?page=2&page_size=2").json_body] == [BUCKET_B]
    for bad in ({"base_uri": "s3://trailing/"}, {"base_uri": "http://x"}, {}, {"base_uri": "s3://x", "more": 1}):
        assert refused(personas.post("/admin/base_uri/register", bad)), bad
    assert len(personas.get("/admin/base_uri/list").json_body) == 3


def test_permission_info_and_update(personas: Api) -> None:
    info = personas.post("/admin/permission/info", {"base_uri": BUCKET_A})
    assert info.status_code == 200 and is_json(info)
    assert {
        k: info.json_body[k] for k in ("base_uri", "users_with_search_permissions", "users_with_register_permissions")
    } == {
        "base_uri": BUCKET_A,
        "users_with_search_permissions": ["champion", "reader"],
        "users_with_register_permissions": ["champion"],
    }
    update = {
        "base_uri": BUCKET_A,
        "users_with_search_permissions": ["outsider", "reader"],
        "users_with_register_permissions": ["outsider"],
    }
    r = personas.post("/admin/permission/update_on_base_uri", update)
    assert r.status_code == 201 and is_json(r)
    assert r.json_body["users_with_search_permissions"] == ["outsider", "reader"]
    assert r.json_body["users_with_register_permissions"] == ["outsider"]
    assert personas.get("/user/info/champion", user="champion").json_body["search_permissions_on_base_uris"] == []
    assert personas.get("/user/info/outsider", user="outsider").json_body["register_permissions_on_base_uris"] == [
        BUCKET_A
    ]
    cleared = {"base_uri": BUCKET_A, "users_with_search_permissions": [], "users_with_register_permissions": []}
    assert personas.post("/admin/permission/update_on_base_uri", cleared).status_code == 201
    assert (
        personas.post("/admin/permission/info", {"base_uri": BUCKET_A}).json_body["users_with_search_permissions"] == []
    )


def test_permission_update_refuses_bad_input_and_changes_nothing(personas: Api) -> None:
    lists: dict[str, list[str]] = {"users_with_search_permissions": [], "users_with_register_permissions": []}
    for body, status in (
        ({"base_uri": "s3://unknown-bucket", **lists}, 404),  # 0.18: 500
        ({"base_uri": BUCKET_A, "users_with_search_permissions": ["reader"]}, 400),  # 0.18: 500
        ({**lists, "base_uri": BUCKET_A, "users_with_search_permissions": ["nobody"]}, 400),  # 0.18: skipped
        ({**lists, "base_uri": BUCKET_A, "users_with_search_permissions": "reader"}, 400),
        (lists, 400),
        ({"base_uri": BUCKET_A, **lists, "x": 1}, 400),
        ([BUCKET_A], 400),
    ):
        assert refused(personas.post("/admin/permission/update_on_base_uri", body), status), body
    info = personas.post("/admin/permission/info", {"base_uri": BUCKET_A}).json_body
    assert info["users_with_search_permissions"] == ["champion", "reader"]
    assert info["users_with_register_permissions"] == ["champion"]


def test_permission_info_of_an_unknown_or_malformed_base_uri(personas: Api) -> None:
    assert refused(personas.post("/admin/permission/info", {"base_uri": "s3://unknown-bucket"}), 404)
    for bad in ({}, {"base_uri": "s3://bucket-a/"}, {"base_uri": BUCKET_A, "more": 1}, [BUCKET_A]):
        assert refused(personas.post("/admin/permission/info", bad)), bad
    assert refused(personas.call("POST", "/admin/permission/info", "admin"))
