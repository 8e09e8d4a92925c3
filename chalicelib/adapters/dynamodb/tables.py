"""pynamodb models: the persistence shapes. They never leave :mod:`chalicelib.adapters.dynamodb`.

Seven tables, sized so that no request path scans:

* datasets (stream NEW_AND_OLD_IMAGES): one item per entry, keyed (uuid, base URI); the entry's
  replicas inside the item. Reads are GetItem/BatchGetItem on the caller's base URIs (a Query
  on the uuid for admins and project members); lists and search go to OpenSearch.
* access (stream NEW_AND_OLD_IMAGES): users (pk ``USER``) and base URIs (pk ``BASEURI``), sort
  key = username / base URI. Small, so a Query on one partition lists them; permissions live
  on the user item only (one source of truth; one GetItem authorizes a request).
* archives (no stream): one item per archive; GSIs by dataset and by status (both sorted by
  request time) serve the archive lists and the fixity audit without a scan.
* audit (no stream): entries keyed by subject (e.g. ``dataset#<uuid>``), derived from the three
  streams exactly once (conditional put on a deterministic key).
* sign-in attempts (no stream, TTL on ``expires_at``): one fixed-window counter per item, keyed
  by what it counts and the window (see :mod:`chalicelib.adapters.attempts`); only ever
  touched by UpdateItem on its key.
* facility (stream NEW_AND_OLD_IMAGES: the records' audit log): myMdC's entities as generic
  records keyed (kind, id), plus the items that keep them consistent under the same hash key
  scheme: a claim (kind ``claim:<claim>``, id 0) per unique value a record holds and an id
  counter (kind ``counter:<kind>``, id 0) per kind (the stream consumer ignores both); sparse
  GSIs on the two list keys serve the lists (see :mod:`chalicelib.adapters.dynamodb.facility`).
* summary (no stream): the summary's counters and, per uuid, the ledger of what was counted
  (see :mod:`chalicelib.adapters.dynamodb.summary`); derived from the datasets stream and
  rebuilt from the datasets table, so never backed up.

Table names and endpoint are bound at runtime by :func:`bind`; pynamodb reads ``Meta`` lazily.
"""

from __future__ import annotations

import json
from typing import Any

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import LIST, NUMBER, STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import Settings

ARCHIVES_BY_DATASET = "by-dataset"
ARCHIVES_BY_STATUS = "by-status"
FACILITY_LIST_A = "facility-list-a"
FACILITY_LIST_B = "facility-list-b"
USER_PK = "USER"
BASE_URI_PK = "BASEURI"


class _TableMeta:
    """Connection settings every model shares; ``bind`` sets name, region and host."""

    region = "eu-west-1"
    host: str | None = None
    billing_mode = "PAY_PER_REQUEST"
    connect_timeout_seconds = 3
    read_timeout_seconds = 10
    max_retry_attempts = 3


class _StreamedMeta(_TableMeta):
    stream_view_type = "NEW_AND_OLD_IMAGES"


REPLICA_KEYS = ("uri", "base_uri", "registered_at", "registered_by")


class ReplicaListAttribute(Attribute[list[dict[str, Any]]]):
    """A dataset's replicas: a DynamoDB list of maps ``{uri, base_uri, registered_at,
    registered_by}`` (strings, and a number), read and written as plain dicts.

    The items are what ``ListAttribute(of=MapAttribute)`` wrote; that attribute built a
    ``MapAttribute`` per replica with deep copies (~130 µs each, on every lookup: issue 16)."""

    attr_type = LIST

    def serialize(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "M": {
                    "uri": {STRING: str(r["uri"])},
                    "base_uri": {STRING: str(r["base_uri"])},
                    # as NumberAttribute writes numbers (json.dumps), so items compare equal
                    "registered_at": {NUMBER: json.dumps(r["registered_at"])},
                    "registered_by": {STRING: str(r["registered_by"])},
                }
            }
            for r in value
        ]

    def deserialize(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for element in value:
            m = element["M"]
            out.append(
                {
                    "uri": m["uri"][STRING],
                    "base_uri": m["base_uri"][STRING],
                    "registered_at": json.loads(m["registered_at"][NUMBER]),
                    "registered_by": m["registered_by"][STRING],
                }
            )
        return out


class DatasetItem(Model):
    class Meta(_StreamedMeta):
        table_name = "unbound-datasets"

    uuid = UnicodeAttribute(hash_key=True)
    base_uri = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    creator_username = UnicodeAttribute()
    created_at = NumberAttribute()
    frozen_at = NumberAttribute()
    registered_at = NumberAttribute()
    updated_at = NumberAttribute()
    updated_by = UnicodeAttribute()
    readme = UnicodeAttribute(null=True)
    readme_ref = UnicodeAttribute(null=True)
    manifest = UnicodeAttribute(null=True)  # compact JSON text
    manifest_ref = UnicodeAttribute(null=True)
    annotations = JSONAttribute(null=True)
    annotations_ref = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    description = UnicodeAttribute(null=True)
    number_of_items = NumberAttribute(default=0)
    size_in_bytes = NumberAttribute(default=0)
    replicas = ReplicaListAttribute(default=list)
    version = NumberAttribute()
    content_hash = UnicodeAttribute()
    deleted = BooleanAttribute(default=False)
    status = UnicodeAttribute(null=True)  # absent means "registered"
    status_reasons = ListAttribute(of=UnicodeAttribute, null=True)
    project = UnicodeAttribute(null=True)  # absent: the dataset belongs to no project
    kind = UnicodeAttribute(null=True)  # absent: registered before kinds were kept
    updated_for = UnicodeAttribute(null=True)  # absent: updated_by acted for nobody else
    # archive id -> {"version": n, "summary": JSON text}: the archive workflow's projection,
    # written with UpdateItem by record_archival only (save_dataset never writes it)
    archival = MapAttribute(null=True)  # type: ignore[var-annotated]


class UserItem(Model):
    class Meta(_StreamedMeta):
        table_name = "unbound-access"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    is_admin = BooleanAttribute(default=False)
    display_name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    orcid = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    search = UnicodeSetAttribute(null=True)
    register = UnicodeSetAttribute(null=True)
    projects = UnicodeSetAttribute(null=True)
    version = NumberAttribute()
    updated_by = UnicodeAttribute()
    updated_at = NumberAttribute()
    deleted = BooleanAttribute(default=False)
    # the Data Tracker profile (absent: empty)
    topics = UnicodeSetAttribute(null=True)
    affiliation = UnicodeAttribute(null=True)
    contact = UnicodeAttribute(null=True)
    url = UnicodeAttribute(null=True)
    auth_ids = ListAttribute(of=UnicodeAttribute, null=True)


class BaseUriItem(Model):
    class Meta(_StreamedMeta):
        table_name = "unbound-access"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    created_at = NumberAttribute()
    description = UnicodeAttribute(null=True)
    version = NumberAttribute()
    updated_by = UnicodeAttribute()
    updated_at = NumberAttribute()
    deleted = BooleanAttribute(default=False)
    # absent on items written before base URIs could be published: read as False
    public = BooleanAttribute(null=True)
    was_public = BooleanAttribute(null=True)


class AuditItem(Model):
    class Meta(_TableMeta):
        table_name = "unbound-audit"

    subject = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entry_id = UnicodeAttribute()
    entity_type = UnicodeAttribute()
    entity_id = UnicodeAttribute()
    action = UnicodeAttribute()
    timestamp = NumberAttribute()
    actor = UnicodeAttribute()
    value = JSONAttribute(null=True)
    acting_for = UnicodeAttribute(null=True)


class ArchiveByDataset(GlobalSecondaryIndex["ArchiveItem"]):
    class Meta:
        index_name = ARCHIVES_BY_DATASET
        projection = AllProjection()

    dataset_uuid = UnicodeAttribute(hash_key=True)
    requested_at = NumberAttribute(range_key=True)


class ArchiveByStatus(GlobalSecondaryIndex["ArchiveItem"]):
    class Meta:
        index_name = ARCHIVES_BY_STATUS
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    requested_at = NumberAttribute(range_key=True)


class ArchiveItem(Model):
    """One archive (see :mod:`chalicelib.archive.model`); steps and fixity as JSON."""

    class Meta(_TableMeta):
        table_name = "unbound-archives"

    archive_id = UnicodeAttribute(hash_key=True)
    dataset_uuid = UnicodeAttribute()
    content_hash = UnicodeAttribute()
    source_uri = UnicodeAttribute()
    base_uris = ListAttribute(of=UnicodeAttribute, default=list)
    requested_by = UnicodeAttribute()
    requested_at = NumberAttribute()
    updated_at = NumberAttribute()
    version = NumberAttribute()
    status = UnicodeAttribute()
    steps = JSONAttribute()
    aip_uri = UnicodeAttribute(null=True)
    aip_bytes = NumberAttribute(default=0)
    aip_objects = NumberAttribute(default=0)
    tagmanifest_sha256 = UnicodeAttribute(null=True)
    storage_class = UnicodeAttribute(null=True)
    failed_step = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    retries = NumberAttribute(default=0)
    fixity = JSONAttribute(null=True)
    by_dataset = ArchiveByDataset()
    by_status = ArchiveByStatus()


class AttemptItem(Model):
    """A fixed-window counter of failed sign-ins; DynamoDB deletes it some time after
    ``expires_at`` (TTL deletion is lazy: readers never rely on it, the key names the window)."""

    class Meta(_TableMeta):
        table_name = "unbound-sign-in-attempts"

    key = UnicodeAttribute(hash_key=True)
    attempts = NumberAttribute(default=0)  # not "count": Model.count is a classmethod
    expires_at = TTLAttribute()


class FacilityByListA(GlobalSecondaryIndex["FacilityItem"]):
    class Meta:
        index_name = FACILITY_LIST_A
        projection = AllProjection()

    list_a = UnicodeAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)


class FacilityByListB(GlobalSecondaryIndex["FacilityItem"]):
    class Meta:
        index_name = FACILITY_LIST_B
        projection = AllProjection()

    list_b = UnicodeAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)


class SummaryItem(Model):
    """The summary counters (:mod:`chalicelib.adapters.dynamodb.summary`): ledgers, counters and
    the generations item, each its own partition. Their counters are attributes named at run
    time (``c#<creator>``, ...), read and written through expressions, never through this model."""

    class Meta(_TableMeta):
        table_name = "unbound-summary"

    pk = UnicodeAttribute(hash_key=True)


class FacilityItem(Model):
    """A facility record, a claim or an id counter (one shape, so every attribute but the keys
    may be absent). Records: ``body`` is the fields as JSON text (integers of any size stay
    exact), ``list_a``/``list_b`` are ``"<kind>|<key>"`` (absent: not listed in that slot).
    Claims (kind ``claim:<claim>``, id 0): ``owner_kind``/``owner_id``, the writer's ``token``
    and ``claimed_at``. Counters (kind ``counter:<kind>``, id 0): ``next``."""

    class Meta(_StreamedMeta):
        table_name = "unbound-facility"

    kind = UnicodeAttribute(hash_key=True)
    id = NumberAttribute(range_key=True)
    # records
    uuid = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)
    list_a = UnicodeAttribute(null=True)
    list_b = UnicodeAttribute(null=True)
    claims = ListAttribute(of=UnicodeAttribute, null=True)
    updated_at = NumberAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    acting_for = UnicodeAttribute(null=True)
    # claims
    owner_kind = UnicodeAttribute(null=True)
    owner_id = NumberAttribute(null=True)
    token = UnicodeAttribute(null=True)
    claimed_at = NumberAttribute(null=True)
    # counters
    next_id = NumberAttribute(null=True, attr_name="next")
    by_list_a = FacilityByListA()
    by_list_b = FacilityByListB()


ALL_MODELS: tuple[type[Model], ...] = (
    DatasetItem,
    UserItem,
    BaseUriItem,
    AuditItem,
    ArchiveItem,
    AttemptItem,
    FacilityItem,
    SummaryItem,
)


def bind(settings: Settings) -> None:
    """Point every model at the tables and endpoint named by ``settings``.

    pynamodb caches one connection per model class; dropping it here matters in tests,
    where a connection made outside ``moto.mock_aws`` would otherwise escape the mock.
    """
    names = {
        DatasetItem: settings.datasets_table,
        UserItem: settings.access_table,
        BaseUriItem: settings.access_table,
        AuditItem: settings.audit_table,
        ArchiveItem: settings.archives_table,
        AttemptItem: settings.sign_in_attempts_table,
        FacilityItem: settings.facility_table,
        SummaryItem: settings.summary_table,
    }
    for model, table in names.items():
        model.Meta.table_name = table
        model.Meta.region = settings.region
        model.Meta.host = settings.aws_endpoint_url
        model._connection = None
