"""OpenSearch requests to an Amazon OpenSearch domain are SigV4-signed; local ones are not."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.adapters.opensearch import make_client
from chalicelib.composition import Root, install, root, search_auth
from chalicelib.config import Settings

AWS_DOMAIN = "https://search-catalogue-abc123.eu-west-1.es.amazonaws.com"


class _Capture(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"version": {"number": "2.17.0", "distribution": "opensearch"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def capture() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    handler = type("Handler", (_Capture,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSIGNINGTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-signing-test")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-signing-test")
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)


def test_the_local_stack_and_basic_auth_urls_are_not_signed() -> None:
    assert search_auth(Settings(opensearch_url="http://127.0.0.1:9200")) is None
    emulated = Settings(opensearch_url="https://127.0.0.1:9200", aws_endpoint_url="http://127.0.0.1:5000")
    assert search_auth(emulated) is None


@pytest.mark.usefixtures("aws_credentials")
def test_requests_to_an_aws_domain_carry_a_sigv4_signature_with_the_role_credentials(
    capture: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = capture
    auth = search_auth(Settings(opensearch_url=AWS_DOMAIN, region="eu-west-1"))
    assert auth is not None
    # the signer is what the domain's client gets; here it signs requests to a capture server
    make_client(url, http_auth=auth).info()
    make_client(url).info()
    signed, unsigned = seen
    assert re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=AKIDSIGNINGTEST/\d{8}/eu-west-1/es/aws4_request, "
        r"SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}",
        signed["authorization"],
    ), signed["authorization"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", signed["x-amz-date"])
    assert signed["x-amz-security-token"] == "session-token-signing-test"
    assert "authorization" not in unsigned


@pytest.mark.usefixtures("aws_credentials")
def test_the_wiring_gives_an_aws_domain_client_the_signer(monkeypatch: pytest.MonkeyPatch) -> None:
    from opensearchpy import Urllib3AWSV4SignerAuth

    install(None)
    try:
        install(Root(Settings(opensearch_url=AWS_DOMAIN, region="eu-west-1")))
        index = root().search
        (connection,) = index._client.transport.connection_pool.connections  # type: ignore[attr-defined]
        assert isinstance(connection.http_auth, Urllib3AWSV4SignerAuth)
        assert connection.use_ssl
    finally:
        install(None)
