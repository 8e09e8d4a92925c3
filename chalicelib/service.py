"""Use cases of the catalogue. Authorization is checked here, with the predicates of
:mod:`chalicelib.permissions`, before any adapter is called. Framework-free."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib import permissions as perm
from chalicelib.audit import base_uri_subject, dataset_subject, user_subject
from chalicelib.blobs import BlobStore
from chalicelib.domain import REGISTERED, SYSTEM_ACTOR, AuditEntry, BaseUri, Dataset, JSONObject, Replica, User
from chalicelib.errors import AlreadyExists, CatalogueError, Forbidden, NotFound, ValidationError, VersionConflict
from chalicelib.search import SearchIndex, SearchQuery
from chalicelib.store.archives import ArchiveRepository
from chalicelib.store.repository import MAX_STAMPS_PER_CALL, DatasetStamp, EntryKey, Repository, audit_sort_key
from chalicelib.validation import DatasetPatch, Registration, SearchParams, UserFields

MAX_WRITE_ATTEMPTS = 10
MAX_ARCHIVES_SHOWN = 20  # newest archives of a dataset shown on its record
# API Gateway and Lambda cap a synchronous response at 6 MB: larger parts go by link.
LARGE_RESPONSE_BYTES = 4 * 1024 * 1024
SYSTEM = SYSTEM_ACTOR


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


@dataclass(frozen=True)
class LogPage:
    entries: list[JSONObject]
    next_after: str | None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        raise ValidationError("after is not a cursor this API issued", field="after") from exc
    if not isinstance(raw, list) or len(raw) > 4 or not all(isinstance(v, (str, int, float)) for v in raw):
        raise ValidationError("after is not a cursor this API issued", field="after")
    return raw


class CatalogueService:
    def __init__(
        self,
        repo: Repository,
        search: SearchIndex,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        blobs: BlobStore | None = None,
        archives: ArchiveRepository | None = None,
    ) -> None:
        self._archives = archives
        self._blobs = blobs
        self._repo = repo
        self._search = search
        self._clock = clock
        self._sleep = sleep

    # -- principals -------------------------------------------------------------
    def principal(self, username: str) -> User:
        """The catalogue user behind a verified token; unknown users are created with no permissions."""
        user = self._repo.get_user(username)
        if user is None:
            now = self._clock()
            user = User(username=username, created_at=now, version=1, updated_by=SYSTEM, updated_at=now)
            try:
                self._repo.save_user(user, None)
            except AlreadyExists:
                user = self._repo.get_user(username)
                assert user is not None
        if user.deleted:
            raise Forbidden("this account has been removed from the catalogue")
        return user

    # -- datasets ---------------------------------------------------------------
    def _check_register(self, user: User, base_uri: str) -> None:
        if not perm.may_register(user, base_uri):
            raise Forbidden(f"no register permission on {base_uri}")
        base = self._repo.get_base_uri(base_uri)
        if base is None or base.deleted:
            raise ValidationError(f"base_uri {base_uri} is not registered", field="base_uri")

    def register(self, user: User, reg: Registration, *, attempts: int = MAX_WRITE_ATTEMPTS) -> RegisterResult:
        """Register ``reg`` into its entry; a write that loses a race is merged again with
        the new state, up to ``attempts`` times, then VersionConflict."""
        self._check_register(user, reg.base_uri)
        for attempt in range(attempts):
            try:
                return self._register_once(user, reg)
            except (AlreadyExists, VersionConflict):
                # A concurrent registration won the race: read again and merge, after a
                # jittered pause so that racing writers spread out.
                self._sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
        raise VersionConflict("the dataset is changing too fast; retry")

    def register_many(self, user: User, regs: Sequence[Registration]) -> list[str | CatalogueError]:
        """Register many datasets (bulk index) with the effect of :meth:`register` on each.

        One batch read of stamps tells which registrations change nothing (no write) and
        which create an entry (one conditional write); the others, and any that lose a
        race, go through :meth:`register`. Returns, per registration, its status or the
        domain error :meth:`register` would have raised for it.
        """
        checks: dict[str, CatalogueError | None] = {}
        stamps: dict[EntryKey, DatasetStamp] = {}
        keys = sorted({(r.content.uuid, r.base_uri) for r in regs})
        for i in range(0, len(keys), MAX_STAMPS_PER_CALL):
            stamps.update(self._repo.get_dataset_stamps(keys[i : i + MAX_STAMPS_PER_CALL]))
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
                if first and stamp is not None and _unchanged(stamp, reg):
                    results.append("unchanged")
                elif first and stamp is None:
                    try:
                        self._repo.save_dataset(self._new_dataset(user, reg, 1), None)
                        results.append("created")
                    except AlreadyExists:
                        results.append(self.register(user, reg).status)
                else:
                    results.append(self.register(user, reg).status)
            except CatalogueError as exc:
                results.append(exc)
        return results

    def holds(self, reg: Registration) -> bool:
        """Whether registering ``reg`` would change nothing (one consistent read of a stamp)."""
        key = (reg.content.uuid, reg.base_uri)
        stamp = self._repo.get_dataset_stamps([key]).get(key)
        return stamp is not None and _unchanged(stamp, reg)

    def _new_dataset(self, user: User, reg: Registration, version: int) -> Dataset:
        now = self._clock()
        replica = Replica(uri=reg.uri, base_uri=reg.base_uri, registered_at=now, registered_by=user.username)
        return Dataset(
            content=reg.content,
            replicas=(replica,),
            version=version,
            registered_at=now,
            updated_at=now,
            updated_by=user.username,
            base_uri=reg.base_uri,
        )

    def _register_once(self, user: User, reg: Registration) -> RegisterResult:
        """Register into the entry of (uuid, base URI): entries of the same uuid under other
        base URIs are neither read nor changed, so the answer is the same whether they exist."""
        now = self._clock()
        replica = Replica(uri=reg.uri, base_uri=reg.base_uri, registered_at=now, registered_by=user.username)
        existing = self._repo.get_dataset(reg.content.uuid, reg.base_uri)
        if existing is None or existing.deleted:
            dataset = self._new_dataset(user, reg, existing.version + 1 if existing else 1)
            self._repo.save_dataset(dataset, existing.version if existing else None)
            return RegisterResult(True, "created", dataset.detail_dict())
        content = reg.content
        if not reg.has_description:
            content = replace(content, description=existing.content.description)
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
        replica = Replica(uri=reg.uri, base_uri=reg.base_uri, registered_at=now, registered_by=user.username)
        dataset = Dataset(
            content=reg.content,
            replicas=(replica,),
            version=existing.version + 1 if existing else 1,
            registered_at=now,
            updated_at=now,
            updated_by=user.username,
            status=status,
            status_reasons=reasons,
            base_uri=reg.base_uri,
        )
        self._repo.save_dataset(dataset, existing.version if existing else None)
        return RegisterResult(existing is None, status, dataset.detail_dict())

    # -- reading entries --------------------------------------------------------
    def _entries(self, user: User, uuid: str, base_uri: str | None, *, load_blobs: bool = True) -> list[Dataset]:
        """The entries of ``uuid`` the user may see (only those under ``base_uri`` when
        given), first registered first; NotFound when there is none. Entries under base
        URIs the user has no right on are never read."""
        scope = perm.entry_scope(user, base_uri)
        entries = [e for e in self._repo.get_entries(uuid, scope, load_blobs=load_blobs) if perm.may_see(user, e)]
        if not entries:
            raise NotFound(f"no dataset {uuid}")
        return sorted(entries, key=lambda e: (e.registered_at, e.base_uri))

    def _primary(self, user: User, uuid: str, base_uri: str | None, *, load_blobs: bool = True) -> Dataset:
        return self._entries(user, uuid, base_uri, load_blobs=load_blobs)[0]

    @staticmethod
    def _view(entries: list[Dataset]) -> JSONObject:
        """The caller's record of a uuid: the first entry's content and version, with the
        replicas of every entry given (all of which the caller may see)."""
        primary = entries[0]
        return primary.detail_dict(tuple(r for e in entries for r in e.replicas))

    def get_dataset(self, user: User, uuid: str, base_uri: str | None = None) -> JSONObject:
        entries = self._entries(user, uuid, base_uri)
        view = self._view(entries)
        if self._archives is not None:
            history = [
                a.summary()
                for a in self._archives.for_dataset(uuid, limit=MAX_ARCHIVES_SHOWN)
                if any(b in a.base_uris for b in (e.base_uri for e in entries))
            ]
            view["archival"] = {"status": history[0]["status"] if history else None, "history": history}
        return view

    def get_readme(self, user: User, uuid: str, base_uri: str | None = None) -> str | BlobLink:
        dataset = self._primary(user, uuid, base_uri, load_blobs=False)
        link = self._large_part(dataset, "readme")
        if link is not None:
            return link
        if "readme" in dataset.blob_refs:
            dataset = self._reload(user, dataset)
        return dataset.content.readme

    def get_manifest(self, user: User, uuid: str, base_uri: str | None = None) -> JSONObject | BlobLink:
        dataset = self._primary(user, uuid, base_uri, load_blobs=False)
        link = self._large_part(dataset, "manifest")
        if link is not None:
            return link
        if "manifest" in dataset.blob_refs:
            dataset = self._reload(user, dataset)
        return dataset.content.manifest.to_dict()

    def _reload(self, user: User, entry: Dataset) -> Dataset:
        """``entry`` read again with its blob parts (authorized like the first read)."""
        return self._primary(user, entry.uuid, entry.base_uri)

    def _large_part(self, dataset: Dataset, part: str) -> BlobLink | None:
        """Parts too large for one API response are served as a short-lived link to the blob."""
        ref = dataset.blob_refs.get(part)
        if ref is None or self._blobs is None:
            return None
        size = self._blobs.size(ref)
        if size <= LARGE_RESPONSE_BYTES:
            return None
        return BlobLink(url=self._blobs.link(ref), size=size)

    def get_annotations(self, user: User, uuid: str, base_uri: str | None = None) -> JSONObject:
        return dict(self._primary(user, uuid, base_uri).content.annotations)

    def get_tags(self, user: User, uuid: str, base_uri: str | None = None) -> list[str]:
        return list(self._primary(user, uuid, base_uri, load_blobs=False).content.tags)

    # -- changing entries -------------------------------------------------------
    def patch_dataset(
        self, user: User, uuid: str, patch: DatasetPatch | Callable[[], DatasetPatch], base_uri: str | None = None
    ) -> JSONObject:
        """Edit the entry the caller's record shows (the first visible one, or the one under
        ``base_uri``); ``patch.version`` is that entry's version. A callable ``patch`` (the
        request body's parser) is called only once the user is known to may edit."""
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
        updated = replace(
            dataset, content=content, version=dataset.version + 1, updated_at=self._clock(), updated_by=user.username
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
        on the archive only). The archive base URI is created on first use."""
        self._require_admin(actor)
        base = self._repo.get_base_uri(base_uri)
        if base is None or base.deleted:
            with contextlib.suppress(AlreadyExists):
                self.add_base_uri(actor, base_uri, "Archival packages (AIPs); written by the archive worker only")
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
                )
            else:
                updated = Dataset(
                    content=source.content,
                    replicas=(replica,),
                    version=existing.version + 1 if existing else 1,
                    registered_at=now,
                    updated_at=now,
                    updated_by=actor.username,
                    base_uri=base_uri,
                )
            try:
                self._repo.save_dataset(updated, existing.version if existing else None)
                return "added"
            except (AlreadyExists, VersionConflict):
                self._sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
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
        return self._log([dataset_subject(uuid, e.base_uri) for e in loggable], limit, after)

    def _log(self, subjects: list[str], limit: int, after: str | None) -> LogPage:
        """Entries of ``subjects`` in sort-key order (sort keys are unique across subjects)."""
        start = None
        if after is not None:
            decoded = decode_cursor(after)
            if len(decoded) != 1 or not isinstance(decoded[0], str):
                raise ValidationError("after is not a cursor this API issued", field="after")
            start = decoded[0]
        merged: list[AuditEntry] = []
        more = False
        for subject in subjects:
            entries, next_after = self._repo.list_audit(subject, limit, start)
            merged += entries
            more = more or next_after is not None
        merged.sort(key=audit_sort_key)
        page = merged[:limit]
        more = more or len(merged) > limit
        next_key = audit_sort_key(page[-1]) if more and page else None
        return LogPage([e.to_dict() for e in page], encode_cursor([next_key]) if next_key else None)

    # -- search -----------------------------------------------------------------
    def search(self, user: User, params: SearchParams) -> SearchPage:
        query = SearchQuery(
            text=params.text,
            allowed_base_uris=perm.searchable_base_uris(user),
            base_uris=params.base_uris,
            creators=params.creators,
            tags=params.tags,
            uuids=params.uuids,
            sort=params.sort,
            descending=params.descending,
            offset=(params.page - 1) * params.page_size,
            size=params.page_size,
            after=decode_cursor(params.after) if params.after else None,
        )
        result = self._search.search(query)
        items = []
        for hit in result.hits:
            # a hit is one entry, under a base URI the query was limited to
            if not all(perm.may_search(user, b) for b in hit["base_uris"]):
                continue  # never happens: a backend that ignored the visibility filter
            item = {k: hit[k] for k in _HIT_FIELDS}
            item["type"] = "dataset"
            item["replicas"] = list(hit["replicas"])
            item["base_uri"] = hit["base_uris"][0] if hit["base_uris"] else None
            item["uri"] = hit["replicas"][0]["uri"] if hit["replicas"] else None
            items.append(item)
        return SearchPage(
            items=items,
            total=result.total,
            page=params.page,
            page_size=params.page_size,
            next_after=encode_cursor(result.next_after) if result.next_after is not None else None,
        )

    def summary(self, user: User) -> JSONObject:
        s = self._search.summary(perm.searchable_base_uris(user))
        return {
            "number_of_datasets": s.number_of_datasets,
            "base_uris": sorted(s.datasets_per_base_uri),
            "creator_usernames": sorted(s.datasets_per_creator),
            "tags": sorted(s.datasets_per_tag),
            "datasets_per_base_uri": s.datasets_per_base_uri,
            "datasets_per_creator": s.datasets_per_creator,
            "datasets_per_tag": s.datasets_per_tag,
        }

    # -- users (admin) ----------------------------------------------------------
    def require_admin(self, user: User) -> None:
        self._require_admin(user)

    def _require_admin(self, user: User) -> None:
        if not perm.is_admin(user):
            raise Forbidden("admin only")

    def list_users(self, admin: User) -> list[JSONObject]:
        self._require_admin(admin)
        return [u.to_dict() for u in self._repo.list_users()]

    def get_user(self, admin: User, username: str) -> JSONObject:
        if admin.username != username:
            self._require_admin(admin)
        user = self._repo.get_user(username)
        if user is None or user.deleted:
            raise NotFound(f"no user {username}")
        return user.to_dict()

    def add_user(self, admin: User, username: str, fields: UserFields) -> JSONObject:
        self._require_admin(admin)
        existing = self._repo.get_user(username)
        if existing is not None and not existing.deleted:
            raise AlreadyExists(f"user {username} exists")
        now = self._clock()
        user = User(
            username=username,
            is_admin=bool(fields.is_admin),
            display_name=fields.display_name or "",
            email=fields.email or "",
            orcid=fields.orcid or "",
            created_at=now,
            version=existing.version + 1 if existing else 1,
            updated_by=admin.username,
            updated_at=now,
        )
        self._repo.save_user(user, existing.version if existing else None)
        return user.to_dict()

    def patch_user(self, admin: User, username: str, fields: UserFields, version: int | None) -> JSONObject:
        self._require_admin(admin)
        user = self._repo.get_user(username)
        if user is None or user.deleted:
            raise NotFound(f"no user {username}")
        if version is not None and version != user.version:
            raise VersionConflict(f"version {version} is not current (current: {user.version})", user.version)
        if fields.is_admin is False and username == admin.username:
            raise ValidationError("admins cannot remove their own admin right", field="is_admin")
        updated = replace(
            user,
            is_admin=user.is_admin if fields.is_admin is None else fields.is_admin,
            display_name=user.display_name if fields.display_name is None else fields.display_name,
            email=user.email if fields.email is None else fields.email,
            orcid=user.orcid if fields.orcid is None else fields.orcid,
            version=user.version + 1,
            updated_by=admin.username,
            updated_at=self._clock(),
        )
        self._repo.save_user(updated, user.version)
        return updated.to_dict()

    def delete_user(self, admin: User, username: str) -> None:
        self._require_admin(admin)
        if username == admin.username:
            raise ValidationError("admins cannot delete themselves", field="username")
        user = self._repo.get_user(username)
        if user is None or user.deleted:
            raise NotFound(f"no user {username}")
        tomb = replace(
            user,
            deleted=True,
            is_admin=False,
            search_base_uris=frozenset(),
            register_base_uris=frozenset(),
            version=user.version + 1,
            updated_by=admin.username,
            updated_at=self._clock(),
        )
        self._repo.save_user(tomb, user.version)

    def user_log(self, admin: User, username: str, limit: int, after: str | None) -> LogPage:
        self._require_admin(admin)
        return self._log([user_subject(username)], limit, after)

    # -- base URIs (admin) ------------------------------------------------------
    def add_base_uri(self, admin: User, base_uri: str, description: str) -> JSONObject:
        self._require_admin(admin)
        existing = self._repo.get_base_uri(base_uri)
        if existing is not None and not existing.deleted:
            raise AlreadyExists(f"base URI {base_uri} exists")
        now = self._clock()
        record = BaseUri(
            base_uri=base_uri,
            created_at=now,
            description=description,
            version=existing.version + 1 if existing else 1,
            updated_by=admin.username,
            updated_at=now,
        )
        self._repo.save_base_uri(record, existing.version if existing else None)
        return self._base_uri_view(record, [])

    def list_base_uris(self, admin: User) -> list[JSONObject]:
        self._require_admin(admin)
        users = self._repo.list_users()
        return [self._base_uri_view(b, users) for b in self._repo.list_base_uris()]

    def get_base_uri(self, admin: User, base_uri: str) -> JSONObject:
        self._require_admin(admin)
        record = self._repo.get_base_uri(base_uri)
        if record is None or record.deleted:
            raise NotFound(f"no base URI {base_uri}")
        return self._base_uri_view(record, self._repo.list_users())

    @staticmethod
    def _base_uri_view(record: BaseUri, users: list[User]) -> JSONObject:
        out = record.to_dict()
        out["users_with_search_permissions"] = sorted(
            u.username for u in users if record.base_uri in u.search_base_uris
        )
        out["users_with_register_permissions"] = sorted(
            u.username for u in users if record.base_uri in u.register_base_uris
        )
        return out

    def set_permissions(
        self, admin: User, base_uri: str, search_users: frozenset[str], register_users: frozenset[str]
    ) -> JSONObject:
        """Replace who may search and register on ``base_uri`` (atomically over the changed users)."""
        self._require_admin(admin)
        record = self._repo.get_base_uri(base_uri)
        if record is None or record.deleted:
            raise NotFound(f"no base URI {base_uri}")
        users = self._repo.list_users()
        known = {u.username for u in users}
        unknown = sorted((search_users | register_users) - known)
        if unknown:
            raise ValidationError(f"unknown user: {unknown[0]}", field="users")
        now = self._clock()
        changes: list[tuple[User, int]] = []
        for u in users:
            search = (
                (u.search_base_uris | {base_uri}) if u.username in search_users else u.search_base_uris - {base_uri}
            )
            register = (
                (u.register_base_uris | {base_uri})
                if u.username in register_users
                else u.register_base_uris - {base_uri}
            )
            if search != u.search_base_uris or register != u.register_base_uris:
                changes.append(
                    (
                        replace(
                            u,
                            search_base_uris=frozenset(search),
                            register_base_uris=frozenset(register),
                            version=u.version + 1,
                            updated_by=admin.username,
                            updated_at=now,
                        ),
                        u.version,
                    )
                )
        self._repo.save_users(changes)
        return self.get_base_uri(admin, base_uri)

    def base_uri_log(self, admin: User, base_uri: str, limit: int, after: str | None) -> LogPage:
        self._require_admin(admin)
        return self._log([base_uri_subject(base_uri)], limit, after)


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


def _unchanged(stamp: DatasetStamp, reg: Registration) -> bool:
    """Whether registering ``reg`` over the stored ``stamp`` would change nothing."""
    if stamp.deleted or stamp.status != REGISTERED or reg.uri not in stamp.replicas:
        return False
    content = reg.content if reg.has_description else replace(reg.content, description=stamp.description)
    return content.content_hash() == stamp.content_hash
