"""The OAI-PMH repository: which datasets harvesters see, and the answer to each request.

**What is listed.** The registered entries under *public* base URIs (``BaseUri.public``, set
by admins with ``PATCH /base-uris/{base_uri}``), and the tombstones of such entries. Refused
and incomplete uploads, and everything under a base URI that is not public, are never listed,
counted or named; an identifier of such a dataset is ``idDoesNotExist`` like one that never
existed.

**One item per dataset uuid**, identified as ``oai:<repository identifier>:<uuid>``: a
harvester wants one record per dataset, and the uuid is the dataset's identity (its copies
under several base URIs are entries of the same dataset, and share its landing page). The
item's metadata is that of its most recently changed live public entry; its sets are
``base:<base URI>`` of every live public entry and ``project:<project>`` of their projects;
its datestamp is the latest change of any of its public entries (tombstones included) or of
their base URIs' records (publishing a base URI makes its entries new to incremental
harvesters). It is **deleted** (``status="deleted"``, no metadata) once none of its public
entries is live: its tombstones remain, with their sets. Nothing removes tombstones from the
datasets table (no TTL, no purge), so deletions are kept for ever: ``deletedRecord`` is
``persistent``. A base URI withdrawn (``public: false`` after it was public: ``was_public``)
keeps its entries listed, as deleted: its withdrawal is their change (the base URI record's
``updated_at``), so an incremental harvest learns they are gone; published again, they are
live again.

**Cost.** A list (and ``Identify``'s ``earliestDatestamp``, ``ListSets``' projects) reads the
whole datasets table (``Repository.iter_datasets``, a scan) on every request, and keeps the
items in (datestamp, identifier) order; the resumption token holds the position (the last
item sent), so a harvest of N items in pages of P scans N/P times. ``GetRecord`` and
``ListMetadataFormats`` read one uuid's entries only. See README "Known limits".
"""

from __future__ import annotations

import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib.config import OaiConfig
from chalicelib.domain import REGISTERED, BaseUri, Dataset
from chalicelib.exports.view import export_view
from chalicelib.oai import responses as xml
from chalicelib.oai.protocol import (
    BAD_RESUMPTION_TOKEN,
    BASE_SET,
    CANNOT_DISSEMINATE_FORMAT,
    ID_DOES_NOT_EXIST,
    NO_RECORDS_MATCH,
    PROJECT_SET,
    OaiError,
    OaiRequest,
    ResumptionToken,
    base_set,
    decode_set_part,
    in_set,
    parse_request,
    project_set,
)


class OaiSource(Protocol):
    """What the repository reads (the records port: :class:`~chalicelib.adapters.dynamodb.repository.Repository`)."""

    def iter_datasets(self) -> Iterator[Dataset]: ...

    def get_entries(self, uuid: str, base_uris: Collection[str] | None) -> list[Dataset]: ...

    def list_base_uris(self) -> list[BaseUri]: ...


@dataclass(frozen=True)
class Item:
    """One dataset as listed: its entries under public base URIs (tombstones included)."""

    uuid: str
    identifier: str
    datestamp: int
    sets: tuple[str, ...]
    shown: Dataset | None  # the live entry whose metadata is disseminated; None: deleted

    @property
    def position(self) -> tuple[int, str]:
        return self.datestamp, self.identifier


class OaiRepository:
    """Answers OAI-PMH requests (:meth:`respond`) from ``source``'s records."""

    def __init__(
        self,
        source: OaiSource,
        config: OaiConfig,
        *,
        publisher: str,
        landing_url: Callable[[str], str],
        doi_of: Callable[[Dataset], str | None] = lambda _entry: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``doi_of(entry)``: the entry's registered DOI, if any (one read per record shown)."""
        self._source = source
        self._config = config
        self._publisher = publisher
        self._landing_url = landing_url
        self._doi_of = doi_of
        self._clock = clock
        self._prefix = f"oai:{config.repository_identifier}:"

    def respond(self, params: Mapping[str, Sequence[str]], base_url: str) -> bytes:
        """The answer (an ``<OAI-PMH>`` document) to a request of ``params`` (every argument
        with every value sent) made at ``base_url`` (unless the configuration names one)."""
        now = self._clock()
        base_url = self._config.base_url or base_url
        try:
            request = parse_request(params)
        except OaiError as exc:  # badVerb or badArgument: the request is echoed without arguments
            return xml.document(now, base_url, None, xml.errors(exc.code, str(exc)))
        echo = {"verb": request.verb, **request.arguments}
        try:
            body = self._answer(request, now, base_url)
        except OaiError as exc:
            echoed = xml.echoed(exc.code, request.verb, request.arguments)
            return xml.document(now, base_url, echoed, xml.errors(exc.code, str(exc)))
        return xml.document(now, base_url, echo, [body])

    def _answer(self, request: OaiRequest, now: float, base_url: str) -> ET.Element:
        verb = request.verb
        if verb == "Identify":
            return xml.identify(self._identity(now, base_url))
        if verb == "ListMetadataFormats":
            identifier = request.get("identifier")
            if identifier is not None:
                self._item(identifier)  # idDoesNotExist; every item has every format (a deleted one too)
            return xml.list_metadata_formats(xml.FORMATS.values())
        if verb == "ListSets":
            if request.get("resumptionToken") is not None:  # the list of sets is sent whole
                raise OaiError(BAD_RESUMPTION_TOKEN, "this repository issues no resumptionToken for ListSets")
            return xml.list_sets(self._sets())
        if verb == "GetRecord":
            fmt = _format(request.get("metadataPrefix"))
            item = self._item(str(request.get("identifier")))
            return xml.get_record(self._record(item), fmt, self._config.repository_identifier)
        return self._list(request, now)

    # -- the verbs ---------------------------------------------------------------------------

    def _identity(self, now: float, base_url: str) -> xml.Identity:
        items = self._items()
        return xml.Identity(
            name=self._config.repository_name or self._publisher,
            base_url=base_url,
            admin_email=self._config.admin_email,
            earliest=min((i.datestamp for i in items), default=int(now)),
            repository_identifier=self._config.repository_identifier,
        )

    def _sets(self) -> list[tuple[str, str]]:
        public = self._listed_base_uris()
        sets = [(BASE_SET, "Datasets by base URI"), (PROJECT_SET, "Datasets by project")]
        for uri in sorted(public):
            description = public[uri].description.strip()
            sets.append((base_set(uri), f"{uri}: {description}" if description else uri))
        projects = {spec for i in self._items() for spec in i.sets if spec.startswith(f"{PROJECT_SET}:")}
        sets += [(spec, f"Project {decode_set_part(spec.partition(':')[2])}") for spec in sorted(projects)]
        return sets

    def _list(self, request: OaiRequest, now: float) -> ET.Element:
        token_text = request.get("resumptionToken")
        token = None if token_text is None else ResumptionToken.decode(token_text, request.verb, now)
        first = request if token is None else token.request()
        fmt = _format(first.get("metadataPrefix"))
        wanted = first.get("set")
        items = [
            i
            for i in self._items()
            if (first.since is None or i.datestamp >= first.since)
            and (first.until is None or i.datestamp <= first.until)
            and (wanted is None or in_set(i.sets, wanted))
        ]
        start = 0 if token is None or token.after is None else bisect_right([i.position for i in items], token.after)
        page = items[start : start + self._config.page_size]
        if not page:
            raise OaiError(NO_RECORDS_MATCH, "no record matches these arguments")
        cursor = 0 if token is None else token.cursor
        more = start + len(page) < len(items)
        paging = None
        if more or token is not None:
            expires = int(now) + self._config.token_seconds
            following = ResumptionToken(request.verb, first.arguments, page[-1].position, cursor + len(page), expires)
            paging = xml.Page(following.encode() if more else None, cursor, cursor + len(items) - start, expires)
        records = [self._record(i, with_view=request.verb == "ListRecords") for i in page]
        if request.verb == "ListIdentifiers":
            return xml.list_identifiers(records, paging)
        return xml.list_records(records, paging, fmt, self._config.repository_identifier)

    # -- the items ---------------------------------------------------------------------------

    def _listed_base_uris(self) -> dict[str, BaseUri]:
        """The base URIs whose entries are listed: public ones, and withdrawn ones (their
        entries listed as deleted)."""
        return {b.base_uri: b for b in self._source.list_base_uris() if (b.public or b.was_public) and not b.deleted}

    def _items(self) -> list[Item]:
        """Every listed item, in (datestamp, identifier) order (a scan: see the module)."""
        public = self._listed_base_uris()
        entries: dict[str, list[Dataset]] = {}
        for entry in self._source.iter_datasets():
            if entry.base_uri in public and entry.status == REGISTERED:
                entries.setdefault(entry.uuid, []).append(entry)
        items = [self._make_item(uuid, group, public) for uuid, group in entries.items()]
        return sorted(items, key=lambda i: i.position)

    def _item(self, identifier: str) -> Item:
        """The item ``identifier`` names; idDoesNotExist unless it is listed."""
        uuid = identifier.removeprefix(self._prefix)
        if uuid == identifier or not _is_uuid(uuid):
            raise OaiError(ID_DOES_NOT_EXIST, f"no record {identifier}")
        public = self._listed_base_uris()
        group = [e for e in self._source.get_entries(uuid, list(public)) if e.status == REGISTERED]
        if not group:
            raise OaiError(ID_DOES_NOT_EXIST, f"no record {identifier}")
        return self._make_item(uuid, group, public)

    def _make_item(self, uuid: str, group: list[Dataset], public: Mapping[str, BaseUri]) -> Item:
        live = [e for e in group if not e.deleted and public[e.base_uri].public]  # withdrawn: deleted
        members = live or group
        sets = {base_set(e.base_uri) for e in members} | {
            project_set(e.content.project) for e in members if e.content.project
        }
        stamp = max(max(e.updated_at, public[e.base_uri].updated_at) for e in group)
        shown = max(live, key=lambda e: (e.updated_at, e.base_uri)) if live else None
        return Item(uuid, f"{self._prefix}{uuid}", int(stamp), tuple(sorted(sets)), shown)

    def _record(self, item: Item, *, with_view: bool = True) -> xml.Record:
        view = None
        if item.shown is not None and with_view:
            view = export_view(
                item.shown,
                item.shown.replicas,
                landing_url=self._landing_url(item.uuid),
                publisher=self._publisher,
                doi=self._doi_of(item.shown),
            )
        return xml.Record(item.identifier, item.datestamp, item.sets, item.shown is None, view)


def _format(prefix: str | None) -> xml.MetadataFormat:
    fmt = xml.FORMATS.get(prefix or "")
    if fmt is None:
        raise OaiError(CANNOT_DISSEMINATE_FORMAT, f"no metadata format {prefix!r}: see ListMetadataFormats")
    return fmt


def _is_uuid(value: str) -> bool:
    try:
        return str(uuidlib.UUID(value)) == value.lower()
    except ValueError:
        return False
