"""Forged and misdirected tokens against the real stack (chalice local enforces nothing itself)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from infra.local import cognito
from infra.local.launcher import main
from infra.local.stack import LocalStack
from tests.support.moto_keys import moto_private_key
from tests.support.tokens import TokenMint, segment


def status(stack: LocalStack, token: str) -> int:
    r = requests.get(f"{stack.api_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return r.status_code


def test_real_token_works(stack: LocalStack) -> None:
    stack.add_user("admin", admin=True)
    assert status(stack, stack.token("admin")) == 200


def test_alg_none_and_garbage(stack: LocalStack) -> None:
    stack.add_user("admin", admin=True)
    real = stack.token("admin")
    claims = real.split(".")[1]
    assert status(stack, segment({"alg": "none", "typ": "JWT"}) + "." + claims + ".") == 401
    assert status(stack, "not-a-token") == 401
    assert status(stack, real[:-4] + "AAAA") == 401


def test_token_of_another_pool_or_client_or_kind(stack: LocalStack) -> None:
    idp = stack.client("cognito-idp")
    other = cognito.create_user_pool(idp, "another-pool")
    cognito.create_user(idp, other, "admin", "Other-Pool-Pass-1a!", "admin@example.org")
    assert status(stack, cognito.access_token(idp, other, "admin", "Other-Pool-Pass-1a!")) == 401
    # another app client of the same pool
    client_id = idp.create_user_pool_client(
        UserPoolId=stack.pool.pool_id, ClientName="rogue", ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    stack.add_user("mallory")
    rogue = cognito.PoolInfo(stack.pool.pool_id, client_id, stack.pool.issuer, stack.pool.jwks_url)
    assert status(stack, cognito.access_token(idp, rogue, "mallory", stack._passwords["mallory"])) == 401
    # an id token where an access token is required
    id_token = idp.admin_initiate_auth(
        UserPoolId=stack.pool.pool_id,
        ClientId=stack.pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "mallory", "PASSWORD": stack._passwords["mallory"]},
    )["AuthenticationResult"]["IdToken"]
    assert status(stack, id_token) == 401


def test_expired_and_unknown_kid_with_moto_key(stack: LocalStack) -> None:
    key = moto_private_key()
    if key is None:
        pytest.skip("moto's private key file is not in this moto version")
    mint = TokenMint(issuer=stack.pool.issuer, client_id=stack.pool.client_id, kid="dummy", private_key=key)
    now = int(time.time())
    # moto's key is trusted on the local stage only (it is public): a well-formed token works ...
    assert status(stack, mint.access_token("admin")) == 200
    # ... but not expired, without exp, or with a kid the JWKS does not publish
    assert status(stack, mint.access_token("admin", exp=now - 1)) == 401
    assert status(stack, mint.access_token("admin", exp=None)) == 401
    other_kid = TokenMint(issuer=stack.pool.issuer, client_id=stack.pool.client_id, kid="other", private_key=key)
    assert status(stack, other_kid.access_token("admin")) == 401
    jku = mint.sign(
        {
            "iss": stack.pool.issuer,
            "client_id": stack.pool.client_id,
            "token_use": "access",
            "username": "admin",
            "iat": now,
            "exp": now + 60,
        },
        headers={"jku": "http://127.0.0.1:1/jwks.json"},
    )
    assert status(stack, jku) == 401


def test_token_create_makes_a_new_user_of_the_running_stack(
    stack: LocalStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m infra.local.stack token NAME --create`, as the README tells a new user."""
    (tmp_path / "state.json").write_text(json.dumps(stack.state()))
    name = f"newbie{int(time.time() * 1000) % 10**9}"
    assert main(["--work-dir", str(tmp_path), "token", name]) == 2  # unknown without --create
    assert main(["--work-dir", str(tmp_path), "token", name, "--create"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    me = requests.get(f"{stack.api_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 200 and me.json()["username"] == name
    assert me.json()["search_permissions_on_base_uris"] == []
    assert main(["--work-dir", str(tmp_path), "token", name]) == 0  # known from now on
