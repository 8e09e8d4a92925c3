"""The local stack comes up, answers /health and issues Cognito access tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import requests

from infra.local.stack import LocalStack


def _claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    assert len(parts) == 3
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
    return claims


def test_health_answers_200(stack: LocalStack) -> None:
    session = requests.Session()
    session.trust_env = False
    resp = session.get(f"{stack.api_url}/health", timeout=10)
    assert resp.status_code == 200


def test_admin_token_is_a_cognito_access_token(stack: LocalStack) -> None:
    claims = _claims(stack.token("admin"))
    assert claims["token_use"] == "access"
    assert claims["client_id"] == stack.pool.client_id
    assert claims["username"] == "admin"
    assert claims["iss"] == stack.pool.issuer
