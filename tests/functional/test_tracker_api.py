"""The Data Tracker's /api/v1 (issue 19), as its personas use it (functional tier).

Personas: ``dm`` (DATA_MANAGEMENT), ``orderer`` (ORDERS and ORDERS_SPECIAL; the editor of
the orders it makes), ``um`` (USER_MANAGEMENT), ``searcher`` (USER_SEARCH), ``plain`` (no
topics), ``outsider`` (no topics, never an editor) and anonymous callers. Where our answer
differs from the original Data Tracker's on purpose (404 where it answered 403), the test
says so; the original's cells are in docs/research/data-tracker.md §4.2.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chalicelib.domain import user_uuid
from tests.functional.conftest import BUCKET_B, Api
from tests.functional.test_datasets import register

V1 = "/api/v1"
TOPICS = {
    "dm": ["DATA_MANAGEMENT"],
    "orderer": ["ORDERS", "ORDERS_SPECIAL"],
    "um": ["USER_MANAGEMENT"],
    "searcher": ["USER_SEARCH"],
    "plain": [],
    "outsider": [],
}


@pytest.fixture
def tracker(api: Api) -> Api:
    for name, topics in TOPICS.items():
        assert api.post("/users", {"username": name, "email": f"{name}@example.org"}).status_code == 201
        if topics:
            r = api.patch(f"{V1}/user/{user_uuid(name)}", {"permissions": topics})
            assert r.status_code == 200, r.body
    return api


def order(api: Api, user: str = "orderer", **fields: Any) -> str:
    r = api.post(f"{V1}/order", {"title": "Sequencing of soil samples", **fields}, user=user)
    assert r.status_code == 200, r.body
    return str(r.json_body["_id"])


def dataset(api: Api, order_id: str, user: str = "orderer", **fields: Any) -> str:
    r = api.post(f"{V1}/order/{order_id}/dataset", {"title": "Run 1 reads", **fields}, user=user)
    assert r.status_code == 200, r.body
    return str(r.json_body["_id"])


def test_an_order_with_a_dataset_and_its_log(tracker: Api) -> None:
    api = tracker
    o = order(api, description="*markdown*")
    d = dataset(api, o, cross_references=[{"title": "ENA", "value": "ENA:PRJEB1234"}])
    got = api.get(f"{V1}/order/{o}", user="orderer")
    assert got.status_code == 200, got.body
    doc = got.json_body["order"]
    assert doc["title"] == "Sequencing of soil samples" and doc["description"] == "*markdown*"
    assert doc["datasets"] == [{"_id": d, "title": "Run 1 reads"}]
    assert [e["_id"] for e in doc["editors"]] == [user_uuid("orderer")]
    assert api.patch(f"{V1}/dataset/{d}", {"description": "reads of run 1"}, user="orderer").status_code == 200
    log = api.get(f"{V1}/dataset/{d}/log", user="orderer")
    assert log.status_code == 200, log.body
    logs = log.json_body["logs"]
    assert [e["action"] for e in logs] == ["add", "edit"]
    assert logs[1]["data"]["title"] == "Run 1 reads" and logs[1]["data"]["description"] == "reads of run 1"
    assert logs[1]["comment"] == "Dataset updated" and logs[1]["user"] == user_uuid("orderer")


def test_orders_by_persona(tracker: Api) -> None:
    """The order rules: ORDERS_SPECIAL adds, editors (with ORDERS) and DATA_MANAGEMENT read and
    change; everyone else is refused: 401 anonymous, 403 without ORDERS, 404 with ORDERS but
    not an editor (the original answered 403: an existence oracle)."""
    api = tracker
    o = order(api)
    assert api.post(f"{V1}/order", {"title": "x"}, user=None).status_code == 401
    for user in ("plain", "um", "searcher", "dm"):  # dm: DATA_MANAGEMENT alone may not add (ORDERS_SPECIAL)
        assert api.post(f"{V1}/order", {"title": "x"}, user=user).status_code == 403, user
    for user, status in (("orderer", 200), ("dm", 200), ("admin", 200), ("plain", 403), ("um", 403), (None, 401)):
        assert api.get(f"{V1}/order/{o}", user=user).status_code == status, user
    # another ORDERS holder who does not edit it: 404, as for an unknown order
    assert api.post("/users", {"username": "orderer2"}).status_code == 201
    assert api.patch(f"{V1}/user/{user_uuid('orderer2')}", {"permissions": ["ORDERS"]}).status_code == 200
    assert api.get(f"{V1}/order/{o}", user="orderer2").status_code == 404
    assert api.get(f"{V1}/order/00000000-0000-4000-8000-000000000000", user="orderer2").status_code == 404
    assert api.patch(f"{V1}/order/{o}", {"title": "stolen"}, user="orderer2").status_code == 404
    assert api.delete(f"{V1}/order/{o}", user="orderer2").status_code == 404
    # lists: own orders, all for DATA_MANAGEMENT
    assert [x["_id"] for x in api.get(f"{V1}/order", user="orderer").json_body["orders"]] == [o]
    assert api.get(f"{V1}/order", user="orderer2").json_body["orders"] == []
    assert api.get(f"{V1}/order", user="dm").json_body["total"] == 1
    assert api.get(f"{V1}/order", user="plain").status_code == 403
    # DATA_MANAGEMENT edits any order; the editor is then shown the change
    assert api.patch(f"{V1}/order/{o}", {"title": "Soil, renamed"}, user="dm").status_code == 200
    assert api.get(f"{V1}/order/{o}", user="orderer").json_body["order"]["title"] == "Soil, renamed"


def test_bad_input_is_refused_and_changes_nothing(tracker: Api) -> None:
    api = tracker
    o = order(api)
    for body in ({"title": ""}, {"title": 5}, {"_id": o}, {"datasets": []}, {"colour": "red"}, {"editors": "x"}):
        r = api.patch(f"{V1}/order/{o}", body, user="orderer")
        assert r.status_code == 400, (body, r.body)
        assert set(r.json_body) >= {"Code", "Message"}
    r = api.patch(f"{V1}/order/{o}", {"editors": ["00000000-0000-4000-8000-000000000000"]}, user="orderer")
    assert r.status_code == 400 and r.json_body["Field"] == "editors"
    r = api.post(f"{V1}/order/{o}/dataset", {"title": "x", "cross_references": [{"title": "t", "value": "no scheme"}]},
                 user="orderer")  # fmt: skip
    assert r.status_code == 400
    assert api.get(f"{V1}/order/{o}", user="orderer").json_body["order"]["title"] == "Sequencing of soil samples"
    assert api.get(f"{V1}/order/{o}", user="orderer").json_body["order"]["datasets"] == []
    # an outsider learns nothing from a bad body: authorization comes first
    assert api.patch(f"{V1}/order/{o}", {"colour": "red"}, user="plain").status_code == 403
    assert api.patch(f"{V1}/order/{o}", {"colour": "red"}, user=None).status_code == 401


def test_published_datasets_and_collections_are_public_without_their_hidden_fields(tracker: Api) -> None:
    api = tracker
    o = order(api)
    d = dataset(api, o)
    c = api.post(f"{V1}/collection", {"title": "Soil", "datasets": [d]}, user="orderer").json_body["_id"]
    # unpublished: 404 to anonymous callers and outsiders, as unknown ids
    for user in (None, "outsider"):
        assert api.get(f"{V1}/dataset/{d}", user=user).status_code == 404, user
        assert api.get(f"{V1}/collection/{c}", user=user).status_code == 404, user
        assert api.get(f"{V1}/dataset", user=user).json_body["datasets"] == []
    assert api.patch(f"{V1}/dataset/{d}", {"published": True}, user="orderer").status_code == 200
    assert api.patch(f"{V1}/collection/{c}", {"published": True}, user="orderer").status_code == 200
    got = api.get(f"{V1}/dataset/{d}", user=None)
    assert got.status_code == 200, got.body
    doc = got.json_body["dataset"]
    assert doc["title"] == "Run 1 reads" and "order" not in doc and "editors" not in doc
    coll = api.get(f"{V1}/collection/{c}", user=None).json_body["collection"]
    assert coll["datasets"] == [{"_id": d, "title": "Run 1 reads"}] and "editors" not in coll
    assert "editors" in api.get(f"{V1}/collection/{c}", user="orderer").json_body["collection"]
    assert api.get(f"{V1}/dataset/{d}", user="orderer").json_body["dataset"]["order"]["_id"] == o
    # public reading does not mean public writing
    assert api.patch(f"{V1}/dataset/{d}", {"title": "x"}, user="outsider").status_code == 403
    assert api.patch(f"{V1}/dataset/{d}", {"title": "x"}, user=None).status_code == 401
    assert api.delete(f"{V1}/collection/{c}", user="outsider").status_code == 403
    # an invalid token is refused even where anonymous callers are welcome
    bad = api.call("GET", f"{V1}/dataset/{d}", None, headers={"Authorization": "Bearer not.a.token"})
    assert bad.status_code == 401


def test_deleting_an_order_deletes_its_datasets_and_logs_each_removal(tracker: Api) -> None:
    api = tracker
    o = order(api)
    d1, d2 = dataset(api, o), dataset(api, o, title="Run 2 reads")
    c = api.post(f"{V1}/collection", {"title": "Mixed", "datasets": [d1, d2]}, user="orderer").json_body["_id"]
    assert api.delete(f"{V1}/order/{o}", user="orderer").status_code == 200
    for d in (d1, d2):
        assert api.get(f"{V1}/dataset/{d}", user="orderer").status_code == 404
        log = api.get(f"{V1}/dataset/{d}/log", user="dm")
        assert log.status_code == 200, log.body
        last = log.json_body["logs"][-1]
        assert last["action"] == "delete" and last["data"] == {"_id": d}
        assert last["comment"] == f"Deleted with order {o}" and last["user"] == user_uuid("orderer")
        # once gone, only DATA_MANAGEMENT reads its log
        assert api.get(f"{V1}/dataset/{d}/log", user="orderer").status_code == 404
    mine = api.get(f"{V1}/user/me/actions", user="orderer").json_body["logs"]
    assert [(a["data_type"], a["action"], a["entry_id"]) for a in mine][-1] == ("order", "delete", o)
    assert ("dataset", "delete", d1, f"Deleted with order {o}") in [
        (a["data_type"], a["action"], a["entry_id"], a["comment"]) for a in mine
    ]
    order_log = api.get(f"{V1}/order/{o}/log", user="dm").json_body["logs"]
    assert [e["action"] for e in order_log] == ["add", "delete"]
    coll = api.get(f"{V1}/collection/{c}", user="orderer").json_body["collection"]
    assert coll["datasets"] == []
    coll_log = api.get(f"{V1}/collection/{c}/log", user="orderer").json_body["logs"]
    assert coll_log[0]["comment"] == "Collection added"
    assert sorted(e["comment"] for e in coll_log[1:]) == sorted([f"Dataset {d1} deleted", f"Dataset {d2} deleted"])
    assert coll_log[-1]["data"]["datasets"] == []  # a full copy, after the change


def test_users_by_topic(tracker: Api) -> None:
    api = tracker
    plain = user_uuid("plain")
    limited = api.get(f"{V1}/user", user="searcher")
    assert limited.status_code == 200
    row = next(u for u in limited.json_body["users"] if u["_id"] == plain)
    assert set(row) == {"_id", "affiliation", "contact", "name", "orcid", "url"}  # no e-mail
    full = next(u for u in api.get(f"{V1}/user", user="um").json_body["users"] if u["_id"] == plain)
    assert full["email"] == "plain@example.org" and full["permissions"] == []
    assert api.get(f"{V1}/user", user="plain").status_code == 403
    assert api.get(f"{V1}/user", user=None).status_code == 401
    # a user searcher adds users (ORDERS includes USER_ADD) but may not give permissions
    r = api.post(f"{V1}/user", {"email": "new@example.org", "name": "New"}, user="orderer")
    assert r.status_code == 200, r.body
    r = api.post(f"{V1}/user", {"email": "new2@example.org", "permissions": ["ORDERS"]}, user="orderer")
    assert r.status_code == 403
    assert api.post(f"{V1}/user", {"email": "new@example.org"}, user="um").status_code == 409
    # only USER_MANAGEMENT reads or changes another user
    assert api.get(f"{V1}/user/{plain}", user="um").json_body["user"]["email"] == "plain@example.org"
    assert api.get(f"{V1}/user/{plain}", user="searcher").json_body["user"].get("email") is None
    assert api.patch(f"{V1}/user/{plain}", {"affiliation": "KTH"}, user="searcher").status_code == 403
    assert api.patch(f"{V1}/user/{plain}", {"affiliation": "KTH"}, user="um").status_code == 200
    # one's own profile, but not one's own permissions or e-mail
    assert api.patch(f"{V1}/user/me", {"url": "https://example.org/~plain"}, user="plain").status_code == 200
    assert api.patch(f"{V1}/user/me", {"permissions": ["ORDERS"]}, user="plain").status_code == 400
    assert api.patch(f"{V1}/user/me", {"url": "ftp://x"}, user="plain").status_code == 400
    me = api.get(f"{V1}/user/me", user="plain").json_body["user"]
    assert me["affiliation"] == "KTH" and me["url"] == "https://example.org/~plain"
    assert api.get(f"{V1}/user/me", user=None).json_body["user"]["email"] == ""
    log = api.get(f"{V1}/user/me/log", user="plain").json_body["logs"]
    assert [e["comment"] for e in log][-2:] == ["User updated", "User updated"]
    assert log[-1]["data"]["url"] == "https://example.org/~plain" and log[-1]["data"]["affiliation"] == "KTH"
    assert api.get(f"{V1}/user/{plain}/log", user="searcher").status_code == 403
    assert api.get(f"{V1}/user/{plain}/log", user="um").status_code == 200
    # what a user did: um's last action was the change of plain's profile
    done = api.get(f"{V1}/user/me/actions", user="um").json_body["logs"]
    assert [(a["data_type"], a["action"], a["entry_id"]) for a in done][-1] == ("user", "edit", plain)
    assert api.get(f"{V1}/user/{user_uuid('um')}/actions", user="plain").status_code == 403
    assert api.get(f"{V1}/user/{user_uuid('um')}/actions", user="um").json_body["logs"] == done


def with_key(api: Api, method: str, path: str, key: str, body: Any = None, scheme: str = "ApiKey") -> Any:
    return api.call(method, path, None, body, headers={"Authorization": f"{scheme} {key}"})


def test_an_api_key_works_once_shown_and_fails_once_revoked(tracker: Api) -> None:
    api = tracker
    made = api.post(f"{V1}/user/me/apikey", {"name": "laptop"}, user="orderer")
    assert made.status_code == 200, made.body
    key, key_id = made.json_body["key"], made.json_body["key_id"]
    assert key.startswith(f"{key_id}.") and "salt" not in made.json_body and "hash" not in made.json_body
    me = with_key(api, "GET", f"{V1}/user/me", key)
    assert me.status_code == 200 and me.json_body["user"]["_id"] == user_uuid("orderer")
    assert with_key(api, "POST", f"{V1}/order", key, {"title": "by key"}).status_code == 200
    # the Data Tracker's own header works too, and on the native API as well
    assert api.call("GET", f"{V1}/order", None, headers={"X-API-Key": key}).status_code == 200
    assert with_key(api, "GET", "/users/me", key).json_body["username"] == "orderer"
    # never shown again: the list has its name and times only
    listed = api.get("/users/me/keys", user="orderer").json_body["items"]
    assert [k["name"] for k in listed] == ["laptop"] and "key" not in listed[0]
    # a session for the key
    session = api.post(f"{V1}/login/apikey", {"api-user": "orderer@example.org", "api-key": key}, user=None)
    assert session.status_code == 200, session.body
    token = session.json_body["token"]
    by_get = api.call("GET", f"{V1}/login/apikey", None, headers={"Authorization": f"ApiKey {key}"})
    assert by_get.status_code == 200 and by_get.json_body["token"] != token  # the seed's GET: another session
    assert api.call("GET", f"{V1}/login/apikey", None).status_code == 401
    assert with_key(api, "GET", f"{V1}/order", token, scheme="Bearer").status_code == 200
    # revoked: the key and its sessions stop working
    assert api.delete(f"/users/me/keys/{key_id}", user="orderer").status_code == 204
    assert with_key(api, "GET", f"{V1}/user/me", key).status_code == 401
    assert with_key(api, "GET", f"{V1}/order", token, scheme="Bearer").status_code == 401
    assert api.post(f"{V1}/login/apikey", {"api-key": key}, user=None).status_code == 401
    # every key event in the owner's log, never the key
    log = api.get(f"{V1}/user/me/log", user="orderer").json_body["logs"]
    events = [e["comment"] for e in log if e["data_type"].startswith("api_")]
    assert events[:2] == ["API key created", "Signed in with an API key"] and "API key revoked" in events
    assert key.split(".")[1] not in str(log) and "salt" not in str(log)


def test_keys_are_the_owners_and_user_managers(tracker: Api) -> None:
    api = tracker
    plain = user_uuid("plain")
    assert api.post(f"{V1}/user/{plain}/apikey", None, user="searcher").status_code == 403
    made = api.post(f"{V1}/user/{plain}/apikey", None, user="um")
    assert made.status_code == 200 and made.json_body["name"] == "default"
    again = api.post(f"{V1}/user/me/apikey", None, user="plain")  # replaces the key named default
    assert with_key(api, "GET", f"{V1}/user/me", made.json_body["key"]).status_code == 401
    assert with_key(api, "GET", f"{V1}/user/me", again.json_body["key"]).status_code == 200
    # a user manager lists and revokes anyone's keys; others may not even list them
    assert api.get("/users/plain/keys", user="searcher").status_code == 403
    [listed] = api.get("/users/plain/keys", user="um").json_body["items"]
    assert listed["key_id"] == again.json_body["key_id"]
    assert api.delete(f"/users/plain/keys/{listed['key_id']}", user="searcher").status_code == 403
    assert api.delete(f"/users/plain/keys/{listed['key_id']}", user="um").status_code == 204
    assert with_key(api, "GET", f"{V1}/user/me", again.json_body["key"]).status_code == 401
    again = api.post(f"{V1}/user/me/apikey", None, user="plain")
    # a deleted user's keys stop working
    assert api.delete(f"{V1}/user/{plain}", user="um").status_code == 200
    assert with_key(api, "GET", f"{V1}/user/me", again.json_body["key"]).status_code == 401


def test_failed_key_attempts_are_rate_limited(tracker: Api) -> None:
    api = tracker
    key = api.post(f"{V1}/user/me/apikey", None, user="plain").json_body["key"]
    key_id = key.split(".")[0]
    wrong = f"{key_id}.{'A' * 64}"
    statuses = [with_key(api, "GET", f"{V1}/user/me", wrong).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    limited = with_key(api, "GET", f"{V1}/user/me", key)  # even the right key, from that source, for a while
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_the_same_records_in_the_native_api(tracker: Api) -> None:
    """/projects and /collections: 201 with the record, versioned PATCH, 204 on delete, lists
    paged and filtered by words, tags and editors, over the same rules as /api/v1."""
    api = tracker
    made = api.post("/projects", {"title": "Permafrost cores", "tags_standard": {"site": "Abisko"}}, user="orderer")
    assert made.status_code == 201, made.body
    p = made.json_body["_id"]
    assert made.headers["Location"] == f"/projects/{p}" and made.json_body["version"] == 1
    order(api, title="Lake sediments")  # another project, same editor
    assert [x["title"] for x in api.get("/projects?q=permafrost", user="orderer").json_body["items"]] == [
        "Permafrost cores"
    ]
    assert api.get("/projects?tag=site:Abisko", user="orderer").json_body["total"] == 1
    assert api.get("/projects?tag=site:Kiruna", user="orderer").json_body["total"] == 0
    assert api.get(f"/projects?editor={user_uuid('orderer')}", user="dm").json_body["total"] == 2
    assert api.get("/projects", user="plain").json_body["items"] == []  # no ORDERS: no orders
    # versioned changes
    changed = api.patch(f"/projects/{p}", {"description": "2 m cores", "version": 1}, user="orderer")
    assert changed.status_code == 200 and changed.json_body["version"] == 2, changed.body
    stale = api.patch(f"/projects/{p}", {"description": "lost update", "version": 1}, user="orderer")
    assert stale.status_code == 409 and stale.json_body["CurrentVersion"] == 2
    assert api.get(f"/projects/{p}", user="orderer").json_body["description"] == "2 m cores"
    # its datasets
    d = api.post(f"/projects/{p}/datasets", {"title": "Core 1 CT scans"}, user="orderer")
    assert d.status_code == 201, d.body
    d_id = d.json_body["_id"]
    assert api.get(f"/projects/{p}/datasets", user="orderer").json_body["items"][0]["_id"] == d_id
    other = order(api, title="Elsewhere")
    assert api.get(f"/projects/{other}/datasets/{d_id}", user="orderer").status_code == 404  # not its dataset
    assert api.patch(f"/projects/{p}/datasets/{d_id}", {"published": True}, user="orderer").status_code == 200
    # collections: anyone signed in
    c = api.post("/collections", {"title": "CT picks", "datasets": [d_id]}, user="plain")
    assert c.status_code == 201, c.body
    assert api.get("/collections?q=ct", user="plain").json_body["total"] == 1
    assert api.get(f"/collections/{c.json_body['_id']}", user="outsider").status_code == 404  # unpublished
    assert api.delete(f"/collections/{c.json_body['_id']}", user="plain").status_code == 204
    assert api.delete(f"/projects/{p}", user="orderer").status_code == 204
    assert api.get(f"/projects/{p}/datasets/{d_id}", user="orderer").status_code == 404


def test_a_first_sign_in_creates_the_user_with_its_token_subject_logged_as_system(tracker: Api) -> None:
    api = tracker
    me = api.get(f"{V1}/user/me", user="newcomer")
    assert me.status_code == 200
    subject = f"{api.mint.issuer}#{uuid.uuid5(uuid.NAMESPACE_URL, f'{api.mint.issuer}#newcomer')}"
    assert me.json_body["user"]["auth_ids"] == [subject]
    log = api.get(f"{V1}/user/me/log", user="newcomer").json_body["logs"]
    assert [(e["action"], e["comment"], e["user"]) for e in log] == [("add", "User created at first sign-in", "system")]
    # a user made by a manager gets its subject at its first sign-in, also by system
    api.get(f"{V1}/user/me", user="plain")
    log = api.get(f"{V1}/user/me/log", user="plain").json_body["logs"]
    assert (log[-1]["comment"], log[-1]["user"], log[-1]["data"]["auth_ids"]) == (
        "User updated",
        "system",
        [f"{api.mint.issuer}#{uuid.uuid5(uuid.NAMESPACE_URL, f'{api.mint.issuer}#plain')}"],
    )


def test_data_registered_for_a_described_dataset_is_its_orders(personas: Api) -> None:
    """A Data Tracker dataset is described first; data registered later with its uuid (by a
    registrar of any base URI) belongs to its order: the order's editors see it whatever its
    base URI, as the project's members, and the dataset shows it among its replicas. Others
    keep seeing only what their base-URI permissions show."""
    api = personas
    api.post("/users", {"username": "orderer"})
    api.patch(f"{V1}/user/{user_uuid('orderer')}", {"permissions": ["ORDERS", "ORDERS_SPECIAL"]})
    o = order(api)
    d = dataset(api, o)
    registered = register(api, user="bravo", base_uri=BUCKET_B, uuid=d)
    got = api.get(f"/datasets/{d}", user="orderer")
    assert got.status_code == 200, got.body
    assert got.json_body["project"] == o and got.json_body["base_uri"] == BUCKET_B
    replicas = api.get(f"{V1}/dataset/{d}", user="orderer").json_body["dataset"]["replicas"]
    assert [r["base_uri"] for r in replicas] == [BUCKET_B] and replicas[0]["uri"] == registered["uri"]
    found = api.get(f"/datasets?uuid={d}", user="orderer").json_body["items"]
    assert [x["uuid"] for x in found] == [d]
    for user in ("outsider", "reader"):
        assert api.get(f"/datasets/{d}", user=user).status_code == 404, user
    assert api.get(f"/datasets/{d}", user="bravo").status_code == 200  # its registrar, as always
    # a new editor sees it too; a removed one no longer does
    api.post("/users", {"username": "helper"})
    assert api.patch(f"{V1}/order/{o}", {"editors": [user_uuid("helper")]}, user="orderer").status_code == 200
    assert api.get(f"/datasets/{d}", user="helper").status_code == 200
    assert api.get(f"/datasets/{d}", user="orderer").status_code == 404


def test_lists_hold_everything_by_default_and_page_on_request(tracker: Api) -> None:
    """The original's lists were whole (its clients read one answer): 1000 a page by default."""
    api = tracker
    made = [order(api, title=f"Order {n:02}") for n in range(12)]
    whole = api.get(f"{V1}/order", user="orderer")
    assert [o["_id"] for o in whole.json_body["orders"]] == made and whole.headers["X-Total-Count"] == "12"
    page = api.get(f"{V1}/order?page=2&page_size=5", user="orderer").json_body
    assert [o["_id"] for o in page["orders"]] == made[5:10] and page["total"] == 12
    assert api.get(f"{V1}/order?page_size=1001", user="orderer").status_code == 400


def test_profiles_and_topics_in_the_native_api(tracker: Api) -> None:
    api = tracker
    mine = api.patch(
        "/users/me", {"display_name": "Pat P.", "affiliation": "KTH", "url": "https://kth.se"}, user="plain"
    )
    assert mine.status_code == 200, mine.body
    assert (mine.json_body["display_name"], mine.json_body["affiliation"]) == ("Pat P.", "KTH")
    assert api.get(f"{V1}/user/me", user="plain").json_body["user"]["name"] == "Pat P."  # one record, two APIs
    for bad in ({"topics": ["ORDERS"]}, {"email": "x@example.org"}, {"url": "ftp://x"}, {"name": "n"}):
        assert api.patch("/users/me", bad, user="plain").status_code == 400, bad
    assert api.put("/users/plain/topics", {"topics": ["ORDERS"]}, user="searcher").status_code == 403
    granted = api.put("/users/plain/topics", {"topics": ["ORDERS", "USER_SEARCH"]}, user="um")
    assert granted.status_code == 200 and granted.json_body["topics"] == ["ORDERS", "USER_SEARCH"]
    assert api.get(f"{V1}/order", user="plain").status_code == 200  # ORDERS now
    assert api.put("/users/plain/topics", {"topics": ["NOPE"]}, user="um").status_code == 400
    assert api.put("/users/nobody/topics", {"topics": []}, user="um").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/order/0/log",
        "/api/v1/dataset/Z%C2%A3/log",
        "/api/v1/collection/not-a-uuid/log",
        "/projects/0/log",
        "/collections/0/log",
        "/projects/0/datasets/0/log",
    ],
)
def test_the_log_of_an_id_that_is_no_uuid_is_404_even_for_those_who_see_every_log(tracker: Api, path: str) -> None:
    # found by schemathesis (issue 22): the log of a gone record was read with the id as a uuid (500)
    r = tracker.get(path, user="admin")
    assert r.status_code == 404 and r.json_body["Code"] == "NotFound", r.body


def test_an_upper_case_urn_prefix_is_not_a_uuid_form(tracker: Api) -> None:
    # uuid.UUID strips "urn:uuid:" in lower case only: "URN:UUID:..." reached it and was a 500
    r = tracker.get(f"{V1}/user/URN:UUID:{uuid.uuid4()}", user="um")
    assert r.status_code == 400 and r.json_body["Field"] == "_id", r.body
