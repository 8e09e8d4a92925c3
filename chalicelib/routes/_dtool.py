"""What dtool's two server generations share: their search filters, their dataset row and
their sort fields, parsed into and built from the catalogue's own search and records
(``../shared/research/dserver.md`` §3, ``dtool-api.md`` §1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.catalogue.search import SearchQuery
from chalicelib.catalogue.search_syntax import parse_search_text
from chalicelib.catalogue.validation import (
    MAX_RESULT_WINDOW,
    parse_base_uri,
    parse_uuid,
    reject_unknown,
    require_object,
    require_unicode,
)
from chalicelib.domain import Dataset
from chalicelib.errors import ValidationError
from chalicelib.routes._smorest import Sort

SEARCH_LISTS = ("creator_usernames", "base_uris", "uuids", "tags")
SEARCH_FIELDS = {"free_text", *SEARCH_LISTS}
MAX_VALUES = 50  # per filter list
MAX_VALUE_CHARS = 1024

# dserver's sort fields and the catalogue's search keys for them; its default is the URI
SORT_KEYS = {
    "base_uri": "base_uri",
    "created_at": "created",
    "creator_username": "creator",
    "frozen_at": "frozen",
    "name": "name",
    "uri": "uri",
    "uuid": "uuid",
}
ROW_FIELDS = ("base_uri", "uri", "uuid", "name", "creator_username", "frozen_at", "created_at")
ROW_COUNTS = ("number_of_items", "size_in_bytes")


def parse_search_body(body: object, max_query_chars: int) -> dict[str, Any]:
    """dtool's ``SearchDataset``: ``free_text`` and lists of creator usernames, base URIs,
    uuids and tags; an absent body is ``{}``; any other key is refused."""
    if body is None:
        return {}
    data = require_object(body)
    require_unicode(data)
    reject_unknown(data, SEARCH_FIELDS)
    text = data.get("free_text")
    if text is not None and (not isinstance(text, str) or len(text) > max_query_chars):
        raise ValidationError(f"free_text must be a string of at most {max_query_chars} characters", field="free_text")
    for name in SEARCH_LISTS:
        values = data.get(name)
        if values is None:
            continue
        if not isinstance(values, list) or len(values) > MAX_VALUES:
            raise ValidationError(f"{name} must be a list of at most {MAX_VALUES} strings", field=name)
        if not all(isinstance(v, str) and 0 < len(v) <= MAX_VALUE_CHARS for v in values):
            raise ValidationError(f"{name} must hold non-empty strings", field=name)
    return dict(data)


def search_query(fields: Mapping[str, Any], sort: Sort, page: int, page_size: int) -> SearchQuery:
    """The catalogue search for dtool's filters (lists are OR within, AND across; tags: all),
    sorted by ``sort`` and paged from 1; the caller's visibility is added by the service."""
    if page * page_size > MAX_RESULT_WINDOW:
        raise ValidationError(f"page * page_size may not exceed {MAX_RESULT_WINDOW}", field="page")
    (first, order), *rest = sort
    parsed = parse_search_text(fields.get("free_text") or "", field="free_text")
    return SearchQuery(
        text=parsed.text,
        annotations=parsed.annotations,
        base_uris=tuple(parse_base_uri(b, "base_uris") for b in fields.get("base_uris") or ()),
        creators=tuple(fields.get("creator_usernames") or ()),
        tags=tuple(fields.get("tags") or ()),
        uuids=tuple(parse_uuid(u, "uuids") for u in fields.get("uuids") or ()),
        sort=SORT_KEYS[first],
        descending=order < 0,
        then_by=tuple((SORT_KEYS[name], o < 0) for name, o in rest),
        offset=(page - 1) * page_size,
        size=page_size,
    )


def row(item: Mapping[str, Any]) -> dict[str, Any]:
    """dtool's dataset row from a search hit (one per entry, with its first URI)."""
    out = {k: item.get(k) for k in ROW_FIELDS}
    out.update({k: int(item.get(k) or 0) for k in ROW_COUNTS})
    return out


def entry_rows(entry: Dataset, uri: str | None = None) -> list[dict[str, Any]]:
    """dtool's dataset row once per replica of ``entry`` (dtool keeps one record per URI),
    or for the replica ``uri`` only."""
    c = entry.content
    return [
        {
            "base_uri": replica.base_uri,
            "uri": replica.uri,
            "uuid": c.uuid,
            "name": c.name,
            "creator_username": c.creator_username,
            "frozen_at": c.frozen_at,
            "created_at": c.created_at,
            "number_of_items": c.number_of_items,
            "size_in_bytes": c.size_in_bytes,
        }
        for replica in entry.replicas
        if uri is None or replica.uri == uri
    ]
