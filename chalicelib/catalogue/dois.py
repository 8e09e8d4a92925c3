"""DOIs of datasets, registered with DataCite. Framework-free.

A dataset (a uuid) has at most one DOI, ``<prefix>/<uuid>``: deterministic, so a request
retried after a lost answer finds the draft its first attempt made. The DOI names one entry
(the uuid under one base URI: the one it was requested for), whose registrars (and admins)
make the draft (``draft``), publish it (``publish``) and may delete it while it is a draft
(``delete_draft``); whoever is shown that entry reads it (``get``).

Where DataCite's state follows from (:func:`target_state`):

* not published: ``draft``;
* published, the entry live and its base URI public: ``findable`` (its landing page is the
  dataset's page in the web page);
* published otherwise (base URI not public, or the entry removed): ``registered``, DataCite's
  hidden state. A DOI is never deleted once registered; only a draft may be.

The record of a DOI (:class:`DoiRecord`: the DOI, its state, the entry it names, the entry
version whose metadata DataCite holds, who changed it last and when) is kept in the access
table (its stream feeds the audit log: :func:`doi_changes` gives one entry per change in the
dataset entry's log). :meth:`DoiService.dataset_changed` and :meth:`DoiService.base_uri_changed`
are called by the stream consumer: the metadata follows the entry's record, the state its
base URI's ``public`` flag and its removal; each is idempotent (a change already applied
writes nothing and calls DataCite for nothing), so a redelivered stream record is harmless.
Every event sent to DataCite is idempotent too (an event to the state a DOI is in changes
nothing), which makes any retry safe. What the stream consumer could not bring in step
(DataCite unreachable, a concurrent change of the record) is left out of step rather than
holding up the stream (indexing and the change feed wait behind a failed batch):
:meth:`DoiService.reconcile`, run hourly, sends every DOI whose state or metadata lags.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.adapters.datacite import (
    DataCite,
    DataCiteError,
    DoiEvent,
    DoiExists,
    DoiNotFound,
    DoiRefused,
    DoiServiceUnavailable,
    RegisteredDoi,
)
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.audit import dataset_subject, entries_for
from chalicelib.catalogue.entries import live, visible_entries
from chalicelib.domain import REGISTERED, AuditEntry, BaseUri, Dataset, JSONObject, User
from chalicelib.errors import (
    AlreadyExists,
    Conflict,
    DoisNotConfigured,
    DoisUnavailable,
    Forbidden,
    InvalidRecord,
    NotFound,
)
from chalicelib.exports.datacite import datacite_attributes
from chalicelib.exports.view import export_view
from chalicelib.identity import permissions as perm

log = logging.getLogger(__name__)

DRAFT, REGISTERED_STATE, FINDABLE, DELETED = "draft", "registered", "findable", "deleted"
# the actions of a DOI record's changes, as its audit entries name them
ACTIONS = ("draft", "register", "publish", "hide", "update", "delete")


@dataclass(frozen=True)
class DoiRecord:
    """One dataset's DOI. ``state``: DataCite's (``draft``, ``registered``, ``findable``) or
    ``deleted`` (a draft deleted: a tombstone, so its deletion has an actor). ``published``:
    a registrar asked for it to be published. ``metadata_version``: the entry version whose
    record DataCite holds. ``action``: what the last change did (one of :data:`ACTIONS`)."""

    uuid: str
    base_uri: str
    doi: str
    state: str
    published: bool
    metadata_version: int
    version: int
    updated_by: str
    updated_at: float
    action: str

    def view(self) -> JSONObject:
        """The record as the API shows it."""
        return {
            "uuid": self.uuid,
            "base_uri": self.base_uri,
            "doi": self.doi,
            "url": f"https://doi.org/{self.doi}",
            "state": self.state,
            "published": self.published,
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


class DoiStore(ABC):
    """Where DOI records are kept (one per uuid).

    - ``get(uuid)``: the record (tombstones included) or ``None``, read consistently.
    - ``save(record, expected_version)``: ``None`` creates (AlreadyExists if one exists);
      otherwise VersionConflict unless the stored version is ``expected_version``.
    - ``under(base_uri)``: the records naming entries under ``base_uri``.
    - ``all()``: every record (tombstones included).
    """

    @abstractmethod
    def get(self, uuid: str) -> DoiRecord | None: ...

    @abstractmethod
    def save(self, record: DoiRecord, expected_version: int | None) -> None: ...

    @abstractmethod
    def under(self, base_uri: str) -> Iterator[DoiRecord]: ...

    @abstractmethod
    def all(self) -> Iterator[DoiRecord]: ...


def target_state(published: bool, entry_live: bool, base_uri_public: bool) -> str:
    """DataCite's state a DOI should be in (see the module)."""
    if not published:
        return DRAFT
    return FINDABLE if entry_live and base_uri_public else REGISTERED_STATE


def event_to(current: str, target: str) -> DoiEvent | None:
    """The event that takes a DOI from ``current`` to ``target`` (``None``: it is there).
    A target of ``draft`` from any other state has none: nothing leads back to draft."""
    if target in (current, DRAFT):
        return None
    if target == FINDABLE:
        return "publish"
    return "hide" if current == FINDABLE else "register"


def action_of(event: DoiEvent | None) -> str:
    return {"publish": "publish", "register": "register", "hide": "hide"}.get(event or "", "update")


def doi_changes(old: DoiRecord | None, new: DoiRecord) -> list[AuditEntry]:
    """The audit entry of one change of a DOI record: in the log of the entry it names, with
    the record's actor and time (none when nothing changed: a same-version image)."""
    if old is not None and old.version == new.version:
        return []
    value = {**new.view(), "action": new.action}
    row = (dataset_subject(new.uuid, new.base_uri), "doi", new.doi, new.action, value)
    return entries_for(f"doi:{new.uuid}", new.version, new.updated_at, new.updated_by, [row])


class DoiService:
    """DOIs through ``datacite``, records in ``store``, entries and base URIs read from ``repo``.
    Without ``datacite`` (DOIs not configured) a request is authorized as always, then refused
    with :class:`~chalicelib.errors.DoisNotConfigured` (an outsider still learns nothing).

    ``landing_url(uuid)``: a dataset's page (a findable DOI's URL); ``publisher``: the
    deployment as DataCite's ``publisher``.
    """

    def __init__(
        self,
        repo: Repository,
        store: DoiStore,
        datacite: DataCite | None,
        *,
        landing_url: Callable[[str], str],
        publisher: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._store = store
        self._datacite = datacite
        self._landing_url = landing_url
        self._publisher = publisher
        self._clock = clock

    # -- requests --------------------------------------------------------------------------
    def get(self, user: User, uuid: str, base_uri: str | None = None) -> JSONObject:
        """The DOI of ``uuid`` (NotFound for who may not see the entry it names, or none)."""
        entries = visible_entries(self._repo, user, uuid, base_uri, load_blobs=False)
        record = self._store.get(uuid)
        if record is None or record.state == DELETED or record.base_uri not in {e.base_uri for e in entries}:
            raise NotFound(f"dataset {uuid} has no DOI")
        return record.view()

    def draft(self, user: User, uuid: str, base_uri: str | None = None) -> tuple[JSONObject, bool]:
        """A draft DOI for the entry (the caller's first it may register, or ``base_uri``'s);
        ``(record, created)``: an existing DOI is returned as it is. Conflict when the uuid's
        DOI names another entry."""
        entry = self._entries(user, uuid, base_uri)[0]
        record = self._store.get(uuid)
        if record is not None and record.state != DELETED:
            if record.base_uri != entry.base_uri:
                raise Conflict(f"dataset {uuid} has a DOI already, for its entry under another base URI")
            return record.view(), False
        datacite = self._configured()
        doi = f"{datacite.prefix}/{uuid}".lower()
        attributes = self._attributes(entry, doi)
        try:
            remote = datacite.create(doi, attributes)
        except DoiExists:
            # our create went through but its answer was lost (or the save below failed)
            remote = self._remote(datacite.get, doi)
        except DataCiteError as exc:
            raise _domain(exc) from exc
        now = self._clock()
        new = DoiRecord(
            uuid=uuid,
            base_uri=entry.base_uri,
            doi=doi,
            state=remote.state,
            published=remote.state != DRAFT,
            metadata_version=entry.version,
            version=1 if record is None else record.version + 1,
            updated_by=user.username,
            updated_at=now,
            action="draft",
        )
        try:
            self._store.save(new, None if record is None else record.version)
        except (AlreadyExists, Conflict):  # a concurrent request made it: theirs
            current = self._store.get(uuid)
            if current is None:
                raise
            return current.view(), False
        return new.view(), True

    def publish(self, user: User, uuid: str, base_uri: str | None = None) -> JSONObject:
        """Publish the DOI: findable when the entry's base URI is public, registered (hidden)
        otherwise; the metadata sent again. Publishing a published DOI changes nothing."""
        record, entry = self._record_and_entry(user, uuid, base_uri)
        return self._apply(record, entry, published=True, actor=user.username).view()

    def delete_draft(self, user: User, uuid: str, base_uri: str | None = None) -> None:
        """Delete the DOI while it is a draft (Conflict once registered: never deleted)."""
        record, _ = self._record_and_entry(user, uuid, base_uri)
        if record.state != DRAFT:
            raise Conflict(f"the DOI {record.doi} is {record.state}: only a draft is deleted; a DOI is never deleted")
        try:
            self._configured().delete(record.doi)
        except DoiNotFound:
            pass  # deleted by a first attempt whose answer was lost
        except DoiRefused as exc:
            raise Conflict(f"the DOI {record.doi} is no longer a draft at DataCite") from exc
        except DataCiteError as exc:
            raise _domain(exc) from exc
        gone = replace(
            record,
            state=DELETED,
            published=False,
            version=record.version + 1,
            updated_by=user.username,
            updated_at=self._clock(),
            action="delete",
        )
        self._store.save(gone, record.version)

    def doi_of(self, entry: Dataset) -> str | None:
        """The DOI naming ``entry`` once registered or findable (exports name it; a draft's
        DOI resolves nowhere, so it is not shown there)."""
        record = self._store.get(entry.uuid)
        if record is None or record.base_uri != entry.base_uri or record.state not in (REGISTERED_STATE, FINDABLE):
            return None
        return record.doi

    # -- the stream consumer's ------------------------------------------------------------
    def dataset_changed(self, entry: Dataset) -> bool:
        """Keep the DOI naming ``entry`` in step with its new version: metadata sent again,
        hidden once removed. Returns whether DataCite was called. DataCite unreachable raises
        :class:`~chalicelib.adapters.datacite.DoiServiceUnavailable`: the stream consumer
        counts it and goes on; :meth:`reconcile` sends it later."""
        record = self._store.get(entry.uuid)
        if record is None or record.state == DELETED or record.base_uri != entry.base_uri:
            return False
        if record.metadata_version >= entry.version:
            return False  # already sent (a redelivered or late record)
        self._apply(record, entry, published=record.published, actor=entry.updated_by, raw=True)
        return True

    def base_uri_changed(self, base_uri: BaseUri) -> int:
        """Published DOIs under ``base_uri`` become findable (public) or hidden (withdrawn);
        returns how many changed state."""
        changed = 0
        for record in self._store.under(base_uri.base_uri):
            if record.state == DELETED or not record.published:
                continue
            entry = self._repo.get_dataset(record.uuid, record.base_uri, load_blobs=False)
            target = target_state(True, entry is not None and live(entry), base_uri.public)
            if entry is None or target == record.state:
                continue
            self._apply(record, entry, published=True, actor=base_uri.updated_by, raw=True)
            changed += 1
        return changed

    def reconcile(self) -> dict[str, int]:
        """Send every published-or-draft DOI whose DataCite state or metadata lags its entry
        (what the stream consumer could not: DataCite was unreachable, or the record changed
        meanwhile). Idempotent. ``{"checked", "sent", "failed"}``; a DOI that fails is logged
        and tried again on the next run. Without DataCite configured: nothing to do."""
        counts = {"checked": 0, "sent": 0, "failed": 0}
        if self._datacite is None:
            return counts
        public: dict[str, bool] = {}
        for record in self._store.all():
            if record.state == DELETED:
                continue
            counts["checked"] += 1
            entry = self._repo.get_dataset(record.uuid, record.base_uri, load_blobs=False)
            if entry is None:
                continue
            if entry.base_uri not in public:
                public[entry.base_uri] = self._is_public(entry.base_uri)
            target = target_state(record.published, live(entry), public[entry.base_uri])
            lags = record.metadata_version < entry.version or event_to(record.state, target) is not None
            if not lags:
                continue
            try:
                self._apply(record, entry, published=record.published, actor=entry.updated_by, raw=True)
                counts["sent"] += 1
            except (DataCiteError, AlreadyExists, Conflict) as exc:  # Conflict: VersionConflict's base
                log.error("DOI %s still not in step: %r", record.doi, exc)
                counts["failed"] += 1
        return counts

    # -- helpers ----------------------------------------------------------------------------
    def _apply(self, record: DoiRecord, entry: Dataset, *, published: bool, actor: str, raw: bool = False) -> DoiRecord:
        """Send ``entry``'s metadata and the event its target state needs; save the record.
        ``raw``: DataCite's errors are raised as they are (the stream consumer's)."""
        public = self._is_public(entry.base_uri)
        target = target_state(published, live(entry), public)
        event = event_to(record.state, target)
        datacite = self._configured()
        try:
            remote = datacite.update(record.doi, self._attributes(entry, record.doi), event)
        except DataCiteError as exc:
            if raw:
                raise
            raise _domain(exc) from exc
        new = replace(
            record,
            state=remote.state,
            published=published,
            metadata_version=max(record.metadata_version, entry.version),
            version=record.version + 1,
            updated_by=actor,
            updated_at=self._clock(),
            action=action_of(event),
        )
        if (new.state, new.published, new.metadata_version) == (
            record.state,
            record.published,
            record.metadata_version,
        ):
            return record  # nothing changed: no write, no audit entry
        self._store.save(new, record.version)
        return new

    def _is_public(self, base_uri: str) -> bool:
        record = self._repo.get_base_uri(base_uri)
        return record is not None and not record.deleted and record.public

    def _attributes(self, entry: Dataset, doi: str) -> dict[str, Any]:
        view = export_view(
            entry,
            entry.replicas,
            landing_url=self._landing_url(entry.uuid),
            publisher=self._publisher,
            doi=doi,
        )
        return datacite_attributes(view)

    def _configured(self) -> DataCite:
        if self._datacite is None:
            raise DoisNotConfigured("no DataCite account is configured")
        return self._datacite

    def _record_and_entry(self, user: User, uuid: str, base_uri: str | None) -> tuple[DoiRecord, Dataset]:
        """The uuid's DOI and the entry it names, which the caller must be able to register
        (authorized before the DOI is read: an outsider learns nothing of it)."""
        entries = self._entries(user, uuid, base_uri)
        record = self._store.get(uuid)
        entry = next((e for e in entries if record is not None and e.base_uri == record.base_uri), None)
        if record is None or record.state == DELETED or entry is None:
            raise NotFound(f"dataset {uuid} has no DOI; POST /datasets/{uuid}/doi makes a draft")
        return record, entry

    def _entries(self, user: User, uuid: str, base_uri: str | None) -> list[Dataset]:
        """The registered entries of ``uuid`` the caller may register, first registered first
        (NotFound when it sees none, Forbidden when it only reads them)."""
        entries = [
            e for e in visible_entries(self._repo, user, uuid, base_uri, load_blobs=False) if e.status == REGISTERED
        ]
        if not entries:
            raise NotFound(f"no dataset {uuid}")
        mine = [e for e in entries if perm.may_register(user, e.base_uri)]
        if not mine:
            raise Forbidden("DOIs are made by admins and by registrars of the dataset's base URI")
        return mine

    @staticmethod
    def _remote(call: Callable[[str], RegisteredDoi], doi: str) -> RegisteredDoi:
        try:
            return call(doi)
        except DataCiteError as exc:
            raise _domain(exc) from exc


def _domain(exc: DataCiteError) -> Exception:
    """DataCite's refusal as the catalogue's errors: its titles are 422, anything else 503."""
    if isinstance(exc, DoiRefused):
        return InvalidRecord({"datacite": list(exc.titles)})
    if not isinstance(exc, DoiServiceUnavailable):
        log.error("DataCite refused a DOI request: %s", exc)  # the account or prefix: the operator's
    return DoisUnavailable(str(exc))
