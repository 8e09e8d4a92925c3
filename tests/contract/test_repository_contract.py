"""The Repository contract (chalicelib.adapters.dynamodb.repository), run against every implementation.

Each test runs twice: ``[memory]`` (InMemoryRepository) and ``[dynamodb]`` (DynamoRepository
over DynamoDB and S3 of the session's moto server, fresh tables per test, with a small
inline cap so READMEs and manifests spill to S3 cheaply). A behaviour pinned here is one
the service and the stream processor may rely on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from chalicelib.adapters.aws import make_client
from chalicelib.adapters.dynamodb.repository import (
    MAX_STAMPS_PER_CALL,
    DatasetStamp,
    DynamoRepository,
    Repository,
    audit_sort_key,
)
from chalicelib.adapters.s3 import S3ObjectStorage
from chalicelib.catalogue.audit import dataset_changes, dataset_subject
from chalicelib.catalogue.blobs import BlobStore
from chalicelib.config import Settings
from chalicelib.domain import AuditEntry, BaseUri, Dataset, DatasetContent, Manifest, ManifestItem, Replica, User
from chalicelib.errors import AlreadyExists, VersionConflict
from tests.contract.conftest import dynamodb_on_moto_server
from tests.fakes.repository import InMemoryRepository

INLINE_CAP = 1024  # bytes; READMEs and manifests above it go to the blob store
BASE_TIME = 1_700_000_000.0
A, B, C = "s3://bucket-a", "s3://bucket-b", "s3://bucket-c"
MAX_PAGES = 200  # bound for every cursor loop

RawItem = Callable[[str], dict[str, Any]]


@dataclass
class Backend:
    name: str
    repo: Repository
    raw_dataset: RawItem | None = None  # the stored DynamoDB item (dynamodb variant only)


@pytest.fixture(params=["memory", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh, empty repository of the implementation under test."""
    if request.param == "memory":
        yield Backend("memory", InMemoryRepository())
        return
    url = request.getfixturevalue("moto_server_url")
    for settings in dynamodb_on_moto_server(url, inline_cap_bytes=INLINE_CAP):
        s3 = make_client("s3", region=settings.region, endpoint_url=url)
        repo = DynamoRepository(BlobStore(S3ObjectStorage(s3), settings.catalogue_bucket), inline_cap_bytes=INLINE_CAP)

        def raw_dataset(uuid: str, settings: Settings = settings) -> dict[str, Any]:
            ddb = make_client("dynamodb", region=settings.region, endpoint_url=url)
            key = {"uuid": {"S": uuid}, "base_uri": {"S": A}}
            out = ddb.get_item(TableName=settings.datasets_table, Key=key, ConsistentRead=True)
            return dict(out["Item"])

        yield Backend("dynamodb", repo, raw_dataset)


@pytest.fixture
def repo(backend: Backend) -> Repository:
    return backend.repo


# -- record builders ---------------------------------------------------------------------


def uid(i: int) -> str:
    """Deterministic uuids whose string order is their number order."""
    return f"{i:08x}-0000-4000-8000-000000000000"


def manifest_of(n: int, relpath: str = "raw/probe_{i:03d}.csv") -> Manifest:
    return Manifest(
        hash_function="md5sum_hexdigest",
        dtoolcore_version="3.18.2",
        items={
            f"{i:040x}": ManifestItem(
                relpath=relpath.format(i=i),
                size_in_bytes=1024 * i + 7,
                hash=f"{i:032x}",
                utc_timestamp=BASE_TIME + i / 3,
            )
            for i in range(n)
        },
    )


def make_dataset(uuid: str, version: int = 1, deleted: bool = False, **content: Any) -> Dataset:
    fields: dict[str, Any] = {
        "uuid": uuid,
        "name": "soil-moisture-2024-plot-07",
        "creator_username": "olssont",
        "created_at": 1_699_990_000.123456,
        "frozen_at": BASE_TIME + 0.5,
        "readme": "---\nproject: Soil moisture\n",
        "manifest": manifest_of(2),
        "annotations": {"instrument": "TDR-100"},
        "tags": ("soil", "field"),
        "description": "TDR probes in plot 7",
        "number_of_items": 2,
        "size_in_bytes": 1031 + 2055,
    }
    fields.update(content)
    return Dataset(
        content=DatasetContent(**fields),
        replicas=(Replica(uri=f"{A}/{uuid}", base_uri=A, registered_at=BASE_TIME + 10, registered_by="olssont"),),
        version=version,
        registered_at=BASE_TIME + 10,
        updated_at=BASE_TIME + 10 + version,
        updated_by="olssont",
        deleted=deleted,
        base_uri=A,
    )


def entry_under(dataset: Dataset, base_uri: str) -> Dataset:
    """``dataset`` as the entry of its uuid under ``base_uri`` (its replica moved there)."""
    uri = f"{base_uri}/{dataset.uuid}"
    replicas = tuple(replace(r, uri=uri, base_uri=base_uri) for r in dataset.replicas)
    return replace(dataset, base_uri=base_uri, replicas=replicas)


def next_version(dataset: Dataset, **content: Any) -> Dataset:
    return replace(
        dataset,
        content=replace(dataset.content, **content),
        version=dataset.version + 1,
        updated_at=dataset.updated_at + 1,
        updated_by="editor",
    )


def tombstone(record: Any) -> Any:
    return replace(record, version=record.version + 1, deleted=True, updated_by="admin")


def make_user(username: str, version: int = 1, **overrides: Any) -> User:
    fields: dict[str, Any] = {
        "username": username,
        "is_admin": False,
        "display_name": f"User {username}",
        "email": f"{username}@example.org",
        "orcid": "0000-0002-1825-0097",
        "created_at": BASE_TIME + 0.25,
        "search_base_uris": frozenset({A}),
        "register_base_uris": frozenset(),
        "version": version,
        "updated_by": "admin",
        "updated_at": BASE_TIME + version,
    }
    fields.update(overrides)
    return User(**fields)


def bump(record: Any, **changes: Any) -> Any:
    return replace(record, version=record.version + 1, updated_at=record.updated_at + 1, **changes)


def make_entry(subject: str, i: int, timestamp: float | None = None, value: Any = None) -> AuditEntry:
    return AuditEntry(
        entry_id=f"e{i:04d}",
        entity_type="dataset",
        entity_id=subject.split("#", 1)[-1],
        action="edit",
        timestamp=BASE_TIME + i if timestamp is None else timestamp,
        actor="olssont",
        value={"i": i} if value is None else value,
        subject=subject,
    )


def read_log(repo: Repository, subject: str, limit: int) -> list[list[AuditEntry]]:
    """Every page of ``subject``'s log, following the cursor until it is None."""
    pages: list[list[AuditEntry]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        entries, after = repo.list_audit(subject, limit, after)
        assert len(entries) <= limit
        if after is not None:
            assert entries, "a cursor must follow at least one entry"
            assert after == audit_sort_key(entries[-1])
        pages.append(entries)
        if after is None:
            return pages
    raise AssertionError(f"the log of {subject} did not end within {MAX_PAGES} pages")


def item_bytes(item: dict[str, Any]) -> int:
    return len(json.dumps(item).encode())


def known_dynamo_bug(backend: Backend, request: pytest.FixtureRequest, raises: type[Exception], reason: str) -> None:
    """Mark the ``[dynamodb]`` variant as a strict expected failure (a bug reported to the lead)."""
    if backend.name == "dynamodb":
        request.applymarker(pytest.mark.xfail(strict=True, raises=raises, reason=reason))


BUG_ITEM_SIZE = (
    "DynamoRepository keeps annotations (and audit values) inside the item; only readme and manifest "
    "spill to the blob store, so a record over DynamoDB's 400 KB item limit fails with a raw "
    "pynamodb PutError (ValidationException 'Item size has exceeded the maximum allowed size')"
)


class TestRepositoryContract:
    # -- datasets: round trips -------------------------------------------------------------
    def test_missing_records_are_none(self, repo: Repository) -> None:
        assert repo.get_dataset(uid(1), A) is None
        assert repo.get_user("nobody") is None
        assert repo.get_base_uri(A) is None
        assert list(repo.iter_datasets()) == []
        assert repo.list_users() == []
        assert repo.list_base_uris() == []
        assert repo.list_audit("dataset#x", 10, None) == ([], None)

    def test_dataset_round_trip_every_field(self, repo: Repository) -> None:
        uuid = uid(1)
        content = DatasetContent(
            uuid=uuid,
            name="Bodenfeuchte-土壌水分-🌱",
            creator_username="Zoë.Ørsted",
            created_at=1_699_990_000.123456789,
            frozen_at=0.1 + 0.2 + BASE_TIME,
            readme='---\ntitle: Ünïcödé 土壌 🌱\nnotes: |\n  tabs\tand "quotes" and \\ backslashes\n',
            manifest=Manifest(
                hash_function="sha256sum_hexdigest",
                dtoolcore_version="3.18.2",
                items={
                    "b" * 40: ManifestItem("raw/ünï/probe 02.csv", 2**40 + 3, "f" * 64, BASE_TIME + 1 / 3),
                    "a" * 40: ManifestItem("raw/probe_01.csv", 0, "0" * 64, 0.0),
                },
            ),
            annotations={
                "instrument": "TDR-100",
                "depth_m": 0.15,
                "tiny": 1.5e-7,
                "count": 3,
                "big": 2**53 + 1,
                "flags": [True, False, None],
                "nested": {"site": {"name": "Rothamsted", "coords": [51.8, -0.36]}, "empty": {}, "list": []},
                "ünï": "土壌 🌱",
            },
            tags=("soil", "field", "ünï", "土壌"),
            description="Probes in plot 7 — “quoted”",
            number_of_items=2,
            size_in_bytes=2**40 + 3,
        )
        dataset = Dataset(
            content=content,
            replicas=(
                Replica(uri=f"{A}/{uuid}", base_uri=A, registered_at=BASE_TIME + 0.001, registered_by="olssont"),
                Replica(uri=f"{A}/копия/{uuid}", base_uri=A, registered_at=BASE_TIME + 86400.25, registered_by="Zoë"),
            ),
            version=7,
            registered_at=BASE_TIME + 0.001,
            updated_at=BASE_TIME + 86400.25,
            updated_by="Zoë",
            base_uri=A,
        )
        repo.save_dataset(dataset, None)
        got = repo.get_dataset(uuid, A)
        assert got == dataset
        assert got is not None
        assert got.content.content_hash() == content.content_hash()
        assert got.replicas == dataset.replicas  # order kept
        assert got.content.tags == content.tags  # order kept
        assert isinstance(got.content.annotations["count"], int)
        assert isinstance(got.content.annotations["depth_m"], float)

    def test_dataset_round_trip_empty_content(self, repo: Repository) -> None:
        dataset = replace(
            make_dataset(uid(1), readme="", manifest=Manifest(), annotations={}, tags=(), description=""),
            replicas=(),
        )
        repo.save_dataset(dataset, None)
        got = repo.get_dataset(uid(1), A)
        assert got == dataset
        assert got is not None
        assert got.content.readme == ""
        assert got.content.manifest == Manifest()
        assert got.content.manifest.dtoolcore_version is None
        assert dict(got.content.annotations) == {}
        assert got.content.tags == ()
        assert got.replicas == ()

    def test_returned_and_saved_records_are_copies(self, repo: Repository) -> None:
        annotations: dict[str, Any] = {"nested": {"a": [1]}}
        dataset = make_dataset(uid(1), annotations=annotations)
        repo.save_dataset(dataset, None)
        annotations["nested"]["a"].append(2)  # the caller changes its own dict after the save
        annotations["new"] = True
        got = repo.get_dataset(uid(1), A)
        assert got is not None
        assert dict(got.content.annotations) == {"nested": {"a": [1]}}
        mutable = got.content.annotations
        assert isinstance(mutable, dict)
        mutable["nested"]["a"].append(3)  # and changes what it read
        mutable["other"] = 1
        again = repo.get_dataset(uid(1), A)
        assert again is not None
        assert dict(again.content.annotations) == {"nested": {"a": [1]}}

    # -- datasets: conditional writes -----------------------------------------------------
    def test_create_twice_is_already_exists_and_changes_nothing(self, repo: Repository) -> None:
        first = make_dataset(uid(1))
        repo.save_dataset(first, None)
        with pytest.raises(AlreadyExists):
            repo.save_dataset(make_dataset(uid(1), name="other", readme="other"), None)
        assert repo.get_dataset(uid(1), A) == first

    def test_stale_version_is_conflict_and_changes_nothing(self, repo: Repository) -> None:
        v1 = make_dataset(uid(1))
        repo.save_dataset(v1, None)
        v2 = next_version(v1, description="second")
        repo.save_dataset(v2, 1)
        assert repo.get_dataset(uid(1), A) == v2
        for expected in (1, 0, 3, 99):
            with pytest.raises(VersionConflict):
                repo.save_dataset(next_version(v2, description=f"stale {expected}"), expected)
        assert repo.get_dataset(uid(1), A) == v2

    def test_update_of_missing_dataset_is_conflict(self, repo: Repository) -> None:
        with pytest.raises(VersionConflict):
            repo.save_dataset(make_dataset(uid(1), version=2), 1)
        assert repo.get_dataset(uid(1), A) is None

    def test_tombstone_then_recreate_with_its_version(self, repo: Repository) -> None:
        v1 = make_dataset(uid(1))
        repo.save_dataset(v1, None)
        dead = tombstone(v1)
        repo.save_dataset(dead, 1)
        assert repo.get_dataset(uid(1), A) == dead  # tombstones are returned; callers treat them as absent
        reborn = make_dataset(uid(1), version=3, name="reborn", readme="new readme")
        with pytest.raises(AlreadyExists):
            repo.save_dataset(reborn, None)  # a tombstone still blocks a plain create
        with pytest.raises(VersionConflict):
            repo.save_dataset(reborn, 1)
        assert repo.get_dataset(uid(1), A) == dead
        repo.save_dataset(reborn, dead.version)
        assert repo.get_dataset(uid(1), A) == reborn

    # -- datasets: large READMEs and manifests ------------------------------------------------
    @pytest.mark.parametrize("size", [INLINE_CAP - 1, INLINE_CAP, INLINE_CAP + 1])
    def test_readme_around_the_inline_cap(self, backend: Backend, size: int) -> None:
        readme = ("é" * (size // 2)) + ("x" * (size % 2))  # multibyte: the cap counts UTF-8 bytes
        assert len(readme.encode()) == size
        dataset = make_dataset(uid(1), readme=readme)
        backend.repo.save_dataset(dataset, None)
        assert backend.repo.get_dataset(uid(1), A) == dataset

    def test_large_readme_and_manifest_round_trip_and_keep_the_item_small(self, backend: Backend) -> None:
        repo = backend.repo
        readme = "---\n" + "".join(f"line {i}: Bodenfeuchte 土壌水分 🌱 ünï\n" for i in range(400))
        manifest = manifest_of(200, relpath="raw/ünï/probe_{i:03d}.csv")
        assert len(readme.encode()) > 10 * INLINE_CAP
        assert len(json.dumps(manifest.to_dict()).encode()) > 10 * INLINE_CAP
        big = make_dataset(uid(1), readme=readme, manifest=manifest, number_of_items=200)
        repo.save_dataset(big, None)
        assert repo.get_dataset(uid(1), A) == big
        assert list(repo.iter_datasets()) == [big]
        if backend.raw_dataset is not None:
            item = backend.raw_dataset(uid(1))
            assert "readme" not in item
            assert "manifest" not in item
            assert item["readme_ref"]["S"]
            assert item["manifest_ref"]["S"]
            assert item_bytes(item) < 2 * INLINE_CAP

        # Shrinking back under the cap stores the text inline again; growing again spills again.
        small = next_version(big, readme="short", manifest=manifest_of(1))
        repo.save_dataset(small, big.version)
        assert repo.get_dataset(uid(1), A) == small
        if backend.raw_dataset is not None:
            item = backend.raw_dataset(uid(1))
            assert item["readme"] == {"S": "short"}
            assert "readme_ref" not in item
            assert "manifest_ref" not in item
        regrown = next_version(small, readme=readme + "more\n")
        repo.save_dataset(regrown, small.version)
        assert repo.get_dataset(uid(1), A) == regrown

    def test_stale_save_of_large_readme_changes_nothing(self, repo: Repository) -> None:
        v1 = make_dataset(uid(1), readme="r" * (3 * INLINE_CAP))
        repo.save_dataset(v1, None)
        repo.save_dataset(next_version(v1), 1)
        stale = next_version(v1, readme="s" * (3 * INLINE_CAP), manifest=manifest_of(100))
        with pytest.raises(VersionConflict):
            repo.save_dataset(stale, 1)
        got = repo.get_dataset(uid(1), A)
        assert got is not None
        assert got.version == 2
        assert got.content.readme == "r" * (3 * INLINE_CAP)
        assert got.content.manifest == manifest_of(2)

    def test_large_annotations_round_trip(self, backend: Backend, request: pytest.FixtureRequest) -> None:
        # Validation bounds annotations only by the request body limit (1 MiB by default).
        annotations = {"samples": [{"id": i, "note": f"sample {i} " + "x" * 100} for i in range(4500)]}
        assert len(json.dumps(annotations).encode()) > 450_000
        dataset = make_dataset(uid(1), annotations=annotations)
        backend.repo.save_dataset(dataset, None)
        assert backend.repo.get_dataset(uid(1), A) == dataset

    # -- datasets: iteration ---------------------------------------------------------------
    def test_iter_datasets_yields_everything_including_tombstones(self, repo: Repository) -> None:
        records = {uid(i): make_dataset(uid(i), name=f"ds-{i}") for i in (3, 1, 2, 4)}
        for record in records.values():
            repo.save_dataset(record, None)
        dead = tombstone(records[uid(2)])
        repo.save_dataset(dead, 1)
        records[uid(2)] = dead
        listed = list(repo.iter_datasets())
        assert len(listed) == len(records)
        assert {d.uuid: d for d in listed} == records
        assert [d.deleted for d in listed].count(True) == 1

    # -- datasets: stamps (bulk registration) ------------------------------------------------
    def test_stamps_of_stored_datasets_only(self, backend: Backend) -> None:
        repo = backend.repo
        big = make_dataset(uid(1), readme="x" * 200_000, description="")  # parts in the blob store
        repo.save_dataset(big, None)
        small = make_dataset(uid(2))
        repo.save_dataset(small, None)
        repo.save_dataset(tombstone(small), 1)
        stamps = repo.get_dataset_stamps([(uid(1), A), (uid(2), A), (uid(3), A), (uid(1), A), (uid(1), B)])
        assert set(stamps) == {(uid(1), A), (uid(2), A)}
        assert stamps[(uid(1), A)] == DatasetStamp.of(big)
        assert stamps[(uid(1), A)].content_hash == big.content.content_hash()
        assert stamps[(uid(1), A)].replicas == (f"{A}/{uid(1)}",)
        assert stamps[(uid(2), A)].deleted and stamps[(uid(2), A)].version == 2
        assert repo.get_dataset_stamps([]) == {}

    def test_stamps_of_a_full_batch(self, repo: Repository) -> None:
        for i in range(MAX_STAMPS_PER_CALL):
            repo.save_dataset(make_dataset(uid(i), name=f"ds-{i}"), None)
        keys = [(uid(i), A) for i in range(MAX_STAMPS_PER_CALL + 1)]
        assert len(repo.get_dataset_stamps(keys[:-1])) == MAX_STAMPS_PER_CALL
        with pytest.raises(ValueError):
            repo.get_dataset_stamps(keys)

    # -- datasets: entries of one uuid under several base URIs --------------------------------
    def test_entries_of_one_uuid_are_independent_records(self, repo: Repository) -> None:
        on_a = make_dataset(uid(1), readme="A's readme")
        on_b = entry_under(make_dataset(uid(1), readme="B's readme", name="other"), B)
        repo.save_dataset(on_a, None)
        repo.save_dataset(on_b, None)  # the same uuid: no AlreadyExists, another key
        assert repo.get_dataset(uid(1), A) == on_a and repo.get_dataset(uid(1), B) == on_b
        assert repo.get_dataset(uid(1), C) is None
        # versions are per entry: a write to one never conflicts with the other
        v2 = next_version(on_b, description="edited on B")
        repo.save_dataset(v2, 1)
        with pytest.raises(VersionConflict):
            repo.save_dataset(next_version(on_a), 2)
        assert repo.get_dataset(uid(1), A) == on_a
        assert sorted(d.base_uri for d in repo.iter_datasets()) == [A, B]

    def test_entries_are_read_only_under_the_base_uris_asked_for(self, repo: Repository) -> None:
        entries = {b: entry_under(make_dataset(uid(1), name=b), b) for b in (A, B, C)}
        for entry in entries.values():
            repo.save_dataset(entry, None)
        repo.save_dataset(entry_under(make_dataset(uid(2)), A), None)  # another uuid: never listed
        assert repo.get_entries(uid(1), None) == [entries[A], entries[B], entries[C]]
        assert repo.get_entries(uid(1), {C, A}) == [entries[A], entries[C]]
        assert repo.get_entries(uid(1), frozenset({B, "s3://nowhere"})) == [entries[B]]
        assert repo.get_entries(uid(1), frozenset()) == []
        assert repo.get_entries(uid(3), None) == []
        dead = tombstone(entries[B])
        repo.save_dataset(dead, 1)
        assert repo.get_entries(uid(1), {B}) == [dead]  # tombstones included, as get_dataset
        # more base URIs than one batch read takes: still only those asked for
        many = {f"s3://bucket-{i:03d}" for i in range(MAX_STAMPS_PER_CALL + 5)} | {C}
        assert repo.get_entries(uid(1), many) == [entries[C]]

    def test_entries_without_blobs_leave_large_parts_out(self, backend: Backend) -> None:
        repo = backend.repo
        big = make_dataset(uid(1), readme="r" * (3 * INLINE_CAP))
        repo.save_dataset(big, None)
        [light] = repo.get_entries(uid(1), {A}, load_blobs=False)
        if backend.name == "dynamodb":  # the fake keeps every part inline (it has no blob store)
            assert light.content.readme == "" and "readme" in light.blob_refs
        assert repo.get_entries(uid(1), {A}) == [big]

    # -- users ------------------------------------------------------------------------------
    # -- the archive workflow's projection on entries ---------------------------------------
    def test_archival_is_kept_beside_the_entry(self, repo: Repository) -> None:
        dataset = make_dataset(uid(1))
        repo.save_dataset(dataset, None)
        other = entry_under(dataset, B)
        repo.save_dataset(other, None)
        assert repo.get_dataset(dataset.uuid, A).archival == {}  # type: ignore[union-attr]
        summary = {"id": "ar-1", "status": "requested", "requested_at": BASE_TIME, "aip_uri": None}
        repo.record_archival(dataset.uuid, A, "ar-1", 1, summary)
        stored = repo.get_dataset(dataset.uuid, A)
        assert stored is not None and stored.archival == {"ar-1": summary}
        assert stored.version == 1 and stored == dataset  # content and version untouched
        assert repo.get_dataset(dataset.uuid, B).archival == {}  # type: ignore[union-attr]
        (entry,) = repo.get_entries(dataset.uuid, [A])
        assert entry.archival == {"ar-1": summary}
        assert [e.archival for e in repo.iter_datasets()] == [{"ar-1": summary}, {}]

    def test_archival_keeps_the_newest_version_of_each_archive(self, repo: Repository) -> None:
        dataset = make_dataset(uid(1))
        repo.save_dataset(dataset, None)
        for archive_id, version, status in (("ar-1", 2, "running"), ("ar-2", 1, "requested"), ("ar-1", 1, "requested")):
            repo.record_archival(dataset.uuid, A, archive_id, version, {"id": archive_id, "status": status})
        repo.record_archival(dataset.uuid, A, "ar-2", 1, {"id": "ar-2", "status": "again"})  # same version: ignored
        stored = repo.get_dataset(dataset.uuid, A)
        assert stored is not None
        assert stored.archival == {
            "ar-1": {"id": "ar-1", "status": "running"},
            "ar-2": {"id": "ar-2", "status": "requested"},
        }
        repo.record_archival(dataset.uuid, A, "ar-1", 3, {"id": "ar-1", "status": "archived"})
        assert repo.get_dataset(dataset.uuid, A).archival["ar-1"]["status"] == "archived"  # type: ignore[union-attr]

    def test_archival_survives_later_saves_and_is_never_saved_by_them(self, repo: Repository) -> None:
        dataset = make_dataset(uid(1))
        repo.save_dataset(dataset, None)
        repo.record_archival(dataset.uuid, A, "ar-1", 1, {"id": "ar-1", "status": "archived"})
        stale = repo.get_dataset(dataset.uuid, A)
        assert stale is not None
        repo.record_archival(dataset.uuid, A, "ar-2", 1, {"id": "ar-2", "status": "requested"})
        # a save of a record read before the second archive, carrying some other archival
        repo.save_dataset(replace(next_version(stale, description="edited"), archival={"x": {}}), 1)
        stored = repo.get_dataset(dataset.uuid, A)
        assert stored is not None and stored.version == 2 and stored.content.description == "edited"
        assert set(stored.archival) == {"ar-1", "ar-2"}
        # fields that become empty are removed by the save, archival still stays
        repo.save_dataset(replace(next_version(stored), status_reasons=()), 2)
        assert set(repo.get_dataset(dataset.uuid, A).archival) == {"ar-1", "ar-2"}  # type: ignore[union-attr]

    def test_archival_of_a_missing_entry_is_ignored(self, repo: Repository) -> None:
        repo.record_archival(uid(9), A, "ar-1", 1, {"id": "ar-1"})
        assert repo.get_dataset(uid(9), A) is None
        assert repo.get_entries(uid(9), None) == []

    def test_user_round_trip(self, repo: Repository) -> None:
        user = make_user(
            "Zoë.Ørsted",
            is_admin=True,
            display_name="Zoë Ørsted 土壌",
            created_at=BASE_TIME + 0.123456,
            search_base_uris=frozenset({A, B, "s3://ünï-bucket"}),
            register_base_uris=frozenset({B}),
            version=4,
        )
        repo.save_user(user, None)
        assert repo.get_user("Zoë.Ørsted") == user

    def test_user_empty_fields_and_permission_sets(self, repo: Repository) -> None:
        bare = User(username="bare")
        repo.save_user(bare, None)
        assert repo.get_user("bare") == bare
        granted = make_user("grant", search_base_uris=frozenset({A, B}), register_base_uris=frozenset({A}))
        repo.save_user(granted, None)
        revoked = bump(granted, search_base_uris=frozenset(), register_base_uris=frozenset())
        repo.save_user(revoked, granted.version)
        got = repo.get_user("grant")
        assert got == revoked
        assert got is not None
        assert got.search_base_uris == frozenset()
        assert got.register_base_uris == frozenset()
        regranted = bump(revoked, register_base_uris=frozenset({C}))
        repo.save_user(regranted, revoked.version)
        assert repo.get_user("grant") == regranted

    def test_user_conditional_writes(self, repo: Repository) -> None:
        v1 = make_user("alice")
        repo.save_user(v1, None)
        with pytest.raises(AlreadyExists):
            repo.save_user(make_user("alice", is_admin=True), None)
        assert repo.get_user("alice") == v1
        v2 = bump(v1, email="alice@new.example.org")
        repo.save_user(v2, 1)
        with pytest.raises(VersionConflict):
            repo.save_user(bump(v1, is_admin=True), 1)
        assert repo.get_user("alice") == v2
        with pytest.raises(VersionConflict):
            repo.save_user(make_user("ghost", version=2), 1)
        assert repo.get_user("ghost") is None

    def test_user_tombstone_then_recreate(self, repo: Repository) -> None:
        v1 = make_user("alice", is_admin=True)
        repo.save_user(v1, None)
        dead = tombstone(v1)
        repo.save_user(dead, 1)
        assert repo.get_user("alice") == dead
        again = make_user("alice", version=3)
        with pytest.raises(AlreadyExists):
            repo.save_user(again, None)
        assert repo.get_user("alice") == dead
        repo.save_user(again, dead.version)
        assert repo.get_user("alice") == again

    def test_list_users_sorted_without_tombstones(self, repo: Repository) -> None:
        names = ["mallory", "alice", "Zoë", "bob", "ærø", "carol", "Bob"]
        for name in names:
            repo.save_user(make_user(name), None)
        repo.save_user(tombstone(make_user("mallory")), 1)
        listed = repo.list_users()
        expected = sorted(n for n in names if n != "mallory")
        assert [u.username for u in listed] == expected
        assert listed == [make_user(n) for n in expected]

    def test_save_users_applies_every_change(self, repo: Repository) -> None:
        alice, bob = make_user("alice"), make_user("bob", version=5)
        repo.save_user(alice, None)
        repo.save_user(bob, None)
        new_alice = bump(alice, search_base_uris=frozenset({A, B}))
        new_bob = bump(bob, search_base_uris=frozenset(), register_base_uris=frozenset({C}))
        repo.save_users([(new_alice, 1), (new_bob, 5)])
        assert repo.get_user("alice") == new_alice
        assert repo.get_user("bob") == new_bob
        repo.save_users([])
        assert repo.list_users() == [new_alice, new_bob]

    @pytest.mark.parametrize("failure", ["stale", "missing", "duplicate"])
    def test_save_users_is_all_or_nothing(self, repo: Repository, failure: str) -> None:
        users = [make_user(n, version=2) for n in ("alice", "bob", "carol")]
        for user in users:
            repo.save_user(user, None)
        repo.save_user(bump(users[1]), 2)  # bob moves on to version 3
        before = repo.list_users()
        changes = [(bump(u, search_base_uris=frozenset({C})), 3 if u.username == "bob" else 2) for u in users]
        if failure == "stale":
            changes[2] = (bump(users[2], is_admin=True), 1)
        elif failure == "missing":
            changes.append((make_user("ghost", version=2), 1))
        else:  # one user twice in one batch
            changes.append((bump(users[0], is_admin=True), 2))
        with pytest.raises(ValueError if failure == "duplicate" else VersionConflict):
            repo.save_users(changes)
        assert repo.list_users() == before
        assert repo.get_user("ghost") is None

    def test_save_users_accepts_more_than_100_changes(self, backend: Backend, request: pytest.FixtureRequest) -> None:
        # A permissions PUT on a base URI changes every user whose grants change, in one batch.
        users = [make_user(f"user{i:03d}") for i in range(101)]
        for user in users:
            backend.repo.save_user(user, None)
        changes = [(bump(u, register_base_uris=frozenset({B})), 1) for u in users]
        backend.repo.save_users(changes)
        assert backend.repo.list_users() == [u for u, _ in changes]

    # -- projects and acting persons ---------------------------------------------------------
    def test_a_datasets_project_and_acting_person_round_trip(self, repo: Repository) -> None:
        plain = make_dataset(uid(1))
        repo.save_dataset(plain, None)
        assert repo.get_dataset(uid(1), A) == plain  # absent: None
        got = repo.get_dataset(uid(1), A)
        assert got is not None and got.content.project is None and got.updated_for is None
        in_project = replace(next_version(plain, project="p002012"), updated_for="me@example.org")
        repo.save_dataset(in_project, 1)
        got = repo.get_dataset(uid(1), A)
        assert got == in_project
        assert got is not None and got.content.project == "p002012" and got.updated_for == "me@example.org"
        assert got.content.content_hash() == in_project.content.content_hash() != plain.content.content_hash()
        stamp = repo.get_dataset_stamps([(uid(1), A)])[(uid(1), A)]
        assert stamp == DatasetStamp.of(in_project) and stamp.project == "p002012"
        assert repo.get_entries(uid(1), None) == [in_project]
        # a later write without them removes them
        cleared = replace(next_version(in_project, project=None), updated_for=None)
        repo.save_dataset(cleared, 2)
        assert repo.get_dataset(uid(1), A) == cleared
        assert repo.get_dataset_stamps([(uid(1), A)])[(uid(1), A)].project is None

    def test_a_datasets_kind_round_trips_into_its_stamp(self, repo: Repository) -> None:
        plain = make_dataset(uid(1))
        repo.save_dataset(plain, None)
        assert repo.get_dataset_stamps([(uid(1), A)])[(uid(1), A)].kind is None
        folder = next_version(plain, kind="folder")
        repo.save_dataset(folder, 1)
        got = repo.get_dataset(uid(1), A)
        assert got == folder and got is not None and got.content.kind == "folder" and got.content.type == "folder"
        assert got.content.content_hash() != plain.content.content_hash()
        stamp = repo.get_dataset_stamps([(uid(1), A)])[(uid(1), A)]
        assert stamp == DatasetStamp.of(folder) and stamp.kind == "folder"
        assert got.summary_dict()["kind"] == "folder" and plain.summary_dict()["kind"] == "record"

    def test_a_users_projects_round_trip_and_the_acting_person_is_never_stored(self, repo: Repository) -> None:
        member = make_user("member", projects=frozenset({"p002012", "p900001"}))
        repo.save_user(replace(member, acting_for="me@example.org"), None)
        assert repo.get_user("member") == member  # acting_for is request-scoped
        left = bump(member, projects=frozenset())
        repo.save_users([(left, member.version)])
        got = repo.get_user("member")
        assert got == left and got is not None and got.projects == frozenset()
        assert repo.list_users() == [left]

    def test_an_audit_entrys_acting_person_round_trips(self, repo: Repository) -> None:
        subject = f"dataset#{uid(1)}@{A}"
        plain = make_entry(subject, 1)
        acted = replace(make_entry(subject, 2), acting_for="me@example.org")
        repo.append_audit([plain, acted])
        assert repo.list_audit(subject, 10, None) == ([plain, acted], None)
        assert "acting_for" not in plain.to_dict() and acted.to_dict()["acting_for"] == "me@example.org"

    # -- base URIs --------------------------------------------------------------------------
    def test_base_uri_round_trip(self, repo: Repository) -> None:
        full = BaseUri(
            base_uri="s3://ünï-bucket/sub",
            created_at=BASE_TIME + 0.5,
            version=3,
            updated_by="Zoë",
            updated_at=BASE_TIME + 1.25,
            description="土壌 🌱 data",
        )
        bare = BaseUri(base_uri=A, created_at=BASE_TIME)
        repo.save_base_uri(full, None)
        repo.save_base_uri(bare, None)
        assert repo.get_base_uri(full.base_uri) == full
        assert repo.get_base_uri(A) == bare

    def test_base_uri_conditional_writes_and_tombstones(self, repo: Repository) -> None:
        v1 = BaseUri(base_uri=A, created_at=BASE_TIME, description="first")
        repo.save_base_uri(v1, None)
        with pytest.raises(AlreadyExists):
            repo.save_base_uri(BaseUri(base_uri=A, created_at=BASE_TIME + 5, description="other"), None)
        assert repo.get_base_uri(A) == v1
        v2 = bump(v1, description="second")
        repo.save_base_uri(v2, 1)
        with pytest.raises(VersionConflict):
            repo.save_base_uri(bump(v1, description="stale"), 1)
        assert repo.get_base_uri(A) == v2
        with pytest.raises(VersionConflict):
            repo.save_base_uri(BaseUri(base_uri=B, created_at=BASE_TIME, version=2), 1)
        assert repo.get_base_uri(B) is None
        dead = tombstone(v2)
        repo.save_base_uri(dead, 2)
        assert repo.get_base_uri(A) == dead
        again = BaseUri(base_uri=A, created_at=BASE_TIME + 9, version=4, description="again")
        with pytest.raises(AlreadyExists):
            repo.save_base_uri(again, None)
        repo.save_base_uri(again, dead.version)
        assert repo.get_base_uri(A) == again

    def test_list_base_uris_sorted_without_tombstones(self, repo: Repository) -> None:
        uris = ["s3://zeta", "s3://alpha", "file:///data/x", "s3://Beta", "s3://ünï", "azure://acct/c"]
        for uri in uris:
            repo.save_base_uri(BaseUri(base_uri=uri, created_at=BASE_TIME), None)
        repo.save_base_uri(tombstone(BaseUri(base_uri="s3://alpha", created_at=BASE_TIME)), 1)
        listed = repo.list_base_uris()
        expected = sorted(u for u in uris if u != "s3://alpha")
        assert [b.base_uri for b in listed] == expected
        assert listed == [BaseUri(base_uri=u, created_at=BASE_TIME) for u in expected]

    # -- audit --------------------------------------------------------------------------------
    def test_audit_append_is_idempotent(self, repo: Repository) -> None:
        subject = f"dataset#{uid(1)}"
        first = make_entry(subject, 1)
        repo.append_audit([first, first])
        repo.append_audit([first])
        # A redelivery with the same key keeps the entry written first.
        repo.append_audit([replace(first, value={"changed": True}, actor="other")])
        assert repo.list_audit(subject, 10, None) == ([first], None)

    def test_audit_round_trip_and_order(self, repo: Repository) -> None:
        subject = f"dataset#{uid(1)}"
        values: list[Any] = [
            None,
            {"nested": {"ünï": ["土壌", 1.5, 2, True, None]}, "empty": {}},
            [1, "two", 3.25],
            "just text 🌱",
            0,
        ]
        entries = [make_entry(subject, i, value=values[i % len(values)]) for i in range(12)]
        entries.append(make_entry(subject, 99, timestamp=BASE_TIME + 3))  # tie on timestamp: entry id decides
        entries.append(make_entry(subject, 98, timestamp=BASE_TIME + 0.000001))
        shuffled = entries[5:] + entries[:5][::-1]
        repo.append_audit(shuffled[:7])
        repo.append_audit(shuffled[7:])
        repo.append_audit([make_entry("user#alice", 1), make_entry(f"dataset#{uid(2)}", 1)])
        listed, after = repo.list_audit(subject, 100, None)
        assert after is None
        assert listed == sorted(entries, key=audit_sort_key)
        assert [e.entry_id for e in listed][:5] == ["e0000", "e0098", "e0001", "e0002", "e0003"]
        assert listed[5].entry_id == "e0099"
        assert repo.list_audit("user#alice", 100, None) == ([make_entry("user#alice", 1)], None)

    def test_audit_entries_of_a_large_dataset_can_be_appended(
        self, backend: Backend, request: pytest.FixtureRequest
    ) -> None:
        # The stream processor appends dataset_changes() of every stored dataset; the "add"
        # value carries the full README and manifest. If this fails, the datasets stream
        # batch fails and is retried forever: audit and search stop for that shard.
        repo = backend.repo
        repo.save_dataset(make_dataset(uid(1), readme="x" * 500_000, manifest=manifest_of(50)), None)
        stored = repo.get_dataset(uid(1), A)  # accepted: the README spilled to the blob store
        assert stored is not None
        entries = dataset_changes(None, stored)
        assert entries
        repo.append_audit(entries)
        listed, _ = repo.list_audit(dataset_subject(uid(1), A), 100, None)
        assert listed == sorted(entries, key=audit_sort_key)

    @pytest.mark.parametrize("limit", [1, 4, 5, 19, 20, 21, 100])
    def test_audit_pages_cover_everything_once(self, repo: Repository, limit: int) -> None:
        subject = "base_uri#s3://bucket-a"
        entries = [make_entry(subject, i, timestamp=BASE_TIME + (i * 7) % 20 + i / 1000) for i in range(20)]
        repo.append_audit(entries)
        repo.append_audit([make_entry("base_uri#s3://bucket-b", i) for i in range(3)])
        pages = read_log(repo, subject, limit)
        flat = [e for page in pages for e in page]
        assert flat == sorted(entries, key=audit_sort_key)
        # Every page but the last is full; the last may be empty (DynamoDB may hand out a
        # cursor for an exactly full page even when nothing follows).
        assert all(len(p) == limit for p in pages[:-1])
        assert len(pages) in (-(-20 // limit), -(-20 // limit) + 1)

    def test_audit_after_is_exclusive(self, repo: Repository) -> None:
        subject = f"dataset#{uid(1)}"
        entries = sorted((make_entry(subject, i) for i in range(6)), key=audit_sort_key)
        repo.append_audit(entries)
        middle = audit_sort_key(entries[2])
        listed, _ = repo.list_audit(subject, 100, middle)
        assert listed == entries[3:]
        listed, after = repo.list_audit(subject, 2, middle)
        assert listed == entries[3:5]
        assert after == audit_sort_key(entries[4])
        listed, after = repo.list_audit(subject, 100, audit_sort_key(entries[-1]))
        assert (listed, after) == ([], None)
