"""OAI-PMH 2.0 answers as XML (``xml.etree``: no lxml in the runtime). Framework-free.

Every answer is one ``<OAI-PMH>`` document (UTF-8): ``responseDate``, the ``request`` echo
(its arguments, except after badVerb/badArgument, where the protocol wants none), then the
verb's element or the errors. Elements are written by their prefixed names with the
namespace declarations as attributes, as :mod:`chalicelib.exports.datacite` writes its
records: ``ET.register_namespace`` would change a registry every caller shares.

The metadata formats (:data:`FORMATS`):

* ``oai_dc``: unqualified Dublin Core (``http://www.openarchives.org/OAI/2.0/oai_dc/``), the
  format every OAI-PMH repository must offer, written here from the export view;
* ``oai_datacite``: DataCite's OAI schema 1.1 (``http://schema.datacite.org/oai/oai-1.1/``),
  the wrapper DataCite's own OAI-PMH provider and InvenioRDM serve under this prefix: the
  ``datacentreSymbol`` (the repository identifier), the ``schemaVersion`` (4.5) and the
  DataCite 4.5 ``<resource>`` of :func:`chalicelib.exports.datacite.datacite_xml` as its
  ``payload``;
* ``datacite``: that ``<resource>`` alone (kernel-4), as the same providers offer it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from chalicelib.exports.datacite import datacite_xml
from chalicelib.exports.view import ExportView
from chalicelib.exports.xml_text import text_element, xml_safe
from chalicelib.oai.protocol import BAD_ARGUMENT, BAD_VERB, GRANULARITY, utc

OAI = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML = "http://www.w3.org/XML/1998/namespace"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
DC = "http://purl.org/dc/elements/1.1/"
OAI_IDENTIFIER = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_IDENTIFIER_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
DATACITE_OAI = "http://schema.datacite.org/oai/oai-1.1/"
DATACITE_OAI_SCHEMA = "http://schema.datacite.org/oai/oai-1.1/oai.xsd"
DATACITE = "http://datacite.org/schema/kernel-4"
DATACITE_SCHEMA = "http://schema.datacite.org/meta/kernel-4.5/metadata.xsd"
DATACITE_VERSION = "4.5"


@dataclass(frozen=True)
class Record:
    """One item as a harvester sees it: its ``identifier``, ``datestamp`` (epoch seconds),
    the ``sets`` it is in, whether it is ``deleted``, and the view of its metadata (``None``
    for a deleted item, and where only headers are sent)."""

    identifier: str
    datestamp: int
    sets: tuple[str, ...]
    deleted: bool
    view: ExportView | None = None


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str
    # the record's metadata element; the second argument is the repository identifier
    render: Callable[[ExportView, str], ET.Element]


@dataclass(frozen=True)
class Page:
    """The resumption token of a page of a list (``token`` ``None``: its last page)."""

    token: str | None
    cursor: int
    complete: int
    expires: int | None


@dataclass(frozen=True)
class Identity:
    """What ``Identify`` says of the repository."""

    name: str
    base_url: str
    admin_email: str
    earliest: int
    repository_identifier: str


def document(now: float, base_url: str, echo: Mapping[str, str] | None, body: Iterable[ET.Element]) -> bytes:
    """The answer: ``echo`` is the request's verb and arguments (``None``: badVerb/badArgument)."""
    root = ET.Element("OAI-PMH", {"xmlns": OAI, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{OAI} {OAI_SCHEMA}"})
    text_element(root, "responseDate", utc(now))
    text_element(root, "request", base_url, **dict(sorted((echo or {}).items())))
    root.extend(body)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def errors(code: str, message: str) -> list[ET.Element]:
    error = ET.Element("error", {"code": code})
    error.text = xml_safe(message)
    return [error]


def echoed(code: str | None, verb: str | None, arguments: Mapping[str, str]) -> Mapping[str, str] | None:
    """The ``request`` element's attributes: none after badVerb or badArgument."""
    if code in (BAD_VERB, BAD_ARGUMENT) or verb is None:
        return None
    return {"verb": verb, **arguments}


def identify(identity: Identity) -> ET.Element:
    out = ET.Element("Identify")
    text_element(out, "repositoryName", identity.name)
    text_element(out, "baseURL", identity.base_url)
    text_element(out, "protocolVersion", "2.0")
    text_element(out, "adminEmail", identity.admin_email)
    text_element(out, "earliestDatestamp", utc(identity.earliest))
    text_element(out, "deletedRecord", "persistent")
    text_element(out, "granularity", GRANULARITY)
    description = ET.SubElement(out, "description")
    oai_id = ET.SubElement(
        description,
        "oai-identifier",
        {"xmlns": OAI_IDENTIFIER, "xsi:schemaLocation": f"{OAI_IDENTIFIER} {OAI_IDENTIFIER_SCHEMA}"},
    )
    text_element(oai_id, "scheme", "oai")
    text_element(oai_id, "repositoryIdentifier", identity.repository_identifier)
    text_element(oai_id, "delimiter", ":")
    text_element(
        oai_id, "sampleIdentifier", f"oai:{identity.repository_identifier}:1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"
    )
    return out


def list_metadata_formats(formats: Iterable[MetadataFormat]) -> ET.Element:
    out = ET.Element("ListMetadataFormats")
    for f in formats:
        element = ET.SubElement(out, "metadataFormat")
        text_element(element, "metadataPrefix", f.prefix)
        text_element(element, "schema", f.schema)
        text_element(element, "metadataNamespace", f.namespace)
    return out


def list_sets(sets: Iterable[tuple[str, str]]) -> ET.Element:
    """``sets``: (setSpec, setName) pairs."""
    out = ET.Element("ListSets")
    for spec, name in sets:
        element = ET.SubElement(out, "set")
        text_element(element, "setSpec", spec)
        text_element(element, "setName", name)
    return out


def header(record: Record) -> ET.Element:
    out = ET.Element("header", {"status": "deleted"} if record.deleted else {})
    text_element(out, "identifier", record.identifier)
    text_element(out, "datestamp", utc(record.datestamp))
    for spec in record.sets:
        text_element(out, "setSpec", spec)
    return out


def record_element(record: Record, fmt: MetadataFormat, repository_identifier: str) -> ET.Element:
    """A ``<record>``: the header, and the metadata unless the record is deleted."""
    out = ET.Element("record")
    out.append(header(record))
    if not record.deleted and record.view is not None:
        ET.SubElement(out, "metadata").append(fmt.render(record.view, repository_identifier))
    return out


def get_record(record: Record, fmt: MetadataFormat, repository_identifier: str) -> ET.Element:
    out = ET.Element("GetRecord")
    out.append(record_element(record, fmt, repository_identifier))
    return out


def list_identifiers(records: Sequence[Record], page: Page | None) -> ET.Element:
    out = ET.Element("ListIdentifiers")
    out.extend(header(r) for r in records)
    _resumption(out, page)
    return out


def list_records(records: Sequence[Record], page: Page | None, fmt: MetadataFormat, repo_id: str) -> ET.Element:
    out = ET.Element("ListRecords")
    out.extend(record_element(r, fmt, repo_id) for r in records)
    _resumption(out, page)
    return out


def _resumption(parent: ET.Element, page: Page | None) -> None:
    """No element for a list sent whole; the token and its expiry for a page with more to
    come; an empty token on the last page (the protocol's end of a list)."""
    if page is None:
        return
    attributes = {"completeListSize": str(page.complete), "cursor": str(page.cursor)}
    if page.token is not None and page.expires is not None:
        attributes["expirationDate"] = utc(page.expires)
    text_element(parent, "resumptionToken", page.token or "", **attributes)


# -- metadata ----------------------------------------------------------------------------------


def oai_dc(view: ExportView, repository_identifier: str) -> ET.Element:
    """Unqualified Dublin Core: title, creator, subjects (tags), description, publisher, date
    (created), type (DCMI ``Dataset``), identifiers (landing page, DOI when any, ``urn:uuid``)
    and the size as the format's extent."""
    dc = ET.Element(
        "oai_dc:dc",
        {"xmlns:oai_dc": OAI_DC, "xmlns:dc": DC, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{OAI_DC} {OAI_DC_SCHEMA}"},
    )
    text_element(dc, "dc:title", view.name)
    text_element(dc, "dc:creator", view.creator_username)
    for tag in dict.fromkeys(view.tags):
        text_element(dc, "dc:subject", tag)
    if view.description.strip():
        text_element(dc, "dc:description", view.description)
    text_element(dc, "dc:publisher", view.publisher)
    text_element(dc, "dc:date", view.created_iso)
    text_element(dc, "dc:type", "Dataset")
    files = "file" if view.number_of_items == 1 else "files"
    text_element(dc, "dc:format", f"{view.number_of_items} {files}, {view.size_in_bytes} bytes")
    text_element(dc, "dc:identifier", view.landing_url)
    if view.doi_url:
        text_element(dc, "dc:identifier", view.doi_url)
    text_element(dc, "dc:identifier", f"urn:uuid:{view.uuid}")
    return dc


def datacite_resource(view: ExportView, repository_identifier: str = "") -> ET.Element:
    """The DataCite 4.5 ``<resource>`` of the exports, in this module's plain-name form."""
    return _plain(ET.fromstring(datacite_xml(view)), DATACITE)


def oai_datacite(view: ExportView, repository_identifier: str) -> ET.Element:
    out = ET.Element(
        "oai_datacite",
        {"xmlns": DATACITE_OAI, "xmlns:xsi": XSI, "xsi:schemaLocation": f"{DATACITE_OAI} {DATACITE_OAI_SCHEMA}"},
    )
    text_element(out, "schemaVersion", DATACITE_VERSION)
    text_element(out, "datacentreSymbol", repository_identifier)
    ET.SubElement(out, "payload").append(datacite_resource(view))
    return out


FORMATS: Mapping[str, MetadataFormat] = {
    f.prefix: f
    for f in (
        MetadataFormat("oai_dc", OAI_DC_SCHEMA, OAI_DC, oai_dc),
        MetadataFormat("oai_datacite", DATACITE_OAI_SCHEMA, DATACITE_OAI, oai_datacite),
        MetadataFormat("datacite", DATACITE_SCHEMA, DATACITE, datacite_resource),
    )
}


def _plain(element: ET.Element, default: str) -> ET.Element:
    """``element`` (as ET parses it: ``{namespace}name``) with its names written plain: the
    ``default`` namespace unprefixed and declared on the root, ``xsi:`` and ``xml:`` kept."""
    prefixes = {default: "", XSI: "xsi:", XML: "xml:"}

    def name(qualified: str) -> str:
        if not qualified.startswith("{"):
            return qualified
        namespace, _, local = qualified[1:].partition("}")
        if namespace not in prefixes:
            raise ValueError(f"unexpected namespace {namespace} in a metadata record")
        return prefixes[namespace] + local

    def copy(source: ET.Element) -> ET.Element:
        target = ET.Element(name(source.tag), {name(k): v for k, v in source.attrib.items()})
        target.text, target.tail = source.text, source.tail
        target.extend(copy(child) for child in source)
        return target

    out = copy(element)
    out.attrib = {"xmlns": default, "xmlns:xsi": XSI, **out.attrib}
    return out
