"""In-memory fake of the search port, for tests (no network, no opensearch-py).

It follows :class:`chalicelib.adapters.opensearch.OpenSearchIndex` closely (both pass
``tests/contract/test_search_contract.py``): one document per ``entry_id`` with external
versions and tombstones, visibility, AND/OR filters, all-words free text over the same fields
with an approximation of the ``standard`` analyzer, the same sort and entry_id tie-break,
offset and ``after`` pagination, facets, highlights (snippets cut at spaces, not as the
unified highlighter cuts them), strict document keys, and a missing index after
:meth:`drop_index`.
Relevance is not modelled (results are always sorted by a field).
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from chalicelib.catalogue.search import (
    DOC_FIELDS,
    FACET_FIELDS,
    FACET_VALUES,
    HIGHLIGHT_FRAGMENT_CHARS,
    HIGHLIGHT_FRAGMENTS,
    HIGHLIGHT_TAGS,
    HIGHLIGHTS,
    SORT_KEYS,
    TEXT_FIELDS,
    TEXT_SORT_KEYS,
    WHOLE_FIELD_HIGHLIGHTS,
    Facets,
    Rejected,
    SearchIndex,
    SearchQuery,
    SearchResult,
    check_facets_size,
    check_query,
    encode_html,
    identity_problem,
    rejection,
    sees_nothing,
)
from chalicelib.errors import SearchUnavailable
from tests.fakes.search_text import annotations_match, prefix_stems, string_values, text_matches

# An approximation of the Unicode word boundaries (UAX #29) the ``standard`` tokenizer uses:
# letters, digits and "_" form words; "." ":" "'" join letters ("file.csv", "a:b", "don't"),
# "." "," ";" "'" join digits ("3.14", "1,000"); "-", "/", spaces etc. split; each Han or
# Hiragana character is a word of its own. Lowercased per character like Lucene does.
_IDEO = "\u3040-\u309f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff"
_W = rf"[^\W{_IDEO}]"
_LETTER = rf"[^\W\d_{_IDEO}]"
_TOKEN = re.compile(rf"[{_IDEO}]|{_W}+(?:(?:(?<={_LETTER})[.:'\u2019](?={_LETTER})|(?<=\d)[.,;'\u2019](?=\d)){_W}+)*")


def tokens(text: str) -> set[str]:
    """The lowercased words of ``text`` (pure underscores are not words)."""
    return {"".join(ch.lower() for ch in m) for m in _TOKEN.findall(text) if m.strip("_")}


def _found(value: str, words: set[str], stems: tuple[str, ...] = ()) -> list[tuple[int, int]]:
    """The spans of the words of ``value`` that are among ``words`` (as :func:`tokens` reads them)
    or begin with one of ``stems`` (the explicit prefixes, ``calib*``, which OpenSearch marks)."""
    spans = []
    for m in _TOKEN.finditer(value):
        word = m.group()
        lowered = "".join(ch.lower() for ch in word)
        if word.strip("_") and (lowered in words or lowered.startswith(stems)):
            spans.append(m.span())
    return spans


def _chunks(value: str) -> list[tuple[int, int]]:
    """``value`` cut at spaces into pieces of at most HIGHLIGHT_FRAGMENT_CHARS (or one longer word)."""
    pieces: list[tuple[int, int]] = []
    start = end = -1
    for m in re.finditer(r"\S+", value):
        if start >= 0 and m.end() - start > HIGHLIGHT_FRAGMENT_CHARS:
            pieces.append((start, end))
            start = -1
        start = m.start() if start < 0 else start
        end = m.end()
    if start >= 0:
        pieces.append((start, end))
    return pieces


def _snippet(value: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    pre, post = HIGHLIGHT_TAGS
    out, pos = [], start
    for a, b in spans:
        if start <= a and b <= end:
            out += [encode_html(value[pos:a]), pre, encode_html(value[a:b]), post]
            pos = b
    out.append(encode_html(value[pos:end]))
    return "".join(out)


def _highlights(doc: dict[str, Any], words: set[str], stems: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The snippets of ``doc`` per text field where one of ``words`` occurs."""
    out: dict[str, list[str]] = {}
    for field in TEXT_FIELDS:
        snippets: list[str] = []
        for value in string_values(doc, field):
            spans = _found(value, words, stems)
            if not spans:
                continue
            if field in WHOLE_FIELD_HIGHLIGHTS:
                snippets.append(_snippet(value, spans, 0, len(value)))
                continue
            pieces = [(a, b) for a, b in _chunks(value) if any(a <= s < b for s, _ in spans)]
            snippets += [_snippet(value, spans, a, b) for a, b in pieces]
        if snippets:
            out[field] = snippets if field in WHOLE_FIELD_HIGHLIGHTS else snippets[:HIGHLIGHT_FRAGMENTS]
    return out


def _sort_value(doc: dict[str, Any], key: str, descending: bool) -> Any:
    """The value OpenSearch sorts ``doc`` by: a string for text keys (of a multi-valued
    field the smallest ascending, the largest descending), a float otherwise."""
    value = doc[SORT_KEYS[key]]
    if key not in TEXT_SORT_KEYS:
        return float(value)
    if isinstance(value, list):
        values = [str(v) for v in value]
        return (max(values) if descending else min(values)) if values else ""
    return str(value)


def _sort_key(key: str, descending: bool) -> Callable[[dict[str, Any]], Any]:
    return lambda doc: _sort_value(doc, key, descending)


def _refusal(doc: dict[str, Any]) -> str | None:
    """Why OpenSearch would refuse ``doc`` for itself, or None."""
    extra = set(doc) - set(DOC_FIELDS)
    if extra:
        return f"unknown field(s) {sorted(extra)}"
    problem = identity_problem(doc)
    if problem is not None:
        return problem
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError) as exc:
        return f"not serializable: {type(exc).__name__}"
    return None


class InMemorySearchIndex(SearchIndex):
    """A dict of documents by entry_id behaving like the OpenSearch adapter.

    Set ``fail`` to true to simulate an outage: every method then raises
    :class:`SearchUnavailable` (``ping`` returns False). The index exists from construction;
    :meth:`drop_index` removes it (reads then raise SearchUnavailable, like a missing
    OpenSearch index) and :meth:`upsert` or :meth:`ensure_index` bring it back.
    """

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.exists = True
        self.docs: dict[str, dict[str, Any]] = {}
        self.outdated = False  # set by a test: the served index is "made by an older mapping"

    def _check(self, need_index: bool = True) -> None:
        if self.fail:
            raise SearchUnavailable("search backend: simulated outage")
        if need_index and not self.exists:
            raise SearchUnavailable("search backend: index is missing")

    def ensure_index(self) -> None:
        self._check(need_index=False)
        self.exists = True

    def drop_index(self) -> None:
        self._check(need_index=False)
        self.exists = False
        self.docs.clear()

    def upsert(self, docs: Sequence[dict[str, Any]]) -> list[Rejected]:
        """Keep each document unless the stored one of its entry_id has an equal or higher version.

        A document with a key outside DOC_FIELDS (the OpenSearch mapping is strict), one that
        does not name exactly one entry (:func:`chalicelib.catalogue.search.identity_problem`) or one
        with a string that cannot be encoded as UTF-8 (a lone surrogate) is returned as
        rejected, as a per-item bulk error or a serialization failure is; the rest is written.
        """
        if not docs:
            return []
        self._check(need_index=False)
        self.exists = True
        rejected: list[Rejected] = []
        for doc in docs:
            problem = _refusal(doc)
            if problem is not None:
                rejected.append(rejection(doc, problem))
                continue
            entry_id, version = str(doc["entry_id"]), int(doc["version"])
            current = self.docs.get(entry_id)
            if current is not None and int(current["version"]) >= version:
                continue
            self.docs[entry_id] = copy.deepcopy(dict(doc))
        return rejected

    def rebuild(self, docs: Iterable[dict[str, Any]]) -> tuple[int, list[Rejected]]:
        """Fill a new dict and swap it in only once every document was taken (or rejected)."""
        self._check(need_index=False)
        fresh = InMemorySearchIndex()
        written, rejected = 0, []
        for doc in docs:
            self._check(need_index=False)  # an outage mid-way leaves the served index as it was
            refused = fresh.upsert([doc])
            rejected += refused
            written += not refused
        self.docs, self.exists, self.outdated = fresh.docs, True, False
        return written, rejected

    def mapping_outdated(self) -> bool:
        self._check(need_index=False)
        return self.outdated and self.exists

    def _visible(
        self, allowed_base_uris: frozenset[str] | None, allowed_projects: frozenset[str] = frozenset()
    ) -> list[dict[str, Any]]:
        return [
            d
            for d in self.docs.values()
            if not d.get("deleted")
            and (
                allowed_base_uris is None
                or not allowed_base_uris.isdisjoint(d.get("base_uris") or ())
                or d.get("project") in allowed_projects
            )
        ]

    def _matches(self, doc: dict[str, Any], query: SearchQuery, words: set[str] | None) -> bool:
        if query.base_uris and set(query.base_uris).isdisjoint(doc.get("base_uris") or ()):
            return False
        if query.creators and doc.get("creator_username") not in query.creators:
            return False
        doc_tags = set(doc.get("tags") or ())
        if not all(tag in doc_tags for tag in query.tags):
            return False
        if query.uuids and doc.get("uuid") not in query.uuids:
            return False
        if query.uris and set(query.uris).isdisjoint(doc.get("uris") or ()):
            return False
        if query.projects and doc.get("project") not in query.projects:
            return False
        if query.types and doc.get("type") not in query.types:
            return False
        if not annotations_match(doc, query.annotations):
            return False
        if words is None:
            return True
        return text_matches(doc, query.text, tokens, subfields=not self.outdated)

    def search(self, query: SearchQuery) -> SearchResult:
        self._check()
        check_query(query)
        if sees_nothing(query.allowed_base_uris, query.allowed_projects):
            return SearchResult(hits=[], total=0)
        words = tokens(query.text) if query.text.strip() else None
        visible = self._visible(query.allowed_base_uris, query.allowed_projects)
        matched = [d for d in visible if self._matches(d, query, words)]

        def key(d: dict[str, Any]) -> tuple[Any, str]:
            return (_sort_value(d, query.sort, query.descending), str(d["entry_id"]))

        matched.sort(key=key, reverse=query.descending)
        for then, descending in reversed(query.then_by):
            # stable passes, least significant first, then the primary key once more
            matched.sort(key=_sort_key(then, descending), reverse=descending)
        if query.then_by:
            matched.sort(key=_sort_key(query.sort, query.descending), reverse=query.descending)
        if query.after is not None:
            cursor = (query.after[0], query.after[1])
            if query.descending:
                page = [d for d in matched if key(d) < cursor][: query.size]
            else:
                page = [d for d in matched if key(d) > cursor][: query.size]
        else:
            page = matched[query.offset : query.offset + query.size]
        next_after = list(key(page[-1])) if page and len(page) == query.size else None
        hits = [copy.deepcopy(d) for d in page]
        if query.highlight and words is not None:
            for hit in hits:
                hit[HIGHLIGHTS] = _highlights(hit, words, prefix_stems(query.text))
        return SearchResult(hits=hits, total=len(matched), next_after=next_after)

    def facets(self, query: SearchQuery, size: int = FACET_VALUES) -> Facets:
        """Entries per value of each facet over the documents ``query`` matches."""
        self._check()
        check_facets_size(size)
        if sees_nothing(query.allowed_base_uris, query.allowed_projects):
            return Facets(total=0)
        words = tokens(query.text) if query.text.strip() else None
        visible = self._visible(query.allowed_base_uris, query.allowed_projects)
        matched = [d for d in visible if self._matches(d, query, words)]
        # base URIs are reported when allowed, or (project members) as those of visible documents
        allowed, projects = query.allowed_base_uris, query.allowed_projects
        reported = None if allowed is None or projects else allowed
        counts: dict[str, tuple[tuple[str, int], ...]] = {}
        for name, field in FACET_FIELDS.items():
            per_value: Counter[str] = Counter()
            for d in matched:
                values = set(string_values(d, field))  # a document counts once per distinct value
                per_value.update(values if name != "base_uri" or reported is None else values & reported)
            counts[name] = tuple(sorted(per_value.items(), key=lambda kv: (-kv[1], kv[0]))[:size])
        return Facets(total=len(matched), facets=counts)

    def versions(self) -> Iterator[tuple[str, int]]:
        """Every (entry_id, version), tombstones included, in entry_id order (a snapshot)."""
        self._check()
        return iter(sorted((entry_id, int(d["version"])) for entry_id, d in self.docs.items()))

    def ping(self) -> bool:
        return not self.fail
