"""A user pool behind ``POST /token`` for tests in process: the in-memory identity provider,
its issuer trusted beside the token mint's, installed in the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from chalicelib.composition import install, root
from chalicelib.identity.tokens import TokenVerifier
from tests.fakes.identity import InMemoryIdentityProvider
from tests.support.tokens import TokenMint, jwks_fetcher


def install_user_pool(mint: TokenMint, users: Mapping[str, str]) -> InMemoryIdentityProvider:
    """Rewire the installed root with a pool holding ``users`` (name -> password); the caller
    reinstalls the previous root when it is done, if it must."""
    provider = InMemoryIdentityProvider()
    for username, password in users.items():
        provider.create_user(username, password)
    issuers = (mint.issuer_config(), provider.issuer_config())
    mint_jwks = jwks_fetcher(mint)

    def fetch(url: str) -> dict[str, Any]:
        return provider.fetch_jwks(url) if url == provider.issuer_config().jwks_url else mint_jwks(url)

    services = root()
    settings = replace(services.settings, issuers=issuers)
    verifier = TokenVerifier(issuers, stage=settings.stage, fetch_jwks=fetch)
    install(services.rewired(settings, identity_provider=provider, verifier=verifier))
    return provider
