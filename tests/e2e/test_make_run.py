"""``python -m infra.local.stack`` (what ``make run`` runs) in a child process, as a user runs
it: the demo stack comes up on the given ports, answers, prints its banner and writes its
state; Ctrl-C (SIGINT) stops every process it started, removes the state and exits 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from infra.local.processes import REPO_ROOT, free_port
from infra.local.stack import PORT_ENV

START_S = 180  # the stack and its demo data on 2 busy cores
STOP_S = 60


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_make_run_serves_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(PORT_ENV):  # bounded in practice: the OS picks distinct ports
        ports = {name: free_port() for name in PORT_ENV}
    env = {**os.environ, **{PORT_ENV[name]: str(port) for name, port in ports.items()}}
    work = tmp_path / "stack"
    out = (tmp_path / "stdout").open("w")
    child = subprocess.Popen(
        [sys.executable, "-m", "infra.local.stack", "--datasets", "2", "--work-dir", str(work)],
        cwd=REPO_ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the cleanup below can reach its children
    )
    try:
        deadline = time.monotonic() + START_S
        while not (work / "state.json").exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        log = (tmp_path / "stdout").read_text()
        assert (work / "state.json").exists(), f"no state after {START_S} s (exit {child.poll()}):\n{log[-3000:]}"
        state = json.loads((work / "state.json").read_text())
        assert state["api_url"] == f"http://127.0.0.1:{ports['api']}"
        assert requests.get(f"{state['api_url']}/health", timeout=10).status_code == 200
        for port in ports.values():
            assert _listening(port), (port, log[-3000:])

        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=STOP_S) == 0
        log = (tmp_path / "stdout").read_text()
        assert "SIGINT received, stopping the local stack" in log
        assert not (work / "state.json").exists()
        deadline = time.monotonic() + 10  # sockets close as the children exit
        while any(_listening(p) for p in ports.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [name for name, port in ports.items() if _listening(port)]
    finally:
        if child.poll() is None:  # it did not stop: take down its whole group
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
        out.close()
