"""Child processes of the local stack: start, wait until ready, stop for sure.

Every process is started in its own session (so its own process group), with stdin
from ``/dev/null``, stdout and stderr appended to one log file, and is stopped by
signalling the whole group (SIGTERM, a bounded wait, then SIGKILL). Three safety nets
make sure nothing outlives the launcher:

- :meth:`ManagedProcess.stop` is idempotent and called by the owner (``LocalStack.stop``);
- an :mod:`atexit` hook stops every process still running at interpreter exit;
- on Linux each child gets ``PR_SET_PDEATHSIG`` = SIGTERM, so it is signalled even when
  the launcher is killed with SIGKILL or leaves through ``os._exit`` (pytest-timeout's
  thread method does that), where ``atexit`` does not run. Trap: the kernel sends it when
  the *thread* that forked the child exits, so start processes from a long-lived thread
  (the main thread, as ``LocalStack`` and the pytest fixture do).

osmem-server additionally watches ``-parent-pid`` itself (see :func:`start_osmem`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import http.client
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

Probe = Callable[[], bool]


class PortInUse(Exception):
    """A port the local stack needs is already taken by another process."""

    def __init__(self, host: str, port: int, wanted_by: str, env_var: str | None = None) -> None:
        self.host = host
        self.port = port
        self.wanted_by = wanted_by
        self.env_var = env_var
        hint = f"Stop whatever listens there (e.g. a previous `make run`; see `ss -ltnp 'sport = :{port}'`)"
        hint += f", or pick another port with {env_var}=<port>." if env_var else "."
        super().__init__(f"Port {host}:{port} is already in use, but {wanted_by} needs it. {hint}")


class ProcessStartError(RuntimeError):
    """A child process exited or did not become ready in time."""


def port_in_use(host: str, port: int) -> bool:
    """True when ``host:port`` cannot be bound now (something listens on it).

    Binds with ``SO_REUSEADDR``, as the servers themselves do (werkzeug, http.server, Go),
    so sockets lingering in TIME_WAIT from a previous run do not count as "in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it; racy by nature, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_ok(host: str, port: int, path: str, *, expect: Sequence[int] | None = None, timeout: float = 1.0) -> bool:
    """One GET; True when it answers (with a status in ``expect`` if given).

    Uses :mod:`http.client` directly on purpose: ``requests``/``urllib`` honour
    ``HTTP_PROXY`` and could send a loopback probe to a proxy.
    """
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        status = conn.getresponse().status
    except OSError:
        return False
    finally:
        conn.close()
    return expect is None or status in expect


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


_LIVE: set[ManagedProcess] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all_at_exit() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        with contextlib.suppress(Exception):
            proc.stop(timeout=3.0)


atexit.register(_stop_all_at_exit)


class ManagedProcess:
    """One child process in its own process group, with a log file.

    ``ready_probe`` is the readiness check the factories below attach; pass it (or any
    other probe) to :meth:`wait_ready`.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        ready_probe: Probe | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = str(cwd) if cwd is not None else None
        self.log_path = Path(log_path) if log_path is not None else None
        self.ready_probe = ready_probe
        self._popen: subprocess.Popen[bytes] | None = None
        self._stopped = False

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid})"

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen is not None else None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen is not None else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> ManagedProcess:
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was already started")
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child, closed below
        else:
            log = None
        try:
            self._popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log if log is not None else subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() signals the group
                preexec_fn=_set_pdeathsig,  # noqa: PLW1509 - only prctl, no locks taken
            )
        finally:
            if log is not None:
                log.close()  # the child holds its own descriptor
        with _LIVE_LOCK:
            _LIVE.add(self)
        return self

    def wait_ready(self, probe: Probe | None = None, timeout: float = 30.0, interval: float = 0.1) -> float:
        """Poll ``probe`` until it returns True; return the seconds it took.

        Raises :class:`ProcessStartError` when the process exits first or ``timeout``
        passes (the message ends with the tail of the log).
        """
        probe = probe or self.ready_probe
        if probe is None:
            raise ValueError("no readiness probe given")
        if self._popen is None:
            raise RuntimeError(f"{self.name} was not started")
        started = time.monotonic()
        deadline = started + timeout
        while True:
            if self._popen.poll() is not None:
                raise ProcessStartError(
                    f"{self.name} exited with code {self._popen.returncode} before it was ready{self._log_hint()}"
                )
            with contextlib.suppress(Exception):
                if probe():
                    return time.monotonic() - started
            if time.monotonic() >= deadline:
                raise ProcessStartError(f"{self.name} was not ready after {timeout:.0f} s{self._log_hint()}")
            time.sleep(interval)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, wait up to ``timeout``, then SIGKILL it. Idempotent."""
        popen = self._popen
        if popen is None or self._stopped:
            return
        self._stopped = True
        try:
            if popen.poll() is None:
                self._signal_group(popen.pid, signal.SIGTERM)
                try:
                    popen.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(popen.pid, signal.SIGKILL)
                    popen.wait(timeout=5.0)
            # Stragglers in the group (children of the child) get a final SIGKILL.
            self._signal_group(popen.pid, signal.SIGKILL)
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)

    def kill(self, timeout: float = 5.0) -> None:
        """SIGKILL the process group at once, no SIGTERM first (fault drills: a crash, not a
        clean stop), and reap it. Idempotent; afterwards the process counts as stopped."""
        popen = self._popen
        if popen is None or self._stopped:
            return
        self._stopped = True
        try:
            self._signal_group(popen.pid, signal.SIGKILL)
            popen.wait(timeout=timeout)
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _log_hint(self) -> str:
        tail = self.log_tail()
        where = f" (log: {self.log_path})" if self.log_path else ""
        return f"{where}\n--- last lines ---\n{tail}" if tail else where


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The launcher's environment without AWS_* and CATALOGUE_* variables, plus ``extra``.

    Trap: an inherited AWS_PROFILE, AWS_SESSION_TOKEN or AWS_ENDPOINT_URL would point the
    children at a real account or the wrong endpoint, so the stack passes its own.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CATALOGUE_"))}
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update(extra)
    return env


def _check_port(host: str, port: int, wanted_by: str, env_var: str | None) -> None:
    if port_in_use(host, port):
        raise PortInUse(host, port, wanted_by, env_var)


def _bin(name: str) -> str:
    """An executable of the running virtualenv (next to ``sys.executable``)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return str(REPO_ROOT / ".venv" / "bin" / name)


def osmem_binary() -> Path:
    """The osmem-server binary bundled in the installed ``osmem_server`` package."""
    spec = importlib.util.find_spec("osmem_server")
    if spec is None or spec.origin is None:
        raise ProcessStartError("the osmem-server package is not installed (pip install osmem-server)")
    binary = Path(spec.origin).parent / "bin" / "osmem-server"
    if not binary.exists():
        raise ProcessStartError(f"osmem-server binary not found at {binary}")
    return binary


def start_moto(
    host: str, port: int, log_dir: str | os.PathLike[str], *, wait: bool = True, timeout: float = 30.0
) -> ManagedProcess:
    """moto in server mode (atomic DynamoDB writes); ready when ``GET /moto-api/`` answers."""
    _check_port(host, port, "moto (AWS emulator)", "CATALOGUE_MOTO_PORT")
    proc = ManagedProcess(
        "moto",
        # moto's own server, with DynamoDB writes serialized (see infra/local/moto_server.py)
        [sys.executable, "-m", "infra.local.moto_server", "-H", host, "-p", str(port)],
        # moto's Step Functions sends its SQS task messages to localhost:$MOTO_PORT (default 5000)
        env=child_env({"MOTO_PORT": str(port)}),
        cwd=REPO_ROOT,
        log_path=Path(log_dir) / "moto.log",
        ready_probe=lambda: http_ok(host, port, "/moto-api/", expect=[200]),
    ).start()
    if wait:
        _wait_or_stop(proc, timeout)
    return proc


def start_osmem(
    host: str, port: int, log_dir: str | os.PathLike[str], *, wait: bool = True, timeout: float = 30.0
) -> ManagedProcess:
    """osmem-server (in-memory OpenSearch); ready when ``GET /`` answers.

    Trap: osmem-server exits at once ("exiting: stdin closed") when its stdin is closed or
    ``/dev/null`` — always the case here — unless started with ``-no-stdin-watch``;
    ``-parent-pid`` makes it exit when this launcher process disappears instead.
    """
    _check_port(host, port, "osmem-server (OpenSearch emulator)", "CATALOGUE_OPENSEARCH_PORT")
    proc = ManagedProcess(
        "osmem",
        [str(osmem_binary()), "-addr", f"{host}:{port}", "-no-stdin-watch", "-parent-pid", str(os.getpid())],
        env=child_env(),
        log_path=Path(log_dir) / "osmem.log",
        ready_probe=lambda: http_ok(host, port, "/", expect=[200]),
    ).start()
    if wait:
        _wait_or_stop(proc, timeout)
    return proc


def start_chalice_local(
    host: str,
    port: int,
    env: Mapping[str, str],
    log_dir: str | os.PathLike[str],
    *,
    project_dir: str | os.PathLike[str] = REPO_ROOT,
    wait: bool = True,
    timeout: float = 60.0,
) -> ManagedProcess:
    """``chalice local`` from the project root; ready when ``GET /health`` answers 200.

    Trap: ``--no-autoreload`` is required. With autoreload, files written into the project
    (``.hypothesis/``, ``.schemathesis/``, logs) restart the server in the middle of a run,
    and the reloader forks a second process.
    """
    _check_port(host, port, "chalice local (the catalogue API)", "CATALOGUE_API_PORT")
    proc = ManagedProcess(
        "chalice-local",
        # chalice's own CLI, with TCP_NODELAY on its sockets (see infra/local/chalice_local.py)
        [
            sys.executable,
            "-m",
            "infra.local.chalice_local",
            "local",
            "--host",
            host,
            "--port",
            str(port),
            "--no-autoreload",
            "--stage",
            "local",
        ],
        env=child_env(env),
        cwd=project_dir,
        log_path=Path(log_dir) / "chalice-local.log",
        ready_probe=lambda: http_ok(host, port, "/health", expect=[200]),
    ).start()
    if wait:
        _wait_or_stop(proc, timeout)
    return proc


RUNNER_READY_MARKER = "local runner ready"


def start_runner(
    env: Mapping[str, str],
    log_dir: str | os.PathLike[str],
    *,
    project_dir: str | os.PathLike[str] = REPO_ROOT,
    wait: bool = True,
    timeout: float = 60.0,
) -> ManagedProcess:
    """``python -m infra.local.runner`` (the stream pumps); ready when it logs its marker."""
    log_path = Path(log_dir) / "runner.log"

    def ready() -> bool:
        return log_path.exists() and RUNNER_READY_MARKER in log_path.read_text(errors="replace")

    proc = ManagedProcess(
        "runner",
        [sys.executable, "-m", "infra.local.runner"],
        env=child_env(env),
        cwd=project_dir,
        log_path=log_path,
        ready_probe=ready,
    ).start()
    if wait:
        _wait_or_stop(proc, timeout)
    return proc


def _wait_or_stop(proc: ManagedProcess, timeout: float) -> None:
    try:
        proc.wait_ready(timeout=timeout)
    except BaseException:
        proc.stop()
        raise
