"""An OpenID Connect provider's token endpoint, for the authorization-code exchange of the
Data Tracker's sign-in routes: the port (:class:`CodeExchange`) and its HTTP adapter.

``exchange(token_url, form)`` MUST post ``form`` (``application/x-www-form-urlencoded``) and
return the JSON object answered with 200; a refusal (4xx: a bad, used or expired code, a
wrong PKCE verifier) MUST raise :class:`~chalicelib.errors.AuthenticationError` and an
unreachable or failing provider (5xx, timeouts, non-JSON) :class:`~chalicelib.errors.AuthUnavailable`,
so no HTTP detail leaves the adapter. The test fake is ``tests.fakes.oidc.FakeProvider``.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.errors import AuthenticationError, AuthUnavailable

LOG = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5.0
MAX_ANSWER_BYTES = 256 * 1024


class CodeExchange(Protocol):
    def exchange(self, token_url: str, form: Mapping[str, str]) -> dict[str, Any]: ...


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a token endpoint that redirects is failing, not moving


class HttpCodeExchange:
    def exchange(self, token_url: str, form: Mapping[str, str]) -> dict[str, Any]:
        if urllib.parse.urlsplit(token_url).scheme not in ("https", "http"):
            raise AuthUnavailable("the sign-in service's token URL is not http(s)")
        request = urllib.request.Request(
            token_url,
            data=urllib.parse.urlencode(dict(form)).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        opener = urllib.request.build_opener(_RefuseRedirects)
        try:
            with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                raw = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                raise AuthenticationError("the sign-in service refused the code") from None
            LOG.warning("token endpoint %s answered %s", token_url, exc.code)
            raise AuthUnavailable("the sign-in service is unavailable") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            LOG.warning("token endpoint %s unreachable: %r", token_url, exc)
            raise AuthUnavailable("the sign-in service is unavailable") from None
        try:
            answer = json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise AuthUnavailable("the sign-in service answered something other than JSON")
        return answer
