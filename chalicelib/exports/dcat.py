"""DCAT-AP 3.0 descriptions of a dataset, as Turtle (:func:`dcat_turtle`) and JSON-LD
(:func:`dcat_jsonld`), both from one ``rdflib`` graph (:func:`dcat_graph`). Framework-free.

What the graph says, from an :class:`~chalicelib.exports.view.ExportView` only:

* one ``dcat:Dataset``: its IRI is the DOI's URL when it has one, else ``urn:uuid:<uuid>``;
  ``dct:title`` (name) and ``dct:description`` (both mandatory in DCAT-AP: an empty
  description is exported as the name, DCAT-AP allows no dataset without one),
  ``dct:identifier`` (the uuid; the DOI too when there is one), ``dct:issued`` (when it was
  registered here), ``dct:modified`` (its record's last change), ``dcat:keyword`` (its tags),
  ``dcat:landingPage`` (its page in the web page);
* ``dct:publisher``: a ``foaf:Agent`` named after the deployment; ``dct:creator``: a
  ``foaf:Agent`` named by the creator's username (the catalogue keeps no personal names);
* one ``dcat:Distribution`` per replica the caller's record shows, with ``dcat:accessURL``
  (the replica's URI) and ``dcat:byteSize`` (the dataset's bytes: every replica holds them all).

Not said, because the catalogue does not know it: ``dcat:contactPoint`` (no contact is
recorded for a dataset, and users' e-mail addresses are not shown to other callers),
``dct:license``, themes, spatial or temporal coverage. The README, annotations, manifest and
project are not exported (DCAT-AP has no place for them that a harvester would read).

``rdflib`` is imported inside the functions: it costs about 50 ms at a cold start, paid by
the first DCAT export only.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from chalicelib.exports.view import ExportView

if TYPE_CHECKING:
    from rdflib import Graph

TURTLE_MEDIA_TYPE = "text/turtle"
# DCAT-AP 3.0.0's specification: the profile a JSON-LD client may ask for and is told it got
DCAT_AP_PROFILE = "https://semiceu.github.io/DCAT-AP/releases/3.0.0/"
JSONLD_MEDIA_TYPE = f'application/ld+json;profile="{DCAT_AP_PROFILE}"'

NAMESPACES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


# what an IRI may hold as it is (RFC 3987's reserved and unreserved characters, and ``%``
# so that escapes already there stay as they are); anything else is percent-encoded
_IRI_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def iri(uri: str) -> str:
    """``uri`` as an IRI Turtle can carry: a replica's URI may hold spaces (a folder's name), a
    DOI ``<`` or ``>``; those are percent-encoded (non-ASCII letters stay, as IRIs allow)."""
    return "".join(c if c.isalnum() or ord(c) > 127 else quote(c, safe=_IRI_SAFE) for c in uri)


def dataset_iri(view: ExportView) -> str:
    """The IRI the description is about: the DOI's resolver URL, else the dataset's uuid URN."""
    return iri(view.doi_url) if view.doi_url else f"urn:uuid:{view.uuid}"


def dcat_graph(view: ExportView) -> Graph:
    """The dataset as a DCAT-AP 3.0 ``dcat:Dataset`` with its distributions (see the module doc)."""
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, XSD

    graph = Graph()
    for prefix, uri in NAMESPACES.items():
        graph.bind(prefix, Namespace(uri))
    dataset = URIRef(dataset_iri(view))
    graph.add((dataset, RDF.type, DCAT.Dataset))
    graph.add((dataset, DCTERMS.title, Literal(view.name)))
    graph.add((dataset, DCTERMS.description, Literal(view.description or view.name)))
    graph.add((dataset, DCTERMS.identifier, Literal(view.uuid)))
    if view.doi:
        graph.add((dataset, DCTERMS.identifier, Literal(view.doi)))
    graph.add((dataset, DCTERMS.issued, Literal(view.registered_iso, datatype=XSD.dateTime)))
    graph.add((dataset, DCTERMS.modified, Literal(view.updated_iso, datatype=XSD.dateTime)))
    for tag in dict.fromkeys(view.tags):
        graph.add((dataset, DCAT.keyword, Literal(tag)))
    if view.landing_url:
        page = URIRef(iri(view.landing_url))
        graph.add((dataset, DCAT.landingPage, page))
        graph.add((page, RDF.type, FOAF.Document))

    # blank nodes with fixed labels: the same view gives the same document
    publisher = BNode("publisher")
    graph.add((dataset, DCTERMS.publisher, publisher))
    graph.add((publisher, RDF.type, FOAF.Agent))
    graph.add((publisher, FOAF.name, Literal(view.publisher)))
    if view.creator_username:
        creator = BNode("creator")
        graph.add((dataset, DCTERMS.creator, creator))
        graph.add((creator, RDF.type, FOAF.Agent))
        graph.add((creator, FOAF.name, Literal(view.creator_username)))

    for n, uri in enumerate(view.replicas, start=1):
        distribution = BNode(f"replica{n}")
        graph.add((dataset, DCAT.distribution, distribution))
        graph.add((distribution, RDF.type, DCAT.Distribution))
        graph.add((distribution, DCAT.accessURL, URIRef(iri(uri))))
        graph.add((distribution, DCAT.byteSize, Literal(view.size_in_bytes, datatype=XSD.nonNegativeInteger)))
    return graph


def dcat_turtle(view: ExportView) -> bytes:
    """The DCAT-AP description as Turtle (``text/turtle``, UTF-8)."""
    return dcat_graph(view).serialize(format="turtle", encoding="utf-8")


def dcat_jsonld(view: ExportView) -> dict[str, Any]:
    """The DCAT-AP description as compacted JSON-LD, with its prefixes as the ``@context``."""
    text = dcat_graph(view).serialize(format="json-ld", context=dict(NAMESPACES), auto_compact=True)
    document: dict[str, Any] = json.loads(text)
    return document
