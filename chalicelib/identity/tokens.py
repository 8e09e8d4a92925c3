"""Bearer-token verification: the one place a JWT is turned into an :class:`Identity`.

python-jose is used only behind :meth:`TokenVerifier.verify`, which pins the algorithm,
selects the key from the configured JWKS by ``kid``, requires ``exp``/``iat``/``iss`` and
binds the token to an app client by hand (python-jose skips ``aud`` when the token has
none, which is always the case for Cognito access tokens).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from jose import jwt

from chalicelib.catalogue.validation import parse_username
from chalicelib.config import ConfigError, IssuerConfig
from chalicelib.errors import AuthenticationError, AuthUnavailable, ValidationError

__all__ = [
    "MAX_AUTHORIZATION_CHARS",
    "MAX_JWKS_BYTES",
    "MOTO_DEV_KEY_MODULUS_SHA256",
    "Identity",
    "TokenVerifier",
    "default_fetch_jwks",
]

log = logging.getLogger(__name__)

MAX_AUTHORIZATION_CHARS = 8 * 1024
MAX_JWKS_BYTES = 256 * 1024
JWKS_TIMEOUT_SECONDS = 2.0
# how many verified tokens a container remembers (TokenVerifier.verify)
MAX_VERIFIED_TOKENS = 4096
MAX_KID_CHARS = 256
MAX_USERNAME_CHARS = 128

#: SHA-256 of the big-endian RSA modulus (leading zero bytes stripped) of the key moto
#: 5.x signs Cognito tokens with; its private half ships inside the moto package
#: (``moto/cognitoidp/resources/jwks-private.json.gz``), so anyone can mint tokens with it.
MOTO_DEV_KEY_MODULUS_SHA256 = "60ececf17e149ab77be01dedd94c3fb8a0c33c70d4a78b1c3807b097c7c506be"
MOTO_DEV_KEY_ID = "dummy"
_MOTO_REFUSED = "moto development key refused outside the local stage"

_ALGORITHM = "RS256"
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Header parameters that point at (or carry) a key, or demand extensions we do not implement.
_FORBIDDEN_HEADER_PARAMS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})

JwksFetcher = Callable[[str], dict[str, Any]]


@dataclass(frozen=True)
class Identity:
    """A verified caller: ``username`` from the issuer's ``username_claim``, the exact
    configured ``issuer``, and the full verified claim set."""

    username: str
    issuer: str
    claims: dict[str, Any]

    @property
    def auth_id(self) -> str | None:
        """``<issuer>#<sub>``: who signed in, as the issuer names them (``None`` without ``sub``)."""
        subject = self.claims.get("sub")
        return f"{self.issuer}#{subject}" if isinstance(subject, str) and subject else None


class TokenVerifier:
    """Verifies ``Authorization: Bearer <jwt>`` headers against configured issuers.

    Build one per warm Lambda (it caches each issuer's JWKS). Nothing is fetched until
    the first :meth:`verify`. ``fetch_jwks`` maps a JWKS URL to the parsed document
    (default: :func:`default_fetch_jwks`); ``clock`` drives the ``exp``/``iat``/``nbf`` checks
    and the per-URL refetch cooldown. ``stage`` other than ``"local"`` refuses moto's
    published development key.
    """

    def __init__(
        self,
        issuers: Sequence[IssuerConfig],
        *,
        stage: str,
        fetch_jwks: Callable[[str], dict[str, Any]] | None = None,
        clock: Callable[[], float] = time.time,
        cooldown_seconds: float = 10.0,
        leeway_seconds: int = 0,
    ) -> None:
        by_issuer: dict[str, IssuerConfig] = {}
        for cfg in issuers:
            if cfg.issuer in by_issuer:
                raise ConfigError("issuer configured twice")
            if not cfg.client_ids:
                raise ConfigError("issuer has no client_ids")
            by_issuer[cfg.issuer] = cfg
        if leeway_seconds < 0 or cooldown_seconds < 0:
            raise ValueError("leeway_seconds and cooldown_seconds must not be negative")
        self._issuers = by_issuer
        self._stage = stage
        self._fetch: JwksFetcher = default_fetch_jwks if fetch_jwks is None else fetch_jwks
        self._clock = clock
        self._cooldown = cooldown_seconds
        self._leeway = leeway_seconds
        self._lock = threading.Lock()
        # Per JWKS URL: kid -> sanitised JWK from the last good fetch; when the last
        # attempt was made; whether the last fetch served moto's key (refused).
        self._keys: dict[str, dict[str, dict[str, str]]] = {}
        self._last_attempt: dict[str, float] = {}
        self._refused: set[str] = set()
        # sha256 of a token verified before -> its identity and expiry: a client sends the same
        # token with every request until it expires, and checking its RS256 signature again
        # gives the same answer (the times are checked again on every use)
        self._verified: dict[bytes, tuple[Identity, float]] = {}

    def verify(self, authorization: str | None) -> Identity:
        """Return the identity carried by a raw ``Authorization`` header value: the token's
        user, or for a client-credentials token of one of the issuer's ``service_clients``
        the catalogue user that client is mapped to.

        Raises :class:`AuthenticationError` (401) for a missing, malformed, forged,
        expired or mis-addressed token, and :class:`AuthUnavailable` (503) when the
        issuer's keys cannot be obtained (or are moto's key outside the local stage).
        """
        token = _bearer_token(authorization)
        digest = hashlib.sha256(token.encode()).digest()
        known = self._verified.get(digest)
        if known is not None:
            identity, _ = known
            try:
                self._check_times(identity.claims)
            except AuthenticationError:
                self._verified.pop(digest, None)
                raise
            return identity
        identity = self._verify(token)
        if len(self._verified) >= MAX_VERIFIED_TOKENS:
            self._verified.clear()  # bounded; cleared whole, like the principal cache
        self._verified[digest] = (identity, _numeric(identity.claims, "exp"))
        return identity

    def _verify(self, token: str) -> Identity:
        header_b64, claims_b64, _ = token.split(".")
        header = _json_segment(header_b64)
        if _FORBIDDEN_HEADER_PARAMS.intersection(header):
            _deny("token header not accepted")
        if header.get("alg") != _ALGORITHM:
            _deny("token algorithm not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID_CHARS:
            _deny("token key id missing or invalid")

        unverified = _json_segment(claims_b64)
        iss = unverified.get("iss")
        cfg = self._issuers.get(iss) if isinstance(iss, str) else None
        if cfg is None:
            _deny("token issuer not trusted")

        key = self._signing_key(cfg, kid)
        claims = self._decode(token, key, cfg.issuer)
        self._check_times(claims)
        service_user = _service_principal(cfg, claims)
        if service_user is not None:
            return Identity(username=service_user, issuer=cfg.issuer, claims=claims)
        _check_client(cfg, claims)
        username = claims.get(cfg.username_claim)
        if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME_CHARS:
            _deny("token username claim missing or invalid")
        try:
            # the documented pattern, and none of the catalogue's own actor names ("system", ...)
            parse_username(username)
        except ValidationError:
            _deny("token username is not a catalogue username")
        return Identity(username=username, issuer=cfg.issuer, claims=claims)

    def _decode(self, token: str, key: dict[str, str], issuer: str) -> dict[str, Any]:
        """``token``'s claims once python-jose has checked its signature, algorithm and issuer.

        The times are :meth:`_check_times`'s alone, which also requires ``exp`` and ``iat``:
        python-jose compares them with the wall clock (``time.time()``), not the injected one,
        so with its checks on it refused tokens that clock holds valid and gave other reasons
        at the boundaries (issue 22, T12). Trap: its ``require_exp`` turns its own wall-clock
        ``exp`` check back on whatever ``verify_exp`` says, so neither is asked of it."""
        options = {
            "require_iss": True,
            "verify_aud": False,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            # An ID token's at_hash can only be checked against the access token
            # it was issued with, which a resource server never has; python-jose
            # rejects every token carrying at_hash unless it is given one.
            "verify_at_hash": False,
        }
        try:
            return jwt.decode(token, key, algorithms=[_ALGORITHM], issuer=issuer, options=options)
        except Exception:
            # Trap: python-jose lets TypeError/OverflowError escape for odd claims, so every
            # failure here is a 401.
            raise AuthenticationError("token invalid") from None

    def _check_times(self, claims: dict[str, Any]) -> None:
        # The only time checks that decide (see _decode): the injected clock, exact to the
        # fraction of a second (python-jose truncates with int()), non-numeric values refused.
        now = self._clock()
        if _numeric(claims, "exp") + self._leeway <= now:
            _deny("token expired")
        if _numeric(claims, "iat") > now + self._leeway:
            _deny("token issued in the future")
        if "nbf" in claims and _numeric(claims, "nbf") > now + self._leeway:
            _deny("token not yet valid")

    def _signing_key(self, cfg: IssuerConfig, kid: str) -> dict[str, str]:
        url = cfg.jwks_url
        cached = self._keys.get(url)
        if cached is not None and kid in cached:
            return cached[kid]
        with self._lock:
            cached = self._keys.get(url)
            if cached is not None and kid in cached:
                return cached[kid]  # another thread refreshed meanwhile
            now = self._clock()
            last = self._last_attempt.get(url)
            # A clock that went backwards does not extend the cooldown.
            if last is None or not 0 <= now - last < self._cooldown:
                self._last_attempt[url] = now
                cached = self._refresh(url)
                if kid in cached:
                    return cached[kid]
            elif url in self._refused:
                raise AuthUnavailable(_MOTO_REFUSED)
            elif cached is None:
                raise AuthUnavailable("token signing keys unavailable")
        _deny("token signing key unknown")

    def _refresh(self, url: str) -> dict[str, dict[str, str]]:
        """Fetch ``url`` and replace its cached keys; keep the old ones if it fails."""
        try:
            keys, has_moto_key = _parse_jwks(self._fetch(url))
        except Exception as exc:
            cached = self._keys.get(url)
            if cached is not None:
                log.warning("JWKS refresh failed for %s (%s); keeping cached keys", url, type(exc).__name__)
                return cached
            log.warning("JWKS fetch failed for %s (%s)", url, type(exc).__name__)
            raise AuthUnavailable("token signing keys unavailable") from exc
        if has_moto_key and self._stage != "local":
            self._keys.pop(url, None)
            self._refused.add(url)
            log.error("JWKS at %s serves moto's development key; refused in stage %r", url, self._stage)
            raise AuthUnavailable(_MOTO_REFUSED)
        self._refused.discard(url)
        self._keys[url] = keys
        return keys


def default_fetch_jwks(url: str) -> dict[str, Any]:
    """Default JWKS fetcher: one HTTP(S) GET, 2 s timeout, no redirects, body ≤ 256 KiB.

    Returns the parsed JSON object; raises on any failure.
    """
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise ValueError("JWKS URL must be http(s)")
    opener = urllib.request.build_opener(_RefuseRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    deadline = time.monotonic() + JWKS_TIMEOUT_SECONDS
    chunks: list[bytes] = []
    size = 0
    with opener.open(request, timeout=JWKS_TIMEOUT_SECONDS) as response:
        # The socket timeout bounds each read, not the whole body: a server dripping one
        # byte per second would never time out, hence the overall deadline.
        while chunk := response.read(16 * 1024):
            size += len(chunk)
            if size > MAX_JWKS_BYTES:
                raise ValueError("JWKS response too large")
            if time.monotonic() > deadline:
                raise TimeoutError("JWKS response too slow")
            chunks.append(chunk)
    document = json.loads(b"".join(chunks))
    if not isinstance(document, dict):
        raise ValueError("JWKS response is not a JSON object")
    return document


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        raise urllib.error.URLError("JWKS redirects are refused")


def _deny(message: str) -> NoReturn:
    raise AuthenticationError(message)


def _bearer_token(authorization: str | None) -> str:
    if not isinstance(authorization, str) or not authorization:
        _deny("missing bearer token")
    if len(authorization) > MAX_AUTHORIZATION_CHARS:
        _deny("authorization header too large")
    parts = authorization.split()
    if len(parts) != 2 or not parts[0].isascii() or parts[0].lower() != "bearer":
        _deny("authorization must be a bearer token")
    token = parts[1]
    if not _TOKEN_RE.fullmatch(token):
        _deny("bearer token malformed")
    return token


def _json_segment(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw, parse_constant=_reject_constant)
    except (binascii.Error, ValueError, RecursionError):
        _deny("bearer token malformed")
    if not isinstance(value, dict):
        _deny("bearer token malformed")
    return value


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _numeric(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        _deny(f"token {name} claim missing or invalid")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float: JSON allows it, python-jose's int() takes it
        _deny(f"token {name} claim missing or invalid")
    if not math.isfinite(number):
        _deny(f"token {name} claim missing or invalid")
    return number


def _service_principal(cfg: IssuerConfig, claims: dict[str, Any]) -> str | None:
    """The catalogue username a client-credentials token of one of ``cfg.service_clients``
    acts as; ``None`` for a token of any other client (checked as a user's token then).

    Cognito's client-credentials access token has ``sub`` = ``client_id`` = the app client
    and no ``username``. A service client must not sign users in: a token of it that names
    a user is refused, never taken as that user's.
    """
    client = claims.get("client_id")
    if not isinstance(client, str) or client not in cfg.service_clients:
        return None
    if claims.get("token_use") != "access":
        _deny("token type not accepted")
    if "username" in claims or cfg.username_claim in claims:
        _deny("a service client's token must not name a user")
    if claims.get("sub") != client:
        _deny("token subject is not the service client")
    return cfg.service_clients[client]


def _check_client(cfg: IssuerConfig, claims: dict[str, Any]) -> None:
    allowed = cfg.client_ids
    if cfg.token_use is not None:
        if claims.get("token_use") != cfg.token_use:
            _deny("token type not accepted")
        client = claims.get("client_id" if cfg.token_use == "access" else "aud")
        if not isinstance(client, str) or client not in allowed:
            _deny("token not issued for this client")
        return
    # Generic OIDC: Keycloak marks ID/refresh tokens with a "typ" claim other than Bearer.
    typ = claims.get("typ")
    if typ is not None and typ != "Bearer":
        _deny("token type not accepted")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    azp = claims.get("azp")
    if not any(isinstance(a, str) and a in allowed for a in audiences) and not (
        isinstance(azp, str) and azp in allowed
    ):
        _deny("token not issued for this client")


def _parse_jwks(document: dict[str, Any]) -> tuple[dict[str, dict[str, str]], bool]:
    """Usable RS256 signing keys by kid, and whether moto's development key is present."""
    raw_keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(raw_keys, list):
        raise ValueError("JWKS has no 'keys' list")
    keys: dict[str, dict[str, str]] = {}
    ambiguous: set[str] = set()
    has_moto_key = False
    for raw in raw_keys:
        if not isinstance(raw, dict):
            continue
        kid, n, e = raw.get("kid"), raw.get("n"), raw.get("e")
        modulus = _b64url_uint(n)
        if kid == MOTO_DEV_KEY_ID or (
            modulus is not None and hashlib.sha256(modulus).hexdigest() == MOTO_DEV_KEY_MODULUS_SHA256
        ):
            has_moto_key = True  # the caller decides by stage; parse it like any key
        if not (
            isinstance(kid, str)
            and 0 < len(kid) <= MAX_KID_CHARS
            and raw.get("kty") == "RSA"
            and raw.get("use", "sig") == "sig"
            and raw.get("alg", _ALGORITHM) == _ALGORITHM
            and isinstance(n, str)
            and modulus is not None
            and isinstance(e, str)
            and _b64url_uint(e) is not None
        ):
            continue
        if kid in keys or kid in ambiguous:
            # Two keys under one kid: trusting either would be a guess.
            keys.pop(kid, None)
            ambiguous.add(kid)
            continue
        keys[kid] = {"kty": "RSA", "kid": kid, "alg": _ALGORITHM, "use": "sig", "n": n, "e": e}
    return keys, has_moto_key


def _b64url_uint(value: object) -> bytes | None:
    """Big-endian bytes of a base64url unsigned integer without leading zeros, or None."""
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).lstrip(b"\0") or None
    except (binascii.Error, ValueError):
        return None
