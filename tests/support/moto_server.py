"""moto in server mode for the contract suites: one process per test session (per xdist
worker), on a free 127.0.0.1 port, always stopped at the end of the session."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest

from infra.local.processes import free_port, start_moto


@pytest.fixture(scope="session")
def moto_server_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a running moto server (the local stack's launcher)."""
    with tempfile.TemporaryDirectory(prefix="moto-contract-") as log_dir:
        port = free_port()
        proc = start_moto("127.0.0.1", port, log_dir)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.stop()
