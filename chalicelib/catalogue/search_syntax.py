"""The search text a user types: free words, prefixes and annotation clauses (pure functions).

A search text is read left to right as whitespace-separated parts:

- ``annotations.KEY>=N`` (also ``>``, ``<``, ``<=``; Lucene's ``annotations.KEY:>=N`` too):
  a number comparison on the annotation ``KEY``;
- ``annotations.KEY:[A TO B]`` (Lucene's range: ``[`` ``]`` inclusive, ``{`` ``}`` exclusive,
  ``*`` an open end): a number range;
- ``annotations.KEY:VALUE`` or ``annotations.KEY=VALUE``: equality. A number matches equal
  numbers and the string written the same; any other value (``"in quotes"`` when it has
  spaces) matches that string exactly (case-sensitive), ``true``/``false`` also booleans;
- ``annotations.KEY:*`` or ``_exists_:annotations.KEY``: the annotation is set (any value);
- anything else is a free word; a word ending in ``*`` is an explicit prefix (``calib*``).

``KEY`` is an annotation name; a value nested in objects is addressed by its path
(``annotations.sample.temperature_K`` for ``{"sample": {"temperature_K": 300}}``), so a name
that itself contains dots and a nested path of the same spelling are the same key. Values
in lists are each a value of the key. A part that starts with ``annotations.`` or
``_exists_:`` and holds an operator character but is not a clause above is refused
(:class:`ValidationError` naming the part); a part without one (``annotations.json``) is a word.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.errors import ValidationError

ANNOTATIONS_PREFIX = "annotations."
MAX_CLAUSES = 20
MAX_KEY_CHARS = 256
#: A string value longer than this is not indexed for equality (its key still is, for exists):
#: a keyword term may not exceed 32,766 bytes in Lucene, and nobody types such a value.
MAX_VALUE_CHARS = 256
#: Annotation values indexed per entry (each is a nested document in OpenSearch, whose
#: ``index.mapping.nested_objects.limit`` is 10,000 per document).
MAX_ANNOTATION_VALUES = 1000

_KEY = r"[A-Za-z0-9_.\-]+"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATOR_CHARS = frozenset(":=<>!~[]{}")
# one clause at the start of the remaining text; groups: key, then the rest is read by _clause
_CLAUSE_START = re.compile(rf"(?:_exists_:)?annotations\.({_KEY})")
_RANGE = re.compile(r"([\[{])\s*(\S+)\s+TO\s+(\S+?)\s*([\]}])(?=\s|$)")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"(?=\s|$)')
_COMPARISON = re.compile(r":?(>=|<=|>|<)(\S+)")

Kind = Literal["exists", "equals", "range"]


@dataclass(frozen=True)
class AnnotationClause:
    """One annotation condition of a search (all clauses of a search must hold).

    ``equals``: ``text`` (the value as typed) and, when it is a number, ``number`` too;
    ``range``: the bounds given (``gt``/``gte``/``lt``/``lte``), numbers only; ``exists``: only ``key``.
    ``source`` is the clause as the user wrote it (for messages).
    """

    key: str
    kind: Kind
    source: str = ""
    text: str | None = None
    number: float | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    def bounds(self) -> dict[str, float]:
        """The range bounds that are set, as OpenSearch's ``range`` names them."""
        out = {"gt": self.gt, "gte": self.gte, "lt": self.lt, "lte": self.lte}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class ParsedText:
    text: str  # the free words, in order, separated by single spaces
    annotations: tuple[AnnotationClause, ...] = ()


def parse_search_text(text: str, field: str = "q") -> ParsedText:
    """Split ``text`` into its free words and annotation clauses (see the module docstring).

    Raises :class:`ValidationError` (``field``) naming the first malformed clause, or when
    there are more than :data:`MAX_CLAUSES` clauses.
    """
    words: list[str] = []
    clauses: list[AnnotationClause] = []
    pos, n = 0, len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        start = _CLAUSE_START.match(text, pos)
        if start is None and text.startswith("_exists_:", pos):
            raise _bad(text[pos : _word_end(text, pos)], "_exists_: takes annotations.KEY", field)
        if start is None or not _is_clause(text, pos):
            end = _word_end(text, pos)
            words.append(text[pos:end])
            pos = end
            continue
        clause, pos = _clause(text, pos, start, field)
        clauses.append(clause)
        if len(clauses) > MAX_CLAUSES:
            raise ValidationError(f"at most {MAX_CLAUSES} annotation clauses in {field}", field=field)
    return ParsedText(text=" ".join(words), annotations=tuple(clauses))


_PART = re.compile(r"\S+")


def _word_end(text: str, pos: int) -> int:
    m = _PART.match(text, pos)
    assert m is not None  # text[pos] is not a space
    return m.end()


def _is_clause(text: str, pos: int) -> bool:
    """A part is a clause when it is ``_exists_:…`` or holds an operator character."""
    part = text[pos : _word_end(text, pos)]
    return part.startswith("_exists_:") or any(ch in _OPERATOR_CHARS for ch in part)


def _clause(text: str, pos: int, start: re.Match[str], field: str) -> tuple[AnnotationClause, int]:
    source_end = _word_end(text, pos)
    source = text[pos:source_end]
    key = start.group(1)
    if len(key) > MAX_KEY_CHARS or key.startswith(".") or key.endswith(".") or ".." in key:
        raise _bad(source, f"an annotation name of 1 to {MAX_KEY_CHARS} characters", field)
    rest = start.end()
    if text.startswith("_exists_:", pos):
        if rest != source_end:
            raise _bad(source, "_exists_:annotations.KEY takes nothing after the name", field)
        return AnnotationClause(key, "exists", source), rest
    after = text[rest:source_end]
    if after == ":*":
        return AnnotationClause(key, "exists", source), source_end
    if after.startswith(":") and after[1:2] in ("[", "{"):
        m = _RANGE.match(text, rest + 1)
        if m is None:
            raise _bad(source, "a range is [A TO B] (inclusive) or {A TO B} (exclusive), * for an open end", field)
        clause = _range(key, text[pos : m.end()], m, field)
        return clause, m.end()
    comparison = _COMPARISON.fullmatch(after)
    if comparison is not None:
        op, raw = comparison.groups()
        name = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[op]
        return _between(key, source, {name: _number(raw, source, field)}), source_end
    if after[:1] in (":", "=") and after[1:2] not in ("", ":", "=", "<", ">", "!", "~"):
        quoted = _QUOTED.match(text, rest + 1)
        if quoted is not None:
            unquoted = re.sub(r"\\(.)", r"\1", quoted.group(1))
            return _equals(key, text[pos : quoted.end()], unquoted, field), quoted.end()
        if '"' in after:
            raise _bad(source, 'a quoted value ends with " before a space', field)
        return _equals(key, source, after[1:], field), source_end
    raise _bad(source, "operators are : = > >= < <= and [A TO B]; :* tests that the annotation is set", field)


def _equals(key: str, source: str, value: str, field: str) -> AnnotationClause:
    if len(value) > MAX_VALUE_CHARS:
        # never indexed for equality (see MAX_VALUE_CHARS): say so rather than find nothing
        raise _bad(source, f"a value compared for equality has at most {MAX_VALUE_CHARS} characters", field)
    number = _as_number(value)
    return AnnotationClause(key, "equals", source, text=value, number=number)


def _range(key: str, source: str, m: re.Match[str], field: str) -> AnnotationClause:
    open_, low, high, close = m.groups()
    bounds: dict[str, float] = {}
    if low != "*":
        bounds["gte" if open_ == "[" else "gt"] = _number(low, source, field)
    if high != "*":
        bounds["lte" if close == "]" else "lt"] = _number(high, source, field)
    if not bounds:
        return AnnotationClause(key, "exists", source)
    return _between(key, source, bounds)


def _between(key: str, source: str, bounds: dict[str, float]) -> AnnotationClause:
    get = bounds.get
    return AnnotationClause(key, "range", source, gt=get("gt"), gte=get("gte"), lt=get("lt"), lte=get("lte"))


def _as_number(raw: str) -> float | None:
    if not _NUMBER.fullmatch(raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def _number(raw: str, source: str, field: str) -> float:
    value = _as_number(raw)
    if value is None:
        raise _bad(source, f"{raw[:40]!r} is not a number (comparisons and ranges take numbers)", field)
    return value


def _bad(source: str, why: str, field: str) -> ValidationError:
    return ValidationError(f"annotation clause {source[:80]!r}: {why}", field=field)


# -- free words ------------------------------------------------------------------------
_IDEOGRAPHS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ONE_TOKEN = re.compile(rf"[^\W{_IDEOGRAPHS}]+")


@dataclass(frozen=True)
class Word:
    """A free word: ``text`` as typed (without a final ``*``); ``prefix`` when it ended in
    ``*``; ``single`` when it is one token of the standard analyzer (letters, digits, ``_``),
    which an explicit prefix needs to be matched against every text field."""

    text: str
    prefix: bool = False

    @property
    def single(self) -> bool:
        return bool(_ONE_TOKEN.fullmatch(self.text)) and self.text.strip("_") != ""


def free_words(text: str) -> Iterator[Word]:
    """The words of a free text that can match anything: parts without a letter or digit
    (``!!!``, ``-``) are skipped, as the analyzer drops them."""
    for part in text.split():
        prefix = part.endswith("*")
        stem = part.rstrip("*") if prefix else part
        if any(ch.isalnum() for ch in stem):
            yield Word(stem, prefix)


# -- index side ------------------------------------------------------------------------
def annotation_values(annotations: Mapping[str, Any], limit: int = MAX_ANNOTATION_VALUES) -> list[dict[str, Any]]:
    """The ``annotation_values`` of an index document: one ``{"key"}`` per annotation value,
    with ``number`` (a finite int or float) or ``text`` (a string of at most
    :data:`MAX_VALUE_CHARS`; ``true``/``false`` for booleans); a key whose value is null,
    an empty list or object, or a long string has only ``key`` (it exists, equals nothing).
    Nested objects give dotted keys; list elements are values of the same key. At most
    ``limit`` values, in document order."""
    out: list[dict[str, Any]] = []
    stack: list[tuple[str, Any]] = [(k, v) for k, v in reversed(list(annotations.items()))]
    while stack and len(out) < limit:
        key, value = stack.pop()
        if len(key) > MAX_KEY_CHARS:
            continue
        if isinstance(value, Mapping) and value:
            stack.extend((f"{key}.{k}", v) for k, v in reversed(list(value.items())))
        elif isinstance(value, (list, tuple)) and value:
            stack.extend((key, v) for v in reversed(value))
        elif isinstance(value, bool):
            out.append({"key": key, "text": "true" if value else "false"})
        elif isinstance(value, (int, float)) and _finite(value):
            out.append({"key": key, "number": float(value)})
        elif isinstance(value, str) and len(value) <= MAX_VALUE_CHARS:
            out.append({"key": key, "text": value})
        else:
            out.append({"key": key})
    return out


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an int beyond a double's range
        return False
