"""Authorization as pure predicates: no I/O, evaluated by the service before any adapter call.

The unit of permission is the **entry**: a dataset uuid as registered under one base URI
(:class:`chalicelib.domain.Dataset`). Rules (as in dtool-lookup-server, plus admins see
everything):

- search permission on a base URI lets a user see the entries under it (content, replicas,
  archives made from them) and download their files through the catalogue's links;
- register permission on a base URI lets a user register, edit, archive and delete entries
  under it, read their audit log, and see its refused or incomplete uploads;
- membership of a project (e.g. a facility proposal) lets a user see the registered entries
  of that project's datasets, whatever their base URI (content, replicas, search hits,
  summaries, links to their files); it never lets anyone register, edit, archive, delete or
  read a log;
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


def is_member(user: User, project: str | None) -> bool:
    """Whether ``user`` is a member of ``project`` (no project: nobody is)."""
    return project is not None and not user.deleted and project in user.projects


def may_search_entry(user: User, base_uri: str, project: str | None) -> bool:
    """Whether a registered entry under ``base_uri`` of a dataset in ``project`` is shown to
    ``user`` (a search hit, a summary count): search permission or membership."""
    return may_search(user, base_uri) or is_member(user, project)


def may_harvest(user: User, deposit_base_uri: str) -> bool:
    """Harvesting an upstream record deposits a SIP: whoever may deposit may harvest."""
    return may_register(user, deposit_base_uri)


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


def searchable_projects(user: User) -> frozenset[str]:
    """The projects whose entries a search also covers, whatever their base URI (admins see
    everything anyway: none needed)."""
    return frozenset() if is_admin(user) or user.deleted else frozenset(user.projects)


def readable_base_uris(user: User) -> frozenset[str] | None:
    """The base URIs whose entries the user may see in some state; ``None`` means all."""
    return None if is_admin(user) else frozenset(user.search_base_uris | user.register_base_uris)


def entry_scope(user: User, base_uri: str | None) -> frozenset[str] | None:
    """The base URIs whose entries a lookup by ``user`` may read: all it may read (``None``:
    any), or only ``base_uri`` when one is asked for (nothing when it may not read it).

    A member of a project may see entries under any base URI (those of its project's
    datasets), so its lookups read every entry of the uuid (``None``), or the one under
    ``base_uri``; :func:`may_see` then keeps only those it may see."""
    scope = None if searchable_projects(user) else readable_base_uris(user)
    if base_uri is None:
        return scope
    return frozenset({base_uri}) if scope is None or base_uri in scope else frozenset()


def may_see(user: User, entry: Dataset) -> bool:
    """A registered entry is seen by the searchers of its base URI and the members of its
    dataset's project; a refused or incomplete upload by the registrars of its base URI only."""
    if entry.deleted:
        return False
    if entry.status != REGISTERED:
        return may_register(user, entry.base_uri)
    return may_search_entry(user, entry.base_uri, entry.content.project)


def may_fetch_items(user: User, entry: Dataset) -> bool:
    """Links to an entry's files (``GET /datasets/{uuid}/items/{id}/url``): whoever is shown the
    registered entry (:func:`may_search_entry`: its base URI's searchers, its project's
    members); never the files of a deleted entry or of a refused or incomplete upload, not
    even for its registrars."""
    if entry.deleted or entry.status != REGISTERED:
        return False
    return may_search_entry(user, entry.base_uri, entry.content.project)


def may_edit(user: User, entry: Dataset) -> bool:
    """Edits (tags, annotations, description), archiving and replica removal."""
    return not entry.deleted and may_register(user, entry.base_uri)


def may_read_log(user: User, entry: Dataset) -> bool:
    return may_register(user, entry.base_uri)


def may_see_archive(user: User, base_uris: Iterable[str]) -> bool:
    """An archive is seen by whoever may search the base URI of the entry it was made from."""
    return any(may_search(user, b) for b in base_uris)
