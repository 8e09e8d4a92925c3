"""Signing in through an OpenID Connect provider (the Data Tracker's ``/login/oidc/<name>/``
routes): the authorization-code flow with PKCE (S256) for a public app client.

``begin`` answers the provider's authorization URL, having kept a one-time ``state`` (with the
PKCE verifier and the service's name, valid :data:`STATE_SECONDS`) in the record store;
``finish`` takes that state back (once: it is deleted before the code is exchanged), exchanges
the code, verifies the access token as every token is verified (an issuer of
``CATALOGUE_OIDC_ISSUERS``) and answers it, with the user it signs in (created at its first
sign-in with its subject among its ``auth_ids``, by ``system``). No cookie is set: the caller
sends the token as ``Authorization: Bearer`` (the original kept a server session instead).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
import urllib.parse
import uuid as uuidlib
from collections.abc import Callable, Sequence
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord, FacilityStore
from chalicelib.adapters.oidc_login import CodeExchange
from chalicelib.config import OidcLogin
from chalicelib.domain import SYSTEM_ACTOR, User
from chalicelib.errors import AuthenticationError, NotFound, ValidationError, VersionConflict

STATE_KIND = "oidc_state"
STATE_SECONDS = 600
MAX_CODE_CHARS = 2048


def _claim(state: str) -> str:
    return f"oidc_state|state={state}"


def challenge_of(verifier: str) -> str:
    """The S256 PKCE challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcSignIn:
    def __init__(
        self,
        logins: Sequence[OidcLogin],
        store: FacilityStore,
        exchange: CodeExchange,
        verify: Callable[[str], tuple[str, str | None]],
        principal: Callable[[str, str | None], User],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._logins = {login.name: login for login in logins}
        self._store = store
        self._exchange = exchange
        self._verify = verify  # Authorization header -> (username, auth id)
        self._principal = principal
        self._clock = clock

    def services(self, base_path: str) -> dict[str, str]:
        """Each sign-in service's name -> the path that starts it."""
        return {name: f"{base_path}/{name}/login" for name in sorted(self._logins)}

    def _login(self, name: str) -> OidcLogin:
        login = self._logins.get(name)
        if login is None:
            raise NotFound(f"no sign-in service {name[:40]!r}")
        return login

    def begin(self, name: str) -> str:
        """The provider's authorization URL for a new sign-in through ``name``."""
        login = self._login(name)
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        now = self._clock()
        record = FacilityRecord(
            kind=STATE_KIND,
            id=self._store.allocate_id(STATE_KIND),
            uuid=str(uuidlib.uuid4()),
            version=1,
            fields={"name": name, "verifier": verifier, "expires_at": now + STATE_SECONDS},
            claims=(_claim(state),),
            updated_at=now,
            updated_by=SYSTEM_ACTOR,
        )
        self._store.create(record)
        query = {
            "response_type": "code",
            "client_id": login.client_id,
            "redirect_uri": login.redirect_uri,
            "scope": login.scope,
            "state": state,
            "code_challenge": challenge_of(verifier),
            "code_challenge_method": "S256",
        }
        return f"{login.authorize_url}?{urllib.parse.urlencode(query)}"

    def finish(self, name: str, code: str | None, state: str | None, error: str | None) -> dict[str, Any]:
        """The access token (and its user) for the provider's answer to a sign-in begun here."""
        login = self._login(name)
        if error:
            raise AuthenticationError("the sign-in service refused the sign-in")
        if not code or not state or len(code) > MAX_CODE_CHARS or len(state) > 64:
            raise ValidationError("code and state are required", field="code")
        verifier = self._take_state(name, state)
        answer = self._exchange.exchange(
            login.token_url,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": login.redirect_uri,
                "client_id": login.client_id,
                "code_verifier": verifier,
            },
        )
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationError("the sign-in service gave no access token")
        username, auth_id = self._verify(f"Bearer {token}")
        user = self._principal(username, auth_id)
        expires_in = answer.get("expires_in")
        return {
            "token": token,
            "token_type": "Bearer",
            "expires_in": expires_in if isinstance(expires_in, int) else None,
            "username": user.username,
            "_id": user.id,
        }

    def _take_state(self, name: str, state: str) -> str:
        """The PKCE verifier kept with ``state``; the state is used up (deleted) first."""
        found = self._store.claimant(_claim(state))
        record = self._store.get(STATE_KIND, found[1]) if found is not None and found[0] == STATE_KIND else None
        if record is None:
            raise AuthenticationError("this sign-in is unknown or already used; start again")
        try:
            self._store.delete(STATE_KIND, record.id, record.version)  # two finishes: one wins
        except VersionConflict:
            raise AuthenticationError("this sign-in is unknown or already used; start again") from None
        if record.fields.get("name") != name or float(record.fields.get("expires_at", 0)) < self._clock():
            raise AuthenticationError("this sign-in has expired or belongs to another service; start again")
        return str(record.fields["verifier"])
