"""Paging and sorting as dtool's servers answer them (flask-smorest in dtool-lookup-server
0.18 and dservercore): ``page`` (from 1) and ``page_size`` (1 to 100, default 10) in the
query, ``sort=name,-frozen_at`` for dserver, and the JSON headers ``X-Pagination`` and
``X-Sort`` that dtool-lookup-api reads (``../shared/research/dserver.md`` §3)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from chalice.app import Response

from chalicelib.errors import ValidationError
from chalicelib.routes._http import Ctx

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
_DIGITS = re.compile(r"[0-9]{1,7}")
_SORT_KEY = re.compile(r"([ +-]?)([A-Za-z_]+)")

Sort = tuple[tuple[str, int], ...]  # (field, 1 ascending | -1 descending), most significant first


def parse_paging(ctx: Ctx, default: int = DEFAULT_PAGE_SIZE, most: int = MAX_PAGE_SIZE) -> tuple[int, int]:
    """``page`` and ``page_size`` from the query (400 outside 1.. and 1..``most``)."""
    return _int(ctx, "page", 1, None), _int(ctx, "page_size", default, most)


def _int(ctx: Ctx, name: str, default: int, most: int | None) -> int:
    raw = ctx.query_one(name)
    if raw is None:
        return default
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500)
    if not _DIGITS.fullmatch(raw) or not 1 <= int(raw) <= (most or 10**6):
        limit = f"1 to {most}" if most else "1 or more"
        raise ValidationError(f"{name} must be a whole number, {limit}", field=name)
    return int(raw)


def parse_sort(raw: str | None, fields: Sequence[str], default: str) -> Sort:
    """``name``, ``-name`` (descending), ``+name``, or a comma list of them; only ``fields``
    (:func:`chalicelib.openapi.shapes.sort_pattern` says the same to the API description)."""
    keys: list[tuple[str, int]] = []
    for part in (raw if raw is not None else default).split(","):
        # a '+' the client did not encode arrives as a space
        m = _SORT_KEY.fullmatch(part)
        if m is None or m.group(2) not in fields:
            raise ValidationError(f"sort by one of {', '.join(fields)} (prefix - for descending)", field="sort")
        keys.append((m.group(2), -1 if m.group(1) == "-" else 1))
    return tuple(keys)


def sorted_rows(rows: Sequence[dict[str, Any]], sort: Sort) -> list[dict[str, Any]]:
    """``rows`` ordered by ``sort`` (stable, one pass per key, least significant first)."""
    out = list(rows)
    for name, order in reversed(sort):
        out.sort(key=_by(name), reverse=order < 0)
    return out


def _by(name: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda row: _sort_key(row.get(name))


def _sort_key(value: Any) -> tuple[int, Any]:
    # None last-or-first consistently, numbers and strings never compared with each other
    if value is None:
        return (0, "")
    if isinstance(value, int | float):
        return (1, value)
    return (2, str(value))


def page_response(rows: Sequence[dict[str, Any]], page: int, page_size: int, sort: Sort | None = None) -> Response:
    """One page of ``rows`` (all of them, already sorted) with ``X-Pagination`` (and ``X-Sort``) as JSON."""
    start = (page - 1) * page_size
    return one_page(rows[start : start + page_size], len(rows), page, page_size, sort)


def one_page(
    rows: Sequence[dict[str, Any]], total: int, page: int, page_size: int, sort: Sort | None = None
) -> Response:
    """``rows``, page ``page`` of ``total``, with ``X-Pagination`` (and ``X-Sort``) as JSON."""
    headers: dict[str, str | list[str]] = {"X-Pagination": json.dumps(pagination(total, page, page_size))}
    if sort is not None:
        headers["X-Sort"] = json.dumps({"sort": dict(sort)})
    return Response(body=list(rows), status_code=200, headers=headers)


def pagination(total: int, page: int, page_size: int) -> dict[str, int]:
    """flask-smorest's header: no ``page`` beyond the last page, no neighbours that do not exist."""
    total_pages = math.ceil(total / page_size)
    out = {"total": total, "total_pages": total_pages}
    if total_pages == 0:
        return out
    out |= {"first_page": 1, "last_page": total_pages}
    if page <= total_pages:
        out["page"] = page
        if page > 1:
            out["previous_page"] = page - 1
        if page < total_pages:
            out["next_page"] = page + 1
    return out
