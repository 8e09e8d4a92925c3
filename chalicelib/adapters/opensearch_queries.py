"""Request bodies of :class:`chalicelib.adapters.opensearch.OpenSearchIndex` (pure functions).

Every body carries :func:`visibility_filters`; a malformed query is refused as
:class:`chalicelib.errors.ValidationError` before a body is built.
"""

from __future__ import annotations

from typing import Any

from chalicelib.catalogue.search import (
    FACET_FIELDS,
    HIGHLIGHT_FRAGMENT_CHARS,
    HIGHLIGHT_FRAGMENTS,
    HIGHLIGHT_MAX_OFFSET,
    HIGHLIGHT_TAGS,
    PREFIX_FIELDS,
    SORT_KEYS,
    TEXT_FIELDS,
    WHOLE_FIELD_HIGHLIGHTS,
    SearchQuery,
    check_facets_size,
    check_query,
)
from chalicelib.catalogue.search_syntax import AnnotationClause, Word, free_words

#: The ``highlight`` of a search with ``highlight``: the snippets of
#: :data:`chalicelib.catalogue.search.HIGHLIGHTS`. ``"encoder": "html"`` escapes the text
#: around the tags (osmem-server does it too, as Lucene's SimpleHTMLEncoder). Without
#: ``max_analyzer_offset`` a field longer than the index's ``highlight.max_analyzed_offset``
#: (1,000,000 characters; a README may be 10 MB) fails the whole search.
HIGHLIGHT: dict[str, Any] = {
    "encoder": "html",
    "pre_tags": [HIGHLIGHT_TAGS[0]],
    "post_tags": [HIGHLIGHT_TAGS[1]],
    "fragment_size": HIGHLIGHT_FRAGMENT_CHARS,
    "number_of_fragments": HIGHLIGHT_FRAGMENTS,
    "max_analyzer_offset": HIGHLIGHT_MAX_OFFSET,
    "fields": {f: {"number_of_fragments": 0} if f in WHOLE_FIELD_HIGHLIGHTS else {} for f in TEXT_FIELDS},
}


def visibility_filters(
    allowed_base_uris: frozenset[str] | None, allowed_projects: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Filters every search and facets request carries: no tombstones, only permitted base URIs or
    (when the caller is a member of projects) the entries of those projects."""
    filters: list[dict[str, Any]] = [{"term": {"deleted": False}}]
    if allowed_base_uris is None:
        return filters
    scope: list[dict[str, Any]] = []
    if allowed_base_uris or not allowed_projects:
        scope.append({"terms": {"base_uris": sorted(allowed_base_uris)}})
    if allowed_projects:
        scope.append({"terms": {"project": sorted(allowed_projects)}})
    filters.append(scope[0] if len(scope) == 1 else {"bool": {"should": scope, "minimum_should_match": 1}})
    return filters


def build_query(query: SearchQuery) -> dict[str, Any]:
    """The ``query`` of a search or its facets: visibility, filters and free text."""
    filters = visibility_filters(query.allowed_base_uris, query.allowed_projects)
    if query.base_uris:
        filters.append({"terms": {"base_uris": list(dict.fromkeys(query.base_uris))}})
    if query.creators:
        filters.append({"terms": {"creator_username": list(dict.fromkeys(query.creators))}})
    filters.extend({"term": {"tags": tag}} for tag in dict.fromkeys(query.tags))
    if query.uuids:
        filters.append({"terms": {"uuid": list(dict.fromkeys(query.uuids))}})
    if query.uris:
        filters.append({"terms": {"uris": list(dict.fromkeys(query.uris))}})
    if query.projects:
        filters.append({"terms": {"project": list(dict.fromkeys(query.projects))}})
    if query.types:
        filters.append({"terms": {"type": list(dict.fromkeys(query.types))}})
    filters.extend(annotation_filter(clause) for clause in query.annotations)
    must: list[dict[str, Any]]
    if query.text.strip():
        # Every word must be found (whole, or by its beginning: word_query). A text without
        # any word that can match (e.g. "!!!") matches nothing, as before prefixes.
        must = [word_query(word) for word in free_words(query.text)] or [{"match_none": {}}]
    else:
        must = [{"match_all": {}}]
    return {"bool": {"must": must, "filter": filters}}


#: An exact word counts twice a word found by its beginning (where results are ranked).
EXACT_BOOST = 2.0


def word_query(word: Word) -> dict[str, Any]:
    """One free word: its analysed tokens all in some text field (``cross_fields``, as the
    whole text was matched before prefixes), or all as beginnings of words in the
    ``.prefix`` subfields of PREFIX_FIELDS, or (``calib*``, one token) as the beginning of
    a word of any text field. Fields of one ``multi_match`` share one analyzer: ``cross_fields``
    groups fields by analyzer and requires every token per group only."""
    exact = {
        "multi_match": {
            "query": word.text,
            "fields": list(TEXT_FIELDS),
            "type": "cross_fields",
            "operator": "and",
            "boost": EXACT_BOOST,
        }
    }
    prefix = {
        "multi_match": {
            "query": word.text,
            "fields": [f"{f}.prefix" for f in PREFIX_FIELDS],
            "type": "cross_fields",
            "operator": "and",
        }
    }
    queries = [exact, prefix]
    if word.prefix and word.single:
        # no analysis in a prefix query: the index holds lowercased tokens
        queries += [{"prefix": {f: {"value": word.text.lower()}}} for f in TEXT_FIELDS]
    return {"dis_max": {"queries": queries}}


def annotation_filter(clause: AnnotationClause) -> dict[str, Any]:
    """A filter on one annotation key: the key and its value in one nested document, so
    that ``a>=300`` never matches a 300 of another key. ``ignore_unmapped``: an index made
    before ``annotation_values`` existed finds nothing rather than failing the search."""
    conditions: list[dict[str, Any]] = [{"term": {"annotation_values.key": clause.key}}]
    if clause.kind == "range":
        conditions.append({"range": {"annotation_values.number": clause.bounds()}})
    elif clause.kind == "equals":
        same: list[dict[str, Any]] = [{"term": {"annotation_values.text": clause.text}}]
        if clause.number is not None:
            same.append({"term": {"annotation_values.number": clause.number}})
        conditions.append({"bool": {"should": same, "minimum_should_match": 1}})
    return {
        "nested": {
            "path": "annotation_values",
            "query": {"bool": {"filter": conditions}},
            "score_mode": "none",
            "ignore_unmapped": True,
        }
    }


def build_search_body(query: SearchQuery) -> dict[str, Any]:
    """The request body of :meth:`OpenSearchIndex.search` (validates ``query`` first)."""
    field = check_query(query)
    order = "desc" if query.descending else "asc"
    sort = [_sort_clause(field, query.descending)]
    sort += [_sort_clause(SORT_KEYS[key], descending) for key, descending in query.then_by]
    body: dict[str, Any] = {
        "query": build_query(query),
        "sort": [*sort, {"entry_id": {"order": order}}],
        "size": query.size,
        "track_total_hits": True,
    }
    if query.highlight and query.text.strip():
        body["highlight"] = HIGHLIGHT
    if query.after is not None:
        # Never send "from" with search_after: OpenSearch answers 400, osmem-server 500.
        body["search_after"] = list(query.after)
    else:
        body["from"] = query.offset
    return body


def _sort_clause(field: str, descending: bool) -> dict[str, Any]:
    return {"name.raw" if field == "name" else field: {"order": "desc" if descending else "asc"}}


def _base_uri_terms(
    allowed_base_uris: frozenset[str] | None, allowed_projects: frozenset[str], size: int
) -> dict[str, Any]:
    terms: dict[str, Any] = {"field": "base_uris", "size": size}
    if allowed_base_uris is not None and not allowed_projects:
        # Defence in depth: a document carries only its entry's base URI, which the visibility
        # filter already limits to allowed ones; no other base URI may ever be reported. (A
        # project's entries lie under any base URI, which their members may see.)
        terms["include"] = sorted(allowed_base_uris)
    return terms


def build_facets_body(query: SearchQuery, size: int) -> dict[str, Any]:
    """The request body of :meth:`OpenSearchIndex.facets`: one terms aggregation per facet
    (named as the facet), documents (entries) per value, the most first, ties by value."""
    check_facets_size(size)
    order = [{"_count": "desc"}, {"_key": "asc"}]
    aggs: dict[str, Any] = {}
    for name, field in FACET_FIELDS.items():
        if field == "base_uris":
            terms = _base_uri_terms(query.allowed_base_uris, query.allowed_projects, size)
        else:
            terms = {"field": field, "size": size}
        aggs[name] = {"terms": {**terms, "order": order}}
    return {"size": 0, "track_total_hits": True, "query": build_query(query), "aggs": aggs}
