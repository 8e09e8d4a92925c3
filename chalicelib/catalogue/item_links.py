"""File access decided by the catalogue (``GET /datasets/{uuid}/items/{id}/url``). Framework-free.

Whoever is shown a registered entry (:func:`~chalicelib.identity.permissions.may_fetch_items`:
its base URI's searchers, its project's members, admins) gets a short-lived presigned GET of
one item of its manifest, in one of its replicas in S3. Where the item's bytes are follows from
the entry's kind and the replica's URI, as the ingest reads the layouts
(:mod:`chalicelib.ingest.layouts`, :mod:`chalicelib.ingest.bags`; the archive finds the same
keys, :mod:`chalicelib.archive.sources`):

* ``dtool`` (``s3://<bucket>/<uuid>``, dtool-s3): ``<prefix><uuid>/data/<item id>``, the
  prefix read from ``dtool-<uuid>`` at the bucket's root (none there: no prefix);
* ``folder`` (a sidecar folder ``s3://<bucket>/<folder>``): ``<folder>/<relpath>``;
* ``bag`` (a folder bag ``s3://<bucket>/<bag>``): ``<bag>/<relpath>``, a bag's relpaths
  being ``data/…`` (one without is taken as ``<bag>/data/<relpath>``); a serialized bag
  (``.zip``, ``.tar``…) holds its files inside one object: none of them is linked;
* ``facility``, ``submission``, ``record`` (and entries registered before kinds were kept):
  the catalogue holds their metadata only, never links to files.

A link is made only to an object that exists (one HEAD) and lies in the entry's own base URI,
in no registered base URI nested in it (whose searchers may be others; a dtool URI names no
prefix, so a dtool client's registration could otherwise point into one). Replicas under
``unlinked_base_uris`` (the archive's AIPs, read through its restores) are never linked.

Whatever the reason no link is made (an unknown or invisible uuid, an item not in the manifest,
no replica holding its bytes) the answer is :class:`~chalicelib.errors.NotFound`: a caller who
may not see the dataset learns nothing from it, one who may is told which.

Every link made is logged at INFO under this module's logger (who, which entry, which item,
until when): a download log wherever the deployment keeps INFO records. No audit entry is
written for it.
"""

from __future__ import annotations

import logging
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.object_storage import ObjectStorage, TooLarge
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.catalogue.entries import visible_entries
from chalicelib.domain import KIND_BAG, KIND_DTOOL, KIND_FOLDER, AuditEntry, Dataset, JSONObject, ManifestItem, User
from chalicelib.errors import NotFound
from chalicelib.identity import permissions as perm
from chalicelib.ingest.bags.targets import ARCHIVE_SUFFIXES

log = logging.getLogger(__name__)

# how long a link works (``CATALOGUE_ITEM_LINK_SECONDS`` once the settings name it)
DEFAULT_LINK_SECONDS = 300
MAX_LINK_SECONDS = 3600
DTOOL_PREFIX_BYTES = 4096  # the dtool-<uuid> registration key holds the dataset's key prefix
_MANIFEST = ("manifest",)  # the one large part a link needs


@dataclass(frozen=True)
class ItemPlace:
    """Where an item's bytes are: one object of an S3 bucket."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class NoBytes(Exception):
    """The replica holds no object the catalogue can link to for the item (the reason is the message)."""


def _joined(folder: str, relpath: str) -> str:
    return f"{folder}/{relpath}" if folder else relpath


def item_place(
    kind: str | None, uuid: str, replica_uri: str, item_id: str, relpath: str, dtool_prefix: Callable[[str], str]
) -> ItemPlace:
    """Where the item ``item_id`` (``relpath`` in the manifest) of the dataset ``uuid`` is
    stored in its replica ``replica_uri``, by the layout of the entry's ``kind`` (see the
    module's description). ``dtool_prefix(bucket)`` reads a dtool dataset's key prefix (only
    called for one). :class:`NoBytes` when the replica or the kind holds no linkable object."""
    if not replica_uri.startswith("s3://"):
        raise NoBytes(f"the replica {replica_uri} is not in S3")
    bucket, _, path = replica_uri.removeprefix("s3://").partition("/")
    path = path.rstrip("/")
    if not bucket:
        raise NoBytes(f"the replica {replica_uri} names no bucket")
    if kind == KIND_DTOOL:
        if path != uuid:
            raise NoBytes(f"the replica {replica_uri} is not a dtool dataset in S3 (s3://<bucket>/<uuid>)")
        return ItemPlace(bucket, f"{dtool_prefix(bucket)}{uuid}/data/{item_id}")
    if kind == KIND_FOLDER:
        return ItemPlace(bucket, _joined(path, relpath))
    if kind == KIND_BAG:
        if path.lower().endswith(ARCHIVE_SUFFIXES):
            raise NoBytes(f"the replica {replica_uri} is a serialized bag: its files are inside that one object")
        return ItemPlace(bucket, _joined(path, relpath if relpath.startswith("data/") else f"data/{relpath}"))
    raise NoBytes(f"the dataset is a {kind or 'record'}: the catalogue holds its metadata, not its files")


def holding_base_uri(uri: str, base_uris: Iterable[str]) -> str | None:
    """The longest of ``base_uris`` that ``uri`` lies under (as the ingest files objects)."""
    holders = [b for b in base_uris if uri.startswith(b.rstrip("/") + "/")]
    return max(holders, key=len) if holders else None


class ItemLinks:
    """Presigned links to the files of the datasets a caller may see.

    ``expires``: how long a link works, 1 to :data:`MAX_LINK_SECONDS` seconds;
    ``unlinked_base_uris``: base URIs whose replicas are never linked (the archive's);
    ``download_log``: each link given is also an entry (``item``, ``download``: who, which file,
    until when) in the dataset entry's log, which its registrars read. A link is not a download
    (S3 serves the bytes; S3 server access logs tell those): it says who was let fetch what.
    """

    def __init__(
        self,
        repo: Repository,
        store: ObjectStorage,
        *,
        expires: int = DEFAULT_LINK_SECONDS,
        unlinked_base_uris: frozenset[str] = frozenset(),
        download_log: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= expires <= MAX_LINK_SECONDS:
            raise ValueError(f"a link's lifetime must be 1 to {MAX_LINK_SECONDS} seconds, not {expires}")
        self._repo = repo
        self._store = store
        self._expires = expires
        self._unlinked = unlinked_base_uris
        self._download_log = download_log
        self._clock = clock

    def item_url(self, user: User, uuid: str, item_id: str, base_uri: str | None = None) -> JSONObject:
        """A link to the item ``item_id`` of the dataset ``uuid``: ``{"url", "expires_at" (epoch
        seconds), "item": {"id", "relpath", "size_in_bytes"}, "base_uri"}``.

        Authorize, then look: only the entries the caller is shown are read (those under
        ``base_uri`` when given) and kept when :func:`~chalicelib.identity.permissions.may_fetch_items`
        allows; NotFound when none is (whether the uuid exists or not). Then the first of them
        (first registered first) whose manifest lists the item, in the first of its replicas
        that holds it (in the order they were registered); NotFound, saying why, when none does.
        """
        entries = visible_entries(self._repo, user, uuid, base_uri, load_blobs=_MANIFEST)  # NotFound: none
        shown = [e for e in entries if perm.may_fetch_items(user, e)]
        if not shown:
            raise NotFound(f"no dataset {uuid}")
        listing = [(e, e.content.manifest.items[item_id]) for e in shown if item_id in e.content.manifest.items]
        if not listing:
            raise NotFound(f"dataset {uuid} has no item {item_id}")
        reasons: list[str] = []
        base_uris: list[str] | None = None  # read once, when a place is found
        for entry, item in listing:
            if entry.base_uri in self._unlinked:
                reasons.append(f"{entry.base_uri} holds archival packages, read through the archive's restores")
                continue
            for replica in entry.replicas:
                try:
                    place = item_place(
                        entry.content.kind, uuid, replica.uri, item_id, item.relpath, self._dtool_prefix(uuid)
                    )
                except NoBytes as exc:
                    reasons.append(str(exc))
                    continue
                if base_uris is None:
                    base_uris = [b.base_uri for b in self._repo.list_base_uris()]
                if holding_base_uri(place.uri, base_uris) != entry.base_uri:
                    reasons.append(f"the replica {replica.uri} keeps the file outside {entry.base_uri}")
                    continue
                if self._store.head(place.bucket, place.key) is None:
                    reasons.append(f"the replica {replica.uri} no longer holds the file")
                    continue
                return self._link(user, entry, item_id, item, place)
        raise NotFound(f"item {item_id} of dataset {uuid} cannot be linked: {'; '.join(_unique(reasons))}")

    def _dtool_prefix(self, uuid: str) -> Callable[[str], str]:
        """Reads the key prefix dtool-s3 names in ``dtool-<uuid>`` at a bucket's root (NoBytes
        when that object is no short UTF-8 text: it is not dtool's)."""

        def read(bucket: str) -> str:
            try:
                return (self._store.get_text(bucket, f"dtool-{uuid}", DTOOL_PREFIX_BYTES) or "").strip()
            except (TooLarge, UnicodeDecodeError) as exc:
                raise NoBytes(f"s3://{bucket}/dtool-{uuid} does not name a dtool key prefix") from exc

        return read

    def _link(self, user: User, entry: Dataset, item_id: str, item: ManifestItem, place: ItemPlace) -> JSONObject:
        filename = item.relpath.rsplit("/", 1)[-1]
        now = self._clock()
        expires_at = now + self._expires
        url = self._store.download_link(place.bucket, place.key, self._expires, filename)
        if self._download_log:
            # written before the link is given: a link nobody could log is never handed out
            self._repo.append_audit(
                [
                    AuditEntry(
                        entry_id=f"download:{uuidlib.uuid4().hex}",
                        entity_type="item",
                        entity_id=item_id,
                        action="download",
                        timestamp=now,
                        actor=user.username,
                        value={"relpath": item.relpath, "uri": place.uri, "expires_at": expires_at},
                        subject=dataset_subject(entry.uuid, entry.base_uri),
                        acting_for=user.acting_for,
                    )
                ]
            )
        log.info(
            "item link: %s got %s item %s (%s) until %.0f",
            user.username,
            entry.entry_id,
            item_id,
            place.uri,
            expires_at,
        )
        return {
            "url": url,
            "expires_at": expires_at,
            "item": {"id": item_id, "relpath": item.relpath, "size_in_bytes": item.size_in_bytes},
            "base_uri": entry.base_uri,
        }


def _unique(reasons: list[str]) -> list[str]:
    return list(dict.fromkeys(reasons))
