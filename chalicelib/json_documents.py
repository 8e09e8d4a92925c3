"""JSON documents checked against JSON Schemas (Draft 2020-12), every problem at once.

Used by the metadata submissions (:mod:`chalicelib.submissions`) and the site-defined
annotation schemas. A problem is ``{"path": <JSON pointer>, "message": <the rule broken>}``;
the pointer is RFC 6901's (``""`` is the whole document, ``/a/0/b`` a nested value).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidDocument

if TYPE_CHECKING:
    # jsonschema is imported where used: ~30 ms at a cold start that app.py's import would
    # pay in every Lambda function, and only writes of annotations and submissions need it
    # (bench/cold_start.py; tests/unit/test_cold_start.py keeps it out of ``import app``)
    from jsonschema.exceptions import ValidationError as SchemaViolation

# A schema or a document deeper than this is refused before jsonschema recurses into it.
MAX_DEPTH = 64
# at most this many problems are reported (a document with more is still refused)
MAX_PROBLEMS = 100


def pointer(parts: Iterable[Any]) -> str:
    """The JSON pointer of a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` nests (a scalar: 0), counted up to ``limit + 1`` without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, Mapping):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list | tuple):
            stack.extend((v, level + 1) for v in item)
    return deepest


def schema_problems(schema: Any) -> list[dict[str, str]]:
    """What is wrong with ``schema`` as a Draft 2020-12 JSON Schema (``[]``: nothing)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, Mapping | bool):
        return [{"path": "", "message": "a JSON Schema is an object (or true/false)"}]
    if depth_of(schema) > MAX_DEPTH:
        return [{"path": "", "message": f"the schema nests deeper than {MAX_DEPTH} levels"}]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [{"path": pointer(exc.absolute_path), "message": exc.message}]
    except (RecursionError, ValueError, TypeError) as exc:  # e.g. an unusable pattern
        return [{"path": "", "message": f"the schema cannot be used: {type(exc).__name__}"}]
    return []


def document_problems(schema: Mapping[str, Any] | bool, document: Any) -> list[dict[str, str]]:
    """Every way ``document`` breaks ``schema`` (a schema :func:`schema_problems` accepted),
    sorted by path; ``[]`` when it conforms. Remote ``$ref`` s are never fetched."""
    from jsonschema import Draft202012Validator

    if depth_of(document) > MAX_DEPTH:
        return [{"path": "", "message": f"the document nests deeper than {MAX_DEPTH} levels"}]
    validator = Draft202012Validator(schema)
    problems: list[tuple[str, str]] = []
    try:
        for error in validator.iter_errors(document):
            problems.extend(_leaves(error))
            if len(problems) >= MAX_PROBLEMS:
                break
    except Exception as exc:  # a site's schema is untrusted: e.g. a $ref that resolves nowhere
        return [{"path": "", "message": f"the document cannot be checked: {type(exc).__name__}"}]
    return [{"path": path, "message": message} for path, message in sorted(set(problems))[:MAX_PROBLEMS]]


def _leaves(error: SchemaViolation) -> list[tuple[str, str]]:
    """The most specific problems of ``error``: for ``anyOf``/``oneOf`` the best match of
    each branch would be noise, so the error itself is reported unless one branch is clearly
    the one meant (jsonschema's ``best_match`` picks it)."""
    if error.context:
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        if best is not None and best.absolute_path != error.absolute_path:
            return [(pointer(best.absolute_path), best.message)]
    return [(pointer(error.absolute_path), error.message)]


def require_conforming(schema: Mapping[str, Any] | bool, document: Any, what: str) -> None:
    """Raise :class:`InvalidDocument` listing every problem when ``document`` breaks ``schema``."""
    problems = document_problems(schema, document)
    if problems:
        count = len(problems)
        raise InvalidDocument(f"{what} breaks its schema ({count} problem{'s' if count > 1 else ''})", problems)
