"""/base-uris: where datasets may live, and who may search or register there (admins).

The base URI is one path segment, percent-encoded: ``/base-uris/s3%3A%2F%2Fbucket``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from chalice.app import Blueprint, Response

from chalicelib import jobs
from chalicelib.catalogue.validation import (
    parse_base_uri,
    parse_base_uri_patch,
    parse_new_base_uri,
    parse_permissions,
    parse_put_base_uri,
)
from chalicelib.errors import NotFound, ValidationError
from chalicelib.identity.permissions import ADMINS
from chalicelib.routes._http import Ctx, created, created_or_ok, endpoint
from chalicelib.routes._smorest import page_response, parse_paging, parse_sort, sorted_rows
from chalicelib.routes.datasets import log_params, log_response

bp = Blueprint(__name__)


@bp.route("/base-uris", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def list_base_uris(ctx: Ctx) -> Response:
    """A page of base URIs (``page``, ``page_size``, ``sort=base_uri``) with ``X-Pagination``,
    as dserver lists them; each row is the whole record, with its users' permissions."""
    page, page_size = parse_paging(ctx)
    sort = parse_sort(ctx.query_one("sort"), ("base_uri",), "base_uri")
    return page_response(sorted_rows(ctx.root.access.list_base_uris(ctx.user), sort), page, page_size, sort)


@bp.route("/base-uris", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def add_base_uri(ctx: Ctx) -> Response:
    base_uri, description = parse_new_base_uri(ctx.json())
    body = ctx.root.access.add_base_uri(ctx.user, base_uri, description)
    return created(body, f"/base-uris/{quote(base_uri, safe='')}")


@bp.route("/base-uris/{base_uri}", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def get_base_uri(ctx: Ctx, base_uri: str) -> dict[str, Any]:
    return ctx.root.access.get_base_uri(ctx.user, parse_base_uri(base_uri))


@bp.route("/base-uris/{base_uri}", methods=["PUT"])
@endpoint(bp, gate=ADMINS)
def put_base_uri(ctx: Ctx, base_uri: str) -> Response:
    """dserver's registration: create the base URI (201) or keep it (200); either way its
    permissions become exactly the lists given."""
    uri = parse_base_uri(base_uri)
    search, register = parse_put_base_uri(ctx.json(), uri)
    created, view = ctx.root.access.put_base_uri(ctx.user, uri, search, register)
    return created_or_ok(created, view, f"/base-uris/{quote(uri, safe='')}")


@bp.route("/base-uris/{base_uri}", methods=["PATCH"])
@endpoint(bp, gate=ADMINS)
def patch_base_uri(ctx: Ctx, base_uri: str) -> dict[str, Any]:
    """Publish a base URI (`{"public": true}`) or withdraw it (`false`), and/or change its
    description. The registered entries of a public base URI are listed by OAI-PMH (`/oai`,
    deletions included) and their DOIs are findable; withdrawing hides them again."""
    uri = parse_base_uri(base_uri)
    public, description = parse_base_uri_patch(ctx.json())
    return ctx.root.access.update_base_uri(ctx.user, uri, public=public, description=description)


@bp.route("/base-uris/{base_uri}", methods=["DELETE"])
@endpoint(bp, gate=ADMINS)
def delete_base_uri(ctx: Ctx, base_uri: str) -> dict[str, Any]:
    """Only an empty base URI, never the archive's or the deposits' (409 otherwise)."""
    uri = parse_base_uri(base_uri)
    ctx.root.access.delete_base_uri(ctx.user, uri)
    return {"deleted": uri}


@bp.route("/base-uris/{base_uri}/permissions", methods=["PUT"])
@endpoint(bp, gate=ADMINS)
def set_permissions(ctx: Ctx, base_uri: str) -> dict[str, Any]:
    search, register = parse_permissions(ctx.json())
    return ctx.root.access.set_permissions(ctx.user, parse_base_uri(base_uri), search, register)


@bp.route("/base-uris/{base_uri}/log", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def base_uri_log(ctx: Ctx, base_uri: str) -> Response:
    limit, after = log_params(ctx)
    page = ctx.root.access.base_uri_log(ctx.user, parse_base_uri(base_uri), limit, after)
    return log_response(page.entries, page.next_after)


@bp.route("/reconcile", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def latest_reconcile(ctx: Ctx) -> dict[str, Any]:
    """The latest reconciliation of S3 against the catalogue (admins)."""
    ctx.root.access.require_admin(ctx.user)
    report = jobs.latest_reconcile_report(ctx.root)
    if report is None:
        raise NotFound("no reconciliation has run yet")
    return report


@bp.route("/base-uris/{base_uri}/index", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def start_index(ctx: Ctx, base_uri: str) -> Response:
    """Register what an S3 base URI already holds, asynchronously (admins); 202 once started."""
    uri = parse_base_uri(base_uri)
    ctx.root.access.get_base_uri(ctx.user, uri)  # admin only; 404 for an unknown base URI
    if not uri.startswith("s3://") or jobs.is_passive(ctx.root, uri):
        raise ValidationError("only s3:// base URIs of data (not the archive) can be indexed", field="base_uri")
    return Response(body=jobs.start_bulk_index(ctx.root, uri), status_code=202)
