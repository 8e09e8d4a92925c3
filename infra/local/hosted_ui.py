"""A stand-in for Cognito's hosted UI on the local stack: the authorization-code grant with
PKCE, for the Data Tracker's sign-in routes (``/api/v1/login/oidc/cognito/``).

moto serves no user pool domain, so no ``/oauth2/authorize`` either. The token endpoint
stand-in (:mod:`infra.local.oauth2`) serves these beside ``/oauth2/token``, as Cognito does:

- ``GET /oauth2/authorize?response_type=code&client_id&redirect_uri&state&code_challenge
  &code_challenge_method=S256[&scope]``: a sign-in form (HTML). An unknown client or a
  redirect URI that is not the client's callback: a 400 page, never a redirect there; other
  bad requests: back to the callback with ``error=invalid_request``. PKCE (S256) is required.
- ``POST /login`` (the form): the password is checked against the user pool (moto's
  ``InitiateAuth``, as ``POST /token`` does); a wrong one shows the form again with an error;
  a right one redirects to the callback with a one-time ``code`` (valid
  :data:`CODE_SECONDS`) and the ``state``.
- ``POST /oauth2/token`` with ``grant_type=authorization_code``, ``code``, ``redirect_uri``,
  ``client_id`` and ``code_verifier``: the pool's access token for that sign-in, once; any
  mismatch is ``400 {"error": "invalid_grant"}``.

It holds codes in memory, for one process: enough for ``make run`` and the e2e tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

AUTHORIZE_PATH = "/oauth2/authorize"
LOGIN_PATH = "/login"
CODE_SECONDS = 300.0
MAX_CODES = 1000
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_HIDDEN = ("client_id", "redirect_uri", "state", "code_challenge", "scope")

# (username, password) -> (access token, expires in), or None for a refused sign-in
PasswordCheck = Callable[[str, str], tuple[str, int] | None]


@dataclass(frozen=True)
class Page:
    """One answer: ``body`` is HTML (or JSON for the token endpoint)."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    token: str
    expires_in: int
    deadline: float


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class HostedUi:
    """The pool's public app client ``client_id``, whose callbacks are ``redirect_uris``."""

    def __init__(
        self,
        client_id: str,
        redirect_uris: frozenset[str],
        check_password: PasswordCheck,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client_id = client_id
        self.redirect_uris = redirect_uris
        self._check_password = check_password
        self._clock = clock
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()  # the server answers each request in its own thread

    # -- the sign-in page -----------------------------------------------------------------
    def _refusal(self, params: Mapping[str, str]) -> Page | None:
        """Why the request cannot go on (``None``: it can)."""
        if params.get("client_id") != self.client_id or params.get("redirect_uri") not in self.redirect_uris:
            return Page(400, b"<!doctype html><title>Sign-in</title><p>Unknown client or callback.</p>")
        if (
            params.get("response_type", "code") != "code"
            or not params.get("code_challenge")
            or params.get("code_challenge_method", "S256") != "S256"
        ):
            return self._back(params, {"error": "invalid_request"})
        return None

    def _back(self, params: Mapping[str, str], answer: dict[str, str]) -> Page:
        if params.get("state"):
            answer = {**answer, "state": params["state"]}
        location = f"{params['redirect_uri']}?{urllib.parse.urlencode(answer)}"
        return Page(302, headers={"Location": location, **_NO_STORE})

    def authorize(self, query: Mapping[str, str]) -> Page:
        return self._refusal(query) or self._form(query, "")

    def _form(self, params: Mapping[str, str], problem: str) -> Page:
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">' for name in _HIDDEN
        )
        alert = f'<p role="alert">{html.escape(problem)}</p>' if problem else ""
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Sign in</title>"
            f"<h1>Sign in to the catalogue</h1>{alert}"
            f'<form method="post" action="{LOGIN_PATH}">{hidden}'
            '<label>Username <input name="username" autocomplete="username" required></label> '
            '<label>Password <input name="password" type="password" autocomplete="current-password" required></label> '
            '<button type="submit">Sign in</button></form></html>'
        )
        return Page(200, body.encode(), headers=dict(_NO_STORE))

    def login(self, form: Mapping[str, str]) -> Page:
        refused = self._refusal({**form, "response_type": "code", "code_challenge_method": "S256"})
        if refused is not None:
            return refused
        signed_in = self._check_password(form.get("username", ""), form.get("password", ""))
        if signed_in is None:
            return self._form(form, "Incorrect username or password.")
        token, expires_in = signed_in
        code = secrets.token_urlsafe(32)
        entry = _Code(
            self.client_id,
            form["redirect_uri"],
            form["code_challenge"],
            token,
            expires_in,
            self._clock() + CODE_SECONDS,
        )
        with self._lock:
            now = self._clock()
            for old in [c for c, e in self._codes.items() if e.deadline < now]:
                del self._codes[old]
            if len(self._codes) >= MAX_CODES:
                return Page(503, b"<!doctype html><title>Sign-in</title><p>Too many sign-ins at once.</p>")
            self._codes[code] = entry
        return self._back(form, {"code": code})

    # -- the token endpoint's authorization_code grant -----------------------------------
    def exchange(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer (status, JSON body) to an ``authorization_code`` grant."""
        with self._lock:
            entry = self._codes.pop(form.get("code", ""), None)  # one use, even a failed one
        if (
            entry is None
            or entry.deadline < self._clock()
            or form.get("client_id") != entry.client_id
            or form.get("redirect_uri") != entry.redirect_uri
            or not hmac.compare_digest(challenge_of(form.get("code_verifier", "")), entry.challenge)
        ):
            return 400, {"error": "invalid_grant"}
        return 200, {"access_token": entry.token, "expires_in": entry.expires_in, "token_type": "Bearer"}
