"""The JSON Schema of each object type, generated from its XSD.

The schema describes exactly what xmlschema's default converter makes of the type's element
(:mod:`chalicelib.submissions.types`): child elements by name, a list where the converter
makes one (``XsdElement.is_single()``), attributes as ``@name``, an element's text as ``$``
when it has attributes, values typed as the XSD's built-in types decode (integers, numbers,
booleans, strings; ``null`` for an empty element). Named complex types become ``$defs``.

What a JSON Schema cannot say as the XSD does (which branch of a choice, the order of a
sequence, the XSD's own patterns) is left to the XSD: a JSON object is also encoded against
it (:meth:`chalicelib.submissions.ena_schemas.EnaSchemas.object_from_json`).

The generated files are committed under ``schemas/json/``; ``python -m
chalicelib.submissions.json_schemas`` writes them again, and a test fails when they differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import xmlschema
from xmlschema.validators import XsdAnyAttribute, XsdAnyElement, XsdElement, XsdGroup

from chalicelib.submissions.types import TYPES, ObjectType

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://catalogue.invalid/schemas/"  # not fetched: names the schema only
_INTEGER = frozenset(
    {
        "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
        "nonPositiveInteger", "negativeInteger", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte",
    }
)  # fmt: skip
_NUMBER = ("decimal", "float", "double")


def _builtin(simple: Any) -> Any:
    """The XSD built-in type ``simple`` derives from (itself when it is one)."""
    seen = 0
    while getattr(simple, "base_type", None) is not None and seen < 64:
        if simple.__class__.__name__ == "XsdAtomicBuiltin":
            break
        simple = simple.base_type
        seen += 1
    return simple


def _simple(simple: Any) -> dict[str, Any]:
    """The JSON Schema of a value of the simple type ``simple``."""
    if simple.is_list():
        return {"type": "array", "items": _simple(simple.item_type)}
    if simple.is_union():
        return {"anyOf": [_simple(m) for m in simple.member_types]}
    name = str(_builtin(simple).local_name or "string")
    schema: dict[str, Any]
    if name in _INTEGER:
        schema = {"type": "integer"}
    elif name in _NUMBER:
        schema = {"type": "number"}
    elif name == "boolean":
        schema = {"type": "boolean"}
    else:
        schema = {"type": "string"}
    enumeration = getattr(simple, "enumeration", None)
    if enumeration and schema["type"] == "string":
        schema["enum"] = sorted({str(v) for v in enumeration})
    return schema


class _Generator:
    def __init__(self, schema: xmlschema.XMLSchema) -> None:
        self._schema = schema
        self.defs: dict[str, Any] = {}

    def element(self, element: XsdElement) -> dict[str, Any]:
        """The JSON Schema of one occurrence of ``element``."""
        xsd_type = element.type
        if xsd_type.is_simple():
            value = _simple(xsd_type)
            return {"anyOf": [value, {"type": "null"}]} if value.get("type") == "string" else value
        name = xsd_type.local_name
        if name is None:  # anonymous: inline
            return self.complex(xsd_type)
        if name not in self.defs:
            self.defs[name] = {}  # reserved first: a type may contain itself
            self.defs[name] = self.complex(xsd_type)
        return {"$ref": f"#/$defs/{name}"}

    def complex(self, xsd_type: Any) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        open_content = False
        for attr_name, attribute in xsd_type.attributes.items():
            if isinstance(attribute, XsdAnyAttribute) or attr_name is None:
                open_content = True
                continue
            local = attribute.local_name
            properties[f"@{local}"] = _simple(attribute.type)
            if attribute.use == "required":
                required.append(f"@{local}")
        if xsd_type.has_simple_content():
            properties["$"] = _simple(xsd_type.content)
        elif xsd_type.mixed:
            properties["$"] = {"type": ["string", "null"]}
        content = xsd_type.content
        if isinstance(content, XsdGroup):
            open_content |= self._group(content, properties, required, required_here=True)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = sorted(set(required))
        if not open_content:
            schema["additionalProperties"] = False
        if not properties and not open_content:
            # an empty element decodes to null; with attributes possible, to an object
            return {"type": ["object", "null"], "additionalProperties": False, "properties": {}}
        return schema

    def _group(self, group: XsdGroup, properties: dict[str, Any], required: list[str], required_here: bool) -> bool:
        """Add the group's elements; True when the group admits any element (a wildcard)."""
        open_content = False
        # an element is required only when every group around it must appear and is no choice
        here = required_here and group.min_occurs > 0 and group.model != "choice"
        for particle in group:
            if isinstance(particle, XsdGroup):
                open_content |= self._group(particle, properties, required, here)
            elif isinstance(particle, XsdAnyElement):
                open_content = True
            elif isinstance(particle, XsdElement):
                local = str(particle.local_name)
                one = self.element(particle)
                properties[local] = one if particle.is_single() else {"type": "array", "items": one}
                if here and particle.min_occurs > 0:
                    required.append(local)
        return open_content


def generate(schema: xmlschema.XMLSchema, type_: ObjectType) -> dict[str, Any]:
    """The JSON Schema of one object of ``type_`` (the decoding of its element)."""
    generator = _Generator(schema)
    body = generator.element(schema.elements[type_.element])
    out: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": f"{ID_BASE}{type_.name}.json",
        "title": f"ENA {type_.name} ({type_.element} of {type_.xsd})",
        "description": f"One {type_.element} element of {type_.xsd}, as JSON: child elements by name, "
        "attributes as @name, an element's text as $ when it has attributes.",
    }
    if "$ref" in body:
        out["$ref"] = body["$ref"]
    else:
        out.update(body)
    out["$defs"] = dict(sorted(generator.defs.items()))
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(directory: Path) -> int:
    """Write ``<directory>/json/<type>.json`` for every type from ``<directory>/ena/``."""
    (directory / "json").mkdir(exist_ok=True)
    for type_ in TYPES.values():
        schema = xmlschema.XMLSchema(str(directory / "ena" / type_.xsd))
        (directory / "json" / f"{type_.name}.json").write_text(render(generate(schema, type_)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(__file__).parent / "schemas"))
