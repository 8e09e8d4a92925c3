"""/projects/{uuid}/export/{format} and /collections/{uuid}/export/{format}: a project's or
collection's record in another standard's format (those with a place for a group of datasets)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.routes._http import Ctx, endpoint
from chalicelib.routes.exports import export_response

bp = Blueprint(__name__)


@bp.route("/projects/{uuid}/export/{format}", methods=["GET"])
@endpoint(bp)
def export_project(ctx: Ctx, uuid: str, format: str) -> Response:
    """The project's record as DataCite 4.5 (a `Collection` that `HasPart` its datasets),
    schema.org, DCAT-AP or RO-Crate (see `format`; no PREMIS).

    The record `GET /projects/{uuid}` shows you, with only the datasets you may see in the
    catalogue. `GET /projects/{uuid}` answers the same exports to an `Accept` header naming
    their media types. An unknown project, one you may not see and an unknown format are all
    404 (the last naming the formats).
    """
    return export_response(ctx.root.record_exports.export(ctx.user, "project", uuid, format))


@bp.route("/collections/{uuid}/export/{format}", methods=["GET"])
@endpoint(bp)
def export_collection(ctx: Ctx, uuid: str, format: str) -> Response:
    """The collection's record as DataCite 4.5 (a `Collection` that `HasPart` its datasets),
    schema.org, DCAT-AP or RO-Crate (see `format`; no PREMIS).

    The record `GET /collections/{uuid}` shows you, with only the datasets you may see in the
    catalogue. `GET /collections/{uuid}` answers the same exports to an `Accept` header naming
    their media types. An unknown collection, one you may not see and an unknown format are
    all 404 (the last naming the formats).
    """
    return export_response(ctx.root.record_exports.export(ctx.user, "collection", uuid, format))
