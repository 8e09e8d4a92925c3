"""/openapi.json and Swagger UI at /docs (issue 21, functional tier): public, served from the
package's files, the description naming this deployment's server."""

from __future__ import annotations

import json

from openapi_spec_validator import validate

from tests.functional.conftest import Api


def test_the_description_is_public_and_valid(api: Api) -> None:
    r = api.get("/openapi.json", user=None)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json", r.body
    document = json.loads(r.body)
    validate(document)
    assert document["servers"] == [{"url": "/"}]
    assert {"bearer", "apiKey"} <= set(document["components"]["securitySchemes"])
    search = document["paths"]["/datasets"]["get"]
    assert [p["name"] for p in search["parameters"]][:2] == ["q", "base_uri"]
    assert search["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DatasetPage"
    }
    assert document["paths"]["/health"]["get"]["security"] == []


def test_swagger_ui_is_served_from_the_package(api: Api) -> None:
    page = api.get("/docs", user=None)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    assert 'src="docs/swagger-ui-bundle.js"' in html and 'url: "openapi.json"' in html
    script = api.get("/docs/swagger-ui-bundle.js", user=None)
    assert script.status_code == 200 and script.headers["Content-Type"] == "application/javascript"
    assert len(script.body) > 500_000 and script.headers["Cache-Control"] == "public, max-age=86400"
    for name in ("favicon-32x32.png", "index.html", "..%2F__init__.py", "swagger-ui.js.map"):
        assert api.get(f"/docs/{name}", user=None).status_code == 404
