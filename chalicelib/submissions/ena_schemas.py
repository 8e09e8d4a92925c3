"""ENA objects in and out: XML read only through defusedxml and checked against the XSDs with
xmlschema, JSON checked against the generated JSON Schemas, both turned into one stored form.

The stored form of an object is the XSD decoding of its element (see
:mod:`chalicelib.submissions.types`). A JSON object is first checked against its type's JSON
Schema (problems with JSON pointers), then encoded to XML against the XSD (what a JSON Schema
cannot say: choices, patterns of the XSD's own) and decoded again, so that an object sent as
XML and the same object sent as JSON are stored identically.

Every problem is reported at once, as ``{"path": ..., "message": ...}``; nothing here raises
anything but :class:`~chalicelib.errors.InvalidDocument` for any input (xmlschema's own
exceptions on malformed data are caught: never a 500).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from chalicelib.errors import InvalidDocument
from chalicelib.json_documents import document_problems
from chalicelib.submissions.types import BY_SET_ELEMENT, TYPES, ObjectType

if TYPE_CHECKING:
    # imported where used: xmlschema (with elementpath) costs ~110 ms at a cold start, paid by
    # every Lambda function since app.py's OpenAPI description imports this module
    # (bench/cold_start.py; tests/unit/test_cold_start.py keeps it out of ``import app``)
    import xmlschema

SCHEMA_DIR = Path(__file__).parent / "schemas"
# Caps on a submitted XML file (checked while it is read, before any schema sees it).
MAX_XML_BYTES = 1024 * 1024
MAX_XML_DEPTH = 32  # ENA's deepest objects nest ~10 levels; xmlschema recurses per level
MAX_XML_ELEMENTS = 100_000
MAX_VALUE_CHARS = 64 * 1024  # one attribute value or one element's text
# an object whose stored form is larger is refused (the record store's items hold 400 KB)
MAX_OBJECT_BYTES = 256 * 1024
MAX_PROBLEMS = 100


def _problem(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def _refuse(what: str, problems: Sequence[Mapping[str, str]]) -> InvalidDocument:
    count = len(problems)
    return InvalidDocument(f"{what} is not valid ({count} problem{'s' if count != 1 else ''})", problems[:MAX_PROBLEMS])


def read_xml(data: bytes, what: str = "the XML file") -> Element:
    """The root element of ``data``, read by defusedxml: no DTD, no entities, no external
    references; size, depth, element count and value lengths capped."""
    if len(data) > MAX_XML_BYTES:
        raise _refuse(what, [_problem("/", f"the file is larger than {MAX_XML_BYTES} bytes")])
    depth = elements = 0
    root: Element | None = None
    try:
        for event, elem in iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True):
            if event == "end":
                depth -= 1
                continue
            depth += 1
            elements += 1
            root = elem if root is None else root
            if depth > MAX_XML_DEPTH:
                raise _refuse(what, [_problem("/", f"elements nest deeper than {MAX_XML_DEPTH} levels")])
            if elements > MAX_XML_ELEMENTS:
                raise _refuse(what, [_problem("/", f"more than {MAX_XML_ELEMENTS} elements")])
            if any(len(v) > MAX_VALUE_CHARS for v in elem.attrib.values()):
                raise _refuse(what, [_problem("/", f"an attribute value is longer than {MAX_VALUE_CHARS} characters")])
    except DefusedXmlException as exc:
        # DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden: attacks or not, refused
        raise _refuse(what, [_problem("/", f"forbidden XML construct: {type(exc).__name__}")]) from None
    except ParseError as exc:
        raise _refuse(what, [_problem("/", f"not well-formed XML: {exc}")]) from None
    except (LookupError, ValueError) as exc:
        # expat raises these, not ParseError, for the declaration's encoding: LookupError for
        # an unknown one ("TF-8"), ValueError for a multi-byte one other than UTF-8/16 ("UTF-32")
        raise _refuse(what, [_problem("/", f"unsupported encoding: {exc}")]) from None
    if root is None:
        raise _refuse(what, [_problem("/", "the file holds no element")])
    for elem in root.iter():
        if elem.text is not None and len(elem.text) > MAX_VALUE_CHARS:
            raise _refuse(what, [_problem("/", f"an element's text is longer than {MAX_VALUE_CHARS} characters")])
    return root


def _xpaths(root: Element) -> dict[int, str]:
    """The XPath of every element of ``root`` (positions where siblings share a tag), by id."""
    paths = {id(root): f"/{root.tag}"}
    for parent in root.iter():
        counts: dict[str, int] = {}
        for child in parent:
            counts[str(child.tag)] = counts.get(str(child.tag), 0) + 1
        seen: dict[str, int] = {}
        for child in parent:
            tag = str(child.tag)
            seen[tag] = seen.get(tag, 0) + 1
            index = f"[{seen[tag]}]" if counts[tag] > 1 else ""
            paths[id(child)] = f"{paths[id(parent)]}/{tag}{index}"
    return paths


class EnaSchemas:
    """The XSDs and JSON Schemas of the eight types, loaded once each on first use."""

    def __init__(self, directory: Path = SCHEMA_DIR) -> None:
        self._directory = directory
        self._xsds: dict[str, xmlschema.XMLSchema] = {}
        self._json: dict[str, dict[str, Any]] = {}
        self._submission: xmlschema.XMLSchema | None = None

    # -- the schemas ---------------------------------------------------------------------
    def xsd(self, type_: ObjectType) -> xmlschema.XMLSchema:
        import xmlschema

        if type_.name not in self._xsds:
            self._xsds[type_.name] = xmlschema.XMLSchema(str(self._directory / "ena" / type_.xsd))
        return self._xsds[type_.name]

    def xsd_text(self, type_: ObjectType) -> str:
        return (self._directory / "ena" / type_.xsd).read_text(encoding="utf-8")

    def json_schema(self, type_: ObjectType) -> dict[str, Any]:
        if type_.name not in self._json:
            path = self._directory / "json" / f"{type_.name}.json"
            self._json[type_.name] = json.loads(path.read_text(encoding="utf-8"))
        return self._json[type_.name]

    # -- XML in --------------------------------------------------------------------------
    def objects_from_xml(
        self, data: bytes, expected: ObjectType | None = None
    ) -> tuple[ObjectType, list[dict[str, Any]]]:
        """The objects of an XML file (a ``<STUDY_SET>`` of ``<STUDY>`` s, or one ``<STUDY>``):
        its type (``expected``, or found from the root element) and each object's stored form.
        Every problem of the file is reported at once."""
        import xmlschema

        root = read_xml(data)
        type_ = self._type_of(root, expected)
        schema = self.xsd(type_)
        paths = _xpaths(root)
        problems: list[dict[str, str]] = []
        try:
            for error in schema.iter_errors(root):
                where = paths.get(id(error.elem), error.path or "/") if error.elem is not None else (error.path or "/")
                problems.append(_problem(where, error.reason or str(error.message)))
                if len(problems) >= MAX_PROBLEMS:
                    break
        except (xmlschema.XMLSchemaException, ValueError, TypeError, RecursionError) as exc:
            problems.append(_problem("/", f"the file cannot be validated: {type(exc).__name__}"))
        if problems:
            raise _refuse(f"the {type_.name} XML", problems)
        elements = [root] if root.tag == type_.element else [e for e in root if e.tag == type_.element]
        if not elements:
            raise _refuse(f"the {type_.name} XML", [_problem(paths[id(root)], f"holds no {type_.element} element")])
        try:
            decoder = schema.elements[type_.element]
            objects = [_as_dict(decoder.decode(e, decimal_type=float)) for e in elements]
        except (xmlschema.XMLSchemaException, ValueError, TypeError, RecursionError) as exc:
            raise _refuse(f"the {type_.name} XML", [_problem("/", f"cannot be read: {type(exc).__name__}")]) from None
        for index, obj in enumerate(objects):
            _check_size(obj, paths[id(elements[index])])
        return type_, objects

    def _type_of(self, root: Element, expected: ObjectType | None) -> ObjectType:
        tag = str(root.tag)
        if expected is not None:
            if tag not in (expected.set_element, expected.element):
                raise _refuse(
                    f"the {expected.name} XML",
                    [_problem(f"/{tag}", f"the root element must be {expected.set_element} or {expected.element}")],
                )
            return expected
        found = BY_SET_ELEMENT.get(tag) or next((t for t in TYPES.values() if t.element == tag), None)
        if found is None:
            names = ", ".join(t.set_element for t in TYPES.values())
            raise _refuse("the XML file", [_problem(f"/{tag[:64]}", f"the root element must be one of {names}")])
        return found

    # -- JSON in -------------------------------------------------------------------------
    def object_from_json(self, type_: ObjectType, document: Any) -> dict[str, Any]:
        """The stored form of a JSON object of ``type_``: checked against the type's JSON
        Schema, then against its XSD (through an XML encoding), every problem at once."""
        import xmlschema

        what = f"the {type_.name} JSON"
        problems = document_problems(self.json_schema(type_), document)
        if problems:
            raise _refuse(what, problems)
        schema = self.xsd(type_)
        try:
            encoded = schema.encode(document, path=type_.element, validation="lax", unordered=True)
            elem, errors = encoded if isinstance(encoded, tuple) else (encoded, [])
        except (xmlschema.XMLSchemaException, ValueError, TypeError, RecursionError) as exc:
            raise _refuse(what, [_problem("", f"cannot be encoded: {type(exc).__name__}")]) from None
        if errors or elem is None:
            found = [_problem(_pointer_of(e.path, type_), e.reason or str(e.message)) for e in errors]
            raise _refuse(what, found or [_problem("", "cannot be encoded")])
        return self.objects_from_xml(tostring(elem), type_)[1][0]

    def submission(self, data: bytes) -> list[dict[str, Any]]:
        """The ACTIONS of a submission file (``SUBMISSION_SET`` or ``SUBMISSION`` of
        SRA.submission.xsd), each ``{"ADD": {"@schema": ..., "@source": ...}}`` or the like."""
        import xmlschema

        root = read_xml(data, "the submission file")
        if root.tag not in ("SUBMISSION_SET", "SUBMISSION"):
            raise _refuse(
                "the submission file", [_problem(f"/{str(root.tag)[:64]}", "the root element must be SUBMISSION_SET")]
            )
        if self._submission is None:
            self._submission = xmlschema.XMLSchema(str(self._directory / "ena" / "SRA.submission.xsd"))
        schema = self._submission
        paths = _xpaths(root)
        try:
            problems = [
                _problem(paths.get(id(e.elem), e.path or "/") if e.elem is not None else "/", e.reason or "invalid")
                for e in schema.iter_errors(root)
            ][:MAX_PROBLEMS]
            if problems:
                raise _refuse("the submission file", problems)
            elements = [root] if root.tag == "SUBMISSION" else [e for e in root if e.tag == "SUBMISSION"]
            decoded = [_as_dict(schema.elements["SUBMISSION"].decode(e)) for e in elements]
        except (xmlschema.XMLSchemaException, ValueError, TypeError, RecursionError) as exc:
            raise _refuse("the submission file", [_problem("/", f"cannot be read: {type(exc).__name__}")]) from None
        actions: list[dict[str, Any]] = []
        for submission in decoded:
            listed = (submission.get("ACTIONS") or {}).get("ACTION") or []
            actions.extend(a for a in (listed if isinstance(listed, list) else [listed]) if isinstance(a, dict))
        return actions

    # -- XML out -------------------------------------------------------------------------
    def to_xml(self, type_: ObjectType, objects: Sequence[Mapping[str, Any]]) -> str:
        """The objects as a ``<TYPE_SET>`` document (stored objects always encode)."""
        schema = self.xsd(type_)
        root = Element(type_.set_element)
        for obj in objects:
            elem = schema.encode(dict(obj), path=type_.element, unordered=True)
            assert isinstance(elem, Element)  # strict validation: an element or an exception
            root.append(elem)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(root, encoding="unicode")


def _as_dict(value: Any) -> dict[str, Any]:
    # an element with no content decodes to None: its stored form is an empty object
    return dict(value) if isinstance(value, Mapping) else {}


def _check_size(obj: Mapping[str, Any], where: str) -> None:
    size = len(json.dumps(obj, separators=(",", ":")))
    if size > MAX_OBJECT_BYTES:
        raise _refuse("the object", [_problem(where, f"{size} bytes as JSON; at most {MAX_OBJECT_BYTES}")])


def _pointer_of(xpath: str | None, type_: ObjectType) -> str:
    """A JSON pointer for an encoding error's path (``/SAMPLE/SAMPLE_NAME/TAXON_ID`` →
    ``/SAMPLE_NAME/TAXON_ID``); list positions are not known there."""
    parts = [p for p in (xpath or "").split("/") if p]
    if parts and parts[0] == type_.element:
        parts = parts[1:]
    return "".join(f"/{p}" for p in parts)
