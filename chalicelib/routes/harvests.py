"""/harvests: an upstream record (InvenioRDM, Zenodo) harvested into the archive."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.routes._http import Ctx, endpoint

bp = Blueprint(__name__)


@bp.route("/harvests", methods=["POST"])
@endpoint(bp)
def harvest(ctx: Ctx) -> Response:
    """Harvest an upstream record into the archive: 202 with the archive; 409 (ArchiveId) if unchanged.

    `{"source": "https://zenodo.org/records/<id>"}` (or an InvenioRDM host's `/records/<id>`,
    or its `/api/records/<id>`): the record's JSON and files are read from its REST API (the
    host must be allow-listed; files checked against the record's md5), packed as a BagIt bag
    with the upstream metadata, deposited under the deposit base URI and archived; follow the
    archive with `GET /archives/{id}`. Needs register permission on the deposit base URI (or
    admin). A source that cannot be harvested (its form, a host not allow-listed, an address
    that is not public, a redirect elsewhere, a cap, a missing record, a checksum) is 400 and
    nothing is deposited; an upstream that cannot be read is 502.
    """
    # the body is read once the caller is known to may harvest (authorize, then validate)
    result = ctx.root.harvests.harvest(ctx.user, ctx.json)
    headers: dict[str, str | list[str]] = {"Location": f"/archives/{result['archive']}"} if result["archive"] else {}
    return Response(body=result, status_code=202, headers=headers)
