"""BagIt safety layer: text parsers, folder-bag listings, extracted bags (the §6.2 hostile matrix), archives."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import stat
import struct
import tarfile
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import bagit
import pytest

from chalicelib.ingest.bags.bag_info import BagItem, parse_bag_info
from chalicelib.ingest.bags.errors import BagIncomplete, BagRefused
from chalicelib.ingest.bags.limits import BagLimits
from chalicelib.ingest.bags.listing import check_folder_bag, verify_fixity
from chalicelib.ingest.bags.on_disk import validate_extracted_bag
from chalicelib.ingest.bags.paths import encode_manifest_path
from chalicelib.ingest.bags.serialized import extract_serialized
from chalicelib.ingest.bags.tag_files import parse_bagit_txt, parse_manifest, parse_tag_manifest

MiB = 1024 * 1024
HELLO = b"hello\n"
SECRET = b"TOP SECRET\n"
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


@pytest.fixture(autouse=True)
def _quiet_bagit() -> Iterator[None]:
    logger = logging.getLogger("bagit")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def sha(data: bytes, algorithm: str = "sha256") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def reasons_of(excinfo: pytest.ExceptionInfo[BagRefused]) -> str:
    return "\n".join(excinfo.value.reasons)


def assert_refused(call: Callable[[], object], *needles: str) -> list[str]:
    with pytest.raises(BagRefused) as excinfo:
        call()
    text = reasons_of(excinfo)
    for needle in needles:
        assert needle in text, f"{needle!r} not in reasons:\n{text}"
    return excinfo.value.reasons


# --------------------------------------------------------------------------- bags on disk


def make_bag(
    parent: Path,
    name: str = "bag",
    files: dict[str, bytes] | None = None,
    algorithms: tuple[str, ...] = ("sha256",),
    info: dict[str, str] | None = None,
) -> Path:
    """A bag made by bagit itself (v0.97, with tag manifests)."""
    bag = parent / name
    bag.mkdir()
    for rel, data in (files or {"a.txt": HELLO}).items():
        (bag / rel).parent.mkdir(parents=True, exist_ok=True)
        (bag / rel).write_bytes(data)
    bagit.make_bag(str(bag), dict(info or {}), checksums=list(algorithms))
    return bag


def drop_tagmanifests(bag: Path) -> None:
    for path in bag.glob("tagmanifest-*.txt"):
        path.unlink()


def write_manifest(bag: Path, entries: list[tuple[str, str]], algorithm: str = "sha256") -> None:
    (bag / f"manifest-{algorithm}.txt").write_text("".join(f"{d}  {p}\n" for d, p in entries), encoding="utf-8")
    drop_tagmanifests(bag)


def set_oxum(bag: Path, octets: int, files: int) -> None:
    info = bag / "bag-info.txt"
    lines = [line for line in info.read_text().splitlines() if not line.startswith("Payload-Oxum")]
    info.write_text("\n".join([*lines, f"Payload-Oxum: {octets}.{files}"]) + "\n")


def bagit_says_valid(bag: Path) -> bool:
    try:
        bagit.Bag(str(bag)).validate()
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------- bags as listings


def folder_bag(
    payload: dict[str, bytes],
    *,
    algorithms: tuple[str, ...] = ("sha256",),
    info: str | None = None,
    tag_manifest: str | None = "sha256",
    bagit_txt: str = BAGIT_TXT,
) -> tuple[dict[str, bytes], dict[str, int], Callable[[str], str]]:
    """A v1.0 bag in memory: returns (files, listing, read_text)."""
    files: dict[str, bytes] = {"bagit.txt": bagit_txt.encode()}
    files.update(payload)
    for algorithm in algorithms:
        lines = "".join(f"{sha(data, algorithm)}  {encode_manifest_path(p)}\n" for p, data in payload.items())
        files[f"manifest-{algorithm}.txt"] = lines.encode()
    if info is None:
        info = f"Payload-Oxum: {sum(map(len, payload.values()))}.{len(payload)}\n"
    files["bag-info.txt"] = info.encode()
    if tag_manifest:
        tags = [p for p in files if not p.startswith("data/")]
        lines = "".join(f"{sha(files[p], tag_manifest)} {p}\n" for p in tags)
        files[f"tagmanifest-{tag_manifest}.txt"] = lines.encode()
    return files, listing_of(files), reader(files)


def listing_of(files: dict[str, bytes]) -> dict[str, int]:
    return {path: len(data) for path, data in files.items()}


def reader(files: dict[str, bytes]) -> Callable[[str], str]:
    def read_text(path: str) -> str:
        return files[path].decode("utf-8")

    return read_text


# --------------------------------------------------------------------------- archives


def zip_dir(source: Path, archive: Path, prefix: str) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(source.rglob("*")):
            arcname = prefix + path.relative_to(source).as_posix()
            zf.write(path, arcname)


def write_zip(archive: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns on duplicate names
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    archive.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def patch_zip(raw: bytes, name: str, central_offset: int, local_offset: int | None, fmt: str, value: int) -> bytes:
    """Overwrite one field of ``name``'s central-directory entry (and its local header)."""
    data = bytearray(raw)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == name.encode():
            struct.pack_into(fmt, data, at + central_offset, value)
            if local_offset is not None:
                local = struct.unpack_from("<I", data, at + 42)[0]
                struct.pack_into(fmt, data, local + local_offset, value)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} not in zip")


def tar_member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", linkname: str = "") -> tuple:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, io.BytesIO(data) if kind == tarfile.REGTYPE else None


def write_tar(archive: Path, members: list[tuple], mode: str = "w") -> None:
    with tarfile.open(archive, mode) as tf:  # type: ignore[call-overload]
        for info, data in members:
            tf.addfile(info, data)


@pytest.fixture
def stage(tmp_path: Path) -> Path:
    dest = tmp_path / "stage"
    dest.mkdir()
    return dest


# =========================================================================== text parsers


def test_parse_bagit_txt_accepts_1_0_and_0_97_with_any_line_ending() -> None:
    assert parse_bagit_txt(BAGIT_TXT) == ("1.0", "UTF-8")
    assert parse_bagit_txt("BagIt-Version: 0.97\r\nTag-File-Character-Encoding: utf-8\r\n") == ("0.97", "UTF-8")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("BagIt-Version: 0.96\nTag-File-Character-Encoding: UTF-8\n", "not 0.97 or 1.0"),
        ("BagIt-Version: 1.9\nTag-File-Character-Encoding: UTF-8\n", "not 0.97 or 1.0"),
        ("BagIt-Version: 1.0\nTag-File-Character-Encoding: latin-1\n", "is not UTF-8"),
        ("\ufeff" + BAGIT_TXT, "byte-order mark"),
        ("BagIt-Version: 1.0\n", "exactly 2 lines"),
        (BAGIT_TXT + "Extra: x\n", "exactly 2 lines"),
        ("Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n", "line 1 must be"),
    ],
)
def test_parse_bagit_txt_refusals(text: str, needle: str) -> None:
    assert_refused(lambda: parse_bagit_txt(text), needle)


def test_parse_bag_info_labels_repeats_and_continuations() -> None:
    text = (
        "Source-Organization: Lab\r\n"
        "External-Description: First line\r\n"
        "  second line\r\n"
        "\tthird line\r\n"
        "\r\n"
        "Keyword: a\n"
        "Keyword:b\n"
        "Empty:\n"
    )
    assert parse_bag_info(text) == {
        "Source-Organization": ["Lab"],
        "External-Description": ["First line\nsecond line\nthird line"],
        "Keyword": ["a", "b"],
        "Empty": [""],
    }


@pytest.mark.parametrize(
    ("text", "limits", "needle"),
    [
        ("no colon here\n", BagLimits(), "expected 'Label: value'"),
        ("  leading continuation\n", BagLimits(), "continuation line before any label"),
        ("Title: " + "x" * 5000 + "\n", BagLimits(), "longer than 4096 bytes"),
        ("Title: x\n" * 100, BagLimits(max_bag_info_bytes=512), "larger than 512 bytes"),
        ("Title: a\x00b\n", BagLimits(), "NUL"),
        ("\ufeffTitle: x\n", BagLimits(), "byte-order mark"),
    ],
)
def test_parse_bag_info_refusals(text: str, limits: BagLimits, needle: str) -> None:
    assert_refused(lambda: parse_bag_info(text, limits), needle)


def test_parse_manifest_rfc8493_percent_decoding_only_lf_cr_percent() -> None:
    digest = "a" * 64
    text = (
        f"{digest}  data/line%0Abreak\n"
        f"{digest}  data/car%0dreturn\n"
        f"{digest}  data/100%25.txt\n"
        f"{digest}  data/literal%250A\n"
        f"{digest}  data/other%41%20kept\n"
        f"{digest}\tdata/tab separated\n"
    )
    assert set(parse_manifest(text, "sha256")) == {
        "data/line\nbreak",
        "data/car\rreturn",
        "data/100%.txt",
        "data/literal%0A",
        "data/other%41%20kept",
        "data/tab separated",
    }


def test_parse_manifest_crlf_and_cr_line_endings_and_uppercase_digests() -> None:
    upper, lower = "ABCDEF" + "0" * 58, "abcdef" + "0" * 58
    for ending in ("\r\n", "\r", "\n"):
        text = f"{upper}  data/a{ending}{lower} data/b c {ending}"
        assert parse_manifest(text, "sha256") == {"data/a": lower, "data/b c ": lower}


def test_parse_manifest_splits_only_on_cr_lf_not_unicode_separators() -> None:
    digest = "0" * 64
    assert parse_manifest(f"{digest}  data/x\u2028y\x0cz\n", "sha256") == {"data/x\u2028y\x0cz": digest}


def test_encode_manifest_path_round_trips_through_the_parser() -> None:
    names = ["data/a%0Ab", "data/%25", "data/x\ny\rz\r\n", "data/ lead and trail ", "data/\u00e9\u2028%", "data/%%0A0A"]
    digest = "1" * 64
    text = "".join(f"{digest}  {encode_manifest_path(name)}\n" for name in names)
    assert list(parse_manifest(text, "sha256")) == names


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        (f"{'a' * 64}  data/../../secret.txt", "'..' path component"),
        (f"{'a' * 64}  /etc/passwd", "is absolute"),
        (f"{'a' * 64}  data\\evil.txt", "backslash"),
        (f"{'a' * 64}  data//x", "empty path component"),
        (f"{'a' * 64}  data/./x", "'.' path component"),
        (f"{'a' * 64}  data/a\x00b", "NUL"),
        (f"{'a' * 64}  bagit.txt", "not under data/"),
        (f"{'a' * 64}  *data/a.txt", "not under data/"),
        (f"{'a' * 64}  C:/x", "drive letter"),
        (f"{'a' * 63}  data/a", "must be 64 hex digits"),
        (f"{'g' * 64}  data/a", "must be 64 hex digits"),
        (f"{'a' * 64}", "expected '<checksum> <path>'"),
        (f"{'a' * 64}  data/{'x' * 5000}", "longer than 4096 bytes"),
    ],
)
def test_parse_manifest_refuses_bad_lines(line: str, needle: str) -> None:
    assert_refused(lambda: parse_manifest(line + "\n", "sha256"), "line 1", needle)


def test_parse_manifest_refuses_duplicates_also_after_unicode_normalization() -> None:
    digest = "b" * 64
    assert_refused(lambda: parse_manifest(f"{digest}  data/a\n{digest}  data/a\n", "sha256"), "line 2", "listed twice")
    nfc, nfd = unicodedata.normalize("NFC", "data/é"), unicodedata.normalize("NFD", "data/é")
    assert_refused(
        lambda: parse_manifest(f"{digest}  {nfc}\n{digest}  {nfd}\n", "sha256"), "only by Unicode normalization"
    )


def test_parse_manifest_caps_line_count_and_size_and_algorithm() -> None:
    text = "".join(f"{'c' * 64}  data/{i}\n" for i in range(11))
    assert_refused(lambda: parse_manifest(text, "sha256", BagLimits(max_files=10)), "more than 10 lines")
    assert_refused(lambda: parse_manifest(text, "sha256", BagLimits(max_manifest_bytes=100)), "larger than 100")
    assert_refused(lambda: parse_manifest(text, "shake_128"), "unsupported checksum algorithm")
    assert_refused(lambda: parse_manifest("\ufeff" + text, "sha256"), "byte-order mark")
    assert len(parse_manifest(text, "sha256")) == 11


def test_parse_manifest_md5_and_sha512_digest_lengths() -> None:
    assert parse_manifest(f"{'d' * 32}  data/a\n", "md5") == {"data/a": "d" * 32}
    assert parse_manifest(f"{'e' * 128}  data/a\n", "sha512") == {"data/a": "e" * 128}
    assert_refused(lambda: parse_manifest(f"{'e' * 64}  data/a\n", "sha512"), "must be 128 hex digits")


def test_parse_tag_manifest_refuses_payload_paths() -> None:
    digest = "f" * 64
    assert parse_tag_manifest(f"{digest} bagit.txt\n{digest} meta/x.xml\n", "sha256") == {
        "bagit.txt": digest,
        "meta/x.xml": digest,
    }
    assert_refused(lambda: parse_tag_manifest(f"{digest} data/a.txt\n", "sha256"), "must not list data/")
    assert_refused(lambda: parse_tag_manifest(f"{digest} ../t3evil/y\n", "sha256"), "'..' path component")


def test_bag_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_files"):
        BagLimits(max_files=0)
    with pytest.raises(ValueError, match="max_ratio"):
        BagLimits(max_ratio=-1)


# =========================================================================== fixity


def test_verify_fixity_streams_and_accepts_matching_digests() -> None:
    data = os.urandom(300_000)
    item = BagItem("data/x", len(data), sha(data), sha(data, "sha512"))
    verify_fixity(item, (data[i : i + 65536] for i in range(0, len(data), 65536)))
    verify_fixity(BagItem("data/x", len(data), None, sha(data, "sha512")), [data])


def test_verify_fixity_refuses_mismatch_and_size_mismatch() -> None:
    item = BagItem("data/x", 6, sha(HELLO), None)
    assert_refused(lambda: verify_fixity(item, [b"HELLO\n"]), "data/x", "sha256 checksum mismatch")
    assert_refused(lambda: verify_fixity(item, [b"hello"]), "5 bytes, expected 6")
    assert_refused(lambda: verify_fixity(BagItem("data/x", 6, None, None), [HELLO]), "no sha256 or sha512")


def test_verify_fixity_stops_reading_past_the_listed_size() -> None:
    consumed = []

    def endless() -> Iterator[bytes]:
        while True:
            consumed.append(1)
            yield b"x" * 4

    assert_refused(lambda: verify_fixity(BagItem("data/x", 6, sha(HELLO), None), endless()), "more than the 6 bytes")
    assert len(consumed) == 2


# =========================================================================== folder bags (listings)


def test_folder_bag_complete_returns_bag_info() -> None:
    payload = {"data/a.txt": HELLO, "data/sub/b.csv": b"x,y\n1,2\n"}
    info_txt = (
        "Contact-Name: Ada Lovelace\n"
        "Contact-Email: ada@example.org\n"
        "External-Description: Engine notes\n"
        "  with a second line\n"
        "External-Identifier: doi:10.1234/abc\n"
        "Bagging-Date: 2026-11-23\n"
        "Payload-Oxum: 14.2\n"
    )
    _files, listing, read_text = folder_bag(payload, algorithms=("sha256", "sha512", "md5"), info=info_txt)
    listing["data/"] = 0  # S3 console folder marker
    info = check_folder_bag(listing, read_text, bag_name="engine")
    assert info.title == "Engine notes"
    assert info.contact == "Ada Lovelace <ada@example.org>"
    assert info.description == "Engine notes\nwith a second line"
    assert info.external_identifier == "doi:10.1234/abc"
    assert info.bagging_date == "2026-11-23"
    assert info.payload_oxum == (14, 2)
    assert info.algorithms == ("md5", "sha256", "sha512")
    assert info.raw["Contact-Name"] == ["Ada Lovelace"]
    assert info.items == [
        BagItem("data/a.txt", 6, sha(HELLO), sha(HELLO, "sha512")),
        BagItem("data/sub/b.csv", 8, sha(payload["data/sub/b.csv"]), sha(payload["data/sub/b.csv"], "sha512")),
    ]


def test_folder_bag_title_prefers_title_then_falls_back_to_name() -> None:
    _f, listing, read_text = folder_bag({"data/a": HELLO}, info="title: Explicit\nExternal-Description: D\n")
    assert check_folder_bag(listing, read_text).title == "Explicit"
    _f, listing, read_text = folder_bag({"data/a": HELLO}, info="Contact-Email: x@example.org\n")
    info = check_folder_bag(listing, read_text, bag_name="folder-name")
    assert (info.title, info.contact, info.payload_oxum) == ("folder-name", "x@example.org", None)


def test_folder_bag_missing_payload_files_is_incomplete_with_exact_list() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO, "data/b": b"bb", "data/c/d": b"d"})
    del listing["data/b"], listing["data/c/d"]
    with pytest.raises(BagIncomplete) as excinfo:
        check_folder_bag(listing, read_text)
    assert excinfo.value.missing == ["data/b", "data/c/d"]


def test_folder_bag_missing_tag_files_and_bagit_txt_are_incomplete() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO})
    del listing["bagit.txt"], listing["bag-info.txt"]
    with pytest.raises(BagIncomplete) as excinfo:
        check_folder_bag(listing, read_text)
    assert excinfo.value.missing == ["bag-info.txt", "bagit.txt"]


def test_folder_bag_without_any_manifest_yet_is_incomplete() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO}, tag_manifest=None)
    del listing["manifest-sha256.txt"]
    with pytest.raises(BagIncomplete) as excinfo:
        check_folder_bag(listing, read_text)
    assert excinfo.value.missing == ["manifest-sha256.txt or manifest-sha512.txt"]


def test_folder_bag_strong_manifest_announced_by_tag_manifest_is_incomplete_not_refused() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO}, algorithms=("sha256", "md5"))
    del listing["manifest-sha256.txt"]
    with pytest.raises(BagIncomplete) as excinfo:
        check_folder_bag(listing, read_text)
    assert excinfo.value.missing == ["manifest-sha256.txt"]


def test_folder_bag_unlisted_payload_file_is_refused() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO})
    listing["data/extra.bin"] = 1
    assert_refused(lambda: check_folder_bag(listing, read_text), "data/extra.bin: payload file not listed")


def test_folder_bag_unlisted_file_is_refused_even_while_others_are_missing() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO, "data/b": HELLO})
    del listing["data/b"]
    listing["data/sneaky"] = 3
    assert_refused(lambda: check_folder_bag(listing, read_text), "data/sneaky")


def test_folder_bag_oxum_mismatch_with_all_files_present_is_refused() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO}, info="Payload-Oxum: 7.1\n")
    assert_refused(lambda: check_folder_bag(listing, read_text), "Payload-Oxum 7.1 does not match", "6 bytes in 1")


def test_folder_bag_oxum_mismatch_while_files_missing_is_incomplete() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO, "data/b": HELLO}, info="Payload-Oxum: 99.2\n")
    del listing["data/b"]
    with pytest.raises(BagIncomplete):
        check_folder_bag(listing, read_text)


@pytest.mark.parametrize("oxum", ["6", "6.1.1", "x.1", "-6.1"])
def test_folder_bag_malformed_oxum_is_refused(oxum: str) -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO}, info=f"Payload-Oxum: {oxum}\n")
    assert_refused(lambda: check_folder_bag(listing, read_text), "is not '<octets>.<files>'")


@pytest.mark.parametrize("algorithms", [("md5",), ("sha1",), ("md5", "sha1")])
def test_folder_bag_md5_or_sha1_only_is_refused(algorithms: tuple[str, ...]) -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO}, algorithms=algorithms, tag_manifest=None)
    assert_refused(lambda: check_folder_bag(listing, read_text), "no sha256 or sha512 payload manifest")


def test_folder_bag_fetch_txt_is_refused() -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO})
    listing["fetch.txt"] = 60
    assert_refused(lambda: check_folder_bag(listing, read_text), "fetch.txt: present")


def test_folder_bag_file_listed_only_in_weak_manifest_is_refused() -> None:
    files, listing, read_text = folder_bag({"data/a": HELLO}, algorithms=("sha256", "md5"), tag_manifest=None)
    files["manifest-md5.txt"] += f"{sha(b'zz', 'md5')}  data/z\n".encode()
    files["data/z"] = b"zz"
    listing = listing_of(files)
    assert_refused(lambda: check_folder_bag(listing, read_text), "'data/z' is not listed in manifest-sha256.txt")


def test_folder_bag_v1_every_payload_manifest_must_list_every_file() -> None:
    files, _listing, read_text = folder_bag({"data/a": HELLO, "data/b": HELLO}, algorithms=("sha256", "md5"))
    files["manifest-md5.txt"] = f"{sha(HELLO, 'md5')}  data/a\n".encode()
    files.pop("tagmanifest-sha256.txt")
    assert_refused(lambda: check_folder_bag(listing_of(files), read_text), "does not list 'data/b'")


def test_folder_bag_tampered_manifest_caught_by_tag_manifest() -> None:
    files, listing, read_text = folder_bag({"data/a": HELLO})
    files["manifest-sha256.txt"] = f"{sha(b'HELLO' + bytes([10]))}  data/a\n".encode()
    assert_refused(lambda: check_folder_bag(listing, read_text), "manifest-sha256.txt: sha256 does not match")


@pytest.mark.parametrize(
    ("key", "needle"),
    [("data/../bagit.txt", "'..' path component"), ("/abs", "is absolute"), ("data\\x", "backslash")],
)
def test_folder_bag_hostile_listing_keys_are_refused(key: str, needle: str) -> None:
    _files, listing, read_text = folder_bag({"data/a": HELLO})
    listing[key] = 1
    assert_refused(lambda: check_folder_bag(listing, read_text), needle)


def test_folder_bag_limits() -> None:
    _files, listing, read_text = folder_bag({f"data/{i}": b"0123456789" for i in range(6)})
    assert_refused(lambda: check_folder_bag(listing, read_text, BagLimits(max_files=5)), "6 payload files")
    assert_refused(lambda: check_folder_bag(listing, read_text, BagLimits(max_entry_bytes=9)), "per file")
    assert_refused(lambda: check_folder_bag(listing, read_text, BagLimits(max_total_bytes=100)), "more than the 100")
    assert_refused(lambda: check_folder_bag(listing, read_text, BagLimits(max_tag_files=3)), "tag files outside")
    assert_refused(lambda: check_folder_bag(listing, read_text, BagLimits(max_manifest_bytes=50)), "manifest-sha256")


def test_folder_bag_reads_only_tag_files_within_size_caps() -> None:
    files, listing, _ = folder_bag({"data/a": HELLO}, info="Title: " + "x" * 100 + "\n")
    read: list[str] = []

    def read_text(path: str) -> str:
        read.append(path)
        return files[path].decode()

    assert_refused(
        lambda: check_folder_bag(listing, read_text, BagLimits(max_bag_info_bytes=64)), "bag-info.txt: 108 bytes"
    )
    assert "bag-info.txt" not in read
    assert not any(path.startswith("data/") for path in read)


def test_folder_bag_non_utf8_tag_file_is_refused() -> None:
    files, listing, _ = folder_bag({"data/a": HELLO})
    files["bag-info.txt"] = b"Title: caf\xe9\n"
    listing = listing_of(files)
    assert_refused(lambda: check_folder_bag(listing, reader(files)), "bag-info.txt: not valid UTF-8")


def test_folder_bag_matches_manifest_and_keys_across_unicode_normalization() -> None:
    nfc, nfd = unicodedata.normalize("NFC", "data/café"), unicodedata.normalize("NFD", "data/café")
    _files, listing, read_text = folder_bag({nfc: HELLO})
    listing[nfd] = listing.pop(nfc)
    assert [item.relpath for item in check_folder_bag(listing, read_text).items] == [nfd]


# =========================================================================== extracted bags: §6.2 matrix


def test_valid_sha256_bag_is_accepted_with_bag_info(tmp_path: Path) -> None:
    bag = make_bag(
        tmp_path,
        "bag",
        {"a.txt": HELLO, "sub/b.bin": b"\x00" * 1000},
        ("sha256",),
        {
            "Title": "Survey 2026",
            "Contact-Name": "Grace Hopper",
            "Contact-Email": "grace@example.org",
            "External-Description": "Raw survey files",
            "External-Identifier": "urn:x:42",
            "Bagging-Date": "2026-11-01",
        },
    )
    info = validate_extracted_bag(bag)
    assert (info.title, info.contact, info.description) == (
        "Survey 2026",
        "Grace Hopper <grace@example.org>",
        "Raw survey files",
    )
    assert (info.external_identifier, info.bagging_date) == ("urn:x:42", "2026-11-01")
    assert info.payload_oxum == (1006, 2)
    assert info.algorithms == ("sha256",)
    assert info.items == [
        BagItem("data/a.txt", 6, sha(HELLO), None),
        BagItem("data/sub/b.bin", 1000, sha(b"\x00" * 1000), None),
    ]


def test_valid_sha512_bag_is_accepted(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "my-bag", {"a.txt": HELLO}, ("sha512",))
    info = validate_extracted_bag(bag)
    assert info.title == "my-bag"
    assert info.items == [BagItem("data/a.txt", 6, None, sha(HELLO, "sha512"))]
    assert info.algorithms == ("sha512",)
    assert validate_extracted_bag(bag, bag_name="Given").title == "Given"


def test_manifest_entry_dot_dot_secret_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t1")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    write_manifest(bag, [(sha(HELLO), "data/a.txt"), (sha(SECRET), "data/../../secret.txt")])
    assert_refused(lambda: validate_extracted_bag(bag), "'data/../../secret.txt' has a '..' path component")


def test_manifest_entry_absolute_path_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t2")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    write_manifest(bag, [(sha(HELLO), "data/a.txt"), (sha(SECRET), str(tmp_path / "secret.txt"))])
    assert_refused(lambda: validate_extracted_bag(bag), "is absolute")


def test_sibling_prefix_escape_accepted_by_bagit_is_refused_by_us(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t3")
    (tmp_path / "t3evil").mkdir()
    (tmp_path / "t3evil" / "x").write_bytes(SECRET)
    write_manifest(bag, [(sha(HELLO), "data/a.txt"), (sha(SECRET), "data/../../t3evil/x")])
    set_oxum(bag, 6, 1)
    assert bagit_says_valid(bag), "bagit 1.9 trap (commonprefix) seems fixed: revisit the bags package docstring"
    assert_refused(lambda: validate_extracted_bag(bag), "'data/../../t3evil/x' has a '..' path component")


def test_payload_symlink_to_outside_file_listed_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t4")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (bag / "data" / "link.txt").symlink_to(tmp_path / "secret.txt")
    write_manifest(bag, [(sha(HELLO), "data/a.txt"), (sha(SECRET), "data/link.txt")])
    assert_refused(lambda: validate_extracted_bag(bag), "data/link.txt: symbolic link")


def test_payload_symlink_to_outside_file_unlisted_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t4b")
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (bag / "data" / "link.txt").symlink_to(tmp_path / "secret.txt")
    assert_refused(lambda: validate_extracted_bag(bag), "data/link.txt: symbolic link")


def test_payload_symlinked_directory_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t4c")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x").write_bytes(SECRET)
    (bag / "data" / "dirlink").symlink_to(tmp_path / "outside", target_is_directory=True)
    write_manifest(bag, [(sha(HELLO), "data/a.txt"), (sha(SECRET), "data/dirlink/x")])
    assert_refused(lambda: validate_extracted_bag(bag), "data/dirlink: symbolic link")


def test_fetch_txt_to_metadata_service_for_unlisted_file_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t5")
    (bag / "fetch.txt").write_text("http://169.254.169.254/latest/meta-data 10 data/b.txt\n")
    assert bagit_says_valid(bag)
    assert_refused(lambda: validate_extracted_bag(bag), "fetch.txt: present")


def test_fetch_txt_target_outside_bag_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t9")
    (bag / "fetch.txt").write_text("https://example.org/x 10 ../../etc/cron.d/x\n")
    assert_refused(lambda: validate_extracted_bag(bag), "fetch.txt")


def test_tampered_payload_of_same_size_is_refused_by_full_validation(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t6")
    (bag / "data" / "a.txt").write_bytes(b"HELLO\n")
    assert bagit.Bag(str(bag)).is_valid(fast=True)  # the trap: fast=True checks only the Oxum
    assert_refused(lambda: validate_extracted_bag(bag), "data/a.txt sha256 validation failed")


def test_unlisted_extra_payload_file_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t7")
    (bag / "data" / "extra.bin").write_bytes(b"x")
    assert_refused(lambda: validate_extracted_bag(bag), "data/extra.bin: payload file not listed")


def test_md5_only_bag_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "t8", algorithms=("md5",))
    assert bagit_says_valid(bag)
    assert_refused(lambda: validate_extracted_bag(bag), "no sha256 or sha512 payload manifest")


# --------------------------------------------------------------------------- beyond §6.2: more bagit 1.9 holes


def test_payload_file_listed_only_in_tag_manifest_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "tm")
    drop_tagmanifests(bag)
    (bag / "data" / "x.bin").write_bytes(b"xx")
    set_oxum(bag, 8, 2)
    (bag / "tagmanifest-sha256.txt").write_text(f"{sha(b'xx')} data/x.bin\n")
    assert bagit_says_valid(bag)
    assert_refused(lambda: validate_extracted_bag(bag), "tag manifests must not list data/")


def test_payload_file_listed_only_in_md5_manifest_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "md5x", algorithms=("sha256", "md5"))
    drop_tagmanifests(bag)
    (bag / "data" / "x.bin").write_bytes(b"xx")
    set_oxum(bag, 8, 2)
    with (bag / "manifest-md5.txt").open("a") as handle:
        handle.write(f"{sha(b'xx', 'md5')}  data/x.bin\n")
    assert bagit_says_valid(bag)
    assert_refused(lambda: validate_extracted_bag(bag), "'data/x.bin' is not listed in manifest-sha256.txt")


def test_tag_manifest_sibling_prefix_entry_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "tn")
    (tmp_path / "tnevil").mkdir()
    (tmp_path / "tnevil" / "y").write_bytes(b"z")
    with (bag / "tagmanifest-sha256.txt").open("a") as handle:
        handle.write(f"{sha(b'z')} ../tnevil/y\n")
    assert bagit_says_valid(bag)
    assert_refused(lambda: validate_extracted_bag(bag), "'..' path component")


def test_symlinked_bag_info_is_refused_without_echoing_its_target(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "bi")
    drop_tagmanifests(bag)
    (tmp_path / "environ").write_text("AWS_SECRET_ACCESS_KEY=hunter2\n")
    (bag / "bag-info.txt").unlink()
    (bag / "bag-info.txt").symlink_to(tmp_path / "environ")
    with pytest.raises(bagit.BagError, match="hunter2"):
        bagit.Bag(str(bag)).validate()  # bagit reads through the link and echoes the line
    reasons = assert_refused(lambda: validate_extracted_bag(bag), "bag-info.txt: symbolic link")
    assert "hunter2" not in "".join(reasons)


def test_hard_link_in_bag_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "hl")
    (tmp_path / "outside.txt").write_bytes(HELLO)
    (bag / "data" / "a.txt").unlink()
    os.link(tmp_path / "outside.txt", bag / "data" / "a.txt")
    assert_refused(lambda: validate_extracted_bag(bag), "data/a.txt: hard link")


def test_tampered_bag_info_is_caught_by_tag_manifest(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "ti", info={"External-Identifier": "a"})
    info = bag / "bag-info.txt"
    info.write_text(info.read_text().replace("External-Identifier: a", "External-Identifier: b"))
    assert_refused(lambda: validate_extracted_bag(bag), "bag-info.txt: sha256 does not match tagmanifest-sha256.txt")


def test_file_name_bagit_cannot_read_back_is_refused_with_clear_reason(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "ws", {"a.txt": HELLO, "trailing ": b"x"})
    assert not bagit_says_valid(bag)  # upstream #143: bagit cannot validate the bag it just made
    assert_refused(lambda: validate_extracted_bag(bag), "'data/trailing '", "rename it")


def test_shake_manifest_that_crashes_bagit_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "vx")
    drop_tagmanifests(bag)
    (bag / "manifest-shake_128.txt").write_text("00  data/a.txt\n")
    assert_refused(lambda: validate_extracted_bag(bag), "unsupported checksum algorithm 'shake_128'")


def test_missing_payload_file_in_extracted_bag_is_refused_not_incomplete(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "mi", {"a.txt": HELLO, "b.txt": HELLO})
    (bag / "data" / "b.txt").unlink()
    assert_refused(lambda: validate_extracted_bag(bag), "data/b.txt: listed in a manifest but absent")


def test_bag_dir_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    bag = make_bag(tmp_path, "real")
    (tmp_path / "alias").symlink_to(bag, target_is_directory=True)
    assert_refused(lambda: validate_extracted_bag(tmp_path / "alias"), "not a directory")


# =========================================================================== serialized bags


def test_zip_bag_extracts_and_validates(tmp_path: Path, stage: Path) -> None:
    bag = make_bag(tmp_path, "zbag", {"a.txt": HELLO, "d/b.txt": b"bb"}, ("sha512",))
    archive = tmp_path / "upload.zip"
    zip_dir(bag, archive, "zbag/")
    root = extract_serialized(archive, stage)
    assert root == stage / "zbag"
    info = validate_extracted_bag(root)
    assert [(i.relpath, i.size) for i in info.items] == [("data/a.txt", 6), ("data/d/b.txt", 2)]


def test_tar_gz_detected_by_content_not_name(tmp_path: Path, stage: Path) -> None:
    bag = make_bag(tmp_path, "tbag", {"a.txt": HELLO})
    archive = tmp_path / "misnamed.zip"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(bag, arcname="./tbag")
    root = extract_serialized(archive, stage)
    assert root == stage / "tbag"
    assert validate_extracted_bag(root).items[0].relpath == "data/a.txt"


def test_plain_tar_with_bag_at_archive_root_returns_dest(tmp_path: Path, stage: Path) -> None:
    long_name = "d" * 120 + "/" + "e" * 120 + ".csv"  # needs a pax/GNU long-name header
    bag = make_bag(tmp_path, "rbag", {"a.txt": HELLO, long_name: b"1,2\n"})
    archive = tmp_path / "bag.tar"
    with tarfile.open(archive, "w") as tf:
        for path in sorted(bag.iterdir()):
            tf.add(path, arcname=path.name)
    assert extract_serialized(archive, stage) == stage
    info = validate_extracted_bag(stage, bag_name="rbag")
    assert (info.title, [item.relpath for item in info.items]) == ("rbag", ["data/a.txt", f"data/{long_name}"])


def test_zip_bomb_refused_on_ratio_before_anything_is_written(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "bomb.zip"
    write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), ("bag/data/zeros.bin", bytes(50 * MiB))])
    assert archive.stat().st_size < 100_000
    assert_refused(lambda: extract_serialized(archive, stage), "bag/data/zeros.bin", "compression ratio")
    assert list(stage.iterdir()) == []


def test_zip_declared_sizes_over_budget_refused_before_extraction(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "big.zip"
    write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), *((f"bag/data/{i}", os.urandom(600)) for i in range(4))])
    assert_refused(lambda: extract_serialized(archive, stage, BagLimits(max_total_bytes=2000)), "exceed 2000 bytes")
    assert_refused(lambda: extract_serialized(archive, stage, BagLimits(max_entry_bytes=500)), "more than the 500")
    assert list(stage.iterdir()) == []


@pytest.mark.parametrize(
    ("declared", "needle"),
    [(1024, "Bad CRC-32"), (4 * MiB, "524288 bytes, declared 4194304")],
    ids=["smaller", "larger"],
)
def test_zip_member_lying_about_its_size_is_refused(tmp_path: Path, stage: Path, declared: int, needle: str) -> None:
    archive = tmp_path / "liar.zip"
    raw = write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), ("bag/data/zeros.bin", bytes(MiB // 2))])
    archive.write_bytes(patch_zip(raw, "bag/data/zeros.bin", 24, 22, "<I", declared))
    assert_refused(lambda: extract_serialized(archive, stage, BagLimits(max_ratio=10_000)), "zeros.bin", needle)
    assert list(stage.iterdir()) == []  # bagit.txt, written before the refusal, is removed again


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("../x", "'..' path component"),
        ("bag/../../x", "'..' path component"),
        ("/abs.txt", "is absolute"),
        ("bag\\..\\x", "backslash"),
        ("bag//x", "empty path component"),
    ],
)
def test_zip_hostile_names_are_refused_not_rewritten(tmp_path: Path, stage: Path, name: str, needle: str) -> None:
    archive = tmp_path / "names.zip"
    write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), (name, b"x")])
    assert_refused(lambda: extract_serialized(archive, stage), repr(name), needle)
    assert list(stage.iterdir()) == []


def test_zip_symlink_entry_is_refused(tmp_path: Path, stage: Path) -> None:
    link = zipfile.ZipInfo("bag/data/link")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = tmp_path / "link.zip"
    write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), (link, b"/etc/passwd")])
    assert_refused(lambda: extract_serialized(archive, stage), "'bag/data/link'", "symbolic link")


def test_zip_encrypted_entry_is_refused(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "enc.zip"
    raw = write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), ("bag/data/a", b"secret")])
    archive.write_bytes(patch_zip(raw, "bag/data/a", 8, 6, "<H", 0x1))
    assert_refused(lambda: extract_serialized(archive, stage), "'bag/data/a'", "encrypted")


def test_zip_duplicate_names_are_refused(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "dup.zip"
    write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), ("bag/data/a", b"1"), ("bag/data/a", b"2")])
    assert_refused(lambda: extract_serialized(archive, stage), "duplicate of 'bag/data/a'")


def test_zip_overlapping_entries_are_refused(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "overlap.zip"
    raw = write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), ("bag/data/a", b"x" * 100)])
    archive.write_bytes(patch_zip(raw, "bag/data/a", 42, None, "<I", 0))
    assert_refused(lambda: extract_serialized(archive, stage), "overlap")


def test_zip_file_and_directory_with_same_name_are_refused(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "clash.zip"
    write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode()), ("bag/data", b"x"), ("bag/data/a", b"y")])
    assert_refused(lambda: extract_serialized(archive, stage), "used both as a file and as a directory")


@pytest.mark.parametrize(
    ("member", "needle"),
    [
        (tar_member("bag/data/link", tarfile.SYMTYPE, linkname="/etc/passwd"), "symbolic link"),
        (tar_member("bag/data/link", tarfile.SYMTYPE, linkname="../bagit.txt"), "symbolic link"),
        (tar_member("bag/data/hard", tarfile.LNKTYPE, linkname="bag/bagit.txt"), "hard link"),
        (tar_member("bag/data/null", tarfile.CHRTYPE), "device"),
        (tar_member("bag/data/disk", tarfile.BLKTYPE), "device"),
        (tar_member("bag/data/pipe", tarfile.FIFOTYPE), "FIFO"),
        (tar_member("bag/data/../../evil.txt", data=b"z"), "'..' path component"),
        (tar_member("/etc/cron.d/evil", data=b"z"), "is absolute"),
    ],
    ids=["symlink-abs", "symlink-rel", "hardlink", "chardev", "blockdev", "fifo", "dotdot", "absolute"],
)
def test_tar_hostile_members_are_refused(tmp_path: Path, stage: Path, member: tuple, needle: str) -> None:
    archive = tmp_path / "hostile.tar"
    write_tar(archive, [tar_member("bag/bagit.txt", data=BAGIT_TXT.encode()), member])
    assert_refused(lambda: extract_serialized(archive, stage), needle)
    assert list(stage.iterdir()) == []


def test_tar_gz_ratio_bomb_refused_while_streaming(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "bomb.tgz"
    zeros = bytes(32 * MiB)
    write_tar(
        archive, [tar_member("bag/bagit.txt", data=BAGIT_TXT.encode()), tar_member("bag/data/z", data=zeros)], "w:gz"
    )
    assert archive.stat().st_size < 100_000
    reasons = assert_refused(lambda: extract_serialized(archive, stage), "compression ratio above 200:1")
    produced = int(reasons[0].split("(")[1].split(" bytes")[0])
    assert produced < 4 * MiB  # stopped early, not after inflating the whole member
    assert list(stage.iterdir()) == []


def test_tar_declared_sizes_over_budget_refused_before_extraction(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "big.tar"
    members = [tar_member("bag/bagit.txt", data=BAGIT_TXT.encode())]
    members += [tar_member(f"bag/data/{i}", data=b"x" * 1000) for i in range(5)]
    write_tar(archive, members)
    assert_refused(lambda: extract_serialized(archive, stage, BagLimits(max_total_bytes=3000)), "exceed 3000 bytes")
    assert list(stage.iterdir()) == []


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_too_many_entries_are_refused(tmp_path: Path, stage: Path, kind: str) -> None:
    limits = BagLimits(max_files=5, max_tag_files=5)
    archive = tmp_path / f"many.{kind}"
    names = ["bag/bagit.txt"] + [f"bag/data/{i}" for i in range(12)]
    if kind == "zip":
        write_zip(archive, [(name, b"x") for name in names])
    else:
        write_tar(archive, [tar_member(name, data=b"x") for name in names])
    assert_refused(lambda: extract_serialized(archive, stage, limits), "more than 10 entries")


def test_archive_with_two_top_level_directories_is_refused(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "two.zip"
    write_zip(archive, [("one/bagit.txt", BAGIT_TXT.encode()), ("two/data/a", b"x")])
    assert_refused(lambda: extract_serialized(archive, stage), "single top-level directory", "one, two")
    assert list(stage.iterdir()) == []


def test_archive_without_bagit_txt_is_refused(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "nobag.zip"
    write_zip(archive, [("bag/data/a", b"x")])
    assert_refused(lambda: extract_serialized(archive, stage), "single top-level directory with bagit.txt")


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"just some text", "not a zip, tar"), (b"BZh91AY&SY", "not supported"), (b"\x1f\x8bgarbage", "corrupt")],
)
def test_unknown_or_corrupt_formats_are_refused(tmp_path: Path, stage: Path, content: bytes, needle: str) -> None:
    archive = tmp_path / "bag.tar.gz"
    archive.write_bytes(content)
    assert_refused(lambda: extract_serialized(archive, stage), needle)


def test_truncated_tar_gz_is_refused_and_dest_emptied(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "cut.tgz"
    payload = os.urandom(200_000)
    write_tar(
        archive, [tar_member("bag/bagit.txt", data=BAGIT_TXT.encode()), tar_member("bag/data/r", data=payload)], "w:gz"
    )
    archive.write_bytes(archive.read_bytes()[:150_000])
    assert_refused(lambda: extract_serialized(archive, stage), "corrupt")
    assert list(stage.iterdir()) == []


def test_dest_must_be_an_empty_directory(tmp_path: Path, stage: Path) -> None:
    archive = tmp_path / "ok.zip"
    write_zip(archive, [("bag/bagit.txt", BAGIT_TXT.encode())])
    (stage / "leftover").write_bytes(b"")
    with pytest.raises(ValueError, match="not empty"):
        extract_serialized(archive, stage)


def test_tar_oversized_pax_header_is_refused_before_it_is_buffered(tmp_path: Path, stage: Path) -> None:
    info, data = tar_member("bag/bagit.txt", data=BAGIT_TXT.encode())
    info.pax_headers = {"comment": "x" * 100_000}
    archive = tmp_path / "pax.tar"
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tf:
        tf.addfile(info, data)
    assert_refused(lambda: extract_serialized(archive, stage), "tar header block of")
