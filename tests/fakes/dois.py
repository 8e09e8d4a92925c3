"""An in-memory :class:`~chalicelib.catalogue.dois.DoiStore` (tests only), with the DynamoDB
store's conditions (``tests/unit/test_dois.py`` runs the same checks against both)."""

from __future__ import annotations

from collections.abc import Iterator

from chalicelib.catalogue.dois import DoiRecord, DoiStore
from chalicelib.errors import AlreadyExists, VersionConflict


class InMemoryDoiStore(DoiStore):
    def __init__(self) -> None:
        self.records: dict[str, DoiRecord] = {}
        self.saves: list[DoiRecord] = []

    def get(self, uuid: str) -> DoiRecord | None:
        return self.records.get(uuid)

    def save(self, record: DoiRecord, expected_version: int | None) -> None:
        stored = self.records.get(record.uuid)
        if expected_version is None and stored is not None:
            raise AlreadyExists("the record exists already")
        if expected_version is not None and (stored is None or stored.version != expected_version):
            raise VersionConflict(f"version {expected_version} is no longer current")
        self.records[record.uuid] = record
        self.saves.append(record)

    def under(self, base_uri: str) -> Iterator[DoiRecord]:
        yield from [r for r in self.records.values() if r.base_uri == base_uri]

    def all(self) -> Iterator[DoiRecord]:
        yield from list(self.records.values())
