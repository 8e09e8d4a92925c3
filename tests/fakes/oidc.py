"""An OpenID Connect provider in memory: it "signs in" a named user at its authorization URL
and exchanges the code for a token of the test's mint, checking the client, the redirect and
the PKCE verifier as a provider does (the port: ``chalicelib.adapters.oidc_login.CodeExchange``)."""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import AuthenticationError
from chalicelib.identity.oidc_login import challenge_of
from tests.support.tokens import TokenMint


class FakeProvider:
    def __init__(self, mint: TokenMint, client_id: str) -> None:
        self.mint = mint
        self.client_id = client_id
        self._codes: dict[str, tuple[dict[str, str], str]] = {}
        self.exchanged: list[dict[str, str]] = []

    def sign_in(self, authorization_url: str, username: str) -> str:
        """The provider's redirect back (``<redirect_uri>?code=...&state=...``) once ``username``
        signed in at ``authorization_url``."""
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query))
        assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
        assert query["client_id"] == self.client_id
        code = secrets.token_urlsafe(16)
        self._codes[code] = (query, username)
        back = urllib.parse.urlencode({"code": code, "state": query["state"]})
        return f"{query['redirect_uri']}?{back}"

    def exchange(self, token_url: str, form: Mapping[str, str]) -> dict[str, Any]:
        self.exchanged.append(dict(form))
        found = self._codes.pop(form.get("code", ""), None)  # a code works once
        if found is None:
            raise AuthenticationError("the sign-in service refused the code")
        query, username = found
        if (
            form.get("grant_type") != "authorization_code"
            or form.get("client_id") != query["client_id"]
            or form.get("redirect_uri") != query["redirect_uri"]
            or challenge_of(form.get("code_verifier", "")) != query["code_challenge"]
        ):
            raise AuthenticationError("the sign-in service refused the code")
        return {"access_token": self.mint.access_token(username), "expires_in": 300, "token_type": "Bearer"}
