"""The API description (issue 21, unit tier): committed and fresh, a valid OpenAPI 3.1
document, every route of the app in it with who may call it as ``endpoint`` enforces it."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from chalicelib.openapi.document import DOCUMENT, for_deployment, load, success_statuses
from chalicelib.routes._http import OPTIONAL
from infra.openapi import generate


@pytest.fixture(scope="module")
def routes() -> Any:
    generate()  # sets what app.py needs to import
    import app as app_module

    return app_module.app.routes


def test_the_committed_description_is_fresh_and_valid() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == generate(), "stale: run python -m infra.openapi"
    validate(load())  # OpenAPI 3.1: raises on any violation


def test_every_route_is_described_with_who_may_call_it(routes: Any) -> None:
    paths = load()["paths"]
    described = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    actual = {(m, p) for p, entries in routes.items() for m in entries}
    assert described == actual
    for path, entries in routes.items():
        for method, entry in entries.items():
            operation = paths[path][method.lower()]
            auth = entry.view_function.route_access.auth
            schemes = [next(iter(s), None) for s in operation["security"]]
            if auth is False:
                assert schemes == [], (method, path)
            elif auth == OPTIONAL:
                assert schemes == [None, "bearer", "apiKey", "oauth2"], (method, path)
            else:
                assert schemes == ["bearer", "apiKey", "oauth2"], (method, path)
            error = "MymdcError" if path.startswith("/mymdc/api/") else "Error"  # myMdC's own shape
            assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{error}"
            }


def test_success_statuses_are_read_from_the_handlers() -> None:
    def plain() -> dict[str, str]:
        return {}

    def made() -> Any:
        return created({}, "/x")  # noqa: F821 (read, never run)

    def gone() -> Any:
        return no_content()  # noqa: F821

    def either(flag: bool) -> Any:
        if flag:
            return Response(body="", status_code=204)  # noqa: F821
        return {}

    assert success_statuses(plain) == [200]
    assert success_statuses(made) == [201]
    assert success_statuses(gone) == [204]
    assert success_statuses(either) == [200, 204]


def test_a_deployment_names_its_server_and_token_endpoint() -> None:
    document = for_deployment(load(), "/api", "https://auth.example.org/oauth2/token")
    assert document["servers"] == [{"url": "/api"}]
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "https://auth.example.org/oauth2/token"
    without = for_deployment(load(), "/", None)
    assert "oauth2" not in without["components"]["securitySchemes"]
    validate(without)  # no operation names the scheme that is gone
    assert load()["servers"] == [{"url": "/"}]  # the committed document is left as it was
