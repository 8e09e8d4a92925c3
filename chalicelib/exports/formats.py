"""The export formats by name (``GET /datasets/{uuid}/export/{format}``) and by media type
(content negotiation on ``GET /datasets/{uuid}``). Framework-free.

A format is a pure function of an :class:`~chalicelib.exports.view.ExportView` returning
bytes (sent as they are) or a JSON value, with the media type it is sent as, the media types
an ``Accept`` header may name it by, and the large parts of the entry it reads (``readme``,
``manifest``, ``annotations``: only those are loaded from the blob store for it). Add a
format by adding it to :data:`FORMATS`: the route, the negotiation and the API description
(whose ``format`` parameter is an enum of :data:`FORMATS`' names) follow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from chalicelib.errors import NotAcceptable
from chalicelib.exports import dcat, premis, ro_crate
from chalicelib.exports.datacite import datacite_attributes, datacite_xml
from chalicelib.exports.schema_org import schema_org
from chalicelib.exports.view import ExportView

JSON = "application/json"  # the catalogue's own record (today's answer)


@dataclass(frozen=True)
class ExportFormat:
    """``render(view)``: the export (bytes, or a JSON value); ``media_type``: its
    Content-Type; ``accepts``: the media types content negotiation maps to it (the first is
    ``media_type``; empty: by URL only); ``parts``: the large parts of the entry it reads;
    ``standard``: what it follows, for the API description."""

    name: str
    media_type: str
    render: Callable[[ExportView], bytes | Any]
    standard: str
    accepts: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat(
        "datacite+json",
        "application/vnd.datacite.datacite+json",
        datacite_attributes,
        "DataCite Metadata Schema 4.5, JSON (the REST API's data.attributes)",
        accepts=("application/vnd.datacite.datacite+json",),
    ),
    ExportFormat(
        "datacite+xml",
        "application/vnd.datacite.datacite+xml",
        datacite_xml,
        "DataCite Metadata Schema 4.5, XML",
        accepts=("application/vnd.datacite.datacite+xml",),
    ),
    ExportFormat(
        "schema.org",
        "application/ld+json",
        schema_org,
        "schema.org Dataset, JSON-LD",
        accepts=("application/ld+json", "application/vnd.schemaorg.ld+json"),
    ),
    ExportFormat(
        "dcat+turtle",
        dcat.TURTLE_MEDIA_TYPE,
        dcat.dcat_turtle,
        "DCAT-AP 3.0 dcat:Dataset, Turtle",
        accepts=(dcat.TURTLE_MEDIA_TYPE,),
    ),
    ExportFormat(
        "dcat+jsonld",
        dcat.JSONLD_MEDIA_TYPE,
        dcat.dcat_jsonld,
        "DCAT-AP 3.0 dcat:Dataset, JSON-LD",
        accepts=(dcat.JSONLD_MEDIA_TYPE,),  # JSON-LD with DCAT-AP's profile (bare: schema.org)
    ),
    ExportFormat(
        "ro-crate",
        ro_crate.MEDIA_TYPE,
        ro_crate.ro_crate_metadata,
        "RO-Crate 1.1 metadata (ro-crate-metadata.json)",
        accepts=(ro_crate.MEDIA_TYPE,),  # JSON-LD with RO-Crate's profile (bare: schema.org)
        parts=("manifest", "annotations"),
    ),
    ExportFormat("premis", premis.MEDIA_TYPE, premis.premis_xml_of_view, "PREMIS 3.0 XML: the preservation events"),
)


def format_named(name: str) -> ExportFormat | None:
    return next((f for f in FORMATS if f.name == name), None)


def names() -> list[str]:
    return [f.name for f in FORMATS]


def negotiate(accept: str | None, formats: Sequence[ExportFormat] = FORMATS) -> ExportFormat | None:
    """The format an ``Accept`` header asks for; ``None``: the catalogue's own JSON record
    (no header, ``application/json``, ``application/*``, ``*/*``). The most preferred media
    range the catalogue can serve wins (highest ``q``; among equal ``q``, a type named
    exactly before a wildcard, then the header's order); ``q=0`` excludes. A range with a
    ``profile`` parameter (``application/ld+json;profile="…"``) is the format that accepts
    that type with that profile, else the format that accepts the bare type (a profile is a
    hint, RFC 6906). Raises :class:`~chalicelib.errors.NotAcceptable` when none can be served."""
    if accept is None or not accept.strip():
        return None
    # a "," inside a quoted parameter would split a range: no profile URI we serve holds one
    ranges = [r for r in (_media_range(part) for part in accept.split(",")) if r is not None and r.q > 0]
    ranked = sorted(enumerate(ranges), key=lambda ir: (-ir[1].q, "*" in ir[1].media, ir[0]))
    accepted = [(f, {_key(a) for a in f.accepts}) for f in formats]
    for _, wanted in ranked:
        if wanted.profile is not None:
            profiled = next((f for f, keys in accepted if (wanted.media, wanted.profile) in keys), None)
            if profiled is not None:
                return profiled
        if wanted.media in (JSON, "application/*", "*/*"):
            return None
        served = next((f for f, keys in accepted if (wanted.media, None) in keys), None)
        if served is None and wanted.media.endswith("/*"):
            served = next((f for f in formats if f.accepts and f.media_type.startswith(wanted.media[:-1])), None)
        if served is not None:
            return served
    offered = ", ".join([JSON, *(m for f in formats for m in f.accepts)])
    raise NotAcceptable(f"this record is served as {offered}")


class _Range(NamedTuple):
    media: str  # type/subtype, lower case
    q: float
    profile: str | None


def _key(media_type: str) -> tuple[str, str | None]:
    parsed = _media_range(media_type)
    if parsed is None:
        raise ValueError(f"{media_type!r} is not a media type")
    return parsed.media, parsed.profile


def _media_range(part: str) -> _Range | None:
    """One element of an Accept header: its type, ``q`` and ``profile``; None for one that
    is not a media range or has a broken ``q``."""
    media, *params = (p.strip() for p in part.split(";"))
    media = media.lower()
    kind, slash, sub = media.partition("/")
    if not (kind and slash and sub) or (kind == "*" and sub != "*"):
        return None
    q, profile = 1.0, None
    for param in params:
        key, _, value = (x.strip() for x in param.partition("="))
        if key.lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return None
            if not 0 <= q <= 1:
                return None
        elif key.lower() == "profile":
            profile = value.strip('"')
    return _Range(media, q, profile)
