"""/datasets/{uuid}/export/{format}: a dataset's record in another standard's format."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.catalogue.validation import parse_uuid
from chalicelib.exports.service import Export
from chalicelib.routes._http import Ctx, endpoint, entry_base_uri

bp = Blueprint(__name__)


@bp.route("/datasets/{uuid}/export/{format}", methods=["GET"])
@endpoint(bp)
def export_dataset(ctx: Ctx, uuid: str, format: str) -> Response:
    """The dataset's record as DataCite 4.5 JSON or XML, schema.org JSON-LD… (see `format`).

    The record you are shown by `GET /datasets/{uuid}` (`?base_uri=` picks the entry), with
    only the replicas it lists; registered entries only. `GET /datasets/{uuid}` answers the
    same exports to an `Accept` header naming their media types. An unknown dataset, one you
    may not see and an unknown format are all 404 (the last naming the formats).
    """
    return export_response(ctx.root.exports.export(ctx.user, parse_uuid(uuid), format, entry_base_uri(ctx)))


def export_response(export: Export) -> Response:
    """An export as sent: its bytes as UTF-8 text (API Gateway carries text bodies), a JSON
    value as JSON, under the format's media type."""
    body = export.body.decode("utf-8") if isinstance(export.body, bytes) else export.body
    return Response(body=body, status_code=200, headers={"Content-Type": export.media_type})
