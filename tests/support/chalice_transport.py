"""A requests transport adapter that hands each request to the functional tier's in-process
app (chalice.test.Client), so that an HTTP client (catalogue_client) is tested as it is,
without a server. The answers are held against the API description too.

Requests to S3 (a folder upload's file POSTs) leave through requests' own adapter, which
moto's ``mock_aws`` answers in process; :class:`BufferedBodies` reads a streamed body first,
as moto in process parses bytes bodies only (a server, moto's or S3, takes the stream)."""

from __future__ import annotations

import io
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3 import HTTPResponse

from tests.support import openapi_conformance

BASE_URL = "http://catalogue.test"
_KNOWN = frozenset(int(s) for s in HTTPStatus)


class ChaliceTransport(BaseAdapter):
    def __init__(self, api: Any) -> None:  # tests.functional.conftest.Api
        super().__init__()
        self.api = api
        self.requests: list[tuple[str, str]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(str(request.url))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body or b""
        data = body.encode() if isinstance(body, str) else bytes(body)
        headers = dict(request.headers.items())
        answer = self.api.client.http.request(request.method, path, headers=headers, body=data)
        if answer.status_code < 400:
            # Drained after accepted answers only (the fuzz tests send thousands of refused
            # ones). A refusal changes nothing but a new caller's user record; the drain after
            # the next accepted answer takes that too: late, never skipped.
            self.api.sync()
        self.requests.append((str(request.method), path))
        problems = openapi_conformance.check(str(request.method), path, answer.status_code, answer.headers, answer.body)
        assert not problems, f"the answer breaks the API description: {problems}"
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = HTTPStatus(answer.status_code).phrase if answer.status_code in _KNOWN else ""
        response.headers = CaseInsensitiveDict(answer.headers)
        # as requests' own adapter leaves it (schemathesis reads the headers from here)
        response.raw = HTTPResponse(
            body=io.BytesIO(answer.body), headers=answer.headers, status=answer.status_code, preload_content=False
        )
        response._content = answer.body
        response.url = str(request.url)
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        return None


class BufferedBodies(HTTPAdapter):
    """requests' adapter (which ``mock_aws`` intercepts), reading a streamed body into bytes first."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body: Any = request.body
        if body is not None and hasattr(body, "read"):
            request.body = b"".join(iter(lambda: body.read(1024 * 1024), b""))
        return super().send(request, *args, **kwargs)


def session_for(api: Any) -> tuple[requests.Session, ChaliceTransport]:
    session = requests.Session()
    transport = ChaliceTransport(api)
    session.mount(BASE_URL, transport)
    session.mount("https://", BufferedBodies())  # S3, in process (moto)
    return session, transport
