"""POST /token in process: the app over moto (the attempt counters are the real DynamoDB
adapter on mock_aws), with an in-memory identity provider whose tokens the app's verifier
trusts beside the personas' mint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.errors import TransientError
from chalicelib.adapters.identity import CognitoIdentityProvider
from chalicelib.composition import Root, install, root
from chalicelib.config import IssuerConfig, Settings
from chalicelib.identity.sign_in import REFUSED
from tests.fakes.identity import InMemoryIdentityProvider
from tests.functional.conftest import Api
from tests.support.tokens import TokenMint
from tests.support.user_pool import install_user_pool

PASSWORD = "Functional-Pass-1a"
WRONG = "Functional-Wrong-2b"
PER_USERNAME = 5  # RateLimit's defaults
PER_SOURCE = 30


class TokenApi:
    """The app with a user pool (``provider``) behind POST /token."""

    def __init__(self, api: Api, provider: InMemoryIdentityProvider) -> None:
        self.api = api
        self.provider = provider

    def token(self, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body).encode()
        return self.api.call("POST", "/token", None, raw=data, headers=headers)

    def sign_in(self, username: str, password: str, **kw: Any) -> Any:
        return self.token({"username": username, "password": password}, **kw)


@pytest.fixture
def tokens(api: Api, mint: TokenMint) -> Iterator[TokenApi]:
    services = root()
    provider = install_user_pool(mint, {"alice": PASSWORD, "bob": PASSWORD})
    try:
        yield TokenApi(api, provider)
    finally:
        install(services)


def test_a_right_password_gives_a_token_the_catalogue_accepts(tokens: TokenApi) -> None:
    r = tokens.sign_in("alice", PASSWORD)
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    assert set(r.json_body) == {"token"}
    bearer = {"Authorization": f"Bearer {r.json_body['token']}"}
    info = tokens.api.get("/config/info", None, headers=bearer)
    assert info.status_code == 200, info.body
    me = tokens.api.get("/users/me", None, headers=bearer)
    assert me.status_code == 200 and me.json_body["username"] == "alice"


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(tokens: TokenApi) -> None:
    wrong = tokens.sign_in("alice", WRONG)
    unknown = tokens.sign_in("nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.body == unknown.body
    assert wrong.headers == unknown.headers
    assert wrong.json_body == {"Code": "Unauthorized", "Message": REFUSED}
    assert wrong.headers["Content-Type"] == "application/json"
    assert tokens.provider.sign_ins == ["alice", "nobody"]  # both were asked


MALFORMED = [
    b"",
    b"{",
    b"[]",
    b'"alice"',
    b"{}",
    b'{"username": "alice"}',
    b'{"password": "' + PASSWORD.encode() + b'"}',
    b'{"username": 1, "password": "' + PASSWORD.encode() + b'"}',
    b'{"username": "alice", "password": null}',
    b'{"username": "alice", "password": "' + b"x" * 257 + b'"}',
    b'{"username": "' + b"a" * 129 + b'", "password": "' + PASSWORD.encode() + b'"}',
    b'{"username": "alice", "password": "' + PASSWORD.encode() + b'", "extra": 1}',
    b'{"username": "alice", "password": "\\ud800"}',
    b'{"username": "alice", "password": NaN}',
]


def test_a_malformed_body_is_400_and_asks_no_one(tokens: TokenApi) -> None:
    for raw in MALFORMED:  # one app for all (its setup is the slow part)
        r = tokens.token(raw=raw)
        assert r.status_code == 400, (raw, r.body)
        assert r.json_body["Code"] == "BadRequest" and "msg" not in r.json_body
        assert PASSWORD not in r.body.decode()
    assert tokens.provider.sign_ins == []


def test_after_the_username_limit_the_answer_is_429_and_the_provider_is_not_asked(tokens: TokenApi) -> None:
    for _ in range(PER_USERNAME):
        assert tokens.sign_in("alice", WRONG).status_code == 401
    asked = len(tokens.provider.sign_ins)
    for password in (WRONG, PASSWORD):  # the right password too: the limit is checked first
        r = tokens.sign_in("alice", password)
        assert r.status_code == 429, r.body
        assert r.json_body["Code"] == "TooManyRequests" and "msg" not in r.json_body
        assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
        assert r.headers["Content-Type"] == "application/json"
    assert len(tokens.provider.sign_ins) == asked
    # an unknown username is limited alike (the limit tells nothing about who exists)
    for _ in range(PER_USERNAME):
        assert tokens.sign_in("nobody", WRONG).status_code == 401
    assert tokens.sign_in("nobody", WRONG).status_code == 429
    # another user from the same address still signs in
    assert tokens.sign_in("bob", PASSWORD).status_code == 200


def test_the_source_limit_ignores_forwarded_headers(tokens: TokenApi) -> None:
    for i in range(PER_SOURCE):
        forged = {"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"198.51.100.{i}"}
        assert tokens.sign_in(f"user{i}", WRONG, headers=forged).status_code == 401
    asked = len(tokens.provider.sign_ins)
    r = tokens.sign_in("bob", PASSWORD, headers={"X-Forwarded-For": "192.0.2.99"})
    assert r.status_code == 429, r.body
    assert len(tokens.provider.sign_ins) == asked


def test_successes_do_not_count(tokens: TokenApi) -> None:
    for _ in range(PER_USERNAME + 2):
        assert tokens.sign_in("alice", PASSWORD).status_code == 200


def test_a_user_who_must_change_the_password_is_told_so(tokens: TokenApi) -> None:
    tokens.provider.challenged.add("alice")
    r = tokens.sign_in("alice", PASSWORD)
    assert r.status_code == 403 and r.json_body["Code"] == "Forbidden"
    assert tokens.sign_in("alice", WRONG).json_body == {"Code": "Unauthorized", "Message": REFUSED}


def test_a_provider_outage_is_503_with_retry_after(tokens: TokenApi) -> None:
    tokens.provider.outage = TransientError("ThrottlingException on https://cognito-idp.internal")
    r = tokens.sign_in("alice", PASSWORD)
    assert r.status_code == 503
    assert r.json_body["Code"] == "ServiceUnavailable" and "cognito" not in r.body.decode()
    assert r.headers["Retry-After"]


def test_without_a_user_pool_the_endpoint_says_so(api: Api) -> None:
    assert not root().settings.password_sign_in
    r = api.call("POST", "/token", None, {"username": "alice", "password": PASSWORD})
    assert r.status_code == 503, r.body
    assert r.json_body["Code"] == "NotConfigured"
    assert "password sign-in" in r.json_body["Message"]


def test_the_pool_is_used_only_when_the_verifier_trusts_it() -> None:
    pool, client = "eu-west-1_Pool1", "client-1"
    trusted = IssuerConfig(f"https://cognito-idp.eu-west-1.amazonaws.com/{pool}", "https://x/jwks.json", (client,))
    base = Settings(stage="test", user_pool_id=pool, user_pool_client_id=client)
    assert isinstance(Root(replace(base, issuers=(trusted,))).identity_provider, CognitoIdentityProvider)
    assert Root(base).identity_provider is None  # its tokens would be refused everywhere else
    assert Root(Settings(stage="test")).identity_provider is None  # none configured


def test_settings_read_the_pool_from_the_environment() -> None:
    env = {
        "CATALOGUE_STAGE": "test",
        "CATALOGUE_USER_POOL_ID": " eu-west-1_Pool1 ",
        "CATALOGUE_USER_POOL_CLIENT_ID": "c",
    }
    settings = Settings.from_env(env)
    assert (settings.user_pool_id, settings.user_pool_client_id, settings.password_sign_in) == (
        "eu-west-1_Pool1",
        "c",
        True,
    )
    assert not Settings.from_env({"CATALOGUE_STAGE": "test", "CATALOGUE_USER_POOL_ID": "x"}).password_sign_in
