"""One record per API request with API Gateway's request id and the caller the app verified
(issue 25: the stage's access log cannot name the caller, there being no API Gateway authorizer)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.functional.conftest import Api


def records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "catalogue.requests"]


def test_each_request_is_recorded_with_its_caller_and_status(personas: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="catalogue.requests")
    assert personas.get("/users", user="admin").status_code == 200
    assert personas.patch("/users/reader", {"is_admin": True}, user="reader").status_code == 403
    assert personas.get("/users/me", user=None, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert personas.get("/health", user=None).status_code == 200
    got = records(caplog)
    assert [(r["httpMethod"], r["principal"], r["status"]) for r in got] == [
        ("GET", "admin", 200),
        ("PATCH", "reader", 403),  # authenticated, then refused
        ("GET", None, 401),  # no valid credential: no caller
        ("GET", "anonymous", 200),
    ]
    for r in got:
        assert set(r) == {"requestId", "httpMethod", "resourcePath", "principal", "status"}
    assert got[1]["resourcePath"] == "/users/{username}"
    # chalice local and its test client give no request id; API Gateway does (below)
    assert "not-a-token" not in caplog.text  # never the credential


def test_the_record_carries_api_gateways_request_id(caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    from chalicelib.routes._http import log_request

    caplog.set_level(logging.INFO, logger="catalogue.requests")
    request = SimpleNamespace(method="GET", context={"requestId": "c6af9ac6-7b61", "resourcePath": "/datasets"})
    log_request(request, "reader", 200)  # type: ignore[arg-type]
    assert records(caplog) == [
        {
            "requestId": "c6af9ac6-7b61",
            "httpMethod": "GET",
            "resourcePath": "/datasets",
            "principal": "reader",
            "status": 200,
        }
    ]
