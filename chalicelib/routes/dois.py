"""/datasets/{uuid}/doi: a dataset's DOI, registered with DataCite (chalicelib.catalogue.dois)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.validation import parse_uuid
from chalicelib.routes._http import Ctx, created, endpoint, entry_base_uri

bp = Blueprint(__name__)


@bp.route("/datasets/{uuid}/doi", methods=["POST"])
@endpoint(bp)
def draft_doi(ctx: Ctx, uuid: str) -> Response:
    """Make a draft DOI for a dataset (201), or return the one it has (200).

    The DOI is `<prefix>/<uuid>`, registered with DataCite as a draft holding the dataset's
    DataCite record. It names one entry of the uuid: the one of `?base_uri=`, or the first you
    may register. Registrars of the entry's base URI and admins only (readers: 403); a DOI of
    the uuid for another entry: 409. No body.
    """
    record, was_created = ctx.root.dois.draft(ctx.user, parse_uuid(uuid), entry_base_uri(ctx))
    if was_created:
        return created(record, f"/datasets/{uuid}/doi")
    return Response(body=record, status_code=200)


@bp.route("/datasets/{uuid}/doi", methods=["GET"])
@endpoint(bp)
def get_doi(ctx: Ctx, uuid: str) -> dict[str, Any]:
    """A dataset's DOI: `{"doi", "url", "state", "published", "uuid", "base_uri", ...}`.

    `state` is DataCite's: `draft`, `registered` (hidden: its base URI is not public, or the
    dataset was removed) or `findable`. Whoever is shown the entry it names reads it; 404
    when there is none.
    """
    return ctx.root.dois.get(ctx.user, parse_uuid(uuid), entry_base_uri(ctx))


@bp.route("/datasets/{uuid}/doi/publish", methods=["POST"])
@endpoint(bp)
def publish_doi(ctx: Ctx, uuid: str) -> dict[str, Any]:
    """Publish a dataset's DOI: findable when its base URI is public, registered (hidden)
    otherwise; it becomes findable when an admin publishes the base URI, and hidden again when
    the base URI is withdrawn or the dataset removed. Its metadata is sent again. Registrars of
    the entry's base URI and admins; DataCite refusing the record: 422 naming its reasons.
    """
    return ctx.root.dois.publish(ctx.user, parse_uuid(uuid), entry_base_uri(ctx))


@bp.route("/datasets/{uuid}/doi", methods=["DELETE"])
@endpoint(bp)
def delete_doi(ctx: Ctx, uuid: str) -> Response:
    """Delete a draft DOI (204); a registered or findable DOI is never deleted (409)."""
    ctx.root.dois.delete_draft(ctx.user, parse_uuid(uuid), entry_base_uri(ctx))
    return Response(body="", status_code=204)
