"""Exports of projects and collections (``GET /projects/{uuid}/export/{format}``,
``GET /collections/{uuid}/export/{format}`` and content negotiation on ``GET /projects/{uuid}``
and ``GET /collections/{uuid}``), in the formats whose standard has a place for a group of
datasets (:mod:`chalicelib.exports.collection_formats`). Framework-free.

The record exported is the one ``GET /projects/{uuid}`` (``GET /collections/{uuid}``) shows
the caller, read by the same service and so decided by the same permission check: whoever may
not see it gets the NotFound of an unknown id, whatever the format asked for; only then is an
unknown format NotFound (naming the formats) and an ``Accept`` header that allows none
NotAcceptable.

**Members**: the datasets the record lists to the caller (a collection shows a reader only
the datasets they may read) that also have a registered entry the caller may see in the
catalogue (:func:`~chalicelib.catalogue.entries.visible_entries`): a member the caller may not
see under any base URI never appears (not even as a landing page), and one described in the
Data Tracker but not registered yet has no page to point at. A member is named by the DOI of
the entry the caller sees, when it has one, else by its landing page.

**Creators**: the people the record names to the caller, by name: a project's authors (else
its editors); a collection's editors, only for those who are shown them (a published
collection hides its editors from its readers). A facility proposal names none.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.entries import live, visible_entries
from chalicelib.domain import Dataset, User
from chalicelib.errors import NotAcceptable, NotFound
from chalicelib.exports import collection_formats as cf
from chalicelib.exports.formats import FORMATS, negotiate
from chalicelib.exports.service import Export
from chalicelib.exports.view import iso8601

Kind = Literal["project", "collection"]
# (caller, uuid) -> the record as GET /projects/{uuid} (/collections/{uuid}) shows it; NotFound
RecordReader = Callable[[User, str], Mapping[str, Any]]

RENDERERS: dict[str, Callable[[RecordView], bytes | Any]] = {
    "datacite+json": cf.datacite_attributes,
    "datacite+xml": cf.datacite_xml,
    "schema.org": cf.schema_org,
    "dcat+turtle": cf.dcat_turtle,
    "dcat+jsonld": cf.dcat_jsonld,
    "ro-crate": cf.ro_crate_metadata,
}
# the dataset formats' media types and Accept names, for those that apply to a group
RECORD_FORMATS = tuple(f for f in FORMATS if f.name in RENDERERS)


def names() -> list[str]:
    return [f.name for f in RECORD_FORMATS]


@dataclass(frozen=True)
class Member:
    """One dataset of a project or collection as the caller may see it."""

    uuid: str
    name: str
    description: str
    landing_url: str
    doi: str | None


@dataclass(frozen=True)
class RecordView:
    """A project or collection as one caller may see it (times: epoch seconds, or None when
    the record has none)."""

    kind: Kind
    uuid: str
    title: str
    description: str
    creators: tuple[str, ...]
    created_at: float | None
    updated_at: float | None
    members: tuple[Member, ...]
    publisher: str
    doi: str | None
    exported_at: float

    @property
    def published_at(self) -> float:
        """When the record was made (else last changed; else now, for a record with no times)."""
        return next((t for t in (self.created_at, self.updated_at) if t is not None), self.exported_at)

    @property
    def publication_year(self) -> str:
        return iso8601(self.published_at)[:4]


class RecordExports:
    """``project(user, uuid)`` / ``collection(user, uuid)``: the record as its ``GET`` shows
    it (NotFound for one who may not see it); ``landing_url(uuid)``: a dataset's page;
    ``doi_of(entry)``: an entry's DOI, when it has one."""

    def __init__(
        self,
        repo: Repository,
        *,
        project: RecordReader,
        collection: RecordReader,
        landing_url: Callable[[str], str],
        publisher: str,
        doi_of: Callable[[Dataset], str | None] = lambda _entry: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._readers: dict[Kind, RecordReader] = {"project": project, "collection": collection}
        self._landing_url = landing_url
        self._publisher = publisher
        self._doi_of = doi_of
        self._clock = clock

    def export(self, user: User, kind: Kind, uuid: str, format_name: str) -> Export:
        """The record ``uuid`` in the format named ``format_name``: NotFound when the caller
        may not see the record, then when no format of a project/collection has that name."""
        record = self._readers[kind](user, uuid)  # NotFound first: an outsider learns nothing
        fmt = next((f for f in RECORD_FORMATS if f.name == format_name), None)
        if fmt is None:
            only = " (it is a dataset's format)" if format_name in {f.name for f in FORMATS} else ""
            raise NotFound(f"no export format {format_name!r} of a {kind}{only}; the formats are {', '.join(names())}")
        body = RENDERERS[fmt.name](self.view(user, kind, record))
        return Export(fmt.name, fmt.media_type, body)

    def negotiated(self, user: User, kind: Kind, uuid: str, accept: str | None) -> Export | None:
        """The export an ``Accept`` header asks for, or ``None`` for the record's own JSON
        (read again by the route, as without a header). NotFound before NotAcceptable."""
        try:
            fmt = negotiate(accept, RECORD_FORMATS)
        except NotAcceptable:
            self._readers[kind](user, uuid)
            raise
        if fmt is None:
            return None
        return self.export(user, kind, uuid, fmt.name)

    def view(self, user: User, kind: Kind, record: Mapping[str, Any]) -> RecordView:
        """What ``user`` may see of ``record`` (as its ``GET`` showed it to them)."""
        doi = record.get("doi")
        return RecordView(
            kind=kind,
            uuid=str(record["_id"]),
            title=str(record.get("title") or ""),
            description=str(record.get("description") or ""),
            creators=_creators(record),
            created_at=_epoch(record.get("created_at")),
            updated_at=_epoch(record.get("updated_at")),
            members=tuple(self._members(user, record.get("datasets") or ())),
            publisher=self._publisher,
            doi=doi if isinstance(doi, str) and doi.startswith("10.") else None,
            exported_at=self._clock(),
        )

    def _members(self, user: User, listed: Iterable[Mapping[str, Any]]) -> Iterable[Member]:
        seen = set()
        for ref in listed:
            uuid = str(ref.get("_id", ""))
            if not uuid or uuid in seen:
                continue
            seen.add(uuid)
            try:
                entries = [e for e in visible_entries(self._repo, user, uuid, None, load_blobs=()) if live(e)]
            except NotFound:
                continue  # not registered, or under no base URI the caller may see
            if not entries:
                continue
            primary = entries[0]
            content = primary.content
            yield Member(
                uuid=uuid,
                name=content.name,
                description=content.description,
                landing_url=self._landing_url(uuid),
                doi=self._doi_of(primary),
            )


def _creators(record: Mapping[str, Any]) -> tuple[str, ...]:
    for field in ("authors", "editors"):
        names = [str(p.get("name") or "").strip() for p in record.get(field) or () if isinstance(p, Mapping)]
        if any(names):
            return tuple(dict.fromkeys(n for n in names if n))
    return ()


def _epoch(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
