"""Users, base URIs and permissions (admin API), and the caller's own record."""

from __future__ import annotations

from tests.functional.conftest import BUCKET_A, Api, base_uri_path


def test_me_and_first_request_creates_user_audited_by_system(api: Api) -> None:
    r = api.get("/users/me", user="newcomer")
    assert r.status_code == 200
    me = r.json_body
    assert me["username"] == "newcomer" and me["is_admin"] is False
    assert me["search_permissions_on_base_uris"] == []
    log = api.get("/users/newcomer/log").json_body["entries"]
    assert [(e["action"], e["user"]) for e in log] == [("add", "system")]


def test_admin_routes_are_forbidden_to_others(personas: Api) -> None:
    for method, path, body in (
        ("GET", "/users", None),
        ("POST", "/users", {"username": "x"}),
        ("GET", "/users/reader", None),
        ("PATCH", "/users/reader", {"is_admin": True}),
        ("DELETE", "/users/reader", None),
        ("GET", "/base-uris", None),
        ("POST", "/base-uris", {"base_uri": "s3://evil"}),
        ("GET", f"/base-uris/{base_uri_path(BUCKET_A)}", None),
        (
            "PUT",
            f"/base-uris/{base_uri_path(BUCKET_A)}/permissions",
            {"users_with_search_permissions": ["outsider"], "users_with_register_permissions": ["outsider"]},
        ),
        ("GET", "/users/reader/log", None),
        ("PATCH", f"/base-uris/{base_uri_path(BUCKET_A)}", {"public": True}),
    ):
        r = personas.call(method, path, "champion", body)
        assert r.status_code == 403, (method, path, r.body)
    assert personas.get("/users/me", user="outsider").json_body["search_permissions_on_base_uris"] == []


def test_users_crud(personas: Api) -> None:
    r = personas.post(
        "/users",
        {"username": "dora", "display_name": "Dora M", "email": "dora@example.org", "orcid": "0000-0002-1825-0097"},
    )
    assert r.status_code == 201
    assert personas.post("/users", {"username": "dora"}).status_code == 409
    listing = personas.get("/users?page_size=100").json_body
    assert "dora" in [u["username"] for u in listing]
    r = personas.patch("/users/dora", {"is_admin": True, "version": 1})
    assert r.status_code == 200 and r.json_body["is_admin"] is True
    assert personas.patch("/users/dora", {"display_name": "x", "version": 1}).status_code == 409
    assert personas.patch("/users/dora", {"is_admin": "yes"}).status_code == 400
    # an ORCID iD's last character is its check digit (ISO 7064 11,2)
    wrong = personas.patch("/users/dora", {"orcid": "0000-0002-1825-0098", "version": 2})
    assert wrong.status_code == 400 and wrong.json_body["Field"] == "orcid"
    assert personas.patch("/users/dora", {"password": "x"}).status_code == 400
    assert personas.delete("/users/dora").status_code == 200
    assert personas.get("/users/dora").status_code == 404
    # a removed user's valid token no longer works
    assert personas.get("/users/me", user="dora").status_code == 403
    actions = [(e["entity_type"], e["action"]) for e in personas.get("/users/dora/log").json_body["entries"]]
    assert actions == [("user", "add"), ("user", "edit"), ("user", "delete")]


def test_users_cannot_raise_their_own_rights(personas: Api) -> None:
    assert personas.patch("/users/reader", {"is_admin": True}, user="reader").status_code == 403
    assert personas.get("/users/me", user="reader").json_body["is_admin"] is False


def test_permissions_replace_and_are_audited(personas: Api) -> None:
    path = f"/base-uris/{base_uri_path(BUCKET_A)}"
    info = personas.get(path).json_body
    assert info["users_with_search_permissions"] == ["champion", "reader"]
    assert info["users_with_register_permissions"] == ["champion"]
    r = personas.put(
        f"{path}/permissions",
        {"users_with_search_permissions": ["champion"], "users_with_register_permissions": ["champion", "reader"]},
    )
    assert r.status_code == 200
    assert r.json_body["users_with_register_permissions"] == ["champion", "reader"]
    me = personas.get("/users/me", user="reader").json_body
    assert me["search_permissions_on_base_uris"] == [] and me["register_permissions_on_base_uris"] == [BUCKET_A]
    log = personas.get(f"{path}/log?limit=100").json_body["entries"]
    perms = [(e["entity_id"], e["action"]) for e in log if e["entity_type"] == "permission"]
    assert (f"reader|{BUCKET_A}|register", "add") in perms
    assert (f"reader|{BUCKET_A}|search", "delete") in perms
    unknown = personas.put(
        f"{path}/permissions", {"users_with_search_permissions": ["ghost"], "users_with_register_permissions": []}
    )
    assert unknown.status_code == 400
    assert personas.get(f"/base-uris/{base_uri_path('s3://nope')}").status_code == 404


def test_base_uris(personas: Api) -> None:
    assert personas.post("/base-uris", {"base_uri": BUCKET_A}).status_code == 409
    for bad in ("http://example.org", "s3://bucket/", "s3://a//b", "file:///../etc", "s3://b/%2e%2e"):
        r = personas.post("/base-uris", {"base_uri": bad})
        assert r.status_code == 400, bad
    r = personas.post("/base-uris", {"base_uri": "s3://bucket-c/projects/x", "description": "Project X"})
    assert r.status_code == 201
    names = [b["base_uri"] for b in personas.get("/base-uris?page_size=100").json_body]
    assert names == sorted([BUCKET_A, "s3://bucket-b", "s3://bucket-c/projects/x"])


def test_an_admin_publishes_and_withdraws_a_base_uri_and_the_log_keeps_both(personas: Api) -> None:
    path = f"/base-uris/{base_uri_path(BUCKET_A)}"
    assert personas.get(path).json_body["public"] is False
    before = personas.get(path).json_body["version"]
    r = personas.call("PATCH", path, "admin", {"public": True})
    assert r.status_code == 200, r.body
    assert r.json_body["public"] is True and r.json_body["version"] == before + 1
    assert r.json_body["users_with_search_permissions"]  # the permissions are kept
    # the same value again writes nothing
    assert personas.call("PATCH", path, "admin", {"public": True}).json_body["version"] == before + 1
    r = personas.call("PATCH", path, "admin", {"public": False, "description": "withdrawn"})
    assert r.json_body["public"] is False and r.json_body["description"] == "withdrawn"
    assert personas.get(path).json_body["public"] is False
    for bad in ({}, {"public": "yes"}, {"public": 1}, {"public": True, "owner": "x"}, [True]):
        r = personas.call("PATCH", path, "admin", bad)
        assert r.status_code == 400, bad
    assert personas.get(path).json_body["version"] == before + 2  # refusals changed nothing
    log = personas.get(f"{path}/log?limit=100").json_body["entries"]
    published = [e["value"].get("public") for e in log if e["entity_type"] == "base_uri" and e["action"] == "edit"]
    assert published[-2:] in ([True, False], [False, True])  # whatever the log's order: both changes
    assert (
        personas.call("PATCH", f"/base-uris/{base_uri_path('s3://nope')}", "admin", {"public": True}).status_code == 404
    )
