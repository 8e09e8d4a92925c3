"""European XFEL's myMdC API, as metadata_client 4.2.2 calls it (``docs/research/mymdc-client.md``),
over the facility service: one data path with the catalogue (a data group is a dataset).

Registered under a configurable prefix (``CATALOGUE_MYMDC_PREFIX``, default ``/mymdc/api``).
What the client needs, beyond plain JSON:

- bodies wrapped in the model's name (``{"run": {...}}``) or flat; unknown keys ignored;
- lists as JSON arrays (an empty one is exactly ``[]``) with ``X-Total-Count``,
  ``X-Total-Pages``, ``X-Count-Per-Page`` and ``X-Current-Page``; ``page_size`` up to 500;
- create 201, update 200, delete 204 with no body;
- errors with an ``info`` key (myMdC's message, or Rails' field errors for a 422), beside
  the catalogue's ``Code`` and ``Message``;
- ``proposals//by_number/{n}`` (the client's double slash: an empty path segment);
- ``X-User-Email``, when sent, names the person acting (kept on the records it changes).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.catalogue.validation import EMAIL_PATTERN
from chalicelib.errors import NotFound, ValidationError
from chalicelib.facility.queries import FacilityQueries
from chalicelib.facility.records import FacilityService, not_found
from chalicelib.facility.schema import KINDS, Kind
from chalicelib.identity.permissions import REGISTRARS, Gate
from chalicelib.routes._http import Ctx, endpoint

bp = Blueprint(__name__)
Handler = Callable[..., Any]

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
BAD_EMAIL = "Incorrect request header: 'X-User-Email'!"
_EMAIL_RE = re.compile(EMAIL_PATTERN)
# ASCII digits only: ``\d`` also takes other scripts' digits ("٣"), which myMdC never sends
_ID_RE = re.compile(r"-?[0-9]{1,19}")
_PAGE_RE = re.compile(r"[0-9]{1,4000}")  # int() reads at most 4300 digits
# The kinds with myMdC collections (the run links are written through their run's attributes).
COLLECTIONS = tuple(k for k in KINDS.values() if k.name not in ("runs_technique", "runs_data_group"))


def mymdc(fn: Callable[..., Response]) -> Callable[..., Response]:
    """Errors as myMdC answers them: exactly ``{"info": ...}`` (metadata_client shows the value
    as ``app_info``, and its tests compare whole error bodies), where our other routes answer
    ``{"Code", "Message"}``: the message, or a 422's field errors."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Response:
        response = fn(**kwargs)
        body = response.body
        if response.status_code >= 400 and isinstance(body, dict) and "info" not in body:
            response.body = {"info": body.get("Errors") or body.get("Message")}
        return response

    return wrapper


def route(path: str, method: str, *, name: str | None = None, gate: Gate | None = None) -> Callable[[Handler], Handler]:
    """Register ``fn(ctx, **params)`` on the Blueprint: authenticated (and ``gate`` checked),
    then ``X-User-Email`` checked, errors answered as myMdC answers them."""

    def decorate(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def checked(ctx: Ctx, **params: Any) -> Any:
            acting_for(ctx)  # myMdC refuses a malformed X-User-Email on every call
            return fn(ctx, **params)

        bp.route(path, methods=[method], name=name or fn.__name__)(mymdc(endpoint(bp, gate=gate)(checked)))
        return fn

    return decorate


def _facility(ctx: Ctx) -> FacilityService:
    return ctx.root.facility


def _queries(ctx: Ctx) -> FacilityQueries:
    return ctx.root.facility_queries


def acting_for(ctx: Ctx) -> str | None:
    email = ctx.header("x-user-email")
    if email is None:
        return None
    # as sent (HTTP already drops the spaces around a header's value): what the description's
    # pattern takes, no more
    if not _EMAIL_RE.fullmatch(email):
        raise ValidationError(BAD_EMAIL, field="X-User-Email")
    return email


def parse_id(raw: str) -> int:
    """A record id in a path; anything else (``None``, ``abc``) is a record that does not exist."""
    if not _ID_RE.fullmatch(raw):
        raise not_found()
    return int(raw)


def parse_number(raw: str | None, name: str) -> int:
    if raw is None or not _ID_RE.fullmatch(raw.strip()):
        raise ValidationError(f"{name} must be a whole number", field=name)
    return int(raw.strip())


def body_of(ctx: Ctx, kind: Kind) -> Mapping[str, Any]:
    """The record's attributes: the body's ``{"<model>": {...}}``, or the body itself (Rails'
    params wrapper: metadata_client sends both)."""
    body = ctx.json()
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object", field="body")
    inner = body.get(kind.name)
    return inner if isinstance(inner, dict) else body


def paging(ctx: Ctx) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        # as kaminari reads them: anything but a whole number from 1 is the default ("²" is
        # no number here: str.isdigit() takes it, int() does not)
        raw = ctx.query_one(name)
        return int(raw) if raw is not None and _PAGE_RE.fullmatch(raw) and int(raw) > 0 else default

    return number("page", 1), min(number("page_size", DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE)


def paged(ctx: Ctx, rows: list[Any], render: Callable[[Any], Any]) -> Response:
    """One page of ``rows`` (rendered) with myMdC's paging headers."""
    page, size = paging(ctx)
    chosen = rows[(page - 1) * size : page * size]
    return Response(body=[render(r) for r in chosen], status_code=200, headers=page_headers(len(rows), page, size))


def page_headers(total: int, page: int, size: int) -> dict[str, str | list[str]]:
    return {
        "X-Total-Count": str(total),
        "X-Total-Pages": str(math.ceil(total / size)),
        "X-Count-Per-Page": str(size),
        "X-Current-Page": str(page),
    }


def _filters(ctx: Ctx, kind: Kind) -> dict[str, str]:
    out = {}
    for name in kind.filters:
        value = ctx.query_one(name)
        if value is not None:
            out[name] = value
    return out


# -- the collections -----------------------------------------------------------------------
def _register_collection(kind: Kind) -> None:
    path = f"/{kind.path}"

    def list_records(ctx: Ctx) -> Response:
        records = _facility(ctx).listing(ctx.user, kind.name, _filters(ctx, kind))
        return paged(ctx, records, _facility(ctx).view)

    def create_record(ctx: Ctx) -> Response:
        email = acting_for(ctx)
        created = _facility(ctx).create(ctx.user, kind.name, lambda: body_of(ctx, kind), acting_for=email)
        return Response(body=created, status_code=201)

    def get_record(ctx: Ctx, id: str) -> Any:
        return _facility(ctx).get(ctx.user, kind.name, parse_id(id))

    def update_record(ctx: Ctx, id: str) -> Any:
        email = acting_for(ctx)
        record_id = parse_id(id)
        return _facility(ctx).update(ctx.user, kind.name, record_id, lambda: body_of(ctx, kind), acting_for=email)

    def delete_record(ctx: Ctx, id: str) -> Response:
        email = acting_for(ctx)
        _facility(ctx).delete(ctx.user, kind.name, parse_id(id), acting_for=email)
        return Response(body="", status_code=204)

    name = kind.path
    route(path, "GET", name=f"mymdc_list_{name}")(list_records)
    route(path, "POST", name=f"mymdc_create_{name}", gate=REGISTRARS)(create_record)
    route(path + "/{id}", "GET", name=f"mymdc_get_{name}")(get_record)
    route(path + "/{id}", "PUT", name=f"mymdc_update_{name}", gate=REGISTRARS)(update_record)
    route(path + "/{id}", "DELETE", name=f"mymdc_delete_{name}", gate=REGISTRARS)(delete_record)


for _kind in COLLECTIONS:
    _register_collection(_kind)


# -- composite reads -----------------------------------------------------------------------
@route("/me", "GET")
def me(ctx: Ctx) -> dict[str, Any]:
    """The acting person: the signed-in user, or for a service principal the ``X-User-Email`` it acts for."""
    user = ctx.user
    email = acting_for(ctx) or user.email
    names = (user.display_name or "").split(" ", 1)
    return {
        "email": email,
        "first_name": names[0],
        "last_name": names[1] if len(names) > 1 else "",
        "name": user.display_name or user.username,
        "nickname": user.username,
        "provider": "catalogue",
        "uid": user.username,
    }


@route("/instruments/{id}/active_proposal", "GET")
def active_proposal(ctx: Ctx, id: str) -> dict[str, Any]:
    return _queries(ctx).active_proposal(ctx.user, parse_id(id))


def _by_number(ctx: Ctx, number: str) -> int:
    if not _ID_RE.fullmatch(number):
        raise NotFound(f"Proposal number {number} not found")
    return int(number)


@route("/proposals/by_number/{number}", "GET")
@route("/proposals/by_number_daq_info/{number}", "GET", name="proposal_daq_info")
def proposal_by_number(ctx: Ctx, number: str) -> dict[str, Any]:
    """A proposal by number; the DAQ info is the same record (it has ``id`` and
    ``instrument_identifier``, what metadata_client's ``get_proposal_info`` reads)."""
    return _queries(ctx).proposal_by_number(ctx.user, _by_number(ctx, number))


@route("/proposals/{blank}/by_number/{number}", "GET")
@route("/proposals/{blank}/by_number_daq_info/{number}", "GET", name="proposal_daq_info_double_slash")
def proposal_by_number_double_slash(ctx: Ctx, blank: str, number: str) -> dict[str, Any]:
    """metadata_client asks for ``proposals//by_number/{n}``: the empty segment fills ``{blank}``."""
    if blank:
        raise not_found()
    return proposal_by_number(ctx, number)


def _runs_view(ctx: Ctx, number: str, run_number: str | None) -> Response:
    queries = _queries(ctx)
    proposal, runs = queries.runs_of(ctx.user, _by_number(ctx, number))
    if run_number is not None:
        wanted = parse_id(run_number)
        runs = [r for r in runs if r.fields["run_number"] == wanted]
    page, size = paging(ctx)
    chosen = runs[(page - 1) * size : page * size]
    headers = page_headers(len(runs), page, size)
    return Response(body=queries.runs_view(proposal, chosen), status_code=200, headers=headers)


@route("/proposals/by_number/{number}/runs", "GET")
def proposal_runs(ctx: Ctx, number: str) -> Response:
    return _runs_view(ctx, number, None)


@route("/proposals/by_number/{number}/runs/{run_number}", "GET")
def proposal_run(ctx: Ctx, number: str, run_number: str) -> Response:
    return _runs_view(ctx, number, run_number)


@route("/runs/runs_by_proposal", "GET")
def runs_by_proposal(ctx: Ctx) -> Response:
    number = parse_number(ctx.query_one("proposal_number"), "proposal_number")
    _, runs = _queries(ctx).runs_of(ctx.user, number)
    return paged(ctx, runs, _facility(ctx).view)


@route("/runs/all_raw_data_groups_ids", "GET")
def all_raw_data_groups_ids(ctx: Ctx) -> list[int]:
    number = parse_number(ctx.query_one("proposal_number"), "proposal_number")
    run_number = parse_number(ctx.query_one("run_number"), "run_number")
    return _queries(ctx).raw_data_group_ids(ctx.user, number, run_number)


@route("/data_files/search_data_files", "GET")
def search_data_files(ctx: Ctx) -> list[dict[str, Any]]:
    number = parse_number(ctx.query_one("proposal_number"), "proposal_number")
    run_number = parse_number(ctx.query_one("run_number"), "run_number")
    return _queries(ctx).run_data_files(ctx.user, number, run_number)
