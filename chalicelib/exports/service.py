"""Exports of the record a caller is shown (``GET /datasets/{uuid}/export/{format}`` and
content negotiation on ``GET /datasets/{uuid}``). Framework-free.

The entry exported is the one ``GET /datasets/{uuid}`` shows the caller (the first it may
see, or the one under ``?base_uri=``), read by the same :func:`~chalicelib.catalogue.entries.visible_entries`,
with the replicas of every entry of the uuid the caller may see, as that record lists them.
Only registered entries are exported: a refused or incomplete upload (shown to its base URI's
registrars) has no export, so none of its status reasons can reach one.

Authorize, then validate: whoever may not see the uuid gets the same NotFound whatever the
format asked for; only then is an unknown format NotFound (naming the formats) and an
``Accept`` header that allows no format NotAcceptable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.entries import live, visible_entries
from chalicelib.domain import Dataset, User
from chalicelib.errors import NotAcceptable, NotFound
from chalicelib.exports import premis
from chalicelib.exports.formats import ExportFormat, format_named, names, negotiate
from chalicelib.exports.view import ExportView, export_view

# what one caller may see of an entry's preservation history (the audit log, the archives)
Preservation = Callable[[User, ExportView], premis.PreservationRecords]


@dataclass(frozen=True)
class Export:
    """One export: its body (bytes, or a JSON value) and the media type it is sent as."""

    format: str
    media_type: str
    body: bytes | Any


class ExportService:
    """``landing_url(uuid)``: a dataset's page; ``publisher``: who makes the datasets
    available (the deployment's name); ``doi_of(entry)``: the entry's DOI, when it has one;
    ``preservation(user, view)``: the history PREMIS tells (without it, registration only)."""

    def __init__(
        self,
        repo: Repository,
        *,
        landing_url: Callable[[str], str],
        publisher: str,
        doi_of: Callable[[Dataset], str | None] = lambda _entry: None,
        preservation: Preservation | None = None,
    ) -> None:
        self._repo = repo
        self._landing_url = landing_url
        self._publisher = publisher
        self._doi_of = doi_of
        self._preservation = preservation

    def export(self, user: User, uuid: str, format_name: str, base_uri: str | None = None) -> Export:
        """The export of the caller's record of ``uuid`` in the format named ``format_name``.
        NotFound when the caller sees no registered entry of ``uuid``, then when no format
        has that name."""
        fmt = format_named(format_name)
        view = self.view(user, uuid, base_uri, fmt.parts if fmt else ())
        if fmt is None:
            raise NotFound(f"no export format {format_name!r}; the formats are {', '.join(names())}")
        return self._render(fmt, view, user)

    def negotiated(self, user: User, uuid: str, accept: str | None, base_uri: str | None = None) -> Export | None:
        """The export an ``Accept`` header asks for, or ``None`` when it asks for the
        catalogue's own record (or for nothing in particular). NotFound before NotAcceptable."""
        try:
            fmt = negotiate(accept)
        except NotAcceptable:
            self.view(user, uuid, base_uri, ())  # NotFound first: an outsider learns nothing
            raise
        if fmt is None:
            return None
        return self._render(fmt, self.view(user, uuid, base_uri, fmt.parts), user)

    def view(self, user: User, uuid: str, base_uri: str | None, parts: tuple[str, ...]) -> ExportView:
        """What ``user`` may see of ``uuid``'s record (reading only the large ``parts`` given)."""
        entries = [e for e in visible_entries(self._repo, user, uuid, base_uri, load_blobs=parts) if live(e)]
        if not entries:
            raise NotFound(f"no dataset {uuid}")
        primary = entries[0]
        return export_view(
            primary,
            tuple(r for e in entries for r in e.replicas),
            landing_url=self._landing_url(uuid),
            publisher=self._publisher,
            doi=self._doi_of(primary),
        )

    def _render(self, fmt: ExportFormat, view: ExportView, user: User) -> Export:
        if fmt.name == "premis" and self._preservation is not None:
            # PREMIS tells the history the caller may see, not only the view's record
            return Export(fmt.name, fmt.media_type, premis.premis_xml(view, self._preservation(user, view)))
        return Export(fmt.name, fmt.media_type, fmt.render(view))
