"""Cognito user pool, users and access tokens for the local stack (moto server mode).

Verified against moto 5.2.5 in server mode (boto3 1.44.5), 2026-11-23:

- ``admin_initiate_auth(AuthFlow="ADMIN_USER_PASSWORD_AUTH")`` on an app client with
  ``ALLOW_ADMIN_USER_PASSWORD_AUTH`` returns ``AuthenticationResult`` at once (no
  challenge) for a user whose password was set with ``admin_set_user_password(Permanent=True)``.
- The access token is RS256 with header ``{"typ": "JWT", "kid": "dummy", "alg": "RS256"}``
  and claims ``iss`` = ``https://cognito-idp.<region>.amazonaws.com/<pool id>`` (the real
  AWS issuer string, although moto served it), ``sub``, ``client_id`` = the app client id,
  ``token_use`` = ``"access"``, ``username``, ``scope`` = ``"aws.cognito.signin.user.admin"``,
  ``iat``, ``auth_time``, ``exp`` = ``iat + 3600``, ``jti``, ``origin_jti``; **no** ``aud``.
  (The ID token has ``aud`` = client id, ``token_use`` = ``"id"``, ``cognito:username``.)
- The JWKS is served by the moto server, not at the issuer: ``GET
  http://<moto host:port>/<pool id>/.well-known/jwks.json`` → 200 with one RSA key
  ``{"kid": "dummy", "alg": "RS256", "kty": "RSA", ...}``, and python-jose verifies the
  access token with it (``algorithms=["RS256"], issuer=iss``). So ``issuer`` and
  ``jwks_url`` must be configured separately (see :class:`chalicelib.config.IssuerConfig`).
- Trap: that key ships inside moto and is the same for every pool (moto answers the same
  JWKS even for a pool id that does not exist): anyone can mint a valid-looking token
  for a moto pool. Fine for local tests, meaningless as a security boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PoolInfo:
    """A user pool with one public app client, and where its tokens are verified."""

    pool_id: str
    client_id: str
    issuer: str
    jwks_url: str


def create_user_pool(client: Any, name: str) -> PoolInfo:
    """Create a user pool and an app client without secret for admin password auth.

    ``client`` is a boto3 ``cognito-idp`` client. ``jwks_url`` is derived from the
    client's endpoint: with moto it is the moto server, with real AWS it equals
    ``issuer + "/.well-known/jwks.json"``.
    """
    pool = client.create_user_pool(
        PoolName=name,
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
        AutoVerifiedAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": True},
    )["UserPool"]
    pool_id = pool["Id"]
    app_client = client.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{name}-client",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    region = client.meta.region_name
    issuer = f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"
    endpoint = str(client.meta.endpoint_url).rstrip("/")
    return PoolInfo(
        pool_id=pool_id,
        client_id=app_client["ClientId"],
        issuer=issuer,
        jwks_url=f"{endpoint}/{pool_id}/.well-known/jwks.json",
    )


def create_user(client: Any, pool: PoolInfo, username: str, password: str, email: str) -> None:
    """Create a confirmed user with a permanent password; no invitation is sent."""
    client.admin_create_user(
        UserPoolId=pool.pool_id,
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
    )
    # Without Permanent=True the user stays FORCE_CHANGE_PASSWORD and auth answers with
    # a NEW_PASSWORD_REQUIRED challenge instead of tokens.
    client.admin_set_user_password(UserPoolId=pool.pool_id, Username=username, Password=password, Permanent=True)


def access_token(client: Any, pool: PoolInfo, username: str, password: str) -> str:
    """A fresh access token (valid one hour) via ADMIN_USER_PASSWORD_AUTH."""
    result = client.admin_initiate_auth(
        UserPoolId=pool.pool_id,
        ClientId=pool.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    if "AuthenticationResult" not in result:
        raise RuntimeError(f"Cognito answered with challenge {result.get('ChallengeName')!r} instead of tokens")
    return str(result["AuthenticationResult"]["AccessToken"])


def issuer_config(pool: PoolInfo) -> dict[str, Any]:
    """One entry of the ``CATALOGUE_OIDC_ISSUERS`` JSON list for this pool's access tokens."""
    return {
        "issuer": pool.issuer,
        "jwks_url": pool.jwks_url,
        "client_ids": [pool.client_id],
        "token_use": "access",
        "username_claim": "username",
    }
