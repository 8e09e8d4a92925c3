"""DynamoDB key schemas read from the pynamodb models, so that CDK and pynamodb cannot disagree.

Each table of :mod:`chalicelib.resources` maps to the model(s) stored in it; keys, attribute
types, global secondary indexes, the stream view type and the TTL attribute all come from the
model (``Meta``, ``Model._get_schema()``, its ``TTLAttribute``), never from a second copy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

from chalicelib import resources
from chalicelib.adapters.dynamodb import tables

_TYPES = {"S": "STRING", "N": "NUMBER", "B": "BINARY"}


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # "S" | "N" | "B"

    @property
    def cdk_type(self) -> str:
        """The member name of ``aws_dynamodb.AttributeType``."""
        return _TYPES[self.type]


@dataclass(frozen=True)
class IndexSpec:
    name: str
    partition_key: Key
    sort_key: Key | None


@dataclass(frozen=True)
class TableSpec:
    construct_id: str
    logical_name: str  # from chalicelib.resources
    models: tuple[type[Model], ...]

    @property
    def _schema(self) -> dict[str, Any]:
        return dict(self.models[0]._get_schema())

    def _key(self, key_type: str, key_schema: list[dict[str, str]], definitions: dict[str, str]) -> Key | None:
        for k in key_schema:
            if k["KeyType"] == key_type:
                return Key(k["AttributeName"], definitions[k["AttributeName"]])
        return None

    def _definitions(self) -> dict[str, str]:
        return {d["AttributeName"]: d["AttributeType"] for d in self._schema["attribute_definitions"]}

    @property
    def partition_key(self) -> Key:
        key = self._key("HASH", self._schema["key_schema"], self._definitions())
        assert key is not None, f"{self.models[0].__name__} has no hash key"
        return key

    @property
    def sort_key(self) -> Key | None:
        return self._key("RANGE", self._schema["key_schema"], self._definitions())

    @property
    def indexes(self) -> tuple[IndexSpec, ...]:
        definitions = self._definitions()
        out = []
        for gsi in self._schema["global_secondary_indexes"]:
            if gsi["projection"]["ProjectionType"] != "ALL":
                raise NotImplementedError(f"index {gsi['index_name']}: only ALL projections are mapped")
            hash_key = self._key("HASH", gsi["key_schema"], definitions)
            assert hash_key is not None
            out.append(IndexSpec(gsi["index_name"], hash_key, self._key("RANGE", gsi["key_schema"], definitions)))
        if self._schema["local_secondary_indexes"]:
            raise NotImplementedError("local secondary indexes are not mapped")
        return tuple(out)

    @property
    def ttl_attribute(self) -> str | None:
        """The model's ``TTLAttribute`` (DynamoDB deletes items some time after it), if any."""
        ttl = self.models[0]._ttl_attribute()
        return None if ttl is None else str(ttl.attr_name)

    @property
    def stream_view_type(self) -> str | None:
        """``NEW_AND_OLD_IMAGES`` for streamed tables (``Meta.stream_view_type``), else None."""
        return getattr(self.models[0].Meta, "stream_view_type", None)


TABLES: tuple[TableSpec, ...] = (
    TableSpec("DatasetsTable", resources.DATASETS_TABLE, (tables.DatasetItem,)),
    TableSpec("AccessTable", resources.ACCESS_TABLE, (tables.UserItem, tables.BaseUriItem)),
    TableSpec("AuditTable", resources.AUDIT_TABLE, (tables.AuditItem,)),
    TableSpec("ArchivesTable", resources.ARCHIVES_TABLE, (tables.ArchiveItem,)),
    TableSpec("SignInAttemptsTable", resources.SIGN_IN_ATTEMPTS_TABLE, (tables.AttemptItem,)),
    TableSpec("FacilityTable", resources.FACILITY_TABLE, (tables.FacilityItem,)),
    TableSpec("SummaryTable", resources.SUMMARY_TABLE, (tables.SummaryItem,)),
)
