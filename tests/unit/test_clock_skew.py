"""T12 clock skew (issue 22): every kind of token the catalogue accepts is accepted or refused
exactly at its time boundaries, ±1 s, as the injected (frozen) clock says; never the wall clock.

The rules, with ``now`` the injected clock and ``leeway`` the verifier's (``leeway_seconds``; the
composition root passes none, so 0 in production):

- a JWT is valid while ``now < exp + leeway``: refused exactly at ``exp + leeway``;
- a JWT is refused while ``now < iat - leeway`` or ``now < nbf - leeway``: valid exactly from then;
- an API-key session of the Data Tracker API is valid while ``now < expires_at`` (no leeway).

The frozen clock stands years away from the wall clock, behind it and ahead of it: python-jose
compares ``exp``/``nbf`` with ``time.time()`` itself, so a verifier that let it decide would refuse
tokens its own clock says are valid (all of them behind the wall clock, those with an ``nbf``
ahead of it). The verifier leaves it no time check (chalicelib/identity/tokens.py ``_decode``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.config import IssuerConfig
from chalicelib.domain import User
from chalicelib.errors import AuthenticationError
from chalicelib.identity.tokens import TokenVerifier
from chalicelib.tracker.api_keys import ApiKeyService
from tests.fakes.facility import InMemoryFacilityStore
from tests.support.tokens import TokenMint, jwks_fetcher, segment
from tests.unit.test_auth import (
    SERVICE_CLIENT,
    FakeClock,
    bearer,
    client_credentials_claims,
    cognito_claims,
    denied,
    service_config,
)

# Whole seconds far from any wall clock this test runs at (2001 and 2096).
ANCHORS = [
    pytest.param(1_000_000_000, id="clock-behind-wall"),
    pytest.param(4_000_000_000, id="clock-ahead-of-wall"),
]
# None: the verifier's default, which the composition root uses
LEEWAYS = [pytest.param(None, id="leeway-default-0"), pytest.param(5, id="leeway-5")]
LONG = 600  # how far the claims not under test sit from the boundary


@dataclass(frozen=True)
class Kind:
    """One kind of JWT: how its issuer is configured, how a token of it is minted, who it names."""

    config: Callable[[TokenMint], IssuerConfig]
    token: Callable[[TokenMint, dict[str, int]], str]
    username: str


def _oidc_claims(mint: TokenMint, times: dict[str, int]) -> dict[str, Any]:
    return {
        "iss": mint.issuer,
        "sub": "f3c1",
        "typ": "Bearer",
        "azp": "web-portal",
        "aud": [mint.client_id, "account"],
        "preferred_username": "dora",
        **times,
    }


KINDS = {
    # Cognito access token, bound by client_id
    "cognito-access": Kind(
        config=lambda m: m.issuer_config(),
        token=lambda m, times: m.sign(cognito_claims(m, 0, **times)),
        username="alice",
    ),
    # Cognito/OIDC ID token (an issuer with token_use "id"), bound by aud
    "id-token": Kind(
        config=lambda m: m.issuer_config(token_use="id", username_claim="cognito:username"),
        token=lambda m, times: m.id_token("carol", **times),
        username="carol",
    ),
    # generic OIDC access token (token_use null, Keycloak and friends), bound by aud/azp
    "oidc-access": Kind(
        config=lambda m: m.issuer_config(token_use=None, username_claim="preferred_username"),
        token=lambda m, times: m.sign(_oidc_claims(m, times)),
        username="dora",
    ),
    # OAuth2 client-credentials token of a service client, mapped to a catalogue user
    "client-credentials": Kind(
        config=service_config,
        token=lambda m, times: m.sign(client_credentials_claims(m, 0, client=SERVICE_CLIENT, **times)),
        username="xfel-daq",
    ),
}
KIND_IDS = list(KINDS)

# (offset in seconds of the frozen clock from the boundary, accepted?)
VALID_UNTIL_BOUNDARY = [(-1, True), (0, False), (1, False)]
VALID_FROM_BOUNDARY = [(-1, False), (0, True), (1, True)]


@pytest.fixture(scope="module")
def mint() -> TokenMint:
    return TokenMint()


@pytest.fixture(scope="module")
def token_of(mint: TokenMint) -> Callable[..., str]:
    """``token_of(kind, **times)``: a signed token of that kind; the same one for the same times
    (signing is the slow part, and a token does not depend on the leeway or the clock)."""
    signed: dict[tuple[str, tuple[tuple[str, int], ...]], str] = {}

    def token_of(kind: str, **times: int) -> str:
        key = (kind, tuple(sorted(times.items())))
        if key not in signed:
            signed[key] = KINDS[kind].token(mint, times)
        return signed[key]

    return token_of


def _verifier(mint: TokenMint, kind: str, clock: FakeClock, leeway: int | None) -> TokenVerifier:
    options = {} if leeway is None else {"leeway_seconds": leeway}
    return TokenVerifier([KINDS[kind].config(mint)], stage="dev", fetch_jwks=jwks_fetcher(mint), clock=clock, **options)


def _check(verifier: TokenVerifier, token: str, kind: str, accepted: bool, refusal: str) -> None:
    if accepted:
        assert verifier.verify(bearer(token)).username == KINDS[kind].username
    else:
        assert str(denied(verifier, bearer(token))) == refusal


def test_the_anchors_are_far_from_the_wall_clock() -> None:
    # the point of the anchors: python-jose's own checks would answer differently at them
    behind, ahead = (p.values[0] for p in ANCHORS)
    assert behind + 10 * 365 * 86400 < time.time() < ahead - 10 * 365 * 86400


@pytest.mark.parametrize(("offset", "accepted"), VALID_UNTIL_BOUNDARY, ids=["before", "at", "after"])
@pytest.mark.parametrize("anchor", ANCHORS)
@pytest.mark.parametrize("leeway", LEEWAYS)
@pytest.mark.parametrize("kind", KIND_IDS)
def test_token_expires_exactly_at_exp_plus_leeway(
    mint: TokenMint,
    token_of: Callable[..., str],
    kind: str,
    leeway: int | None,
    anchor: int,
    offset: int,
    accepted: bool,
) -> None:
    exp = anchor
    clock = FakeClock(exp + (leeway or 0) + offset)
    token = token_of(kind, iat=exp - LONG, exp=exp)
    _check(_verifier(mint, kind, clock, leeway), token, kind, accepted, "token expired")


@pytest.mark.parametrize(("offset", "accepted"), VALID_FROM_BOUNDARY, ids=["before", "at", "after"])
@pytest.mark.parametrize("anchor", ANCHORS)
@pytest.mark.parametrize("leeway", LEEWAYS)
@pytest.mark.parametrize("kind", KIND_IDS)
def test_token_is_refused_until_iat_minus_leeway(
    mint: TokenMint,
    token_of: Callable[..., str],
    kind: str,
    leeway: int | None,
    anchor: int,
    offset: int,
    accepted: bool,
) -> None:
    iat = anchor
    clock = FakeClock(iat - (leeway or 0) + offset)
    token = token_of(kind, iat=iat, exp=iat + LONG)
    _check(_verifier(mint, kind, clock, leeway), token, kind, accepted, "token issued in the future")


@pytest.mark.parametrize(("offset", "accepted"), VALID_FROM_BOUNDARY, ids=["before", "at", "after"])
@pytest.mark.parametrize("anchor", ANCHORS)
@pytest.mark.parametrize("leeway", LEEWAYS)
@pytest.mark.parametrize("kind", KIND_IDS)
def test_token_is_refused_until_nbf_minus_leeway(
    mint: TokenMint,
    token_of: Callable[..., str],
    kind: str,
    leeway: int | None,
    anchor: int,
    offset: int,
    accepted: bool,
) -> None:
    nbf = anchor
    clock = FakeClock(nbf - (leeway or 0) + offset)
    token = token_of(kind, iat=nbf - LONG, nbf=nbf, exp=nbf + LONG)
    _check(_verifier(mint, kind, clock, leeway), token, kind, accepted, "token not yet valid")


@pytest.mark.parametrize("anchor", ANCHORS)
@pytest.mark.parametrize("leeway", LEEWAYS)
@pytest.mark.parametrize("kind", KIND_IDS)
def test_a_remembered_token_still_expires_exactly_at_exp_plus_leeway(
    mint: TokenMint, token_of: Callable[..., str], kind: str, leeway: int | None, anchor: int
) -> None:
    # the verifier remembers a verified token and checks only its times on the next use
    exp = anchor
    boundary = exp + (leeway or 0)
    clock = FakeClock(boundary - LONG)
    verifier = _verifier(mint, kind, clock, leeway)
    token = token_of(kind, iat=exp - LONG, exp=exp)
    _check(verifier, token, kind, True, "")
    clock.now = boundary - 1
    _check(verifier, token, kind, True, "")
    clock.now = boundary
    _check(verifier, token, kind, False, "token expired")


# -- API-key sessions of the Data Tracker compatibility API ------------------------------------


@pytest.mark.parametrize(("offset", "accepted"), VALID_UNTIL_BOUNDARY, ids=["before", "at", "after"])
@pytest.mark.parametrize("anchor", ANCHORS)
def test_api_key_session_expires_exactly_at_expires_at(anchor: int, offset: int, accepted: bool) -> None:
    clock = FakeClock(anchor)
    # built as the composition root builds it: the default session length
    service = ApiKeyService(InMemoryFacilityStore(clock=clock), user_exists={"alice"}.__contains__, clock=clock)
    _, presented = service.create(User("alice"), "alice", "laptop")
    opened = service.open_session(presented, "192.0.2.1")
    assert opened["expires_at"] == anchor + opened["expires_in"]
    clock.now = opened["expires_at"] + offset
    if accepted:
        assert service.authenticate_session(opened["token"], "192.0.2.1") == "alice"
    else:
        with pytest.raises(AuthenticationError, match=r"^invalid or expired session$"):
            service.authenticate_session(opened["token"], "192.0.2.1")


# -- what the clock must not change ---------------------------------------------------------------


def _tampered(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{header}.{segment({**claims, **changes})}.{signature}"


@pytest.mark.parametrize("anchor", ANCHORS)
def test_a_token_failing_another_check_is_refused_whatever_the_clock(
    mint: TokenMint, token_of: Callable[..., str], anchor: int
) -> None:
    # Behind the wall clock python-jose's exp check fails first and skips its later checks,
    # which the verifier then has to run all the same (here: sub must be a string).
    verifier = _verifier(mint, "cognito-access", FakeClock(anchor), None)
    token = token_of("cognito-access", iat=anchor - LONG, exp=anchor + LONG)
    assert verifier.verify(bearer(token)).username == "alice"
    assert str(denied(verifier, bearer(_tampered(token, username="admin")))) == "token invalid"
    not_a_string = mint.sign(cognito_claims(mint, 0, sub=42, iat=anchor - LONG, exp=anchor + LONG))
    assert str(denied(verifier, bearer(not_a_string))) == "token invalid"


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("anchor", ANCHORS)
def test_a_time_claim_beyond_any_float_is_refused_not_a_crash(mint: TokenMint, anchor: int, claim: str) -> None:
    # JSON integers have no bound; float() of this one raises OverflowError (a 500, not a 401)
    verifier = _verifier(mint, "cognito-access", FakeClock(anchor), None)
    token = mint.sign(cognito_claims(mint, anchor, **{claim: 10**400}))
    assert str(denied(verifier, bearer(token))) == f"token {claim} claim missing or invalid"
