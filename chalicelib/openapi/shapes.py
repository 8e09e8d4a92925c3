"""The building blocks every schema module of the API description shares: JSON Schema
scalars, a component reference, an array of components, a page of components."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

JSON = dict[str, Any]

STR: JSON = {"type": "string"}
NUM: JSON = {"type": "number"}
INT: JSON = {"type": "integer"}
BOOL: JSON = {"type": "boolean"}
STRS: JSON = {"type": "array", "items": STR}


def sort_pattern(fields: Sequence[str]) -> str:
    """The pattern of the ``sort`` values ``chalicelib.routes._smorest.parse_sort`` takes for
    ``fields``: a comma list of fields, each after an optional ``-`` (descending) or ``+``
    (which arrives as a space when the client did not encode it)."""
    one = f"[ +-]?({'|'.join(fields)})"
    return f"^{one}(,{one})*$"


def ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def array_of(name: str, description: str = "") -> JSON:
    out: JSON = {"type": "array", "items": ref(name)}
    if description:
        out["description"] = description
    return out


def page_ref(item: str) -> JSON:
    """A page of the catalogue's lists (``Page``) of ``item``."""
    return {"allOf": [ref("Page")], "properties": {"items": array_of(item)}}
