"""The IdentityProvider contract, run against the in-memory fake and CognitoIdentityProvider
on moto server.

The central promise: a token the provider issues for a user is accepted by the catalogue's
own :class:`~chalicelib.identity.tokens.TokenVerifier`, configured only from the provider's
:meth:`~chalicelib.adapters.identity.IdentityProvider.issuer_config`, and names that user.

- ``memory``: the fake signs with an RSA key generated for the test; the verifier reads its
  JWKS through the fake's ``fetch_jwks`` and runs with ``stage="test"``.
- ``moto``: every test gets user pools of its own (unique names, region eu-west-1, deleted
  afterwards), made by ``provisioning.ensure_user_pool``. The verifier fetches the JWKS over
  HTTP from the moto server (the ``jwks_url`` the adapter names) and runs with
  ``stage="local"``: moto signs with its published development key, which the verifier
  accepts on the local stage only (a test below shows it refused elsewhere).
"""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.adapters import provisioning
from chalicelib.adapters.aws import make_client
from chalicelib.adapters.identity import (
    CognitoIdentityProvider,
    IdentityProvider,
    PasswordRejected,
    ProviderNotFound,
    SignInChallenged,
    SignInRefused,
    UnknownUser,
    WrongPassword,
)
from chalicelib.config import IssuerConfig
from chalicelib.errors import AuthenticationError, AuthUnavailable
from chalicelib.identity.tokens import Identity, TokenVerifier
from tests.fakes.identity import InMemoryIdentityProvider

REGION = "eu-west-1"
PASSWORD = "Contract-Pass-1a"
OTHER_PASSWORD = "Contract-Other-2b"
SLACK = 5  # seconds between the provider's clock and ours


class Harness:
    """Providers of one backend, and verifiers configured from what they say."""

    def __init__(self, backend: str, cognito: Any) -> None:
        self.backend = backend
        self.stage = "test" if backend == "memory" else "local"
        self._cognito = cognito
        self._fakes: list[InMemoryIdentityProvider] = []
        self._pools: list[str] = []

    def new(self) -> IdentityProvider:
        """A fresh provider (an empty user pool) of the backend under test."""
        if self.backend == "memory":
            fake = InMemoryIdentityProvider()
            self._fakes.append(fake)
            return fake
        pool = provisioning.ensure_user_pool(self._cognito, f"contract-{uuidlib.uuid4().hex[:12]}")
        self._pools.append(pool.pool_id)
        return CognitoIdentityProvider(self._cognito, pool.pool_id, pool.client_id)

    def missing(self) -> IdentityProvider:
        """A provider of the backend under test that was never created."""
        if self.backend == "memory":
            return InMemoryIdentityProvider(exists=False)
        return CognitoIdentityProvider(self._cognito, f"{REGION}_Missing{uuidlib.uuid4().hex[:8]}", "no-such-client")

    def verifier(self, *providers: IdentityProvider, stage: str | None = None) -> TokenVerifier:
        """The catalogue's verifier trusting ``providers``, configured from what they say."""
        configs = [p.issuer_config() for p in providers]
        if self.backend == "memory":
            return TokenVerifier(configs, stage=stage or self.stage, fetch_jwks=self._fetch_from_fakes)
        return TokenVerifier(configs, stage=stage or self.stage)  # HTTP GET of jwks_url on moto server

    @property
    def cognito(self) -> Any:
        """The boto3 ``cognito-idp`` client of the moto backend."""
        assert self._cognito is not None
        return self._cognito

    def _fetch_from_fakes(self, url: str) -> dict[str, Any]:
        for fake in self._fakes:
            if fake.issuer_config().jwks_url == url:
                return fake.fetch_jwks(url)
        raise OSError(f"no JWKS at {url}")

    def close(self) -> None:
        for pool_id in self._pools:
            self._cognito.delete_user_pool(UserPoolId=pool_id)


@pytest.fixture(params=["memory", "moto"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    cognito = None
    if request.param == "moto":
        cognito = make_client("cognito-idp", region=REGION, endpoint_url=request.getfixturevalue("moto_server_url"))
    h = Harness(str(request.param), cognito)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def provider(harness: Harness) -> IdentityProvider:
    return harness.new()


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_token_issued_for_a_user_is_accepted_by_the_verifier_and_names_the_user(
    harness: Harness, provider: IdentityProvider
) -> None:
    assert provider.create_user("alice", PASSWORD, email="alice@example.org") is True
    before = time.time()
    issued = provider.sign_in("alice", PASSWORD)
    after = time.time()
    identity = harness.verifier(provider).verify(bearer(issued.token))
    assert isinstance(identity, Identity)
    assert identity.username == "alice"
    config = provider.issuer_config()
    assert identity.issuer == config.issuer == identity.claims["iss"]
    assert identity.claims["token_use"] == "access"
    assert identity.claims["client_id"] in config.client_ids
    assert issued.expires_in > 0
    assert identity.claims["exp"] - identity.claims["iat"] == issued.expires_in
    assert before - SLACK <= identity.claims["exp"] - issued.expires_in <= after + SLACK


def test_the_issuer_config_is_what_the_catalogue_settings_need(provider: IdentityProvider) -> None:
    config = provider.issuer_config()
    assert config.issuer and config.jwks_url and len(config.client_ids) == 1
    assert (config.token_use, config.username_claim) == ("access", "username")
    # the same entry, written to CATALOGUE_OIDC_ISSUERS and read back
    raw = {
        "issuer": config.issuer,
        "jwks_url": config.jwks_url,
        "client_ids": list(config.client_ids),
        "token_use": config.token_use,
        "username_claim": config.username_claim,
    }
    assert IssuerConfig.from_mapping(raw) == config


def test_a_token_of_another_provider_is_refused(harness: Harness, provider: IdentityProvider) -> None:
    other = harness.new()
    assert provider.issuer_config().issuer != other.issuer_config().issuer
    other.create_user("alice", PASSWORD)
    token = other.sign_in("alice", PASSWORD).token
    with pytest.raises(AuthenticationError):
        harness.verifier(provider).verify(bearer(token))
    assert harness.verifier(provider, other).verify(bearer(token)).username == "alice"


def test_a_tampered_token_is_refused(harness: Harness, provider: IdentityProvider) -> None:
    """The verifier really checks what the provider signs (this suite can fail)."""
    provider.create_user("alice", PASSWORD)
    header, _, signature = provider.sign_in("alice", PASSWORD).token.split(".")
    provider.create_user("mallory", PASSWORD)
    _, mallory_claims, _ = provider.sign_in("mallory", PASSWORD).token.split(".")
    with pytest.raises(AuthenticationError):
        harness.verifier(provider).verify(bearer(f"{header}.{mallory_claims}.{signature}"))


def test_moto_tokens_are_refused_outside_the_local_stage(harness: Harness, provider: IdentityProvider) -> None:
    """Why the moto variant verifies with stage "local": moto's signing key is public."""
    provider.create_user("alice", PASSWORD)
    token = provider.sign_in("alice", PASSWORD).token
    verifier = harness.verifier(provider, stage="dev")
    if harness.backend == "memory":
        assert verifier.verify(bearer(token)).username == "alice"  # a key of its own
    else:
        with pytest.raises(AuthUnavailable):
            verifier.verify(bearer(token))


def test_a_wrong_password_is_refused(provider: IdentityProvider) -> None:
    provider.create_user("alice", PASSWORD)
    with pytest.raises(WrongPassword) as refused:
        provider.sign_in("alice", OTHER_PASSWORD)
    assert isinstance(refused.value, SignInRefused)


def test_an_unknown_user_is_refused(provider: IdentityProvider) -> None:
    provider.create_user("alice", PASSWORD)
    with pytest.raises(UnknownUser) as refused:
        provider.sign_in("bob", PASSWORD)
    assert isinstance(refused.value, SignInRefused)


def test_a_right_password_the_provider_wants_a_further_step_for_is_a_challenge(
    harness: Harness, provider: IdentityProvider
) -> None:
    """A user with a temporary password (made by an operator in the console or CLI) must
    choose a new one first: the password was right, but no token comes."""
    if isinstance(provider, InMemoryIdentityProvider):
        provider.create_user("alice", PASSWORD)
        provider.challenged.add("alice")
    else:
        assert isinstance(provider, CognitoIdentityProvider)
        harness.cognito.admin_create_user(
            UserPoolId=provider.pool_id, Username="alice", TemporaryPassword=PASSWORD, MessageAction="SUPPRESS"
        )
    with pytest.raises(SignInChallenged):
        provider.sign_in("alice", PASSWORD)
    with pytest.raises(WrongPassword):
        provider.sign_in("alice", OTHER_PASSWORD)


def test_users_do_not_share_passwords(harness: Harness, provider: IdentityProvider) -> None:
    provider.create_user("alice", PASSWORD)
    provider.create_user("bob", OTHER_PASSWORD)
    with pytest.raises(WrongPassword):
        provider.sign_in("bob", PASSWORD)
    verifier = harness.verifier(provider)
    assert verifier.verify(bearer(provider.sign_in("bob", OTHER_PASSWORD).token)).username == "bob"
    assert verifier.verify(bearer(provider.sign_in("alice", PASSWORD).token)).username == "alice"


def test_a_removed_user_is_refused(provider: IdentityProvider) -> None:
    provider.create_user("alice", PASSWORD)
    provider.create_user("bob", PASSWORD)
    provider.sign_in("alice", PASSWORD)
    provider.remove_user("alice")
    with pytest.raises(UnknownUser):
        provider.sign_in("alice", PASSWORD)
    provider.sign_in("bob", PASSWORD)  # the others stay


def test_removing_a_user_that_does_not_exist_is_harmless(provider: IdentityProvider) -> None:
    provider.remove_user("nobody")
    provider.create_user("alice", PASSWORD)
    provider.remove_user("alice")
    provider.remove_user("alice")
    with pytest.raises(UnknownUser):
        provider.sign_in("alice", PASSWORD)


def test_a_removed_user_can_be_created_again(harness: Harness, provider: IdentityProvider) -> None:
    provider.create_user("alice", PASSWORD)
    provider.remove_user("alice")
    assert provider.create_user("alice", OTHER_PASSWORD) is True
    with pytest.raises(WrongPassword):
        provider.sign_in("alice", PASSWORD)
    token = provider.sign_in("alice", OTHER_PASSWORD).token
    assert harness.verifier(provider).verify(bearer(token)).username == "alice"


def test_creating_an_existing_user_again_sets_the_new_password(harness: Harness, provider: IdentityProvider) -> None:
    assert provider.create_user("alice", PASSWORD, email="alice@example.org") is True
    assert provider.create_user("alice", OTHER_PASSWORD, email="alice@example.org") is False
    with pytest.raises(WrongPassword):
        provider.sign_in("alice", PASSWORD)
    token = provider.sign_in("alice", OTHER_PASSWORD).token
    assert harness.verifier(provider).verify(bearer(token)).username == "alice"


def test_creating_an_existing_user_with_the_same_password_is_harmless(provider: IdentityProvider) -> None:
    provider.create_user("alice", PASSWORD)
    assert provider.create_user("alice", PASSWORD) is False
    provider.sign_in("alice", PASSWORD)


def test_a_password_the_policy_refuses_is_rejected_and_leaves_no_user(provider: IdentityProvider) -> None:
    with pytest.raises(PasswordRejected):
        provider.create_user("alice", "short")
    with pytest.raises(UnknownUser):
        provider.sign_in("alice", "short")
    provider.create_user("bob", PASSWORD)
    with pytest.raises(PasswordRejected):
        provider.create_user("bob", "short")
    provider.sign_in("bob", PASSWORD)  # an existing user keeps the password they had


@pytest.mark.parametrize(
    "operation",
    [
        lambda p: p.create_user("alice", PASSWORD),
        lambda p: p.remove_user("alice"),
        lambda p: p.sign_in("alice", PASSWORD),
    ],
    ids=["create_user", "remove_user", "sign_in"],
)
def test_a_missing_provider_raises_provider_not_found(
    harness: Harness, operation: Callable[[IdentityProvider], object]
) -> None:
    missing = harness.missing()
    assert missing.issuer_config().client_ids  # known without asking the provider
    with pytest.raises(ProviderNotFound):
        operation(missing)
