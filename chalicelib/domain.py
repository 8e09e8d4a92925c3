"""Domain records of the catalogue: framework-free dataclasses, no AWS, no HTTP.

Timestamps are float seconds since the epoch, as dtool writes them.
"""

from __future__ import annotations

import hashlib
import json
import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

JSONObject = dict[str, Any]
# The catalogue's own actors, as the audit log names them. No identity-provider user may take
# one of these names (validation.parse_username refuses them, so the token verifier does too);
# operators appear as ``cli:<name>`` (":" is outside the username pattern).
SYSTEM_ACTOR = "system"
INGEST_ACTOR = "s3-ingest"
ARCHIVE_ACTOR = "archive-worker"
ANONYMOUS = "anonymous"
RESERVED_USERNAMES = frozenset({SYSTEM_ACTOR, INGEST_ACTOR, ARCHIVE_ACTOR, ANONYMOUS})
OPERATOR_PREFIX = "cli:"

REGISTERED = "registered"
REFUSED = "refused"
INCOMPLETE = "incomplete"

# What an entry is, by the way it reached the catalogue (``DatasetContent.kind``; searched
# and counted as ``type``). Set by the services that register, never by clients.
KIND_DTOOL = "dtool"  # a dtool dataset: its S3 layout, or sent by a dtool client
KIND_FOLDER = "folder"  # a folder with a dataset.json/yaml sidecar (the page's uploads too)
KIND_BAG = "bag"  # a BagIt bag
KIND_FACILITY = "facility"  # a facility data group (myMdC)
KIND_SUBMISSION = "submission"  # a published metadata-submitter folder
KIND_RECORD = "record"  # described through the catalogue's own API (POST /datasets)
KINDS = (KIND_DTOOL, KIND_FOLDER, KIND_BAG, KIND_FACILITY, KIND_SUBMISSION, KIND_RECORD)


@dataclass(frozen=True)
class ManifestItem:
    relpath: str
    size_in_bytes: int
    hash: str
    utc_timestamp: float

    def to_dict(self) -> JSONObject:
        return {
            "relpath": self.relpath,
            "size_in_bytes": self.size_in_bytes,
            "hash": self.hash,
            "utc_timestamp": self.utc_timestamp,
        }


@dataclass(frozen=True)
class Manifest:
    """A dtool manifest: item id -> item, plus the hash function used."""

    hash_function: str = "md5sum_hexdigest"
    dtoolcore_version: str | None = None
    items: Mapping[str, ManifestItem] = field(default_factory=dict)

    def to_dict(self) -> JSONObject:
        out: JSONObject = {
            "hash_function": self.hash_function,
            "items": {k: v.to_dict() for k, v in sorted(self.items.items())},
        }
        if self.dtoolcore_version is not None:
            out["dtoolcore_version"] = self.dtoolcore_version
        return out

    @property
    def total_size(self) -> int:
        return sum(i.size_in_bytes for i in self.items.values())


@dataclass(frozen=True)
class Replica:
    """One place where a dataset is stored."""

    uri: str
    base_uri: str
    registered_at: float
    registered_by: str

    def to_dict(self) -> JSONObject:
        return {
            "uri": self.uri,
            "base_uri": self.base_uri,
            "registered_at": self.registered_at,
            "registered_by": self.registered_by,
        }


@dataclass(frozen=True)
class DatasetContent:
    """What a registration describes: the dataset's own metadata, the same for every replica."""

    uuid: str
    name: str
    creator_username: str
    created_at: float
    frozen_at: float
    readme: str = ""
    manifest: Manifest = field(default_factory=Manifest)
    annotations: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    description: str = ""
    number_of_items: int = 0
    size_in_bytes: int = 0
    # the project (e.g. a facility proposal) the dataset belongs to: its members see the
    # dataset's registered entries whatever their base URI. Set by services, never by clients.
    project: str | None = None
    # what the entry is (one of KINDS; None for entries registered before kinds were kept,
    # searched as "record"). Set by services, never by clients.
    kind: str | None = None

    @property
    def type(self) -> str:
        """The entry's kind as search shows and filters it."""
        return self.kind or KIND_RECORD

    def content_hash(self) -> str:
        """A stable digest of the content; equal content gives an equal digest. ``project``
        and ``kind`` count only when set, so that the digests of datasets without them never
        change."""
        payload: JSONObject = {
            "uuid": self.uuid,
            "name": self.name,
            "creator_username": self.creator_username,
            "created_at": self.created_at,
            "frozen_at": self.frozen_at,
            "readme": self.readme,
            "manifest": self.manifest.to_dict(),
            "annotations": self.annotations,
            "tags": sorted(self.tags),
            "description": self.description,
            "number_of_items": self.number_of_items,
            "size_in_bytes": self.size_in_bytes,
        }
        if self.project is not None:
            payload["project"] = self.project
        if self.kind is not None:
            payload["kind"] = self.kind
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def entry_id(uuid: str, base_uri: str) -> str:
    """The key of one entry: a uuid as registered under one base URI."""
    return f"{uuid}@{base_uri}"


@dataclass(frozen=True)
class Dataset:
    """One **entry**: a dataset uuid as registered under one base URI, with its own content,
    replicas (all under that base URI) and version.

    The same uuid registered under another base URI is another entry: what registrars of
    one base URI write never reaches what readers of another see (a uuid is chosen by whoever
    writes the dataset, so it proves nothing about who owns it).
    """

    content: DatasetContent
    replicas: tuple[Replica, ...]
    version: int
    registered_at: float
    updated_at: float
    updated_by: str
    deleted: bool = False
    # "registered", or for an upload that could not be registered: "refused" (hostile or
    # broken; never indexed) or "incomplete" (still missing files after the retries)
    status: str = REGISTERED
    status_reasons: tuple[str, ...] = ()
    # where large parts live when they are not inline ("readme", "manifest", "annotations"
    # -> blob key); set by the repository, never compared or saved by callers
    blob_refs: Mapping[str, str] = field(default_factory=dict, compare=False)
    # the archives of this entry (archive id -> its summary), written by the archive workflow
    # through Repository.record_archival and read with the entry (one read per lookup);
    # never compared, and never written by save_dataset
    archival: Mapping[str, JSONObject] = field(default_factory=dict, compare=False)
    # the person ``updated_by`` (a service principal) acted for in the last write, when it
    # said (see :attr:`User.acting_for`); the audit log names them beside the actor
    updated_for: str | None = None
    # the base URI this entry belongs to (every replica lies under it; kept on a tombstone)
    base_uri: str = field(kw_only=True)

    @property
    def uuid(self) -> str:
        return self.content.uuid

    @property
    def entry_id(self) -> str:
        return entry_id(self.content.uuid, self.base_uri)

    def replica(self, uri: str) -> Replica | None:
        return next((r for r in self.replicas if r.uri == uri), None)

    def with_replicas(self, replicas: tuple[Replica, ...]) -> Dataset:
        return replace(self, replicas=replicas)

    def summary_dict(self, replicas: tuple[Replica, ...] | None = None) -> JSONObject:
        """The short form (no readme, manifest or annotations); ``replicas`` lists the
        replicas to show (the caller's view may add those of other entries it may see)."""
        shown = self.replicas if replicas is None else replicas
        c = self.content
        out: JSONObject = {
            "uuid": c.uuid,
            "name": c.name,
            "type": "dataset",
            "creator_username": c.creator_username,
            "created_at": c.created_at,
            "frozen_at": c.frozen_at,
            "tags": list(c.tags),
            "description": c.description,
            "number_of_items": c.number_of_items,
            "size_in_bytes": c.size_in_bytes,
            "registered_at": self.registered_at,
            "updated_at": self.updated_at,
            "version": self.version,
            "base_uri": self.base_uri,
            "uri": self.replicas[0].uri if self.replicas else None,
            "replicas": [r.to_dict() for r in shown],
        }
        if c.project is not None:
            out["project"] = c.project
        out["kind"] = c.type
        return out

    def detail_dict(self, replicas: tuple[Replica, ...] | None = None) -> JSONObject:
        out = self.summary_dict(replicas)
        out["annotations"] = dict(self.content.annotations)
        out["updated_by"] = self.updated_by
        if self.updated_for is not None:
            out["updated_for"] = self.updated_for
        out["status"] = self.status
        if self.status_reasons:
            out["status_reasons"] = list(self.status_reasons)
        return out


@dataclass(frozen=True)
class User:
    username: str
    is_admin: bool = False
    display_name: str = ""
    email: str = ""
    orcid: str = ""
    created_at: float = 0.0
    search_base_uris: frozenset[str] = frozenset()
    register_base_uris: frozenset[str] = frozenset()
    version: int = 0
    updated_by: str = "system"
    updated_at: float = 0.0
    deleted: bool = False
    # the ids of the projects the user is a member of (see permissions.may_see)
    projects: frozenset[str] = frozenset()
    # request-scoped, never stored: the person this (service) principal acts for in this
    # request, as its client said (myMdC's X-User-Email); written beside ``updated_by``
    acting_for: str | None = None
    # the profile of the Data Tracker's users (chalicelib.tracker): permission topics (see
    # chalicelib.tracker.topics), affiliation, public contact, home page, and the token
    # subjects (``<issuer>#<sub>``) that have signed in as this user
    topics: frozenset[str] = frozenset()
    affiliation: str = ""
    contact: str = ""
    url: str = ""
    auth_ids: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """The user's stable uuid (the Data Tracker's ``_id``), derived from the username."""
        return user_uuid(self.username)

    def to_dict(self) -> JSONObject:
        return {
            "username": self.username,
            "id": self.id,
            "is_admin": self.is_admin,
            "display_name": self.display_name,
            "email": self.email,
            "orcid": self.orcid,
            "affiliation": self.affiliation,
            "contact": self.contact,
            "url": self.url,
            "auth_ids": list(self.auth_ids),
            "topics": sorted(self.topics),
            "created_at": self.created_at,
            "search_permissions_on_base_uris": sorted(self.search_base_uris),
            "register_permissions_on_base_uris": sorted(self.register_base_uris),
            "projects": sorted(self.projects),
            "version": self.version,
        }


# users' uuids are name-based (RFC 4122 version 5) in this namespace: stable, never stored
USER_UUID_NAMESPACE = uuidlib.UUID("6f0a4c1e-3b7d-5e29-9c41-8d2f7a60b513")


def user_uuid(username: str) -> str:
    return str(uuidlib.uuid5(USER_UUID_NAMESPACE, username))


@dataclass(frozen=True)
class BaseUri:
    base_uri: str
    created_at: float
    version: int = 1
    updated_by: str = "system"
    updated_at: float = 0.0
    description: str = ""
    deleted: bool = False
    # published: its registered entries are listed by OAI-PMH (tombstones included) and their
    # DOIs are findable; otherwise they are hidden from the world. Set by admins only.
    public: bool = False
    # published once (never reset): after a withdrawal OAI-PMH lists its entries as deleted, so
    # that harvesters learn they are gone
    was_public: bool = False

    def to_dict(self) -> JSONObject:
        return {
            "base_uri": self.base_uri,
            "created_at": self.created_at,
            "description": self.description,
            "public": self.public,
            "version": self.version,
        }


@dataclass(frozen=True)
class AuditEntry:
    """One change, as written to the audit log."""

    entry_id: str
    entity_type: str  # dataset | replica | base_uri | user | permission | membership
    entity_id: str
    action: str  # add | edit | delete
    timestamp: float
    actor: str
    value: Any
    subject: str  # the audit stream this belongs to, e.g. "dataset#<uuid>"
    # the person the actor (a service principal) acted for, when its client said
    acting_for: str | None = None

    def to_dict(self) -> JSONObject:
        out: JSONObject = {
            "id": self.entry_id,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "action": self.action,
            "timestamp": self.timestamp,
            "user": self.actor,
            "value": self.value,
        }
        if self.acting_for is not None:
            out["acting_for"] = self.acting_for
        return out
