"""The rules of an entry (a uuid under one base URI) that the catalogue's use cases share:
which entries a user sees, how an entry is made, and what a registration gives it."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.adapters.dynamodb.repository import DatasetStamp, LoadBlobs, Repository
from chalicelib.catalogue.validation import Registration
from chalicelib.domain import REGISTERED, Dataset, DatasetContent, Replica, User
from chalicelib.errors import NotFound
from chalicelib.identity import permissions as perm

# the one blob part a dataset's record (and its annotations route) needs
ANNOTATIONS = ("annotations",)


def visible_entries(
    repo: Repository, user: User, uuid: str, base_uri: str | None, *, load_blobs: LoadBlobs = True
) -> list[Dataset]:
    """The entries of ``uuid`` the user may see (only those under ``base_uri`` when given),
    first registered first; NotFound when there is none. One read: entries under base URIs
    the user has no right on are never read, unless the user is a member of a project (a
    project's datasets lie under any base URI): then every entry of the uuid is read (one
    Query) and only those :func:`~chalicelib.identity.permissions.may_see` allows are kept."""
    scope = perm.entry_scope(user, base_uri)
    entries = [e for e in repo.get_entries(uuid, scope, load_blobs=load_blobs) if perm.may_see(user, e)]
    if not entries:
        raise NotFound(f"no dataset {uuid}")
    return sorted(entries, key=lambda e: (e.registered_at, e.base_uri))


def new_entry(
    actor: User,
    content: DatasetContent,
    uri: str,
    base_uri: str,
    version: int,
    now: float,
    *,
    status: str = REGISTERED,
    reasons: tuple[str, ...] = (),
) -> Dataset:
    """An entry made (or remade over a tombstone) at ``now`` with ``uri`` as its one replica."""
    replica = Replica(uri=uri, base_uri=base_uri, registered_at=now, registered_by=actor.username)
    return Dataset(
        content=content,
        replicas=(replica,),
        version=version,
        registered_at=now,
        updated_at=now,
        updated_by=actor.username,
        updated_for=actor.acting_for,
        status=status,
        status_reasons=reasons,
        base_uri=base_uri,
    )


def live(entry: Dataset) -> bool:
    """Registered and not deleted: what dtool clients are shown."""
    return not entry.deleted and entry.status == REGISTERED


def merged(reg: Registration, description: str, project: str | None, kind: str | None = None) -> DatasetContent:
    """The content ``reg`` gives an entry whose description, project and kind are these: a
    registration without a description keeps the entry's (edited through the API), and one
    without a project or kind keeps the entry's (services set both; clients name neither)."""
    content = reg.content
    if not reg.has_description:
        content = replace(content, description=description)
    if content.project is None and project is not None:
        content = replace(content, project=project)
    if content.kind is None and kind is not None:
        content = replace(content, kind=kind)
    return content


def unchanged(stamp: DatasetStamp, reg: Registration) -> bool:
    """Whether registering ``reg`` over the stored ``stamp`` would change nothing."""
    if stamp.deleted or stamp.status != REGISTERED or reg.uri not in stamp.replicas:
        return False
    return merged(reg, stamp.description, stamp.project, stamp.kind).content_hash() == stamp.content_hash
