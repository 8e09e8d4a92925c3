"""What one caller may see of one dataset entry, as every export format reads it. Framework-free.

An :class:`ExportView` is built from the entry the caller's record shows (the one
``GET /datasets/{uuid}`` shows, see :mod:`chalicelib.exports.service`) and only the replicas
that record lists: the exporters never see more than the caller may. Who last changed the
entry (``updated_by``), why an upload was refused (``status_reasons``) and the entry's
archives are not in it, so no format can leak them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from chalicelib.config import LOCAL_WEB_ORIGIN
from chalicelib.domain import Dataset, Replica

# the web page's hash route of a dataset (web/app.js)
LANDING_PATH = "/#/datasets/"
# the local stack's page, when no origin is configured (as routes._http's CORS default)


class HasWebOrigin(Protocol):
    @property
    def web_origin(self) -> str: ...


class ExportItem(NamedTuple):
    """One file of the manifest: its id, path in the dataset, size and hash."""

    id: str
    relpath: str
    size_in_bytes: int
    hash: str


@dataclass(frozen=True)
class ExportView:
    """One entry as one caller may see it (timestamps are epoch seconds, as in the domain;
    the ``*_iso`` properties give them as ISO 8601 UTC strings).

    ``replicas``: the URIs of the replicas shown to this caller; ``items``: the manifest's
    files, sorted by relpath (empty when the export did not read the manifest);
    ``hash_function``: the manifest's (``md5sum_hexdigest``…); ``doi``: the dataset's DOI
    (``10.xxxx/yyy``) when it has one; ``publisher``: who makes the dataset available (the
    deployment's name); ``landing_url``: the dataset's page in the web page.
    """

    uuid: str
    name: str
    description: str
    readme: str
    creator_username: str
    created_at: float
    frozen_at: float
    registered_at: float
    updated_at: float
    tags: tuple[str, ...]
    annotations: Mapping[str, Any]
    base_uri: str
    replicas: tuple[str, ...]
    project: str | None
    kind: str
    number_of_items: int
    size_in_bytes: int
    items: tuple[ExportItem, ...]
    landing_url: str
    doi: str | None
    publisher: str
    version: int
    hash_function: str = "md5sum_hexdigest"

    @property
    def created_iso(self) -> str:
        return iso8601(self.created_at)

    @property
    def frozen_iso(self) -> str:
        return iso8601(self.frozen_at)

    @property
    def registered_iso(self) -> str:
        return iso8601(self.registered_at)

    @property
    def updated_iso(self) -> str:
        return iso8601(self.updated_at)

    @property
    def publication_year(self) -> str:
        """The year the dataset was made available in the catalogue (its registration here)."""
        return iso8601(self.registered_at)[:4]

    @property
    def doi_url(self) -> str | None:
        return f"https://doi.org/{self.doi}" if self.doi else None


def iso8601(epoch: float) -> str:
    """``epoch`` seconds as an ISO 8601 UTC timestamp to the second (``2024-05-01T12:00:00Z``)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def landing_url(settings_or_origin: HasWebOrigin | str, uuid: str) -> str:
    """The dataset's page in the web page: ``<origin>/#/datasets/<uuid>`` (the SPA's hash
    route). The origin is ``CATALOGUE_WEB_ORIGIN`` (``Settings.web_origin``) or a string;
    empty, the local stack's page."""
    origin = settings_or_origin if isinstance(settings_or_origin, str) else settings_or_origin.web_origin
    origin = origin or LOCAL_WEB_ORIGIN
    return f"{origin.rstrip('/')}{LANDING_PATH}{uuid}"


def export_view(
    dataset: Dataset, replicas: Iterable[Replica], *, landing_url: str, publisher: str, doi: str | None
) -> ExportView:
    """The view of ``dataset`` showing ``replicas`` only (those the caller's record lists)."""
    c = dataset.content
    items = tuple(
        sorted(
            (ExportItem(k, v.relpath, v.size_in_bytes, v.hash) for k, v in c.manifest.items.items()),
            key=lambda i: (i.relpath, i.id),
        )
    )
    return ExportView(
        uuid=c.uuid,
        name=c.name,
        description=c.description,
        readme=c.readme,
        creator_username=c.creator_username,
        created_at=c.created_at,
        frozen_at=c.frozen_at,
        registered_at=dataset.registered_at,
        updated_at=dataset.updated_at,
        tags=tuple(c.tags),
        annotations=dict(c.annotations),
        base_uri=dataset.base_uri,
        replicas=tuple(dict.fromkeys(r.uri for r in replicas)),
        project=c.project,
        kind=c.type,
        number_of_items=c.number_of_items,
        size_in_bytes=c.size_in_bytes,
        items=items,
        landing_url=landing_url,
        doi=doi,
        publisher=publisher,
        version=dataset.version,
        hash_function=c.manifest.hash_function,
    )
