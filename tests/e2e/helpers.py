"""HTTP helpers for the end-to-end tier (real local stack, real Cognito tokens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from chalicelib import resources
from infra.local.processes import REPO_ROOT
from infra.local.stack import LocalStack

# `make soak` (CATALOGUE_SOAK=1) runs the delivery and load tests at full size; `make test`
# runs them bounded (issue 22: the bounded versions in make test, the long ones in make soak)
SOAK = os.environ.get("CATALOGUE_SOAK") == "1"


def scale(bounded: int, full: int) -> int:
    """``full`` under ``make soak``, else ``bounded``."""
    return full if SOAK else bounded


@dataclass
class Client:
    """Calls the stack's API as a persona (a fresh Cognito access token per client)."""

    stack: LocalStack
    username: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.headers["Authorization"] = f"Bearer {self.stack.token(self.username)}"
        self.session.trust_env = False  # never send loopback calls through a proxy

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        return self.session.request(method, f"{self.stack.api_url}{path}", timeout=30, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.call("POST", path, json=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.call("PUT", path, json=body, **kw)

    def patch(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.call("PATCH", path, json=body, **kw)


def persona(stack: LocalStack, username: str, *, admin: bool = False) -> Client:
    stack.add_user(username, admin=admin)
    client = Client(stack, username)
    assert client.get("/users/me").status_code == 200  # first request creates the catalogue user
    return client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuidlib.uuid4().hex[:8]}"


def enc(base_uri: str) -> str:
    return quote(base_uri, safe="")


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def total(client: Client, query: str) -> int:
    r = client.get(f"/datasets{query}")
    return int(r.json()["total"]) if r.status_code == 200 else -1


def catalogue_cli(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``catalogue`` command against the stack, as an operator would."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **stack.env}
    env["CATALOGUE_OPERATOR"] = "e2e-operator"
    return subprocess.run(
        [sys.executable, "-c", "from infra.local.cli import main; main()", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sidecar_dataset(stack: LocalStack, admin: Client, files: dict[str, bytes], name: str) -> tuple[str, str]:
    """A sidecar folder uploaded to a new watched bucket and registered by the ingest path:
    ``(bucket, dataset uuid)``."""
    bucket = unique("sidecar")
    stack.watch_bucket(bucket)
    assert admin.post("/base-uris", {"base_uri": f"s3://{bucket}"}).status_code == 201
    s3 = stack.client("s3")
    for relpath, data in files.items():
        s3.put_object(Bucket=bucket, Key=f"run/{relpath}", Body=data)
    s3.put_object(Bucket=bucket, Key="run/dataset.json", Body=json.dumps({"name": name}).encode())

    def registered() -> bool:
        r = admin.get("/datasets", params={"base_uri": f"s3://{bucket}"})
        return r.status_code == 200 and r.json()["total"] == 1

    assert wait_for(registered, timeout=30)
    return bucket, str(admin.get("/datasets", params={"base_uri": f"s3://{bucket}"}).json()["items"][0]["uuid"])


def deposits_admin(stack: LocalStack) -> Client:
    """The admin, with the deposit bucket watched and registered as a base URI."""
    client = persona(stack, "admin", admin=True)
    stack.watch_bucket(resources.DEPOSIT_BUCKET)
    r = client.post("/base-uris", {"base_uri": f"s3://{resources.DEPOSIT_BUCKET}"})
    assert r.status_code in (201, 409), r.text
    if r.status_code == 201:
        time.sleep(1.1)  # the ingest handler re-reads base URIs on a miss at most once a second
    return client
