"""The dserver API (dservercore 0.22, what dtool-lookup-api 0.10.3 speaks) over the same
services as our own routes. Shapes from ``../shared/research/dserver.md`` §3-4; the paths
shared with dtool-lookup-server 0.18 (``/config/*``) answer in a form both generations read.

Visibility is ours, not dserver's: a dataset the caller may not see is never there (``[]``
or 404), where dserver answered 403."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import __version__
from chalicelib.catalogue.validation import parse_uuid
from chalicelib.domain import Dataset
from chalicelib.routes._http import Ctx, endpoint
from chalicelib.routes._smorest import page_response, parse_paging, parse_sort, sorted_rows
from chalicelib.routes.health import public_config

bp = Blueprint(__name__)

# the fields dserver sorts datasets by; its default is the URI
DATASET_SORT_FIELDS = ("base_uri", "created_at", "creator_username", "frozen_at", "name", "uri", "uuid")


@bp.route("/config/info", methods=["GET"])
@endpoint(bp)
def config_info(ctx: Ctx) -> dict[str, Any]:
    """dtool-lookup-api 0.10 reads ``["config"]``, 0.7 only needs a 200 (its token check)."""
    public = public_config(ctx)
    return {**public, "config": public}


@bp.route("/config/versions", methods=["GET"])
@endpoint(bp, auth=False)
def config_versions(ctx: Ctx) -> dict[str, Any]:
    """dserver wraps the versions as ``{"versions": …}``; dtool-lookup-server 0.18 sent them flat."""
    versions = {"catalogue": __version__}
    return {**versions, "versions": versions}


@bp.route("/me", methods=["GET"])
@endpoint(bp)
def me(ctx: Ctx) -> dict[str, Any]:
    user = ctx.user
    return {
        "username": user.username,
        "is_admin": user.is_admin,
        "search_permissions_on_base_uris": sorted(user.search_base_uris),
        "register_permissions_on_base_uris": sorted(user.register_base_uris),
    }


@bp.route("/uuids/{uuid}", methods=["GET"])
@endpoint(bp)
def datasets_by_uuid(ctx: Ctx, uuid: str) -> Response:
    """Every dataset (one row per URI) of ``uuid`` the caller may see, paged and sorted."""
    page, page_size = parse_paging(ctx)
    sort = parse_sort(ctx.query_one("sort"), DATASET_SORT_FIELDS, "uri")
    rows = [row for entry in ctx.root.catalogue.entries(ctx.user, parse_uuid(uuid)) for row in dataset_rows(entry)]
    return page_response(sorted_rows(rows, sort), page, page_size, sort)


def dataset_rows(entry: Dataset) -> list[dict[str, Any]]:
    """dserver's Dataset, once per replica of the entry (dserver keeps one record per URI)."""
    c = entry.content
    return [
        {
            "base_uri": replica.base_uri,
            "uri": replica.uri,
            "uuid": c.uuid,
            "name": c.name,
            "creator_username": c.creator_username,
            "frozen_at": c.frozen_at,
            "created_at": c.created_at,
            "number_of_items": c.number_of_items,
            "size_in_bytes": c.size_in_bytes,
        }
        for replica in entry.replicas
    ]
