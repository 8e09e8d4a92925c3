"""The API description and a place to try it: ``/openapi.json`` (OpenAPI 3.1, every route:
:mod:`chalicelib.openapi`) and Swagger UI at ``/docs``, from the swagger-ui-bundle-v2
package's files (no CDN). Both are public: they describe the API, not what is in it."""

from __future__ import annotations

import json

from chalice.app import Blueprint, Request, Response

from chalicelib.errors import NotFound
from chalicelib.openapi.document import for_deployment
from chalicelib.routes._http import Ctx, endpoint

bp = Blueprint(__name__)
# the files of Swagger UI that /docs needs, with their types (nothing else is served)
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "oauth2-redirect.html": "text/html",
    "oauth2-redirect.js": "application/javascript",
}
CACHED = {"Cache-Control": "public, max-age=86400"}
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Research-data catalogue: API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      oauth2RedirectUrl: new URL("docs/oauth2-redirect.html", window.location.href).href,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    });
  </script>
</body>
</html>
"""


def base_path(request: Request) -> str:
    """The path the API is served under (API Gateway's stage, e.g. ``/api``; ``""`` locally)."""
    full = str((request.context or {}).get("path") or request.path)
    return full[: -len(request.path)] if full.endswith(request.path) and full != request.path else ""


@bp.route("/openapi.json", methods=["GET"])
@endpoint(bp, auth=False)
def openapi(ctx: Ctx) -> Response:
    """This API's OpenAPI 3.1 description: every route, who may call it, its bodies and answers."""
    settings = ctx.root.settings
    described = ctx.root.api_description
    document = for_deployment(described, base_path(ctx.request) or "/", settings.client_credentials_token_url or None)
    return Response(body=json.dumps(document), status_code=200, headers={"Content-Type": "application/json"})


@bp.route("/docs", methods=["GET"])
@endpoint(bp, auth=False)
def docs(ctx: Ctx) -> Response:
    """Swagger UI over ``/openapi.json``: "Authorize" with a token, then "Try it out"."""
    return Response(body=PAGE, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@bp.route("/docs/{asset}", methods=["GET"])
@endpoint(bp, auth=False)
def docs_asset(ctx: Ctx, asset: str) -> Response:
    """One of Swagger UI's files."""
    if asset not in ASSETS:
        raise NotFound(f"no file {asset[:64]}")
    from swagger_ui_bundle import swagger_ui_path

    # text only: a binary answer would need the caller's Accept header to name its type
    body = (swagger_ui_path / asset).read_text(encoding="utf-8")
    return Response(body=body, status_code=200, headers={"Content-Type": ASSETS[asset], **CACHED})
