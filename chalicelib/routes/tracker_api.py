"""/api/v1: SciLifeLab Data Tracker's API (orders, datasets, collections; users and keys are in
:mod:`chalicelib.routes.tracker_users`), over the tracker services of :mod:`chalicelib.tracker`.

Compatibility (see README "Orders, collections and keys (Data Tracker)"):

- paths as the seed lists them; a trailing ``/`` is optional (API Gateway and ``chalice local``
  drop one);
- bodies flat (the seed's shape) or wrapped (``{"order": {...}}``, the newest Data Tracker's);
- creating answers 200 ``{"_id": ...}``, changing and deleting 200 with an empty body, as the
  original; lists are ``{"orders": [...]}`` etc., paged (``page``, ``page_size``) with
  ``total`` and ``X-Total-Count``;
- errors are the catalogue's ``{"Code", "Message"}``; what a caller may not read is 404, as
  unknown ids are (the original answered 403 for existing orders).

Public routes (``/dataset``, ``/collection``, ``/user/me``) answer anonymous callers with what
is published; credentials given must be valid anyway.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.errors import ValidationError
from chalicelib.routes._http import OPTIONAL, Ctx, endpoint
from chalicelib.routes._smorest import parse_paging
from chalicelib.tracker import fields
from chalicelib.tracker.search import MAX_QUERY_CHARS, RecordFilter

bp = Blueprint(__name__)

ENTITIES = ["dataset", "order", "collection", "user", "login"]


# the original's lists were whole: a client written for it reads one page, so a page holds
# what one facility lists at once unless the client asks for less
TRACKER_PAGE_SIZE = 1000
MAX_TAG_FILTERS = 20  # repeated ?tag= of a list


def listed(ctx: Ctx, key: str, items: list[dict[str, Any]]) -> Response:
    """``{key: [...], "total", "page", "page_size"}`` with ``X-Total-Count`` (``page_size``
    up to and by default :data:`TRACKER_PAGE_SIZE`)."""
    page, page_size = parse_paging(ctx, default=TRACKER_PAGE_SIZE, most=TRACKER_PAGE_SIZE)
    start = (page - 1) * page_size
    body = {key: items[start : start + page_size], "total": len(items), "page": page, "page_size": page_size}
    return Response(body=body, status_code=200, headers={"X-Total-Count": str(len(items))})


def record_filter(ctx: Ctx) -> RecordFilter:
    """``q``, ``tag`` (repeatable) and ``editor`` from the query."""
    q = ctx.query_one("q") or ""
    if len(q) > MAX_QUERY_CHARS:
        raise ValidationError(f"q must be at most {MAX_QUERY_CHARS} characters", field="q")
    tags = tuple(ctx.query().get("tag", []))
    if len(tags) > MAX_TAG_FILTERS or any(not t or len(t) > MAX_QUERY_CHARS for t in tags):
        raise ValidationError(f"tag: at most {MAX_TAG_FILTERS}, each 1 to {MAX_QUERY_CHARS} characters", field="tag")
    editor = ctx.query_one("editor")
    return RecordFilter(q=q, tags=tags, editor=None if editor is None else fields.parse_uuid(editor, "editor"))


def done() -> Response:
    """The original's answer to a change: 200, empty (and not labelled JSON, which it is not)."""
    return Response(body="", status_code=200, headers={"Content-Type": "text/plain; charset=utf-8"})


def added(uuid: str) -> dict[str, Any]:
    return {"_id": uuid}


def uuid_param(value: str) -> str:
    return fields.parse_uuid(value, "_id")


@bp.route("/", methods=["GET"])
@endpoint(bp, auth=False)
def entities(ctx: Ctx) -> dict[str, Any]:
    return {"entities": ENTITIES}


# -- orders ---------------------------------------------------------------------------------
@bp.route("/order", methods=["GET"])
@endpoint(bp)
def list_orders(ctx: Ctx) -> Response:
    return listed(ctx, "orders", ctx.root.tracker.orders.listing(ctx.user, match=record_filter(ctx)))


@bp.route("/order", methods=["POST"])
@endpoint(bp)
def add_order(ctx: Ctx) -> dict[str, Any]:
    orders = ctx.root.tracker.orders
    orders.require_add(ctx.user)
    return added(orders.add(ctx.user, fields.parse_order(ctx.json(), partial=False)))


@bp.route("/order/user", methods=["GET"])
@endpoint(bp)
def my_orders(ctx: Ctx) -> Response:
    return listed(ctx, "orders", ctx.root.tracker.orders.listing(ctx.user, ctx.user.id))


@bp.route("/order/user/{user_id}", methods=["GET"])
@endpoint(bp)
def users_orders(ctx: Ctx, user_id: str) -> Response:
    return listed(ctx, "orders", ctx.root.tracker.orders.listing(ctx.user, uuid_param(user_id)))


@bp.route("/order/{uuid}", methods=["GET"])
@endpoint(bp)
def get_order(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return {"order": ctx.root.tracker.orders.get(ctx.user, uuid)}


@bp.route("/order/{uuid}", methods=["PATCH"])
@endpoint(bp)
def patch_order(ctx: Ctx, uuid: str) -> Response:
    orders = ctx.root.tracker.orders
    orders.order(ctx.user, uuid)
    orders.update(ctx.user, uuid, fields.parse_order(ctx.json(), partial=True))
    return done()


@bp.route("/order/{uuid}", methods=["DELETE"])
@endpoint(bp)
def delete_order(ctx: Ctx, uuid: str) -> Response:
    ctx.root.tracker.orders.delete(ctx.user, uuid)
    return done()


@bp.route("/order/{uuid}/dataset", methods=["POST"])
@endpoint(bp)
def add_order_dataset(ctx: Ctx, uuid: str) -> dict[str, Any]:
    orders = ctx.root.tracker.orders
    orders.require_add_dataset(ctx.user, uuid)
    return added(orders.add_dataset(ctx.user, uuid, fields.parse_dataset(ctx.json(), partial=False)))


@bp.route("/order/{uuid}/log", methods=["GET"])
@endpoint(bp)
def order_log(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return ctx.root.tracker.orders.log(ctx.user, uuid)


# -- datasets -------------------------------------------------------------------------------
@bp.route("/dataset", methods=["GET"])
@endpoint(bp, auth=OPTIONAL)
def list_datasets(ctx: Ctx) -> Response:
    return listed(ctx, "datasets", ctx.root.tracker.datasets.listing(ctx.user, match=record_filter(ctx)))


@bp.route("/dataset", methods=["POST"])
@endpoint(bp)
def add_dataset(ctx: Ctx) -> dict[str, Any]:
    """The older shape: ``{"order": "<uuid>", "title": ...}``."""
    ctx.root.tracker.orders.require_orders(ctx.user)  # before the body, which names the order
    order, values = fields.parse_new_dataset(ctx.json())
    if order is None:
        raise ValidationError("order is required (or use POST /order/<id>/dataset)", field="order")
    orders = ctx.root.tracker.orders
    orders.require_add_dataset(ctx.user, order)
    return added(orders.add_dataset(ctx.user, order, values))


@bp.route("/dataset/user", methods=["GET"])
@endpoint(bp)
def my_datasets(ctx: Ctx) -> Response:
    return listed(ctx, "datasets", ctx.root.tracker.datasets.listing(ctx.user, ctx.user.id))


@bp.route("/dataset/{uuid}", methods=["GET"])
@endpoint(bp, auth=OPTIONAL)
def get_dataset(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return {"dataset": ctx.root.tracker.datasets.get(ctx.user, uuid)}


@bp.route("/dataset/{uuid}", methods=["PATCH"])
@endpoint(bp)
def patch_dataset(ctx: Ctx, uuid: str) -> Response:
    datasets = ctx.root.tracker.datasets
    datasets.editable(ctx.user, uuid)
    datasets.update(ctx.user, uuid, fields.parse_dataset(ctx.json(), partial=True))
    return done()


@bp.route("/dataset/{uuid}", methods=["DELETE"])
@endpoint(bp)
def delete_dataset(ctx: Ctx, uuid: str) -> Response:
    ctx.root.tracker.datasets.delete(ctx.user, uuid)
    return done()


@bp.route("/dataset/{uuid}/log", methods=["GET"])
@endpoint(bp)
def dataset_log(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return ctx.root.tracker.datasets.log(ctx.user, uuid)


# -- collections ----------------------------------------------------------------------------
@bp.route("/collection", methods=["GET"])
@endpoint(bp, auth=OPTIONAL)
def list_collections(ctx: Ctx) -> Response:
    return listed(ctx, "collections", ctx.root.tracker.collections.listing(ctx.user, match=record_filter(ctx)))


@bp.route("/collection", methods=["POST"])
@endpoint(bp)
def add_collection(ctx: Ctx) -> dict[str, Any]:
    collections = ctx.root.tracker.collections
    collections.require_add(ctx.user)
    return added(collections.add(ctx.user, fields.parse_collection(ctx.json(), partial=False)))


@bp.route("/collection/user", methods=["GET"])
@endpoint(bp)
def my_collections(ctx: Ctx) -> Response:
    return listed(ctx, "collections", ctx.root.tracker.collections.listing(ctx.user, ctx.user.id))


@bp.route("/collection/{uuid}", methods=["GET"])
@endpoint(bp, auth=OPTIONAL)
def get_collection(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return {"collection": ctx.root.tracker.collections.get(ctx.user, uuid)}


@bp.route("/collection/{uuid}", methods=["PATCH"])
@endpoint(bp)
def patch_collection(ctx: Ctx, uuid: str) -> Response:
    collections = ctx.root.tracker.collections
    collections.editable(ctx.user, uuid)
    collections.update(ctx.user, uuid, fields.parse_collection(ctx.json(), partial=True))
    return done()


@bp.route("/collection/{uuid}", methods=["DELETE"])
@endpoint(bp)
def delete_collection(ctx: Ctx, uuid: str) -> Response:
    ctx.root.tracker.collections.delete(ctx.user, uuid)
    return done()


@bp.route("/collection/{uuid}/log", methods=["GET"])
@endpoint(bp)
def collection_log(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return ctx.root.tracker.collections.log(ctx.user, uuid)
