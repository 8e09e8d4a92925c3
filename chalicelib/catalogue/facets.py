"""Facets of a search: how many of the entries a search finds have each base URI, creator,
tag and project (``GET /datasets/facets``). Authorized here, as the search itself is."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.catalogue.search import FACET_FIELDS, FACET_VALUES, SearchIndex, SearchQuery
from chalicelib.domain import JSONObject, User
from chalicelib.identity import permissions as perm


def search_facets(search: SearchIndex, user: User, query: SearchQuery) -> JSONObject:
    """``{"total": n, "facets": {name: [{"value": v, "count": c}, ...]}}`` for each facet of
    :data:`~chalicelib.catalogue.search.FACET_FIELDS`, over what ``user`` may search (its base
    URIs and projects, whatever ``query`` came with), as :meth:`CatalogueService.search` runs it.

    Counts are **entries**, as the search's ``total`` is (a uuid under two visible base URIs
    counts twice): ``total`` is the search's, and a value's count is the search's total once
    filtered by that value. Each facet lists at most :data:`FACET_VALUES` values, the most
    frequent first, ties by value.
    """
    allowed = perm.searchable_base_uris(user)
    projects = perm.searchable_projects(user)
    found = search.facets(replace(query, allowed_base_uris=allowed, allowed_projects=projects), FACET_VALUES)
    facets: JSONObject = {}
    for name in FACET_FIELDS:
        values = found.facets.get(name, ())
        if name == "base_uri" and allowed is not None and not projects:
            values = tuple(v for v in values if v[0] in allowed)  # never happens: the index filters them
        facets[name] = [{"value": value, "count": count} for value, count in values]
    return {"total": found.total, "facets": facets}
