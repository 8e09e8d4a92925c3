"""/datasets: register, look up, edit, search and summarize datasets."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.datasets import BlobLink
from chalicelib.catalogue.validation import (
    MAX_RESULT_WINDOW,
    parse_facets,
    parse_patch,
    parse_positive_int,
    parse_registration,
    parse_search,
    parse_uuid,
)
from chalicelib.errors import ValidationError
from chalicelib.identity.permissions import REGISTRARS
from chalicelib.routes._http import Ctx, created, endpoint, entry_base_uri
from chalicelib.routes._pages import paged_response
from chalicelib.routes.exports import export_response

bp = Blueprint(__name__)
MAX_LOG_PAGE = 100
MAX_LOG_CURSOR_CHARS = 512


@bp.route("/datasets", methods=["POST"])
@endpoint(bp, gate=REGISTRARS)
def register_dataset(ctx: Ctx) -> Response:
    result = ctx.root.catalogue.register(ctx.user, parse_registration(ctx.json()))
    body = {"status": result.status, "dataset": result.dataset}
    if result.created:
        return created(body, f"/datasets/{result.dataset['uuid']}")
    return Response(body=body, status_code=200)


@bp.route("/datasets", methods=["GET"])
@endpoint(bp)
def search_datasets(ctx: Ctx) -> Response:
    query = ctx.query()
    params = parse_search(query, ctx.root.settings.max_query_chars)
    page = ctx.root.catalogue.search(ctx.user, params)
    return paged_response(
        "/datasets",
        query,
        page.items,
        page.total,
        page.page,
        page.page_size,
        next_after=page.next_after,
        cursors=True,
        window=MAX_RESULT_WINDOW,
    )


@bp.route("/datasets/summary", methods=["GET"])
@endpoint(bp)
def summary(ctx: Ctx) -> dict[str, Any]:
    return ctx.root.summary_counts.summary_for(ctx.user)


@bp.route("/datasets/facets", methods=["GET"])
@endpoint(bp)
def dataset_facets(ctx: Ctx) -> dict[str, Any]:
    """Counts per base URI, creator, tag, project and type of the entries a search finds.

    The search's text and filters (``q``, ``base_uri``, ``creator``, ``tag``, ``uuid``,
    ``project``, ``type``), over what you may search: ``{"total": n, "facets": {"base_uri":
    [{"value", "count"}, ...], "creator": [...], "tag": [...], "project": [...], "type":
    [...]}}``, each list the most
    frequent first (ties by value), at most 50 values. Counts are entries (a dataset under two
    base URIs you may search counts twice), as the search's ``total``: a value's count is the
    total of the search filtered by it.
    """
    return ctx.root.catalogue.facets(ctx.user, parse_facets(ctx.query(), ctx.root.settings.max_query_chars))


@bp.route("/datasets/{uuid}", methods=["GET"])
@endpoint(bp)
def get_dataset(ctx: Ctx, uuid: str) -> Any:
    """A dataset's record: the first entry you may see (or the one under `?base_uri=`).

    An `Accept` header naming an export's media type gets that export instead, as
    `GET /datasets/{uuid}/export/{format}` answers it: `application/vnd.datacite.datacite+json`,
    `application/vnd.datacite.datacite+xml`, `application/ld+json` (schema.org)…; none,
    `application/json` or `*/*` get the record; one that allows none of these is 406.
    """
    uuid = parse_uuid(uuid)
    # an Accept naming an export's media type gets that export (README "Exports")
    export = ctx.root.exports.negotiated(ctx.user, uuid, ctx.header("accept"), entry_base_uri(ctx))
    if export is not None:
        return export_response(export)
    return ctx.root.catalogue.get_dataset(ctx.user, uuid, entry_base_uri(ctx))


@bp.route("/datasets/{uuid}", methods=["PATCH"])
@endpoint(bp)
def patch_dataset(ctx: Ctx, uuid: str) -> Response:
    # the body is read once the caller is known to may edit the entry (authorize, then validate)
    dataset = ctx.root.catalogue.patch_dataset(
        ctx.user, parse_uuid(uuid), lambda: parse_patch(ctx.json(), ctx.header("if-match")), entry_base_uri(ctx)
    )
    return Response(body=dataset, status_code=200, headers={"ETag": f'"{dataset["version"]}"'})


@bp.route("/datasets/{uuid}/replicas", methods=["DELETE"])
@endpoint(bp, gate=REGISTRARS)
def delete_replica(ctx: Ctx, uuid: str) -> dict[str, Any]:
    return ctx.root.catalogue.delete_replica(ctx.user, parse_uuid(uuid), ctx.query_one("uri"))


@bp.route("/datasets/{uuid}/readme", methods=["GET"])
@endpoint(bp)
def get_readme(ctx: Ctx, uuid: str) -> Any:
    uuid = parse_uuid(uuid)
    readme = ctx.root.catalogue.get_readme(ctx.user, uuid, entry_base_uri(ctx))
    return see_other(readme) if isinstance(readme, BlobLink) else {"uuid": uuid, "readme": readme}


@bp.route("/datasets/{uuid}/manifest", methods=["GET"])
@endpoint(bp)
def get_manifest(ctx: Ctx, uuid: str) -> Any:
    manifest = ctx.root.catalogue.get_manifest(ctx.user, parse_uuid(uuid), entry_base_uri(ctx))
    return see_other(manifest) if isinstance(manifest, BlobLink) else manifest


def see_other(link: BlobLink) -> Response:
    """303 to a short-lived link: the part is larger than one API response may be."""
    return Response(body={"location": link.url, "bytes": link.size}, status_code=303, headers={"Location": link.url})


@bp.route("/datasets/{uuid}/annotations", methods=["GET"])
@endpoint(bp)
def get_annotations(ctx: Ctx, uuid: str) -> dict[str, Any]:
    uuid = parse_uuid(uuid)
    return {"uuid": uuid, "annotations": ctx.root.catalogue.get_annotations(ctx.user, uuid, entry_base_uri(ctx))}


@bp.route("/datasets/{uuid}/tags", methods=["GET"])
@endpoint(bp)
def get_tags(ctx: Ctx, uuid: str) -> dict[str, Any]:
    uuid = parse_uuid(uuid)
    return {"uuid": uuid, "tags": ctx.root.catalogue.get_tags(ctx.user, uuid, entry_base_uri(ctx))}


@bp.route("/datasets/{uuid}/log", methods=["GET"])
@endpoint(bp)
def dataset_log(ctx: Ctx, uuid: str) -> Response:
    limit, after = log_params(ctx)
    page = ctx.root.catalogue.dataset_log(ctx.user, parse_uuid(uuid), limit, after, entry_base_uri(ctx))
    return log_response(page.entries, page.next_after)


def log_params(ctx: Ctx) -> tuple[int, str | None]:
    limit = parse_positive_int(ctx.query_one("limit") or "50", "limit", MAX_LOG_PAGE)
    after = ctx.query_one("after")
    if after is not None and len(after) > MAX_LOG_CURSOR_CHARS:
        raise ValidationError("after is too long", field="after")
    return limit, after


def log_response(entries: list[dict[str, Any]], next_after: str | None) -> Response:
    return Response(body={"entries": entries, "next": next_after}, status_code=200)
