"""The local stack's stand-in for Cognito's ``POST /oauth2/token`` (infra/local/oauth2.py).

Its tokens must pass the catalogue's own :class:`TokenVerifier` (with moto's published JWKS,
in the local stage) as the service principal, its answers must be what oauthlib expects
(``docs/research/mymdc-client.md`` §2: no ``scope`` key), and every refusal must be the
standard error code as JSON.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.config import IssuerConfig
from chalicelib.errors import AuthUnavailable
from chalicelib.identity.tokens import TokenVerifier
from infra.local import cognito
from infra.local.oauth2 import (
    MAX_BODY_BYTES,
    TOKEN_PATH,
    AppClient,
    CognitoClients,
    TokenServer,
    TokenSigner,
    moto_signing_jwk,
    token_response,
)
from infra.local.processes import PortInUse, free_port
from tests.support.moto_keys import moto_resource

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_localpool"
JWKS_URL = "http://127.0.0.1:5001/eu-west-1_localpool/.well-known/jwks.json"
USER_CLIENT = "userclient1"
XFEL = AppClient(
    client_id="xfelclient1",
    client_secret="s3cret-of-xfel",
    oauth_flows=frozenset({"client_credentials"}),
    oauth_enabled=True,
    scopes=("catalogue/mymdc", "catalogue/read"),
    expires_in=1800,
)
ODD = AppClient(  # a secret with characters that form-url-encoding changes
    client_id="oddclient1",
    client_secret="a+b %c/d:e",
    oauth_flows=frozenset({"client_credentials"}),
    oauth_enabled=True,
    scopes=("catalogue/mymdc",),
)
PUBLIC = AppClient(client_id="publicclient1", client_secret=None, oauth_flows=frozenset({"client_credentials"}))
CODE_ONLY = AppClient(
    client_id="codeclient1",
    client_secret="code-secret",
    oauth_flows=frozenset({"code"}),
    oauth_enabled=True,
    scopes=("catalogue/mymdc",),
)
OAUTH_OFF = AppClient(
    client_id="offclient1",
    client_secret="off-secret",
    oauth_flows=frozenset({"client_credentials"}),
    oauth_enabled=False,
    scopes=("catalogue/mymdc",),
)
NO_SCOPES = AppClient(
    client_id="noscopes1",
    client_secret="noscope-secret",
    oauth_flows=frozenset({"client_credentials"}),
    oauth_enabled=True,
)
SUCCESS_KEYS = {"access_token", "expires_in", "token_type"}
CLAIMS = {"sub", "token_use", "scope", "auth_time", "iss", "exp", "iat", "version", "jti", "client_id"}


class Directory:
    """App clients by id, counting lookups; ``broken`` makes every lookup fail."""

    def __init__(self, *clients: AppClient) -> None:
        self.clients = {c.client_id: c for c in clients}
        self.lookups: list[str] = []
        self.broken = False

    def get(self, client_id: str) -> AppClient | None:
        self.lookups.append(client_id)
        if self.broken:
            raise ConnectionError("moto is down")
        return self.clients.get(client_id)


@pytest.fixture(scope="module")
def moto_jwks() -> dict[str, Any]:
    document = moto_resource("jwks-public.json")
    assert document is not None
    return document


@pytest.fixture(scope="module")
def signer() -> TokenSigner:
    return TokenSigner(ISSUER)


@pytest.fixture
def directory() -> Directory:
    return Directory(XFEL, ODD, PUBLIC, CODE_ONLY, OAUTH_OFF, NO_SCOPES)


@pytest.fixture
def server(directory: Directory, signer: TokenSigner) -> Iterator[TokenServer]:
    with TokenServer(directory, signer) as running:
        yield running
    assert not running.running


def verifier(moto_jwks: dict[str, Any], stage: str = "local") -> TokenVerifier:
    config = IssuerConfig(ISSUER, JWKS_URL, (USER_CLIENT,), service_clients={XFEL.client_id: "xfel-daq"})
    return TokenVerifier([config], stage=stage, fetch_jwks=lambda url: moto_jwks)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def post(
    server: TokenServer,
    form: dict[str, str] | str | bytes | None = None,
    *,
    auth: str | None = None,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str = TOKEN_PATH,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request (http.client: no proxy, headers exactly as given)."""
    if isinstance(form, dict):
        body = urllib.parse.urlencode(form).encode()
    elif isinstance(form, str):
        body = form.encode()
    else:
        body = form or b""
    sent = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if auth is not None:
        sent["Authorization"] = auth
    sent.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body if method not in ("GET", "HEAD") else None, headers=sent)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def refused(result: tuple[int, dict[str, str], bytes], status: int, error: str) -> dict[str, str]:
    got_status, headers, body = result
    assert (got_status, json.loads(body)) == (status, {"error": error})
    assert headers["content-type"] == "application/json"
    return headers


GRANT = {"grant_type": "client_credentials"}


# --- tokens ---------------------------------------------------------------------------------


def test_basic_auth_gives_a_cognito_shaped_token_the_catalogue_accepts(
    server: TokenServer, moto_jwks: dict[str, Any]
) -> None:
    before = int(time.time())
    status, headers, body = post(server, GRANT, auth=basic(XFEL.client_id, XFEL.client_secret or ""))
    after = int(time.time())
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    answer = json.loads(body)
    assert set(answer) == SUCCESS_KEYS  # no scope: oauthlib would warn that it changed
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == XFEL.expires_in == 1800

    identity = verifier(moto_jwks).verify(f"Bearer {answer['access_token']}")
    assert identity.username == "xfel-daq"
    claims = identity.claims
    assert set(claims) == CLAIMS
    assert claims["sub"] == claims["client_id"] == XFEL.client_id
    assert claims["token_use"] == "access"
    assert claims["scope"] == "catalogue/mymdc catalogue/read"  # no scope asked: all allowed
    assert claims["iss"] == ISSUER
    assert claims["version"] == 2
    assert before <= claims["iat"] == claims["auth_time"] <= after
    assert claims["exp"] == claims["iat"] + answer["expires_in"]
    header = json.loads(base64.urlsafe_b64decode(answer["access_token"].split(".")[0] + "=="))
    assert (header["alg"], header["kid"]) == ("RS256", "dummy")


def test_every_token_has_its_own_jti(server: TokenServer, moto_jwks: dict[str, Any]) -> None:
    auth = basic(XFEL.client_id, XFEL.client_secret or "")
    tokens = [json.loads(post(server, GRANT, auth=auth)[2])["access_token"] for _ in range(3)]
    check = verifier(moto_jwks)
    assert len({check.verify(f"Bearer {t}").claims["jti"] for t in tokens}) == 3


def test_credentials_in_the_body(server: TokenServer, moto_jwks: dict[str, Any]) -> None:
    form = {**GRANT, "client_id": XFEL.client_id, "client_secret": XFEL.client_secret or ""}
    status, _, body = post(server, form)
    assert status == 200
    assert verifier(moto_jwks).verify(f"Bearer {json.loads(body)['access_token']}").username == "xfel-daq"


def test_basic_auth_parts_are_form_url_decoded(server: TokenServer) -> None:
    secret = ODD.client_secret or ""
    encoded = basic(urllib.parse.quote_plus(ODD.client_id), urllib.parse.quote_plus(secret))
    assert post(server, GRANT, auth=encoded)[0] == 200
    # sent raw (as requests' HTTPBasicAuth does), "+" decodes to a space: refused
    refused(post(server, GRANT, auth=basic(ODD.client_id, secret)), 401, "invalid_client")


def test_basic_auth_with_the_same_client_id_in_the_body(server: TokenServer) -> None:
    form = {**GRANT, "client_id": XFEL.client_id}  # requests-oauthlib's include_client_id=True
    assert post(server, form, auth=basic(XFEL.client_id, XFEL.client_secret or ""))[0] == 200


@pytest.mark.parametrize(
    ("scope", "granted"),
    [
        ("catalogue/read", "catalogue/read"),
        ("catalogue/read catalogue/mymdc", "catalogue/read catalogue/mymdc"),
        ("catalogue/mymdc catalogue/mymdc", "catalogue/mymdc"),
        ("", "catalogue/mymdc catalogue/read"),  # oauthlib drops an empty scope; curl may not
    ],
)
def test_requested_scopes(server: TokenServer, moto_jwks: dict[str, Any], scope: str, granted: str) -> None:
    status, _, body = post(server, {**GRANT, "scope": scope}, auth=basic(XFEL.client_id, XFEL.client_secret or ""))
    assert status == 200
    answer = json.loads(body)
    assert set(answer) == SUCCESS_KEYS
    assert verifier(moto_jwks).verify(f"Bearer {answer['access_token']}").claims["scope"] == granted


def test_the_token_is_refused_outside_the_local_stage(server: TokenServer, moto_jwks: dict[str, Any]) -> None:
    answer = json.loads(post(server, GRANT, auth=basic(XFEL.client_id, XFEL.client_secret or ""))[2])
    with pytest.raises(AuthUnavailable):
        verifier(moto_jwks, stage="dev").verify(f"Bearer {answer['access_token']}")


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        basic(XFEL.client_id, "wrong"),
        basic(XFEL.client_id, ""),
        basic("unknownclient", "s3cret-of-xfel"),
        basic(PUBLIC.client_id, ""),  # a client without a secret cannot use this grant
        basic(PUBLIC.client_id, "anything"),
        basic("bad id!", "s3cret-of-xfel"),
        basic("x" * 129, "s3cret-of-xfel"),
        "Basic " + base64.b64encode(b"xfelclient1").decode(),  # no colon
        "Basic not-base64!",
        "Basic ",
        "Bearer " + base64.b64encode(b"xfelclient1:s3cret-of-xfel").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),  # not UTF-8
    ],
)
def test_bad_basic_credentials_are_invalid_client(server: TokenServer, auth: str) -> None:
    headers = refused(post(server, GRANT, auth=auth), 401, "invalid_client")
    assert headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    "form",
    [
        {**GRANT},  # no credentials at all
        {**GRANT, "client_id": XFEL.client_id},
        {**GRANT, "client_id": XFEL.client_id, "client_secret": "wrong"},
        {**GRANT, "client_id": XFEL.client_id, "client_secret": ""},
        {**GRANT, "client_secret": XFEL.client_secret or ""},
        {**GRANT, "client_id": "nobody", "client_secret": "x"},
    ],
)
def test_bad_body_credentials_are_invalid_client(server: TokenServer, form: dict[str, str]) -> None:
    headers = refused(post(server, form), 401, "invalid_client")
    assert "www-authenticate" not in headers


def test_secret_mismatch_needs_no_second_lookup(server: TokenServer, directory: Directory) -> None:
    refused(post(server, GRANT, auth=basic(XFEL.client_id, "wrong")), 401, "invalid_client")
    refused(post(server, GRANT, auth=basic("bad id!", "x")), 401, "invalid_client")
    assert directory.lookups == [XFEL.client_id]  # a malformed id is never looked up


@pytest.mark.parametrize(
    ("form", "auth"),
    [
        ({**GRANT, "client_secret": "s3cret-of-xfel"}, True),  # two authentication methods
        ({**GRANT, "client_id": "someone-else"}, True),
        ({"grant_type": ["client_credentials", "client_credentials"]}, True),  # repeated parameter
        ({}, True),  # no grant_type
        ({"grant_type": ""}, True),
    ],
)
def test_malformed_requests_are_invalid_request(server: TokenServer, form: dict[str, Any], auth: bool) -> None:
    body = urllib.parse.urlencode(form, doseq=True)
    credentials = basic(XFEL.client_id, XFEL.client_secret or "") if auth else None
    refused(post(server, body, auth=credentials), 400, "invalid_request")


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token", "implicit", "CLIENT_CREDENTIALS"])
def test_other_grants_are_unsupported(server: TokenServer, grant: str) -> None:
    form = {"grant_type": grant, "refresh_token": "r", "username": "u", "password": "p", "code": "c"}
    refused(post(server, form, auth=basic(XFEL.client_id, XFEL.client_secret or "")), 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    ("client", "error"),
    [(CODE_ONLY, "unauthorized_client"), (OAUTH_OFF, "unauthorized_client"), (NO_SCOPES, "invalid_scope")],
)
def test_clients_not_set_up_for_client_credentials(server: TokenServer, client: AppClient, error: str) -> None:
    refused(post(server, GRANT, auth=basic(client.client_id, client.client_secret or "")), 400, error)


@pytest.mark.parametrize(
    "scope", ["catalogue/write", "catalogue/mymdc other/scope", "openid", "aws.cognito.signin.user.admin"]
)
def test_scopes_beyond_the_allowed_ones_are_invalid_scope(server: TokenServer, scope: str) -> None:
    auth = basic(XFEL.client_id, XFEL.client_secret or "")
    refused(post(server, {**GRANT, "scope": scope}, auth=auth), 400, "invalid_scope")


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "text/plain"},
        {"Content-Type": ""},
    ],
)
def test_only_form_bodies(server: TokenServer, headers: dict[str, str]) -> None:
    auth = basic(XFEL.client_id, XFEL.client_secret or "")
    refused(post(server, json.dumps(GRANT), auth=auth, headers=headers), 400, "invalid_request")


def test_form_content_type_with_charset_is_fine(server: TokenServer) -> None:
    auth = basic(XFEL.client_id, XFEL.client_secret or "")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    assert post(server, GRANT, auth=auth, headers=headers)[0] == 200


@pytest.mark.parametrize("body", [b"grant_type=client_credentials&\xff=1", b"no-equals-sign", b"%zz"])
def test_bodies_that_are_not_forms(server: TokenServer, body: bytes) -> None:
    refused(post(server, body, auth=basic(XFEL.client_id, XFEL.client_secret or "")), 400, "invalid_request")


def test_parameters_in_the_url_are_refused(server: TokenServer) -> None:
    auth = basic(XFEL.client_id, XFEL.client_secret or "")
    path = f"{TOKEN_PATH}?client_secret=s3cret-of-xfel"
    refused(post(server, GRANT, auth=auth, path=path), 400, "invalid_request")


def test_too_many_fields(server: TokenServer) -> None:
    body = "grant_type=client_credentials&" + "&".join(f"f{i}=x" for i in range(40))
    refused(post(server, body, auth=basic(XFEL.client_id, XFEL.client_secret or "")), 400, "invalid_request")


def test_body_size_is_bounded(server: TokenServer, directory: Directory) -> None:
    body = "grant_type=client_credentials&pad=" + "x" * MAX_BODY_BYTES
    refused(post(server, body, auth=basic(XFEL.client_id, XFEL.client_secret or "")), 413, "invalid_request")
    assert directory.lookups == []


def test_the_length_must_be_given(server: TokenServer) -> None:
    status, _, body = raw_exchange(
        server,
        b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n1d\r\ngrant_type=client_credentials\r\n0\r\n\r\n",
    )
    assert (status, json.loads(body)) == (411, {"error": "invalid_request"})
    status, _, body = raw_exchange(server, b"POST /oauth2/token HTTP/1.0\r\nHost: x\r\n\r\n")
    assert (status, json.loads(body)) == (411, {"error": "invalid_request"})
    status, _, body = raw_exchange(server, b"POST /oauth2/token HTTP/1.0\r\nContent-Length: -1\r\n\r\n")
    assert (status, json.loads(body)) == (400, {"error": "invalid_request"})


def test_two_authorization_headers(server: TokenServer) -> None:
    auth = basic(XFEL.client_id, XFEL.client_secret or "").encode()
    body = b"grant_type=client_credentials"
    request = (
        b"POST /oauth2/token HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Authorization: " + auth + b"\r\nAuthorization: " + auth + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    status, _, payload = raw_exchange(server, request)
    assert (status, json.loads(payload)) == (400, {"error": "invalid_request"})


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "FROB"])
def test_other_methods_are_405(server: TokenServer, method: str) -> None:
    headers = refused(post(server, GRANT, method=method), 405, "method_not_allowed")
    assert headers["allow"] == "POST"


def test_head_is_405_without_a_body(server: TokenServer) -> None:
    status, headers, body = post(server, method="HEAD")
    assert (status, headers["allow"], body) == (405, "POST", b"")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/oauth2/token/"),
        ("POST", "/oauth2/authorize"),
        ("POST", "/token"),
        ("GET", "/"),
        ("GET", "/oauth2/userInfo"),
        ("FROB", "/x"),
    ],
)
def test_other_paths_are_404(server: TokenServer, method: str, path: str) -> None:
    refused(post(server, GRANT, method=method, path=path), 404, "not_found")


def test_a_broken_request_line_is_json_too(server: TokenServer) -> None:
    status, headers, body = raw_exchange(server, b"GET / too many words HTTP/1.0\r\n\r\n")
    assert status == 400 and json.loads(body) == {"error": "invalid_request"}
    assert headers["content-type"] == "application/json"


def test_a_failing_client_lookup_is_a_server_error(server: TokenServer, directory: Directory) -> None:
    directory.broken = True
    refused(post(server, GRANT, auth=basic(XFEL.client_id, XFEL.client_secret or "")), 500, "server_error")


def test_no_answer_but_success_carries_a_token_or_scope(directory: Directory, signer: TokenSigner) -> None:
    cases = [
        ("POST", "application/x-www-form-urlencoded", basic(XFEL.client_id, "wrong"), b"grant_type=client_credentials"),
        ("POST", "application/x-www-form-urlencoded", None, b"grant_type=password&scope=catalogue/mymdc"),
        ("POST", "application/x-www-form-urlencoded", basic(XFEL.client_id, XFEL.client_secret or ""), b"scope=x"),
        ("GET", None, None, b""),
    ]
    for method, content_type, auth, body in cases:
        answer = token_response(
            method,
            TOKEN_PATH,
            content_type=content_type,
            authorization=auth,
            body=body,
            clients=directory,
            signer=signer,
        )
        assert answer.status >= 400
        assert list(answer.body) == ["error"]
        assert answer.headers["Cache-Control"] == "no-store"


def raw_exchange(server: TokenServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; read the whole answer (the server closes the connection)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


# --- app clients, the key, the server's life ------------------------------------------------


@pytest.mark.parametrize(
    ("described", "expires_in"),
    [
        ({}, 3600),
        ({"AccessTokenValidity": 2}, 7200),  # Cognito's default unit is hours
        ({"AccessTokenValidity": 30, "TokenValidityUnits": {"AccessToken": "minutes"}}, 1800),
        ({"AccessTokenValidity": 900, "TokenValidityUnits": {"AccessToken": "seconds"}}, 900),
        ({"AccessTokenValidity": 1, "TokenValidityUnits": {"AccessToken": "days"}}, 86400),
        ({"AccessTokenValidity": 0}, 3600),
    ],
)
def test_expires_in_follows_the_clients_access_token_validity(described: dict[str, Any], expires_in: int) -> None:
    assert AppClient.from_description({"ClientId": "c", **described}).expires_in == expires_in


def test_app_client_from_moto(moto_jwks: dict[str, Any]) -> None:
    with mock_aws():
        client = boto3.client("cognito-idp", region_name="eu-west-1")
        pool = cognito.create_user_pool(client, "catalogue-users")
        service = cognito.create_service_client(
            client, pool, "xfel-daq", "xfel-daq", resource_server="catalogue", scope="mymdc"
        )
        # idempotent: the same resource server and client again
        again = cognito.create_service_client(
            client, pool, "xfel-daq", "xfel-daq", resource_server="catalogue", scope="mymdc"
        )
        assert again == service
        assert service.scopes == ("catalogue/mymdc",) and service.client_secret

        calls: list[str] = []
        real_describe = client.describe_user_pool_client

        def describe(**kwargs: Any) -> Any:
            calls.append(kwargs["ClientId"])
            return real_describe(**kwargs)

        client.describe_user_pool_client = describe
        directory = CognitoClients(client, pool.pool_id)
        found = directory.get(service.client_id)
        assert found == AppClient(
            client_id=service.client_id,
            client_secret=service.client_secret,
            oauth_flows=frozenset({"client_credentials"}),
            oauth_enabled=True,
            scopes=("catalogue/mymdc",),
            expires_in=3600,
        )
        assert directory.get(service.client_id) is found  # cached
        assert directory.get("unknownclient") is None
        assert directory.get("unknownclient") is None  # not cached: asked again
        assert calls == [service.client_id, "unknownclient", "unknownclient"]
        # the user client has no secret: no client-credentials tokens for it
        user_client = directory.get(pool.client_id)
        assert user_client is not None and user_client.client_secret is None

        entry = cognito.issuer_config(pool, [service])
        assert entry["service_clients"] == {service.client_id: "xfel-daq"}
        assert IssuerConfig.from_mapping(entry).service_clients == {service.client_id: "xfel-daq"}

        with TokenServer(directory, TokenSigner(pool.issuer)) as running:
            status, _, body = post(running, GRANT, auth=basic(service.client_id, service.client_secret))
            assert status == 200
            check = TokenVerifier(
                [IssuerConfig.from_mapping({**entry, "jwks_url": JWKS_URL})],
                stage="local",
                fetch_jwks=lambda u: moto_jwks,
            )
            assert check.verify(f"Bearer {json.loads(body)['access_token']}").username == "xfel-daq"
            assert post(running, GRANT, auth=basic(pool.client_id, ""))[0] == 401


def test_the_signing_key_is_motos(moto_jwks: dict[str, Any]) -> None:
    private = moto_signing_jwk()
    (public,) = moto_jwks["keys"]
    assert (private["kid"], private["n"], private["e"]) == (public["kid"], public["n"], public["e"])


def test_start_and_stop(directory: Directory, signer: TokenSigner) -> None:
    before = set(threading.enumerate())
    server = TokenServer(directory, signer, port=free_port()).start()
    port = server.port
    assert server.running and server.token_url == f"http://127.0.0.1:{port}{TOKEN_PATH}"
    assert post(server, GRANT, auth=basic(XFEL.client_id, XFEL.client_secret or ""))[0] == 200
    with pytest.raises(PortInUse):
        TokenServer(directory, signer, port=port).start()
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    server.stop()  # idempotent
    assert not server.running
    assert set(threading.enumerate()) <= before  # the serve loop and every request thread are gone
    with socket.socket() as sock:  # the port is free again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
