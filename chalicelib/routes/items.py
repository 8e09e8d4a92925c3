"""/datasets/{uuid}/items/{id}/url: links to a dataset's files, decided by the catalogue."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.catalogue.validation import parse_uuid
from chalicelib.routes._http import Ctx, endpoint, entry_base_uri

bp = Blueprint(__name__)


@bp.route("/datasets/{uuid}/items/{id}/url", methods=["GET"])
@endpoint(bp)
def item_url(ctx: Ctx, uuid: str, id: str) -> dict[str, Any]:
    """A short-lived link to download one file of a dataset.

    `id` is the item's id in the dataset's manifest (`GET /datasets/{uuid}/manifest`). The answer
    `{"url", "expires_at", "item": {"id", "relpath", "size_in_bytes"}, "base_uri"}` holds a
    presigned S3 GET of the item (saved as the last part of its relpath), valid until
    `expires_at` (epoch seconds), in a replica under `base_uri`: the one asked for with
    `?base_uri=`, or the first you may search whose replica holds the file. Files of dtool
    datasets, sidecar folders and folder bags in S3 are linked; records, facility data groups,
    submissions, serialized bags and the archive's packages are not. An unknown dataset, one you
    may not search, an id not in its manifest and a file that cannot be linked are all 404.
    """
    return ctx.root.item_links.item_url(ctx.user, parse_uuid(uuid), id, entry_base_uri(ctx))
