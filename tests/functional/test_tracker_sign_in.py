"""The Data Tracker's OpenID Connect sign-in (/api/v1/login/oidc/<name>/): the authorization
code flow with PKCE against a provider in memory (functional tier)."""

from __future__ import annotations

import urllib.parse

import pytest

from chalicelib.composition import root
from chalicelib.config import OidcLogin, Settings
from tests.fakes.oidc import FakeProvider
from tests.functional.conftest import Api
from tests.support.tokens import TokenMint

V1 = "/api/v1"
CALLBACK = "http://127.0.0.1:8000/api/v1/login/oidc/elixir/authorize"


@pytest.fixture
def settings(mint: TokenMint) -> Settings:
    login = OidcLogin("elixir", "https://idp.test/authorize", "https://idp.test/token", mint.client_id, CALLBACK)
    return Settings(stage="test", region="eu-west-1", issuers=(mint.issuer_config(),), oidc_logins=(login,))


@pytest.fixture
def provider(api: Api) -> FakeProvider:
    fake = FakeProvider(api.mint, api.mint.client_id)
    root().oidc_exchange = fake  # the provider's token endpoint, in memory
    return fake


def callback_path(redirect: str) -> str:
    url = urllib.parse.urlsplit(redirect)
    return f"{url.path}?{url.query}"


def test_sign_in_through_an_oidc_provider(api: Api, provider: FakeProvider) -> None:
    listed = api.get(f"{V1}/login/oidc", user=None)
    assert listed.json_body == {"elixir": f"{V1}/login/oidc/elixir/login"}
    started = api.get(f"{V1}/login/oidc/elixir/login", user=None)
    assert started.status_code == 302
    location = started.headers["Location"]
    assert location.startswith("https://idp.test/authorize?")
    back = provider.sign_in(location, "ada")
    signed_in = api.get(callback_path(back), user=None)
    assert signed_in.status_code == 200, signed_in.body
    token = signed_in.json_body["token"]
    me = api.call("GET", f"{V1}/user/me", None, headers={"Authorization": f"Bearer {token}"}).json_body["user"]
    assert me["username"] == "ada" and len(me["auth_ids"]) == 1  # created at its first sign-in
    # the state is used up: the same answer again is refused, and so is a made-up state
    assert api.get(callback_path(back), user=None).status_code == 401
    again = provider.sign_in(api.get(f"{V1}/login/oidc/elixir/login", user=None).headers["Location"], "ada")
    forged = again.replace("state=", "state=x")
    assert api.get(callback_path(forged), user=None).status_code == 401


def test_bad_sign_in_answers(api: Api, provider: FakeProvider) -> None:
    assert api.get(f"{V1}/login/oidc/nope/login", user=None).status_code == 404
    assert api.get(f"{V1}/login/oidc/elixir/authorize", user=None).status_code == 400
    assert api.get(f"{V1}/login/oidc/elixir/authorize?error=access_denied&state=x", user=None).status_code == 401
    # a code the provider refuses (a wrong verifier would be refused the same way)
    location = api.get(f"{V1}/login/oidc/elixir/login", user=None).headers["Location"]
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["state"]
    refused = api.get(f"{V1}/login/oidc/elixir/authorize?code=made-up&state={state}", user=None)
    assert refused.status_code == 401 and refused.json_body["Code"] == "Unauthorized"
    assert provider.exchanged[-1]["code_verifier"]  # PKCE: the verifier went with the code
