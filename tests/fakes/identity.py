"""An in-memory :class:`~chalicelib.adapters.identity.IdentityProvider` (tests only).

It signs Cognito-shaped RS256 access tokens (:class:`tests.support.tokens.TokenMint`) with
an RSA key generated for it, and publishes that key's JWKS through :meth:`fetch_jwks`, the
``fetch_jwks`` argument of :class:`~chalicelib.identity.tokens.TokenVerifier` (its JWKS
URL is ``memory://<issuer>``, which no HTTP fetcher reads).
"""

from __future__ import annotations

import copy
import re
import time
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.identity import (
    ACCESS_TOKEN_USE,
    USERNAME_CLAIM,
    AccessToken,
    IdentityProvider,
    PasswordRejected,
    ProviderNotFound,
    SignInChallenged,
    UnknownUser,
    WrongPassword,
)
from chalicelib.adapters.provisioning import PASSWORD_POLICY
from chalicelib.config import IssuerConfig
from tests.support.tokens import TokenMint

TOKEN_LIFETIME = 3600  # seconds, as Cognito's default access token validity


class InMemoryIdentityProvider(IdentityProvider):
    """Users and passwords in a dict; tokens valid ``lifetime`` seconds on ``clock``.

    Each instance is its own pool: a fresh issuer, client id, key id and (unless
    ``private_key`` is given) RSA key. Passwords must satisfy the local pool's
    :data:`~chalicelib.adapters.provisioning.PASSWORD_POLICY`. ``exists=False`` makes every
    operation but :meth:`issuer_config` raise :class:`ProviderNotFound`, as for a pool that
    was never created. ``emails`` keeps the email each user was created with.

    For the tests of its callers: ``sign_ins`` lists the username of every ``sign_in`` call;
    a user in ``challenged`` who gives the right password gets :class:`SignInChallenged`
    (as a Cognito user with a temporary password); while ``outage`` is set, ``sign_in``
    raises it.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        lifetime: int = TOKEN_LIFETIME,
        private_key: rsa.RSAPrivateKey | None = None,
        exists: bool = True,
    ) -> None:
        tag = uuidlib.uuid4().hex[:12]
        self._mint = TokenMint(
            issuer=f"https://identity.test/pool-{tag}",
            client_id=f"client-{tag}",
            kid=f"key-{tag}",
            private_key=private_key or rsa.generate_private_key(public_exponent=65537, key_size=2048),
            clock=clock,
        )
        self._lifetime = lifetime
        self._exists = exists
        self._passwords: dict[str, str] = {}
        self.emails: dict[str, str | None] = {}
        self.sign_ins: list[str] = []
        self.challenged: set[str] = set()
        self.outage: Exception | None = None

    def create_user(self, username: str, password: str, *, email: str | None = None) -> bool:
        self._check()
        _check_password(password)
        created = username not in self._passwords
        self._passwords[username] = password
        if created:
            self.emails[username] = email
        return created

    def remove_user(self, username: str) -> None:
        self._check()
        self._passwords.pop(username, None)
        self.emails.pop(username, None)

    def sign_in(self, username: str, password: str) -> AccessToken:
        self.sign_ins.append(username)
        self._check()
        if self.outage is not None:
            raise self.outage
        if username not in self._passwords:
            raise UnknownUser(f"no user {username!r}")
        if self._passwords[username] != password:
            raise WrongPassword(f"wrong password for {username!r}")
        if username in self.challenged:
            raise SignInChallenged(f"{username!r} must choose a new password first")
        return AccessToken(self._mint.access_token(username, lifetime=self._lifetime), self._lifetime)

    def issuer_config(self) -> IssuerConfig:
        return self._mint.issuer_config(token_use=ACCESS_TOKEN_USE, username_claim=USERNAME_CLAIM)

    @property
    def jwks(self) -> dict[str, Any]:
        """The published JWKS document (the public key only)."""
        return copy.deepcopy(self._mint.jwks)

    def fetch_jwks(self, url: str) -> dict[str, Any]:
        """The JWKS at ``url``: a ``TokenVerifier``'s ``fetch_jwks`` for this provider."""
        if url != self._mint.jwks_url:
            raise OSError(f"no JWKS at {url}")
        return self.jwks

    def _check(self) -> None:
        if not self._exists:
            raise ProviderNotFound("no such identity provider")


def _check_password(password: str) -> None:
    """:class:`PasswordRejected` unless ``password`` satisfies ``PASSWORD_POLICY``."""
    policy = PASSWORD_POLICY
    rules = [
        len(password) >= policy["MinimumLength"],
        not policy["RequireUppercase"] or re.search(r"[A-Z]", password) is not None,
        not policy["RequireLowercase"] or re.search(r"[a-z]", password) is not None,
        not policy["RequireNumbers"] or re.search(r"[0-9]", password) is not None,
        not policy["RequireSymbols"] or re.search(r"[^A-Za-z0-9]", password) is not None,
    ]
    if not all(rules):
        raise PasswordRejected("the password policy refuses this password")
