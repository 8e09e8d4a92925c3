"""/annotation-schemas: the site-defined annotation schemas
(:mod:`chalicelib.catalogue.annotation_schemas`).

``GET /annotation-schemas`` lists every name with its latest version and description;
``POST /annotation-schemas`` (admins) registers ``{"name", "description", "schema"}`` as the
name's next version (201, with ``Location``); ``GET /annotation-schemas/{name}`` is the latest
version and ``GET /annotation-schemas/{name}/versions/{version}`` one version. Reads are for
any signed-in user; an unknown name or version (a malformed one included) is 404.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.annotation_schemas import REGISTRARS, parse_new_schema, parse_version
from chalicelib.errors import NotFound
from chalicelib.routes._http import Ctx, created, endpoint

bp = Blueprint(__name__)


@bp.route("/annotation-schemas", methods=["GET"])
@endpoint(bp)
def list_annotation_schemas(ctx: Ctx) -> dict[str, Any]:
    items = ctx.root.annotation_schemas.list(ctx.user)
    return {"items": items, "total": len(items)}


@bp.route("/annotation-schemas", methods=["POST"])
@endpoint(bp, gate=REGISTRARS)
def register_annotation_schema(ctx: Ctx) -> Response:
    new = parse_new_schema(ctx.json())
    registered = ctx.root.annotation_schemas.register(ctx.user, new.name, new.description, new.schema)
    return created(registered.to_dict(), f"/annotation-schemas/{registered.name}/versions/{registered.version}")


@bp.route("/annotation-schemas/{name}", methods=["GET"])
@endpoint(bp)
def get_annotation_schema(ctx: Ctx, name: str) -> dict[str, Any]:
    return ctx.root.annotation_schemas.get(ctx.user, name).to_dict()


@bp.route("/annotation-schemas/{name}/versions/{version}", methods=["GET"])
@endpoint(bp)
def get_annotation_schema_version(ctx: Ctx, name: str, version: str) -> dict[str, Any]:
    number = parse_version(version)
    if number is None:
        raise NotFound(f"no annotation schema {name[:64]}/{version[:16]}")
    return ctx.root.annotation_schemas.get(ctx.user, name, number).to_dict()
