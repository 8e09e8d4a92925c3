"""A stand-in for Cognito's ``POST /oauth2/token`` (client-credentials grant) for the local stack.

moto emulates the Cognito API but serves no user pool domain, so there is no token endpoint
a machine client such as European XFEL's ``metadata_client`` (oauth2-xfel-client 6.1.1) could
get tokens from. This module serves exactly that one endpoint, the way Cognito does
(``docs/research/mymdc-client.md`` §2):

- ``POST /oauth2/token`` with a form body ``grant_type=client_credentials`` and an optional
  ``scope``; any other grant is ``400 {"error": "unsupported_grant_type"}``;
- the client authenticates with HTTP Basic (``base64(id:secret)``, each part possibly
  form-url-encoded, RFC 6749 §2.3.1) or with ``client_id``/``client_secret`` in the body; the
  secret is checked against moto's app client (``describe_user_pool_client``, cached per client
  id); a wrong or missing one is ``401 {"error": "invalid_client"}``;
- the app client must allow the ``client_credentials`` OAuth flow (else ``400
  unauthorized_client``); a requested scope must be among its ``AllowedOAuthScopes`` (else
  ``400 invalid_scope``); no scope asked for means all of them;
- success is ``200 {"access_token", "expires_in", "token_type": "Bearer"}`` and, like Cognito,
  **no** ``scope`` key (oauthlib raises ``Warning("Scope has changed ...")`` when the answer
  names other scopes than the request did);
- the token is an RS256 JWT signed with moto's published development key (kid ``dummy``, the
  key moto's JWKS serves, so the catalogue verifies it like every other moto token, in the
  local stage only) with the claims of a Cognito client-credentials access token: ``sub`` =
  ``client_id`` = the app client, ``token_use`` ``access``, ``scope``, ``auth_time``, ``iss`` (the
  pool's issuer), ``exp`` = ``iat`` + ``expires_in``, ``iat``, ``version`` 2, ``jti``. No
  ``username``: the catalogue maps the client to a user (``IssuerConfig.service_clients``).

Given a :class:`~infra.local.hosted_ui.HostedUi`, it also serves the hosted UI's sign-in page and
the ``authorization_code`` grant (for the pool's public client). Nothing else: no refresh tokens,
no userInfo endpoint. Other paths answer 404, other methods on the token path 405, both as JSON.

It runs as a thread of the process that owns the stack (``LocalStack`` starts it once the user
pool exists and stops it first in ``stop()``), not as another child process: it needs the
pool's facts and a boto3 client on moto, which that process has, it is a few hundred lines
of standard library, and a thread cannot outlive its process (``PR_SET_PDEATHSIG`` and the
``atexit`` hook are what child processes need for that). :meth:`TokenServer.stop` shuts the
serve loop down and joins every request thread (each bounded by a socket timeout).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hmac
import importlib.util
import json
import logging
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError
from jose import jwk, jwt

from infra.local.hosted_ui import AUTHORIZE_PATH, LOGIN_PATH, HostedUi, Page
from infra.local.serving import HOST, ServedInThread

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "HOST",
    "MAX_BODY_BYTES",
    "TOKEN_PATH",
    "AppClient",
    "ClientCredentials",
    "ClientDirectory",
    "CognitoClients",
    "TokenResponse",
    "TokenServer",
    "TokenSigner",
    "moto_signing_jwk",
    "token_response",
]

LOG = logging.getLogger("infra.local.oauth2")

TOKEN_PATH = "/oauth2/token"
MAX_BODY_BYTES = 8 * 1024
MAX_FORM_FIELDS = 16
DEFAULT_EXPIRES_IN = 3600  # Cognito's default access token validity (60 minutes)
REQUEST_TIMEOUT_SECONDS = 5.0  # per socket operation of one request; bounds stop() too
MOTO_KEY_ID = "dummy"
_CLIENT_ID_RE = re.compile(r"[\w+]{1,128}", re.ASCII)  # Cognito's ClientId pattern and length
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


@dataclass(frozen=True)
class ClientCredentials:
    """What an OAuth2 client-credentials client needs to get tokens from the local stack
    (``metadata_client``'s ``client_id``, ``client_secret`` and ``token_url``), with the
    scopes it may ask for and the catalogue user its tokens act as."""

    client_id: str
    client_secret: str
    token_url: str
    scope: str
    username: str


# -- app clients ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AppClient:
    """The facts of a Cognito app client the token endpoint needs."""

    client_id: str
    client_secret: str | None
    oauth_flows: frozenset[str] = frozenset()
    oauth_enabled: bool = False  # AllowedOAuthFlowsUserPoolClient
    scopes: tuple[str, ...] = ()
    expires_in: int = DEFAULT_EXPIRES_IN

    @classmethod
    def from_description(cls, described: Mapping[str, Any]) -> AppClient:
        """From ``describe_user_pool_client(...)["UserPoolClient"]``."""
        validity = described.get("AccessTokenValidity")
        unit = (described.get("TokenValidityUnits") or {}).get("AccessToken", "hours")  # Cognito's default unit
        expires_in = DEFAULT_EXPIRES_IN
        if isinstance(validity, int) and validity > 0 and unit in _UNIT_SECONDS:
            expires_in = validity * _UNIT_SECONDS[unit]
        secret = described.get("ClientSecret")
        return cls(
            client_id=str(described["ClientId"]),
            client_secret=str(secret) if secret else None,
            oauth_flows=frozenset(str(f) for f in described.get("AllowedOAuthFlows") or ()),
            oauth_enabled=described.get("AllowedOAuthFlowsUserPoolClient") is True,
            scopes=tuple(str(s) for s in described.get("AllowedOAuthScopes") or ()),
            expires_in=expires_in,
        )


class ClientDirectory(Protocol):
    def get(self, client_id: str) -> AppClient | None:
        """The app client ``client_id``, or ``None`` when the pool has none of that id."""


class CognitoClients:
    """The app clients of one user pool, read through a boto3 ``cognito-idp`` client (on
    moto) and cached per client id once found (an unknown id is asked again next time, so a
    client created later is found). A client's settings changed after its first token are
    not seen: restart the stack."""

    def __init__(self, cognito: Any, pool_id: str) -> None:
        self._cognito = cognito
        self._pool_id = pool_id
        self._lock = threading.Lock()
        self._cache: dict[str, AppClient] = {}

    def get(self, client_id: str) -> AppClient | None:
        with self._lock:
            cached = self._cache.get(client_id)
        if cached is not None:
            return cached
        try:
            described = self._cognito.describe_user_pool_client(UserPoolId=self._pool_id, ClientId=client_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        found = AppClient.from_description(described["UserPoolClient"])
        with self._lock:
            self._cache[client_id] = found
        return found


# -- tokens --------------------------------------------------------------------------------


def moto_signing_jwk() -> dict[str, str]:
    """The private JWK moto signs its Cognito tokens with (``cognitoidp/resources/
    jwks-private.json``, gzipped in moto 5), read from the installed package without
    importing moto."""
    spec = importlib.util.find_spec("moto")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("moto is not installed: the local token endpoint signs with its development key")
    folder = Path(next(iter(spec.submodule_search_locations))) / "cognitoidp" / "resources"
    plain, packed = folder / "jwks-private.json", folder / "jwks-private.json.gz"
    if plain.exists():
        document = json.loads(plain.read_text())
    elif packed.exists():
        document = json.loads(gzip.decompress(packed.read_bytes()))
    else:
        raise RuntimeError(f"moto's private JWK is not in {folder}")
    key = document["keys"][0] if "keys" in document else document
    if key.get("kid") != MOTO_KEY_ID or "d" not in key:
        raise RuntimeError(f"unexpected private JWK in {folder}")
    return {k: str(v) for k, v in key.items()}


class TokenSigner:
    """Signs Cognito-shaped client-credentials access tokens for the pool ``issuer``."""

    def __init__(
        self, issuer: str, *, clock: Callable[[], float] = time.time, private_jwk: Mapping[str, str] | None = None
    ) -> None:
        self.issuer = issuer
        self._clock = clock
        self._key = jwk.construct(dict(private_jwk or moto_signing_jwk()), "RS256")  # parsed once

    def claims(self, client_id: str, scopes: Sequence[str], expires_in: int) -> dict[str, Any]:
        """The claims, in Cognito's order."""
        now = int(self._clock())
        return {
            "sub": client_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": now,
            "iss": self.issuer,
            "exp": now + expires_in,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client_id,
        }

    def sign(self, client_id: str, scopes: Sequence[str], expires_in: int) -> str:
        claims = self.claims(client_id, scopes, expires_in)
        return str(jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": MOTO_KEY_ID}))


# -- the endpoint, without HTTP ------------------------------------------------------------


@dataclass(frozen=True)
class TokenResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: str, **headers: str) -> TokenResponse:
    return TokenResponse(status, {"error": code}, {**_NO_STORE, **headers})


def _invalid_client(basic: bool) -> TokenResponse:
    # RFC 6749 §5.2: a client that tried the Authorization header is told which scheme to use
    return _error(401, "invalid_client", **({"WWW-Authenticate": 'Basic realm="oauth2"'} if basic else {}))


def token_response(
    method: str,
    target: str,
    *,
    content_type: str | None,
    authorization: str | None,
    body: bytes,
    clients: ClientDirectory,
    signer: TokenSigner,
    hosted_ui: HostedUi | None = None,
) -> TokenResponse:
    """The answer to one request (``target`` is the request line's path and query); the
    ``authorization_code`` grant is ``hosted_ui``'s (:mod:`infra.local.hosted_ui`)."""
    url = urllib.parse.urlsplit(target)
    if url.path != TOKEN_PATH:
        return _error(404, "not_found")
    if method != "POST":
        return _error(405, "method_not_allowed", Allow="POST")
    if url.query:  # RFC 6749 §2.3.1: credentials and parameters never in the URI
        return _error(400, "invalid_request")
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return _error(400, "invalid_request")
    form = _form(body)
    if form is None:
        return _error(400, "invalid_request")

    grant = form.get("grant_type")
    if not grant:
        return _error(400, "invalid_request")
    if grant == "authorization_code" and hosted_ui is not None and authorization is None:
        status, answer = hosted_ui.exchange(form)  # a public client: no secret, PKCE instead
        return TokenResponse(status, answer, dict(_NO_STORE))
    if grant != "client_credentials":
        return _error(400, "unsupported_grant_type")

    basic = authorization is not None
    if basic:
        credentials = _basic_credentials(authorization or "")
        if credentials is None:
            return _invalid_client(basic)
        client_id, secret = credentials
        if "client_secret" in form:  # RFC 6749 §2.3: one authentication method per request
            return _error(400, "invalid_request")
        if "client_id" in form and form["client_id"] != client_id:
            return _error(400, "invalid_request")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if not _CLIENT_ID_RE.fullmatch(client_id) or not secret:
        return _invalid_client(basic)
    app = clients.get(client_id)
    if app is None or app.client_secret is None or not hmac.compare_digest(app.client_secret.encode(), secret.encode()):
        return _invalid_client(basic)

    if not app.oauth_enabled or "client_credentials" not in app.oauth_flows:
        return _error(400, "unauthorized_client")
    requested = form.get("scope", "").split()
    if requested:
        if not set(requested) <= set(app.scopes):
            return _error(400, "invalid_scope")
        granted = tuple(dict.fromkeys(requested))
    else:
        granted = app.scopes
    if not granted:
        return _error(400, "invalid_scope")

    token = signer.sign(client_id, granted, app.expires_in)
    return TokenResponse(200, {"access_token": token, "expires_in": app.expires_in, "token_type": "Bearer"}, _NO_STORE)


def _form(body: bytes) -> dict[str, str] | None:
    """The form's fields; ``None`` for a body that is not a form, or repeats a field (RFC 6749 §3.2)."""
    try:
        pairs = urllib.parse.parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body), max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    return form if len(form) == len(pairs) else None


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """(client id, secret) from ``Basic base64(id:secret)``; each part is form-url-decoded
    (RFC 6749 §2.3.1; harmless for ids and secrets without ``%`` and ``+``, as Cognito's are)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    raw_id, colon, raw_secret = decoded.partition(":")
    if not colon:
        return None
    return urllib.parse.unquote_plus(raw_id), urllib.parse.unquote_plus(raw_secret)


# -- the HTTP server -----------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    # request threads are joined by server_close() (stop()), not abandoned as daemons
    daemon_threads = False
    block_on_close = True
    clients: ClientDirectory
    signer: TokenSigner
    hosted_ui: HostedUi | None
    cors_origins: frozenset[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_SECONDS
    server_version = "catalogue-local-oauth2"
    sys_version = ""

    def do_POST(self) -> None:
        self._serve()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_POST

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        ui = self.server.hosted_ui
        if ui is not None and (url.path, self.command) == (AUTHORIZE_PATH, "GET"):
            self._reply_page(ui.authorize(dict(urllib.parse.parse_qsl(url.query, max_num_fields=MAX_FORM_FIELDS))))
            return
        if ui is not None and (url.path, self.command) == (LOGIN_PATH, "POST"):
            body = self._read_body()
            if isinstance(body, TokenResponse):
                self.close_connection = True
                self._reply(body)
                return
            self._reply_page(ui.login(_form(body) or {}))
            return
        if url.path != TOKEN_PATH or self.command != "POST":
            self._reply(self._answer(b""))
            return
        body = self._read_body()
        if isinstance(body, TokenResponse):
            self.close_connection = True  # the unread body must not be taken for a request
            self._reply(body)
            return
        try:
            answer = self._answer(body)
        except Exception:
            LOG.exception("token request failed")
            answer = _error(500, "server_error")
        self._reply(answer)

    def _answer(self, body: bytes) -> TokenResponse:
        authorizations = self.headers.get_all("Authorization") or []
        if len(authorizations) > 1:
            return _error(400, "invalid_request")
        return token_response(
            self.command,
            self.path,
            content_type=self.headers.get("Content-Type"),
            authorization=authorizations[0] if authorizations else None,
            body=body,
            clients=self.server.clients,
            signer=self.server.signer,
            hosted_ui=self.server.hosted_ui,
        )

    def _reply_page(self, page: Page) -> None:
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        for name, value in page.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(page.body)

    def _read_body(self) -> bytes | TokenResponse:
        if self.headers.get("Transfer-Encoding"):
            return _error(411, "invalid_request")  # a length, not chunks: the size is checked first
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return _error(411, "invalid_request")
        if len(lengths) > 1 or not lengths[0].strip().isdigit():
            return _error(400, "invalid_request")
        length = int(lengths[0])
        if length > MAX_BODY_BYTES:
            if length <= 8 * MAX_BODY_BYTES:
                self.rfile.read(length)  # read, so that closing does not reset the connection
            return _error(413, "invalid_request")
        body = self.rfile.read(length)
        if len(body) != length:
            return _error(400, "invalid_request")
        return body

    def _reply(self, answer: TokenResponse) -> None:
        payload = json.dumps(answer.body, separators=(",", ":")).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        origin = self.headers.get("Origin") if getattr(self, "headers", None) is not None else None
        if origin is not None and origin in self.server.cors_origins:
            # the web page trades its sign-in code here from its own origin, as with Cognito
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Vary", "Origin")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", "") != "HEAD":
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, unknown method, headers too large) as JSON."""
        self.close_connection = True
        if code == 501 and getattr(self, "path", None):  # a method http.server has no do_ for
            self._reply(self._answer(b""))
        else:
            self._reply(_error(code, "invalid_request" if 400 <= code < 500 else "server_error"))

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s - %s", self.address_string(), format % args)


class TokenServer:
    """``POST /oauth2/token`` on ``127.0.0.1:port`` (``port`` 0: the OS picks one), served by a
    thread of this process. :meth:`start` binds (:class:`PortInUse` if taken) and starts
    serving; :meth:`stop` stops serving, closes the socket and joins every thread. Usable
    as a context manager."""

    def __init__(
        self,
        clients: ClientDirectory,
        signer: TokenSigner,
        port: int = 0,
        hosted_ui: HostedUi | None = None,
        cors_origins: frozenset[str] = frozenset(),
    ) -> None:
        self.clients = clients
        self.cors_origins = cors_origins
        self.signer = signer
        self.hosted_ui = hosted_ui
        self._served: ServedInThread[_Server] = ServedInThread(
            "the OAuth2 token endpoint (stand-in)", "CATALOGUE_TOKEN_PORT", port
        )

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def token_url(self) -> str:
        return f"http://{HOST}:{self.port}{TOKEN_PATH}"

    @property
    def authorize_url(self) -> str:
        return f"http://{HOST}:{self.port}{AUTHORIZE_PATH}"

    @property
    def running(self) -> bool:
        return self._served.running

    def start(self) -> TokenServer:
        server = self._served.bind(_Server, _Handler)
        server.clients, server.signer, server.hosted_ui = self.clients, self.signer, self.hosted_ui
        server.cors_origins = self.cors_origins
        self._served.serve("oauth2-token-server")
        LOG.info("OAuth2 token endpoint (stand-in) on %s", self.token_url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and release the port; idempotent."""
        self._served.stop(timeout)

    def __enter__(self) -> TokenServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
