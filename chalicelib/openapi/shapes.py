"""The building blocks every schema module of the API description shares: JSON Schema
scalars, a component reference, an array of components, a page of components."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

STR: JSON = {"type": "string"}
NUM: JSON = {"type": "number"}
INT: JSON = {"type": "integer"}
BOOL: JSON = {"type": "boolean"}
STRS: JSON = {"type": "array", "items": STR}


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
