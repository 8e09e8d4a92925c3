"""The dserver API (dservercore 0.22, what dtool-lookup-api 0.10.3 speaks) over the same
services as our own routes. Shapes from ``../shared/research/dserver.md`` §3-4; the paths
shared with dtool-lookup-server 0.18 (``/config/*``) answer in a form both generations read.

Visibility is ours, not dserver's: a dataset the caller may not see is never there (``[]``
or 404), where dserver answered 403.

A URI in a path is one segment, ``quote_plus``-encoded as the client sends it
(``/uris/s3%3A%2F%2Fbucket%2F<uuid>``), or dserver's suffix form in three segments
(``/uris/s3/bucket/<uuid>``); ``chalice local`` and API Gateway cannot route the raw URI
(``docs/research/uri-in-path.md``)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import __version__
from chalicelib.catalogue.datasets import BlobLink
from chalicelib.catalogue.validation import parse_registration, parse_username, parse_uuid
from chalicelib.domain import KIND_DTOOL
from chalicelib.errors import ValidationError
from chalicelib.identity.permissions import REGISTRARS
from chalicelib.routes._dtool import SORT_KEYS, entry_rows, parse_search_body, row, search_query
from chalicelib.routes._http import Ctx, endpoint
from chalicelib.routes._smorest import one_page, page_response, parse_paging, parse_sort, sorted_rows
from chalicelib.routes.datasets import see_other
from chalicelib.routes.health import public_config

bp = Blueprint(__name__)

SORT_FIELDS = tuple(sorted(SORT_KEYS))
PAGING = {"page", "page_size", "sort"}


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


@bp.route("/me/summary", methods=["GET"])
@endpoint(bp)
def my_summary(ctx: Ctx) -> dict[str, Any]:
    return ctx.root.summary_counts.summary_for(ctx.user)


@bp.route("/users/{username}/summary", methods=["GET"])
@endpoint(bp)
def user_summary(ctx: Ctx, username: str) -> dict[str, Any]:
    """What ``username`` sees, for themself or an admin."""
    return ctx.root.summary_counts.summary_for(ctx.root.access.user_as_seen(ctx.user, parse_username(username)))


# -- datasets ---------------------------------------------------------------------------
@bp.route("/uris", methods=["GET"])
@endpoint(bp)
def list_datasets(ctx: Ctx) -> Response:
    """Filters in the query (a list filter repeats its key), as dserver's GET /uris."""
    query = ctx.query()
    fields: dict[str, Any] = {k: v for k, v in query.items() if k not in PAGING}
    if "free_text" in fields:
        fields["free_text"] = ctx.query_one("free_text")
    return _search(ctx, parse_search_body(fields, ctx.root.settings.max_query_chars))


@bp.route("/uris", methods=["POST"])
@endpoint(bp)
def search_datasets(ctx: Ctx) -> Response:
    """Filters in the JSON body (none: everything the caller may see), paging in the query."""
    extra = sorted(set(ctx.query()) - PAGING)
    if extra:
        raise ValidationError(f"unknown parameter: {extra[0]} (filters go in the body)", field=extra[0])
    body = ctx.json() if ctx.request.raw_body else None
    return _search(ctx, parse_search_body(body, ctx.root.settings.max_query_chars))


def _search(ctx: Ctx, fields: dict[str, Any]) -> Response:
    page, page_size = parse_paging(ctx)
    sort = parse_sort(ctx.query_one("sort"), SORT_FIELDS, "uri")
    result = ctx.root.catalogue.search(ctx.user, search_query(fields, sort, page, page_size))
    return one_page([row(item) for item in result.items], result.total, page, page_size, sort)


@bp.route("/uris/{uri}", methods=["GET"])
@endpoint(bp)
def get_dataset(ctx: Ctx, uri: str) -> dict[str, Any]:
    return entry_rows(ctx.root.by_uri.entry(ctx.user, uri), uri)[0]


@bp.route("/uris/{scheme}/{bucket}/{name}", methods=["GET"])
@endpoint(bp)
def get_dataset_by_suffix(ctx: Ctx, scheme: str, bucket: str, name: str) -> dict[str, Any]:
    uri = f"{scheme}://{bucket}/{name}"
    return entry_rows(ctx.root.by_uri.entry(ctx.user, uri), uri)[0]


@bp.route("/uris/{uri}", methods=["PUT"])
@endpoint(bp, gate=REGISTRARS)
def register_dataset(ctx: Ctx, uri: str) -> Response:
    return _register(ctx, uri)


@bp.route("/uris/{scheme}/{bucket}/{name}", methods=["PUT"])
@endpoint(bp, gate=REGISTRARS)
def register_dataset_by_suffix(ctx: Ctx, scheme: str, bucket: str, name: str) -> Response:
    return _register(ctx, f"{scheme}://{bucket}/{name}")


def _register(ctx: Ctx, uri: str) -> Response:
    """201 for a new dataset or replica, 200 when it replaced or matched what was there."""
    result = ctx.root.by_uri.register(ctx.user, uri, parse_registration(ctx.json(), KIND_DTOOL))
    return Response(body={"uri": uri, "status": result.status}, status_code=201 if result.created else 200)


@bp.route("/uris/{uri}", methods=["DELETE"])
@endpoint(bp, gate=REGISTRARS)
def delete_dataset(ctx: Ctx, uri: str) -> dict[str, Any]:
    return ctx.root.by_uri.delete(ctx.user, uri)


@bp.route("/uris/{scheme}/{bucket}/{name}", methods=["DELETE"])
@endpoint(bp, gate=REGISTRARS)
def delete_dataset_by_suffix(ctx: Ctx, scheme: str, bucket: str, name: str) -> dict[str, Any]:
    return ctx.root.by_uri.delete(ctx.user, f"{scheme}://{bucket}/{name}")


@bp.route("/uuids/{uuid}", methods=["GET"])
@endpoint(bp)
def datasets_by_uuid(ctx: Ctx, uuid: str) -> Response:
    """Every dataset (one row per URI) of ``uuid`` the caller may see, paged and sorted."""
    page, page_size = parse_paging(ctx)
    sort = parse_sort(ctx.query_one("sort"), SORT_FIELDS, "uri")
    rows = [r for entry in ctx.root.catalogue.entries(ctx.user, parse_uuid(uuid)) for r in entry_rows(entry)]
    return page_response(sorted_rows(rows, sort), page, page_size, sort)


# -- a dataset's parts, by URI ----------------------------------------------------------
def _readme(ctx: Ctx, uri: str) -> Any:
    readme = ctx.root.by_uri.readme(ctx.user, uri)
    return see_other(readme) if isinstance(readme, BlobLink) else {"readme": readme}


def _manifest(ctx: Ctx, uri: str) -> Any:
    manifest = ctx.root.by_uri.manifest(ctx.user, uri)
    return see_other(manifest) if isinstance(manifest, BlobLink) else manifest


@bp.route("/readmes/{uri}", methods=["GET"])
@endpoint(bp)
def get_readme(ctx: Ctx, uri: str) -> Any:
    return _readme(ctx, uri)


@bp.route("/readmes/{scheme}/{bucket}/{name}", methods=["GET"])
@endpoint(bp)
def get_readme_by_suffix(ctx: Ctx, scheme: str, bucket: str, name: str) -> Any:
    return _readme(ctx, f"{scheme}://{bucket}/{name}")


@bp.route("/manifests/{uri}", methods=["GET"])
@endpoint(bp)
def get_manifest(ctx: Ctx, uri: str) -> Any:
    return _manifest(ctx, uri)


@bp.route("/manifests/{scheme}/{bucket}/{name}", methods=["GET"])
@endpoint(bp)
def get_manifest_by_suffix(ctx: Ctx, scheme: str, bucket: str, name: str) -> Any:
    return _manifest(ctx, f"{scheme}://{bucket}/{name}")


@bp.route("/annotations/{uri}", methods=["GET"])
@endpoint(bp)
def get_annotations(ctx: Ctx, uri: str) -> dict[str, Any]:
    return {"annotations": ctx.root.by_uri.annotations(ctx.user, uri)}


@bp.route("/annotations/{scheme}/{bucket}/{name}", methods=["GET"])
@endpoint(bp)
def get_annotations_by_suffix(ctx: Ctx, scheme: str, bucket: str, name: str) -> dict[str, Any]:
    return {"annotations": ctx.root.by_uri.annotations(ctx.user, f"{scheme}://{bucket}/{name}")}


@bp.route("/tags/{uri}", methods=["GET"])
@endpoint(bp)
def get_tags(ctx: Ctx, uri: str) -> dict[str, Any]:
    return {"tags": ctx.root.by_uri.tags(ctx.user, uri)}


@bp.route("/tags/{scheme}/{bucket}/{name}", methods=["GET"])
@endpoint(bp)
def get_tags_by_suffix(ctx: Ctx, scheme: str, bucket: str, name: str) -> dict[str, Any]:
    return {"tags": ctx.root.by_uri.tags(ctx.user, f"{scheme}://{bucket}/{name}")}
