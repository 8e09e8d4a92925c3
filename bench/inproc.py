"""Our handler in this process, against the running emulators: floors and profiles.

- **Floor.** One request per operation is sent through ``chalice.test.Client`` (the same
  handler code ``chalice local`` runs) while every botocore API call and every OpenSearch
  request it makes is recorded. The recorded calls are then replayed, raw, with plain boto3
  and opensearch-py clients against the same moto and osmem-server, ``reps`` times; the
  floor is the median time of one replay of the whole sequence. So the floor is exactly the
  emulator work our handler asks for, measured in the same run, and ``ours - floor`` is our
  own code plus ``chalice local`` and HTTP.
- **Profile.** pyinstrument around ``reps`` in-process requests of one operation,
  summarised into the top functions by self time, the share per package, and our own
  (chalicelib) frames by cumulative time.
- **Bulk load.** ``register_many`` in-process, for ``bench/scale.py``'s sizes (not timed as an API).
"""

from __future__ import annotations

import contextlib
import copy
import json
import statistics
import sys
import time
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infra.local.stack import LocalStack, patched_environ  # noqa: E402


@dataclass
class Call:
    kind: str  # "aws" or "opensearch"
    target: str  # service name, or HTTP method
    name: str  # operation name, or URL path
    params: Any = None
    body: Any = None

    def label(self) -> str:
        return f"{self.target}.{self.name}" if self.kind == "aws" else f"opensearch {self.target} {self.name}"


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)
    active: bool = False


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    """Record every botocore API call and OpenSearch transport request made meanwhile."""
    from botocore.client import BaseClient
    from opensearchpy.transport import Transport

    rec = Recorder(active=True)
    orig_api = BaseClient._make_api_call
    orig_os = Transport.perform_request

    def api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        if rec.active:
            service = self.meta.service_model.service_name
            rec.calls.append(Call("aws", service, operation_name, copy.deepcopy(api_params)))
        return orig_api(self, operation_name, api_params)

    def os_call(self: Any, method: str, url: str, params: Any = None, body: Any = None, **kw: Any) -> Any:
        if rec.active:
            rec.calls.append(Call("opensearch", method, url, copy.deepcopy(params), copy.deepcopy(body)))
        return orig_os(self, method, url, params=params, body=body, **kw)

    setattr(BaseClient, "_make_api_call", api_call)  # noqa: B010 - patched for the recording only
    setattr(Transport, "perform_request", os_call)  # noqa: B010
    try:
        yield rec
    finally:
        rec.active = False
        setattr(BaseClient, "_make_api_call", orig_api)  # noqa: B010
        setattr(Transport, "perform_request", orig_os)  # noqa: B010


def _substitute(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {_substitute(k, old, new): _substitute(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, old, new) for v in value]
    return value


def our_request(op: str, arg: Any) -> tuple[str, str, Any]:
    """(method, path, JSON body) of our API for one operation of the shared workload."""
    if op == "register":
        return "POST", "/datasets", arg
    if op == "lookup":
        return "GET", f"/datasets/{arg['uuid']}", None
    if op in ("readme", "manifest"):
        return "GET", f"/datasets/{arg['uuid']}/{op}", None
    if op == "list_page":
        return "GET", f"/datasets?{urlencode({'page': arg, 'page_size': 10})}", None
    if op == "search_uuid":
        return "GET", f"/datasets?uuid={arg['uuid']}", None
    if op == "search_tag":
        return "GET", f"/datasets?tag={quote(arg)}&page_size=10", None
    if op == "search_text":
        return "GET", f"/datasets?q={quote(arg)}&page_size=10", None
    if op == "summary":
        return "GET", "/datasets/summary", None
    raise ValueError(f"unknown operation {op}")


class InProcess:
    """The Chalice app imported here, wired to ``stack``'s emulators (use as a context manager)."""

    def __init__(self, stack: LocalStack, username: str) -> None:
        self.stack = stack
        self.username = username
        self._exit = contextlib.ExitStack()
        self.client: Any = None
        self.headers: dict[str, str] = {}
        self._aws: dict[str, Any] = {}
        self._os: Any = None

    def __enter__(self) -> InProcess:
        self._exit.enter_context(patched_environ(self.stack.env))
        from chalice.test import Client

        from chalicelib.composition import install

        install(None)
        import app as app_module

        self.client = self._exit.enter_context(Client(app_module.app, stage_name="local", project_dir=str(REPO)))
        self.headers = {"Authorization": f"Bearer {self.stack.token(self.username)}"}
        return self

    def __exit__(self, *exc: object) -> None:
        from chalicelib.composition import install

        install(None)
        self._exit.close()

    def request(self, op: str, arg: Any) -> Any:
        method, path, body = our_request(op, arg)
        headers = dict(self.headers)
        payload = b""
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        resp = self.client.http.request(method, path, headers=headers, body=payload)
        if resp.status_code >= 300:
            raise RuntimeError(f"in-process {method} {path} answered {resp.status_code}: {resp.body[:300]!r}")
        return resp

    # -- floors -------------------------------------------------------------------------

    def capture(self, op: str, arg: Any, *, warm: bool = True) -> list[Call]:
        """The emulator calls one steady-state request of ``op`` makes (after a warm-up request)."""
        if warm and op != "register":
            self.request(op, arg)
        with recording() as rec:
            self.request(op, arg)
        return rec.calls

    def _aws_client(self, service: str) -> Any:
        if service not in self._aws:
            self._aws[service] = self.stack.client(service)
        return self._aws[service]

    def _os_client(self) -> Any:
        if self._os is None:
            from chalicelib.adapters.opensearch import make_client

            self._os = make_client(self.stack.opensearch_url)
        return self._os

    def _replay_one(self, call: Call) -> None:
        if call.kind == "aws":
            from botocore.exceptions import ClientError

            with contextlib.suppress(ClientError):  # e.g. a condition that fails on replay
                self._aws_client(call.target)._make_api_call(call.name, call.params)
        else:
            self._os_client().transport.perform_request(call.target, call.name, params=call.params, body=call.body)

    def replay(self, calls: Sequence[Call], reps: int, fresh_uuid_of: str | None = None) -> dict[str, Any]:
        """Time ``reps`` raw replays of ``calls`` (with a fresh uuid each time if ``fresh_uuid_of``)."""
        for call in calls:  # warm the clients' connections
            if fresh_uuid_of is None:
                self._replay_one(call)
        totals = []
        for _ in range(reps):
            seq = calls
            if fresh_uuid_of is not None:
                new = str(uuidlib.uuid4())
                seq = [Call(c.kind, c.target, c.name, _substitute(c.params, fresh_uuid_of, new), c.body) for c in calls]
            t0 = time.perf_counter()
            for call in seq:
                self._replay_one(call)
            totals.append((time.perf_counter() - t0) * 1000)
        totals.sort()
        return {
            "median_ms": round(statistics.median(totals), 2),
            "p95_ms": round(totals[min(len(totals) - 1, round(0.95 * (len(totals) - 1)))], 2),
            "reps": reps,
            "calls": [c.label() for c in calls],
        }

    def replay_once(self, calls: Sequence[Call]) -> float:
        """One raw replay of ``calls`` (clients already warm), in ms."""
        t0 = time.perf_counter()
        for call in calls:
            self._replay_one(call)
        return (time.perf_counter() - t0) * 1000

    def inproc_latency(self, op: str, args: Sequence[Any]) -> dict[str, Any]:
        """Our handler's latency without ``chalice local`` and HTTP (median over ``args``)."""
        lat = []
        for arg in args:
            t0 = time.perf_counter()
            self.request(op, arg)
            lat.append((time.perf_counter() - t0) * 1000)
        return {"median_ms": round(statistics.median(lat), 2), "n": len(lat)}

    # -- profiles -----------------------------------------------------------------------

    def profile(self, op: str, args: Sequence[Any], top: int = 12) -> dict[str, Any]:
        from pyinstrument import Profiler

        self.request(op, args[0])
        profiler = Profiler(interval=0.0005)
        profiler.start()
        begin = time.perf_counter()
        for arg in args:
            self.request(op, arg)
        wall = time.perf_counter() - begin
        profiler.stop()
        session = profiler.last_session
        if session is None:
            raise RuntimeError("pyinstrument recorded no session")
        summary = summarise(session.root_frame(), top=top)
        summary["requests"] = len(args)
        summary["inproc_ms_per_request"] = round(wall * 1000 / len(args), 2)
        summary["text"] = profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
        return summary


# -- pyinstrument summary ---------------------------------------------------------------


def _package(path: str | None) -> str:
    if not path or path.startswith("<"):
        return "<built-in>"
    p = path.replace("\\", "/")
    if "site-packages/" in p:
        return p.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    repo = str(REPO) + "/"
    if p.startswith(repo):
        rel = p[len(repo) :]
        return rel.removesuffix(".py") if rel.startswith("chalicelib/") else rel.split("/", 1)[0].removesuffix(".py")
    if "/lib/python3" in p:
        tail = p.split("/lib/python3", 1)[1].split("/", 1)[1]
        return "stdlib:" + tail.split("/", 1)[0].removesuffix(".py")
    return p


def summarise(root: Any, top: int = 12) -> dict[str, Any]:
    """Self time by function and by package, and cumulative time of our own frames."""
    total = float(root.time) or 1e-9
    by_function: dict[str, float] = defaultdict(float)
    by_package: dict[str, float] = defaultdict(float)
    ours: dict[str, float] = defaultdict(float)

    def walk(frame: Any, owner: str, seen_ours: frozenset[str]) -> None:
        if frame.is_synthetic:
            return
        pkg = _package(frame.file_path)
        if pkg == "<built-in>":
            pkg = owner  # C functions (socket recv, json, crypto) count for their Python caller's package
        self_time = sum(c.time for c in frame.children if c.is_synthetic)
        short = f"{frame.function} ({pkg}:{frame.line_no})" if frame.line_no else f"{frame.function} ({pkg})"
        by_function[short] += self_time
        by_package[pkg] += self_time
        ident = f"{frame.function} ({pkg}:{frame.line_no})"
        if (pkg.startswith("chalicelib") or pkg == "app") and ident not in seen_ours:
            ours[ident] += frame.time
            seen_ours = seen_ours | {ident}
        for child in frame.children:
            walk(child, pkg, seen_ours)

    walk(root, "<root>", frozenset())

    def ranked(values: dict[str, float], n: int) -> list[dict[str, Any]]:
        items = sorted(values.items(), key=lambda kv: kv[1], reverse=True)[:n]
        return [{"frame": k, "share": round(v / total, 3)} for k, v in items if v > 0]

    return {
        "top_self": ranked(by_function, top),
        "by_package": ranked(by_package, top),
        "our_frames_cumulative": ranked(ours, top),
    }


# -- bulk load for the sizes of bench/scale.py ----------------------------------------------


def register_many(stack: LocalStack, username: str, bodies: Sequence[dict[str, Any]], chunk: int = 200) -> float:
    """Register ``bodies`` in this process with the service's bulk path; seconds taken."""
    with patched_environ(stack.env):
        from chalicelib.catalogue.validation import parse_registration
        from chalicelib.composition import install, root

        install(None)
        service = root().catalogue
        user = root().access.principal(username)
        begin = time.monotonic()
        for i in range(0, len(bodies), chunk):
            regs = [parse_registration(b) for b in bodies[i : i + chunk]]
            for outcome in service.register_many(user, regs):
                if not isinstance(outcome, str):
                    raise RuntimeError(f"bulk registration failed: {outcome!r}")
        elapsed = time.monotonic() - begin
        install(None)
    return elapsed


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> float:
    """Poll ``predicate`` until true; seconds waited. Raises TimeoutError after ``timeout``."""
    begin = time.monotonic()
    while not predicate():
        if time.monotonic() - begin > timeout:
            raise TimeoutError(f"not reached after {timeout:.0f} s")
        time.sleep(interval)
    return time.monotonic() - begin
