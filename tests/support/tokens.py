"""Test personas: RS256 tokens shaped like Cognito's, and an in-memory JWKS endpoint.

Signing is done here with ``cryptography`` directly (not python-jose), so the verifier
under test and the minting code share no JWT library.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from chalicelib.config import IssuerConfig

# RSA key generation is the slow part; one key per (issuer, kid) is reused across tests.
_KEYS: dict[tuple[str, str], rsa.RSAPrivateKey] = {}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(obj: Any) -> str:
    """base64url of compact JSON, as in a JWT header or payload."""
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class TokenMint:
    """One issuer (user pool) with one RS256 key and one app client."""

    def __init__(
        self,
        issuer: str = "https://issuer.test/pool-a",
        client_id: str = "client-a",
        kid: str = "test-key-1",
        *,
        private_key: rsa.RSAPrivateKey | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if private_key is None:
            private_key = _KEYS.get((issuer, kid))
            if private_key is None:
                private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                _KEYS[(issuer, kid)] = private_key
        self.issuer = issuer
        self.client_id = client_id
        self.kid = kid
        self.clock = clock
        self.private_key = private_key
        public = private_key.public_key()
        self.private_pem: bytes = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.public_pem: bytes = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        numbers = public.public_numbers()
        self.public_jwk: dict[str, Any] = {
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
        }
        self.jwks: dict[str, Any] = {"keys": [self.public_jwk]}

    @property
    def jwks_url(self) -> str:
        return f"memory://{self.issuer}"

    def issuer_config(self, token_use: str | None = "access", username_claim: str = "username") -> IssuerConfig:
        return IssuerConfig(
            issuer=self.issuer,
            jwks_url=self.jwks_url,
            client_ids=(self.client_id,),
            token_use=token_use,
            username_claim=username_claim,
        )

    def access_token(self, username: str, /, *, lifetime: int = 300, **claims: Any) -> str:
        """Cognito-shaped access token; ``claims`` override or add, ``None`` removes."""
        now = int(self.clock())
        base: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}#{username}")),
            "username": username,
            "client_id": self.client_id,
            "token_use": "access",
            "iat": now,
            "auth_time": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
            "scope": "aws.cognito.signin.user.admin",
        }
        return self.sign(_merge(base, claims))

    def id_token(self, username: str, /, *, lifetime: int = 300, **claims: Any) -> str:
        """Cognito-shaped ID token (``aud`` = client id, ``cognito:username``)."""
        now = int(self.clock())
        base: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}#{username}")),
            "cognito:username": username,
            "aud": self.client_id,
            "token_use": "id",
            "iat": now,
            "auth_time": now,
            "exp": now + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return self.sign(_merge(base, claims))

    def sign(self, claims: dict[str, Any], headers: dict[str, Any] | None = None) -> str:
        """RS256-sign ``claims`` with this key; ``headers`` override or add (``None`` removes)."""
        header = _merge({"alg": "RS256", "typ": "JWT", "kid": self.kid}, headers or {})
        signing_input = f"{segment(header)}.{segment(claims)}"
        signature = self.private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not None}


class MemoryJwks:
    """A JWKS "endpoint" serving ``memory://<issuer>`` from mints; records every URL asked.

    Set ``available = False`` to simulate an outage; ``serve``/``withdraw`` rotate keys;
    ``documents[url]`` adds the keys of a raw JWKS document (e.g. moto's published one).
    """

    def __init__(self, *mints: TokenMint) -> None:
        self.mints: list[TokenMint] = list(mints)
        self.calls: list[str] = []
        self.documents: dict[str, dict[str, Any]] = {}
        self.available = True

    def serve(self, mint: TokenMint) -> None:
        self.mints.append(mint)

    def withdraw(self, mint: TokenMint) -> None:
        self.mints.remove(mint)

    def __call__(self, url: str) -> dict[str, Any]:
        self.calls.append(url)
        if not self.available:
            raise OSError(f"JWKS endpoint down: {url}")
        keys = [key for m in self.mints if m.jwks_url == url for key in m.jwks["keys"]]
        keys += self.documents.get(url, {}).get("keys", [])
        if not keys:
            raise OSError(f"no JWKS at {url}")
        return {"keys": keys}


def jwks_fetcher(*mints: TokenMint) -> MemoryJwks:
    return MemoryJwks(*mints)
