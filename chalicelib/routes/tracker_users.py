"""/api/v1: the Data Tracker's users, API keys, log in and log out (the rest of /api/v1 is in
:mod:`chalicelib.routes.tracker_api`).

``/user/me`` answers anonymous callers with blank fields, as the original. ``POST
/user/me/apikey`` makes a new key named ``default`` (or as the body's ``name`` says), replacing
a key of that name: the original had one key per user and this keeps its clients working. A
key is shown once, in that answer. ``POST /login/apikey`` exchanges a key (the original's body
``{"api-user", "api-key"}``, or ``Authorization: ApiKey <key>``) for a session token valid for
an hour (``Authorization: Bearer <token>``); ``/logout`` ends it.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.errors import AuthenticationError
from chalicelib.routes._http import OPTIONAL, Ctx, endpoint, source_of
from chalicelib.routes.tracker_api import added, done, listed, uuid_param
from chalicelib.tracker import fields
from chalicelib.tracker.log import actions, log_document, user_log

bp = Blueprint(__name__)


def _optional_json(ctx: Ctx) -> Any:
    return ctx.json() if ctx.request.raw_body else None


# -- the caller -----------------------------------------------------------------------------
@bp.route("/user/me", methods=["GET"])
@endpoint(bp, auth=OPTIONAL)
def me(ctx: Ctx) -> dict[str, Any]:
    return {"user": ctx.root.tracker.people.me(ctx.user)}


@bp.route("/user/me", methods=["PATCH"])
@endpoint(bp)
def patch_me(ctx: Ctx) -> Response:
    ctx.root.tracker.people.update_me(ctx.user, fields.parse_user(ctx.json(), partial=True, own=True))
    return done()


@bp.route("/user/me/apikey", methods=["POST"])
@endpoint(bp)
def my_new_key(ctx: Ctx) -> dict[str, Any]:
    return _new_key(ctx, ctx.user.username)


@bp.route("/user/me/log", methods=["GET"])
@endpoint(bp)
def my_log(ctx: Ctx) -> dict[str, Any]:
    return log_document("user", ctx.user.id, user_log(ctx.root.repo, ctx.user.username, ctx.user.id))


@bp.route("/user/me/actions", methods=["GET"])
@endpoint(bp)
def my_actions(ctx: Ctx) -> Response:
    return listed(ctx, "logs", actions(ctx.root.repo, ctx.user.username))


@bp.route("/user/me/orders", methods=["GET"])
@endpoint(bp)
def my_orders(ctx: Ctx) -> Response:
    return listed(ctx, "orders", ctx.root.tracker.orders.listing(ctx.user, ctx.user.id))


@bp.route("/user/me/datasets", methods=["GET"])
@endpoint(bp)
def my_datasets(ctx: Ctx) -> Response:
    return listed(ctx, "datasets", ctx.root.tracker.datasets.listing(ctx.user, ctx.user.id))


@bp.route("/user/me/collections", methods=["GET"])
@endpoint(bp)
def my_collections(ctx: Ctx) -> Response:
    return listed(ctx, "collections", ctx.root.tracker.collections.listing(ctx.user, ctx.user.id))


# -- users ----------------------------------------------------------------------------------
@bp.route("/user", methods=["GET"])
@endpoint(bp)
def list_users(ctx: Ctx) -> Response:
    return listed(ctx, "users", ctx.root.tracker.people.listing(ctx.user))


@bp.route("/user", methods=["POST"])
@endpoint(bp)
def add_user(ctx: Ctx) -> dict[str, Any]:
    people = ctx.root.tracker.people
    people.require_add(ctx.user)
    return added(people.add(ctx.user, fields.parse_user(ctx.json(), partial=False, own=False)).id)


@bp.route("/user/{user_id}", methods=["GET"])
@endpoint(bp)
def get_user(ctx: Ctx, user_id: str) -> dict[str, Any]:
    return {"user": ctx.root.tracker.people.get(ctx.user, uuid_param(user_id))}


@bp.route("/user/{user_id}", methods=["PATCH"])
@endpoint(bp)
def patch_user(ctx: Ctx, user_id: str) -> Response:
    people = ctx.root.tracker.people
    target = people.managed(ctx.user, uuid_param(user_id))
    people.update(ctx.user, target, fields.parse_user(ctx.json(), partial=True, own=False))
    return done()


@bp.route("/user/{user_id}", methods=["DELETE"])
@endpoint(bp)
def delete_user(ctx: Ctx, user_id: str) -> Response:
    ctx.root.tracker.people.delete(ctx.user, uuid_param(user_id))
    return done()


@bp.route("/user/{user_id}/apikey", methods=["POST"])
@endpoint(bp)
def users_new_key(ctx: Ctx, user_id: str) -> dict[str, Any]:
    target = ctx.root.tracker.people.managed(ctx.user, uuid_param(user_id))
    return _new_key(ctx, target.username)


@bp.route("/user/{user_id}/log", methods=["GET"])
@endpoint(bp)
def users_log(ctx: Ctx, user_id: str) -> dict[str, Any]:
    target = ctx.root.tracker.people.log_target(ctx.user, uuid_param(user_id))
    return log_document("user", target.id, user_log(ctx.root.repo, target.username, target.id))


@bp.route("/user/{user_id}/actions", methods=["GET"])
@endpoint(bp)
def users_actions(ctx: Ctx, user_id: str) -> Response:
    target = ctx.root.tracker.people.log_target(ctx.user, uuid_param(user_id))
    return listed(ctx, "logs", actions(ctx.root.repo, target.username))


@bp.route("/user/{user_id}/orders", methods=["GET"])
@endpoint(bp)
def users_orders(ctx: Ctx, user_id: str) -> Response:
    return listed(ctx, "orders", ctx.root.tracker.orders.listing(ctx.user, uuid_param(user_id)))


@bp.route("/user/{user_id}/datasets", methods=["GET"])
@endpoint(bp)
def users_datasets(ctx: Ctx, user_id: str) -> Response:
    return listed(ctx, "datasets", ctx.root.tracker.datasets.listing(ctx.user, uuid_param(user_id)))


@bp.route("/user/{user_id}/collections", methods=["GET"])
@endpoint(bp)
def users_collections(ctx: Ctx, user_id: str) -> Response:
    return listed(ctx, "collections", ctx.root.tracker.collections.listing(ctx.user, uuid_param(user_id)))


def _new_key(ctx: Ctx, owner: str) -> dict[str, Any]:
    keys = ctx.root.tracker.keys
    name = fields.parse_api_key_request(_optional_json(ctx))
    existing = [k for k in keys.list(ctx.user, owner) if k["name"] == name]
    for key in existing:  # the original's POST replaced the user's one key
        keys.revoke(ctx.user, owner, key["key_id"])
    view, presented = keys.create(ctx.user, owner, name)
    return {**view, "key": presented}


# -- log in, log out ------------------------------------------------------------------------
@bp.route("/login", methods=["GET"])
@endpoint(bp, auth=False)
def login_types(ctx: Ctx) -> dict[str, Any]:
    return {"types": ["apikey", "oidc"]}


@bp.route("/login/apikey", methods=["GET", "POST"])
@endpoint(bp, auth=False)
def key_login(ctx: Ctx) -> dict[str, Any]:
    """A session token for an API key: ``GET`` (the seed's) with the key in ``Authorization:
    ApiKey <key>`` or ``X-API-Key``; ``POST`` (the original's) also with ``{"api-key": <key>}``."""
    header = ctx.header("authorization") or ""
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "apikey":
        presented = credential.strip()
    elif ctx.header("x-api-key"):
        presented = str(ctx.header("x-api-key")).strip()
    elif ctx.request.method == "POST" and ctx.request.raw_body:
        presented = fields.parse_key_login(ctx.json())
    else:
        raise AuthenticationError('send the key as Authorization: ApiKey <key> (or POST {"api-key": <key>})')
    return ctx.root.tracker.keys.open_session(presented, source_of(ctx.request))


@bp.route("/login/oidc", methods=["GET"])
@endpoint(bp, auth=False)
def oidc_services(ctx: Ctx) -> dict[str, str]:
    """The OpenID Connect sign-in services: name -> the path that starts a sign-in."""
    return ctx.root.oidc_sign_in.services("/api/v1/login/oidc")


@bp.route("/login/oidc/{name}/login", methods=["GET"])
@endpoint(bp, auth=False)
def oidc_login(ctx: Ctx, name: str) -> Response:
    """302 to the provider's sign-in page (authorization code with PKCE)."""
    return Response(body="", status_code=302, headers={"Location": ctx.root.oidc_sign_in.begin(name)})


@bp.route("/login/oidc/{name}/authorize", methods=["GET"])
@endpoint(bp, auth=False)
def oidc_authorize(ctx: Ctx, name: str) -> dict[str, Any]:
    """The provider's callback: ``{"token", "token_type", "expires_in", "username", "_id"}``."""
    q = ctx.query_one
    return ctx.root.oidc_sign_in.finish(name, q("code"), q("state"), q("error"))


@bp.route("/logout", methods=["GET", "POST"])
@endpoint(bp, auth=False)
def logout(ctx: Ctx) -> Response:
    header = ctx.header("authorization") or ""
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer":
        ctx.root.tracker.keys.close_session(credential.strip())
    return done()
