"""The search port: a derived, rebuildable index of datasets.

DynamoDB is the truth; the index is written only from the datasets table's stream
(and by ``catalogue reindex``). Implementations: :class:`chalicelib.adapters.opensearch.OpenSearchIndex`
(opensearch-py) and :class:`tests.fakes.search.InMemorySearchIndex` (tests); both pass
``tests/contract/test_search_contract.py``.

Index documents are plain dicts built by :func:`chalicelib.catalogue.index_documents.index_doc`, one per
entry (a uuid as registered under one base URI); the keys a backend relies on are listed in
:data:`DOC_FIELDS`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.catalogue.search_syntax import AnnotationClause
from chalicelib.errors import ValidationError

# Keys of an index document (all present in every document). One document per **entry**:
# a dataset uuid as registered under one base URI (the same uuid under another base URI is
# another entry, with its own content and version).
#   entry_id: str (document identity: f"{uuid}@{base_uri}", as chalicelib.domain.entry_id)
#   uuid: str (the dataset's uuid; shared by the entries of one dataset)
#   version: int (external version, strictly increasing per entry_id)
#   deleted: bool (tombstone; never matched by search or facets)
#   name: str    creator_username: str   description: str   readme: str (verbatim YAML text)
#   readme_text: str (values parsed from the README YAML, space separated)
#   annotations_text: str (annotation names and scalar values, space separated)
#   relpaths: list[str] (manifest item paths)      tags: list[str]
#   base_uris: list[str] (exactly the entry's base URI)   uris: list[str]   replicas: list[dict] (stored, not indexed)
#   project: str | None (keyword: the dataset's project, whose members see the entry; None: none)
#   annotations: dict (stored, not indexed)
#   annotation_values: list[dict] (nested: {"key", "number" | "text"} per annotation value, see
#     chalicelib.catalogue.search_syntax.annotation_values; what annotation clauses match)
#   created_at, frozen_at, registered_at, updated_at: float epoch seconds
#   number_of_items: int   size_in_bytes: int
# Fields the free text is matched against. They MUST share one analyzer (the default
# ``standard``): ``cross_fields`` groups fields by analyzer and applies ``operator: and``
# per group, so giving one field its own analyzer would silently turn "every word in some
# field" into "every word in the same group of fields".
TEXT_FIELDS = ("name", "description", "readme", "readme_text", "annotations_text", "relpaths")
# Fields whose words are also found by their beginnings (``temp`` finds "temperature-sweep"):
# OpenSearch indexes their edge n-grams (2 to PREFIX_MAX_CHARS characters of each word) in a
# ``<field>.prefix`` subfield. A word of the query shorter than 2 or longer than
# PREFIX_MAX_CHARS characters is matched as a whole word only (``calib*`` also by prefix, on
# every text field: see chalicelib.catalogue.search_syntax).
PREFIX_FIELDS = ("name", "description", "readme")
PREFIX_MIN_CHARS = 2
PREFIX_MAX_CHARS = 20

# The most values a facet may report (the 5 terms aggregations of a facets request stay
# under the default ``search.max_buckets`` of 65,535).
SUMMARY_BUCKETS = 10_000

# Highlights (``SearchQuery.highlight``): a hit's ``HIGHLIGHTS`` key maps each of
# :data:`TEXT_FIELDS` where a word of the query occurs to its snippets: HTML, the text
# encoded as :func:`encode_html` does and each word found wrapped in HIGHLIGHT_TAGS (the only
# tags). ``name`` is one snippet of the whole name; any other field at most
# HIGHLIGHT_FRAGMENTS snippets of about HIGHLIGHT_FRAGMENT_CHARS characters, in text order
# (OpenSearch leaves words past the first HIGHLIGHT_MAX_OFFSET characters of a field unmarked).
HIGHLIGHTS = "highlights"
HIGHLIGHT_TAGS = ("<mark>", "</mark>")
HIGHLIGHT_FRAGMENTS = 3
HIGHLIGHT_FRAGMENT_CHARS = 150
HIGHLIGHT_MAX_OFFSET = 100_000
WHOLE_FIELD_HIGHLIGHTS = frozenset({"name"})

# Facets: the document field counted for each facet name, and the values a facet reports
# at most (the ``size`` of :meth:`SearchIndex.facets` may not exceed SUMMARY_BUCKETS).
FACET_FIELDS = {
    "base_uri": "base_uris",
    "creator": "creator_username",
    "tag": "tags",
    "project": "project",
    "type": "type",
}
FACET_VALUES = 50

DOC_FIELDS = (
    "entry_id",
    "uuid",
    "version",
    "deleted",
    "name",
    "creator_username",
    "description",
    "readme",
    "readme_text",
    "annotations_text",
    "relpaths",
    "tags",
    "base_uris",
    "uris",
    "replicas",
    "annotations",
    "annotation_values",
    "project",
    "type",
    "created_at",
    "frozen_at",
    "registered_at",
    "updated_at",
    "number_of_items",
    "size_in_bytes",
)

MAX_RESULT_WINDOW = 10_000  # OpenSearch index.max_result_window

SORT_KEYS = {
    "registered": "registered_at",
    "created": "created_at",
    "frozen": "frozen_at",
    "updated": "updated_at",
    "name": "name",
    # keywords, for dtool clients (dserver sorts by these); ``uris`` may hold several values:
    # an ascending sort uses an entry's smallest, a descending one its largest (as OpenSearch)
    "creator": "creator_username",
    "uuid": "uuid",
    "base_uri": "base_uris",
    "uri": "uris",
}
# sort keys whose values are strings (the others are float epoch seconds)
TEXT_SORT_KEYS = frozenset({"name", "creator", "uuid", "base_uri", "uri"})


@dataclass(frozen=True)
class SearchQuery:
    """A search, already authorized by the caller (the service layer).

    ``allowed_base_uris`` is the set of base URIs the caller may search, or ``None`` for
    no restriction (admins); ``allowed_projects`` the projects whose entries the caller may
    also search whatever their base URI (ignored when ``allowed_base_uris`` is ``None``).
    Both empty: nothing is visible. ``base_uris`` and ``creators`` are OR filters, ``tags`` is an
    AND filter, ``uuids`` an OR filter; empty means "no filter". ``after`` is the opaque
    ``next_after`` of a previous result with the same query; when given, ``offset`` is ignored.
    ``uris`` is an OR filter on the entries' replica URIs, ``projects`` one on their project,
    ``types`` one on their type (:attr:`chalicelib.domain.DatasetContent.type`).
    ``then_by`` are further sort keys ``(key, descending)`` after ``sort``, before the
    ``entry_id`` tie-break; a query with ``then_by`` pages by ``offset`` only (``after``
    cursors hold one sort value). ``highlight``: hits of a ``text`` carry :data:`HIGHLIGHTS`.
    ``text`` holds free words (a word ending in ``*`` is a prefix); ``annotations`` are AND
    filters on annotation values (:func:`chalicelib.catalogue.search_syntax.parse_search_text`
    splits what a user typed into the two).
    """

    text: str = ""
    allowed_base_uris: frozenset[str] | None = None
    allowed_projects: frozenset[str] = frozenset()
    base_uris: tuple[str, ...] = ()
    creators: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    uuids: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    sort: str = "registered"
    descending: bool = True
    then_by: tuple[tuple[str, bool], ...] = ()
    offset: int = 0
    size: int = 10
    after: list[Any] | None = None
    highlight: bool = False
    annotations: tuple[AnnotationClause, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    hits: list[dict[str, Any]]
    total: int
    next_after: list[Any] | None = None


@dataclass(frozen=True)
class Rejected:
    """A document the index refused for itself (not for an outage): it stays out, the rest goes on.

    Backends always fill ``entry_id`` (see :func:`rejection`); the default only keeps
    positional and keyword construction of the older three fields working.
    """

    uuid: str
    version: int
    reason: str
    entry_id: str = ""


def rejection(doc: Mapping[str, Any], reason: str) -> Rejected:
    """A :class:`Rejected` for ``doc`` with whatever identity it carries (never raises).

    A document without a string ``entry_id`` is named ``f"{uuid}@{first base URI}"`` (or
    ``f"{uuid}@"`` without one), so that a rejection always names an entry.
    """
    uuid = str(doc.get("uuid"))
    entry_id = doc.get("entry_id")
    if not isinstance(entry_id, str):
        base_uris = doc.get("base_uris")
        first = base_uris[0] if isinstance(base_uris, (list, tuple)) and base_uris else ""
        entry_id = f"{uuid}@{first}"
    try:
        version = int(doc["version"])
    except (KeyError, TypeError, ValueError, OverflowError):
        version = 0
    return Rejected(uuid=uuid, version=version, reason=reason, entry_id=entry_id)


def identity_problem(doc: Mapping[str, Any]) -> str | None:
    """Why ``doc`` does not name exactly one entry, or None.

    ``uuid`` and ``entry_id`` must be strings, ``base_uris`` must hold exactly one string
    (the entry's base URI) and ``entry_id`` must be ``f"{uuid}@{base_uris[0]}"``: a document
    of one entry that also carried another base URI would show that entry's content to the
    readers of the other base URI.
    """
    uuid, entry_id, base_uris = doc.get("uuid"), doc.get("entry_id"), doc.get("base_uris")
    if not isinstance(uuid, str) or not isinstance(entry_id, str):
        return "uuid and entry_id must be strings"
    if not isinstance(base_uris, (list, tuple)) or len(base_uris) != 1 or not isinstance(base_uris[0], str):
        return "base_uris must hold exactly the entry's base URI"
    if entry_id != f"{uuid}@{base_uris[0]}":
        return "entry_id is not uuid@base_uri"
    return None


@dataclass(frozen=True)
class Facets:
    """What :meth:`SearchIndex.facets` counts: ``total`` entries match (as ``SearchResult.total``)
    and, per name of :data:`FACET_FIELDS`, ``(value, entries with it)`` by count, then value."""

    total: int
    facets: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=lambda: dict.fromkeys(FACET_FIELDS, ()))


def encode_html(text: str) -> str:
    """``text`` as OpenSearch's ``"encoder": "html"`` (Lucene's SimpleHTMLEncoder) writes it
    in a highlight: ``& < > " ' /`` as entities, every other character as it is."""
    return text.translate(_HTML_ENTITIES)


_HTML_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;", "/": "&#x2F;"})


def check_facets_size(size: int) -> None:
    """Refuse a number of values per facet no backend answers (1 to SUMMARY_BUCKETS)."""
    if not 1 <= size <= SUMMARY_BUCKETS:
        raise ValidationError(f"a facet reports 1 to {SUMMARY_BUCKETS} values", field="size")


def sees_nothing(allowed_base_uris: frozenset[str] | None, allowed_projects: frozenset[str]) -> bool:
    """Whether a caller allowed these base URIs and projects can see no document at all."""
    return allowed_base_uris is not None and not allowed_base_uris and not allowed_projects


def check_query(query: SearchQuery) -> str:
    """Refuse a query no backend can answer; return the field to sort on.

    Raises :class:`ValidationError` for an unknown sort key, a negative offset or size,
    ``offset + size`` beyond the result window (without ``after``), or an ``after`` that is
    not ``[sort value, entry_id]`` of the right types.
    """
    for key in (query.sort, *(k for k, _ in query.then_by)):
        if key not in SORT_KEYS:
            raise ValidationError(f"sort must be one of {sorted(SORT_KEYS)}", field="sort")
    if query.then_by and query.after is not None:
        raise ValidationError("a cursor follows one sort key only", field="after")
    if query.size < 0 or query.offset < 0:
        raise ValidationError("offset and size must not be negative", field="page")
    if query.after is None:
        if query.offset + query.size > MAX_RESULT_WINDOW:
            raise ValidationError(f"offset + size may not exceed {MAX_RESULT_WINDOW}", field="page")
    else:
        check_after(query.sort, query.after)
    return SORT_KEYS[query.sort]


def check_after(sort: str, after: Sequence[Any]) -> None:
    """``after`` must be ``[value, entry_id]``: a string value for the keys of
    :data:`TEXT_SORT_KEYS`, a finite number otherwise."""
    ok = isinstance(after, (list, tuple)) and len(after) == 2 and isinstance(after[1], str)
    if ok:
        value = after[0]
        if sort in TEXT_SORT_KEYS:
            ok = isinstance(value, str)
        else:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok:
        raise ValidationError("after is not a cursor of this search", field="after")


class SearchIndex(ABC):
    """Contract every search backend MUST honour.

    - A document is an entry: its identity is ``entry_id`` (``f"{uuid}@{base_uri}"``), never
      ``uuid`` alone. The entries of one uuid on two base URIs are two documents, versioned,
      tombstoned and matched independently (the words of one never match for the other).
    - ``upsert`` MUST be idempotent and MUST NOT regress: a document whose ``version`` is
      lower than or equal to the stored one for the same ``entry_id`` is ignored silently.
    - A document with ``deleted`` true MUST NOT appear in ``search`` hits, totals or ``facets``.
    - ``search`` and ``facets`` MUST only consider documents with at least one of
      ``base_uris`` in ``allowed_base_uris`` or their ``project`` in ``allowed_projects``
      (unless ``allowed_base_uris`` is ``None``: all); ``facets`` MUST NOT report base URIs
      outside ``allowed_base_uris`` other than those of such project documents.
    - Free text SHOULD match name, description, readme, readme_text, annotations_text
      and relpaths, case-insensitively, all words required; a word is found whole in any of
      them or as the beginning of a word of :data:`PREFIX_FIELDS` (2 to PREFIX_MAX_CHARS
      characters); a word ending in ``*`` (one token) also as the beginning of a word of any.
    - Every clause of ``annotations`` MUST hold (:class:`AnnotationClause`, matched against
      ``annotation_values``: the same key, and a number in range, an equal number or string,
      or any value for exists).
    - :meth:`mapping_outdated` is true while the served index was made by an older mapping
      (what it lacks is found only after :meth:`rebuild`, i.e. ``catalogue-admin reindex``).
    - With ``highlight`` and a text, every hit MUST carry :data:`HIGHLIGHTS` (see there; ``{}``
      when no word was found to mark): HTML whose only tags are :data:`HIGHLIGHT_TAGS`,
      whatever the documents hold. Without either, hits MUST NOT carry it.
    - ``search`` hits and ``total`` are entries: a uuid visible on two base URIs is two hits.
      The ``uuids`` filter matches every entry of those uuids.
    - Results MUST be sorted by the sort key, ties broken by ``entry_id``, so that ``after``
      (``[sort value, entry_id]`` of the last hit) pagination neither skips nor repeats a document.
    - ``facets`` counts entries, as ``search`` does: its ``total`` is the ``total`` of the same
      search, and a value's count the ``total`` of the search also filtered by that value.
    - ``upsert`` and ``rebuild`` MUST write every acceptable document of a batch and return
      the others as :class:`Rejected` (a key outside the mapping, a string that is not
      valid Unicode, a value the mapping refuses, a document that does not name exactly one
      entry, see :func:`identity_problem`): one bad document never holds back the rest, and
      is never retried as if the backend were down.
    - ``rebuild`` MUST leave the served index as it was when it fails: the new documents
      go to a new index that replaces the served one in one step only when all were sent.
    - Every method MUST raise :class:`chalicelib.errors.SearchUnavailable` (and nothing
      backend-specific) when the backend cannot be reached.
    """

    @abstractmethod
    def ensure_index(self) -> None:
        """Create the index with its mapping if it does not exist (idempotent)."""

    @abstractmethod
    def drop_index(self) -> None:
        """Delete the index and everything in it (an outage drill; rebuilds use :meth:`rebuild`)."""

    @abstractmethod
    def upsert(self, docs: Sequence[dict[str, Any]]) -> list[Rejected]:
        """Write documents with external versioning (see the class contract)."""

    @abstractmethod
    def rebuild(self, docs: Iterable[dict[str, Any]]) -> tuple[int, list[Rejected]]:
        """Serve a new index holding exactly ``docs``: (documents written, rejected)."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult:
        """Run an authorized search."""

    @abstractmethod
    def facets(self, query: SearchQuery, size: int = FACET_VALUES) -> Facets:
        """The entries ``query`` matches (visibility, filters and text as :meth:`search`; its
        sort, paging and ``highlight`` play no part), in all and per value of each facet of
        :data:`FACET_FIELDS`: the ``size`` values of most entries, ties by value (code point
        order); a value no matching entry has is never reported. A caller who sees nothing
        gets a total of 0 and empty facets. ValidationError for a ``size`` outside 1 to
        :data:`SUMMARY_BUCKETS`. (OpenSearch: exact on one shard; on several, a count near
        the cut-off may be approximate.)"""

    @abstractmethod
    def versions(self) -> Iterator[tuple[str, int]]:
        """Every (entry_id, version) in the index, deleted documents included, in entry_id order
        (for drift checks)."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the backend answers."""

    def mapping_outdated(self) -> bool:
        """True when the served index lacks fields or analysis of the current mapping, so
        that some searches miss documents until a :meth:`rebuild` (``catalogue-admin reindex``)."""
        return False
