"""TokenVerifier: the §1 JWT checklist and attack matrix, JWKS caching, moto's dev key."""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.config import ConfigError, IssuerConfig, Settings
from chalicelib.errors import AuthenticationError, AuthUnavailable
from chalicelib.identity import tokens as auth
from chalicelib.identity.tokens import Identity, TokenVerifier, default_fetch_jwks
from tests.support.moto_keys import b64_int, moto_private_key, moto_resource
from tests.support.tokens import MemoryJwks, TokenMint, b64url, jwks_fetcher, segment

ISSUER_A = "https://issuer.test/pool-a"
ISSUER_B = "https://issuer.test/pool-b"
MOTO_REFUSED = "moto development key refused outside the local stage"


@pytest.fixture(autouse=True, params=["cryptography", "python-rsa"])
def jose_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every check runs on both of python-jose's RSA backends: the dev virtualenv has
    cryptography (moto needs it) and python-jose prefers it; the Lambda package has only
    the pure-Python one (requirements/runtime.lock has python-jose without extras)."""
    if request.param == "python-rsa":
        from jose.backends import rsa_backend

        # jose.jwk.get_key() reads jose.backends.RSAKey at call time
        monkeypatch.setattr("jose.backends.RSAKey", rsa_backend.RSAKey)
    return str(request.param)


def test_the_backend_under_test_is_the_one_that_verifies(jose_backend: str) -> None:
    from jose import jwk
    from jose.backends import rsa_backend

    assert (jwk.get_key("RS256") is rsa_backend.RSAKey) == (jose_backend == "python-rsa")


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    # Whole seconds, at the wall clock (the verifier decides by this clock alone: see
    # test_clock_skew.py, which stands it years away)
    return FakeClock(float(int(time.time())))


@pytest.fixture
def mint(clock: FakeClock) -> TokenMint:
    return TokenMint(clock=clock)


@pytest.fixture
def fetcher(mint: TokenMint) -> MemoryJwks:
    return jwks_fetcher(mint)


@pytest.fixture
def verifier(mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=fetcher, clock=clock)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def denied(verifier: TokenVerifier, header: str | None) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as info:
        verifier.verify(header)
    message = str(info.value)
    assert len(message) < 80
    if header:
        for part in header.split("."):
            assert len(part) < 16 or part[-16:] not in message
    return info.value


def cognito_claims(mint: TokenMint, now: float, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": mint.issuer,
        "sub": "0000-1111",
        "username": "alice",
        "client_id": mint.client_id,
        "token_use": "access",
        "iat": int(now),
        "exp": int(now) + 300,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{segment(header)}.{segment(claims)}.{b64url(signature)}"


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def with_header(token: str, header: dict[str, Any]) -> str:
    """The same payload and signature under a different header."""
    _, payload, signature = token.split(".")
    return f"{segment(header)}.{payload}.{signature}"


# --- the happy paths ------------------------------------------------------------------


def test_valid_access_token_gives_identity(verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks) -> None:
    assert fetcher.calls == []  # nothing fetched before the first verify
    identity = verifier.verify(bearer(mint.access_token("alice", scope="catalogue/read")))
    assert isinstance(identity, Identity)
    assert identity.username == "alice"
    assert identity.issuer == ISSUER_A
    assert identity.claims["client_id"] == "client-a"
    assert identity.claims["scope"] == "catalogue/read"
    assert fetcher.calls == [f"memory://{ISSUER_A}"]
    # cached: a second token needs no fetch
    assert verifier.verify(bearer(mint.access_token("bob"))).username == "bob"
    assert len(fetcher.calls) == 1


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(verifier: TokenVerifier, mint: TokenMint, scheme: str) -> None:
    assert verifier.verify(f"{scheme} {mint.access_token('alice')}").username == "alice"


def test_id_token_accepted_when_configured(mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock) -> None:
    cfg = mint.issuer_config(token_use="id", username_claim="cognito:username")
    verifier = TokenVerifier([cfg], stage="dev", fetch_jwks=fetcher, clock=clock)
    # Cognito ID tokens carry at_hash; python-jose would reject them without the access token.
    identity = verifier.verify(bearer(mint.id_token("carol", at_hash="abc", email="c@example.org")))
    assert identity.username == "carol"
    assert identity.claims["aud"] == "client-a"


def test_jose_is_called_pinned(verifier: TokenVerifier, mint: TokenMint, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    real = auth.jwt.decode

    def spy(token: str, key: Any, **kwargs: Any) -> dict[str, Any]:
        seen.update(kwargs, key=key)
        return real(token, key, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", spy)
    verifier.verify(bearer(mint.access_token("alice")))
    assert seen["algorithms"] == ["RS256"]
    assert seen["issuer"] == ISSUER_A
    assert seen["options"]["require_iss"] is True
    assert seen["options"]["verify_aud"] is False
    # the times are the verifier's own checks on its injected clock (test_clock_skew.py),
    # which require exp and iat (test_missing_time_claim_rejected): none is left to jose,
    # whose require_exp would turn its wall-clock exp check back on
    assert not any(seen["options"].get(k) for k in ("require_exp", "require_iat", "require_nbf"))
    assert not any(seen["options"].get(k, True) for k in ("verify_exp", "verify_iat", "verify_nbf"))
    assert isinstance(seen["key"], dict)
    assert seen["key"]["kid"] == "test-key-1"
    assert seen["key"]["kty"] == "RSA"
    assert "keys" not in seen["key"]


# --- attack matrix: forged algorithms -------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"\x00" * 32])
def test_alg_none_rejected(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, alg: str, signature: bytes
) -> None:
    token = unsigned({"alg": alg, "typ": "JWT", "kid": mint.kid}, cognito_claims(mint, mint.clock()), signature)
    denied(verifier, bearer(token))
    assert fetcher.calls == []  # refused on the header, before any key lookup


def _public_encodings(mint: TokenMint) -> dict[str, bytes]:
    public = mint.private_key.public_key()
    return {
        "pem": mint.public_pem,
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "pkcs1-der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
        "jwk-json": json.dumps(mint.public_jwk).encode(),
        "jwks-json": json.dumps(mint.jwks).encode(),
        "ssh": public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        "n": mint.public_jwk["n"].encode(),
    }


@pytest.mark.parametrize("encoding", ["pem", "der", "pkcs1-der", "jwk-json", "jwks-json", "ssh", "n"])
@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_hmac_with_public_key_rejected(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, encoding: str, alg: str
) -> None:
    secret = _public_encodings(mint)[encoding]
    token = hs256({"alg": alg, "typ": "JWT", "kid": mint.kid}, cognito_claims(mint, mint.clock()), secret)
    denied(verifier, bearer(token))
    assert fetcher.calls == []  # refused on the header, before any key lookup


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256", "ES256", "rs256", "RS256 ", ["RS256"], None])
def test_other_algorithms_rejected(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock, alg: Any) -> None:
    token = mint.sign(cognito_claims(mint, clock()), headers={"alg": alg})
    denied(verifier, bearer(token))


def test_tampered_payload_rejected(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    header, _, signature = mint.access_token("alice").split(".")
    forged = f"{header}.{segment(cognito_claims(mint, clock(), username='admin'))}.{signature}"
    denied(verifier, bearer(forged))


# --- attack matrix: wrong issuer, client or token type --------------------------------


def test_token_from_another_pool_rejected(verifier: TokenVerifier, clock: FakeClock) -> None:
    other = TokenMint(issuer=ISSUER_B, kid="pool-b-key", clock=clock)
    denied(verifier, bearer(other.access_token("mallory")))
    # ... even when it claims pool A's issuer (its key is not in pool A's JWKS)
    denied(verifier, bearer(other.access_token("mallory", iss=ISSUER_A)))


def test_other_pool_with_same_kid_rejected(mint: TokenMint, clock: FakeClock) -> None:
    other = TokenMint(issuer=ISSUER_B, kid=mint.kid, clock=clock)
    assert other.public_jwk["n"] != mint.public_jwk["n"]
    fetcher = jwks_fetcher(mint, other)
    verifier = TokenVerifier(
        [mint.issuer_config(), other.issuer_config()], stage="dev", fetch_jwks=fetcher, clock=clock
    )
    assert verifier.verify(bearer(other.access_token("bob"))).issuer == ISSUER_B
    assert verifier.verify(bearer(mint.access_token("alice"))).issuer == ISSUER_A
    # pool B's key under the shared kid must not vouch for pool A's issuer
    denied(verifier, bearer(other.access_token("mallory", iss=ISSUER_A)))
    # and a verifier trusting only pool A rejects pool B outright
    only_a = TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=fetcher, clock=clock)
    denied(only_a, bearer(other.access_token("mallory")))


@pytest.mark.parametrize("iss", [ISSUER_A + "/", ISSUER_A.upper(), "https://issuer.test/pool-a ", None, 42, [ISSUER_A]])
def test_issuer_must_match_exactly(verifier: TokenVerifier, mint: TokenMint, iss: Any) -> None:
    denied(verifier, bearer(mint.access_token("alice", iss=iss)))


@pytest.mark.parametrize("client_id", ["client-b", "", None, ["client-a"], "CLIENT-A"])
def test_access_token_for_another_app_client_rejected(verifier: TokenVerifier, mint: TokenMint, client_id: Any) -> None:
    denied(verifier, bearer(mint.access_token("alice", client_id=client_id)))


def test_access_token_with_matching_aud_but_wrong_client_id_rejected(verifier: TokenVerifier, mint: TokenMint) -> None:
    denied(verifier, bearer(mint.access_token("alice", client_id="client-b", aud="client-a")))


def test_id_token_where_access_required_rejected(verifier: TokenVerifier, mint: TokenMint) -> None:
    # carries username and client_id too, so only token_use tells them apart
    denied(verifier, bearer(mint.id_token("alice", username="alice", client_id="client-a")))
    denied(verifier, bearer(mint.access_token("alice", token_use=None)))


def test_access_token_where_id_required_rejected(mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock) -> None:
    cfg = mint.issuer_config(token_use="id", username_claim="cognito:username")
    verifier = TokenVerifier([cfg], stage="dev", fetch_jwks=fetcher, clock=clock)
    extra: dict[str, Any] = {"cognito:username": "alice", "aud": "client-a"}
    denied(verifier, bearer(mint.access_token("alice", **extra)))
    denied(verifier, bearer(mint.id_token("alice", aud="client-b")))
    denied(verifier, bearer(mint.id_token("alice", aud=["client-a"])))


# --- attack matrix: time claims -------------------------------------------------------


def test_expired_token_rejected(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    now = int(clock())
    error = denied(verifier, bearer(mint.access_token("alice", iat=now - 60, exp=now - 1)))
    assert "expired" in str(error)
    denied(verifier, bearer(mint.access_token("alice", iat=now - 60, exp=now)))  # exp is exclusive
    assert verifier.verify(bearer(mint.access_token("alice", iat=now - 60, exp=now + 1))).username == "alice"


def test_token_expires_on_the_injected_clock(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    token = bearer(mint.access_token("alice", lifetime=60))
    assert verifier.verify(token).username == "alice"
    clock.advance(60)
    denied(verifier, token)


def test_leeway_applies(mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock) -> None:
    verifier = TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=fetcher, clock=clock, leeway_seconds=5)
    now = int(clock())
    assert verifier.verify(bearer(mint.access_token("alice", exp=now - 1))).username == "alice"
    assert verifier.verify(bearer(mint.access_token("alice", iat=now + 5))).username == "alice"
    denied(verifier, bearer(mint.access_token("alice", iat=now - 60, exp=now - 6)))
    denied(verifier, bearer(mint.access_token("alice", iat=now + 6)))


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_missing_time_claim_rejected(verifier: TokenVerifier, mint: TokenMint, claim: str) -> None:
    removed: dict[str, Any] = {claim: None}
    denied(verifier, bearer(mint.access_token("alice", **removed)))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ["9999999999", True, [1], {"t": 1}, float("inf"), float("nan"), "null"])
def test_non_numeric_time_claim_rejected(
    verifier: TokenVerifier, mint: TokenMint, clock: FakeClock, claim: str, value: Any
) -> None:
    claims = cognito_claims(mint, clock(), **{claim: value})
    if value == "null":
        claims[claim] = None  # an explicit JSON null
    denied(verifier, bearer(mint.sign(claims)))


def test_iat_in_future_rejected(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    now = int(clock())
    denied(verifier, bearer(mint.access_token("alice", iat=now + 60, exp=now + 600)))
    denied(verifier, bearer(mint.access_token("alice", iat=now + 1)))


def test_nbf_in_future_rejected(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    now = int(clock())
    denied(verifier, bearer(mint.access_token("alice", nbf=now + 60)))
    assert verifier.verify(bearer(mint.access_token("alice", nbf=now))).username == "alice"


# --- attack matrix: key selection -----------------------------------------------------


def test_unknown_kid_rejected(verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock) -> None:
    stranger = TokenMint(kid="not-published", clock=clock)  # same issuer, unpublished key
    error = denied(verifier, bearer(stranger.access_token("mallory")))
    assert "key" in str(error)
    assert fetcher.calls == [mint.jwks_url]


@pytest.mark.parametrize(
    "kid",
    [
        "../../dev/null",
        "/dev/null",
        "' OR '1'='1",
        "test-key-1\x00",
        "test-key-1 ",
        "TEST-KEY-1",
        "x" * auth.MAX_KID_CHARS,
        "x" * (auth.MAX_KID_CHARS + 1),
        "x" * 1000,
        "x" * 10_000,
        "",
        None,
        7,
        ["test-key-1"],
        {"kid": "test-key-1"},
    ],
    ids=lambda k: repr(k)[:24],
)
def test_kid_injection_rejected(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock, kid: Any
) -> None:
    token = mint.sign(cognito_claims(mint, clock()), headers={"kid": kid})
    denied(verifier, bearer(token))
    assert set(fetcher.calls) <= {mint.jwks_url}
    if not isinstance(kid, str) or not 0 < len(kid) <= auth.MAX_KID_CHARS:
        assert fetcher.calls == []  # refused before any key lookup


def test_missing_kid_rejected(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    denied(verifier, bearer(mint.sign(cognito_claims(mint, clock()), headers={"kid": None})))


@pytest.mark.parametrize("param", ["jku", "x5u"])
def test_key_url_headers_rejected_and_never_fetched(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock, param: str
) -> None:
    attacker = TokenMint(issuer="https://attacker.test", kid="evil", clock=clock)
    fetcher.serve(attacker)  # the attacker's JWKS really is reachable through the fetcher
    for kid in ("evil", mint.kid):
        claims = cognito_claims(mint, clock(), username="admin")
        denied(verifier, bearer(attacker.sign(claims, headers={"kid": kid, param: attacker.jwks_url})))
    # header present on an otherwise genuine token: still refused
    denied(verifier, bearer(mint.sign(cognito_claims(mint, clock()), headers={param: attacker.jwks_url})))
    assert attacker.jwks_url not in fetcher.calls
    assert set(fetcher.calls) <= {mint.jwks_url}


def test_embedded_jwk_header_rejected(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock
) -> None:
    attacker = TokenMint(issuer="https://attacker.test", kid=mint.kid, clock=clock)
    claims = cognito_claims(mint, clock(), username="admin")
    denied(verifier, bearer(attacker.sign(claims, headers={"jwk": attacker.public_jwk})))
    denied(verifier, bearer(attacker.sign(claims, headers={"x5c": [b64url(attacker.public_pem)]})))
    denied(verifier, bearer(mint.sign(claims, headers={"jwk": mint.public_jwk})))
    assert set(fetcher.calls) <= {mint.jwks_url}


@pytest.mark.parametrize("crit", [["exp"], ["b64"], ["x-unknown"], [], "exp"])
def test_crit_header_rejected(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock, crit: Any) -> None:
    headers: dict[str, Any] = {"crit": crit}
    if crit == ["b64"]:
        headers["b64"] = False
    denied(verifier, bearer(mint.sign(cognito_claims(mint, clock()), headers=headers)))


# --- attack matrix: the header itself -------------------------------------------------


def test_non_bearer_schemes_rejected(verifier: TokenVerifier, mint: TokenMint) -> None:
    token = mint.access_token("alice")
    for header in (
        token,
        f"Basic {token}",
        f"Token {token}",
        f"JWT {token}",
        f"Bearer: {token}",
        f"Bearer{token}",
        f"Bearer {token} extra",
        f"Bearer {token},Bearer {token}",
        "Bearer",
        "Bearer ",
        "",
        None,
        f"B\u0435arer {token}",  # Cyrillic e
    ):
        denied(verifier, header)


def test_header_size_cap(verifier: TokenVerifier, mint: TokenMint) -> None:
    token = mint.access_token("alice")
    # extra spaces between scheme and token are tolerated, which lets us hit the exact cap
    at_cap = "Bearer" + " " * (auth.MAX_AUTHORIZATION_CHARS - 6 - len(token)) + token
    assert len(at_cap) == auth.MAX_AUTHORIZATION_CHARS == 8192
    assert verifier.verify(at_cap).username == "alice"
    denied(verifier, at_cap.replace("Bearer ", "Bearer  ", 1))
    oversized = bearer(mint.access_token("alice", padding="p" * 9000))
    assert "too large" in str(denied(verifier, oversized))


NAN_HEADER = b'{"alg": "RS256", "kid": "test-key-1", "x": NaN}'


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "a.b",
        "a.b.c.d",
        "a..c",
        "..",
        "!!!.@@@.###",
        "eyJ.eyJ.eyJ",
        "é.é.é",
        "a.b.c=",
        "YQ.YQ.YQ",  # not JSON
        f"{b64url(b'[]')}.{b64url(b'{}')}.AAAA",  # header not an object
        f"{segment({'alg': 'RS256', 'kid': 'test-key-1'})}.{b64url(b'[1]')}.AAAA",  # claims not an object
        f"{segment({'alg': 'RS256', 'kid': 'test-key-1'})}.{b64url(b'{')}.AAAA",
        f"{b64url(NAN_HEADER)}.{b64url(b'{}')}.AAAA",
        f"{segment({'alg': 'RS256', 'kid': 'test-key-1'})}.{b64url(b'x' * 10)}A.AAAA",  # bad length
    ],
)
def test_garbage_rejected(verifier: TokenVerifier, fetcher: MemoryJwks, raw: str) -> None:
    denied(verifier, bearer(raw))
    assert fetcher.calls == []


@pytest.mark.parametrize(
    ("claim", "value"),
    [("username", None), ("username", ""), ("username", 42), ("username", ["alice"]), ("username", "a" * 129)],
)
def test_bad_username_claim_rejected(verifier: TokenVerifier, mint: TokenMint, claim: str, value: Any) -> None:
    denied(verifier, bearer(mint.access_token("alice", **{claim: value})))


def test_username_at_limit_accepted(verifier: TokenVerifier, mint: TokenMint) -> None:
    assert verifier.verify(bearer(mint.access_token("a" * 128))).username == "a" * 128


def test_username_claim_is_configurable(mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock) -> None:
    verifier = TokenVerifier([mint.issuer_config(username_claim="email")], stage="dev", fetch_jwks=fetcher, clock=clock)
    assert verifier.verify(bearer(mint.access_token("alice", email="alice@example.org"))).username == (
        "alice@example.org"
    )
    denied(verifier, bearer(mint.access_token("alice")))


def test_error_messages_do_not_echo_token(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    now = int(clock())
    tokens = [
        mint.access_token("alice", exp=now - 1),
        mint.access_token("alice", client_id="client-b"),
        mint.access_token("alice", iss="https://evil.test"),
        mint.access_token("alice", username=None),
        mint.sign(cognito_claims(mint, now), headers={"kid": "unknown-kid-xyz"}),
    ]
    for token in tokens:
        message = str(denied(verifier, bearer(token)))
        assert token not in message
        assert "evil" not in message
        assert "unknown-kid-xyz" not in message


# --- JWKS caching, cooldown, outages, rotation ----------------------------------------


def _random_kid_tokens(mint: TokenMint, count: int) -> Iterator[str]:
    _, payload, signature = mint.access_token("mallory").split(".")
    for _ in range(count):
        kid = secrets.token_urlsafe(secrets.choice([1, 8, 32, 120]))
        yield f"{segment({'alg': 'RS256', 'typ': 'JWT', 'kid': kid})}.{payload}.{signature}"


def test_random_kids_bounded_fetches(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock
) -> None:
    for token in _random_kid_tokens(mint, 1000):
        denied(verifier, bearer(token))
    assert 1 <= len(fetcher.calls) <= 2
    assert set(fetcher.calls) == {mint.jwks_url}
    before = len(fetcher.calls)

    clock.advance(9)
    for token in _random_kid_tokens(mint, 50):
        denied(verifier, bearer(token))
    assert len(fetcher.calls) == before

    clock.advance(1)  # cooldown over: exactly one more fetch, then quiet again
    for token in _random_kid_tokens(mint, 100):
        denied(verifier, bearer(token))
    assert len(fetcher.calls) == before + 1
    # known keys keep working throughout, without fetching
    assert verifier.verify(bearer(mint.access_token("alice"))).username == "alice"
    assert len(fetcher.calls) == before + 1


def test_cooldown_is_per_jwks_url(mint: TokenMint, clock: FakeClock) -> None:
    other = TokenMint(issuer=ISSUER_B, kid="b-key", clock=clock)
    fetcher = jwks_fetcher(mint, other)
    verifier = TokenVerifier(
        [mint.issuer_config(), other.issuer_config()], stage="dev", fetch_jwks=fetcher, clock=clock
    )
    for token in _random_kid_tokens(mint, 20):
        denied(verifier, bearer(token))
    assert verifier.verify(bearer(other.access_token("bob"))).username == "bob"
    assert sorted(fetcher.calls) == sorted([mint.jwks_url, other.jwks_url])


def test_concurrent_unknown_kids_fetch_once(verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks) -> None:
    tokens = list(_random_kid_tokens(mint, 400))
    failures: list[BaseException] = []

    def worker(chunk: list[str]) -> None:
        for token in chunk:
            try:
                verifier.verify(bearer(token))
            except AuthenticationError:
                continue
            except BaseException as exc:  # pragma: no cover - reported below
                failures.append(exc)

    threads = [threading.Thread(target=worker, args=(tokens[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert fetcher.calls == [mint.jwks_url]


def test_cold_cache_with_jwks_down_is_unavailable(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock
) -> None:
    fetcher.available = False
    token = bearer(mint.access_token("alice"))
    with pytest.raises(AuthUnavailable):
        verifier.verify(token)
    # failed attempts are rate-limited too: no second fetch inside the cooldown
    with pytest.raises(AuthUnavailable):
        verifier.verify(token)
    assert len(fetcher.calls) == 1
    fetcher.available = True
    clock.advance(10)
    assert verifier.verify(token).username == "alice"
    assert len(fetcher.calls) == 2


def test_jwks_down_with_keys_cached_keeps_working(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock
) -> None:
    assert verifier.verify(bearer(mint.access_token("alice"))).username == "alice"
    fetcher.available = False
    clock.advance(30)
    # a kid miss forces a refetch, which fails: 401 for the stranger, cache kept
    denied(verifier, bearer(TokenMint(kid="unpublished", clock=clock).access_token("mallory")))
    assert len(fetcher.calls) == 2
    assert verifier.verify(bearer(mint.access_token("bob"))).username == "bob"


@pytest.mark.parametrize(
    "document",
    [{}, {"keys": "nope"}, [], {"keys": [{"kty": "RSA"}]}],
    ids=["empty", "keys-not-list", "list", "no-usable-key"],
)
def test_bad_jwks_document(mint: TokenMint, clock: FakeClock, document: Any) -> None:
    verifier = TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=lambda url: document, clock=clock)
    token = bearer(mint.access_token("alice"))
    if document == {"keys": [{"kty": "RSA"}]}:
        denied(verifier, token)  # a well-formed JWKS without our kid: unknown key
    else:
        with pytest.raises(AuthUnavailable):
            verifier.verify(token)


@pytest.mark.parametrize(
    "change",
    [{"kty": "oct"}, {"use": "enc"}, {"alg": "HS256"}, {"alg": "RS512"}, {"n": "!!"}, {"e": None}, {"n": None}],
    ids=lambda c: next(iter(c.items())).__repr__(),
)
def test_unfit_jwk_is_not_used(mint: TokenMint, clock: FakeClock, change: dict[str, Any]) -> None:
    jwk = {k: v for k, v in {**mint.public_jwk, **change}.items() if v is not None}
    verifier = TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=lambda url: {"keys": [jwk]}, clock=clock)
    denied(verifier, bearer(mint.access_token("alice")))


def test_jwk_without_optional_use_and_alg_is_used(mint: TokenMint, clock: FakeClock) -> None:
    jwk = {k: v for k, v in mint.public_jwk.items() if k not in ("use", "alg")}
    verifier = TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=lambda url: {"keys": [jwk]}, clock=clock)
    assert verifier.verify(bearer(mint.access_token("alice"))).username == "alice"


@pytest.mark.parametrize("genuine_first", [True, False])
def test_duplicate_kid_in_jwks_is_not_trusted(mint: TokenMint, clock: FakeClock, genuine_first: bool) -> None:
    twin = TokenMint(issuer=ISSUER_B, kid=mint.kid, clock=clock)
    keys = [mint.public_jwk, twin.public_jwk, twin.public_jwk]
    document = {"keys": keys if genuine_first else keys[::-1]}
    verifier = TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=lambda url: document, clock=clock)
    denied(verifier, bearer(mint.access_token("alice")))


def test_key_rotation_picked_up_after_cooldown(
    verifier: TokenVerifier, mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock
) -> None:
    assert verifier.verify(bearer(mint.access_token("alice"))).username == "alice"
    rotated = TokenMint(kid="test-key-2", clock=clock)
    fetcher.serve(rotated)
    new_token = bearer(rotated.access_token("alice"))
    denied(verifier, new_token)  # inside the cooldown the new kid is not looked up yet
    assert len(fetcher.calls) == 1
    clock.advance(10)
    assert verifier.verify(new_token).username == "alice"
    assert len(fetcher.calls) == 2
    assert verifier.verify(bearer(mint.access_token("bob"))).username == "bob"  # old key still published

    fetcher.withdraw(mint)  # old key retired: gone after the next refresh
    clock.advance(10)
    denied(verifier, bearer(TokenMint(kid="test-key-3", clock=clock).access_token("x")))  # triggers refresh
    assert len(fetcher.calls) == 3
    denied(verifier, bearer(mint.access_token("bob")))
    assert verifier.verify(new_token).username == "alice"


# --- moto's published development key -------------------------------------------------


MOTO_ISSUER = "http://127.0.0.1:5000/eu-west-1_moto"


@pytest.fixture(scope="module")
def moto_public_jwks() -> dict[str, Any]:
    document = moto_resource("jwks-public.json")
    assert document is not None, "moto's cognitoidp/resources/jwks-public.json not found in the venv"
    return document


@pytest.fixture(scope="module")
def moto_key() -> rsa.RSAPrivateKey | None:
    return moto_private_key()


def _moto_setup(
    stage: str, document: dict[str, Any], key: rsa.RSAPrivateKey | None, kid: str, clock: Callable[[], float]
) -> tuple[TokenVerifier, TokenMint, MemoryJwks]:
    moto_mint = TokenMint(issuer=MOTO_ISSUER, kid=kid, private_key=key, clock=clock)
    fetcher = jwks_fetcher()
    fetcher.documents[moto_mint.jwks_url] = document
    verifier = TokenVerifier([moto_mint.issuer_config()], stage=stage, fetch_jwks=fetcher, clock=clock)
    return verifier, moto_mint, fetcher


def test_moto_fingerprint_matches_installed_moto(moto_public_jwks: dict[str, Any]) -> None:
    (jwk,) = moto_public_jwks["keys"]
    assert jwk["kid"] == "dummy"
    modulus = b64_int(jwk["n"]).to_bytes(256, "big").lstrip(b"\0")
    assert hashlib.sha256(modulus).hexdigest() == auth.MOTO_DEV_KEY_MODULUS_SHA256


@pytest.mark.parametrize("stage", ["dev", "prod", "test", "LOCAL", ""])
def test_moto_published_jwks_refused_outside_local(
    stage: str, moto_public_jwks: dict[str, Any], moto_key: rsa.RSAPrivateKey | None, clock: FakeClock
) -> None:
    verifier, moto_mint, fetcher = _moto_setup(stage, moto_public_jwks, moto_key, "dummy", clock)
    token = bearer(moto_mint.access_token("alice"))
    with pytest.raises(AuthUnavailable, match=MOTO_REFUSED):
        verifier.verify(token)
    with pytest.raises(AuthUnavailable, match=MOTO_REFUSED):  # still refused from the cooldown state
        verifier.verify(token)
    assert len(fetcher.calls) == 1
    clock.advance(10)
    with pytest.raises(AuthUnavailable, match=MOTO_REFUSED):  # and after a refetch
        verifier.verify(token)


def test_moto_published_jwks_accepted_in_local(
    moto_public_jwks: dict[str, Any], moto_key: rsa.RSAPrivateKey | None, clock: FakeClock
) -> None:
    if moto_key is None:
        pytest.skip("moto's private JWK is not shipped with this moto version")
    verifier, moto_mint, _ = _moto_setup("local", moto_public_jwks, moto_key, "dummy", clock)
    assert verifier.verify(bearer(moto_mint.access_token("alice"))).username == "alice"


@pytest.mark.parametrize("stage", ["dev", "local"])
def test_moto_modulus_under_another_kid(
    stage: str, moto_public_jwks: dict[str, Any], moto_key: rsa.RSAPrivateKey | None, clock: FakeClock
) -> None:
    renamed = {"keys": [{**moto_public_jwks["keys"][0], "kid": "innocent-looking"}]}
    verifier, moto_mint, _ = _moto_setup(stage, renamed, moto_key, "innocent-looking", clock)
    if stage == "dev":
        with pytest.raises(AuthUnavailable, match=MOTO_REFUSED):
            verifier.verify(bearer(moto_mint.access_token("alice")))
    elif moto_key is not None:
        assert verifier.verify(bearer(moto_mint.access_token("alice"))).username == "alice"


@pytest.mark.parametrize("stage", ["dev", "local"])
def test_kid_dummy_with_other_key(stage: str, clock: FakeClock) -> None:
    dummy = TokenMint(issuer=MOTO_ISSUER, kid="dummy", clock=clock)
    verifier = TokenVerifier([dummy.issuer_config()], stage=stage, fetch_jwks=jwks_fetcher(dummy), clock=clock)
    token = bearer(dummy.access_token("alice"))
    if stage == "dev":
        with pytest.raises(AuthUnavailable, match=MOTO_REFUSED):
            verifier.verify(token)
    else:
        assert verifier.verify(token).username == "alice"


def test_jwks_mixing_real_and_moto_key_is_refused(
    mint: TokenMint, moto_public_jwks: dict[str, Any], clock: FakeClock
) -> None:
    fetcher = jwks_fetcher(mint)
    fetcher.documents[mint.jwks_url] = moto_public_jwks
    verifier = TokenVerifier([mint.issuer_config()], stage="dev", fetch_jwks=fetcher, clock=clock)
    with pytest.raises(AuthUnavailable, match=MOTO_REFUSED):
        verifier.verify(bearer(mint.access_token("alice")))
    # once the endpoint stops serving moto's key, the next refresh restores service
    fetcher.documents.clear()
    clock.advance(10)
    assert verifier.verify(bearer(mint.access_token("alice"))).username == "alice"


def test_auth_module_does_not_import_moto() -> None:
    tree = ast.parse(Path(auth.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert not any(name.split(".")[0] == "moto" for name in imported)


# --- generic OIDC issuers (Keycloak and friends) --------------------------------------

KC_ISSUER = "https://keycloak.test/realms/research"


@pytest.fixture
def keycloak(clock: FakeClock) -> tuple[TokenVerifier, TokenMint]:
    kc = TokenMint(issuer=KC_ISSUER, client_id="catalogue-api", kid="kc-rsa", clock=clock)
    cfg = kc.issuer_config(token_use=None, username_claim="preferred_username")
    return TokenVerifier([cfg], stage="dev", fetch_jwks=jwks_fetcher(kc), clock=clock), kc


def _kc_claims(kc: TokenMint, now: float, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": kc.issuer,
        "sub": "f3c1",
        "typ": "Bearer",
        "azp": "web-portal",
        "aud": ["catalogue-api", "account"],
        "preferred_username": "dora",
        "iat": int(now),
        "exp": int(now) + 300,
        "scope": "openid profile",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_oidc_aud_list(keycloak: tuple[TokenVerifier, TokenMint], clock: FakeClock) -> None:
    verifier, kc = keycloak
    identity = verifier.verify(bearer(kc.sign(_kc_claims(kc, clock()))))
    assert identity == Identity("dora", KC_ISSUER, identity.claims)
    assert identity.claims["aud"] == ["catalogue-api", "account"]


def test_oidc_aud_string(keycloak: tuple[TokenVerifier, TokenMint], clock: FakeClock) -> None:
    verifier, kc = keycloak
    assert verifier.verify(bearer(kc.sign(_kc_claims(kc, clock(), aud="catalogue-api")))).username == "dora"


def test_oidc_azp(keycloak: tuple[TokenVerifier, TokenMint], clock: FakeClock) -> None:
    verifier, kc = keycloak
    token = kc.sign(_kc_claims(kc, clock(), aud="account", azp="catalogue-api"))
    assert verifier.verify(bearer(token)).username == "dora"
    assert verifier.verify(bearer(kc.sign(_kc_claims(kc, clock(), aud=None, azp="catalogue-api")))).username == "dora"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": ["account", "other-api"]},
        {"aud": "account"},
        {"aud": None},
        {"aud": {"catalogue-api": True}},
        {"aud": [["catalogue-api"]]},
        {"aud": None, "azp": None},
        {"aud": None, "azp": ["catalogue-api"]},
        {"typ": "ID"},
        {"typ": "Refresh"},
        {"preferred_username": None},
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
def test_oidc_rejections(keycloak: tuple[TokenVerifier, TokenMint], clock: FakeClock, changes: dict[str, Any]) -> None:
    verifier, kc = keycloak
    denied(verifier, bearer(kc.sign(_kc_claims(kc, clock(), **changes))))


def test_oidc_ignores_cognito_client_id(keycloak: tuple[TokenVerifier, TokenMint], clock: FakeClock) -> None:
    verifier, kc = keycloak
    denied(verifier, bearer(kc.sign(_kc_claims(kc, clock(), aud=None, azp=None, client_id="catalogue-api"))))


# --- service principals: OAuth2 client-credentials tokens ----------------------------

SERVICE_CLIENT = "svc-xfel-daq"


def service_config(mint: TokenMint, **changes: Any) -> IssuerConfig:
    return dataclasses.replace(mint.issuer_config(), service_clients={SERVICE_CLIENT: "xfel-daq"}, **changes)


@pytest.fixture
def service_verifier(mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier([service_config(mint)], stage="dev", fetch_jwks=fetcher, clock=clock)


def client_credentials_claims(
    mint: TokenMint, now: float, client: str = SERVICE_CLIENT, **changes: Any
) -> dict[str, Any]:
    """Claims exactly as Cognito puts them into a client-credentials access token."""
    claims: dict[str, Any] = {
        "sub": client,
        "token_use": "access",
        "scope": "catalogue/mymdc",
        "auth_time": int(now),
        "iss": mint.issuer,
        "exp": int(now) + 3600,
        "iat": int(now),
        "version": 2,
        "jti": "6a7b4d0c-4d2a-4d0e-9f55-0e0b8f1b2c3d",
        "client_id": client,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_service_client_token_acts_as_the_mapped_user(
    service_verifier: TokenVerifier, mint: TokenMint, clock: FakeClock
) -> None:
    identity = service_verifier.verify(bearer(mint.sign(client_credentials_claims(mint, clock()))))
    assert identity.username == "xfel-daq"
    assert identity.issuer == ISSUER_A
    assert identity.claims["client_id"] == identity.claims["sub"] == SERVICE_CLIENT
    assert identity.claims["scope"] == "catalogue/mymdc"


def test_user_tokens_still_work_beside_service_clients(service_verifier: TokenVerifier, mint: TokenMint) -> None:
    assert service_verifier.verify(bearer(mint.access_token("alice"))).username == "alice"


def test_unmapped_client_without_username_is_refused(
    service_verifier: TokenVerifier, verifier: TokenVerifier, mint: TokenMint, clock: FakeClock
) -> None:
    # a client-credentials token of a client nobody mapped: not even a known user client helps
    denied(service_verifier, bearer(mint.sign(client_credentials_claims(mint, clock(), client="other-client"))))
    denied(service_verifier, bearer(mint.sign(client_credentials_claims(mint, clock(), client=mint.client_id))))
    # and without any mapping configured, the service client's token is refused as before
    denied(verifier, bearer(mint.sign(client_credentials_claims(mint, clock()))))


@pytest.mark.parametrize("claim", ["username", "email"])
def test_service_client_token_naming_a_user_is_refused(
    mint: TokenMint, fetcher: MemoryJwks, clock: FakeClock, claim: str
) -> None:
    # a service client must not sign users in, whatever the issuer's username claim is
    verifier = TokenVerifier(
        [service_config(mint, username_claim="email")], stage="dev", fetch_jwks=fetcher, clock=clock
    )
    error = denied(verifier, bearer(mint.sign(client_credentials_claims(mint, clock(), **{claim: "alice"}))))
    assert "service client" in str(error)
    # also when the user's token comes from the service client (sub = the user)
    denied(verifier, bearer(mint.access_token("alice", client_id=SERVICE_CLIENT, email="alice@example.org")))


@pytest.mark.parametrize(
    "changes",
    [
        {"sub": "someone-else"},
        {"sub": None},
        {"token_use": "id"},
        {"token_use": None},
        {"client_id": None, "aud": SERVICE_CLIENT},
        {"iss": ISSUER_B},
        {"exp": None},
        {"iat": None},
        {"exp": "9999999999"},
    ],
    ids=repr,
)
def test_service_client_token_checks(
    service_verifier: TokenVerifier, mint: TokenMint, clock: FakeClock, changes: dict[str, Any]
) -> None:
    denied(service_verifier, bearer(mint.sign(client_credentials_claims(mint, clock(), **changes))))


def test_service_client_token_expires(service_verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    token = bearer(mint.sign(client_credentials_claims(mint, clock(), exp=int(clock()) + 60)))
    assert service_verifier.verify(token).username == "xfel-daq"
    clock.advance(60)
    assert "expired" in str(denied(service_verifier, token))


def test_service_client_token_signed_by_another_key_is_refused(
    service_verifier: TokenVerifier, mint: TokenMint, clock: FakeClock
) -> None:
    forger = TokenMint(issuer=ISSUER_B, kid=mint.kid, clock=clock)
    denied(service_verifier, bearer(forger.sign(client_credentials_claims(mint, clock()))))
    token = mint.sign(client_credentials_claims(mint, clock()))
    denied(service_verifier, bearer(with_header(token, {"alg": "HS256", "kid": mint.kid})))
    denied(service_verifier, bearer(with_header(token, {"alg": "RS256", "kid": "unknown-kid"})))


@pytest.mark.parametrize("stage", ["dev", "local"])
def test_service_client_token_with_motos_key(
    stage: str, moto_public_jwks: dict[str, Any], moto_key: rsa.RSAPrivateKey | None, clock: FakeClock
) -> None:
    moto_mint = TokenMint(issuer=MOTO_ISSUER, kid="dummy", private_key=moto_key, clock=clock)
    fetcher = jwks_fetcher()
    fetcher.documents[moto_mint.jwks_url] = moto_public_jwks
    verifier = TokenVerifier([service_config(moto_mint)], stage=stage, fetch_jwks=fetcher, clock=clock)
    token = bearer(moto_mint.sign(client_credentials_claims(moto_mint, clock())))
    if stage != "local":
        with pytest.raises(AuthUnavailable, match=MOTO_REFUSED):
            verifier.verify(token)
    elif moto_key is not None:
        assert verifier.verify(token).username == "xfel-daq"


def _issuer_entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"issuer": ISSUER_A, "jwks_url": "https://x/jwks", "client_ids": ["client-a"]}
    entry.update(changes)
    return entry


def test_service_clients_parsed_from_the_issuer_entry() -> None:
    assert IssuerConfig.from_mapping(_issuer_entry()).service_clients == {}
    assert IssuerConfig.from_mapping(_issuer_entry(service_clients=None)).service_clients == {}
    config = IssuerConfig.from_mapping(_issuer_entry(service_clients={"svc-1": "xfel-daq", "svc-2": "robot.two"}))
    assert dict(config.service_clients) == {"svc-1": "xfel-daq", "svc-2": "robot.two"}
    hash(config)  # still usable as a key
    assert dataclasses.asdict(config)["service_clients"] == {"svc-1": "xfel-daq", "svc-2": "robot.two"}
    settings = Settings.from_env(
        {"CATALOGUE_STAGE": "dev", "CATALOGUE_OIDC_ISSUERS": json.dumps([_issuer_entry(service_clients={"s": "daq"})])}
    )
    assert dict(settings.issuers[0].service_clients) == {"s": "daq"}


@pytest.mark.parametrize(
    "changes",
    [
        {"service_clients": ["svc-1"]},
        {"service_clients": "svc-1=xfel-daq"},
        {"service_clients": {"svc-1": "system"}},  # the catalogue's own actor
        {"service_clients": {"svc-1": "Anonymous"}},
        {"service_clients": {"svc-1": "has space"}},
        {"service_clients": {"svc-1": ""}},
        {"service_clients": {"svc-1": 7}},
        {"service_clients": {"svc-1": None}},
        {"service_clients": {"": "xfel-daq"}},
        {"service_clients": {"x" * 129: "xfel-daq"}},
        {"service_clients": {"client-a": "xfel-daq"}},  # the user client cannot also be a service
        {"service_clients": {"svc-1": "xfel-daq"}, "token_use": "id"},
        {"service_clients": {"svc-1": "xfel-daq"}, "token_use": None},
    ],
    ids=repr,
)
def test_bad_service_clients_are_a_config_error(changes: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        IssuerConfig.from_mapping(_issuer_entry(**changes))


def test_service_clients_checked_when_built_directly() -> None:
    with pytest.raises(ConfigError):
        IssuerConfig(ISSUER_A, "https://x/jwks", ("client-a",), service_clients={"svc": "system"})


# --- construction ---------------------------------------------------------------------


def test_duplicate_issuer_is_a_config_error(mint: TokenMint) -> None:
    with pytest.raises(ConfigError):
        TokenVerifier([mint.issuer_config(), mint.issuer_config(token_use="id")], stage="dev")


def test_no_issuers_rejects_everything(mint: TokenMint) -> None:
    verifier = TokenVerifier([], stage="dev", fetch_jwks=jwks_fetcher(mint))
    denied(verifier, bearer(mint.access_token("alice")))


def test_negative_leeway_refused(mint: TokenMint) -> None:
    with pytest.raises(ValueError):
        TokenVerifier([mint.issuer_config()], stage="dev", leeway_seconds=-1)


# --- the default fetcher (loopback only) ----------------------------------------------


class _JwksHandler(BaseHTTPRequestHandler):
    jwks: dict[str, Any] = {}

    def do_GET(self) -> None:
        routes: dict[str, tuple[int, dict[str, str], bytes]] = {
            "/jwks": (200, {}, json.dumps(self.jwks).encode()),
            "/redirect": (302, {"Location": "/jwks"}, b""),
            "/big": (200, {}, b'{"keys": [], "pad": "' + b"x" * (300 * 1024) + b'"}'),
            "/list": (200, {}, b"[]"),
            "/notjson": (200, {}, b"<html>"),
            "/missing": (404, {}, b"{}"),
        }
        status, headers, body = routes.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def jwks_server(mint: TokenMint, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    handler = type("Handler", (_JwksHandler,), {"jwks": mint.jwks})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_default_fetcher_reads_jwks(jwks_server: str, mint: TokenMint) -> None:
    assert default_fetch_jwks(f"{jwks_server}/jwks") == mint.jwks


@pytest.mark.parametrize("path", ["/redirect", "/big", "/list", "/notjson", "/missing"])
def test_default_fetcher_refuses(jwks_server: str, path: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - any failure is fine; the verifier maps it
        default_fetch_jwks(f"{jwks_server}{path}")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/jwks", "data:,{}", "memory://x"])
def test_default_fetcher_refuses_other_schemes(url: str) -> None:
    with pytest.raises(ValueError):
        default_fetch_jwks(url)


def test_verifier_with_default_fetcher(jwks_server: str, mint: TokenMint, clock: FakeClock) -> None:
    good = IssuerConfig(issuer=mint.issuer, jwks_url=f"{jwks_server}/jwks", client_ids=(mint.client_id,))
    verifier = TokenVerifier([good], stage="dev", clock=clock)
    assert verifier.verify(bearer(mint.access_token("alice"))).username == "alice"
    redirected = IssuerConfig(issuer=mint.issuer, jwks_url=f"{jwks_server}/redirect", client_ids=(mint.client_id,))
    with pytest.raises(AuthUnavailable):
        TokenVerifier([redirected], stage="dev", clock=clock).verify(bearer(mint.access_token("alice")))


def test_nbf_judged_on_the_injected_clock(verifier: TokenVerifier, mint: TokenMint, clock: FakeClock) -> None:
    clock.advance(-100)  # python-jose's own nbf check uses the wall clock, 100 s ahead
    token = bearer(mint.access_token("alice", nbf=int(clock()) + 50))
    denied(verifier, token)
    clock.advance(50)
    assert verifier.verify(token).username == "alice"
