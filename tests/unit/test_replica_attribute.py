"""The datasets table's replicas attribute reads and writes what pynamodb's
ListAttribute(of=MapAttribute) did (items written before stay readable, and new ones equal)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.adapters.dynamodb.tables import ReplicaListAttribute


class _OldReplicaMap(MapAttribute[str, Any]):
    uri = UnicodeAttribute()
    base_uri = UnicodeAttribute()
    registered_at = NumberAttribute()
    registered_by = UnicodeAttribute()


REPLICAS = [
    {"uri": "s3://a/1", "base_uri": "s3://a", "registered_at": 1700000000.25, "registered_by": "ada"},
    {"uri": "s3://b/1", "base_uri": "s3://b", "registered_at": 17, "registered_by": "bob"},
]


def test_the_same_items_as_before() -> None:
    old = ListAttribute(of=_OldReplicaMap)
    written_before = old.serialize([_OldReplicaMap(**r) for r in REPLICAS])
    new = ReplicaListAttribute()
    assert new.serialize(REPLICAS) == written_before
    assert new.deserialize(written_before) == REPLICAS
    assert new.deserialize(new.serialize([])) == []
