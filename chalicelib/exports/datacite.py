"""DataCite Metadata Schema 4.5 records of a dataset: the JSON DataCite's REST API takes as
``data.attributes`` (:func:`datacite_attributes`) and the same record as XML
(:func:`datacite_xml`, ``xml.etree``: no lxml in the runtime). Framework-free.

What a record says, from an :class:`~chalicelib.exports.view.ExportView` only:

* ``titles``: the dataset's name; ``creators``: its creator's username (the catalogue keeps
  no personal names; no ``nameType`` is claimed); ``publisher``: the deployment
  (``{"name": …}``, 4.5's object form); ``publicationYear``: the year it was registered here;
* ``types``: ``Dataset``, with the entry's kind (``dtool``, ``bag``…) as ``resourceType``;
* ``subjects``: its tags; ``descriptions``: its description as the ``Abstract`` (none when
  empty; the README is not exported: it can be large, and DataCite is no place for it);
* ``dates``: ``Created`` (when the dataset was made) and ``Updated`` (its record's last change);
* ``sizes``: its number of files and bytes;
* ``alternateIdentifiers``: its uuid (``UUID``); ``url``: its landing page (the web page);
* ``doi`` and, in XML, ``<identifier identifierType="DOI">`` when it has a DOI.

**Without a DOI**, DataCite's XSD still requires one ``<identifier>`` (non-empty, any
``identifierType``): the XML then carries ``<identifier identifierType="UUID">`` with the
uuid, valid against the schema but not registrable at DataCite (only DOIs are). The JSON
has no ``doi`` then; it validates against DataCite's JSON Schema (which needs none) and is
what a DOI registration completes with ``doi``/``prefix`` and ``event``.

Annotations, replicas (``s3://`` URIs are no DataCite identifier type), the project and
anything of the entry's status are not in a DataCite record.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from chalicelib.exports.view import ExportView
from chalicelib.exports.xml_text import text_element

SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
NAMESPACE = SCHEMA_VERSION
SCHEMA_LOCATION = "http://datacite.org/schema/kernel-4 http://schema.datacite.org/meta/kernel-4.5/metadata.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
RESOURCE_TYPE_GENERAL = "Dataset"


def datacite_attributes(view: ExportView) -> dict[str, Any]:
    """The dataset's DataCite 4.5 record as DataCite's REST API takes it (``data.attributes``)."""
    attributes: dict[str, Any] = {}
    if view.doi:
        attributes["doi"] = view.doi
    attributes.update(
        {
            "titles": [{"title": view.name}],
            "creators": [{"name": view.creator_username}],
            "publisher": {"name": view.publisher},
            "publicationYear": view.publication_year,
            "types": {"resourceTypeGeneral": RESOURCE_TYPE_GENERAL, "resourceType": view.kind},
        }
    )
    tags = list(dict.fromkeys(view.tags))
    if tags:
        attributes["subjects"] = [{"subject": tag} for tag in tags]
    if view.description.strip():
        attributes["descriptions"] = [{"description": view.description, "descriptionType": "Abstract"}]
    attributes["dates"] = [
        {"date": view.created_iso, "dateType": "Created"},
        {"date": view.updated_iso, "dateType": "Updated"},
    ]
    attributes["sizes"] = sizes(view)
    attributes["alternateIdentifiers"] = [{"alternateIdentifier": view.uuid, "alternateIdentifierType": "UUID"}]
    attributes["url"] = view.landing_url
    attributes["schemaVersion"] = SCHEMA_VERSION
    return attributes


def sizes(view: ExportView) -> list[str]:
    files = "file" if view.number_of_items == 1 else "files"
    return [f"{view.number_of_items} {files}", f"{view.size_in_bytes} bytes"]


def datacite_xml(view: ExportView) -> bytes:
    """The same record as :func:`datacite_attributes`, as DataCite 4.5 XML (UTF-8, with an
    XML declaration); ``<identifier>`` is the DOI, or the uuid without one (see the module)."""
    a = datacite_attributes(view)
    # the namespaces are written as plain attributes, elements by their local names: ET's
    # register_namespace would change a registry every caller shares, and its
    # default_namespace refuses the schema's unqualified attributes
    resource = ET.Element("resource", {"xmlns": NAMESPACE, "xmlns:xsi": XSI, "xsi:schemaLocation": SCHEMA_LOCATION})
    if view.doi:
        text_element(resource, "identifier", view.doi, identifierType="DOI")
    else:
        text_element(resource, "identifier", view.uuid, identifierType="UUID")
    creators = ET.SubElement(resource, "creators")
    for creator in a["creators"]:
        text_element(ET.SubElement(creators, "creator"), "creatorName", creator["name"])
    titles = ET.SubElement(resource, "titles")
    for title in a["titles"]:
        text_element(titles, "title", title["title"])
    text_element(resource, "publisher", a["publisher"]["name"])
    text_element(resource, "publicationYear", a["publicationYear"])
    text_element(
        resource, "resourceType", a["types"]["resourceType"], resourceTypeGeneral=a["types"]["resourceTypeGeneral"]
    )
    if "subjects" in a:
        subjects = ET.SubElement(resource, "subjects")
        for subject in a["subjects"]:
            text_element(subjects, "subject", subject["subject"])
    dates = ET.SubElement(resource, "dates")
    for date in a["dates"]:
        text_element(dates, "date", date["date"], dateType=date["dateType"])
    alternates = ET.SubElement(resource, "alternateIdentifiers")
    for alt in a["alternateIdentifiers"]:
        text_element(
            alternates,
            "alternateIdentifier",
            alt["alternateIdentifier"],
            alternateIdentifierType=alt["alternateIdentifierType"],
        )
    sizes_element = ET.SubElement(resource, "sizes")
    for size in a["sizes"]:
        text_element(sizes_element, "size", size)
    if "descriptions" in a:
        descriptions = ET.SubElement(resource, "descriptions")
        for description in a["descriptions"]:
            text_element(
                descriptions, "description", description["description"], descriptionType=description["descriptionType"]
            )
    return bytes(ET.tostring(resource, encoding="utf-8", xml_declaration=True))
