"""/facility/{kind}/{id}/log: the audit log of one facility record (our own API, not myMdC's).

Paged as ``/datasets/{uuid}/log`` (``limit``, ``after``; ``{"entries", "next"}``), readable
by whoever may read the record (admins once it is gone); anything else is 404.
"""

from __future__ import annotations

import re

from chalice.app import Blueprint, Response

from chalicelib.errors import NotFound
from chalicelib.routes._http import Ctx, endpoint
from chalicelib.routes.datasets import log_params, log_response

bp = Blueprint(__name__)
_ID_RE = re.compile(r"-?\d{1,38}")  # a facility id: an integer of at most 38 digits (DynamoDB's numbers)


@bp.route("/facility/{kind}/{id}/log", methods=["GET"])
@endpoint(bp)
def facility_record_log(ctx: Ctx, kind: str, id: str) -> Response:
    limit, after = log_params(ctx)
    if not _ID_RE.fullmatch(id):
        raise NotFound(f"no {kind} {id}")  # not an id: a record that does not exist
    page = ctx.root.facility.record_log(ctx.user, kind, int(id), limit, after)
    return log_response(page.entries, page.next_after)
