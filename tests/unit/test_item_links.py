"""Links to a dataset's files (chalicelib.catalogue.item_links): where each layout keeps an
item's bytes, who may get a link, and the service over datasets the real ingest registered
from a fake bucket (dtool-s3, sidecar folder, folder and serialized bags), each link fetched
from the fake as S3 would answer it."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.object_storage import attachment
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.catalogue.entries import new_entry
from chalicelib.catalogue.item_links import (
    DEFAULT_LINK_SECONDS,
    MAX_LINK_SECONDS,
    ItemLinks,
    ItemPlace,
    NoBytes,
    holding_base_uri,
    item_place,
)
from chalicelib.catalogue.validation import parse_registration
from chalicelib.config import ConfigError, Settings
from chalicelib.domain import (
    INCOMPLETE,
    KIND_BAG,
    KIND_DTOOL,
    KIND_FACILITY,
    KIND_FOLDER,
    KIND_RECORD,
    KIND_SUBMISSION,
    REFUSED,
    Dataset,
    DatasetContent,
    User,
)
from chalicelib.errors import NotFound
from chalicelib.identity.permissions import may_fetch_items
from tests.fakes.object_storage import LinkRefused
from tests.unit.test_ingest import BUCKET, FILES, FOLDER, ROOT, DtoolDataset, World, make_world, put_folder, uuid_of
from tests.unit.test_ingest_bags import make_bag

BASE = f"s3://{BUCKET}"
OTHER = "s3://lab-copies"
ARCHIVE = "s3://lab-archive"
UUID = "1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"
READER = User(username="reader", search_base_uris=frozenset({BASE}))
REGISTRAR = User(username="registrar", register_base_uris=frozenset({BASE}))
OUTSIDER = User(username="outsider", search_base_uris=frozenset({"s3://elsewhere"}))
MEMBER = User(username="member", projects=frozenset({"p-7"}))


def no_prefix_read(bucket: str) -> str:
    raise AssertionError(f"the dtool prefix was read from {bucket} for a layout that has none")


# -- where each layout keeps an item ------------------------------------------------------------


def test_a_dtool_item_is_under_its_id_below_the_prefix_the_bucket_names() -> None:
    item_id = hashlib.sha1(b"raw/scan 1.las").hexdigest()
    read: list[str] = []

    def prefix(bucket: str) -> str:
        read.append(bucket)
        return "pre/fix/"

    place = item_place(KIND_DTOOL, UUID, f"s3://lab/{UUID}", item_id, "raw/scan 1.las", prefix)
    assert place == ItemPlace("lab", f"pre/fix/{UUID}/data/{item_id}") and read == ["lab"]
    assert item_place(KIND_DTOOL, UUID, f"s3://lab/{UUID}/", "x", "r", lambda _: "") == ItemPlace(
        "lab", f"{UUID}/data/x"
    )
    assert place.uri == f"s3://lab/pre/fix/{UUID}/data/{item_id}"


@pytest.mark.parametrize(
    "uri", [f"s3://lab/other-{UUID}", f"s3://lab/runs/{UUID}", "s3://lab", f"file:///data/{UUID}", f"s3:///{UUID}"]
)
def test_a_dtool_entry_whose_replica_is_not_a_dtool_uri_in_s3_has_no_linkable_item(uri: str) -> None:
    with pytest.raises(NoBytes):
        item_place(KIND_DTOOL, UUID, uri, "x", "r", no_prefix_read)


def test_a_sidecar_folder_item_is_under_the_folder_by_its_relpath() -> None:
    place = item_place(KIND_FOLDER, UUID, "s3://lab/proj/run 1", "id", "raw/b.bin", no_prefix_read)
    assert place == ItemPlace("lab", "proj/run 1/raw/b.bin")


def test_a_folder_bag_item_is_under_the_bag_by_its_data_relpath() -> None:
    assert item_place(KIND_BAG, UUID, "s3://lab/up/fb", "id", "data/one.csv", no_prefix_read) == ItemPlace(
        "lab", "up/fb/data/one.csv"
    )
    # a relpath without data/ (not what the ingest writes) is still read from the payload
    assert item_place(KIND_BAG, UUID, "s3://lab/up/fb", "id", "one.csv", no_prefix_read) == ItemPlace(
        "lab", "up/fb/data/one.csv"
    )


@pytest.mark.parametrize("suffix", [".zip", ".tar", ".tar.gz", ".tgz", ".ZIP"])
def test_a_serialized_bag_has_no_linkable_item(suffix: str) -> None:
    with pytest.raises(NoBytes, match="serialized bag"):
        item_place(KIND_BAG, UUID, f"s3://lab/deposits/run-7{suffix}", "id", "data/a", no_prefix_read)


@pytest.mark.parametrize("kind", [KIND_RECORD, KIND_FACILITY, KIND_SUBMISSION, None])
def test_kinds_whose_files_the_catalogue_does_not_hold_have_no_linkable_item(kind: str | None) -> None:
    with pytest.raises(NoBytes, match=f"is a {kind or 'record'}: the catalogue holds its metadata"):
        item_place(kind, UUID, f"s3://lab/{UUID}", "id", "a.csv", no_prefix_read)


def test_a_replica_outside_s3_has_no_linkable_item() -> None:
    with pytest.raises(NoBytes, match="not in S3"):
        item_place(KIND_FOLDER, UUID, "file:///data/run-1", "id", "a.csv", no_prefix_read)


def test_the_base_uri_holding_a_key_is_the_longest_registered_one() -> None:
    bases = ["s3://lab", "s3://lab/restricted", "s3://lab-2"]
    assert holding_base_uri("s3://lab/runs/a", bases) == "s3://lab"
    assert holding_base_uri("s3://lab/restricted/a", bases) == "s3://lab/restricted"
    assert holding_base_uri("s3://lab/restricted-not/a", bases) == "s3://lab"
    assert holding_base_uri("s3://lab-3/a", bases) is None


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("scan 1.tif", 'attachment; filename="scan 1.tif"'),
        ('a"b\\c.txt', "attachment; filename=\"a_b_c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"),
        ("naïve.csv", "attachment; filename=\"na_ve.csv\"; filename*=UTF-8''na%C3%AFve.csv"),
        ("line\nbreak", "attachment; filename=\"line_break\"; filename*=UTF-8''line%0Abreak"),
        ("", 'attachment; filename="download"'),
    ],
)
def test_the_content_disposition_names_the_file_safely(filename: str, expected: str) -> None:
    assert attachment(filename) == expected


# -- who may get a link ---------------------------------------------------------------------------


def entry(
    base_uri: str = BASE, *, project: str | None = None, status: str = "registered", kind: str = KIND_FOLDER
) -> Dataset:
    content = DatasetContent(UUID, "run-1", "ana", 1.0, 2.0, project=project, kind=kind)
    made = new_entry(ROOT, content, f"{base_uri}/run-1", base_uri, 1, 3.0)
    return replace(made, status=status)


def test_the_searchers_of_the_base_uri_admins_and_the_projects_members_may_fetch_items() -> None:
    assert may_fetch_items(READER, entry())
    assert may_fetch_items(ROOT, entry())
    assert may_fetch_items(MEMBER, entry(project="p-7"))
    assert may_fetch_items(MEMBER, entry("s3://anywhere", project="p-7"))


def test_nobody_else_may_fetch_items() -> None:
    assert not may_fetch_items(OUTSIDER, entry())
    assert not may_fetch_items(REGISTRAR, entry())  # register permission alone shows no registered entry
    assert not may_fetch_items(MEMBER, entry(project="p-8"))
    assert not may_fetch_items(READER, entry(OTHER))
    assert not may_fetch_items(User(username="gone", is_admin=True, deleted=True), entry())
    assert not may_fetch_items(User(username="left", projects=frozenset({"p-7"}), deleted=True), entry(project="p-7"))


@pytest.mark.parametrize("status", [REFUSED, INCOMPLETE])
def test_the_files_of_a_refused_or_incomplete_upload_are_never_linked(status: str) -> None:
    for user in (ROOT, REGISTRAR, READER):
        assert not may_fetch_items(user, entry(status=status)), user.username
    assert not may_fetch_items(ROOT, replace(entry(), deleted=True))


# -- the service over datasets the ingest registered ----------------------------------------------


def links(world: World, **kw: Any) -> ItemLinks:
    return ItemLinks(world.repo, world.store, clock=lambda: 1000.0, **kw)


def item_id(relpath: str) -> str:
    return hashlib.sha1(relpath.encode()).hexdigest()


def fetched(world: World, answer: dict[str, Any]) -> tuple[bytes, str]:
    return world.store.open_link(answer["url"])


@pytest.fixture
def world() -> World:
    return make_world(BASE, OTHER, ARCHIVE)


def test_a_reader_gets_a_link_to_a_dtool_item_under_its_prefix(world: World) -> None:
    ds = DtoolDataset(prefix="pre/fix/")
    ds.put(world.store)
    assert world.created(f"dtool-{ds.uuid}").status == "created"
    answer = links(world).item_url(READER, ds.uuid, item_id("raw/scan_001.las"))
    assert answer["item"] == {"id": item_id("raw/scan_001.las"), "relpath": "raw/scan_001.las", "size_in_bytes": 100}
    assert answer["base_uri"] == BASE and answer["expires_at"] == 1000.0 + DEFAULT_LINK_SECONDS
    assert fetched(world, answer) == (b"x" * 100, attachment("scan_001.las"))
    assert f"pre/fix/{ds.uuid}/data/{item_id('raw/scan_001.las')}" in answer["url"]
    assert f"expires={DEFAULT_LINK_SECONDS}" in answer["url"]


@pytest.mark.parametrize("marker", [b"\xff\xfe not text", b"x" * 5000])
def test_a_dtool_registration_key_that_names_no_prefix_is_no_link(world: World, marker: bytes) -> None:
    ds = DtoolDataset()
    ds.put(world.store)
    assert world.created(f"dtool-{ds.uuid}").status == "created"
    world.store.put(BUCKET, f"dtool-{ds.uuid}", marker)
    with pytest.raises(NotFound, match="does not name a dtool key prefix"):
        links(world).item_url(READER, ds.uuid, item_id("notes.txt"))


def test_a_reader_gets_a_link_to_a_sidecar_folder_item(world: World) -> None:
    assert world.created(put_folder(world)).status == "created"
    answer = links(world).item_url(READER, uuid_of(), item_id("notes ü.txt"))
    assert fetched(world, answer) == (FILES["notes ü.txt"], attachment("notes ü.txt"))
    assert answer["item"]["relpath"] == "notes ü.txt" and answer["base_uri"] == BASE
    nested = links(world).item_url(READER, uuid_of(), item_id("raw/b.bin"))
    assert world.store.downloads[nested["url"]] == (BUCKET, f"{FOLDER}/raw/b.bin", "b.bin")


def put_bag(world: World, tmp_path: Path, folder: str) -> dict[str, bytes]:
    bag = make_bag(tmp_path / "bag", {"one.csv": b"1,2", "sub dir/two.csv": b"3,4"})
    files = {str(p.relative_to(bag)): p.read_bytes() for p in sorted(bag.rglob("*")) if p.is_file()}
    for name, data in files.items():
        world.store.put(BUCKET, f"{folder}/{name}", data)
    return files


def test_a_reader_gets_a_link_to_a_folder_bag_item(world: World, tmp_path: Path) -> None:
    put_bag(world, tmp_path, "up/fb")
    outcome = world.created("up/fb/bagit.txt")
    assert outcome.status == "created", outcome
    answer = links(world).item_url(READER, outcome.uuid, item_id("data/sub dir/two.csv"))
    assert answer["item"]["relpath"] == "data/sub dir/two.csv"
    assert fetched(world, answer) == (b"3,4", attachment("two.csv"))
    assert world.store.downloads[answer["url"]][:2] == (BUCKET, "up/fb/data/sub dir/two.csv")


def test_a_serialized_bag_item_is_not_found_saying_why(world: World, tmp_path: Path) -> None:
    bag = make_bag(tmp_path / "run-7", {"scan.tif": b"x" * 10})
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for path in sorted(bag.rglob("*")):
            if path.is_file():
                z.write(path, f"run-7/{path.relative_to(bag)}")
    world.store.put(BUCKET, "deposits/run-7.zip", out.getvalue())
    outcome = world.created("deposits/run-7.zip")
    assert outcome.status == "created", outcome
    with pytest.raises(NotFound, match="serialized bag"):
        links(world).item_url(READER, outcome.uuid, item_id("data/scan.tif"))


def register(world: World, uuid: str, base_uri: str, uri: str, kind: str | None, relpaths: list[str]) -> None:
    items = {item_id(r): {"relpath": r, "size_in_bytes": 3, "hash": "h", "utc_timestamp": 1.0} for r in relpaths}
    body = {
        "uuid": uuid,
        "base_uri": base_uri,
        "uri": uri,
        "name": "n",
        "creator_username": "ana",
        "frozen_at": 1.0,
        "manifest": {"hash_function": "md5sum_hexdigest", "items": items},
    }
    world.catalogue.register(ROOT, parse_registration(body, kind))


@pytest.mark.parametrize("kind", [KIND_RECORD, KIND_FACILITY, KIND_SUBMISSION, None])
def test_a_dataset_whose_files_the_catalogue_does_not_hold_is_not_found_saying_why(
    world: World, kind: str | None
) -> None:
    register(world, UUID, BASE, f"{BASE}/{UUID}", kind, ["a.csv"])
    world.store.put(BUCKET, f"{UUID}/data/{item_id('a.csv')}", b"abc")  # even where dtool would keep it
    with pytest.raises(NotFound, match=f"is a {kind or 'record'}: the catalogue holds its metadata"):
        links(world).item_url(READER, UUID, item_id("a.csv"))
    assert world.store.calls["download_link"] == 0


def test_who_may_not_search_learns_nothing(world: World) -> None:
    assert world.created(put_folder(world)).status == "created"
    uuid, unknown = uuid_of(), "00000000-0000-4000-8000-000000000000"
    service = links(world)
    for user, asked in ((OUTSIDER, uuid), (REGISTRAR, uuid), (MEMBER, uuid), (ROOT, unknown), (OUTSIDER, unknown)):
        for item in (item_id("a.csv"), "no-such-item"):
            with pytest.raises(NotFound) as caught:
                service.item_url(user, asked, item)
            assert str(caught.value) == f"no dataset {asked}", (user.username, asked, item)
        with pytest.raises(NotFound):
            service.item_url(user, asked, item_id("a.csv"), BASE)
    # a base URI the reader may not search is as unknown as any other
    with pytest.raises(NotFound, match=f"^no dataset {uuid}$"):
        service.item_url(READER, uuid, item_id("a.csv"), OTHER)
    assert world.store.calls["download_link"] == 0


def test_an_item_not_in_the_manifest_is_not_found(world: World) -> None:
    assert world.created(put_folder(world)).status == "created"
    with pytest.raises(NotFound, match=f"^dataset {uuid_of()} has no item {item_id('nope')}$"):
        links(world).item_url(READER, uuid_of(), item_id("nope"))
    with pytest.raises(NotFound, match=r"has no item dataset\.json"):  # the sidecar is no item
        links(world).item_url(READER, uuid_of(), "dataset.json")


def test_a_file_gone_from_the_bucket_is_not_found(world: World) -> None:
    assert world.created(put_folder(world)).status == "created"
    world.store.delete(BUCKET, f"{FOLDER}/a.csv")
    with pytest.raises(NotFound, match="no longer holds the file"):
        links(world).item_url(READER, uuid_of(), item_id("a.csv"))


def test_base_uri_picks_the_replica_and_the_first_registered_is_the_default(world: World) -> None:
    ds = DtoolDataset(items={"a.csv": b"bucket one"})
    ds.put(world.store)
    assert world.created(f"dtool-{ds.uuid}").status == "created"
    copy = OTHER.removeprefix("s3://")
    for key, data in ds.objects():  # `dtool cp` to a second bucket, with other bytes to tell them apart
        world.store.put(copy, key, b"bucket two" if "/data/" in key else data)
    assert world.created(f"dtool-{ds.uuid}", bucket=copy).status == "created"
    both = User(username="both", search_base_uris=frozenset({BASE, OTHER}))
    only_other = User(username="other", search_base_uris=frozenset({OTHER}))
    service = links(world)
    first = service.item_url(both, ds.uuid, item_id("a.csv"))
    assert (first["base_uri"], fetched(world, first)[0]) == (BASE, b"bucket one")
    picked = service.item_url(both, ds.uuid, item_id("a.csv"), OTHER)
    assert (picked["base_uri"], fetched(world, picked)[0]) == (OTHER, b"bucket two")
    assert service.item_url(only_other, ds.uuid, item_id("a.csv"))["base_uri"] == OTHER
    # the first entry's file is gone: the next entry that holds it is linked
    world.store.delete(BUCKET, f"{ds.uuid}/data/{item_id('a.csv')}")
    assert service.item_url(both, ds.uuid, item_id("a.csv"))["base_uri"] == OTHER


def test_a_project_member_gets_links_to_the_projects_files(world: World) -> None:
    world.store.put(BUCKET, "p7/run/a.csv", b"abc")
    content = DatasetContent(UUID, "run", "ana", 1.0, 2.0, project="p-7", kind=KIND_FOLDER)
    made = new_entry(ROOT, content, f"{BASE}/p7/run", BASE, 1, 3.0)
    manifest = parse_registration(
        {"uuid": UUID, "base_uri": BASE, "uri": f"{BASE}/p7/run", "name": "run", "creator_username": "ana",
         "frozen_at": 1.0, "manifest": {"items": {"i1": {"relpath": "a.csv", "size_in_bytes": 3, "hash": "h"}}}}
    ).content.manifest  # fmt: skip
    world.repo.save_dataset(replace(made, content=replace(content, manifest=manifest)), None)
    answer = links(world).item_url(MEMBER, UUID, "i1")
    assert fetched(world, answer) == (b"abc", attachment("a.csv"))
    with pytest.raises(NotFound, match=f"^no dataset {UUID}$"):
        links(world).item_url(User(username="m8", projects=frozenset({"p-8"})), UUID, "i1")


def test_a_dtool_registration_pointing_into_a_nested_base_uri_is_not_linked(world: World) -> None:
    """dtool names a dataset s3://bucket/<uuid> whatever its prefix: a dtool client's registration
    on the bucket must not hand the bucket's readers the files of a nested base URI."""
    world.access.add_base_uri(ROOT, f"{BASE}/restricted", "")
    ds = DtoolDataset(prefix="restricted/")
    ds.put(world.store)
    register(world, ds.uuid, BASE, f"{BASE}/{ds.uuid}", KIND_DTOOL, list(ds.items))
    with pytest.raises(NotFound, match=f"keeps the file outside {BASE}"):
        links(world).item_url(READER, ds.uuid, item_id("notes.txt"))
    assert world.store.calls["download_link"] == 0


def test_the_archives_packages_are_never_linked(world: World) -> None:
    register(world, UUID, ARCHIVE, f"{ARCHIVE}/aips/ar-1", KIND_FOLDER, ["a.csv"])
    world.store.put(ARCHIVE.removeprefix("s3://"), "aips/ar-1/a.csv", b"abc")
    archivist = User(username="archivist", search_base_uris=frozenset({ARCHIVE}))
    assert links(world).item_url(archivist, UUID, item_id("a.csv"))["base_uri"] == ARCHIVE  # the layout alone
    with pytest.raises(NotFound, match="archival packages"):
        links(world, unlinked_base_uris=frozenset({ARCHIVE})).item_url(archivist, UUID, item_id("a.csv"))


def test_a_link_lives_as_configured_and_never_longer_than_an_hour(world: World) -> None:
    assert world.created(put_folder(world)).status == "created"
    answer = links(world, expires=MAX_LINK_SECONDS).item_url(READER, uuid_of(), item_id("a.csv"))
    assert answer["expires_at"] == 1000.0 + MAX_LINK_SECONDS and f"expires={MAX_LINK_SECONDS}" in answer["url"]
    for wrong in (0, -1, MAX_LINK_SECONDS + 1):
        with pytest.raises(ValueError, match="lifetime"):
            links(world, expires=wrong)


def test_a_link_the_store_never_handed_out_is_refused(world: World) -> None:
    with pytest.raises(LinkRefused):
        world.store.open_link(f"https://{BUCKET}.example/{FOLDER}/a.csv?get&expires=300&filename=a.csv")


def test_with_the_download_log_each_link_given_is_in_the_dataset_s_log_and_without_it_none_is(world: World) -> None:
    assert world.created(put_folder(world)).status == "created"
    subject = dataset_subject(uuid_of(), BASE)
    before, _ = world.repo.list_audit(subject, 100, None)
    links(world).item_url(READER, uuid_of(), item_id("a.csv"))
    assert world.repo.list_audit(subject, 100, None)[0] == before  # off by default
    logged = links(world, download_log=True, expires=60)
    answer = logged.item_url(READER, uuid_of(), item_id("a.csv"))
    after, _ = world.repo.list_audit(subject, 100, None)
    [entry] = [e for e in after if e not in before]
    assert (entry.entity_type, entry.action, entry.actor, entry.entity_id) == (
        "item",
        "download",
        "reader",
        item_id("a.csv"),
    )
    assert entry.value == {"relpath": "a.csv", "uri": f"{BASE}/{FOLDER}/a.csv", "expires_at": 1060.0}
    assert answer["expires_at"] == 1060.0 and "expires=60" in answer["url"]
    with pytest.raises(NotFound):  # refused: nothing logged
        logged.item_url(User(username="outsider"), uuid_of(), item_id("a.csv"))
    assert len(world.repo.list_audit(subject, 100, None)[0]) == len(after)


@pytest.mark.parametrize(("raw", "ok"), [("1", True), ("3600", True), ("0", False), ("3601", False), ("x", False)])
def test_the_link_lifetime_is_configured_within_an_hour(raw: str, ok: bool) -> None:
    env = {"CATALOGUE_STAGE": "test", "CATALOGUE_ITEM_LINK_SECONDS": raw, "CATALOGUE_DOWNLOAD_LOG": "1"}
    if ok:
        settings = Settings.from_env(env)
        assert (settings.item_link_seconds, settings.download_log) == (int(raw), True)
    else:
        with pytest.raises(ConfigError):
            Settings.from_env(env)
