"""Launch the peer, dtool-lookup-server 0.18 (+ Mongo search/retrieve plugins), on 127.0.0.1.

    with PeerServer(scratch=Path("bench/.peer")) as peer:   # builds its virtualenv on first use
        requests.get(f"{peer.url}/dataset/summary", headers={"Authorization": f"Bearer {peer.token}"})

What it does (no manual step; shared/research/perf-anchors.md section 1 explains why):

- ``scratch/venv``: a virtualenv of its own, created with this interpreter's ``venv`` module
  and filled by pip from PyPI with ``requirements/build.lock``, then ``bench/peer.lock``
  (hash-checked, ``--no-deps``: nothing resolved at install time; ``make lock`` makes the
  lock from ``bench/peer.in``). Rebuilt only when a lock changes (their hash is kept in the
  virtualenv).
- ``nx-27017`` (MongoDB wire protocol on SQLite) on a free port, ``--data-dir`` mode (one
  SQLite file per logical database: in single-file mode two collections named ``datasets``
  collide), fresh data directory for every start.
- the peer's one-off set-up (``peer_app.py setup``: SQLite tables, users, base URI,
  permissions, an RS256 token) with a freshly generated key pair.
- gunicorn with ``workers`` workers (2 by default) serving ``peer_app:app`` on a free port.

Every process is a :class:`infra.local.processes.ManagedProcess`: own process group, log
file, stopped by :meth:`PeerServer.stop` (also at interpreter exit and, through
PR_SET_PDEATHSIG, when this process dies).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from infra.local.processes import ManagedProcess, ProcessStartError, free_port, http_ok  # noqa: E402

LOG = logging.getLogger("bench.peer")
HOST = "127.0.0.1"
# installed in this order: the build tools first, so the peer's sdists build without isolation
LOCKS = (BENCH.parent / "requirements" / "build.lock", BENCH / "peer.lock")
APP_MODULE = BENCH / "peer_app.py"
PIP_TIMEOUT_S = 900
SETUP_TIMEOUT_S = 120


def _tcp_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ensure_venv(venv: Path, locks: tuple[Path, ...] = LOCKS) -> Path:
    """The peer's virtualenv at ``venv``, (re)built from ``locks`` when they changed; its python."""
    digest = hashlib.sha256(b"".join(lock.read_bytes() for lock in locks)).hexdigest()
    stamp = venv / ".bench-requirements.sha256"
    python = venv / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text().strip() == digest:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    LOG.info("building the peer's virtualenv in %s (pip, from PyPI; takes a minute)", venv)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    install = [*pip, "install", "--require-hashes", "--no-deps", "--no-build-isolation"]
    log = venv / "pip.log"
    with open(log, "wb") as out:
        for lock in locks:
            done = subprocess.run(
                [*install, "-r", str(lock)], stdout=out, stderr=subprocess.STDOUT, timeout=PIP_TIMEOUT_S, check=False
            )
            if done.returncode != 0:
                break
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise ProcessStartError(f"pip could not build the peer's virtualenv (log: {log}):\n{tail}")
    stamp.write_text(digest + "\n")
    return python


class PeerServer:
    """nx-27017 + dtool-lookup-server under gunicorn. Attributes once started: ``url``, ``token``.

    A subclass serves another dtool server the same way by changing the class attributes
    (``bench/dserver_peer.py``: dservercore 0.22)."""

    label = "peer"
    locks: tuple[Path, ...] = LOCKS
    app_module = APP_MODULE
    wsgi_target = "peer_app:app"  # what gunicorn serves, from bench/
    packages: tuple[str, ...] = (
        "dtool-lookup-server",
        "dtool-lookup-server-search-plugin-mongo",
        "dtool-lookup-server-retrieve-plugin-mongo",
        "nx-27017",
        "pymongo",
        "flask",
        "gunicorn",
    )

    def __init__(
        self,
        scratch: Path,
        *,
        workers: int = 2,
        username: str = "bench",
        base_uri: str = "s3://bench-data",
        ready_timeout: float = 60.0,
        run_dir: Path | None = None,
    ) -> None:
        """``run_dir`` (default ``scratch/run``) holds the run's data and logs and is emptied at
        each start: two servers running at once need two (the virtualenv may be shared)."""
        self.scratch = scratch.resolve()
        self.workers = workers
        self.username = username
        self.base_uri = base_uri
        self.ready_timeout = ready_timeout
        self.url = ""
        self.token = ""
        self.mongo_port = 0
        self.api_port = 0
        self._procs: list[ManagedProcess] = []
        self._run_dir = run_dir.resolve() if run_dir is not None else self.scratch / "run"

    def __enter__(self) -> PeerServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def processes(self) -> list[ManagedProcess]:
        return list(self._procs)

    def _env(self) -> dict[str, str]:
        run = self._run_dir
        mongo = f"mongodb://{HOST}:{self.mongo_port}/"
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        env = {k: v for k, v in os.environ.items() if k in keep}
        env.update(
            {
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(BENCH),
                "FLASK_APP": str(self.app_module),
                "SECRET_KEY": "bench-only",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{run / 'dls.db'}",
                "JWT_PRIVATE_KEY_FILE": str(run / "jwt_key"),
                "JWT_PUBLIC_KEY_FILE": str(run / "jwt_key.pub"),
                "SEARCH_MONGO_URI": mongo,
                "SEARCH_MONGO_DB": "dtool_info",
                "SEARCH_MONGO_COLLECTION": "datasets",
                "RETRIEVE_MONGO_URI": mongo,
                "RETRIEVE_MONGO_DB": "dtool_info",
                "RETRIEVE_MONGO_COLLECTION": "datasets",
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
            }
        )
        return env

    def _write_keys(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self._run_dir / "jwt_key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
        (self._run_dir / "jwt_key.pub").write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    def start(self) -> PeerServer:
        if self._procs:
            raise RuntimeError(f"the {self.label} is already started")
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        begin = time.monotonic()
        python = ensure_venv(self.scratch / "venv", self.locks)
        bin_dir = python.parent
        if self._run_dir.exists():
            shutil.rmtree(self._run_dir)
        (self._run_dir / "nxdata").mkdir(parents=True)
        self._write_keys()
        self.mongo_port = free_port(HOST)
        env = self._env()

        nx = ManagedProcess(
            "nx-27017",
            [
                str(bin_dir / "nx-27017"),
                "--host",
                HOST,
                "-p",
                str(self.mongo_port),
                "--data-dir",
                str(self._run_dir / "nxdata"),
                "--log-file",
                str(self._run_dir / "nx-internal.log"),
                "--pid-file",
                str(self._run_dir / "nx.pid"),
            ],
            env=env,
            cwd=self._run_dir,
            log_path=self._run_dir / "nx.log",
            ready_probe=lambda: _tcp_open(HOST, self.mongo_port),
        ).start()
        self._procs.append(nx)
        nx.wait_ready(timeout=self.ready_timeout)

        setup = subprocess.run(
            [str(python), str(self.app_module), "setup", self.username, self.base_uri],
            env=env,
            cwd=self._run_dir,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT_S,
            check=False,
        )
        if setup.returncode != 0:
            raise ProcessStartError(f"{self.label} set-up failed ({setup.returncode}):\n{setup.stderr[-3000:]}")
        self.token = setup.stdout.strip().splitlines()[-1]

        self.api_port = free_port(HOST)
        api = ManagedProcess(
            "gunicorn",
            [
                str(bin_dir / "gunicorn"),
                "-w",
                str(self.workers),
                "-b",
                f"{HOST}:{self.api_port}",
                "--timeout",
                "120",
                "--chdir",
                str(BENCH),
                self.wsgi_target,
            ],
            env=env,
            cwd=self._run_dir,
            log_path=self._run_dir / "gunicorn.log",
            ready_probe=lambda: http_ok(HOST, self.api_port, "/config/versions", expect=[200]),
        ).start()
        self._procs.append(api)
        api.wait_ready(timeout=self.ready_timeout)
        self.url = f"http://{HOST}:{self.api_port}"
        LOG.info(
            "%s up in %.1f s at %s (nx-27017 on %d)", self.label, time.monotonic() - begin, self.url, self.mongo_port
        )

    def stop(self) -> None:
        """Stop gunicorn, then nx-27017. Idempotent."""
        while self._procs:
            proc = self._procs.pop()
            try:
                proc.stop()
            except Exception:
                LOG.exception("stopping %s failed", proc.name)

    def versions(self) -> dict[str, str]:
        """Installed versions of the peer's main packages (pip metadata of its virtualenv)."""
        python = self.scratch / "venv" / "bin" / "python"
        code = (
            f"import importlib.metadata as m, json; print(json.dumps({{p: m.version(p) for p in {self.packages!r}}}))"
        )
        out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=True)
        import json

        return dict(json.loads(out.stdout))
