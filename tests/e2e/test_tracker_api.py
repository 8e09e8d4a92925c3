"""The Data Tracker's /api/v1 on the local stack, as README "Orders, collections and keys (Data
Tracker)" tours it: the demo's users with their API keys, anonymous readers of what is
published, a key exchanged for a session, the log derived from the record stream by the
runner, and a key that stops working once revoked (issue 19)."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import requests

from chalicelib.composition import Root
from infra.local import tracker_demo
from infra.local.stack import LocalStack, patched_environ


def _session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def _key(key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key}"}


def _log(http: requests.Session, url: str, headers: dict[str, str], n: int) -> list[dict[str, Any]]:
    """The log at ``url`` once it has ``n`` entries (the stream reaches it a moment later)."""
    deadline = time.monotonic() + 30
    logs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        r = http.get(url, headers=headers, timeout=10)
        logs = r.json().get("logs", []) if r.status_code == 200 else []
        if len(logs) >= n:
            break
        time.sleep(0.5)
    return logs


def test_the_data_tracker_tour(stack: LocalStack) -> None:
    with patched_environ(stack.env):
        root = Root(stack.settings())
        keys = tracker_demo.load(root, root.access.principal("admin"))
    api, http = f"{stack.api_url}/api/v1", _session()

    # anyone reads what is published, nothing else (once the streams have carried the
    # collection's publication to its datasets: a moment on a busy machine)
    titles: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        public = http.get(f"{api}/dataset/", timeout=10)  # the original's trailing slash works too
        assert public.status_code == 200, public.text
        titles = sorted(d["title"] for d in public.json()["datasets"])
        if titles:
            break
        time.sleep(0.2)
    assert titles == ["Apoferritin maps, 1.8 Å", "Soil cores 1-12, raw reads"]
    assert http.get(f"{api}/order", timeout=10).status_code == 401

    # the orders' editor, by key: adds an order and a dataset, changes it
    orders = http.get(f"{api}/order", headers=_key(keys["orders"]), timeout=10)
    assert orders.status_code == 200 and orders.json()["total"] == 2, orders.text
    r = http.post(f"{api}/order", json={"title": "Tour order"}, headers=_key(keys["orders"]), timeout=10)
    assert r.status_code == 200, r.text
    order = r.json()["_id"]
    r = http.post(f"{api}/order/{order}/dataset", json={"dataset": {"title": "Tour dataset"}},
                  headers=_key(keys["orders"]), timeout=10)  # fmt: skip
    assert r.status_code == 200, r.text
    dataset = r.json()["_id"]
    r = http.patch(
        f"{api}/dataset/{dataset}", json={"description": "updated"}, headers=_key(keys["orders"]), timeout=10
    )
    assert r.status_code == 200 and r.text == "", r.text
    logs = _log(http, f"{api}/dataset/{dataset}/log", _key(keys["orders"]), 2)
    assert [(e["action"], e["data"]["title"], e["data"].get("description")) for e in logs] == [
        ("add", "Tour dataset", ""),
        ("edit", "Tour dataset", "updated"),
    ]

    # a key exchanged for a session token, as the original's POST /login/apikey/
    r = http.post(f"{api}/login/apikey/", json={"api-user": "plain@example.org", "api-key": keys["plain"]}, timeout=10)
    assert r.status_code == 200, r.text
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    me = http.get(f"{api}/user/me", headers=bearer, timeout=10).json()["user"]
    assert me["email"] == "plain@example.org" and me["permissions"] == []

    # user fields by topic: limited for a searcher, refused for a plain user
    users = http.get(f"{api}/user", headers=_key(keys["search"]), timeout=10).json()["users"]
    assert users and all("email" not in u for u in users)
    assert http.get(f"{api}/user", headers=bearer, timeout=10).status_code == 403

    # deleting the order deletes its dataset; DATA_MANAGEMENT reads the removal in its log
    assert http.delete(f"{api}/order/{order}", headers=_key(keys["orders"]), timeout=10).status_code == 200
    assert http.get(f"{api}/dataset/{dataset}", headers=_key(keys["dm"]), timeout=10).status_code == 404
    logs = _log(http, f"{api}/dataset/{dataset}/log", _key(keys["dm"]), 3)
    assert logs[-1]["action"] == "delete" and logs[-1]["comment"] == f"Deleted with order {order}"

    # revoked, the key and the sessions it opened stop working
    listed = http.get(f"{stack.api_url}/users/me/keys", headers=_key(keys["plain"]), timeout=10).json()["items"]
    key_id = next(k["key_id"] for k in listed if k["name"] == tracker_demo.KEY_NAME)
    r = http.delete(f"{stack.api_url}/users/me/keys/{key_id}", headers=bearer, timeout=10)
    assert r.status_code == 204, r.text
    assert http.get(f"{api}/user/me", headers=_key(keys["plain"]), timeout=10).status_code == 401
    assert http.get(f"{api}/order", headers=_key(keys["plain"]), timeout=10).status_code == 401
    assert http.get(f"{api}/order", headers=bearer, timeout=10).status_code == 401


def test_sign_in_through_the_hosted_ui_stand_in(stack: LocalStack) -> None:
    """The seed's /login/oidc/<name>/login and /authorize on the local stack: the browser goes
    to the (stand-in) hosted UI, signs in with the user pool's password, comes back with a
    code, and the catalogue answers a token for it (authorization code with PKCE)."""
    stack.add_user("oidc-ada")
    api, http = f"{stack.api_url}/api/v1", _session()
    assert http.get(f"{api}/login/oidc", timeout=10).json() == {"cognito": "/api/v1/login/oidc/cognito/login"}
    start = http.get(f"{api}/login/oidc/cognito/login", allow_redirects=False, timeout=10)
    assert start.status_code == 302, start.text
    location = start.headers["Location"]
    page = http.get(location, timeout=10)
    assert page.status_code == 200 and '<form method="post" action="/login">' in page.text
    fields = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    form = {k: fields.get(k, "") for k in ("client_id", "redirect_uri", "state", "code_challenge", "scope")}
    login_url = urllib.parse.urljoin(location, "/login")
    wrong = http.post(login_url, data={**form, "username": "oidc-ada", "password": "wrong"}, timeout=10)
    assert wrong.status_code == 200 and "Incorrect username or password" in wrong.text
    right = {**form, "username": "oidc-ada", "password": stack.password("oidc-ada")}
    back = http.post(login_url, data=right, allow_redirects=False, timeout=10)
    assert back.status_code == 302 and back.headers["Location"].startswith(stack.oidc_callback), back.text
    signed_in = http.get(back.headers["Location"], timeout=10)
    assert signed_in.status_code == 200, signed_in.text
    bearer = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    me = http.get(f"{api}/user/me", headers=bearer, timeout=10).json()["user"]
    assert me["username"] == "oidc-ada" and len(me["auth_ids"]) == 1
    # the code and the state are used up
    assert http.get(back.headers["Location"], timeout=10).status_code == 401
