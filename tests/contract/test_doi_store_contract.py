"""The DoiStore contract, run against the in-memory fake and DynamoDoiStore (the access table's
``DOI`` partition) on DynamoDB in moto server mode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from chalicelib.adapters.dynamodb import dois
from chalicelib.catalogue.dois import DoiRecord, DoiStore
from chalicelib.errors import AlreadyExists, VersionConflict
from tests.contract.conftest import dynamodb_on_moto_server
from tests.fakes.dois import InMemoryDoiStore

UUID = "1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"
RECORD = DoiRecord(UUID, "s3://lab-data", f"10.5072/{UUID}", "draft", False, 1, 1, "alice", 1_767_000_000.5, "draft")


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[DoiStore]:
    if request.param == "memory":
        yield InMemoryDoiStore()
        return
    for settings in dynamodb_on_moto_server(request.getfixturevalue("moto_server_url")):
        dois.bind(settings)
        yield dois.DynamoDoiStore()


def test_a_record_is_created_once_and_read_back(store: DoiStore) -> None:
    assert store.get(UUID) is None
    store.save(RECORD, None)
    assert store.get(UUID) == RECORD
    with pytest.raises(AlreadyExists):
        store.save(replace(RECORD, doi="10.5072/other"), None)
    assert store.get(UUID) == RECORD


def test_a_change_names_the_version_it_read(store: DoiStore) -> None:
    store.save(RECORD, None)
    published = replace(RECORD, state="findable", published=True, version=2, updated_by="bob", action="publish")
    store.save(published, 1)
    with pytest.raises(VersionConflict):
        store.save(replace(published, version=3, action="hide"), 1)
    assert store.get(UUID) == published


def test_the_records_under_a_base_uri_are_listed(store: DoiStore) -> None:
    other = replace(RECORD, uuid="0b7c4a55-98e1-4f4e-9d0f-3c55e0d3b1aa", base_uri="s3://lab-copies")
    store.save(RECORD, None)
    store.save(other, None)
    assert list(store.under("s3://lab-data")) == [RECORD]
    assert list(store.under("s3://lab-copies")) == [other]
    assert list(store.under("s3://nowhere")) == []
    assert sorted(store.all(), key=lambda r: r.uuid) == sorted([RECORD, other], key=lambda r: r.uuid)
