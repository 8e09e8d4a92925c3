"""The archival steps (validate → build → store → verify) over in-memory S3, and the whole pipeline on moto.

The object storage port itself (put, copy, delete_prefix …) is pinned by
``tests/contract/test_object_storage_contract.py``."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit
import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib.adapters.object_storage import SourceChanged
from chalicelib.adapters.s3 import S3ObjectStorage
from chalicelib.archive.aip import (
    AipPlan,
    build_aip,
    cleanup_staging,
    load_plan,
    manifest_text,
    store_aip,
    verify_aip,
    verify_sample,
)
from chalicelib.archive.sip import Sip, SipRejected, load_sip, relpath_problem, stage_sip, validate_sip
from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.on_disk import validate_extracted_bag
from chalicelib.ingest.bags.paths import path_problem
from chalicelib.ingest.bags.tag_files import parse_manifest
from tests.fakes.object_storage import InMemoryObjectStorage

SRC = "sources"
ARCHIVE = "archive"
UUID = "8f0c3e2a-1b2c-4d5e-8f90-123456789abc"
ARCHIVE_ID = "ar-0123456789abcdef01234567"
PREFIX = f"aips/{UUID}/{ARCHIVE_ID}/"
NOW = 1_760_000_000.0
MiB = 1024 * 1024


@dataclass(frozen=True)
class Item:
    """A manifest item where it is stored (the shape of ``chalicelib.archive.sources.Entry``)."""

    relpath: str
    bucket: str
    key: str
    size: int
    algorithm: str
    digest: str


def digest_of(algorithm: str, data: bytes) -> str:
    if algorithm in ("md5sum_hexdigest", "s3-etag"):
        return hashlib.md5(data).hexdigest()
    if algorithm == "sha256-base64":
        return base64.b64encode(hashlib.sha256(data).digest()).decode()
    return hashlib.new(algorithm, data).hexdigest()


def put_dataset(
    store: InMemoryObjectStorage, files: dict[str, bytes], algorithm: str = "md5sum_hexdigest"
) -> tuple[list[Item], dict[str, Any]]:
    """A dtool-like dataset: items at ``ds/<uuid>/data/<sha1(relpath)>``."""
    items = []
    for relpath, data in files.items():
        key = f"ds/{UUID}/data/{hashlib.sha1(relpath.encode()).hexdigest()}"
        store.put(SRC, key, data)
        items.append(Item(relpath, SRC, key, len(data), algorithm, digest_of(algorithm, data)))
    record = {
        "uuid": UUID,
        "name": "Tensile tests\nbatch 7",
        "creator_username": "ada",
        "readme": "---\ndescription: tensile tests\n",
        "manifest": {"hash_function": algorithm, "items": {i.key: {"relpath": i.relpath} for i in items}},
        "tags": ["mechanics"],
        "annotations": {"project": "x"},
    }
    return items, record


def validate(store: InMemoryObjectStorage, items: list[Item], record: dict[str, Any], **kwargs: Any) -> Sip:
    return validate_sip(
        store, items, archive_id=ARCHIVE_ID, record=record, source_uris=(f"s3://{SRC}/{UUID}",), **kwargs
    )


def archive(
    store: InMemoryObjectStorage, files: dict[str, bytes], algorithm: str = "md5sum_hexdigest", **kwargs: Any
) -> tuple[Sip, AipPlan, InMemoryObjectStorage]:
    items, record = put_dataset(store, files, algorithm)
    writer = store
    sip = validate(store, items, record, **kwargs)
    stage_sip(writer, ARCHIVE, ARCHIVE_ID, sip)
    sip = load_sip(store, ARCHIVE, ARCHIVE_ID)
    plan = build_aip(store, writer, ARCHIVE, sip, [{"eventType": "ingestion", "eventOutcome": "success"}], now=NOW)
    plan = load_plan(store, ARCHIVE, ARCHIVE_ID)
    store_aip(writer, plan, ARCHIVE, PREFIX)
    return sip, plan, writer


def write_out(store: InMemoryObjectStorage, bucket: str, prefix: str, dest: Path) -> Path:
    for key in store.keys(bucket, prefix):
        path = dest / key[len(prefix) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(store.data(bucket, key))
    return dest


def rejected(excinfo: pytest.ExceptionInfo[SipRejected]) -> str:
    return "\n".join(excinfo.value.reasons)


HAPPY = {
    "a file with spaces.txt": b"strain,stress\n0.1,20\n",
    unicodedata.normalize("NFC", "café/résumé.csv"): b"NFC name",
    unicodedata.normalize("NFD", "naïve/Ångström.csv"): b"NFD name",
    "deep/er/and/deeper/still/x.bin": bytes(range(256)) * 50,
    "empty": b"",
    "#hash, 'quotes' & (brackets) [x] {y}.dat": b"punctuation",
}


# --------------------------------------------------------------------------- happy path


def test_happy_path_archives_a_valid_bag(tmp_path: Path) -> None:
    store = InMemoryObjectStorage()
    sip, plan, _writer = archive(store, HAPPY)

    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []
    assert {f.relpath for f in sip.files} == set(HAPPY)
    bag = write_out(store, ARCHIVE, PREFIX, tmp_path / "bag")
    bagit.Bag(str(bag)).validate(fast=False)
    info = validate_extracted_bag(bag)
    assert info.external_identifier == UUID
    assert info.payload_oxum == (sum(map(len, HAPPY.values())), len(HAPPY))
    assert {item.relpath for item in info.items} == {f"data/{name}" for name in HAPPY}
    # every stored payload object holds the bytes the catalogue's (md5) manifest describes
    for f in sip.files:
        stored = store.data(ARCHIVE, f"{PREFIX}data/{f.relpath}")
        assert f.expected == ("md5sum_hexdigest", hashlib.md5(stored).hexdigest())
    assert all(e.checked_with == "md5sum_hexdigest" for e in plan.payload)

    text = (bag / "bag-info.txt").read_text()
    assert "Bagging-Date: 2025-10-09\n" in text
    assert "External-Description: Tensile tests\n  batch 7\n" in text
    assert "Contact-Name: ada\n" in text
    assert (bag / "bagit.txt").read_text() == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    catalogue = json.loads((bag / "metadata/catalogue.json").read_text())
    assert catalogue["record"]["uuid"] == UUID
    assert catalogue["archive_id"] == ARCHIVE_ID
    assert catalogue["source_uris"] == [f"s3://{SRC}/{UUID}"]
    events = json.loads((bag / "metadata/premis.json").read_text())["events"]
    assert [e["eventType"] for e in events] == ["ingestion", "message digest calculation", "fixity check"]
    assert events[1]["eventDateTime"] == "2025-10-09T08:53:20Z"
    assert all(e["eventOutcome"] == "success" for e in events)
    tagmanifest = (bag / "tagmanifest-sha256.txt").read_text()
    assert {line.split("  ", 1)[1] for line in tagmanifest.splitlines()} == {
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "metadata/catalogue.json",
        "metadata/premis.json",
    }
    assert plan.tagmanifest_sha256 == hashlib.sha256(tagmanifest.encode()).hexdigest()


def test_stored_aip_summary_staging_round_trip_and_cleanup() -> None:
    store = InMemoryObjectStorage()
    sip, plan, writer = archive(store, HAPPY)
    stored = store_aip(writer, plan, ARCHIVE, PREFIX)  # again: same objects, same bytes
    assert stored.uri == f"s3://{ARCHIVE}/{PREFIX}"
    assert stored.object_count == len(HAPPY) + 6
    assert stored.total_bytes == sum(len(store.data(ARCHIVE, k)) for k in store.keys(ARCHIVE, PREFIX))
    assert stored.tagmanifest_sha256 == plan.tagmanifest_sha256
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []

    assert Sip.from_json(sip.to_json()) == sip
    assert AipPlan.from_json(plan.to_json()) == plan
    staged = store.keys(ARCHIVE, f"staging/{ARCHIVE_ID}/")
    assert f"staging/{ARCHIVE_ID}/sip.json" in staged
    assert f"staging/{ARCHIVE_ID}/plan.json" in staged
    assert cleanup_staging(writer, ARCHIVE, ARCHIVE_ID) == len(staged) == 8
    assert cleanup_staging(writer, ARCHIVE, ARCHIVE_ID) == 0
    assert store.keys(ARCHIVE, "staging/") == []
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []  # the AIP does not depend on staging
    with pytest.raises(FileNotFoundError):
        load_sip(store, ARCHIVE, ARCHIVE_ID)


def test_build_is_repeatable_with_the_same_clock() -> None:
    store = InMemoryObjectStorage()
    items, record = put_dataset(store, HAPPY)
    writer = store
    sip = validate(store, items, record)
    first = build_aip(store, writer, ARCHIVE, sip, [], now=NOW)
    second = build_aip(store, writer, ARCHIVE, sip, [], now=NOW)
    assert first == second


def test_percent_names_are_refused_for_bagit_or_archived_rfc_encoded(tmp_path: Path) -> None:
    files = {"50% done.txt": b"half", "100%25.txt": b"literal", "plain.txt": b"p"}
    store = InMemoryObjectStorage()
    items, record = put_dataset(store, files)
    with pytest.raises(SipRejected) as excinfo:
        validate(store, items, record)
    reasons = rejected(excinfo)
    assert "'50% done.txt'" in reasons
    assert "'100%25.txt'" in reasons
    assert "bagit 1.9" in reasons
    assert "plain.txt" not in reasons

    store = InMemoryObjectStorage()
    _sip, plan, _writer = archive(store, files, bagit_readable=False)
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []
    manifest = store.data(ARCHIVE, f"{PREFIX}manifest-sha256.txt").decode()
    assert "data/50%25 done.txt" in manifest
    assert "data/100%2525.txt" in manifest
    assert set(parse_manifest(manifest, "sha256")) == {f"data/{name}" for name in files}
    # the LoC tool cannot read these names back; our own validator says so instead of "corrupt"
    bag = write_out(store, ARCHIVE, PREFIX, tmp_path / "bag")
    with pytest.raises(BagRefused, match=r"bagit 1\.9 cannot read the name"):
        validate_extracted_bag(bag)


# --------------------------------------------------------------------------- digests


@pytest.mark.parametrize("algorithm", ["md5sum_hexdigest", "sha256", "sha512", "sha256-base64", "s3-etag"])
def test_every_digest_kind_is_checked(algorithm: str) -> None:
    files = {"a.txt": b"alpha" * 100, "b/c.txt": b"gamma"}
    store = InMemoryObjectStorage()
    _sip, plan, _writer = archive(store, files, algorithm)
    assert [e.checked_with for e in plan.payload] == [algorithm, algorithm]
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []

    store = InMemoryObjectStorage()
    items, record = put_dataset(store, files, algorithm)
    sip = validate(store, items, record)
    store.put(SRC, items[1].key, b"GAMMA")  # same size, other bytes
    with pytest.raises(SipRejected) as excinfo:
        build_aip(store, store, ARCHIVE, sip, [], now=NOW)
    assert excinfo.value.reasons == [
        f"fixity: 'b/c.txt': the bytes of s3://{SRC}/{items[1].key} do not match its {algorithm} {items[1].digest}"
    ]
    assert f"{PREFIX}data/a.txt" not in store.keys(ARCHIVE)


@pytest.mark.parametrize(
    ("algorithm", "digest"),
    [
        ("s3-etag", "0123456789abcdef0123456789abcdef-3"),
        ("sha256-base64", "q3Lz0yXB0JX6aNlqeKT1mBZ0sCIkTk2Fo0N4dexcuw4=-2"),
    ],
)
def test_multipart_digests_are_unchecked_not_corrupt(algorithm: str, digest: str) -> None:
    store = InMemoryObjectStorage()
    store.put(SRC, "folder/big.bin", b"anything at all")
    items = [
        Item("big.bin", SRC, "folder/big.bin", 15, algorithm, digest),
        Item("none.bin", SRC, "folder/big.bin", 15, algorithm, ""),
    ]
    sip = validate(store, items, {"uuid": UUID, "name": "n"})
    writer = store
    plan = build_aip(store, writer, ARCHIVE, sip, [], now=NOW)
    assert [e.checked_with for e in plan.payload] == ["", ""]
    premis = json.loads(store.data(ARCHIVE, f"staging/{ARCHIVE_ID}/bag/metadata/premis.json"))
    fixity = premis["events"][-1]
    assert fixity["eventOutcomeDetail"] == {"unchecked": ["big.bin", "none.bin"], "unchecked_count": 2}
    store_aip(writer, plan, ARCHIVE, PREFIX)
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []


@pytest.mark.parametrize(
    ("algorithm", "digest", "message"),
    [
        ("md5sum_hexdigest", "xyz", "is not 32 hex digits"),
        ("sha256", "ab" * 31, "is not 64 hex digits"),
        ("sha256-base64", "not base64!", "is not a base64 sha256"),
        ("s3-etag", "abc-1", "neither an md5 nor a multipart ETag"),
        ("crc32c", "AAAAAA==", "unsupported digest algorithm 'crc32c'"),
    ],
)
def test_unusable_manifest_digests_are_refused_at_validation(algorithm: str, digest: str, message: str) -> None:
    store = InMemoryObjectStorage()
    store.put(SRC, "k", b"x")
    with pytest.raises(SipRejected) as excinfo:
        validate(store, [Item("x.txt", SRC, "k", 1, algorithm, digest)], {"uuid": UUID})
    reasons = rejected(excinfo)
    assert "path 'x.txt': manifest digest unusable" in reasons
    assert message in reasons
    assert "fixity" not in reasons


# --------------------------------------------------------------------------- refusals


def source_reads(store: InMemoryObjectStorage) -> int:
    """HEADs and streamed reads that reached ``store``."""
    return store.calls["head"] + store.calls["iter_chunks"]


@pytest.mark.parametrize(
    "relpath",
    [
        "../x",
        "a/../../x",
        "/abs",
        "a\\b",
        "a\nb",
        "a\rb",
        "a\tb",
        "a\x1bb",
        "a\x85b",
        "a/./b",
        "./a",
        "a//b",
        "a/",
        "",
        "a\x00b",
        "~/x",
        "C:x",
        "trailing ",
        "line\u2028separator",
        "x" * 256,
        "/".join(["d" * 200] * 5),
    ],
)
def test_unsafe_relpaths_are_refused_by_name_and_never_read(relpath: str) -> None:
    store = InMemoryObjectStorage()
    store.put(SRC, "k", b"x")
    store.put(SRC, "ok", b"fine")
    items = [Item(relpath, SRC, "k", 1, "md5sum_hexdigest", digest_of("md5sum_hexdigest", b"x"))]
    items.append(Item("ok.txt", SRC, "ok", 4, "md5sum_hexdigest", digest_of("md5sum_hexdigest", b"fine")))
    with pytest.raises(SipRejected) as excinfo:
        validate(store, items, {"uuid": UUID})
    assert len(excinfo.value.reasons) == 1
    assert excinfo.value.reasons[0].startswith(f"path {relpath!r}: ")
    assert "fixity" not in excinfo.value.reasons[0]
    assert source_reads(store) == 0


def test_missing_and_wrong_size_files_are_listed() -> None:
    store = InMemoryObjectStorage()
    items, record = put_dataset(store, {"a": b"aaa", "b": b"bbb", "c": b"ccc"})
    store.delete(SRC, items[0].key)
    store.put(SRC, items[1].key, b"bbbb")
    with pytest.raises(SipRejected) as excinfo:
        validate(store, items, record)
    assert excinfo.value.reasons == [
        f"path 'a': missing (s3://{SRC}/{items[0].key})",
        f"path 'b': 4 bytes in s3://{SRC}/{items[1].key}, the manifest says 3",
    ]


def test_at_most_fifty_reasons() -> None:
    store = InMemoryObjectStorage()
    items = [Item(f"f{i}", SRC, f"k{i}", 1, "md5sum_hexdigest", "") for i in range(120)]
    with pytest.raises(SipRejected) as excinfo:
        validate(store, items, {"uuid": UUID})
    assert len(excinfo.value.reasons) == 51
    assert excinfo.value.reasons[-1] == "... and 70 more problems"


def test_listing_answers_presence_for_many_files() -> None:
    store = InMemoryObjectStorage()
    files = {f"f{i:03}": b"x" for i in range(150)}
    items, record = put_dataset(store, files)
    store.put(SRC, f"ds/{UUID}/unrelated", b"y")
    store.delete(SRC, items[7].key)
    with pytest.raises(SipRejected) as excinfo:
        validate(store, items, record)
    assert excinfo.value.reasons == [f"path 'f007': missing (s3://{SRC}/{items[7].key})"]
    assert source_reads(store) == 0  # one listing, no HEADs


def test_duplicates_after_nfc_and_file_directory_clashes_are_refused() -> None:
    store = InMemoryObjectStorage()
    nfc, nfd = unicodedata.normalize("NFC", "é.txt"), unicodedata.normalize("NFD", "é.txt")
    for key in ("k1", "k2", "k3", "k4"):
        store.put(SRC, key, b"x")
    items = [
        Item(nfc, SRC, "k1", 1, "s3-etag", ""),
        Item(nfd, SRC, "k2", 1, "s3-etag", ""),
        Item("dir", SRC, "k3", 1, "s3-etag", ""),
        Item("dir/file", SRC, "k4", 1, "s3-etag", ""),
    ]
    with pytest.raises(SipRejected) as excinfo:
        validate(store, items, {"uuid": UUID})
    assert excinfo.value.reasons == [
        f"path {nfd!r}: same name as {nfc!r} after Unicode NFC normalisation",
        "path 'dir': used both as a file and as a directory",
    ]


def test_caps_on_files_and_bytes() -> None:
    store = InMemoryObjectStorage()
    items, record = put_dataset(store, {"a": b"12345", "b": b"67890", "c": b"x"})
    with pytest.raises(SipRejected, match="more than 2 files"):
        validate(store, items, record, max_files=2)
    with pytest.raises(SipRejected, match="holds 11 bytes, more than the 10"):
        validate(store, items, record, max_total_bytes=10)
    with pytest.raises(SipRejected, match="no files"):
        validate(store, [], record)
    with pytest.raises(SipRejected, match="no uuid"):
        validate(store, items, {"name": "x"})
    with pytest.raises(ValueError, match="archive id"):
        validate_sip(store, items, archive_id="../x", record=record, source_uris=())


# --------------------------------------------------------------------------- sources changing


def test_source_changed_between_build_and_store() -> None:
    store = InMemoryObjectStorage()
    files = {"a": b"first", "b": b"second", "c": b"third"}
    items, record = put_dataset(store, files)
    writer = store
    sip = validate(store, items, record)
    plan = build_aip(store, writer, ARCHIVE, sip, [], now=NOW)
    store.put(SRC, items[1].key, b"SECOND")

    with pytest.raises(SourceChanged, match=items[1].key):
        store_aip(writer, plan, ARCHIVE, PREFIX)
    # left behind: the payload copied before the change, no tag files (not a bag)
    left = [k[len(PREFIX) :] for k in store.keys(ARCHIVE, PREFIX)]
    assert left == ["data/a"]
    assert writer.delete_prefix(ARCHIVE, PREFIX) == 1

    store.put(SRC, items[1].key, b"second")  # the same bytes again: the same (md5) ETag
    store_aip(writer, plan, ARCHIVE, PREFIX)
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []


def test_source_gone_after_validation() -> None:
    store = InMemoryObjectStorage()
    items, record = put_dataset(store, {"a": b"first", "b": b"second"})
    sip = validate(store, items, record)
    store.delete(SRC, items[0].key)
    with pytest.raises(SourceChanged, match="vanished"):
        build_aip(store, store, ARCHIVE, sip, [], now=NOW)


def test_source_grown_after_validation_is_a_size_refusal() -> None:
    store = InMemoryObjectStorage()
    items, record = put_dataset(store, {"a": b"first"}, "s3-etag")
    sip = validate(store, items, record)
    store.put(SRC, items[0].key, b"first and more")
    with pytest.raises(SipRejected, match=r"size: 'a': .* has more than 5 bytes, the manifest says 5"):
        build_aip(store, store, ARCHIVE, sip, [], now=NOW)


# --------------------------------------------------------------------------- verify


def test_verify_reports_exactly_the_damaged_objects() -> None:
    store = InMemoryObjectStorage()
    _sip, plan, _writer = archive(store, HAPPY)
    nfd = unicodedata.normalize("NFD", "naïve/Ångström.csv")
    key = f"{PREFIX}data/{nfd}"
    store.put(ARCHIVE, key, b"NFD nam3")
    mismatches = verify_aip(store, plan, ARCHIVE, PREFIX)
    assert len(mismatches) == 1
    assert mismatches[0].startswith(f"{'data/' + nfd!r}: sha256 ")

    found = verify_sample(store, plan, ARCHIVE, PREFIX, 1.0, random.Random(1))
    assert found.mismatches == mismatches
    assert found.checked == len(HAPPY) + 6

    store.delete(ARCHIVE, key)
    store.put(ARCHIVE, f"{PREFIX}data/stray.txt", b"?")
    store.put(ARCHIVE, f"{PREFIX}bag-info.txt", b"Tampered: yes\n")
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == [
        f"{'data/' + nfd!r}: missing",
        f"'bag-info.txt': 14 bytes, expected {plan.tag_files[1].size}",
        "'data/stray.txt': unexpected object (not in the AIP plan)",
    ]
    assert verify_sample(store, plan, ARCHIVE, PREFIX, 1.0, random.Random(1)).mismatches == [
        f"{'data/' + nfd!r}: missing",
        f"'bag-info.txt': 14 bytes, expected {plan.tag_files[1].size}",
    ]


def test_verify_sample_checks_at_least_one_payload_file() -> None:
    store = InMemoryObjectStorage()
    _sip, plan, _writer = archive(store, HAPPY)
    sampled = verify_sample(store, plan, ARCHIVE, PREFIX, 0.001, random.Random(42))
    assert sampled.mismatches == []
    assert sampled.checked == 1 + len(plan.tag_files)
    assert verify_sample(store, plan, ARCHIVE, PREFIX, 0, random.Random(42)).checked == len(plan.tag_files)
    with pytest.raises(ValueError, match="fraction"):
        verify_sample(store, plan, ARCHIVE, PREFIX, 1.5, random.Random(42))


def test_prefixes_are_checked() -> None:
    store = InMemoryObjectStorage()
    writer = store
    for prefix in ("", "/", "aips", "/aips/"):
        with pytest.raises(ValueError, match="prefix"):
            writer.delete_prefix(ARCHIVE, prefix)
    with pytest.raises(ValueError, match="archive id"):
        cleanup_staging(writer, ARCHIVE, "")


# --------------------------------------------------------------------------- properties

_HOSTILE = list("%#\n\r\t\x00\x01\x1f\x7f\x85\u2028\u2029\ufeff~\\/.:* \u0301")
_BENIGN = list("abcXYZ019 -_.,()'&+=@éÅΩ漢😀")
_WILD = st.text(
    alphabet=st.one_of(st.sampled_from(_HOSTILE), st.sampled_from(_BENIGN), st.characters(codec="utf-8")),
    min_size=1,
    max_size=12,
)
_COMPONENT = st.text(alphabet=st.sampled_from(_BENIGN), min_size=1, max_size=8)
_CLEAN = st.lists(_COMPONENT, min_size=1, max_size=4).map("/".join)
# half the names from a benign alphabet in nested folders (archived), half anything at all
_NAME = st.one_of(_CLEAN, _WILD)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_NAME, min_size=1, max_size=4))
def test_every_name_is_archived_and_valid_or_refused_by_name(names: list[str]) -> None:
    store = InMemoryObjectStorage()
    items = []
    for i, name in enumerate(names):
        data = f"{i}:{name!r}".encode()
        store.put(SRC, f"k{i}", data)
        items.append(Item(name, SRC, f"k{i}", len(data), "md5sum_hexdigest", hashlib.md5(data).hexdigest()))
    try:
        sip = validate(store, items, {"uuid": UUID, "name": "property"})
    except SipRejected as exc:
        assert all(r.startswith("path ") and "fixity" not in r for r in exc.reasons)
        for name in names:
            if relpath_problem(name) is not None:
                assert any(r.startswith(f"path {name!r}: ") for r in exc.reasons)
        nfc = [unicodedata.normalize("NFC", n) for n in names]
        clean = all(relpath_problem(n) is None for n in names) and len(set(nfc)) == len(nfc)
        assert not clean or any("file and as a directory" in r for r in exc.reasons)
        return
    writer = store
    plan = build_aip(store, writer, ARCHIVE, sip, [], now=NOW)
    store_aip(writer, plan, ARCHIVE, PREFIX)
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []
    with tempfile.TemporaryDirectory() as tmp:
        info = validate_extracted_bag(write_out(store, ARCHIVE, PREFIX, Path(tmp) / "bag"))  # runs bagit too
    assert {item.relpath for item in info.items} == {f"data/{n}" for n in names}


@settings(max_examples=200, deadline=None)
@given(st.lists(_NAME, min_size=1, max_size=6))
def test_manifest_round_trip(names: list[str]) -> None:
    safe: dict[str, str] = {}
    for name in names:
        if path_problem(name) is None:
            safe.setdefault(unicodedata.normalize("NFC", name), name)
    entries = [(name, hashlib.sha256(name.encode()).hexdigest()) for name in safe.values()]
    parsed = parse_manifest(manifest_text(entries), "sha256")
    assert parsed == {f"data/{name}": digest for name, digest in entries}


# --------------------------------------------------------------------------- the pipeline on moto


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        for bucket in (SRC, ARCHIVE):
            client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


# one thread: moto in-process (mock_aws) is not safe under the transfer manager's threads
SMALL_PARTS = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, use_threads=False)


def _upload_multipart(client: Any, key: str, data: bytes) -> str:
    client.upload_fileobj(io.BytesIO(data), SRC, key, Config=SMALL_PARTS)
    etag = str(client.head_object(Bucket=SRC, Key=key)["ETag"]).strip('"')
    assert etag.endswith("-2")
    return etag


def test_whole_pipeline_on_moto(s3: Any, tmp_path: Path) -> None:
    files = {"a b.txt": b"a", "deep/x/y.bin": b"\x00" * 1000, "big.bin": random.Random(9).randbytes(6 * MiB)}
    items = []
    for relpath, data in files.items():
        key = f"folder/{relpath}"
        if relpath == "big.bin":
            etag = _upload_multipart(s3, key, data)
            items.append(Item(relpath, SRC, key, len(data), "s3-etag", etag))  # not checkable by hashing
        else:
            s3.put_object(Bucket=SRC, Key=key, Body=data)
            items.append(Item(relpath, SRC, key, len(data), "s3-etag", hashlib.md5(data).hexdigest()))
    store = S3ObjectStorage(s3)
    writer = S3ObjectStorage(s3, "STANDARD_IA", transfer_config=SMALL_PARTS)
    sip = validate_sip(store, items, archive_id=ARCHIVE_ID, record={"uuid": UUID, "name": "n"}, source_uris=())
    stage_sip(writer, ARCHIVE, ARCHIVE_ID, sip)
    plan = build_aip(store, writer, ARCHIVE, load_sip(store, ARCHIVE, ARCHIVE_ID), [], now=NOW)
    assert sorted(e.checked_with for e in plan.payload) == ["", "s3-etag", "s3-etag"]
    stored = store_aip(writer, load_plan(store, ARCHIVE, ARCHIVE_ID), ARCHIVE, PREFIX)
    assert stored.object_count == 9
    assert verify_aip(store, plan, ARCHIVE, PREFIX) == []
    assert cleanup_staging(writer, ARCHIVE, ARCHIVE_ID) == 8
    for obj in s3.list_objects_v2(Bucket=ARCHIVE, Prefix=PREFIX)["Contents"]:  # only payload is tagged cold
        tags = s3.get_object_tagging(Bucket=ARCHIVE, Key=obj["Key"])["TagSet"]
        cold = obj["Key"].startswith(PREFIX + "data/")
        assert tags == ([{"Key": "archive-tier", "Value": "cold"}] if cold else []), obj["Key"]
    bag = tmp_path / "bag"
    for obj in s3.list_objects_v2(Bucket=ARCHIVE, Prefix=PREFIX)["Contents"]:
        path = bag / obj["Key"][len(PREFIX) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=ARCHIVE, Key=obj["Key"])["Body"].read())
    assert validate_extracted_bag(bag).payload_oxum == (sum(map(len, files.values())), 3)
