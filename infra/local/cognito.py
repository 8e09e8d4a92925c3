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

OAuth2 client credentials (checked against moto 5.2.5, 2026-12-06): moto stores resource
servers (``create_resource_server``/``describe_resource_server``) and app clients with
``GenerateSecret``, ``AllowedOAuthFlows``, ``AllowedOAuthScopes``,
``AllowedOAuthFlowsUserPoolClient`` and ``AccessTokenValidity``/``TokenValidityUnits``, and
``describe_user_pool_client`` returns them with the ``ClientSecret`` (a uuid4). It checks
none of them: unknown flows, scopes of no resource server and client credentials without
a secret are all accepted (Cognito refuses each). And it serves no ``/oauth2/token``:
:mod:`infra.local.oauth2` stands in for that endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
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


@dataclass(frozen=True)
class ServiceClient:
    """An app client with a secret for the client-credentials grant, and the catalogue
    user its tokens act as (``service_clients`` of the issuer config)."""

    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    username: str


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


def create_service_client(
    client: Any, pool: PoolInfo, name: str, username: str, *, resource_server: str, scope: str
) -> ServiceClient:
    """The resource server ``resource_server`` with the one scope ``scope``, and the app client
    ``name`` (a secret, client credentials only, that scope), each created unless it exists;
    its tokens act as the catalogue user ``username``."""
    provisioning.ensure_resource_server(
        client, pool.pool_id, resource_server, resource_server, {scope: "myMdC API (European XFEL's metadata_client)"}
    )
    created = provisioning.ensure_service_client(client, pool.pool_id, name, [f"{resource_server}/{scope}"])
    return ServiceClient(
        client_id=created.client_id, client_secret=created.client_secret, scopes=created.scopes, username=username
    )


def create_user(client: Any, pool: PoolInfo, username: str, password: str, email: str) -> None:
    """Create a confirmed user with a permanent password; no invitation is sent.

    For a user that exists already, only the password is set."""
    provider(client, pool).create_user(username, password, email=email)


def access_token(client: Any, pool: PoolInfo, username: str, password: str) -> str:
    """A fresh access token (valid one hour) via USER_PASSWORD_AUTH."""
    return provider(client, pool).sign_in(username, password).token


def issuer_config(pool: PoolInfo, service_clients: Sequence[ServiceClient] = ()) -> dict[str, Any]:
    """One entry of the ``CATALOGUE_OIDC_ISSUERS`` JSON list for this pool's access tokens:
    users' tokens of the pool's client, and client-credentials tokens of ``service_clients``."""
    entry: dict[str, Any] = {
        "issuer": pool.issuer,
        "jwks_url": pool.jwks_url,
        "client_ids": [pool.client_id],
        "token_use": "access",
        "username_claim": "username",
    }
    if service_clients:
        entry["service_clients"] = {c.client_id: c.username for c in service_clients}
    return entry
