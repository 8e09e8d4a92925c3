"""Fixtures for the search contract: the same tests against the in-memory fake and OpenSearch.

The OpenSearch variant runs on osmem-server started once per session on 127.0.0.1 (a free
port chosen by the server itself); each test gets a fresh index, dropped afterwards.
Fixture names avoid ``osmem_server``/``osmem_clone``/``osmem_url`` from osmem's own plugin.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.catalogue.search import DOC_FIELDS, SearchIndex
from chalicelib.config import Settings
from tests.fakes.search import InMemorySearchIndex
from tests.support.moto_server import moto_server_url  # noqa: F401 -- a fixture, used by the AWS contract suites

STARTUP_TIMEOUT = 15.0
BASE_TIME = 1_700_000_000.0

DocFactory = Callable[..., dict[str, Any]]


def _read_url(log: Path, proc: subprocess.Popen[bytes], deadline: float) -> str:
    """The URL osmem-server prints (one JSON line) once it listens."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"osmem-server exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if isinstance(msg, dict) and isinstance(msg.get("url"), str):
                    return str(msg["url"])
        time.sleep(0.02)
    raise RuntimeError(f"osmem-server printed no URL within {STARTUP_TIMEOUT} s")


def _wait_until_answers(url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url + "/", timeout=1.0) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise RuntimeError(f"osmem-server at {url} did not answer within {STARTUP_TIMEOUT} s")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def osmem_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start osmem-server for the session; always stopped at teardown."""
    from osmem_server import resolve_binary

    log = tmp_path_factory.mktemp("osmem") / "osmem-server.log"
    args = [
        resolve_binary(),
        "-addr", "127.0.0.1:0",
        # Without these it exits at once: stdin is /dev/null here (and in CI).
        "-no-stdin-watch", "-parent-pid", str(os.getpid()),
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        url = _read_url(log, proc, deadline)
        assert url.startswith("http://127.0.0.1:"), url
        _wait_until_answers(url, deadline)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(params=["memory", "opensearch"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def index(backend: str, request: pytest.FixtureRequest) -> Iterator[SearchIndex]:
    """A fresh, empty index of the backend under test."""
    if backend == "memory":
        fake = InMemorySearchIndex()
        fake.ensure_index()
        yield fake
        return
    from chalicelib.adapters.opensearch import OpenSearchIndex, make_client

    url = request.getfixturevalue("osmem_base_url")
    # refresh="wait_for" keeps these tests valid on a real cluster (osmem is immediate anyway).
    real = OpenSearchIndex(make_client(url), f"contract-{uuidlib.uuid4().hex[:12]}", refresh="wait_for")
    real.ensure_index()
    try:
        yield real
    finally:
        real.drop_index()


@pytest.fixture
def unreachable_index(backend: str) -> SearchIndex:
    """An index of the backend under test whose backend cannot be reached."""
    if backend == "memory":
        return InMemorySearchIndex(fail=True)
    from chalicelib.adapters.opensearch import OpenSearchIndex, make_client

    return OpenSearchIndex(make_client(closed_port_url(), timeout=0.5), "contract-down")


@pytest.fixture
def make_doc() -> DocFactory:
    """Build the index document of one entry with every DOC_FIELDS key; keyword arguments override.

    The entry is ``uuid`` (random by default) on ``base_uri`` (default: the first of a
    ``base_uris`` override, else ``s3://bucket-a``); ``entry_id`` is ``f"{uuid}@{base_uri}"``
    unless overridden (overriding ``entry_id`` or ``base_uris`` can build an invalid document).
    """

    def build(uuid: str | None = None, *, base_uri: str | None = None, **overrides: Any) -> dict[str, Any]:
        unknown = set(overrides) - set(DOC_FIELDS)
        assert not unknown, f"not index document keys: {sorted(unknown)}"
        assert base_uri is None or "base_uris" not in overrides, "give base_uri or base_uris, not both"
        uuid = uuid or str(uuidlib.uuid4())
        base_uris = [base_uri] if base_uri is not None else overrides.get("base_uris", ["s3://bucket-a"])
        uris = [f"{b}/{uuid}" for b in base_uris]
        doc: dict[str, Any] = {
            "entry_id": f"{uuid}@{base_uris[0]}" if base_uris else f"{uuid}@",
            "uuid": uuid,
            "version": 1,
            "deleted": False,
            "name": "dataset",
            "creator_username": "alice",
            "description": "",
            "readme": "",
            "readme_text": "",
            "annotations_text": "",
            "relpaths": [],
            "tags": [],
            "base_uris": base_uris,
            "uris": uris,
            "replicas": [{"base_uri": b, "uri": u} for b, u in zip(base_uris, uris, strict=True)],
            "annotations": {},
            "annotation_values": [],
            "project": None,
            "type": "record",
            "created_at": BASE_TIME,
            "frozen_at": BASE_TIME,
            "registered_at": BASE_TIME,
            "updated_at": BASE_TIME,
            "number_of_items": 0,
            "size_in_bytes": 0,
        }
        doc.update(overrides)
        assert set(doc) == set(DOC_FIELDS)
        return doc

    return build


def dynamodb_on_moto_server(url: str, **overrides: Any) -> Iterator[Settings]:
    """Settings whose tables and catalogue bucket are fresh, uniquely named, on the session's
    moto server, with the pynamodb models bound to them; the tables are deleted afterwards.

    A generator for ``yield from`` in a fixture (so that the deletion always runs)."""
    from chalicelib.adapters import provisioning
    from chalicelib.adapters.aws import make_client
    from chalicelib.adapters.dynamodb import tables

    tag = uuidlib.uuid4().hex[:12]
    settings = Settings(
        stage="test",
        region="eu-west-1",
        aws_endpoint_url=url,
        datasets_table=f"datasets-{tag}",
        access_table=f"access-{tag}",
        audit_table=f"audit-{tag}",
        archives_table=f"archives-{tag}",
        sign_in_attempts_table=f"attempts-{tag}",
        facility_table=f"facility-{tag}",
        summary_table=f"summary-{tag}",
        catalogue_bucket=f"catalogue-{tag}",
        **overrides,
    )
    tables.bind(settings)
    models = (
        tables.DatasetItem,
        tables.UserItem,
        tables.AuditItem,
        tables.ArchiveItem,
        tables.AttemptItem,
        tables.FacilityItem,
        tables.SummaryItem,
    )
    for model in models:
        model.create_table(wait=True)
    provisioning.create_bucket(
        make_client("s3", region="eu-west-1", endpoint_url=url), settings.catalogue_bucket, "eu-west-1"
    )
    try:
        yield settings
    finally:
        for model in models:
            if model.exists():
                model.delete_table()
