"""T4 (issue 22): schemathesis over the committed API description, for every persona.

Every operation of ``chalicelib/openapi/openapi.json`` is fuzzed with data that fits its
description (positive) and data that does not (negative), as admin, champion, reader,
outsider and anonymous, against the app in process (the functional tier's world, shared
by the module so that records made by one case are there for the next). Each answer is held
to the checks below and to the tier's own conformance check (tests/support/openapi_conformance).

Bounded in ``make test`` (a fixed seed, :data:`EXAMPLES` per operation, mode and persona;
the personas who may not act, outsider and anonymous, get positive data only: their refusal
comes before any validation, which tests/functional/test_route_walk.py checks for every
operation with bodies that do not fit); ``make soak`` (CATALOGUE_SOAK=1) runs 50 per operation
and both modes for everyone. ``CATALOGUE_FUZZ_EXAMPLES`` overrides the count.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import schemathesis
import schemathesis.specs.openapi.checks
import schemathesis.transport.requests as schemathesis_requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CHECKS
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation

from chalicelib.composition import root
from chalicelib.config import Settings
from chalicelib.openapi.document import load
from tests.functional.conftest import BUCKET_A, Api, add_personas, running_api
from tests.support.chalice_transport import BASE_URL, ChaliceTransport, session_for
from tests.support.data import registration
from tests.support.dois import install_dois
from tests.support.tokens import TokenMint
from tests.support.user_pool import install_user_pool

SOAK = os.environ.get("CATALOGUE_SOAK") == "1"
EXAMPLES = int(os.environ.get("CATALOGUE_FUZZ_EXAMPLES") or (50 if SOAK else 3))
SEED = 20261207
PERSONAS = ("admin", "champion", "reader", "outsider", None)  # None: no token at all
BOTH_MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
# make test: who may act nowhere is fuzzed with positive data only (see the module docstring)
MODES = {
    persona: BOTH_MODES if SOAK or persona in ("admin", "champion", "reader") else BOTH_MODES[:1]
    for persona in PERSONAS
}
# Every check schemathesis 4.32 has, but three: unsupported_method (API Gateway answers
# undeclared methods itself, not the app), use_after_free and ensure_resource_availability
# (they follow stateful links, which the description does not declare). Named, not taken from
# CHECKS.get_all(): that holds only not_a_server_error until the OpenAPI checks are imported.
USED_CHECKS = CHECKS.get_by_names(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "missing_required_header",
        "allow_header_conformance",
        "ignored_auth",
        "object_level_authorization",
    ]
)
WITHOUT_NEGATIVE_REJECTION = [check for check in USED_CHECKS if check.__name__ != "negative_data_rejection"]
# run on its own: a 400 the operation declares in x-refusals (a rule no schema can state, e.g.
# a base URI that is not registered) is the right answer to input the schemas allow
ACCEPTANCE = CHECKS.get_by_names(["positive_data_acceptance"])


@pytest.fixture(scope="module")
def world() -> Iterator[Api]:
    mint = TokenMint()
    settings_ = Settings(stage="test", region="eu-west-1", issuers=(mint.issuer_config(),), inline_cap_bytes=4096)
    with running_api(settings_, mint) as api:
        add_personas(api)
        with_password_sign_in(mint)
        install_dois()  # the DOI routes do their work rather than answer "not configured"
        assert api.post("/datasets", registration(BUCKET_A), user="champion").status_code == 201
        yield api


def with_password_sign_in(mint: TokenMint) -> None:
    """A user pool behind POST /token (champion's password is known), as deployments with
    Cognito have; without one the route answers 503 (tests/functional/test_token_endpoint.py)."""
    install_user_pool(mint, {"champion": "Fuzz-Password-7b"})


@functools.cache
def operations() -> list[APIOperation]:
    """Every operation, or (``CATALOGUE_FUZZ_PATHS``, a regular expression) those whose path it finds."""
    schema = schemathesis.openapi.from_dict(load())
    chosen = re.compile(os.environ.get("CATALOGUE_FUZZ_PATHS") or "")
    return [op for op in (result.ok() for result in schema.get_all_operations()) if chosen.search(op.path)]


def _fuzz(operation: APIOperation, mode: GenerationMode, call: Any, max_examples: int = EXAMPLES) -> list[str]:
    """The first failure of ``operation`` in ``mode`` (none: empty); not shrunk (speed)."""
    found: list[str] = []

    @seed(SEED)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if found:
            return
        try:
            call(case)
        except (Exception, BaseExceptionGroup) as exc:  # the checks' FailureGroup, the tier's AssertionError
            found.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc}")

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, operation.path  # nothing to break: no parameters, no body
    return found


def _over_the_cap(response: requests.Response) -> bool:
    """413 for a body over the API-wide cap (``max_body_bytes``)."""
    body = response.request.body or b""
    size = len(body if isinstance(body, bytes) else body.encode())
    return response.status_code == 413 and size > root().settings.max_body_bytes


def _declared_refusal(operation: APIOperation, response: requests.Response) -> bool:
    """An answer the description declares for input its schemas allow: a refusal of the
    operation's ``x-refusals`` (our 400 naming a field and a message; myMdC's 422 whose every
    field error is one), or 413 for a body over the API-wide cap (``max_body_bytes``)."""
    if response.status_code == 413:
        return _over_the_cap(response)
    if response.status_code not in (400, 422):
        return False
    try:
        answer = response.json()
    except ValueError:
        return False
    declared = operation.definition.raw.get("x-refusals", [])

    def is_declared(field: object, message: object) -> bool:
        return isinstance(message, str) and any(
            r["field"] in (field, "*") and r["message"] in message for r in declared
        )

    if not isinstance(answer, dict):
        return False
    if response.status_code == 422:  # myMdC: {"info": {field: [message, ...]}}
        errors = answer.get("info")
        pairs = [(f, m) for f, ms in errors.items() for m in ms] if isinstance(errors, dict) else []
        return bool(pairs) and all(is_declared(f, m) for f, m in pairs)
    field = answer.get("Field")
    if field is None and answer.get("Errors"):  # an InvalidDocument: the field its problems are in
        field = str(answer["Errors"][0].get("path", "")).strip("/").split("/")[0]
    return is_declared(field, answer.get("Message"))


def _in_process(world: Api, session_class: type[requests.Session]) -> Callable[[], requests.Session]:
    def make() -> requests.Session:
        session = session_class()
        session.mount(BASE_URL, ChaliceTransport(world))
        return session

    return make


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "anonymous")
def test_every_operation_holds_to_its_description(
    world: Api, persona: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _ = session_for(world)
    # ignored_auth's probes go out in a session of their own (no credentials kept): one that
    # reaches the app in process too
    own = schemathesis_requests.SameHostRedirectsSession
    monkeypatch.setattr(schemathesis_requests, "SameHostRedirectsSession", _in_process(world, own))
    headers = {"Authorization": f"Bearer {world.mint.access_token(persona)}"} if persona else {}

    transport = {"base_url": BASE_URL, "session": session, "headers": headers}

    def call(case: Any) -> None:
        response = case.call(base_url=BASE_URL, session=session, headers=headers)
        # a body over the API-wide cap is refused (413) before anything else looks at it: a
        # refusal of invalid data too, though not one negative_data_rejection knows
        checks = USED_CHECKS if not _over_the_cap(response) else WITHOUT_NEGATIVE_REJECTION
        case.validate_response(response, checks=checks, headers=headers, transport_kwargs=transport)
        if not _declared_refusal(case.operation, response):
            case.validate_response(response, checks=ACCEPTANCE, headers=headers, transport_kwargs=transport)

    failures = [
        failure for operation in operations() for mode in MODES[persona] for failure in _fuzz(operation, mode, call)
    ]
    assert not failures, f"{len(failures)} operations fail:\n" + "\n\n".join(failures)
