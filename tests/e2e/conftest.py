"""End-to-end fixtures: one real local stack (moto server, osmem-server, runner, chalice local) per session.

Every test in this directory is marked ``e2e``. Each pytest-xdist worker starts its own
stack on free ports, so ``-n 2`` works. Persona fixtures build on ``stack.add_user`` and
``stack.token``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra.local.processes import free_port
from infra.local.stack import LocalStack
from tests.e2e.browser import chromium  # noqa: F401  (the browser tests' fixture)

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A conftest hook sees the whole session's items: mark only this directory's tests.
    for item in items:
        if _HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    for _ in range(100):  # bounded: the OS hands out distinct ephemeral ports almost always
        port = free_port()
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("could not find free ports on 127.0.0.1")


@contextmanager
def own_stack(work_dir: Path) -> Iterator[LocalStack]:
    """A local stack on free ports, started with the admin user ``admin``; stopped at the end."""
    api, moto, opensearch, token, web = _free_ports(5)
    local = LocalStack(
        api_port=api,
        moto_port=moto,
        opensearch_port=opensearch,
        token_port=token,
        web_port=web,
        work_dir=work_dir,
    )
    try:
        local.start()
        local.add_user("admin", admin=True)
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The running stack; ``stack.add_user(name, admin=...)`` then ``stack.token(name)``.

    The user ``admin`` (a catalogue admin) exists from the start.
    """
    with own_stack(tmp_path_factory.mktemp("local-stack")) as local:
        yield local


@pytest.fixture(scope="session")
def facility_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack for the tests over European XFEL's fixture records (myMdC's own test suite
    counts them): no other test's proposals, instruments or runs are in it. Started only
    when such a test runs."""
    with own_stack(tmp_path_factory.mktemp("facility-stack")) as local:
        yield local
