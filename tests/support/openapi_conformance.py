"""Every answer the functional tests receive, held against the committed API description
(``chalicelib/openapi/openapi.json``): the request's route and method are described, the
status is one the operation declares (any 4xx/5xx: the ``Error`` shape), and a JSON body
matches the declared schema. A handler and its description cannot drift apart unnoticed."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from chalicelib.openapi.document import load


@cache
def _document() -> dict[str, Any]:
    return load()


@cache
def _routes() -> list[tuple[re.Pattern[str], str, int]]:
    """Each described path as a pattern, literal segments preferred over parameters."""
    out = []
    for template in _document()["paths"]:
        # a parameter may be empty (Chalice matches ``/proposals//by_number/0``); a trailing
        # slash is the route without it (metadata_client sends ``/runs/``)
        pattern = re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]*", re.escape(template)) + "/?$")
        out.append((pattern, template, template.count("{")))
    return sorted(out, key=lambda r: (r[2], -len(r[1])))


@cache
def _validator(pointer: str) -> Draft202012Validator:
    document = _document()
    return Draft202012Validator({"$ref": pointer, "components": document["components"]})


def route_of(path: str) -> str | None:
    bare = urlsplit(path).path
    return next((template for pattern, template, _ in _routes() if pattern.match(bare)), None)


def check(method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> list[str]:
    """What is wrong with this answer against the description (``[]``: nothing)."""
    route = route_of(path)
    if route is None:
        return [f"{method} {path}: no described route"]
    operation = _document()["paths"][route].get(method.lower())
    if operation is None:  # a method the route does not have: Chalice's 405 is right
        return [] if status == 405 else [f"{method} {route}: not described, answered {status}"]
    declared = operation["responses"]
    if str(status) in declared:
        response = declared[str(status)]
    elif status >= 400 and "default" in declared:
        response = declared["default"]
    else:
        return [f"{method} {route} answered {status}; described: {', '.join(declared)}"]
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    schema = (response.get("content") or {}).get("application/json", {}).get("schema")
    if not schema or "application/json" not in content_type or not body:
        return []
    try:
        value = json.loads(body)
    except ValueError:
        return [f"{method} {route} {status}: the body is not JSON"]
    pointer = schema.get("$ref")
    validator = _validator(pointer) if pointer else Draft202012Validator(schema)
    return [
        f"{method} {route} {status}: {e.message} at {'/'.join(map(str, e.absolute_path))}"
        for e in validator.iter_errors(value)
    ][:5]
