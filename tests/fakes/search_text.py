"""What the in-memory search index matches free words and annotation clauses with, as the
OpenSearch adapter's queries do (:mod:`chalicelib.adapters.opensearch_queries`): each word
whole in a text field, or by its beginning (2 to PREFIX_MAX_CHARS characters) in a
PREFIX_FIELDS field, or (``calib*``, one token) by its beginning in any text field; each
annotation clause against one value of ``annotation_values`` of its key."""

from __future__ import annotations

from typing import Any

from chalicelib.catalogue.search import PREFIX_FIELDS, PREFIX_MAX_CHARS, PREFIX_MIN_CHARS, TEXT_FIELDS
from chalicelib.catalogue.search_syntax import AnnotationClause, Word, free_words


def text_matches(doc: dict[str, Any], text: str, tokens: Any, *, subfields: bool = True) -> bool:
    """Whether every free word of ``text`` is found in ``doc`` (``tokens``: the fake's analyzer;
    ``subfields`` false: as an index made before the ``.prefix`` subfields, which finds words by
    their beginnings only when they end in ``*``)."""
    words = list(free_words(text))
    if not words:
        return False  # text without any word matches nothing (as OpenSearch's match_none)
    every: set[str] = set()
    for field in TEXT_FIELDS:
        for value in string_values(doc, field):
            every |= tokens(value)
    beginnings: set[str] = set()
    for field in PREFIX_FIELDS if subfields else ():
        for value in string_values(doc, field):
            beginnings |= {t[:n] for t in tokens(value) for n in range(PREFIX_MIN_CHARS, PREFIX_MAX_CHARS + 1)}
    return all(_word_found(w, tokens(w.text), every, beginnings) for w in words)


def prefix_stems(text: str) -> tuple[str, ...]:
    """The lowercased stems of the explicit one-token prefixes of ``text`` (``calib*``)."""
    return tuple(w.text.lower() for w in free_words(text) if w.prefix and w.single)


def _word_found(word: Word, wanted: set[str], every: set[str], beginnings: set[str]) -> bool:
    if not wanted:
        return False  # a word the analyzer drops entirely (its clause matches nothing)
    if wanted <= every:
        return True
    # an edge n-gram is at most PREFIX_MAX_CHARS long: a longer token of the query finds nothing
    if all(PREFIX_MIN_CHARS <= len(t) <= PREFIX_MAX_CHARS and t in beginnings for t in wanted):
        return True
    if word.prefix and word.single:
        stem = word.text.lower()
        return any(t.startswith(stem) for t in every)
    return False


def annotations_match(doc: dict[str, Any], clauses: tuple[AnnotationClause, ...]) -> bool:
    values = [v for v in doc.get("annotation_values") or () if isinstance(v, dict)]
    return all(any(_value_matches(v, c) for v in values if v.get("key") == c.key) for c in clauses)


def _value_matches(value: dict[str, Any], clause: AnnotationClause) -> bool:
    number = value.get("number")
    if clause.kind == "exists":
        return True
    if clause.kind == "equals":
        return value.get("text") == clause.text or (
            clause.number is not None and number is not None and float(number) == clause.number
        )
    if number is None:
        return False
    n = float(number)
    checks = {
        "gt": lambda b: n > b,
        "gte": lambda b: n >= b,
        "lt": lambda b: n < b,
        "lte": lambda b: n <= b,
    }
    return all(checks[name](bound) for name, bound in clause.bounds().items())


def string_values(doc: dict[str, Any], field: str) -> list[str]:
    """The strings a document holds in ``field`` (one, or those of a list)."""
    value = doc.get(field)
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []
