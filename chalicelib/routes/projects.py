"""/projects and /collections: the Data Tracker's orders (the catalogue's projects, with their
datasets) and collections in the catalogue's own API style, over the same services as
``/api/v1`` (:mod:`chalicelib.routes.tracker_api`): one data path, one permission check.

Lists are paged as ``/datasets`` is (``items``, ``total``, ``X-Total-Count``, ``Link``) and
filtered by ``q`` (words), ``tag`` (``key:value`` or a word; repeatable) and ``editor`` (a
user id); creating answers 201 with the record and ``Location``; ``PATCH`` takes an optional
``version`` (409 with ``CurrentVersion`` when the record moved on) and answers the record;
``DELETE`` answers 204.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.validation import require_object
from chalicelib.errors import ValidationError
from chalicelib.routes._http import Ctx, created, endpoint
from chalicelib.routes._pages import paged_response
from chalicelib.routes._smorest import parse_paging
from chalicelib.routes.exports import export_response
from chalicelib.routes.tracker_api import record_filter
from chalicelib.tracker import fields

bp = Blueprint(__name__)


def paged(ctx: Ctx, items: list[dict[str, Any]]) -> Response:
    page, page_size = parse_paging(ctx)
    start = (page - 1) * page_size
    return paged_response(ctx.request.path, ctx.query(), items[start : start + page_size], len(items), page, page_size)


def versioned(body: Any) -> tuple[dict[str, Any], int | None]:
    """A PATCH body and its optional ``version``."""
    data = dict(require_object(body))
    version = data.pop("version", None)
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise ValidationError("version must be a whole number, 1 or more", field="version")
    return data, version


def no_content() -> Response:
    return Response(body="", status_code=204)


# -- projects (orders) ----------------------------------------------------------------------
@bp.route("/projects", methods=["GET"])
@endpoint(bp)
def list_projects(ctx: Ctx) -> Response:
    """Orders (with ORDERS: those you edit; all with DATA_MANAGEMENT) and facility proposals
    (those you are a member of; all for admins), each with its ``kind``."""
    return paged(ctx, ctx.root.tracker.projects.listing(ctx.user, match=record_filter(ctx)))


@bp.route("/projects", methods=["POST"])
@endpoint(bp)
def add_project(ctx: Ctx) -> Response:
    orders = ctx.root.tracker.orders
    orders.require_add(ctx.user)
    uuid = orders.add(ctx.user, fields.parse_order(ctx.json(), partial=False))
    return created(orders.get(ctx.user, uuid), f"/projects/{uuid}")


@bp.route("/projects/{uuid}", methods=["GET"])
@endpoint(bp)
def get_project(ctx: Ctx, uuid: str) -> Any:
    """An order or facility proposal. An `Accept` header naming an export's media type gets
    that export, as `GET /projects/{uuid}/export/{format}` answers it; one that allows none of
    them (nor `application/json`) is 406."""
    export = ctx.root.record_exports.negotiated(ctx.user, "project", uuid, ctx.header("accept"))
    if export is not None:
        return export_response(export)
    return ctx.root.tracker.projects.get(ctx.user, uuid)


@bp.route("/projects/{uuid}", methods=["PATCH"])
@endpoint(bp)
def patch_project(ctx: Ctx, uuid: str) -> dict[str, Any]:
    orders = ctx.root.tracker.orders
    orders.order(ctx.user, uuid)
    body, version = versioned(ctx.json())
    return orders.update(ctx.user, uuid, fields.parse_order(body, partial=True), version)


@bp.route("/projects/{uuid}", methods=["DELETE"])
@endpoint(bp)
def delete_project(ctx: Ctx, uuid: str) -> Response:
    ctx.root.tracker.orders.delete(ctx.user, uuid)
    return no_content()


@bp.route("/projects/{uuid}/log", methods=["GET"])
@endpoint(bp)
def project_log(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return ctx.root.tracker.orders.log(ctx.user, uuid)


@bp.route("/projects/{uuid}/datasets", methods=["GET"])
@endpoint(bp)
def list_project_datasets(ctx: Ctx, uuid: str) -> Response:
    ctx.root.tracker.orders.order(ctx.user, uuid)
    rows = ctx.root.tracker.datasets.listing(ctx.user, match=record_filter(ctx), order=uuid)
    return paged(ctx, rows)


@bp.route("/projects/{uuid}/datasets", methods=["POST"])
@endpoint(bp)
def add_project_dataset(ctx: Ctx, uuid: str) -> Response:
    t = ctx.root.tracker
    t.orders.require_add_dataset(ctx.user, uuid)
    dataset = t.orders.add_dataset(ctx.user, uuid, fields.parse_dataset(ctx.json(), partial=False))
    return created(t.datasets.get(ctx.user, dataset), f"/projects/{uuid}/datasets/{dataset}")


@bp.route("/projects/{uuid}/datasets/{dataset}", methods=["GET"])
@endpoint(bp)
def get_project_dataset(ctx: Ctx, uuid: str, dataset: str) -> dict[str, Any]:
    return ctx.root.tracker.datasets.get(ctx.user, dataset, order=uuid)


@bp.route("/projects/{uuid}/datasets/{dataset}", methods=["PATCH"])
@endpoint(bp)
def patch_project_dataset(ctx: Ctx, uuid: str, dataset: str) -> dict[str, Any]:
    datasets = ctx.root.tracker.datasets
    datasets.editable(ctx.user, dataset, order=uuid)
    body, version = versioned(ctx.json())
    return datasets.update(ctx.user, dataset, fields.parse_dataset(body, partial=True), version)


@bp.route("/projects/{uuid}/datasets/{dataset}", methods=["DELETE"])
@endpoint(bp)
def delete_project_dataset(ctx: Ctx, uuid: str, dataset: str) -> Response:
    datasets = ctx.root.tracker.datasets
    datasets.editable(ctx.user, dataset, order=uuid)
    datasets.delete(ctx.user, dataset)
    return no_content()


@bp.route("/projects/{uuid}/datasets/{dataset}/log", methods=["GET"])
@endpoint(bp)
def project_dataset_log(ctx: Ctx, uuid: str, dataset: str) -> dict[str, Any]:
    return ctx.root.tracker.datasets.log(ctx.user, dataset)


# -- collections ----------------------------------------------------------------------------
@bp.route("/collections", methods=["GET"])
@endpoint(bp)
def list_collections(ctx: Ctx) -> Response:
    return paged(ctx, ctx.root.tracker.collections.listing(ctx.user, match=record_filter(ctx)))


@bp.route("/collections", methods=["POST"])
@endpoint(bp)
def add_collection(ctx: Ctx) -> Response:
    collections = ctx.root.tracker.collections
    collections.require_add(ctx.user)
    uuid = collections.add(ctx.user, fields.parse_collection(ctx.json(), partial=False))
    return created(collections.get(ctx.user, uuid), f"/collections/{uuid}")


@bp.route("/collections/{uuid}", methods=["GET"])
@endpoint(bp)
def get_collection(ctx: Ctx, uuid: str) -> Any:
    """A collection. An `Accept` header naming an export's media type gets that export, as
    `GET /collections/{uuid}/export/{format}` answers it; one that allows none of them (nor
    `application/json`) is 406."""
    export = ctx.root.record_exports.negotiated(ctx.user, "collection", uuid, ctx.header("accept"))
    if export is not None:
        return export_response(export)
    return ctx.root.tracker.collections.get(ctx.user, uuid)


@bp.route("/collections/{uuid}", methods=["PATCH"])
@endpoint(bp)
def patch_collection(ctx: Ctx, uuid: str) -> dict[str, Any]:
    collections = ctx.root.tracker.collections
    collections.editable(ctx.user, uuid)
    body, version = versioned(ctx.json())
    return collections.update(ctx.user, uuid, fields.parse_collection(body, partial=True), version)


@bp.route("/collections/{uuid}", methods=["DELETE"])
@endpoint(bp)
def delete_collection(ctx: Ctx, uuid: str) -> Response:
    ctx.root.tracker.collections.delete(ctx.user, uuid)
    return no_content()


@bp.route("/collections/{uuid}/log", methods=["GET"])
@endpoint(bp)
def collection_log(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return ctx.root.tracker.collections.log(ctx.user, uuid)
