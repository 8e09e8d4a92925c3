"""/users: the caller's own record and API keys, and user administration (admins)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.validation import (
    parse_new_user,
    parse_put_user,
    parse_user_patch,
    parse_username,
    require_object,
)
from chalicelib.domain import user_uuid
from chalicelib.errors import ValidationError
from chalicelib.identity.permissions import ADMINS
from chalicelib.routes._http import Ctx, created, created_or_ok, endpoint
from chalicelib.routes._pages import paged_response
from chalicelib.routes._smorest import page_response, parse_paging, parse_sort, sorted_rows
from chalicelib.routes.datasets import log_params, log_response
from chalicelib.tracker.fields import parse_api_key_request, parse_permissions, parse_user

bp = Blueprint(__name__)


@bp.route("/users/me", methods=["GET"])
@endpoint(bp)
def me(ctx: Ctx) -> dict[str, Any]:
    return ctx.user.to_dict()


@bp.route("/users/me", methods=["PATCH"])
@endpoint(bp)
def patch_me(ctx: Ctx) -> dict[str, Any]:
    """Your own profile: ``display_name``, ``affiliation``, ``contact``, ``url``, ``orcid`` (an
    e-mail address and rights are set by user managers); answers your record."""
    body = dict(require_object(ctx.json()))
    if "name" in body:
        raise ValidationError("name: this API calls it display_name", field="name")
    if "display_name" in body:
        body["name"] = body.pop("display_name")
    return ctx.root.tracker.people.update_me(ctx.user, parse_user(body, partial=True, own=True)).to_dict()


@bp.route("/users/{username}/topics", methods=["PUT"])
@endpoint(bp)
def put_topics(ctx: Ctx, username: str) -> dict[str, Any]:
    """The user's permission topics (``{"topics": [...]}``; USER_MANAGEMENT); answers the record."""
    people = ctx.root.tracker.people
    target = people.managed(ctx.user, user_uuid(parse_username(username)))
    body = require_object(ctx.json())
    if set(body) != {"topics"}:
        raise ValidationError('the body is {"topics": [...]}', field="topics")
    return people.update(ctx.user, target, {"permissions": parse_permissions(body["topics"], "topics")}).to_dict()


@bp.route("/users", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def list_users(ctx: Ctx) -> Response:
    """A page of users (``page``, ``page_size``, ``sort`` by username or is_admin) with
    ``X-Pagination``, as dserver lists them; each row is the whole user record."""
    page, page_size = parse_paging(ctx)
    sort = parse_sort(ctx.query_one("sort"), ("username", "is_admin"), "username")
    return page_response(sorted_rows(ctx.root.access.list_users(ctx.user), sort), page, page_size, sort)


@bp.route("/users", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def add_user(ctx: Ctx) -> Response:
    username, fields = parse_new_user(ctx.json())
    return created(ctx.root.access.add_user(ctx.user, username, fields), f"/users/{username}")


@bp.route("/users/{username}", methods=["GET"])
@endpoint(bp)
def get_user(ctx: Ctx, username: str) -> dict[str, Any]:
    return ctx.root.access.get_user(ctx.user, parse_username(username))


@bp.route("/users/{username}", methods=["PUT"])
@endpoint(bp, gate=ADMINS)
def put_user(ctx: Ctx, username: str) -> Response:
    """dserver's registration: create the user (201) or set its admin right (200)."""
    name = parse_username(username)
    created, user = ctx.root.access.put_user(ctx.user, name, parse_put_user(ctx.json(), name))
    return created_or_ok(created, user, f"/users/{name}")


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


# -- API keys (the Data Tracker's, usable on every route: ``Authorization: ApiKey <key>``) ----
@bp.route("/users/me/keys", methods=["GET"])
@endpoint(bp)
def my_keys(ctx: Ctx) -> Response:
    """The caller's API keys: name, id and times (a key's secret is shown once, when made)."""
    page, page_size = parse_paging(ctx)
    keys = ctx.root.tracker.keys.list(ctx.user, ctx.user.username)
    start = (page - 1) * page_size
    return paged_response(ctx.request.path, ctx.query(), keys[start : start + page_size], len(keys), page, page_size)


@bp.route("/users/me/keys", methods=["POST"])
@endpoint(bp)
def new_key(ctx: Ctx) -> Response:
    """A new key (``{"name": ...}``, default ``default``): 201 with ``key``, shown this once."""
    name = parse_api_key_request(ctx.json() if ctx.request.raw_body else None)
    view, presented = ctx.root.tracker.keys.create(ctx.user, ctx.user.username, name)
    return created({**view, "key": presented}, f"/users/me/keys/{view['key_id']}")


@bp.route("/users/me/keys/{key_id}", methods=["DELETE"])
@endpoint(bp)
def revoke_key(ctx: Ctx, key_id: str) -> Response:
    ctx.root.tracker.keys.revoke(ctx.user, ctx.user.username, key_id)
    return Response(body="", status_code=204)


@bp.route("/users/{username}/keys", methods=["GET"])
@endpoint(bp)
def users_keys(ctx: Ctx, username: str) -> Response:
    """A user's API keys (the user themself, or a USER_MANAGEMENT holder)."""
    page, page_size = parse_paging(ctx)
    keys = ctx.root.tracker.keys.list(ctx.user, parse_username(username))
    start = (page - 1) * page_size
    return paged_response(ctx.request.path, ctx.query(), keys[start : start + page_size], len(keys), page, page_size)


@bp.route("/users/{username}/keys/{key_id}", methods=["DELETE"])
@endpoint(bp)
def revoke_users_key(ctx: Ctx, username: str, key_id: str) -> Response:
    """Revoke one of a user's keys (the user themself, or a USER_MANAGEMENT holder)."""
    ctx.root.tracker.keys.revoke(ctx.user, parse_username(username), key_id)
    return Response(body="", status_code=204)
