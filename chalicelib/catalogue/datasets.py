"""Use cases of the catalogue. Authorization is checked here, with the predicates of
:mod:`chalicelib.identity.permissions`, before any adapter is called. Framework-free.

Every registration and every edit checks the content it would write against the annotation
schemas it declares (its own ``annotation_schema`` annotation, its project's), through the
``check_annotations`` given: a content that breaks them raises InvalidDocument and nothing is
written, whether it would create, change or leave the entry as it is."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.adapters.dynamodb.repository import (
    MAX_STAMPS_PER_CALL,
    DatasetStamp,
    EntryKey,
    LoadBlobs,
    Repository,
)
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.catalogue.blobs import BlobStore
from chalicelib.catalogue.cursors import encode_cursor
from chalicelib.catalogue.entries import ANNOTATIONS, live, merged, new_entry, unchanged, visible_entries
from chalicelib.catalogue.facets import search_facets
from chalicelib.catalogue.paging import LogPage, read_log
from chalicelib.catalogue.search import HIGHLIGHTS, SearchIndex, SearchQuery
from chalicelib.catalogue.validation import DatasetPatch, Registration
from chalicelib.domain import KIND_RECORD, REGISTERED, SYSTEM_ACTOR, Dataset, DatasetContent, JSONObject, Replica, User
from chalicelib.errors import AlreadyExists, CatalogueError, Forbidden, NotFound, ValidationError, VersionConflict
from chalicelib.identity import permissions as perm
from chalicelib.retries import pause_before

MAX_WRITE_ATTEMPTS = 10
ANY_TOMBSTONE = -1  # register() without guard_revival: a deleted entry comes back as it is
MAX_ARCHIVES_SHOWN = 20  # newest archives of a dataset shown on its record
# API Gateway and Lambda cap a synchronous response at 6 MB: larger parts go by link.
LARGE_RESPONSE_BYTES = 4 * 1024 * 1024
SYSTEM = SYSTEM_ACTOR
# (annotations, project) -> None, or InvalidDocument listing every problem: the site-defined
# annotation schemas the dataset and its project declare (chalicelib.catalogue.annotation_schemas)
AnnotationsCheck = Callable[[Mapping[str, Any], str | None], None]


@dataclass(frozen=True)
class RegisterResult:
    created: bool
    status: str  # "created" | "replica-added" | "updated" | "unchanged"
    dataset: JSONObject


@dataclass(frozen=True)
class BlobLink:
    """A part of a record served by a link instead of inline (too large for one response)."""

    url: str
    size: int


@dataclass(frozen=True)
class SearchPage:
    items: list[JSONObject]
    total: int
    page: int
    page_size: int
    next_after: str | None

    @property
    def total_pages(self) -> int:
        return (self.total + self.page_size - 1) // self.page_size


class CatalogueService:
    def __init__(
        self,
        repo: Repository,
        search: SearchIndex,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        blobs: BlobStore | None = None,
        projects_of: Callable[[Sequence[str]], Mapping[str, str]] | None = None,
        check_annotations: AnnotationsCheck | None = None,
    ) -> None:
        self._blobs = blobs
        # every registration and edit: the content written must conform to the annotation
        # schemas it declares (InvalidDocument, nothing written, otherwise)
        self._check_annotations = check_annotations
        # uuids -> the project each belongs to, for the uuids described before their data was
        # registered (the Data Tracker's datasets, chalicelib.tracker): a new entry of such a
        # uuid belongs to that project (its members see it whatever its base URI)
        self._projects_of = projects_of
        self._repo = repo
        self._search = search
        self._clock = clock
        self._sleep = sleep

    # -- datasets ---------------------------------------------------------------
    def _check_register(self, user: User, base_uri: str) -> None:
        if not perm.may_register(user, base_uri):
            raise Forbidden(f"no register permission on {base_uri}")
        base = self._repo.get_base_uri(base_uri)
        if base is None or base.deleted:
            raise ValidationError(f"base_uri {base_uri} is not registered", field="base_uri")

    def register(
        self,
        user: User,
        reg: Registration,
        *,
        attempts: int = MAX_WRITE_ATTEMPTS,
        guard_revival: bool = False,
        revivable: int | None = None,
        read_at: int | None = None,
    ) -> RegisterResult:
        """Register ``reg`` into its entry; a write that loses a race is merged again with
        the new state, up to ``attempts`` times, then VersionConflict.

        With ``guard_revival`` (registrations read from S3), a deleted entry is brought back
        only when its tombstone is at version ``revivable``: otherwise VersionConflict with
        the tombstone's version as ``current_version``, and the caller reads S3 again (now
        after seeing the deletion: objects still there then are a new upload) and passes it.

        InvalidDocument (nothing written) when the annotations the entry would hold break the
        annotation schemas the dataset or its project declares; an unchanged registration too.

        ``read_at``: the version the entry had when ``reg`` was read (the bulk index's
        stamp); VersionConflict, nothing written, when the entry is no longer at it.
        """
        self._check_register(user, reg.base_uri)
        for attempt in range(attempts):
            try:
                return self._register_once(user, reg, revivable if guard_revival else ANY_TOMBSTONE, read_at)
            except VersionConflict as exc:
                if exc.current_version is not None:
                    raise  # a tombstone not to revive: the caller reads S3 again
            except AlreadyExists:
                pass
            # A concurrent registration won the race: read again and merge, after a
            # jittered pause so that racing writers spread out.
            self._sleep(pause_before(attempt))
        raise VersionConflict("the dataset is changing too fast; retry")

    def register_many(
        self, user: User, regs: Sequence[Registration], *, read_from_storage: bool = False
    ) -> list[str | CatalogueError]:
        """Register many datasets (bulk index) with the effect of :meth:`register` on each.

        One batch read of stamps tells which registrations change nothing (no write) and
        which create an entry (one conditional write); the others, and any that lose a
        race, go through :meth:`register`. Returns, per registration, its status or the
        domain error :meth:`register` would have raised for it.

        ``read_from_storage``: the registrations are readings of S3, which a lost race or a
        tombstone makes stale: such a registration is not merged and no tombstone is
        revived; its result is VersionConflict and the caller reads S3 again (as
        :meth:`register` with ``guard_revival`` and one attempt). A lost race is any write
        after the stamp's read: a create that finds the entry, an update of an entry no
        longer at the stamp's version (its writer may have read S3 after this reading).
        A write between the S3 reading and the stamp's read goes unseen, as in the event
        path between its S3 read and its GetItem. Every write stays a conditional write of
        one item: a BatchWriteItem has no condition and would overwrite such an entry.
        """

        def slow(reg: Registration, seen: DatasetStamp | None) -> str:
            if read_from_storage:
                version = seen.version if seen is not None else None
                return self.register(user, reg, attempts=1, guard_revival=True, read_at=version).status
            return self.register(user, reg).status

        checks: dict[str, CatalogueError | None] = {}
        stamps: dict[EntryKey, DatasetStamp] = {}
        keys = sorted({(r.content.uuid, r.base_uri) for r in regs})
        for i in range(0, len(keys), MAX_STAMPS_PER_CALL):
            stamps.update(self._repo.get_dataset_stamps(keys[i : i + MAX_STAMPS_PER_CALL]))
        new_uuids = sorted({uuid for uuid, base_uri in keys if (uuid, base_uri) not in stamps})
        projects = self._projects(new_uuids)  # one batch read for the entries to create
        seen: set[EntryKey] = set()
        results: list[str | CatalogueError] = []
        for reg in regs:
            key = (reg.content.uuid, reg.base_uri)
            first = key not in seen  # a second registration of an entry sees the first's write
            seen.add(key)
            try:
                if reg.base_uri not in checks:
                    try:
                        self._check_register(user, reg.base_uri)
                        checks[reg.base_uri] = None
                    except CatalogueError as exc:
                        checks[reg.base_uri] = exc
                if (error := checks[reg.base_uri]) is not None:
                    raise error
                stamp = stamps.get(key)
                if first and stamp is not None and unchanged(stamp, reg):
                    self._require_conforming(merged(reg, stamp.description, stamp.project, stamp.kind))
                    results.append("unchanged")
                elif first and stamp is None:
                    dataset = self._new_dataset(user, reg, 1, projects)
                    self._require_conforming(dataset.content)
                    try:
                        self._repo.save_dataset(dataset, None)
                        results.append("created")
                    except AlreadyExists:
                        if read_from_storage:
                            raise VersionConflict("registered meanwhile; read it again") from None
                        results.append(slow(reg, None))
                else:
                    results.append(slow(reg, stamp if first else None))
            except CatalogueError as exc:
                results.append(exc)
        return results

    def holds(self, reg: Registration) -> bool:
        """Whether registering ``reg`` would change nothing (one consistent read of a stamp)."""
        key = (reg.content.uuid, reg.base_uri)
        stamp = self._repo.get_dataset_stamps([key]).get(key)
        return stamp is not None and unchanged(stamp, reg)

    def _new_dataset(
        self, user: User, reg: Registration, version: int, projects: Mapping[str, str] | None = None
    ) -> Dataset:
        """A new entry for ``reg``; its project (when the registration names none) is read, or
        taken from ``projects`` (a batch read of the caller's)."""
        content = reg.content
        if content.project is None:
            found = projects if projects is not None else self._projects([content.uuid])
            if content.uuid in found:
                content = replace(content, project=found[content.uuid])
        return new_entry(user, content, reg.uri, reg.base_uri, version, self._clock())

    def _require_conforming(self, content: DatasetContent) -> None:
        """InvalidDocument when ``content``'s annotations break a schema it or its project
        declares (no read at all when neither declares one)."""
        if self._check_annotations is not None:
            self._check_annotations(content.annotations, content.project)

    def _projects(self, uuids: Sequence[str]) -> Mapping[str, str]:
        return self._projects_of(uuids) if self._projects_of is not None and uuids else {}

    def _register_once(
        self, user: User, reg: Registration, revivable: int | None = ANY_TOMBSTONE, read_at: int | None = None
    ) -> RegisterResult:
        """Register into the entry of (uuid, base URI): entries of the same uuid under other
        base URIs are neither read nor changed, so the answer is the same whether they exist."""
        now = self._clock()
        replica = Replica(uri=reg.uri, base_uri=reg.base_uri, registered_at=now, registered_by=user.username)
        existing = self._repo.get_dataset(reg.content.uuid, reg.base_uri)
        if read_at is not None and (existing is None or existing.version != read_at):
            raise VersionConflict("the dataset changed since it was read; read it again")
        if existing is not None and existing.deleted and revivable not in (ANY_TOMBSTONE, existing.version):
            raise VersionConflict("the dataset was deleted; read it again", existing.version)
        if existing is None or existing.deleted:
            dataset = self._new_dataset(user, reg, existing.version + 1 if existing else 1)
            self._require_conforming(dataset.content)
            self._repo.save_dataset(dataset, existing.version if existing else None)
            return RegisterResult(True, "created", dataset.detail_dict())
        content = merged(reg, existing.content.description, existing.content.project, existing.content.kind)
        self._require_conforming(content)
        same_content = existing.status == REGISTERED and existing.content.content_hash() == content.content_hash()
        known = existing.replica(reg.uri)
        if known is not None and same_content:
            return RegisterResult(False, "unchanged", existing.detail_dict())
        replicas = existing.replicas if known is not None else (*existing.replicas, replica)
        dataset = replace(
            existing,
            content=content,
            replicas=replicas,
            version=existing.version + 1,
            updated_at=now,
            updated_by=user.username,
            updated_for=user.acting_for,
            status=REGISTERED,
            status_reasons=(),
        )
        self._repo.save_dataset(dataset, existing.version)
        if known is None:
            return RegisterResult(True, "replica-added", dataset.detail_dict())
        return RegisterResult(False, "updated", dataset.detail_dict())

    def record_problem(self, user: User, reg: Registration, status: str, reasons: tuple[str, ...]) -> RegisterResult:
        """Record an upload that could not be registered (``refused`` or ``incomplete``), with
        its reasons, so that the registrars of its base URI see why. A live registered
        entry is never replaced by a problem record. Idempotent."""
        if not perm.may_register(user, reg.base_uri):
            raise Forbidden(f"no register permission on {reg.base_uri}")
        now = self._clock()
        existing = self._repo.get_dataset(reg.content.uuid, reg.base_uri)
        unchanged = existing is not None and (existing.status, existing.status_reasons) in (
            (REGISTERED, existing.status_reasons),
            (status, reasons),
        )
        if existing is not None and not existing.deleted and unchanged:
            return RegisterResult(False, "unchanged", existing.detail_dict())
        version = existing.version + 1 if existing else 1
        dataset = new_entry(user, reg.content, reg.uri, reg.base_uri, version, now, status=status, reasons=reasons)
        self._repo.save_dataset(dataset, existing.version if existing else None)
        return RegisterResult(existing is None, status, dataset.detail_dict())

    # -- reading entries --------------------------------------------------------
    def _entries(
        self, user: User, uuid: str, base_uri: str | None, *, load_blobs: LoadBlobs = True, uri: str | None = None
    ) -> list[Dataset]:
        """:func:`visible_entries`; with ``uri``, only the entry holding that replica (dtool
        clients name a dataset by its URI): one read either way."""
        entries = visible_entries(self._repo, user, uuid, base_uri, load_blobs=load_blobs)
        if uri is None:
            return entries
        holding = [e for e in entries if e.replica(uri) is not None and live(e)]
        if not holding:
            raise NotFound(f"no dataset {uri}")
        return holding

    def entries(self, user: User, uuid: str) -> list[Dataset]:
        """Every live entry of ``uuid`` the user may see, first registered first (``[]``:
        none, whether or not others exist). One read, without the large parts' blobs."""
        try:
            found = visible_entries(self._repo, user, uuid, None, load_blobs=False)
        except NotFound:
            return []
        return [e for e in found if live(e)]

    def _primary(
        self, user: User, uuid: str, base_uri: str | None, *, load_blobs: LoadBlobs = True, uri: str | None = None
    ) -> Dataset:
        return self._entries(user, uuid, base_uri, load_blobs=load_blobs, uri=uri)[0]

    @staticmethod
    def _view(entries: list[Dataset]) -> JSONObject:
        """The caller's record of a uuid: the first entry's content and version, with the
        replicas of every entry given (all of which the caller may see)."""
        primary = entries[0]
        return primary.detail_dict(tuple(r for e in entries for r in e.replicas))

    def get_dataset(self, user: User, uuid: str, base_uri: str | None = None) -> JSONObject:
        # the record shows annotations but no readme or manifest: a large readme or manifest
        # (in the blob store) is not read for it
        entries = self._entries(user, uuid, base_uri, load_blobs=ANNOTATIONS)
        view = self._view(entries)
        # the archives of the entries shown, kept on the entries themselves: no second read
        history = sorted(
            (summary for e in entries for summary in e.archival.values()),
            key=lambda a: (a.get("requested_at") or 0, a.get("id") or ""),
            reverse=True,
        )[:MAX_ARCHIVES_SHOWN]
        view["archival"] = {"status": history[0]["status"] if history else None, "history": history}
        return view

    def get_readme(self, user: User, uuid: str, base_uri: str | None = None, uri: str | None = None) -> str | BlobLink:
        dataset = self._primary(user, uuid, base_uri, load_blobs=False, uri=uri)
        link = self._large_part(dataset, "readme")
        if link is not None:
            return link
        if "readme" in dataset.blob_refs:
            dataset = self._reload(user, dataset, "readme")
        return dataset.content.readme

    def get_manifest(
        self, user: User, uuid: str, base_uri: str | None = None, uri: str | None = None
    ) -> JSONObject | BlobLink:
        dataset = self._primary(user, uuid, base_uri, load_blobs=False, uri=uri)
        link = self._large_part(dataset, "manifest")
        if link is not None:
            return link
        if "manifest" in dataset.blob_refs:
            dataset = self._reload(user, dataset, "manifest")
        return dataset.content.manifest.to_dict()

    def _reload(self, user: User, entry: Dataset, part: str) -> Dataset:
        """``entry`` read again with its blob ``part`` (authorized like the first read)."""
        return self._primary(user, entry.uuid, entry.base_uri, load_blobs=(part,))

    def _large_part(self, dataset: Dataset, part: str) -> BlobLink | None:
        """Parts too large for one API response are served as a short-lived link to the blob."""
        ref = dataset.blob_refs.get(part)
        if ref is None or self._blobs is None:
            return None
        size = self._blobs.size(ref)
        if size <= LARGE_RESPONSE_BYTES:
            return None
        return BlobLink(url=self._blobs.link(ref), size=size)

    def get_annotations(self, user: User, uuid: str, base_uri: str | None = None, uri: str | None = None) -> JSONObject:
        return dict(self._primary(user, uuid, base_uri, load_blobs=ANNOTATIONS, uri=uri).content.annotations)

    def get_tags(self, user: User, uuid: str, base_uri: str | None = None, uri: str | None = None) -> list[str]:
        return list(self._primary(user, uuid, base_uri, load_blobs=False, uri=uri).content.tags)

    def entry_at(self, user: User, uuid: str, uri: str) -> Dataset:
        """The live entry of ``uuid`` holding the replica ``uri``, if the caller may see it
        (NotFound otherwise); without its large parts."""
        return self._primary(user, uuid, None, load_blobs=False, uri=uri)

    # -- changing entries -------------------------------------------------------
    def patch_dataset(
        self, user: User, uuid: str, patch: DatasetPatch | Callable[[], DatasetPatch], base_uri: str | None = None
    ) -> JSONObject:
        """Edit the entry the caller's record shows (the first visible one, or the one under
        ``base_uri``); ``patch.version`` is that entry's version. A callable ``patch`` (the
        request body's parser) is called only once the user is known to may edit. The
        annotations after the edit must conform to the schemas the entry and its project
        declare (InvalidDocument, nothing written), whichever part the edit changes."""
        entries = self._entries(user, uuid, base_uri)
        dataset = entries[0]
        if not perm.may_edit(user, dataset):
            raise Forbidden(
                f"editing needs register permission on {dataset.base_uri}; "
                "pass ?base_uri= to edit the entry under a base URI you may register"
            )
        if callable(patch):
            patch = patch()
        if patch.version != dataset.version:
            raise VersionConflict(
                f"version {patch.version} is not current (current: {dataset.version})", dataset.version
            )
        content = dataset.content
        content = replace(
            content,
            tags=content.tags if patch.tags is None else patch.tags,
            annotations=content.annotations if patch.annotations is None else patch.annotations,
            description=content.description if patch.description is None else patch.description,
        )
        self._require_conforming(content)
        updated = replace(
            dataset,
            content=content,
            version=dataset.version + 1,
            updated_at=self._clock(),
            updated_by=user.username,
            updated_for=user.acting_for,
        )
        try:
            self._repo.save_dataset(updated, dataset.version)
        except VersionConflict as exc:
            raise VersionConflict(str(exc), None) from exc
        return self._view([updated, *entries[1:]])

    def delete_replica(self, user: User, uuid: str, uri: str | None) -> JSONObject:
        entries = self._entries(user, uuid, None)
        if not uri:
            raise ValidationError("give the replica to delete as ?uri=", field="uri")
        dataset = next((e for e in entries if e.replica(uri) is not None), None)
        if dataset is None:
            raise NotFound(f"dataset {uuid} has no replica {uri}")
        if not perm.may_register(user, dataset.base_uri):
            raise Forbidden(f"no register permission on {dataset.base_uri}")
        remaining = tuple(r for r in dataset.replicas if r.uri != uri)
        updated = replace(
            dataset,
            replicas=remaining,
            deleted=not remaining,
            version=dataset.version + 1,
            updated_at=self._clock(),
            updated_by=user.username,
            updated_for=user.acting_for,
        )
        self._repo.save_dataset(updated, dataset.version)
        shown = [updated if e is dataset else e for e in entries if e is not dataset or remaining]
        return {
            "uuid": uuid,
            "deleted_uri": uri,
            "dataset_deleted": not shown,
            "replicas": [r.to_dict() for e in shown for r in e.replicas],
        }

    def add_archive_replica(
        self, actor: User, uuid: str, source_base_uri: str, content_hash: str, uri: str, base_uri: str
    ) -> str:
        """Record an AIP (the archive worker's last step) as a replica in the entry of
        ``uuid`` under the archive base URI ``base_uri``, holding the archived content of
        the source entry: ``added``, ``unchanged``, or ``skipped`` when the source entry is
        gone or its content is no longer the archived version (the AIP then stays visible
        on the archive only). Admins only (the archive worker)."""
        if not perm.is_admin(actor):
            raise Forbidden("admin only")
        for attempt in range(MAX_WRITE_ATTEMPTS):
            source = self._repo.get_dataset(uuid, source_base_uri)
            if source is None or source.deleted or source.status != REGISTERED:
                return "skipped"
            if source.content.content_hash() != content_hash:
                return "skipped"
            existing = self._repo.get_dataset(uuid, base_uri)
            live = existing is not None and not existing.deleted
            if live and existing is not None and existing.replica(uri) is not None:
                return "unchanged"
            now = self._clock()
            replica = Replica(uri=uri, base_uri=base_uri, registered_at=now, registered_by=actor.username)
            if live and existing is not None:
                updated = replace(
                    existing,
                    content=source.content,
                    replicas=(*existing.replicas, replica),
                    version=existing.version + 1,
                    updated_at=now,
                    updated_by=actor.username,
                    updated_for=actor.acting_for,
                )
            else:
                version = existing.version + 1 if existing else 1
                updated = new_entry(actor, source.content, uri, base_uri, version, now)
            try:
                self._repo.save_dataset(updated, existing.version if existing else None)
                return "added"
            except (AlreadyExists, VersionConflict):
                self._sleep(pause_before(attempt))
        raise VersionConflict("the dataset is changing too fast; retry")

    def dataset_log(self, user: User, uuid: str, limit: int, after: str | None, base_uri: str | None = None) -> LogPage:
        """The audit log of the entries of ``uuid`` the caller may register (admins: all,
        removed ones included), merged in time order."""
        scope = perm.entry_scope(user, base_uri)
        entries = self._repo.get_entries(uuid, scope, load_blobs=False)
        admin = perm.is_admin(user)
        known = [e for e in entries if admin or perm.may_see(user, e) or perm.may_register(user, e.base_uri)]
        if not known:
            raise NotFound(f"no dataset {uuid}")
        loggable = [e for e in known if perm.may_read_log(user, e)]
        if not loggable:
            raise Forbidden("the log is readable by admins and by registrars of the dataset's base URIs")
        return read_log(self._repo, [dataset_subject(uuid, e.base_uri) for e in loggable], limit, after)

    # -- search -----------------------------------------------------------------
    def search(self, user: User, query: SearchQuery) -> SearchPage:
        """Run ``query`` over what ``user`` may search: the base URIs it may search and the
        projects it is a member of (whatever ``allowed_base_uris`` and ``allowed_projects``
        it came with); pages are ``query.size`` hits from ``query.offset``. With
        ``query.highlight`` and a text, each item has ``highlights`` (HTML snippets per field)."""
        query = replace(
            query,
            allowed_base_uris=perm.searchable_base_uris(user),
            allowed_projects=perm.searchable_projects(user),
        )
        result = self._search.search(query)
        items = []
        for hit in result.hits:
            # a hit is one entry, under a base URI or of a project the query was limited to
            project = hit.get("project")
            if not all(perm.may_search_entry(user, b, project) for b in hit["base_uris"]):
                continue  # never happens: a backend that ignored the visibility filter
            item = {k: hit[k] for k in _HIT_FIELDS}
            if project is not None:
                item["project"] = project
            item["type"] = "dataset"
            item["kind"] = hit.get("type") or KIND_RECORD  # indexed before kinds were kept
            item["replicas"] = list(hit["replicas"])
            item["base_uri"] = hit["base_uris"][0] if hit["base_uris"] else None
            item["uri"] = hit["replicas"][0]["uri"] if hit["replicas"] else None
            if HIGHLIGHTS in hit:
                item[HIGHLIGHTS] = hit[HIGHLIGHTS]
            items.append(item)
        return SearchPage(
            items=items,
            total=result.total,
            page=query.offset // max(query.size, 1) + 1,
            page_size=query.size,
            next_after=encode_cursor(result.next_after) if result.next_after is not None else None,
        )

    def facets(self, user: User, query: SearchQuery) -> JSONObject:
        """Counts per base URI, creator, tag and project of the entries ``query`` finds for
        ``user`` (see :func:`chalicelib.catalogue.facets.search_facets`)."""
        return search_facets(self._search, user, query)

    def count_under(self, base_uri: str) -> int:
        """Live datasets under ``base_uri`` as the search index knows them (all callers')."""
        return self._search.search(SearchQuery(base_uris=(base_uri,), size=0)).total


_HIT_FIELDS = (
    "uuid",
    "name",
    "creator_username",
    "created_at",
    "frozen_at",
    "tags",
    "description",
    "number_of_items",
    "size_in_bytes",
    "registered_at",
    "updated_at",
    "version",
)
