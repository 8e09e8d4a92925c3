"""/archives: long-term archival of datasets (OAIS SIP → AIP), and each archive's steps."""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.validation import MAX_PAGE_SIZE, MAX_RESULT_WINDOW, parse_positive_int, parse_uuid
from chalicelib.errors import ValidationError
from chalicelib.routes._http import Ctx, endpoint, entry_base_uri
from chalicelib.routes._pages import paged_response

bp = Blueprint(__name__)
ARCHIVE_ID = re.compile(r"ar-[0-9a-f]{24}")


@bp.route("/datasets/{uuid}/archive", methods=["POST"])
@endpoint(bp)
def archive_dataset(ctx: Ctx, uuid: str) -> Response:
    """Start archiving the dataset's current content: 202 with the archive; 409 (ArchiveId) if it is already."""
    archive = ctx.root.archives.request(ctx.user, parse_uuid(uuid), entry_base_uri(ctx))
    return Response(body=archive, status_code=202, headers={"Location": f"/archives/{archive['id']}"})


@bp.route("/archives", methods=["GET"])
@endpoint(bp)
def list_archives(ctx: Ctx) -> Response:
    dataset = ctx.query_one("dataset")
    page = ctx.root.archives.find(
        ctx.user,
        ctx.query_one("status"),
        parse_uuid(dataset) if dataset is not None else None,
        parse_positive_int(ctx.query_one("page") or "1", "page", MAX_RESULT_WINDOW),
        parse_positive_int(ctx.query_one("page_size") or "20", "page_size", MAX_PAGE_SIZE),
    )
    return paged_response("/archives", ctx.query(), page.items, page.total, page.page, page.page_size)


@bp.route("/archives", methods=["POST"])
@endpoint(bp)
def deposit(ctx: Ctx) -> Response:
    """A presigned upload for a serialized bag (SIP) that is archived once uploaded."""
    # the body is read once the caller is known to may deposit (authorize, then validate)
    return Response(body=ctx.root.archives.deposit_upload(ctx.user, ctx.json), status_code=201)


@bp.route("/archives/{archive_id}/download", methods=["GET"])
@endpoint(bp)
def download_archive(ctx: Ctx, archive_id: str) -> Response:
    """Links to the AIP's files (200), or 202 while they are being restored from cold storage."""
    result = ctx.root.archives.download(ctx.user, _archive_id(archive_id), ctx.query_one("after") or "")
    if result["status"] == "restoring":
        return Response(body=result, status_code=202, headers={"Retry-After": str(result["retry_after_seconds"])})
    return Response(body=result, status_code=200)


@bp.route("/archives/{archive_id}", methods=["GET"])
@endpoint(bp)
def get_archive(ctx: Ctx, archive_id: str) -> dict[str, Any]:
    return ctx.root.archives.get(ctx.user, _archive_id(archive_id))


@bp.route("/archives/{archive_id}/retry", methods=["POST"])
@endpoint(bp)
def retry_archive(ctx: Ctx, archive_id: str) -> Response:
    return Response(body=ctx.root.archives.retry(ctx.user, _archive_id(archive_id)), status_code=202)


def _archive_id(raw: str) -> str:
    if not ARCHIVE_ID.fullmatch(raw):
        raise ValidationError("not an archive id", field="archive_id")
    return raw
