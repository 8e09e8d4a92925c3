"""The hosted UI stand-in of the local stack (infra/local/hosted_ui.py), without a server."""

from __future__ import annotations

import urllib.parse

from infra.local.hosted_ui import HostedUi, challenge_of

CALLBACK = "http://127.0.0.1:8000/api/v1/login/oidc/cognito/authorize"
VERIFIER = "v" * 50


def ui() -> HostedUi:
    return HostedUi("client-1", frozenset({CALLBACK}), lambda u, p: ("tok", 3600) if (u, p) == ("ada", "pw") else None)


def params(**changes: str) -> dict[str, str]:
    base = {
        "response_type": "code",
        "client_id": "client-1",
        "redirect_uri": CALLBACK,
        "state": "s1",
        "code_challenge": challenge_of(VERIFIER),
        "code_challenge_method": "S256",
    }
    return {**base, **changes}


def code_of(location: str) -> str:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]


def test_the_form_then_a_code_for_the_right_password_once() -> None:
    hosted = ui()
    assert hosted.authorize(params()).status == 200
    assert b"Incorrect username or password" in hosted.login({**params(), "username": "ada", "password": "x"}).body
    back = hosted.login({**params(), "username": "ada", "password": "pw"})
    assert back.status == 302 and back.headers["Location"].startswith(f"{CALLBACK}?code=")
    assert "state=s1" in back.headers["Location"]
    code = code_of(back.headers["Location"])
    grant = {"code": code, "client_id": "client-1", "redirect_uri": CALLBACK, "code_verifier": VERIFIER}
    assert hosted.exchange(grant) == (200, {"access_token": "tok", "expires_in": 3600, "token_type": "Bearer"})
    assert hosted.exchange(grant) == (400, {"error": "invalid_grant"})  # once


def test_refusals() -> None:
    hosted = ui()
    # never a redirect to a callback the client does not have, nor for another client
    assert hosted.authorize(params(redirect_uri="https://evil.example/cb")).status == 400
    assert hosted.authorize(params(client_id="other")).status == 400
    # PKCE is required
    no_pkce = hosted.authorize(params(code_challenge=""))
    assert no_pkce.status == 302 and "error=invalid_request" in no_pkce.headers["Location"]
    # a wrong verifier spends the code
    code = code_of(hosted.login({**params(), "username": "ada", "password": "pw"}).headers["Location"])
    wrong = {"code": code, "client_id": "client-1", "redirect_uri": CALLBACK, "code_verifier": "w" * 50}
    assert hosted.exchange(wrong)[0] == 400
    assert hosted.exchange({**wrong, "code_verifier": VERIFIER})[0] == 400
