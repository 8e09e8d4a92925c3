"""The local stack's web page server (infra/local/web.py): only files under its directory,
config.json as given, the page's security headers, a taken port reported."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.processes import PortInUse
from infra.local.web import WebServer

CONFIG = {"api_url": "http://127.0.0.1:8000", "token_url": "http://127.0.0.1:8001/oauth2/token", "client_id": "c"}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[WebServer, Path]]:
    site = tmp_path / "web"
    (site / "js").mkdir(parents=True)
    (site / "index.html").write_text("<!doctype html><title>page</title>")
    (site / "js" / "app.js").write_text("export {};")
    (site / ".secret").write_text("no")
    (tmp_path / "outside.txt").write_text("outside")
    (site / "link.txt").symlink_to(tmp_path / "outside.txt")
    server = WebServer(site, CONFIG, port=0).start()
    try:
        yield server, site
    finally:
        server.stop()
        server.stop()  # idempotent


def get(server: WebServer, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def test_the_page_its_modules_and_config(served: tuple[WebServer, Path]) -> None:
    server, _ = served
    status, headers, body = get(server, "/")
    assert status == 200 and body.startswith(b"<!doctype html>") and headers["content-type"].startswith("text/html")
    status, headers, _ = get(server, "/js/app.js")
    assert status == 200 and headers["content-type"].startswith("text/javascript")  # modules need a JS type
    status, headers, body = get(server, "/config.json")
    assert status == 200 and json.loads(body) == CONFIG
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "http://127.0.0.1:8000" in csp and "http://127.0.0.1:8001" in csp  # the API and the token endpoint
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "path", ["/.secret", "/../outside.txt", "/%2e%2e/outside.txt", "/js/../../outside.txt", "/link.txt", "/js", "/nope"]
)
def test_nothing_outside_the_directory_and_no_dot_files(served: tuple[WebServer, Path], path: str) -> None:
    server, _ = served
    status, _, body = get(server, path)
    assert status == 404 and b"outside" not in body and body != b"no"


def test_a_taken_port_is_reported(served: tuple[WebServer, Path]) -> None:
    server, site = served
    with pytest.raises(PortInUse, match="CATALOGUE_WEB_PORT"):
        WebServer(site, CONFIG, port=server.port).start()
