"""Cognito user pool, users and access tokens for the local stack (moto server mode).

A thin layer over the identity port (:class:`chalicelib.adapters.identity.CognitoIdentityProvider`)
and :func:`chalicelib.adapters.provisioning.ensure_user_pool`, keeping the pool's facts
together in :class:`PoolInfo` (which ``state.json`` stores).

Verified against moto 5.2.5 in server mode (boto3 1.44.5), 2026-11-23:

- ``admin_initiate_auth(AuthFlow="ADMIN_USER_PASSWORD_AUTH")`` on an app client with
  ``ALLOW_ADMIN_USER_PASSWORD_AUTH`` returns ``AuthenticationResult`` at once (no
  challenge) for a user whose password was set with ``admin_set_user_password(Permanent=True)``;
  so does ``initiate_auth(AuthFlow="USER_PASSWORD_AUTH")``, which the identity port uses
  (moto 5.2.5 does not check the client's ``ExplicitAuthFlows``; Cognito does).
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

from chalicelib.adapters import provisioning
from chalicelib.adapters.identity import CognitoIdentityProvider


@dataclass(frozen=True)
class PoolInfo:
    """A user pool with one public app client, and where its tokens are verified."""

    pool_id: str
    client_id: str
    issuer: str
    jwks_url: str


def provider(client: Any, pool: PoolInfo) -> CognitoIdentityProvider:
    """The identity port on ``pool`` through the boto3 ``cognito-idp`` client ``client``."""
    return CognitoIdentityProvider(client, pool.pool_id, pool.client_id)


def create_user_pool(client: Any, name: str) -> PoolInfo:
    """The user pool ``name`` with an app client without secret for password sign-in,
    created unless one of that name exists.

    ``client`` is a boto3 ``cognito-idp`` client. ``jwks_url`` is derived from the
    client's endpoint: with moto it is the moto server, with real AWS it equals
    ``issuer + "/.well-known/jwks.json"``.
    """
    created = provisioning.ensure_user_pool(client, name)
    config = CognitoIdentityProvider(client, created.pool_id, created.client_id).issuer_config()
    return PoolInfo(
        pool_id=created.pool_id, client_id=created.client_id, issuer=config.issuer, jwks_url=config.jwks_url
    )


def create_user(client: Any, pool: PoolInfo, username: str, password: str, email: str) -> None:
    """Create a confirmed user with a permanent password; no invitation is sent.

    For a user that exists already, only the password is set."""
    provider(client, pool).create_user(username, password, email=email)


def access_token(client: Any, pool: PoolInfo, username: str, password: str) -> str:
    """A fresh access token (valid one hour) via USER_PASSWORD_AUTH."""
    return provider(client, pool).sign_in(username, password).token


def issuer_config(pool: PoolInfo) -> dict[str, Any]:
    """One entry of the ``CATALOGUE_OIDC_ISSUERS`` JSON list for this pool's access tokens."""
    return {
        "issuer": pool.issuer,
        "jwks_url": pool.jwks_url,
        "client_ids": [pool.client_id],
        "token_use": "access",
        "username_claim": "username",
    }
