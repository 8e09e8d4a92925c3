"""DOI records (:class:`~chalicelib.catalogue.dois.DoiRecord`) in the access table.

One item per dataset uuid under the partition ``DOI`` (sort key: the uuid), beside the users
(``USER``) and base URIs (``BASEURI``): the access table's stream then feeds their audit
entries (:func:`chalicelib.catalogue.dois.doi_changes`) as it does for the others, with no
new table. Listing a base URI's DOIs is a Query on that partition filtered on ``base_uri``
(run when a base URI is published or withdrawn, an administrator's rare act).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.models import Model

from chalicelib.adapters.dynamodb.repository import _conflict
from chalicelib.adapters.dynamodb.tables import _StreamedMeta
from chalicelib.catalogue.dois import DoiRecord, DoiStore
from chalicelib.config import Settings

DOI_PK = "DOI"


class DoiItem(Model):
    class Meta(_StreamedMeta):
        table_name = "unbound-access"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # the dataset's uuid
    base_uri = UnicodeAttribute()
    doi = UnicodeAttribute()
    state = UnicodeAttribute()
    published = BooleanAttribute(default=False)
    metadata_version = NumberAttribute(default=0)
    version = NumberAttribute()
    updated_by = UnicodeAttribute()
    updated_at = NumberAttribute()
    action = UnicodeAttribute()


def bind(settings: Settings) -> None:
    """Point the model at the access table and endpoint ``settings`` name."""
    DoiItem.Meta.table_name = settings.access_table
    DoiItem.Meta.region = settings.region
    DoiItem.Meta.host = settings.aws_endpoint_url
    DoiItem._connection = None


def record_from_item(item: DoiItem) -> DoiRecord:
    return DoiRecord(
        uuid=item.sk,
        base_uri=item.base_uri,
        doi=item.doi,
        state=item.state,
        published=bool(item.published),
        metadata_version=int(item.metadata_version or 0),
        version=int(item.version),
        updated_by=item.updated_by,
        updated_at=float(item.updated_at),
        action=item.action,
    )


def record_from_image(image: Mapping[str, Any]) -> DoiRecord:
    """A record from a stream image of the access table (``pk`` ``DOI``)."""
    return record_from_item(DoiItem.from_raw_data(dict(image)))


class DynamoDoiStore(DoiStore):
    def get(self, uuid: str) -> DoiRecord | None:
        try:
            return record_from_item(DoiItem.get(DOI_PK, uuid, consistent_read=True))
        except DoesNotExist:
            return None

    def save(self, record: DoiRecord, expected_version: int | None) -> None:
        item = DoiItem(
            DOI_PK,
            record.uuid,
            base_uri=record.base_uri,
            doi=record.doi,
            state=record.state,
            published=record.published,
            metadata_version=record.metadata_version,
            version=record.version,
            updated_by=record.updated_by,
            updated_at=record.updated_at,
            action=record.action,
        )
        condition = DoiItem.sk.does_not_exist() if expected_version is None else DoiItem.version == expected_version
        try:
            item.save(condition=condition)
        except PutError as exc:
            raise _conflict(exc, expected_version) from exc

    def under(self, base_uri: str) -> Iterator[DoiRecord]:
        for item in DoiItem.query(DOI_PK, filter_condition=DoiItem.base_uri == base_uri, consistent_read=True):
            yield record_from_item(item)

    def all(self) -> Iterator[DoiRecord]:
        for item in DoiItem.query(DOI_PK, consistent_read=True):
            yield record_from_item(item)
