"""The Data Tracker's users: the catalogue's own users (one record per person, in the access
table, audited by its stream), seen through the seed's fields.

A Data Tracker user's ``_id`` is :attr:`User.id` (a uuid derived from the username), ``name`` is
``display_name``, ``contact`` (the seed's ``email_public``) and the rest are the user's own
fields; ``permissions`` are its topics. Users added through ``POST /user/`` are named by their
e-mail address (unique among users). Authorization: :mod:`chalicelib.tracker.permissions`.
"""

from __future__ import annotations

import re
import time
import uuid as uuidlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.domain import User
from chalicelib.errors import AlreadyExists, Conflict, Forbidden, NotFound, ValidationError, VersionConflict
from chalicelib.tracker import permissions as tp

USERNAME_OK = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")
# the seed's field -> the User attribute that holds it
PROFILE = {
    "name": "display_name",
    "email": "email",
    "contact": "contact",
    "affiliation": "affiliation",
    "orcid": "orcid",
    "url": "url",
}


def user_document(user: User, level: str) -> dict[str, Any]:
    """``user`` in the seed's shape: ``"limited"`` (its public fields) or ``"full"``."""
    doc: dict[str, Any] = {
        "_id": user.id,
        "affiliation": user.affiliation,
        "contact": user.contact,
        "name": user.display_name,
        "orcid": user.orcid,
        "url": user.url,
    }
    if level == "full":
        doc.update(
            username=user.username,
            email=user.email,
            auth_ids=list(user.auth_ids),
            permissions=sorted(user.topics),
        )
    return doc


def blank_document() -> dict[str, Any]:
    """What an anonymous caller gets from ``/user/me/``: the keys, empty (as the original)."""
    return {
        "_id": "",
        "affiliation": "",
        "auth_ids": [],
        "contact": "",
        "email": "",
        "name": "",
        "orcid": "",
        "permissions": [],
        "url": "",
    }


def summary(user: User | None, user_id: str) -> dict[str, Any]:
    """How entities embed a user (authors, editors, ...): its public fields; a user that no
    longer exists keeps only its ``_id``."""
    return user_document(user, "limited") if user is not None else {"_id": user_id}


class People:
    def __init__(
        self,
        repo: Repository,
        *,
        forget: Callable[[str], None] = lambda _username: None,
        on_delete: Callable[[User, str], object] = lambda _actor, _username: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._repo = repo
        self._forget = forget  # drops a cached principal after its topics changed
        self._on_delete = on_delete  # revokes a deleted user's API keys
        self._clock = clock

    # -- reads ----------------------------------------------------------------------------
    def live(self) -> list[User]:
        return [u for u in self._repo.list_users() if not u.deleted]

    def by_id(self) -> dict[str, User]:
        return {u.id: u for u in self.live()}

    def require_ids(self, ids: Collection[str], field: str) -> None:
        """ValidationError naming ``field`` when an id is not a live user's."""
        known = self.by_id()
        for i in ids:
            if i not in known:
                raise ValidationError(f"{field}: no user {i}", field=field)

    def find_id(self, user_id: str) -> User | None:
        return self.by_id().get(user_id)

    def me(self, viewer: User) -> dict[str, Any]:
        if not tp.is_signed_in(viewer):
            return blank_document()
        return user_document(viewer, "full")

    def listing(self, viewer: User) -> list[dict[str, Any]]:
        if not tp.may_list_users(viewer):
            raise Forbidden("listing users needs USER_SEARCH")
        level = tp.list_view(viewer)
        return [user_document(u, level) for u in sorted(self.live(), key=lambda u: u.username)]

    def get(self, viewer: User, user_id: str) -> dict[str, Any]:
        target = self._visible(viewer, user_id)
        level = tp.user_view(viewer, target.username)
        return user_document(target, level or "limited")

    def _visible(self, viewer: User, user_id: str) -> User:
        """The user ``user_id``, when ``viewer`` may see them (NotFound otherwise, the same
        answer as for an unknown id)."""
        target = self.find_id(user_id)
        if target is None or tp.user_view(viewer, target.username) is None:
            raise NotFound(f"no user {user_id[:64]}")
        return target

    def managed(self, viewer: User, user_id: str) -> User:
        """The user ``user_id`` for a user manager (Forbidden for anyone else, before any read)."""
        if not tp.may_manage_user(viewer, ""):
            raise Forbidden("managing users needs USER_MANAGEMENT")
        target = self.find_id(user_id)
        if target is None:
            raise NotFound(f"no user {user_id[:64]}")
        return target

    def log_target(self, viewer: User, user_id: str) -> User:
        """The user ``user_id`` whose log ``viewer`` may read: themself, or anyone for a user
        manager (a user gone is still found for a manager, by its log)."""
        if user_id == viewer.id and tp.is_signed_in(viewer):
            return viewer
        if not tp.may_manage_user(viewer, ""):
            raise Forbidden("other users' logs need USER_MANAGEMENT")
        target = next((u for u in self._repo.list_users() if u.id == user_id), None)
        if target is None:
            raise NotFound(f"no user {user_id[:64]}")
        return target

    # -- writes ---------------------------------------------------------------------------
    def require_add(self, viewer: User) -> None:
        if not tp.may_add_user(viewer, sets_topics=False):
            raise Forbidden("adding users needs USER_ADD")

    def add(self, viewer: User, fields: Mapping[str, Any]) -> User:
        """A new user from ``POST /user/`` (fields from :func:`chalicelib.tracker.fields.parse_user`)."""
        if not tp.may_add_user(viewer, sets_topics=bool(fields.get("permissions"))):
            raise Forbidden("adding users needs USER_ADD (and USER_MANAGEMENT to give permissions)")
        email = str(fields["email"])
        self._email_free(email, None)
        username = email.lower() if USERNAME_OK.fullmatch(email) else f"user-{uuidlib.uuid4().hex[:12]}"
        now = self._clock()
        user = User(
            username=username,
            created_at=now,
            version=1,
            updated_by=viewer.username,
            updated_at=now,
            topics=frozenset(fields.get("permissions", ())),
            **{PROFILE[k]: v for k, v in fields.items() if k in PROFILE},
        )
        try:
            self._repo.save_user(user, None)
        except AlreadyExists:
            raise Conflict(f"a user named {username} exists") from None
        return user

    def update(self, viewer: User, target: User, fields: Mapping[str, Any]) -> User:
        """Apply profile ``fields`` (and ``permissions``, which only a user manager may set) to
        ``target``; the caller has authorized the edit itself."""
        if "permissions" in fields and not tp.may_set_topics(viewer):
            raise Forbidden("changing permissions needs USER_MANAGEMENT")
        if "email" in fields:
            self._email_free(str(fields["email"]), target.username)
        for _ in range(5):
            stored = self._repo.get_user(target.username)
            if stored is None or stored.deleted:
                raise NotFound(f"no user {target.id}")
            changes: dict[str, Any] = {PROFILE[k]: v for k, v in fields.items() if k in PROFILE}
            if "permissions" in fields:
                changes["topics"] = frozenset(fields["permissions"])
            if all(getattr(stored, k) == v for k, v in changes.items()):
                return stored  # nothing changed: no write, no log entry
            updated = replace(
                stored, **changes, version=stored.version + 1, updated_by=viewer.username, updated_at=self._clock()
            )
            try:
                self._repo.save_user(updated, stored.version)
            except VersionConflict:
                continue
            self._forget(stored.username)
            return updated
        raise VersionConflict("the user keeps changing; try again")

    def update_me(self, viewer: User, fields: Mapping[str, Any]) -> User:
        if not tp.may_edit_own_profile(viewer):
            raise Forbidden("sign in to change your profile")
        return self.update(viewer, viewer, fields)

    def delete(self, viewer: User, user_id: str) -> None:
        target = self.managed(viewer, user_id)
        if target.username == viewer.username:
            raise ValidationError("user managers cannot delete themselves", field="_id")
        tomb = replace(
            target,
            deleted=True,
            is_admin=False,
            topics=frozenset(),
            search_base_uris=frozenset(),
            register_base_uris=frozenset(),
            projects=frozenset(),
            version=target.version + 1,
            updated_by=viewer.username,
            updated_at=self._clock(),
        )
        self._repo.save_user(tomb, target.version)
        self._forget(target.username)
        self._on_delete(viewer, target.username)

    def _email_free(self, email: str, owner: str | None) -> None:
        taken = any(u.email.lower() == email.lower() and u.username != owner for u in self.live())
        if taken:
            raise Conflict("another user has this e-mail address")
