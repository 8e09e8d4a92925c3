"""The shared workload: the same datasets and the same operations, over HTTP, for both systems.

Each system is a small client with one method per benchmarked operation. Every method
checks its answer (status and, where cheap, the count), so a fast wrong answer fails the
run instead of winning it.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.demo import demo_datasets

BASE_URI = "s3://bench-data"
# Words found in names or READMEs (the peer's text index covers name and readme only).
FREE_TEXT_WORDS = ("soil", "lidar", "apoferritin", "diffraction", "woodland", "moisture")
TIMEOUT_S = 60.0

# Operation names, in table order, with the per-system request each stands for.
OPERATIONS: dict[str, tuple[str, str]] = {
    "register": ("POST /dataset/register", "POST /datasets"),
    "lookup": ("GET /dataset/lookup/<uuid>", "GET /datasets/<uuid>"),
    "readme": ("POST /dataset/readme {uri}", "GET /datasets/<uuid>/readme"),
    "manifest": ("POST /dataset/manifest {uri}", "GET /datasets/<uuid>/manifest"),
    "list_page": ("GET /dataset/list?page=k&page_size=10", "GET /datasets?page=k&page_size=10"),
    "search_uuid": ("POST /dataset/search {uuids:[u]}", "GET /datasets?uuid=u"),
    "search_tag": ("POST /dataset/search {tags:[t]} page_size=10", "GET /datasets?tag=t&page_size=10"),
    "search_text": ("POST /dataset/search {free_text} page_size=10", "GET /datasets?q=w&page_size=10"),
    "summary": ("GET /dataset/summary", "GET /datasets/summary"),
}


def datasets(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` realistic dtool registrations (YAML README, 3-8 item manifest, annotations, tags)."""
    return demo_datasets(BASE_URI, n=n, seed=seed)


def tags_of(dss: Sequence[dict[str, Any]]) -> list[str]:
    return sorted({t for ds in dss for t in ds["tags"]})


def peer_body(ds: dict[str, Any]) -> dict[str, Any]:
    """The peer's RegisterDataset body: string timestamps, no keys it does not know (else 422)."""
    items = ds["manifest"]["items"]
    return {
        "uuid": ds["uuid"],
        "base_uri": ds["base_uri"],
        "uri": ds["uri"],
        "name": ds["name"],
        "type": "dataset",
        "readme": ds["readme"],
        "manifest": ds["manifest"],
        "creator_username": ds["creator_username"],
        "frozen_at": repr(float(ds["frozen_at"])),
        "created_at": repr(float(ds["created_at"])),
        "annotations": ds["annotations"],
        "tags": ds["tags"],
        "number_of_items": len(items),
        "size_in_bytes": sum(int(i["size_in_bytes"]) for i in items.values()),
    }


class BenchError(RuntimeError):
    """A request answered something other than what the benchmark expects."""


def _session(token: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only: never through a proxy
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _check(resp: requests.Response, ok: tuple[int, ...], what: str) -> requests.Response:
    if resp.status_code not in ok:
        raise BenchError(f"{what} answered {resp.status_code}: {resp.text[:500]}")
    return resp


class System:
    """One system's client. Subclasses implement the operations of :data:`OPERATIONS`."""

    name = ""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.session = _session(token)

    def clone(self) -> System:
        """The same client with its own connection (one per concurrent worker)."""
        return type(self)(self.url, self.token)

    def close(self) -> None:
        self.session.close()

    def register(self, ds: dict[str, Any]) -> None:
        raise NotImplementedError

    def lookup(self, ds: dict[str, Any]) -> None:
        raise NotImplementedError

    def readme(self, ds: dict[str, Any]) -> None:
        raise NotImplementedError

    def manifest(self, ds: dict[str, Any]) -> None:
        raise NotImplementedError

    def list_page(self, page: int) -> None:
        raise NotImplementedError

    def search_uuid(self, ds: dict[str, Any]) -> None:
        raise NotImplementedError

    def search_tag(self, tag: str) -> int:
        raise NotImplementedError

    def search_text(self, word: str) -> int:
        raise NotImplementedError

    def summary(self) -> int:
        raise NotImplementedError


class Peer(System):
    name = "peer"

    def register(self, ds: dict[str, Any]) -> None:
        _check(self.session.post(f"{self.url}/dataset/register", json=peer_body(ds), timeout=TIMEOUT_S), (201,), "reg")

    def lookup(self, ds: dict[str, Any]) -> None:
        resp = _check(self.session.get(f"{self.url}/dataset/lookup/{ds['uuid']}", timeout=TIMEOUT_S), (200,), "lookup")
        if len(resp.json()) != 1:
            raise BenchError(f"lookup {ds['uuid']} found {len(resp.json())} records")

    def readme(self, ds: dict[str, Any]) -> None:
        resp = _check(
            self.session.post(f"{self.url}/dataset/readme", json={"uri": ds["uri"]}, timeout=TIMEOUT_S),
            (200,),
            "readme",
        )
        if not resp.json().startswith("---"):
            raise BenchError("readme is not the registered YAML")

    def manifest(self, ds: dict[str, Any]) -> None:
        resp = _check(
            self.session.post(f"{self.url}/dataset/manifest", json={"uri": ds["uri"]}, timeout=TIMEOUT_S),
            (200,),
            "manifest",
        )
        if len(resp.json()["items"]) != len(ds["manifest"]["items"]):
            raise BenchError("manifest items differ")

    def list_page(self, page: int) -> None:
        resp = _check(
            self.session.get(f"{self.url}/dataset/list", params={"page": page, "page_size": 10}, timeout=TIMEOUT_S),
            (200,),
            "list",
        )
        if len(resp.json()) != 10:
            raise BenchError(f"list page {page} has {len(resp.json())} items")

    def _search(self, body: dict[str, Any], page_size: int = 10) -> requests.Response:
        return _check(
            self.session.post(
                f"{self.url}/dataset/search", params={"page": 1, "page_size": page_size}, json=body, timeout=TIMEOUT_S
            ),
            (200,),
            f"search {body}",
        )

    @staticmethod
    def _total(resp: requests.Response) -> int:
        return int(json.loads(resp.headers.get("X-Pagination", '{"total": 0}'))["total"])

    def search_uuid(self, ds: dict[str, Any]) -> None:
        if self._total(self._search({"uuids": [ds["uuid"]]})) != 1:
            raise BenchError(f"search by uuid {ds['uuid']} did not find exactly one")

    def search_tag(self, tag: str) -> int:
        return self._total(self._search({"tags": [tag]}))

    def search_text(self, word: str) -> int:
        return self._total(self._search({"free_text": word}))

    def summary(self) -> int:
        resp = _check(self.session.get(f"{self.url}/dataset/summary", timeout=TIMEOUT_S), (200,), "summary")
        return int(resp.json()["number_of_datasets"])


class OursCompat(Peer):
    """Ours through its dtool-lookup-server 0.18-compatible routes: the peer's requests, sent
    to our API, so that the comparison is like for like (same paths, bodies and answers)."""

    name = "ours_compat"


class Ours(System):
    name = "ours"

    def register(self, ds: dict[str, Any]) -> None:
        _check(self.session.post(f"{self.url}/datasets", json=ds, timeout=TIMEOUT_S), (200, 201), "register")

    def lookup(self, ds: dict[str, Any]) -> None:
        resp = _check(self.session.get(f"{self.url}/datasets/{ds['uuid']}", timeout=TIMEOUT_S), (200,), "lookup")
        if resp.json()["uuid"] != ds["uuid"]:
            raise BenchError("lookup answered another dataset")

    def readme(self, ds: dict[str, Any]) -> None:
        resp = _check(self.session.get(f"{self.url}/datasets/{ds['uuid']}/readme", timeout=TIMEOUT_S), (200,), "readme")
        if not resp.json()["readme"].startswith("---"):
            raise BenchError("readme is not the registered YAML")

    def manifest(self, ds: dict[str, Any]) -> None:
        resp = _check(
            self.session.get(f"{self.url}/datasets/{ds['uuid']}/manifest", timeout=TIMEOUT_S), (200,), "manifest"
        )
        if len(resp.json()["items"]) != len(ds["manifest"]["items"]):
            raise BenchError("manifest items differ")

    def _search(self, params: dict[str, Any]) -> int:
        resp = _check(
            self.session.get(f"{self.url}/datasets", params=params, timeout=TIMEOUT_S), (200,), f"search {params}"
        )
        return int(resp.json()["total"])

    def list_page(self, page: int) -> None:
        resp = _check(
            self.session.get(f"{self.url}/datasets", params={"page": page, "page_size": 10}, timeout=TIMEOUT_S),
            (200,),
            "list",
        )
        if len(resp.json()["items"]) != 10:
            raise BenchError(f"list page {page} has {len(resp.json()['items'])} items")

    def search_uuid(self, ds: dict[str, Any]) -> None:
        if self._search({"uuid": ds["uuid"]}) != 1:
            raise BenchError(f"search by uuid {ds['uuid']} did not find exactly one")

    def search_tag(self, tag: str) -> int:
        return self._search({"tag": tag, "page_size": 10})

    def search_text(self, word: str) -> int:
        return self._search({"q": word, "page_size": 10})

    def summary(self) -> int:
        resp = _check(self.session.get(f"{self.url}/datasets/summary", timeout=TIMEOUT_S), (200,), "summary")
        return int(resp.json()["number_of_datasets"])


# -- timing ---------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def stats(latencies_ms: Sequence[float], wall_s: float | None = None) -> dict[str, Any]:
    lat = sorted(latencies_ms)
    out: dict[str, Any] = {
        "n": len(lat),
        "median_ms": round(statistics.median(lat), 2),
        "p95_ms": round(percentile(lat, 0.95), 2),
        "p99_ms": round(percentile(lat, 0.99), 2),
    }
    if wall_s:
        out["ops_per_s"] = round(len(lat) / wall_s, 1)
    return out


def timed(fn: Callable[[Any], Any], args: Sequence[Any], warmup: int = 0) -> dict[str, Any]:
    """Call ``fn(arg)`` for each arg sequentially (after ``warmup`` untimed calls); latency stats."""
    for arg in args[:warmup]:
        fn(arg)
    latencies = []
    begin = time.perf_counter()
    for arg in args:
        t0 = time.perf_counter()
        fn(arg)
        latencies.append((time.perf_counter() - t0) * 1000)
    return stats(latencies, time.perf_counter() - begin)


def throughput(system: System, op: str, args: Sequence[Any], clients: int, max_seconds: float = 60.0) -> dict[str, Any]:
    """``clients`` threads, each with its own connection, share ``args`` (each arg one request).

    Bounded twice: by ``len(args)`` requests and by ``max_seconds`` (workers stop taking new work).
    """
    lock = threading.Lock()
    position = [0]
    latencies: list[float] = []
    errors: list[BaseException] = []
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        client = system.clone()
        fn = getattr(client, op)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if position[0] >= len(args) or errors:
                        return
                    arg = args[position[0]]
                    position[0] += 1
                t0 = time.perf_counter()
                fn(arg)
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(elapsed)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, name=f"bench-{op}-{i}", daemon=True) for i in range(clients)]
    begin = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(max_seconds + TIMEOUT_S)
    wall = time.perf_counter() - begin
    if errors:
        raise BenchError(f"{system.name} {op} with {clients} clients failed: {errors[0]!r}") from errors[0]
    result = stats(latencies, wall)
    result["clients"] = clients
    return result


def sample(rng: random.Random, population: Sequence[Any], count: int) -> list[Any]:
    """``count`` draws with replacement (a request mix that is the same for both systems)."""
    return [population[rng.randrange(len(population))] for _ in range(count)]
