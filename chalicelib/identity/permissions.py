"""Authorization as pure predicates: no I/O, evaluated by the service before any adapter call.

The unit of permission is the **entry**: a dataset uuid as registered under one base URI
(:class:`chalicelib.domain.Dataset`). Rules (as in dtool-lookup-server, plus admins see
everything):

- search permission on a base URI lets a user see the entries under it (content, replicas,
  archives made from them);
- register permission on a base URI lets a user register, edit, archive and delete entries
  under it, read their audit log, and see its refused or incomplete uploads;
- nothing a user does on one base URI reaches an entry under another, whatever its uuid;
- a uuid is visible when at least one of its entries is; invisible means 404, never 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chalicelib.domain import REGISTERED, Dataset, User


def is_admin(user: User) -> bool:
    return user.is_admin and not user.deleted


def may_search(user: User, base_uri: str) -> bool:
    return is_admin(user) or base_uri in user.search_base_uris


def may_register(user: User, base_uri: str) -> bool:
    return is_admin(user) or base_uri in user.register_base_uris


def may_register_somewhere(user: User) -> bool:
    return is_admin(user) or bool(user.register_base_uris)


@dataclass(frozen=True)
class Gate:
    """A right a route needs whatever its input: checked before the request is read, so a
    caller without it gets the same answer whatever it sends (authorize, then validate)."""

    allows: Callable[[User], bool]
    refusal: str


ADMINS = Gate(is_admin, "admin only")
REGISTRARS = Gate(may_register_somewhere, "registering needs register permission on a base URI")


def searchable_base_uris(user: User) -> frozenset[str] | None:
    """The base URIs a search may cover; ``None`` means all (admins)."""
    return None if is_admin(user) else frozenset(user.search_base_uris)


def readable_base_uris(user: User) -> frozenset[str] | None:
    """The base URIs whose entries the user may see in some state; ``None`` means all."""
    return None if is_admin(user) else frozenset(user.search_base_uris | user.register_base_uris)


def entry_scope(user: User, base_uri: str | None) -> frozenset[str] | None:
    """The base URIs whose entries a lookup by ``user`` may read: all it may read (``None``:
    any), or only ``base_uri`` when one is asked for (nothing when it may not read it)."""
    scope = readable_base_uris(user)
    if base_uri is None:
        return scope
    return frozenset({base_uri}) if scope is None or base_uri in scope else frozenset()


def may_see(user: User, entry: Dataset) -> bool:
    """A refused or incomplete upload is shown to the registrars of its base URI only."""
    if entry.deleted:
        return False
    if entry.status != REGISTERED:
        return may_register(user, entry.base_uri)
    return may_search(user, entry.base_uri)


def may_edit(user: User, entry: Dataset) -> bool:
    """Edits (tags, annotations, description), archiving and replica removal."""
    return not entry.deleted and may_register(user, entry.base_uri)


def may_read_log(user: User, entry: Dataset) -> bool:
    return may_register(user, entry.base_uri)


def may_see_archive(user: User, base_uris: Iterable[str]) -> bool:
    """An archive is seen by whoever may search the base URI of the entry it was made from."""
    return any(may_search(user, b) for b in base_uris)
