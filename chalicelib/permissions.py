"""Authorization as pure predicates: no I/O, evaluated by the service before any adapter call.

Rules (as in dtool-lookup-server, plus admins see everything):
- search permission on a base URI lets a user see the dataset replicas stored under it;
- register permission on a base URI lets a user register and edit replicas there and read
  the audit log of datasets stored there;
- a dataset is visible when at least one of its replicas is; invisible means 404, never 403.
"""

from __future__ import annotations

from chalicelib.domain import REGISTERED, Dataset, Replica, User


def is_admin(user: User) -> bool:
    return user.is_admin and not user.deleted


def may_search(user: User, base_uri: str) -> bool:
    return is_admin(user) or base_uri in user.search_base_uris


def may_register(user: User, base_uri: str) -> bool:
    return is_admin(user) or base_uri in user.register_base_uris


def searchable_base_uris(user: User) -> frozenset[str] | None:
    """The base URIs a search may cover; ``None`` means all (admins)."""
    return None if is_admin(user) else frozenset(user.search_base_uris)


def visible_replicas(user: User, dataset: Dataset) -> tuple[Replica, ...]:
    return tuple(r for r in dataset.replicas if may_search(user, r.base_uri))


def may_see(user: User, dataset: Dataset) -> bool:
    """A refused or incomplete upload is shown to the registrars of its base URIs only."""
    if dataset.deleted:
        return False
    if dataset.status != REGISTERED:
        return any(may_register(user, r.base_uri) for r in dataset.replicas)
    return bool(visible_replicas(user, dataset))


def may_edit(user: User, dataset: Dataset) -> bool:
    """Edits (tags, annotations, description) need register permission on one of its base URIs."""
    return not dataset.deleted and any(may_register(user, r.base_uri) for r in dataset.replicas)


def may_read_log(user: User, dataset: Dataset) -> bool:
    return is_admin(user) or any(may_register(user, r.base_uri) for r in dataset.replicas)


def may_see_archive(user: User, base_uris: tuple[str, ...]) -> bool:
    """An archive is seen by whoever may search one of the base URIs its dataset had."""
    return any(may_search(user, b) for b in base_uris)
