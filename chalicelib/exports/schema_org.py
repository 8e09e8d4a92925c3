"""A dataset as a schema.org ``Dataset`` in JSON-LD, as search engines read it from a page
(the web page embeds it in its dataset view) and as DataCite's content negotiation names it
(``application/ld+json``). Framework-free.

Only what is true of the entry and seen by the caller: its name, description, uuid (and DOI,
when it has one) as ``identifier``, its landing page as ``url``, its creator (a username: a
``Person`` with that ``name`` and nothing more), the publisher (the deployment, an
``Organization``), ``dateCreated``/``dateModified``, ``datePublished`` (its registration
here), its tags as ``keywords``, and one ``DataDownload`` per replica the caller is shown,
whose ``contentUrl`` is the replica's URI (``s3://…``: where the dataset is, readable with the
storage's own credentials; the catalogue's presigned links are made per file and per caller,
never exported) and ``contentSize`` the dataset's bytes (every replica holds all of it;
``Dataset`` itself has no core size property: ``size`` is still pending at schema.org).
"""

from __future__ import annotations

from typing import Any

from chalicelib.exports.view import ExportView

CONTEXT = "https://schema.org"
# an entry's kind as a format a harvester can read (schema.org: a MIME type or free text)
ENCODINGS = {"dtool": "dtool dataset", "bag": "BagIt bag", "folder": "folder"}


def schema_org(view: ExportView) -> dict[str, Any]:
    """The entry's schema.org ``Dataset`` (JSON-LD, compacted against https://schema.org)."""
    identifiers: list[Any] = [
        {"@type": "PropertyValue", "propertyID": "UUID", "value": view.uuid},
    ]
    document: dict[str, Any] = {"@context": CONTEXT, "@type": "Dataset"}
    if view.doi_url:
        document["@id"] = view.doi_url
        identifiers.insert(0, view.doi_url)
    document.update(
        {
            "name": view.name,
            "identifier": identifiers,
            "url": view.landing_url,
            "creator": {"@type": "Person", "name": view.creator_username},
            "publisher": {"@type": "Organization", "name": view.publisher},
            "dateCreated": view.created_iso,
            "dateModified": view.updated_iso,
            "datePublished": view.registered_iso,
        }
    )
    if view.description.strip():
        document["description"] = view.description
    tags = list(dict.fromkeys(view.tags))
    if tags:
        document["keywords"] = tags
    if view.replicas:
        document["distribution"] = [_download(view, uri) for uri in view.replicas]
    return document


def _download(view: ExportView, uri: str) -> dict[str, Any]:
    download: dict[str, Any] = {"@type": "DataDownload", "contentUrl": uri, "contentSize": f"{view.size_in_bytes} B"}
    if view.kind in ENCODINGS:
        download["encodingFormat"] = ENCODINGS[view.kind]
    return download
