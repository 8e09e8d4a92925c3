"""Credentials: an access token, an API key, or OAuth2 client credentials (fetched, cached and
renewed before they expire)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import requests

from catalogue_client.errors import error_for


class Auth(Protocol):
    """What the client asks of credentials: headers for a request; ``renew`` after a 401
    (``True``: try once more with new headers)."""

    def headers(self) -> dict[str, str]: ...

    def renew(self) -> bool: ...


@dataclass(frozen=True)
class BearerToken:
    """An OIDC access token (``make run`` prints some; ``catalogue login`` gets one)."""

    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self) -> bool:
        return False


@dataclass(frozen=True)
class ApiKey:
    """An API key (``<id>.<secret>``: ``POST /users/me/keys`` makes one)."""

    key: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"ApiKey {self.key}"}

    def renew(self) -> bool:
        return False


@dataclass
class ClientCredentials:
    """OAuth2 client credentials: a token from ``token_url``, kept until ``margin`` seconds
    before it expires, fetched again after a 401."""

    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    margin: float = 30.0
    timeout: float = 10.0
    session: requests.Session = field(default_factory=requests.Session)
    clock: Callable[[], float] = time.monotonic
    _token: str | None = field(default=None, init=False, repr=False)
    _expires: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self.clock() >= self._expires - self.margin:
                self._fetch()
            return {"Authorization": f"Bearer {self._token}"}

    def renew(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def _fetch(self) -> None:
        data = {"grant_type": "client_credentials"} | ({"scope": self.scope} if self.scope else {})
        r = self.session.post(
            self.token_url, data=data, auth=(self.client_id, self.client_secret), timeout=self.timeout
        )
        body = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else r.text
        if r.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise error_for(r.status_code if r.status_code >= 400 else 502, body)
        self._token = str(body["access_token"])
        self._expires = self.clock() + float(body.get("expires_in", 300))
