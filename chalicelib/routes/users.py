"""/users: the caller's own record, and user administration (admins)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.validation import parse_new_user, parse_user_patch, parse_username
from chalicelib.identity.permissions import ADMINS
from chalicelib.routes._http import Ctx, created, endpoint
from chalicelib.routes.datasets import log_params, log_response

bp = Blueprint(__name__)


@bp.route("/users/me", methods=["GET"])
@endpoint(bp)
def me(ctx: Ctx) -> dict[str, Any]:
    return ctx.user.to_dict()


@bp.route("/users", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def list_users(ctx: Ctx) -> dict[str, Any]:
    users = ctx.root.access.list_users(ctx.user)
    return {"items": users, "total": len(users)}


@bp.route("/users", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def add_user(ctx: Ctx) -> Response:
    username, fields = parse_new_user(ctx.json())
    return created(ctx.root.access.add_user(ctx.user, username, fields), f"/users/{username}")


@bp.route("/users/{username}", methods=["GET"])
@endpoint(bp)
def get_user(ctx: Ctx, username: str) -> dict[str, Any]:
    return ctx.root.access.get_user(ctx.user, parse_username(username))


@bp.route("/users/{username}", methods=["PATCH"])
@endpoint(bp, gate=ADMINS)
def patch_user(ctx: Ctx, username: str) -> dict[str, Any]:
    fields, version = parse_user_patch(ctx.json())
    return ctx.root.access.patch_user(ctx.user, parse_username(username), fields, version)


@bp.route("/users/{username}", methods=["DELETE"])
@endpoint(bp, gate=ADMINS)
def delete_user(ctx: Ctx, username: str) -> Response:
    ctx.root.access.delete_user(ctx.user, parse_username(username))
    return Response(body={"deleted": username}, status_code=200)


@bp.route("/users/{username}/log", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def user_log(ctx: Ctx, username: str) -> Response:
    limit, after = log_params(ctx)
    page = ctx.root.access.user_log(ctx.user, parse_username(username), limit, after)
    return log_response(page.entries, page.next_after)
