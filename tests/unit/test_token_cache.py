"""A verified token is remembered per container (TokenVerifier.verify): the same token again is
not verified again, but its times are checked at every use, and the memory is bounded."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.errors import AuthenticationError
from chalicelib.identity import tokens
from chalicelib.identity.tokens import TokenVerifier
from tests.support.tokens import TokenMint, jwks_fetcher


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def verifier(mint: TokenMint, clock: Clock) -> TokenVerifier:
    return TokenVerifier([mint.issuer_config()], stage="test", fetch_jwks=jwks_fetcher(mint), clock=clock)


def test_the_same_token_is_verified_once_and_its_expiry_still_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(time.time())
    mint = TokenMint(clock=clock)
    v = verifier(mint, clock)
    decoded: list[str] = []
    real = tokens.jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting)
    token = mint.access_token("ada", lifetime=60)
    header = f"Bearer {token}"
    assert v.verify(header).username == "ada"
    assert v.verify(header).username == "ada"
    assert decoded == [token]  # once
    other = mint.access_token("bob", lifetime=60)
    assert v.verify(f"Bearer {other}").username == "bob" and decoded == [token, other]
    clock.now += 61  # expired meanwhile: refused, though remembered
    with pytest.raises(AuthenticationError):
        v.verify(header)
    with pytest.raises(AuthenticationError):
        v.verify(header)  # and forgotten: verified again, and refused again
    assert decoded == [token, other, token]


def test_a_forged_token_is_never_remembered() -> None:
    clock = Clock(time.time())
    mint = TokenMint(clock=clock)
    v = verifier(mint, clock)
    token = mint.access_token("ada")
    head, claims, signature = token.split(".")
    forged = f"{head}.{claims}.{signature[:-4]}AAAA"
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            v.verify(f"Bearer {forged}")
    assert v.verify(f"Bearer {token}").username == "ada"


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "MAX_VERIFIED_TOKENS", 3)
    clock = Clock(time.time())
    mint = TokenMint(clock=clock)  # minted at the verifier's frozen time, however slow the machine
    v = verifier(mint, clock)
    for n in range(10):
        v.verify(f"Bearer {mint.access_token(f'user{n}')}")
        assert len(v._verified) <= 3
