"""Run the real dserver client, dtool-lookup-api 0.10.3, unchanged, against the local stack.

The client reads its server from ``DSERVER_URL`` (environment or ``~/.config/dtool/dtool.json``),
its token *only* from that file (``DSERVER_TOKEN``), checks the token with ``GET /config/info``
before every call and otherwise POSTs ``{"username", "password"}`` to
``DSERVER_TOKEN_GENERATOR_URL`` (``../shared/research/dserver.md`` §4). Its configuration is
module state read through ``HOME``, so each scenario runs in a subprocess with a temporary
``HOME``: :func:`run_client` hands the subprocess a list of steps (calls of the client's
synchronous API, and switches of the token in ``dtool.json``) and gets one :class:`Outcome`
per call back as JSON.

The subprocess watches the wire without changing the client: ``aiohttp.ClientSession._request``
is wrapped to record each request's method, path, status and the start of the answer, which
the failure messages show.

This file is also the subprocess's program (run by path, standard library and the client only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_RELPATH = Path(".config/dtool/dtool.json")


@dataclass(frozen=True)
class Outcome:
    """What one client call returned (``value``) or raised (``error``: ``"Type: message"``),
    the ``pagination``/``sorting`` dicts it filled, the HTTP exchanges it made, and the
    deprecation warnings and log warnings it emitted."""

    fn: str
    value: Any
    error: str | None
    pagination: dict[str, Any] = field(default_factory=dict)
    sorting: dict[str, Any] = field(default_factory=dict)
    http: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        """The status of the call's own request (the last one; the first is the token check)."""
        return self.http[-1]["status"] if self.http else None

    def statuses(self) -> list[tuple[str, str, int]]:
        return [(h["method"], h["path"], h["status"]) for h in self.http]

    def __str__(self) -> str:
        wire = "\n".join(f"    {h['method']} {h['path']} -> {h['status']} {h['body'][:300]}" for h in self.http)
        shown = json.dumps(self.value, default=repr)
        shown = shown if len(shown) < 1500 else shown[:1500] + "..."
        return f"{self.fn}: value={shown} error={self.error}\n{wire}"


def call(key: str, fn: str, *args: Any, pages: bool = False, sorts: bool = False, **kwargs: Any) -> dict[str, Any]:
    """A step calling ``dtool_lookup_api.synchronous.<fn>(*args, **kwargs)``, its outcome
    stored under ``key``; ``pages``/``sorts`` pass fresh ``pagination``/``sorting`` dicts for
    the client to fill."""
    return {"call": fn, "key": key, "args": list(args), "kwargs": kwargs, "paged": pages, "sorted": sorts}


def as_user(username: str) -> dict[str, Any]:
    """A step writing ``username``'s token (from ``run_client(tokens=...)``) into dtool.json."""
    return {"as": username}


def read_config(key: str) -> dict[str, Any]:
    """A step storing the content of dtool.json under ``key`` (as an :class:`Outcome` value)."""
    return {"read_config": key}


def run_client(
    home: Path,
    steps: list[dict[str, Any]],
    *,
    config: dict[str, Any],
    tokens: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180.0,
) -> dict[str, Outcome]:
    """Run ``steps`` in one subprocess whose ``HOME`` is ``home`` and whose dtool.json starts
    as ``config``; ``env`` is added to a minimal environment (no ``DSERVER_*`` leaks in)."""
    path = home / CONFIG_RELPATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config))
    child_env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        **(env or {}),
    }
    program = {"steps": steps, "tokens": tokens or {}, "config": config}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        input=json.dumps(program),
        env=child_env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RuntimeError(f"client subprocess failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    raw = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: Outcome(**v) for k, v in raw.items()}


# -- the subprocess ------------------------------------------------------------------------


def _child() -> None:  # pragma: no cover - runs in the subprocess
    import inspect
    import logging
    import warnings
    from urllib.parse import urlsplit

    import aiohttp
    import dtool_lookup_api.synchronous as dl
    from dtool_lookup_api.core.config import CONFIG_PATH, Config

    program = json.load(sys.stdin)
    Config.interactive = False  # never prompt for a username or password

    http: list[dict[str, Any]] = []
    original = aiohttp.ClientSession._request

    async def traced(self: Any, method: str, str_or_url: Any, **kw: Any) -> Any:
        response = await original(self, method, str_or_url, **kw)
        body = await response.read()  # aiohttp keeps it: the client's json()/text() read it again
        url = urlsplit(str(str_or_url))
        http.append(
            {
                "method": method,
                "path": url.path + (f"?{url.query}" if url.query else ""),
                "status": response.status,
                "body": body[:600].decode("utf-8", "replace"),
            }
        )
        return response

    aiohttp.ClientSession._request = traced  # type: ignore[method-assign]

    logs: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            logs.append(record.getMessage())

    client_log = logging.getLogger("dtool_lookup_api")
    client_log.addHandler(_Keep(level=logging.WARNING))
    client_log.propagate = False

    def write_config(values: dict[str, Any]) -> None:
        Path(CONFIG_PATH).write_text(json.dumps(values))

    results: dict[str, Any] = {}
    for step in program["steps"]:
        if "as" in step:
            current = json.loads(Path(CONFIG_PATH).read_text())
            write_config({**current, "DSERVER_TOKEN": program["tokens"][step["as"]]})
            continue
        if "read_config" in step:
            text = Path(CONFIG_PATH).read_text()
            results[step["read_config"]] = {"fn": "read_config", "value": json.loads(text), "error": None}
            continue
        kwargs = dict(step["kwargs"])
        pagination: dict[str, Any] = {}
        sorting: dict[str, Any] = {}
        if step["paged"]:
            kwargs["pagination"] = pagination
        if step["sorted"]:
            kwargs["sorting"] = sorting
        first_http, first_log = len(http), len(logs)
        error = None
        value: Any = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = getattr(dl, step["call"])(*step["args"], **kwargs)
            except Exception as exc:  # reported to the test as data
                error = f"{type(exc).__name__}: {exc}"
        if inspect.iscoroutine(value):  # deprecated config()/versions() forget to await
            value.close()
            value = {"__coroutine__": value.__qualname__}
        results[step["key"]] = {
            "fn": step["call"],
            "value": value,
            "error": error,
            "pagination": pagination,
            "sorting": sorting,
            "http": http[first_http:],
            "warnings": [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)],
            "logs": logs[first_log:],
        }
    sys.stdout.write("\n" + json.dumps(results, default=repr) + "\n")


if __name__ == "__main__":
    _child()
