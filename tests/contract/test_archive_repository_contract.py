"""The ArchiveRepository contract, run against the in-memory fake and DynamoDB (moto server)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from chalicelib.adapters.dynamodb.archives import ArchiveRepository, DynamoArchiveRepository
from chalicelib.archive import model
from chalicelib.archive.model import Archive, archive_id_for
from chalicelib.errors import AlreadyExists, VersionConflict
from tests.contract.conftest import dynamodb_on_moto_server
from tests.fakes.archives import InMemoryArchiveRepository


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request: pytest.FixtureRequest) -> Iterator[ArchiveRepository]:
    if request.param == "memory":
        yield InMemoryArchiveRepository()
        return
    yield from _on_moto_server(request.getfixturevalue("moto_server_url"))


def _on_moto_server(url: str) -> Iterator[ArchiveRepository]:
    for _settings in dynamodb_on_moto_server(url):
        yield DynamoArchiveRepository()


def make(n: int, dataset: str = "d-1", at: float = 1000.0) -> Archive:
    return Archive(
        archive_id=archive_id_for(dataset, f"hash-{n}", f"s3://lab/{dataset}"),
        dataset_uuid=dataset,
        content_hash=f"hash-{n}",
        source_uri=f"s3://lab/{dataset}",
        base_uris=("s3://lab",),
        requested_by="ana",
        requested_at=at + n,
        updated_at=at + n,
    )


def test_round_trip_through_every_transition(repo: ArchiveRepository) -> None:
    archive = make(1)
    repo.create(archive)
    assert repo.get(archive.archive_id) == archive
    for step in model.STEPS:
        started = model.step_started(archive, step, 2000.0)
        repo.save(started, archive.version)
        if step == "store":
            failed = model.step_attempt_failed(started, step, 2001.0, "SlowDown: try again")
            repo.save(failed, started.version)
            started = model.step_started(failed, step, 2002.0)
            repo.save(started, failed.version)
        extra = {"aip_uri": "s3://archive/aips/x/", "aip_bytes": 10, "aip_objects": 3} if step == "store" else {}
        archive = model.step_succeeded(started, step, 2003.0, **extra)
        repo.save(archive, started.version)
        assert repo.get(archive.archive_id) == archive
    assert archive.status == model.ARCHIVED
    assert archive.steps["store"].attempts == 2 and archive.steps["validate"].attempts == 1
    checked = model.fixity_checked(archive, 3000.0, ["data/a.csv: sha256 differs"], 3)
    repo.save(checked, archive.version)
    stored = repo.get(archive.archive_id)
    assert stored == checked and stored is not None and stored.status == model.FIXITY_FAILED
    assert stored.to_dict()["fixity"]["mismatches"] == ["data/a.csv: sha256 differs"]


def test_create_twice_and_stale_saves_change_nothing(repo: ArchiveRepository) -> None:
    archive = make(1)
    repo.create(archive)
    with pytest.raises(AlreadyExists):
        repo.create(replace(archive, requested_by="eve"))
    newer = model.step_started(archive, "validate", 2000.0)
    repo.save(newer, 1)
    with pytest.raises(VersionConflict):
        repo.save(model.step_started(archive, "validate", 2001.0), 1)
    with pytest.raises(VersionConflict):
        repo.save(make(9), 1)  # never created
    assert repo.get(archive.archive_id) == newer
    assert repo.get("ar-missing") is None


def test_lists_by_dataset_and_status_newest_first(repo: ArchiveRepository) -> None:
    for n in range(5):
        repo.create(make(n, "d-1"))
    repo.create(make(0, "d-2", at=5000.0))
    first = make(0, "d-1")
    repo.save(model.archive_ended_badly(first, "validate", 3000.0, "no", rejected=True), 1)
    assert [a.content_hash for a in repo.for_dataset("d-1")] == [f"hash-{n}" for n in (4, 3, 2, 1, 0)]
    assert [a.content_hash for a in repo.for_dataset("d-1", limit=2)] == ["hash-4", "hash-3"]
    assert [a.dataset_uuid for a in repo.with_status(model.REQUESTED)] == ["d-2", "d-1", "d-1", "d-1", "d-1"]
    assert [a.archive_id for a in repo.with_status(model.REJECTED)] == [first.archive_id]
    assert repo.for_dataset("nothing") == [] and repo.with_status(model.ARCHIVED) == []
