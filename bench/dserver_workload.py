"""The shared workload through dserver's routes (dservercore 0.22, ``shared/research/dserver.md`` §3).

One client, :class:`Dserver`, sends dserver's own requests; :class:`OursDserver` sends the
very same requests to our dserver-compatible routes (``chalicelib/routes/dserver.py``), so
that the dserver column compares like with like. Every method checks its answer, as in
:mod:`workload`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import requests
from workload import TIMEOUT_S, BenchError, System, _check, peer_body

# The shared operations (workload.OPERATIONS' names) and the dserver request each stands for,
# then the dserver reads that have no row of their own in the 0.18 table, in table order.
OPERATIONS: dict[str, str] = {
    "register": "PUT /uris/<uri> {RegisterDataset}",
    "lookup": "GET /uuids/<uuid>",
    "readme": "GET /readmes/<uri>",
    "manifest": "GET /manifests/<uri>",
    "list_page": "GET /uris?page=k&page_size=10",
    "search_uuid": "POST /uris {uuids:[u]}",
    "search_tag": "POST /uris?page_size=10 {tags:[t]}",
    "search_text": "POST /uris?page_size=10 {free_text:w}",
    "summary": "GET /me/summary",
    "lookup_uri": "GET /uris/<uri>",
    "annotations": "GET /annotations/<uri>",
    "tags": "GET /tags/<uri>",
}
EXTRA_OPERATIONS = ("lookup_uri", "annotations", "tags")


def uri_segment(uri: str) -> str:
    """A dataset URI as one path segment, as dtool-lookup-api sends it (``quote_plus``)."""
    return quote_plus(uri)


def register_body(ds: dict[str, Any]) -> dict[str, Any]:
    """dserver's RegisterDataset: the 0.18 body (string timestamps, no unknown keys: else 422)."""
    return peer_body(ds)


def total_of(resp: requests.Response) -> int:
    """The ``total`` of flask-smorest's ``X-Pagination`` header (0 when absent)."""
    return int(json.loads(resp.headers.get("X-Pagination") or '{"total": 0}').get("total", 0))


class Dserver(System):
    name = "dserver"

    def _get(self, path: str, what: str, **kw: Any) -> requests.Response:
        return _check(self.session.get(f"{self.url}{path}", timeout=TIMEOUT_S, **kw), (200,), what)

    def register(self, ds: dict[str, Any]) -> None:
        resp = self.session.put(f"{self.url}/uris/{uri_segment(ds['uri'])}", json=register_body(ds), timeout=TIMEOUT_S)
        _check(resp, (201,), "register")

    def lookup(self, ds: dict[str, Any]) -> None:
        rows = self._get(f"/uuids/{ds['uuid']}", "lookup").json()
        if len(rows) != 1 or rows[0]["uuid"] != ds["uuid"]:
            raise BenchError(f"lookup {ds['uuid']} found {len(rows)} records")

    def lookup_uri(self, ds: dict[str, Any]) -> None:
        if self._get(f"/uris/{uri_segment(ds['uri'])}", "lookup by uri").json()["uuid"] != ds["uuid"]:
            raise BenchError("lookup by uri answered another dataset")

    def readme(self, ds: dict[str, Any]) -> None:
        if not self._get(f"/readmes/{uri_segment(ds['uri'])}", "readme").json()["readme"].startswith("---"):
            raise BenchError("readme is not the registered YAML")

    def manifest(self, ds: dict[str, Any]) -> None:
        items = self._get(f"/manifests/{uri_segment(ds['uri'])}", "manifest").json()["items"]
        if len(items) != len(ds["manifest"]["items"]):
            raise BenchError("manifest items differ")

    def annotations(self, ds: dict[str, Any]) -> None:
        got = self._get(f"/annotations/{uri_segment(ds['uri'])}", "annotations").json()["annotations"]
        if set(got) != set(ds["annotations"]):
            raise BenchError("annotations differ")

    def tags(self, ds: dict[str, Any]) -> None:
        if sorted(self._get(f"/tags/{uri_segment(ds['uri'])}", "tags").json()["tags"]) != sorted(ds["tags"]):
            raise BenchError("tags differ")

    def list_page(self, page: int) -> None:
        rows = self._get("/uris", "list", params={"page": page, "page_size": 10}).json()
        if len(rows) != 10:
            raise BenchError(f"list page {page} has {len(rows)} items")

    def _search(self, body: dict[str, Any]) -> requests.Response:
        resp = self.session.post(f"{self.url}/uris", params={"page": 1, "page_size": 10}, json=body, timeout=TIMEOUT_S)
        return _check(resp, (200,), f"search {body}")

    def search_uuid(self, ds: dict[str, Any]) -> None:
        if total_of(self._search({"uuids": [ds["uuid"]]})) != 1:
            raise BenchError(f"search by uuid {ds['uuid']} did not find exactly one")

    def search_tag(self, tag: str) -> int:
        return total_of(self._search({"tags": [tag]}))

    def search_text(self, word: str) -> int:
        return total_of(self._search({"free_text": word}))

    def summary(self) -> int:
        return int(self._get("/me/summary", "summary").json()["number_of_datasets"])


class OursDserver(Dserver):
    """Ours through its dserver-compatible routes: dserver's requests, sent to our API."""

    name = "ours_dserver"
