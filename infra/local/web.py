"""The web page on the local stack: ``web/``'s static files and a generated ``config.json``,
served by a thread of this process on ``127.0.0.1:port`` (in AWS: S3 behind CloudFront, see
``infra/stacks/web.py``).

Only files under the directory are served (no listing, no path outside it, no dot files);
every answer says ``no-cache`` (a changed file shows on reload) and carries the same
security headers CloudFront adds: a Content-Security-Policy allowing scripts and styles
from the page only and connections to the origins ``config.json`` names.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import urllib.parse
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.local.serving import HOST, ServedInThread

CONFIG_PATH = "/config.json"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
LOG = logging.getLogger("infra.local.web")


def origin_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(connect: Iterable[str]) -> str:
    """The page's CSP: its own scripts and styles only, fetches to ``connect`` (origins)."""
    sources = " ".join(sorted({"'self'", *connect}))
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {sources}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )


def security_headers(connect: Iterable[str]) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(connect),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    root: Path
    config: bytes
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30
    server_version = "catalogue-local-web"
    sys_version = ""

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == CONFIG_PATH:
            self._send(200, self.server.config, "application/json")
            return
        file = self._file(path)
        if file is None:
            self._send(404, b"not found\n", "text/plain; charset=utf-8")
            return
        kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        self._send(200, file.read_bytes(), kind)

    do_HEAD = do_GET

    def _file(self, path: str) -> Path | None:
        relative = urllib.parse.unquote(path).lstrip("/") or "index.html"
        if any(part.startswith(".") or part == "" for part in relative.split("/")):
            return None
        root = self.server.root
        file = (root / relative).resolve()
        # the resolved path, so a symlink or an encoded "../" cannot leave the directory
        if not file.is_relative_to(root) or not file.is_file():
            return None
        return file

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in self.server.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s - %s", self.address_string(), format % args)


class WebServer:
    """``directory``'s files and ``config`` (as ``/config.json``) on ``127.0.0.1:port``
    (``port`` 0: the OS picks one). :meth:`start` binds (:class:`PortInUse` if taken);
    :meth:`stop` releases the port and joins every thread."""

    def __init__(self, directory: Path, config: Mapping[str, Any], port: int = 0) -> None:
        self.directory = directory.resolve()
        self.config = dict(config)
        self._served: ServedInThread[_Server] = ServedInThread("the web page", "CATALOGUE_WEB_PORT", port)

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> WebServer:
        server = self._served.bind(_Server, _Handler)
        connect = [origin_of(str(v)) for k, v in self.config.items() if k.endswith("_url") and v]
        server.root, server.headers = self.directory, security_headers(connect)
        server.config = json.dumps(self.config, indent=2).encode()
        self._served.serve("web-page-server")
        LOG.info("web page on %s", self.url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and release the port; idempotent."""
        self._served.stop(timeout)
