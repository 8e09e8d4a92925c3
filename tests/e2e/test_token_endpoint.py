"""POST /token on the real local stack: moto's Cognito user pool behind chalice local, the
attempt counters in moto's DynamoDB, and the token used as dtool clients use it."""

from __future__ import annotations

import requests

from infra.local.stack import DTOOL_USER, LocalStack
from infra.local.welcome import banner


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # never through a proxy
    return session


def test_a_pool_user_gets_a_token_the_catalogue_accepts(stack: LocalStack) -> None:
    stack.add_user("token-e2e")
    session = _session()
    r = session.post(
        f"{stack.api_url}/token", json={"username": "token-e2e", "password": stack.password("token-e2e")}, timeout=30
    )
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"token"}
    info = session.get(f"{stack.api_url}/config/info", headers={"Authorization": f"Bearer {body['token']}"}, timeout=30)
    assert info.status_code == 200, info.text
    me = session.get(f"{stack.api_url}/users/me", headers={"Authorization": f"Bearer {body['token']}"}, timeout=30)
    assert me.status_code == 200 and me.json()["username"] == "token-e2e"


def test_an_unknown_user_and_a_wrong_password_are_refused_alike(stack: LocalStack) -> None:
    stack.add_user("token-e2e-refused")
    session = _session()
    url = f"{stack.api_url}/token"
    wrong = session.post(url, json={"username": "token-e2e-refused", "password": "Wrong-Password-1a"}, timeout=30)
    unknown = session.post(url, json={"username": "token-e2e-nobody", "password": "Wrong-Password-1a"}, timeout=30)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.content == unknown.content
    assert wrong.json()["Code"] == "Unauthorized" and "msg" not in wrong.json()
    assert wrong.headers["Content-Type"] == unknown.headers["Content-Type"] == "application/json"


def test_the_banner_names_the_token_endpoint_and_the_dtool_keys(stack: LocalStack) -> None:
    stack.add_user(DTOOL_USER)
    text = banner(stack, {"admin": "admin-token", "reader": "reader-token"})
    assert f"{stack.api_url}/token" in text
    assert "DSERVER_TOKEN_GENERATOR_URL" in text and "DTOOL_LOOKUP_SERVER_TOKEN_GENERATOR_URL" in text
    assert DTOOL_USER in text and stack.password(DTOOL_USER) in text
    # and what European XFEL's metadata_client needs (issue 18), as export lines
    creds = stack.xfel_client
    exports = {
        "XFEL_CLIENT_ID": creds.client_id,
        "XFEL_CLIENT_SECRET": creds.client_secret,
        "XFEL_TOKEN_URL": creds.token_url,
        "XFEL_API_URL": f"{stack.api_url}/mymdc/api/",
    }
    for line in (f"export {name}='{value}'" for name, value in exports.items()):
        assert line in text.splitlines()
    assert "XFEL_PROPOSAL=" in text and "XFEL_RUN=" in text and "XFEL_REPOSITORY=" in text
    # the printed credentials work
    r = _session().post(
        f"{stack.api_url}/token", json={"username": DTOOL_USER, "password": stack.password(DTOOL_USER)}, timeout=30
    )
    assert r.status_code == 200, r.text
