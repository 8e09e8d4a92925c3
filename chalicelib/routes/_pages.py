"""Paged list responses: one body shape and one set of headers for every list route."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from chalice.app import Response


def paged_response(
    path: str,
    query: dict[str, list[str]],
    items: list[dict[str, Any]],
    total: int,
    page: int,
    page_size: int,
    *,
    next_after: str | None = None,
    cursors: bool = False,
    window: int | None = None,
) -> Response:
    """``{items, total, page, page_size, total_pages}`` (and ``next``, the cursor of the next
    page, on routes with ``cursors``), the ``X-Total-Count``/``X-Total-Pages``/
    ``X-Current-Page``/``X-Per-Page`` headers and a ``Link: rel="next"`` that repeats the
    request's parameters with the next ``page``, or with ``after`` once a page would pass
    ``window`` or when the request already used a cursor."""
    total_pages = (total + page_size - 1) // page_size
    body: dict[str, Any] = {
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "total_pages": total_pages,
    }
    if cursors:
        body["next"] = next_after
    headers: dict[str, str | list[str]] = {
        "X-Total-Count": str(total),
        "X-Total-Pages": str(total_pages),
        "X-Current-Page": str(page),
        "X-Per-Page": str(page_size),
    }
    used_cursor = cursors and "after" in query
    if page * page_size < total or (used_cursor and next_after):
        rest = [(k, v) for k, values in query.items() if k not in ("page", "after") for v in values]
        if not used_cursor and (window is None or (page + 1) * page_size <= window):
            rest.append(("page", str(page + 1)))
        elif next_after:
            rest.append(("after", next_after))
        else:
            return Response(body=body, status_code=200, headers=headers)
        headers["Link"] = f'<{path}?{urlencode(rest)}>; rel="next"'
    return Response(body=body, status_code=200, headers=headers)
