"""API keys and key sessions of the Data Tracker: their text forms and their salted hashes (pure).

An **API key** is presented as ``<key_id>.<secret>``:

- ``key_id``: 8 CSPRNG bytes as 16 lowercase hex characters. It is public and names the key's
  record, so a key is found by one lookup, never by comparing against every stored hash;
- ``secret``: 48 CSPRNG bytes (384 bits, the seed's ``token_hex(48)`` entropy) as 64
  base64url characters without padding.

A **session token** (what ``/login/apikey/`` hands out for a key, short-lived) is presented as
``dts.<session_id>.<secret>`` with a ``session_id`` and a ``secret`` made as a key's are; the
``dts.`` prefix tells it from a key.

Only a salted hash of a secret is stored: ``SHA-512(salt ‖ secret)`` as 128 hex characters,
compared in constant time. The seed says "an 8-byte randomized salt" and ``hashlib.sha512``;
the original used 32 bytes (8 for one month of 2020), we use 16 CSPRNG bytes, which already
make every stored hash unique. A slow password hash (the original's later Argon2) is
unnecessary: it protects guessable secrets, and a 384-bit random secret cannot be guessed, so
one SHA-512 is as strong here and costs microseconds per request.

Parsing is strict (the whole text must match) and its errors never repeat the text, which may
be a real secret presented in the wrong place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from chalicelib.errors import AuthenticationError

ID_BYTES = 8
SECRET_BYTES = 48
SALT_BYTES = 16
SESSION_PREFIX = "dts."

_ID = r"[0-9a-f]{16}"
_SECRET = r"[A-Za-z0-9_-]{64}"
KEY_RE = re.compile(rf"({_ID})\.({_SECRET})")
SESSION_RE = re.compile(rf"dts\.({_ID})\.({_SECRET})")
ID_RE = re.compile(_ID)


def _new_id() -> str:
    return secrets.token_hex(ID_BYTES)


def _new_secret() -> str:
    # 48 bytes are exactly 64 base64 characters: there is never padding to strip
    return base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def new_key() -> tuple[str, str]:
    """A new ``(key_id, secret)``."""
    return _new_id(), _new_secret()


def present(key_id: str, secret: str) -> str:
    """The key as its holder presents it: ``<key_id>.<secret>``."""
    return f"{key_id}.{secret}"


def parse_key(text: str) -> tuple[str, str]:
    """``(key_id, secret)`` of a presented key; anything but the exact form raises
    :class:`AuthenticationError` ("malformed API key")."""
    match = KEY_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise AuthenticationError("malformed API key")
    return match.group(1), match.group(2)


def is_key_id(text: str) -> bool:
    """Whether ``text`` has the form of a key id (or a session id)."""
    return isinstance(text, str) and ID_RE.fullmatch(text) is not None


def new_session_token() -> tuple[str, str]:
    """A new ``(session_id, secret)``."""
    return _new_id(), _new_secret()


def present_session(session_id: str, secret: str) -> str:
    """The session token as its holder presents it: ``dts.<session_id>.<secret>``."""
    return f"{SESSION_PREFIX}{session_id}.{secret}"


def parse_session_token(text: str) -> tuple[str, str]:
    """``(session_id, secret)`` of a presented session token; anything but the exact form
    raises :class:`AuthenticationError` ("malformed session token")."""
    match = SESSION_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise AuthenticationError("malformed session token")
    return match.group(1), match.group(2)


def is_session_token(text: str) -> bool:
    """Whether ``text`` claims to be a session token (starts with ``dts.``; it may still be malformed)."""
    return isinstance(text, str) and text.startswith(SESSION_PREFIX)


def new_salt() -> str:
    """A new salt: 16 CSPRNG bytes as 32 hex characters."""
    return secrets.token_hex(SALT_BYTES)


def hash_secret(secret: str, salt_hex: str) -> str:
    """SHA-512 over the salt's bytes followed by the secret's UTF-8, as 128 lowercase hex
    characters (ValueError when ``salt_hex`` is not hex)."""
    return hashlib.sha512(bytes.fromhex(salt_hex) + secret.encode("utf-8")).hexdigest()


def verify(secret: str, salt_hex: str, digest_hex: str) -> bool:
    """Whether ``secret`` hashes with ``salt_hex`` to ``digest_hex``, compared in constant time."""
    computed = hash_secret(secret, salt_hex).encode("ascii")
    return hmac.compare_digest(computed, digest_hex.encode("utf-8"))
