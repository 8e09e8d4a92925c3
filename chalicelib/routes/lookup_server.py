"""The dtool-lookup-server 0.18 API (what dtool-lookup-api 0.7.0 and the seed README's curl
walkthrough speak) over the same services as our own routes: the catalogue's search,
summary, entries and registration, the datasets named by URI, and access administration.
Shapes from ``../shared/research/dtool-api.md`` §1; ``/config/info`` and ``/config/versions``
are answered by :mod:`chalicelib.routes.dserver` in a form both generations read.

Where 0.18 had defects or told more than it should, our rules stay; the differences:

- **Errors** are JSON ``{"Code", "Message"}`` (plus ``"Field"`` for bad input) with
  ``Content-Type: application/json``, never flask's ``{"code", "status"}`` or
  flask-jwt-extended's ``{"msg"}`` (dtool-lookup-api 0.7 raises on ``msg`` only, so it
  hands our error bodies back as data). Bad input is 400, where 0.18 answered 422 (schema),
  409 (missing key, bad uuid or ``type``) or 500 (non-numeric ``frozen_at``, a missing
  permission list). A bad or missing token is 401, also where 0.18 answered 422.
- **Visibility**: a dataset the caller may not see is absent. ``POST /dataset/readme``,
  ``/manifest`` and ``/annotations`` answer 404 for it and for an unknown URI alike
  (0.18: 400); lookup, list, search and summary cover the base URIs the caller may search,
  every base URI for admins.
- **Administration**: a non-admin gets 403 on ``/admin/*`` (0.18: 404), as on our own
  routes. ``GET /user/info/<other>`` is 403 for a non-admin (0.18: 404), and an unknown user
  is 404 for an admin (0.18: 200 ``{}``).
- **Registration** (register permission on the body's ``base_uri``) accepts what 0.18
  refused with 422: float timestamps, ``dtoolcore_version``, a README given as a mapping
  (stored as YAML text), no ``type``. No register permission is 403 and an unregistered
  base URI 400 (0.18: 401 for both). Every successful registration is 201 ``{"uri"}`` as in
  0.18; registering the same content again changes nothing (0.18 replaced the document).
- **Admin writes answer JSON**, not 0.18's empty ``text/html``: ``POST /admin/user/register``
  201 ``{"registered": [...], "skipped": [...]}`` (existing users skipped, as in 0.18; a single
  object is 400, 0.18: 422); ``POST /admin/base_uri/register`` 201 ``{"base_uri"}``;
  ``POST /admin/permission/update_on_base_uri`` 201 with the base URI's permissions. An
  unknown user in the lists is 400 and nothing changes (0.18 skipped it silently); an
  unknown base URI is 404 (0.18: 500).
- **Rows**: admin lists carry the whole user or base URI record, permissions included
  (0.18: ``{id, username, is_admin}`` and ``{base_uri}``); search hits are dtool's row plus
  ``type`` and ``tags`` (0.18 returned every stored key); lookup gives one row per URI of
  the entries the caller may see. Rows are in URI order (usernames, base URIs for the admin
  lists), where 0.18 gave Mongo's.
- **Paging**: ``page`` from 1, ``page_size`` 1 to 100 (default 10), ``X-Pagination`` as 0.18
  sent it; another query parameter is 400; a page past the end is 200 ``[]`` on every list
  (0.18: 404 on the admin lists); list and search stop at ``page * page_size`` = 10,000
  (the search index's window, 400 beyond).
- **Large parts**: a README or manifest over 4 MiB is ``303 See Other`` to a short-lived
  link (Lambda answers at most 6 MB).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.datasets import BlobLink
from chalicelib.catalogue.validation import (
    UserFields,
    get_str,
    parse_base_uri,
    parse_new_base_uri,
    parse_new_user,
    parse_put_base_uri,
    parse_registration,
    parse_username,
    parse_uuid,
    reject_unknown,
    require_object,
)
from chalicelib.domain import KIND_DTOOL
from chalicelib.errors import ValidationError
from chalicelib.identity.permissions import ADMINS, REGISTRARS
from chalicelib.routes._dtool import entry_rows, parse_search_body, row, search_query
from chalicelib.routes._http import Ctx, created, endpoint
from chalicelib.routes._smorest import Sort, one_page, page_response, parse_paging, sorted_rows
from chalicelib.routes.datasets import see_other

bp = Blueprint(__name__)

PAGING = {"page", "page_size"}
BY_URI: Sort = (("uri", 1),)
BY_USERNAME: Sort = (("username", 1),)
BY_BASE_URI: Sort = (("base_uri", 1),)
MAX_USERS_PER_REGISTRATION = 1000
MAX_URI_CHARS = 2048


# -- datasets ---------------------------------------------------------------------------
@bp.route("/dataset/lookup/{uuid}", methods=["GET"])
@endpoint(bp)
def lookup(ctx: Ctx, uuid: str) -> Response:
    """One row per URI of ``uuid`` the caller may see (``[]`` when none), paged."""
    found = parse_uuid(uuid)
    page, page_size = _paging(ctx)
    rows = [r for entry in ctx.root.catalogue.entries(ctx.user, found) for r in entry_rows(entry)]
    return page_response(sorted_rows(rows, BY_URI), page, page_size)


@bp.route("/dataset/list", methods=["GET"])
@endpoint(bp)
def list_datasets(ctx: Ctx) -> Response:
    page, page_size = _paging(ctx)
    result = ctx.root.catalogue.search(ctx.user, search_query({}, BY_URI, page, page_size))
    return one_page([row(item) for item in result.items], result.total, page, page_size)


@bp.route("/dataset/summary", methods=["GET"])
@endpoint(bp)
def summary(ctx: Ctx) -> dict[str, Any]:
    return ctx.root.summary_counts.summary_for(ctx.user)


@bp.route("/dataset/search", methods=["POST"])
@endpoint(bp)
def search(ctx: Ctx) -> Response:
    """dtool's filters in the body (none: everything the caller may see), paging in the query."""
    page, page_size = _paging(ctx)
    body = ctx.json() if ctx.request.raw_body else None
    fields = parse_search_body(body, ctx.root.settings.max_query_chars)
    result = ctx.root.catalogue.search(ctx.user, search_query(fields, BY_URI, page, page_size))
    return one_page([_hit(item) for item in result.items], result.total, page, page_size)


@bp.route("/dataset/register", methods=["POST"])
@endpoint(bp, gate=REGISTRARS)
def register(ctx: Ctx) -> Response:
    """201 ``{"uri"}`` for every successful registration, new or not, as 0.18 answered."""
    reg = parse_registration(ctx.json(), KIND_DTOOL)
    ctx.root.catalogue.register(ctx.user, reg)
    return created({"uri": reg.uri})


@bp.route("/dataset/readme", methods=["POST"])
@endpoint(bp)
def get_readme(ctx: Ctx) -> Response:
    """The README text as a JSON string."""
    text = ctx.root.by_uri.readme(ctx.user, _uri(ctx.json()))
    if isinstance(text, BlobLink):
        return see_other(text)
    return Response(body=json.dumps(text), status_code=200, headers={"Content-Type": "application/json"})


@bp.route("/dataset/manifest", methods=["POST"])
@endpoint(bp)
def get_manifest(ctx: Ctx) -> Any:
    found = ctx.root.by_uri.manifest(ctx.user, _uri(ctx.json()))
    return see_other(found) if isinstance(found, BlobLink) else found


@bp.route("/dataset/annotations", methods=["POST"])
@endpoint(bp)
def get_annotations(ctx: Ctx) -> dict[str, Any]:
    return ctx.root.by_uri.annotations(ctx.user, _uri(ctx.json()))


# -- users --------------------------------------------------------------------------------
@bp.route("/user/info/{username}", methods=["GET"])
@endpoint(bp)
def user_info(ctx: Ctx, username: str) -> dict[str, Any]:
    """The user's record with its permissions: the caller's own, or anyone's for an admin."""
    return ctx.root.access.get_user(ctx.user, parse_username(username))


@bp.route("/admin/user/list", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def list_users(ctx: Ctx) -> Response:
    page, page_size = _paging(ctx)
    return page_response(sorted_rows(ctx.root.access.list_users(ctx.user), BY_USERNAME), page, page_size)


@bp.route("/admin/user/register", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def register_users(ctx: Ctx) -> Response:
    """A JSON array of ``{username, is_admin?}``; users that exist already are skipped."""
    added, skipped = ctx.root.access.add_users(ctx.user, _users(ctx.json()))
    return created({"registered": added, "skipped": skipped})


# -- base URIs and permissions ------------------------------------------------------------
@bp.route("/admin/base_uri/register", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def register_base_uri(ctx: Ctx) -> Response:
    """Idempotent: a base URI registered already stays as it is (201 either way, as 0.18)."""
    base_uri, description = parse_new_base_uri(ctx.json())
    ctx.root.access.ensure_base_uri(ctx.user, base_uri, description)
    return created({"base_uri": base_uri})


@bp.route("/admin/base_uri/list", methods=["GET"])
@endpoint(bp, gate=ADMINS)
def list_base_uris(ctx: Ctx) -> Response:
    page, page_size = _paging(ctx)
    return page_response(sorted_rows(ctx.root.access.list_base_uris(ctx.user), BY_BASE_URI), page, page_size)


@bp.route("/admin/permission/info", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def permission_info(ctx: Ctx) -> dict[str, Any]:
    """``{base_uri, users_with_search_permissions, users_with_register_permissions, …}``."""
    return ctx.root.access.get_base_uri(ctx.user, _base_uri(ctx.json()))


@bp.route("/admin/permission/update_on_base_uri", methods=["POST"])
@endpoint(bp, gate=ADMINS)
def update_permissions(ctx: Ctx) -> Response:
    """Both user lists replace who may search and register on the base URI."""
    base_uri, search_users, register_users = _permissions(ctx.json())
    return created(ctx.root.access.set_permissions(ctx.user, base_uri, search_users, register_users))


# -- input ---------------------------------------------------------------------------------
def _paging(ctx: Ctx) -> tuple[int, int]:
    """``page`` and ``page_size``; any other query parameter is refused."""
    extra = sorted(set(ctx.query()) - PAGING)
    if extra:
        raise ValidationError(f"unknown parameter: {extra[0]} (only page and page_size)", field=extra[0])
    return parse_paging(ctx)


def _hit(item: Mapping[str, Any]) -> dict[str, Any]:
    """A search hit as 0.18 returned it: dtool's row, ``type`` and ``tags``."""
    return {**row(item), "type": "dataset", "tags": list(item.get("tags") or ())}


def _uri(body: object) -> str:
    """``{"uri": …}``, the body of the POSTs that read a part of a dataset."""
    data = require_object(body)
    reject_unknown(data, {"uri"})
    return get_str(data, "uri", max_len=MAX_URI_CHARS, min_len=1)


def _base_uri(body: object) -> str:
    data = require_object(body)
    reject_unknown(data, {"base_uri"})
    return parse_base_uri(data.get("base_uri"))


def _permissions(body: object) -> tuple[str, frozenset[str], frozenset[str]]:
    """``{base_uri, users_with_search_permissions, users_with_register_permissions}``, all required."""
    data = require_object(body)
    base_uri = parse_base_uri(data.get("base_uri"))
    search_users, register_users = parse_put_base_uri(data, base_uri)
    return base_uri, search_users, register_users


def _users(body: object) -> list[tuple[str, UserFields]]:
    """A JSON array of ``{username, is_admin?}`` (and our optional user fields), all checked
    before any is added."""
    if not isinstance(body, list) or len(body) > MAX_USERS_PER_REGISTRATION:
        raise ValidationError(
            f"the body must be a JSON array of at most {MAX_USERS_PER_REGISTRATION} users", field="body"
        )
    return [parse_new_user(item) for item in body]
