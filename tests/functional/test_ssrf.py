"""OWASP API7 (issue 22): no URL a caller hands us is ever fetched, on any operation.

The catalogue stores URLs (a myMdC repository's transfer agent, an instrument's page, a
person's web site, dataset URIs) and fetches none of them: the only outbound requests it makes
are to the AWS services, the search engine and the token issuers' JWKS, all from configuration
(a token's ``iss``, ``jku`` and ``x5u`` are refused before any fetch: tests/unit/test_auth.py).
``POST /harvests`` reads upstream records from the allow-listed hosts of its configuration
only (none here): its ``source`` is refused before any name lookup (tests/unit/test_upstream.py).
This test holds every operation of the API description to that, so that a new route is
covered without changing it: bodies and queries generated from each operation's schemas
(schemathesis, a fixed seed), made to pass the rules no schema states as the mass assignment
test does, with every property or parameter that names a place (:data:`URLISH`) set to an
address of the cloud's metadata service, loopback, a private network, a non-HTTP scheme, or
a name to resolve. The app runs in process over moto, so it needs no socket at all: any
connection or name lookup attempted while the operations run is a request we were made to send.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from schemathesis.generation import GenerationMode

from tests.functional.conftest import Api
from tests.functional.test_mass_assignment import (
    EXAMPLES,
    in_world,
    path_parameters,
    repaired,
    world,  # noqa: F401 (the module's world: a fixture)
)
from tests.functional.test_schemathesis import _fuzz, operations
from tests.support.chalice_transport import BASE_URL, session_for

# names of properties and query parameters that say "a place": what a caller could hope we fetch
URLISH = re.compile(
    r"url|uri|link|href|endpoint|host|server|callback|webhook|jwks|issuer|source|mount_point|path", re.I
)
TARGETS = (
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",  # the instance metadata service
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://127.0.0.1:9200/_cat/indices",
    "http://localhost:5000/moto-api/reset",
    "http://10.0.0.1/admin",
    "http://[::1]:8000/",
    "http://0x7f000001/",
    "http://2130706433/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "http://user@127.0.0.1@example.org/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "s3://169.254.169.254/x",
)
PERSONAS = ("admin", "champion", "daq")  # who may store most: administrators, owners, myMdC's registrar


class OutboundAttempt(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every socket connection and name lookup, refused and recorded."""
    attempts: list[str] = []

    def refuse(what: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{what}{args[1:] if what.startswith('socket.') else args}")
            raise OutboundAttempt(f"outbound {what} attempted: {args}")

        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
    yield attempts


def placed(value: Any, counter: list[int]) -> Any:
    """``value`` with every string under a :data:`URLISH` name set to the next target."""
    if isinstance(value, list):
        return [placed(item, counter) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, nested in value.items():
        if URLISH.search(key) and isinstance(nested, str):
            out[key] = TARGETS[counter[0] % len(TARGETS)]
            counter[0] += 1
        else:
            out[key] = placed(nested, counter)
    return out


def test_the_socket_guard_sees_a_fetch(no_network: list[str]) -> None:
    """The guard is where this test looks: a fetch of a target is seen and refused."""
    import urllib.request

    with pytest.raises(Exception):  # noqa: B017 (urllib wraps the guard's error)
        urllib.request.urlopen(TARGETS[0], timeout=1)
    assert no_network


def test_no_operation_fetches_a_url_it_is_given(world: tuple[Api, dict[str, str]], no_network: list[str]) -> None:  # noqa: F811 (the fixture)
    api, ids = world
    session, _ = session_for(api)
    placed_in: dict[str, int] = {}
    failures: list[str] = []
    for persona in PERSONAS:
        headers = {"Authorization": f"Bearer {api.mint.access_token(persona)}", "X-User-Email": "me@example.org"}
        for op in operations():
            key = f"{op.method.upper()} {op.path}"

            def call(case: Any, persona: str, headers: dict[str, str], key: str) -> None:
                counter = [0]
                if case.query:
                    case.query = placed(dict(case.query), counter)
                if case.media_type in (None, "application/json"):
                    case.body = placed(repaired(case.body, persona), counter)
                if not counter[0]:
                    return
                placed_in[key] = placed_in.get(key, 0) + counter[0]
                response = case.call(base_url=BASE_URL, session=session, headers=headers)
                assert response.status_code < 500, (key, response.status_code, response.text[:300])

            bound = in_world(call, path_parameters(op.path, persona, ids), persona=persona, headers=headers, key=key)
            failures += _fuzz(op, GenerationMode.POSITIVE, bound, max_examples=EXAMPLES)
    assert not no_network, no_network[:5]
    assert not failures, "\n".join(failures)
    # the places reached every kind of operation that takes one (myMdC's pages and agents,
    # the Data Tracker's profiles, dataset URIs, base URIs, the dtool routes' queries)
    assert len(placed_in) >= 30, sorted(placed_in)
