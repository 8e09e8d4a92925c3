"""Functional tier: the Chalice app in process (chalice.test.Client) over moto's mock_aws,
an in-memory search index, tokens minted per test, and the real stream handlers pumped
from moto's DynamoDB Streams after every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib.bootstrap import create_resources, ensure_admin
from chalicelib.composition import Root, install, root
from chalicelib.config import Settings
from chalicelib.identity.tokens import TokenVerifier
from infra.local.pump import StreamPump
from tests.fakes.search import InMemorySearchIndex
from tests.support import openapi_conformance
from tests.support.tokens import TokenMint, jwks_fetcher

ROOT = Path(__file__).resolve().parents[2]
BUCKET_A = "s3://bucket-a"
BUCKET_B = "s3://bucket-b"


class Api:
    """HTTP calls as a persona, with the streams drained after each call."""

    def __init__(self, client: Client, mint: TokenMint, pumps: list[StreamPump], search: InMemorySearchIndex) -> None:
        self.client = client
        self.mint = mint
        self.pumps = pumps
        self.search = search

    def sync(self) -> int:
        total = 0
        for _ in range(20):
            n = sum(p.pump_once() for p in self.pumps)
            total += n
            if n == 0:
                break
        return total

    def call(
        self,
        method: str,
        path: str,
        user: str | None = "admin",
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        h = {"Content-Type": "application/json"}
        if user is not None:
            h["Authorization"] = f"Bearer {self.mint.access_token(user)}"
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        response = self.client.http.request(method, path, headers=h, body=data)
        self.sync()
        problems = openapi_conformance.check(method, path, response.status_code, response.headers, response.body)
        assert not problems, f"the answer breaks the API description: {problems}"
        return response

    def get(self, path: str, user: str | None = "admin", **kw: Any) -> Any:
        return self.call("GET", path, user, **kw)

    def post(self, path: str, body: Any, user: str | None = "admin", **kw: Any) -> Any:
        return self.call("POST", path, user, body, **kw)

    def patch(self, path: str, body: Any, user: str | None = "admin", **kw: Any) -> Any:
        return self.call("PATCH", path, user, body, **kw)

    def put(self, path: str, body: Any, user: str | None = "admin", **kw: Any) -> Any:
        return self.call("PUT", path, user, body, **kw)

    def delete(self, path: str, user: str | None = "admin", **kw: Any) -> Any:
        return self.call("DELETE", path, user, **kw)


def base_uri_path(base_uri: str) -> str:
    return quote(base_uri, safe="")


@pytest.fixture
def mint() -> TokenMint:
    return TokenMint()


@pytest.fixture
def settings(mint: TokenMint) -> Settings:
    return Settings(stage="test", region="eu-west-1", issuers=(mint.issuer_config(),), inline_cap_bytes=4096)


@contextmanager
def running_api(settings: Settings, mint: TokenMint) -> Iterator[Api]:
    """The app in process over a fresh ``mock_aws``, its resources made and ``admin`` in place."""
    import app as app_module

    with mock_aws():
        install(None)
        search = InMemorySearchIndex()
        services = Root(
            settings,
            search=search,
            verifier=TokenVerifier(settings.issuers, stage=settings.stage, fetch_jwks=jwks_fetcher(mint)),
        )
        install(services)
        arns = create_resources(services)
        ensure_admin(services, "admin")
        streams = root().aws_client("dynamodbstreams")
        pumps = [
            StreamPump(
                streams, arns["CATALOGUE_DATASETS_STREAM_ARN"], app_module.on_datasets_stream, region="eu-west-1"
            ),
            StreamPump(streams, arns["CATALOGUE_ACCESS_STREAM_ARN"], app_module.on_access_stream, region="eu-west-1"),
            StreamPump(
                streams, arns["CATALOGUE_FACILITY_STREAM_ARN"], app_module.on_facility_stream, region="eu-west-1"
            ),
        ]
        try:
            with Client(app_module.app, stage_name="local", project_dir=str(ROOT)) as client:
                api = Api(client, mint, pumps, search)
                api.sync()
                yield api
        finally:
            install(None)


def add_personas(api: Api) -> Api:
    """admin; champion (search+register on bucket-a); reader (search on bucket-a);
    outsider (nothing); bravo (search+register on bucket-b)."""
    for b in (BUCKET_A, BUCKET_B):
        assert api.post("/base-uris", {"base_uri": b}).status_code == 201
    for name in ("champion", "reader", "outsider", "bravo"):
        assert api.post("/users", {"username": name}).status_code == 201
    r = api.put(
        f"/base-uris/{base_uri_path(BUCKET_A)}/permissions",
        {"users_with_search_permissions": ["champion", "reader"], "users_with_register_permissions": ["champion"]},
    )
    assert r.status_code == 200, r.body
    r = api.put(
        f"/base-uris/{base_uri_path(BUCKET_B)}/permissions",
        {"users_with_search_permissions": ["bravo"], "users_with_register_permissions": ["bravo"]},
    )
    assert r.status_code == 200, r.body
    return api


@pytest.fixture
def api(settings: Settings, mint: TokenMint) -> Iterator[Api]:
    with running_api(settings, mint) as running:
        yield running


@pytest.fixture
def personas(api: Api) -> Api:
    """admin; champion (search+register on bucket-a); reader (search on bucket-a);
    outsider (nothing); bravo (search+register on bucket-b)."""
    return add_personas(api)


def folder_with_a_draft(api: Api, user: str = "champion") -> tuple[str, str]:
    """A submission folder of ``user`` holding one sample draft: (folder id, the draft's accession)."""
    folder = api.post("/submissions/folders", {"name": f"{user}'s"}, user=user).json_body["folderId"]
    draft = api.call(
        "POST",
        f"/submissions/folders/{folder}/objects/sample?draft=true",
        user,
        headers={"Content-Type": "application/xml"},
        raw=b"<SAMPLE alias='s'><SAMPLE_NAME><TAXON_ID>9606</TAXON_ID></SAMPLE_NAME></SAMPLE>",
    )
    assert draft.status_code == 201, draft.body
    return str(folder), str(draft.json_body["items"][0]["accessionId"])
