"""Use cases of access: the principal behind a token, users and base URIs, and who may
search and register where. Admin-only except a user's own record. Framework-free."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.audit import base_uri_subject, user_subject
from chalicelib.catalogue.paging import LogPage, read_log
from chalicelib.catalogue.validation import UserFields
from chalicelib.domain import SYSTEM_ACTOR, BaseUri, JSONObject, User
from chalicelib.errors import AlreadyExists, Conflict, Forbidden, NotFound, ValidationError, VersionConflict
from chalicelib.identity import permissions as perm

SYSTEM = SYSTEM_ACTOR
# the most token subjects kept per user (the newest)
MAX_AUTH_IDS = 20
MAX_CACHED_PRINCIPALS = 10_000  # a container's cache is dropped whole beyond this
MAX_PROJECT_ID_CHARS = 256


class AccessService:
    """``principal_ttl``: how long a container reuses a caller's record (permissions, admin
    right, removal) before reading it again. Changes made through this service apply at once
    in this container; elsewhere (other Lambda containers, the operator CLI) within the TTL."""

    def __init__(
        self,
        repo: Repository,
        clock: Callable[[], float] = time.time,
        *,
        principal_ttl: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
        datasets_under: Callable[[str], int] | None = None,
        kept_base_uris: frozenset[str] = frozenset(),
    ) -> None:
        self._repo = repo
        self._clock = clock
        self._ttl = principal_ttl
        self._monotonic = monotonic
        self._principals: dict[str, tuple[float, User]] = {}
        # how many live datasets a base URI holds (the search index), asked before deleting it
        self._datasets_under = datasets_under
        self._kept_base_uris = kept_base_uris  # the archive's and the deposits': never deleted

    # -- principals -------------------------------------------------------------
    def principal(self, username: str, auth_id: str | None = None) -> User:
        """The catalogue user behind a verified token; unknown users are created with no
        permissions. Read at most once per ``principal_ttl`` seconds per user.

        ``auth_id`` (``<issuer>#<sub>``: the token's subject) is kept in the user's
        ``auth_ids`` the first time it signs in, by ``system`` (so logged)."""
        now = self._monotonic()
        cached = self._principals.get(username)
        if cached is not None and now - cached[0] < self._ttl:
            user = cached[1]
        else:
            user = self._read_principal(username, auth_id)
            self._cache(username, user, now)
        if user.deleted:
            raise Forbidden("this account has been removed from the catalogue")
        if auth_id is not None and auth_id not in user.auth_ids:
            user = self._link(username, auth_id)
            self._cache(username, user, now)
        return user

    def _cache(self, username: str, user: User, now: float) -> None:
        if self._ttl > 0:
            if len(self._principals) >= MAX_CACHED_PRINCIPALS:
                self._principals.clear()
            self._principals[username] = (now, user)

    def _link(self, username: str, auth_id: str) -> User:
        """``username`` with ``auth_id`` among its auth ids (saved by ``system`` unless there)."""
        for _ in range(5):
            user = self._read_principal(username)
            if auth_id in user.auth_ids or user.deleted:
                return user
            linked = replace(
                user,
                auth_ids=(*user.auth_ids, auth_id)[-MAX_AUTH_IDS:],
                version=user.version + 1,
                updated_by=SYSTEM,
                updated_at=self._clock(),
            )
            try:
                self._repo.save_user(linked, user.version)
            except VersionConflict:
                continue
            return linked
        return self._read_principal(username)  # busy record: link on a later sign-in

    def make_admin(self, username: str) -> None:
        """Make ``username`` an admin, creating the user if needed (operator bootstrap, no
        acting admin yet: the log shows ``system``)."""
        for _ in range(5):
            user = self._read_principal(username)
            if user.is_admin and not user.deleted:
                self._forget(username)
                return
            promoted = replace(
                user,
                is_admin=True,
                deleted=False,
                version=user.version + 1,
                updated_by=SYSTEM,
                updated_at=self._clock(),
            )
            try:
                self._repo.save_user(promoted, user.version)
            except VersionConflict:
                continue
            self._forget(username)
            return
        raise VersionConflict(f"could not make {username} an admin: the record keeps changing")

    def forget(self, username: str) -> None:
        """Drop the cached principal of ``username`` (its rights changed elsewhere)."""
        self._forget(username)

    def _forget(self, *usernames: str) -> None:
        for username in usernames:
            self._principals.pop(username, None)

    def _read_principal(self, username: str, auth_id: str | None = None) -> User:
        user = self._repo.get_user(username)
        if user is None:
            now = self._clock()
            user = User(
                username=username,
                created_at=now,
                version=1,
                updated_by=SYSTEM,
                updated_at=now,
                auth_ids=(auth_id,) if auth_id is not None else (),
            )
            try:
                self._repo.save_user(user, None)
            except AlreadyExists:
                user = self._repo.get_user(username)
                assert user is not None
        return user

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

    def user_as_seen(self, viewer: User, username: str) -> User:
        """``username``'s record, for the user themself or an admin (to summarize what they see)."""
        if viewer.username != username:
            self._require_admin(viewer)
        user = self._repo.get_user(username)
        if user is None or user.deleted:
            raise NotFound(f"no user {username}")
        return user

    def put_user(self, admin: User, username: str, is_admin: bool) -> tuple[bool, JSONObject]:
        """Create ``username`` or set its admin right (dserver's PUT /users/{u}); whether it was created."""
        self._require_admin(admin)
        existing = self._repo.get_user(username)
        if existing is None or existing.deleted:
            return True, self.add_user(admin, username, UserFields(is_admin=is_admin))
        return False, self.patch_user(admin, username, UserFields(is_admin=is_admin), None)

    def add_users(self, admin: User, users: list[tuple[str, UserFields]]) -> tuple[list[str], list[str]]:
        """Add each user that does not exist yet (dtool-lookup-server's bulk registration):
        the usernames added and those skipped because they existed."""
        self._require_admin(admin)
        added: list[str] = []
        skipped: list[str] = []
        for username, fields in users:
            try:
                self.add_user(admin, username, fields)
                added.append(username)
            except AlreadyExists:
                skipped.append(username)
        return added, skipped

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
        self._forget(username)
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
        self._forget(username)
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
            projects=frozenset(),
            version=user.version + 1,
            updated_by=admin.username,
            updated_at=self._clock(),
        )
        self._repo.save_user(tomb, user.version)
        self._forget(username)

    def user_log(self, admin: User, username: str, limit: int, after: str | None) -> LogPage:
        self._require_admin(admin)
        return read_log(self._repo, [user_subject(username)], limit, after)

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

    def ensure_base_uri(self, admin: User, base_uri: str, description: str) -> None:
        """Register ``base_uri`` unless it is (e.g. the archive's, on first use). Admins only."""
        self._require_admin(admin)
        base = self._repo.get_base_uri(base_uri)
        if base is None or base.deleted:
            with contextlib.suppress(AlreadyExists):
                self.add_base_uri(admin, base_uri, description)

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

    def update_base_uri(
        self, admin: User, base_uri: str, *, public: bool | None, description: str | None
    ) -> JSONObject:
        """Publish or withdraw ``base_uri`` (``public``) and/or change its description; a field
        left ``None`` is kept. A change nobody made (same values) writes nothing. A concurrent
        change of the record is a :class:`~chalicelib.errors.VersionConflict` (409)."""
        self._require_admin(admin)
        record = self._repo.get_base_uri(base_uri)
        if record is None or record.deleted:
            raise NotFound(f"no base URI {base_uri}")
        now_public = record.public if public is None else public
        wanted = replace(
            record,
            public=now_public,
            was_public=record.was_public or now_public,
            description=record.description if description is None else description,
        )
        if wanted != record:
            now = self._clock()
            wanted = replace(wanted, version=record.version + 1, updated_by=admin.username, updated_at=now)
            self._repo.save_base_uri(wanted, record.version)
        return self._base_uri_view(wanted, self._repo.list_users())

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

    def put_base_uri(
        self, admin: User, base_uri: str, search_users: frozenset[str], register_users: frozenset[str]
    ) -> tuple[bool, JSONObject]:
        """Create ``base_uri`` if needed and replace its permissions (dserver's PUT
        /base-uris/{b}); whether it was created. Unknown users are refused before anything changes."""
        self._require_admin(admin)
        self._known_users(search_users | register_users, self._repo.list_users())
        record = self._repo.get_base_uri(base_uri)
        created = record is None or record.deleted
        if created:
            with contextlib.suppress(AlreadyExists):  # a concurrent PUT made it: set the permissions
                self.add_base_uri(admin, base_uri, "")
        return created, self.set_permissions(admin, base_uri, search_users, register_users)

    def delete_base_uri(self, admin: User, base_uri: str) -> None:
        """Remove ``base_uri`` and every permission on it. Refused while it holds datasets
        (delete them first: no dataset is hidden by removing its base URI) and for the
        archive's and the deposits' base URIs."""
        self._require_admin(admin)
        record = self._repo.get_base_uri(base_uri)
        if record is None or record.deleted:
            raise NotFound(f"no base URI {base_uri}")
        if base_uri in self._kept_base_uris:
            raise Conflict(f"{base_uri} is the catalogue's own (archive or deposits) and is kept")
        held = self._datasets_under(base_uri) if self._datasets_under is not None else 0
        if held:
            raise Conflict(f"{base_uri} holds {held} dataset(s); delete them before the base URI")
        self.set_permissions(admin, base_uri, frozenset(), frozenset())
        now = self._clock()
        tomb = replace(record, deleted=True, version=record.version + 1, updated_by=admin.username, updated_at=now)
        self._repo.save_base_uri(tomb, record.version)

    @staticmethod
    def _known_users(usernames: frozenset[str], users: list[User]) -> None:
        unknown = sorted(usernames - {u.username for u in users if not u.deleted})
        if unknown:
            raise ValidationError(f"unknown user: {unknown[0]}", field="users")

    def set_permissions(
        self, admin: User, base_uri: str, search_users: frozenset[str], register_users: frozenset[str]
    ) -> JSONObject:
        """Replace who may search and register on ``base_uri`` (atomically over the changed users)."""
        self._require_admin(admin)
        record = self._repo.get_base_uri(base_uri)
        if record is None or record.deleted:
            raise NotFound(f"no base URI {base_uri}")
        users = self._repo.list_users()
        self._known_users(search_users | register_users, users)
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
        self._forget(*(user.username for user, _ in changes))
        return self.get_base_uri(admin, base_uri)

    # -- projects (admin) -------------------------------------------------------
    def set_project_members(self, admin: User, project_id: str, usernames: frozenset[str]) -> None:
        """Make exactly ``usernames`` the members of ``project_id`` (added to their
        ``projects``, removed from everyone else's), atomically over the changed users, as
        :meth:`set_permissions`. Members see the project's registered datasets whatever
        their base URI; membership grants no write. Unknown users are refused before
        anything changes."""
        self._require_admin(admin)
        if (
            not isinstance(project_id, str)
            or not project_id.strip()
            or project_id != project_id.strip()
            or len(project_id) > MAX_PROJECT_ID_CHARS
            or not project_id.isprintable()
        ):
            raise ValidationError("a project id is 1 to 256 printable characters", field="project")
        users = self._repo.list_users()
        self._known_users(frozenset(usernames), users)
        now = self._clock()
        changes: list[tuple[User, int]] = []
        for u in users:
            projects = (u.projects | {project_id}) if u.username in usernames else (u.projects - {project_id})
            if projects != u.projects:
                changed = replace(
                    u, projects=frozenset(projects), version=u.version + 1, updated_by=admin.username, updated_at=now
                )
                changes.append((changed, u.version))
        self._repo.save_users(changes)
        self._forget(*(user.username for user, _ in changes))

    def base_uri_log(self, admin: User, base_uri: str, limit: int, after: str | None) -> LogPage:
        self._require_admin(admin)
        return read_log(self._repo, [base_uri_subject(base_uri)], limit, after)
