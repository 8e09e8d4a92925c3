"""Exports of a project or collection (:class:`~chalicelib.exports.collections.RecordView`):
the formats whose standard has a place for a group of datasets. Framework-free.

* DataCite 4.5 (JSON and XML): ``resourceTypeGeneral`` ``Collection`` (``resourceType``:
  ``Project`` or ``Collection``), one ``relatedIdentifiers`` ``HasPart`` per member (its DOI,
  else its landing page as a ``URL``); creators are the people the record names (see the
  view), or DataCite's ``(:unav)`` when it names none the caller may see;
* schema.org: a ``Dataset`` with ``hasPart`` (one ``Dataset`` per member). schema.org's
  ``Collection`` is a term of its ``bib`` extension, not of the core vocabulary, and
  ``collectionSize`` is pending: a ``Dataset`` made of datasets is what the core supports
  (and what Google's dataset guidelines describe for a group of datasets);
* DCAT-AP 3.0: a ``dcat:Catalog`` whose ``dcat:dataset`` are the members, each a
  ``dcat:Dataset`` with its title, description, identifier and landing page (a
  ``dcat:DatasetSeries`` is for datasets released over time, which these groups are not);
  DCAT-AP allows a catalogue one ``dct:creator`` at most, so none is said;
* RO-Crate 1.1: a crate whose root ``Dataset`` ``hasPart`` one ``Dataset`` data entity per
  member, whose ``@id`` is the member's landing page (web-based data entities).

PREMIS describes the preservation of objects, not groups of them: it is not exported here.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from chalicelib.exports import datacite, dcat, ro_crate
from chalicelib.exports.schema_org import CONTEXT
from chalicelib.exports.view import iso8601
from chalicelib.exports.xml_text import text_element

if TYPE_CHECKING:
    from rdflib import Graph

    from chalicelib.exports.collections import Member, RecordView

UNAVAILABLE = "(:unav)"  # DataCite's standard value for a value that is not available
NO_LICENCE = "No licence is recorded in the catalogue for this {kind}: see each of its datasets."
RESOURCE_TYPES = {"project": "Project", "collection": "Collection"}


def record_iri(view: RecordView) -> str:
    """The IRI the exports are about: the record's DOI URL, else its uuid URN."""
    return dcat.iri(f"https://doi.org/{view.doi}") if view.doi else f"urn:uuid:{view.uuid}"


def member_iri(member: Member) -> str:
    """A member's IRI: its DOI URL, else its landing page."""
    return dcat.iri(f"https://doi.org/{member.doi}" if member.doi else member.landing_url)


# -- DataCite ---------------------------------------------------------------------------------
def datacite_attributes(view: RecordView) -> dict[str, Any]:
    """The record as DataCite 4.5 JSON (the REST API's ``data.attributes``)."""
    attributes: dict[str, Any] = {}
    if view.doi:
        attributes["doi"] = view.doi
    attributes.update(
        {
            "titles": [{"title": view.title}],
            "creators": [{"name": name} for name in view.creators] or [{"name": UNAVAILABLE}],
            "publisher": {"name": view.publisher},
            "publicationYear": view.publication_year,
            "types": {"resourceTypeGeneral": "Collection", "resourceType": RESOURCE_TYPES[view.kind]},
        }
    )
    if view.description.strip():
        attributes["descriptions"] = [{"description": view.description, "descriptionType": "Abstract"}]
    dates = [(view.created_at, "Created"), (view.updated_at, "Updated")]
    attributes["dates"] = [{"date": iso8601(at), "dateType": kind} for at, kind in dates if at is not None]
    attributes["alternateIdentifiers"] = [{"alternateIdentifier": view.uuid, "alternateIdentifierType": "UUID"}]
    if view.members:
        attributes["relatedIdentifiers"] = [_has_part(m) for m in view.members]
    attributes["schemaVersion"] = datacite.SCHEMA_VERSION
    return attributes


def _has_part(member: Member) -> dict[str, str]:
    identifier, kind = (member.doi, "DOI") if member.doi else (member.landing_url, "URL")
    return {
        "relatedIdentifier": identifier,
        "relatedIdentifierType": kind,
        "relationType": "HasPart",
        "resourceTypeGeneral": "Dataset",
    }


def datacite_xml(view: RecordView) -> bytes:
    """The same record as :func:`datacite_attributes`, as DataCite 4.5 XML; ``<identifier>`` is
    the DOI, or the uuid without one (as a dataset's record)."""
    a = datacite_attributes(view)
    resource = ET.Element(
        "resource",
        {"xmlns": datacite.NAMESPACE, "xmlns:xsi": datacite.XSI, "xsi:schemaLocation": datacite.SCHEMA_LOCATION},
    )
    if view.doi:
        text_element(resource, "identifier", view.doi, identifierType="DOI")
    else:
        text_element(resource, "identifier", view.uuid, identifierType="UUID")
    creators = ET.SubElement(resource, "creators")
    for creator in a["creators"]:
        text_element(ET.SubElement(creators, "creator"), "creatorName", creator["name"])
    text_element(ET.SubElement(resource, "titles"), "title", view.title)
    text_element(resource, "publisher", view.publisher)
    text_element(resource, "publicationYear", a["publicationYear"])
    text_element(resource, "resourceType", a["types"]["resourceType"], resourceTypeGeneral="Collection")
    if a["dates"]:
        dates = ET.SubElement(resource, "dates")
        for date in a["dates"]:
            text_element(dates, "date", date["date"], dateType=date["dateType"])
    alternates = ET.SubElement(resource, "alternateIdentifiers")
    text_element(alternates, "alternateIdentifier", view.uuid, alternateIdentifierType="UUID")
    if view.members:
        related = ET.SubElement(resource, "relatedIdentifiers")
        for part in a["relatedIdentifiers"]:
            text_element(
                related,
                "relatedIdentifier",
                part["relatedIdentifier"],
                relatedIdentifierType=part["relatedIdentifierType"],
                relationType=part["relationType"],
                resourceTypeGeneral=part["resourceTypeGeneral"],
            )
    if "descriptions" in a:
        text_element(
            ET.SubElement(resource, "descriptions"), "description", view.description, descriptionType="Abstract"
        )
    return bytes(ET.tostring(resource, encoding="utf-8", xml_declaration=True))


# -- schema.org -------------------------------------------------------------------------------
def schema_org(view: RecordView) -> dict[str, Any]:
    """The record as a schema.org ``Dataset`` whose ``hasPart`` are its members (JSON-LD)."""
    document: dict[str, Any] = {"@context": CONTEXT, "@type": "Dataset"}
    identifiers: list[Any] = [{"@type": "PropertyValue", "propertyID": "UUID", "value": view.uuid}]
    if view.doi:
        document["@id"] = f"https://doi.org/{view.doi}"
        identifiers.insert(0, document["@id"])
    document["name"] = view.title
    if view.description.strip():
        document["description"] = view.description
    document["identifier"] = identifiers
    if view.creators:
        document["creator"] = [{"@type": "Person", "name": name} for name in view.creators]
    document["publisher"] = {"@type": "Organization", "name": view.publisher}
    if view.created_at is not None:
        document["dateCreated"] = iso8601(view.created_at)
    if view.updated_at is not None:
        document["dateModified"] = iso8601(view.updated_at)
    if view.members:
        document["hasPart"] = [_schema_org_member(m) for m in view.members]
    return document


def _schema_org_member(member: Member) -> dict[str, Any]:
    part: dict[str, Any] = {"@type": "Dataset"}
    if member.doi:
        part["@id"] = f"https://doi.org/{member.doi}"
    part.update({"name": member.name, "url": member.landing_url})
    part["identifier"] = [*([part["@id"]] if member.doi else []), {"@type": "PropertyValue", "propertyID": "UUID",
                                                                  "value": member.uuid}]  # fmt: skip
    return part


# -- DCAT-AP ----------------------------------------------------------------------------------
def dcat_graph(view: RecordView) -> Graph:
    """The record as a DCAT-AP 3.0 ``dcat:Catalog`` of its members (see the module doc)."""
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

    graph = Graph()
    for prefix, uri in dcat.NAMESPACES.items():
        graph.bind(prefix, Namespace(uri))
    catalog = URIRef(record_iri(view))
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, DCTERMS.title, Literal(view.title)))
    graph.add((catalog, DCTERMS.description, Literal(view.description or view.title)))
    graph.add((catalog, DCTERMS.identifier, Literal(view.uuid)))
    if view.created_at is not None:
        graph.add((catalog, DCTERMS.issued, Literal(iso8601(view.created_at), datatype=XSD.dateTime)))
    if view.updated_at is not None:
        graph.add((catalog, DCTERMS.modified, Literal(iso8601(view.updated_at), datatype=XSD.dateTime)))
    publisher = BNode("publisher")  # fixed labels: the same view gives the same document
    graph.add((catalog, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(view.publisher)))
    for member in view.members:
        dataset = URIRef(member_iri(member))
        graph.add((catalog, DCAT.dataset, dataset))
        graph.add((dataset, RDF.type, DCAT.Dataset))
        graph.add((dataset, DCTERMS.title, Literal(member.name)))
        graph.add((dataset, DCTERMS.description, Literal(member.description or member.name)))
        graph.add((dataset, DCTERMS.identifier, Literal(member.uuid)))
        page = URIRef(dcat.iri(member.landing_url))
        graph.add((dataset, DCAT.landingPage, page))
        graph.add((page, RDF.type, FOAF.Document))
    return graph


def dcat_turtle(view: RecordView) -> bytes:
    return dcat_graph(view).serialize(format="turtle", encoding="utf-8")


def dcat_jsonld(view: RecordView) -> dict[str, Any]:
    text = dcat_graph(view).serialize(format="json-ld", context=dict(dcat.NAMESPACES), auto_compact=True)
    document: dict[str, Any] = json.loads(text)
    return document


# -- RO-Crate ---------------------------------------------------------------------------------
def ro_crate_metadata(view: RecordView) -> dict[str, Any]:
    """The record's ``ro-crate-metadata.json`` (RO-Crate 1.1): its root ``Dataset`` has one
    web-based ``Dataset`` data entity per member (``@id``: its landing page)."""
    from rocrate.model.contextentity import ContextEntity
    from rocrate.model.data_entity import DataEntity
    from rocrate.rocrate import ROCrate

    crate = ROCrate(version=ro_crate.RO_CRATE_VERSION)
    root = crate.root_dataset
    crate.name = view.title
    crate.description = view.description or view.title
    crate.datePublished = iso8601(view.published_at)
    if view.updated_at is not None:
        root["dateModified"] = iso8601(view.updated_at)
    root["identifier"] = f"https://doi.org/{view.doi}" if view.doi else f"urn:uuid:{view.uuid}"
    crate.publisher = crate.add(
        ContextEntity(crate, "#publisher", properties={"@type": "Organization", "name": view.publisher})
    )
    crate.license = NO_LICENCE.format(kind=view.kind)
    for member in view.members:
        properties: dict[str, Any] = {"@type": "Dataset", "name": member.name}
        properties["identifier"] = f"https://doi.org/{member.doi}" if member.doi else f"urn:uuid:{member.uuid}"
        if member.description:
            properties["description"] = member.description
        crate.add(DataEntity(crate, member.landing_url, properties=properties))
    document: dict[str, Any] = crate.metadata.generate()
    return document
