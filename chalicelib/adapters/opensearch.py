"""OpenSearch adapter of the search port (opensearch-py 3.x, keyword arguments only).

Every backend failure leaves this module as :class:`chalicelib.errors.SearchUnavailable`;
a malformed query (bad sort key, bad ``after`` cursor, a page beyond the result window) is
refused as :class:`chalicelib.errors.ValidationError` before anything is sent.

Tested against osmem-server (an API emulator); differences that matter are noted where
they bite. No client is created at import time: see :func:`make_client`. The request bodies
are built by :mod:`chalicelib.adapters.opensearch_queries`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import replace
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import urllib3
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ImproperlyConfigured, NotFoundError, OpenSearchException, RequestError

from chalicelib.adapters.opensearch_queries import build_facets_body, build_search_body
from chalicelib.catalogue.search import (
    FACET_FIELDS,
    FACET_VALUES,
    HIGHLIGHT_TAGS,
    HIGHLIGHTS,
    PREFIX_MAX_CHARS,
    PREFIX_MIN_CHARS,
    TEXT_FIELDS,
    Facets,
    Rejected,
    SearchIndex,
    SearchQuery,
    SearchResult,
    identity_problem,
    rejection,
    sees_nothing,
)
from chalicelib.errors import SearchUnavailable, ValidationError

VERSIONS_PAGE = 1000
BULK_MAX_DOCS = 500
BULK_MAX_BYTES = 5 * 1024 * 1024

_TEXT: dict[str, Any] = {"type": "text"}
_KEYWORD: dict[str, Any] = {"type": "keyword"}
_DOUBLE: dict[str, Any] = {"type": "double"}
_LONG: dict[str, Any] = {"type": "long"}
_STORED_ONLY: dict[str, Any] = {"type": "object", "enabled": False}

#: Bumped whenever :data:`MAPPING` or :data:`SETTINGS` change in a way ``put_mapping`` cannot
#: apply to a served index (a new subfield, analyzer or field type): the served index's
#: ``_meta.mapping_version`` (none: 1) then tells that it needs ``catalogue-admin reindex``
#: (:meth:`OpenSearchIndex.mapping_outdated`). 2: the ``.prefix`` subfields and ``annotation_values``.
MAPPING_VERSION = 2

#: Index settings: the analyzer of the ``.prefix`` subfields. Analysis settings can only be
#: given when an index is created (changing them needs a closed index), so a new analyzer
#: comes with a new index: :meth:`OpenSearchIndex.rebuild`.
SETTINGS: dict[str, Any] = {
    "analysis": {
        "filter": {
            "word_beginnings": {"type": "edge_ngram", "min_gram": PREFIX_MIN_CHARS, "max_gram": PREFIX_MAX_CHARS}
        },
        "analyzer": {
            "word_beginnings": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "word_beginnings"]}
        },
    }
}
# Partial words: each word's first 2..20 characters are indexed (edge n-grams at index time,
# the standard analyzer at search time), so a prefix search is one term lookup, as fast as a
# whole word, for postings of those fields several times (about the average word length)
# their size without. The alternatives
# cost at query time instead: a ``prefix``/``wildcard`` query expands to every matching term
# of the index (``*temp*`` on a keyword scans them all), which is what ``calib*`` does on the
# other text fields.
_PREFIX: dict[str, Any] = {"type": "text", "analyzer": "word_beginnings", "search_analyzer": "standard"}
_TEXT_WITH_PREFIX: dict[str, Any] = {"type": "text", "fields": {"prefix": _PREFIX}}
# Annotation values, per key: a ``nested`` list of {key, number | text}. Annotation names are
# chosen by users, so a field per name (an object mapping) would grow the mapping without bound
# (OpenSearch refuses more than 1,000 fields per index); ``flat_object`` (OpenSearch >= 2.7)
# keeps values as keywords, so no numeric ranges. Nested documents keep a key and its value
# together (``a>=300`` never matches a 300 under another key), three fields whatever the names,
# at the price of one hidden Lucene document per value (MAX_ANNOTATION_VALUES per entry).
_ANNOTATION_VALUES: dict[str, Any] = {
    "type": "nested",
    "properties": {"key": _KEYWORD, "number": _DOUBLE, "text": _KEYWORD},
}

#: The index mapping: exactly the keys of :data:`chalicelib.catalogue.search.DOC_FIELDS`. ``strict``
#: makes a document with any other key fail loudly (a per-item error: the document is rejected).
#: The ``name.raw`` keyword sorts by code point, i.e. case-sensitively ("Zed" < "alpha");
#: a ``lowercase`` normalizer would fix that on OpenSearch but osmem-server ignores
#: normalizers, so the two backends would disagree.
MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"mapping_version": MAPPING_VERSION},
    "properties": {
        "entry_id": _KEYWORD,
        "uuid": _KEYWORD,
        "version": _LONG,
        "deleted": {"type": "boolean"},
        "name": {"type": "text", "fields": {"raw": {"type": "keyword"}, "prefix": _PREFIX}},
        "creator_username": _KEYWORD,
        "description": _TEXT_WITH_PREFIX,
        "readme": _TEXT_WITH_PREFIX,
        "readme_text": _TEXT,
        "annotations_text": _TEXT,
        "relpaths": _TEXT,
        "tags": _KEYWORD,
        "base_uris": _KEYWORD,
        "uris": _KEYWORD,
        "replicas": _STORED_ONLY,
        "annotations": _STORED_ONLY,
        "annotation_values": _ANNOTATION_VALUES,
        "project": _KEYWORD,
        "type": _KEYWORD,
        "created_at": _DOUBLE,
        "frozen_at": _DOUBLE,
        "registered_at": _DOUBLE,
        "updated_at": _DOUBLE,
        "number_of_items": _LONG,
        "size_in_bytes": _LONG,
    },
}

Refresh = Literal[False, True, "wait_for"]


def make_client(
    url: str,
    *,
    timeout: float = 5.0,
    connect_timeout: float | None = None,
    http_auth: Any = None,
    verify_certs: bool = True,
) -> OpenSearch:
    """A client for one OpenSearch endpoint (``http://`` or ``https://``, optional path prefix).

    ``timeout`` is the read timeout, ``connect_timeout`` (default: ``timeout``) the TCP/TLS
    connect timeout. Connection errors and 502/503/504 are retried at most twice; timeouts
    are not retried (the caller decides). ``http_auth`` is the hook for AWS: pass
    ``opensearchpy.Urllib3AWSV4SignerAuth(credentials, region, "es")`` (a callable that signs
    each request), or a ``(user, password)`` tuple; credentials in the URL are used as basic
    auth when ``http_auth`` is not given.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"OpenSearch URL must be http:// or https://host[:port][/prefix], got {url!r}")
    use_ssl = parts.scheme == "https"
    host: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or (443 if use_ssl else 80),
        "use_ssl": use_ssl,
    }
    if parts.path.rstrip("/"):
        host["url_prefix"] = parts.path.rstrip("/")
    if http_auth is None and parts.username is not None:
        http_auth = (unquote(parts.username), unquote(parts.password or ""))
    return OpenSearch(
        hosts=[host],
        http_auth=http_auth,
        use_ssl=use_ssl,
        verify_certs=verify_certs,
        # urllib3.Timeout is handed to the connection pool as its default; a bare float
        # would be one "total" timeout covering connect and read together.
        timeout=urllib3.Timeout(connect=connect_timeout if connect_timeout is not None else timeout, read=timeout),
        # A retried bulk cannot regress a document: every write carries an external version.
        max_retries=2,
        retry_on_timeout=False,
        http_compress=False,
    )


@contextmanager
def _backend(action: str) -> Iterator[None]:
    """Translate anything the client or a malformed response throws into SearchUnavailable."""
    try:
        yield
    except (SearchUnavailable, ValidationError):
        raise
    except (OpenSearchException, ImproperlyConfigured, OSError) as exc:
        raise SearchUnavailable(f"search backend: {action} failed: {exc}") from exc
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SearchUnavailable(f"search backend: {action}: unexpected data ({exc!r})") from exc


def document_id(entry_id: str) -> str:
    """The ``_id`` of the document of ``entry_id``: deterministic and at most 69 characters.

    OpenSearch refuses an ``_id`` over 512 bytes and an entry_id can be longer (a base URI
    may have 1,024 characters), so the ``_id`` is the entry's uuid (what precedes the first
    "@", at most 36 characters kept) and 32 hex digits (128 bits) of the SHA-256 of the whole
    entry_id. Raises UnicodeEncodeError for an entry_id that is not valid Unicode.
    """
    uuid = entry_id.partition("@")[0][:36]
    digest = hashlib.sha256(entry_id.encode("utf-8")).hexdigest()[:32]
    return f"{uuid}-{digest}"


def _buckets(response: dict[str, Any], name: str) -> dict[str, int]:
    """Documents per bucket of the terms aggregation ``name``."""
    return {str(b["key"]): int(b["doc_count"]) for b in response["aggregations"][name]["buckets"]}


_TAG = re.compile("(" + "|".join(re.escape(t) for t in HIGHLIGHT_TAGS) + ")")


def _safe_snippet(snippet: str) -> str:
    """``snippet`` with any markup other than HIGHLIGHT_TAGS escaped. The ``html`` encoder
    already escaped the text: this changes nothing unless a backend ignored it."""
    parts = _TAG.split(snippet)
    return "".join(part if i % 2 else part.translate(_MARKUP) for i, part in enumerate(parts))


_MARKUP = str.maketrans({"<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def _highlights(hit: dict[str, Any]) -> dict[str, list[str]]:
    """The snippets of a hit per text field (only the fields where a word was marked)."""
    found = hit.get("highlight") or {}
    return {f: [_safe_snippet(str(s)) for s in found[f]] for f in TEXT_FIELDS if found.get(f)}


def _total(response: dict[str, Any]) -> int:
    total = response["hits"]["total"]
    return int(total["value"] if isinstance(total, dict) else total)


class OpenSearchIndex(SearchIndex):
    """The search port on one OpenSearch index.

    ``refresh`` is passed to every bulk request: ``False`` (default) makes writes visible
    after the index's refresh interval (1 s on OpenSearch), ``"wait_for"`` blocks each
    upsert until its documents are searchable (what the contract tests need on a real
    cluster; osmem-server makes every write visible at once either way).
    """

    def __init__(self, client: OpenSearch, index: str, *, refresh: Refresh = False) -> None:
        self._client = client
        self._index = index
        self._refresh = refresh
        self._mapping_current = False  # MAPPING put on the served index by this instance

    @property
    def index(self) -> str:
        return self._index

    # -- index lifecycle ---------------------------------------------------------------
    # ``self._index`` is an alias; the documents live in a concrete index behind it
    # (``<alias>-<suffix>``), so that :meth:`rebuild` can fill a new one and switch the
    # alias in one request. A concrete index named like the alias (made before aliases)
    # is still served and written; the first rebuild replaces it.
    def ensure_index(self) -> None:
        """Create the first index behind the alias; an existing one gets the fields of
        :data:`MAPPING` it lacks (see :meth:`_update_mapping`) and keeps its documents."""
        with _backend("create index"):
            self._create()

    def _create(self) -> None:
        if self._client.indices.exists(index=self._index):
            self._update_mapping()
            return
        try:
            # a fixed name: two callers racing both create "-v1" and one gets "already exists"
            body = {"settings": SETTINGS, "mappings": MAPPING, "aliases": {self._index: {}}}
            self._client.indices.create(index=f"{self._index}-v1", body=body)
        except RequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise
        self._mapping_current = True

    def _update_mapping(self) -> None:
        """Put the fields of :data:`MAPPING` the served index lacks on it, once per instance: a
        field added to the mapping since the index was made (e.g. ``project``,
        ``annotation_values``) is added, so that the strict mapping does not refuse every new
        document; documents written before lack it until they are written again or
        ``catalogue reindex`` runs. Fields it has are left alone: a changed one (a new
        subfield with its own analyzer) cannot be put on a served index and needs that
        reindex (:meth:`mapping_outdated`)."""
        if self._mapping_current:
            return
        with suppress(NotFoundError):
            served = self._served_mapping()
            missing = {k: v for k, v in MAPPING["properties"].items() if k not in served.get("properties", {})}
            if missing:
                self._client.indices.put_mapping(index=self._index, body={"properties": missing})
        self._mapping_current = True

    def _served_mapping(self) -> dict[str, Any]:
        """The mapping of the index the alias (or a plain index of that name) serves."""
        response = self._client.indices.get_mapping(index=self._index)
        return dict(next(iter(response.values()))["mappings"]) if response else {}

    def mapping_outdated(self) -> bool:
        """True when the served index was made with an older :data:`MAPPING_VERSION` (an
        index without ``_meta`` is version 1); a missing index is not outdated."""
        with _backend("read mapping"):
            try:
                served = self._served_mapping()
            except NotFoundError:
                return False
            version = (served.get("_meta") or {}).get("mapping_version", 1)
            return not isinstance(version, int) or version < MAPPING_VERSION

    def _behind_alias(self) -> list[str]:
        """The concrete indices the alias points at (none when it is absent or a plain index)."""
        if not self._client.indices.exists_alias(name=self._index):
            return []
        return sorted(self._client.indices.get_alias(name=self._index))

    def drop_index(self) -> None:
        """Delete the served index; a missing index is not an error."""
        with _backend("delete index"):
            for name in self._behind_alias() or [self._index]:
                with suppress(NotFoundError):
                    self._client.indices.delete(index=name)

    def rebuild(self, docs: Iterable[dict[str, Any]]) -> tuple[int, list[Rejected]]:
        """Write ``docs`` into a new index, then point the alias at it and delete the old.

        Until the switch the old index is served untouched; any failure deletes the new one.
        """
        new = f"{self._index}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
        written = 0
        rejected: list[Rejected] = []
        with _backend("rebuild index"):
            self._client.indices.create(index=new, body={"settings": SETTINGS, "mappings": MAPPING})
            try:
                batch: list[dict[str, Any]] = []
                for doc in docs:
                    batch.append(doc)
                    if len(batch) >= BULK_MAX_DOCS:
                        refused = self._write(batch, new)
                        written, rejected = written + len(batch) - len(refused), rejected + refused
                        batch = []
                refused = self._write(batch, new)
                written, rejected = written + len(batch) - len(refused), rejected + refused
                self._switch_alias(new)
            except BaseException:
                with suppress(Exception):
                    self._client.indices.delete(index=new)
                raise
        return written, rejected

    def _switch_alias(self, new: str) -> None:
        old = self._behind_alias()
        if not old and self._client.indices.exists(index=self._index):
            # a plain index holds the alias's name: it must go before the alias can be made
            # (the one moment when nothing is served)
            self._client.indices.delete(index=self._index)
        actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": self._index}} for name in old]
        actions.append({"add": {"index": new, "alias": self._index}})
        self._client.indices.update_aliases(body={"actions": actions})
        for name in old:
            with suppress(NotFoundError):
                self._client.indices.delete(index=name)

    # -- writes ----------------------------------------------------------------------
    def upsert(self, docs: Sequence[dict[str, Any]]) -> list[Rejected]:
        """Bulk-index ``docs`` with ``version_type=external`` (version = ``doc["version"]``).

        Each document is written under :func:`document_id` of its ``entry_id``, so versions
        are per entry. A 409 version conflict means the index already holds that or a newer
        version of the entry: it is success. A document that does not name exactly one entry
        (:func:`chalicelib.catalogue.search.identity_problem`), that the index refuses (strict mapping,
        a value it cannot take) or that cannot be serialized (a lone surrogate) is returned as
        rejected; the rest is written. A missing index is created once; an unreachable
        backend raises.
        """
        if not docs:
            return []
        with _backend("bulk index"):
            # OpenSearch (and osmem-server) auto-create a missing index on a bulk write, with
            # a dynamic mapping that breaks sorting (no name.raw) for good. The index vanishes
            # when osmem-server restarts, or after drop_index, so look first. With
            # action.auto_create_index=false the bulk reports index_not_found instead,
            # which is handled below.
            if not self._client.indices.exists(index=self._index):
                self._create()
            else:
                self._update_mapping()
            return self._write(docs, self._index)

    def _write(self, docs: Sequence[dict[str, Any]], index: str) -> list[Rejected]:
        serializer = self._client.transport.serializer  # the client's: dates, Decimals, UUIDs
        entries: list[tuple[Rejected, bytes]] = []
        rejected: list[Rejected] = []
        for doc in docs:
            key = rejection(doc, "")
            problem = identity_problem(doc)
            if problem is not None:
                rejected.append(replace(key, reason=problem))
                continue
            try:
                version = int(doc["version"])
                action = {"index": {"_id": document_id(key.entry_id), "version": version, "version_type": "external"}}
                # encoded one by one: a lone surrogate fails its own document, not the request
                entries.append((key, f"{serializer.dumps(action)}\n{serializer.dumps(doc)}\n".encode()))
            except (UnicodeEncodeError, TypeError, ValueError, KeyError) as exc:
                rejected.append(replace(key, reason=f"not serializable: {type(exc).__name__}"))
        refused, missing = self._bulk(entries, index)
        if missing:
            self._create()
            refused2, missing = self._bulk(missing, index)
            refused += refused2
            if missing:
                raise SearchUnavailable(f"search backend: index {index} is missing")
        return rejected + refused

    def _bulk(
        self, entries: list[tuple[Rejected, bytes]], index: str
    ) -> tuple[list[Rejected], list[tuple[Rejected, bytes]]]:
        """Send ``entries`` in bounded chunks: (refused documents, entries refused for a missing index)."""
        missing: list[tuple[Rejected, bytes]] = []
        refused: list[Rejected] = []
        for chunk in _chunks(entries):
            params: dict[str, Any] = {"refresh": self._refresh} if self._refresh else {}
            response = self._client.bulk(index=index, body=b"".join(body for _, body in chunk), **params)
            if not response.get("errors"):
                continue
            items = response["items"]
            if len(items) != len(chunk):
                raise ValueError(f"bulk answered {len(items)} items for {len(chunk)} documents")
            for entry, item in zip(chunk, items, strict=True):
                result = next(iter(item.values()))
                error = result.get("error")
                if not error:
                    continue
                kind = error.get("type") if isinstance(error, dict) else str(error)
                if result.get("status") == 409 or kind == "version_conflict_engine_exception":
                    continue
                if kind == "index_not_found_exception":
                    missing.append(entry)
                    continue
                if int(result.get("status") or 500) >= 500 or result.get("status") == 429:
                    raise SearchUnavailable(f"search backend: bulk item {result.get('status')} {kind}")
                reason = error.get("reason") if isinstance(error, dict) else ""
                refused.append(replace(entry[0], reason=f"{result.get('status')} {kind}: {reason}"[:500]))
        return refused, missing

    # -- reads -----------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchResult:
        """Run ``query``; see :class:`chalicelib.catalogue.search.SearchIndex` for the contract.

        ``next_after`` is the sort values of the last hit when a full page came back.
        A missing index raises SearchUnavailable.
        """
        body = build_search_body(query)
        if sees_nothing(query.allowed_base_uris, query.allowed_projects):
            return SearchResult(hits=[], total=0)
        with _backend("search"):
            response = self._client.search(index=self._index, body=body)
            raw = response["hits"]["hits"]
            hits = [dict(h["_source"]) for h in raw]
            if "highlight" in body:
                for hit, h in zip(hits, raw, strict=True):
                    hit[HIGHLIGHTS] = _highlights(h)
            total = _total(response)
            next_after = list(raw[-1]["sort"]) if raw and len(raw) == query.size else None
        return SearchResult(hits=hits, total=total, next_after=next_after)

    def facets(self, query: SearchQuery, size: int = FACET_VALUES) -> Facets:
        """Entries ``query`` matches, in all and per facet value (terms aggregations)."""
        body = build_facets_body(query, size)
        if sees_nothing(query.allowed_base_uris, query.allowed_projects):
            return Facets(total=0)
        with _backend("facets"):
            response = self._client.search(index=self._index, body=body)
            counts: dict[str, tuple[tuple[str, int], ...]] = {}
            for name in FACET_FIELDS:
                buckets = _buckets(response, name)
                if name == "base_uri" and query.allowed_base_uris is not None and not query.allowed_projects:
                    buckets = {k: v for k, v in buckets.items() if k in query.allowed_base_uris}
                counts[name] = tuple(sorted(buckets.items(), key=lambda kv: (-kv[1], kv[0]))[:size])
            return Facets(total=_total(response), facets=counts)

    def versions(self) -> Iterator[tuple[str, int]]:
        """Every (entry_id, version), tombstones included, in entry_id order.

        The first page is fetched by the call itself, so an unreachable backend raises here
        rather than on the first ``next()``; later pages may still raise while iterating.
        """
        first = self._versions_page(None)
        return self._versions_from(first)

    def _versions_page(self, after: list[Any] | None) -> list[tuple[str, int]]:
        body: dict[str, Any] = {
            "query": {"match_all": {}},
            "sort": [{"entry_id": {"order": "asc"}}],
            "_source": ["entry_id", "version"],
            "size": VERSIONS_PAGE,
            "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        with _backend("list versions"):
            response = self._client.search(index=self._index, body=body)
            return [(str(h["_source"]["entry_id"]), int(h["_source"]["version"])) for h in response["hits"]["hits"]]

    def _versions_from(self, page: list[tuple[str, int]]) -> Iterator[tuple[str, int]]:
        while page:
            yield from page
            if len(page) < VERSIONS_PAGE:
                return
            last = page[-1][0]
            page = self._versions_page([last])
            if page and page[0][0] <= last:
                # A backend that ignored search_after would otherwise loop forever.
                raise SearchUnavailable("search backend: list versions: search_after did not advance")

    def ping(self) -> bool:
        """True when the cluster answers; never raises."""
        try:
            return bool(self._client.ping())
        except Exception:
            return False


def _chunks(entries: list[tuple[Rejected, bytes]]) -> Iterator[list[tuple[Rejected, bytes]]]:
    """Bulk requests of at most BULK_MAX_DOCS documents and about BULK_MAX_BYTES of body."""
    chunk: list[tuple[Rejected, bytes]] = []
    size = 0
    for entry in entries:
        n = len(entry[1])
        if chunk and (len(chunk) >= BULK_MAX_DOCS or size + n > BULK_MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += n
    if chunk:
        yield chunk
