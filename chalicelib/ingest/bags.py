"""Safety checks for BagIt bags (RFC 8493) arriving at ingest: parse, check, extract, validate.

Framework-free and AWS-free. The caller reads S3 and passes text, listings, byte chunks and
local paths; every hostile or malformed bag raises :class:`BagRefused` (``reasons`` name the
path and the rule), a folder bag still being uploaded raises :class:`BagIncomplete`.

Entry points:

* folder bag (objects under a prefix): :func:`check_folder_bag` on the listing, then
  :func:`verify_fixity` per item while streaming each object;
* serialized bag (``.zip``, ``.tar``, ``.tar.gz``/``.tgz``, detected by content):
  :func:`extract_serialized` into an empty staging directory, then :func:`validate_extracted_bag`;
* the text parsers :func:`parse_bagit_txt`, :func:`parse_bag_info`, :func:`parse_manifest` and
  :func:`parse_tag_manifest`.

LoC ``bagit`` 1.9.0 traps, and how this module closes them:

* **Containment by character prefix.** ``Bag._path_is_dangerous`` compares ``realpath`` results
  with ``os.path.commonprefix``, so ``data/../../t3evil/x`` in a bag at ``…/t3`` reads the
  sibling ``…/t3evil`` and the bag validates. The same hole exists for tag manifest entries
  (``../t3evil/y``). We refuse ``..``/``.``/empty components, absolute paths, backslashes and NUL
  in every manifest path, resolve every entry with ``Path.resolve()`` +
  ``is_relative_to``, ``lstat`` the whole tree and refuse any symlink, special file or hard link.
* **Weak and partial fixity.** Any ``hashlib`` algorithm is accepted, md5-only bags validate, and
  a payload file listed only in ``manifest-md5.txt`` (or only in a *tag* manifest) is checked only
  with that algorithm even when ``manifest-sha256.txt`` exists. We require a sha256 or sha512
  payload manifest that lists every payload file, require all strong manifests to agree (and, for
  BagIt 1.0, every payload manifest), and refuse payload paths in tag manifests.
* **fetch.txt** URLs are only checked for form and nothing is fetched; entries missing from the
  manifest leave the bag valid. We refuse any bag with ``fetch.txt``.
* **fast=True** checks only Payload-Oxum, so a same-size tampered file passes. We always call
  ``validate(fast=False)`` and check Payload-Oxum ourselves.
* **File-name round trip** (upstream #143, #157): manifest lines are ``strip()``-ped (trailing
  whitespace lost), split with ``str.splitlines`` (U+2028, U+0085, FF, VT… end a line), ``%25``
  is never decoded and ``%0A``/``%0D`` are decoded case-sensitively and at most twice
  (``re.IGNORECASE`` is passed as ``count``); a leading ``*`` is dropped and ``os.path.normpath``
  folds ``data/x/../a``. Our parser follows RFC 8493 (``%0A``, ``%0D``, ``%25`` only; CR, LF or
  CRLF line ends); before calling bagit we replay bagit's reading of each manifest and refuse,
  with a clear reason, any entry it would misread instead of reporting a false "incomplete".
* **Errors outside BagError.** A ``Payload-Oxum`` without a dot or a blank ``fetch.txt`` line
  raises ``ValueError``; a ``manifest-shake_128.txt`` raises ``TypeError``; malformed manifest
  lines and ``#`` lines are skipped silently; unknown manifest names (``manifest-SHA256.txt``,
  ``manifest-blake3.txt``) are ignored; any ``BagIt-Version`` from 0.93 to 1.x and any codec
  name are accepted. We parse every tag file strictly first and translate any exception from
  bagit into a refusal.
* **Symlinked tag files are read.** A ``bag-info.txt`` symlinked to a file outside the bag is
  opened by ``Bag()`` and its first malformed line is echoed in the error message (think
  ``/proc/self/environ`` in a Lambda). The ``lstat`` walk refuses it before bagit runs.
* **No archive handling.** bagit never opens zip or tar. Our extraction inspects every member
  first (names, types, counts, declared sizes, compression ratio, overlapping zip entries,
  encryption), then streams each member with a byte budget that counts what is written. Do not
  substitute ``zipfile.extractall`` (it silently rewrites ``/abs`` and ``../x`` names) or
  ``tarfile``'s ``filter="data"`` (it silently strips a leading ``/`` and allows hard links
  inside the destination): a bag with such names must be refused, not altered.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import itertools
import os
import re
import shutil
import stat
import struct
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import bagit

from chalicelib.reasons import MAX_REASONS, Reasons

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: Algorithms whose manifests may carry a bag's fixity; a bag needs at least one of them.
STRONG_ALGORITHMS: tuple[str, ...] = ("sha256", "sha512")

#: Manifest algorithms we can parse (fixed-length ``hashlib`` digests) → hex digest length.
#: md5/sha1 and the rest are allowed beside a strong manifest but never trusted for fixity.
DIGEST_HEX_LENGTHS: dict[str, int] = {
    name: hashlib.new(name, usedforsecurity=False).digest_size * 2
    for name in sorted(hashlib.algorithms_guaranteed)
    if not name.startswith("shake_")
}

SUPPORTED_BAGIT_VERSIONS = ("0.97", "1.0")

_CHUNK = 256 * KiB
# pax and GNU long-name headers are read whole into memory by tarfile: keep them small.
_TAR_META_MAX = 64 * KiB
_TAR_HEADER_ALLOWANCE = 2 * KiB  # header + pax header + padding per member, for the stream cap
_ZIP_LOCAL_HEADER = 30
_ZIP_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_MANIFEST_LINE = re.compile(r"([^ \t]+)[ \t]+(.*)", re.DOTALL)
_PERCENT = re.compile(r"%(0[AaDd]|25)")
_PERCENT_DECODED = {"0a": "\n", "0d": "\r", "25": "%"}
_HEX = re.compile(r"[0-9A-Fa-f]+")
_DRIVE = re.compile(r"[A-Za-z]:")
_MANIFEST_NAME = re.compile(r"(tag)?manifest-([^/]+)\.txt")
_OXUM = re.compile(r"([0-9]+)\.([0-9]+)")
_BAGIT_VERSION = re.compile(r"BagIt-Version:[ \t]*(\S+)[ \t]*")
_BAGIT_ENCODING = re.compile(r"Tag-File-Character-Encoding:[ \t]*(\S+)[ \t]*")


@dataclass(frozen=True)
class BagLimits:
    """Caps applied to one bag. Every field must be positive.

    * ``max_files``: payload files (under ``data/``).
    * ``max_tag_files``: files outside ``data/`` (bagit.txt, manifests, bag-info.txt, tag
      directories). An archive may hold at most ``max_files + max_tag_files`` members of any kind.
    * ``max_total_bytes``: bytes of all files together. For extraction pass the Lambda ``/tmp``
      budget (512 MiB by default, configurable up to 10 GiB) minus a margin.
    * ``max_entry_bytes``: bytes of one file (the smaller of this and ``max_total_bytes`` applies).
    * ``max_ratio``: uncompressed/compressed ratio, per zip entry and for a whole archive or
      gzip stream, once at least ``ratio_min_bytes`` have been (or would be) produced; small
      members are exempt because a few KiB of blank text legitimately deflate 200:1.
    * ``max_manifest_lines``: lines per manifest (the smaller of this and ``max_files`` applies
      to payload manifests, of this and ``max_tag_files`` to tag manifests).
    * ``max_line_bytes``: bytes per manifest, bagit.txt or bag-info.txt line (UTF-8).
    * ``max_manifest_bytes``: size of one payload manifest.
    * ``max_bag_info_bytes``: size of bag-info.txt.
    * ``max_tag_file_bytes``: size of bagit.txt and of each tag manifest.
    """

    max_files: int = 100_000
    max_tag_files: int = 1_000
    max_total_bytes: int = 5 * GiB
    max_entry_bytes: int = 5 * GiB
    max_ratio: float = 200.0
    ratio_min_bytes: int = 1 * MiB
    max_manifest_lines: int = 100_000
    max_line_bytes: int = 4096
    max_manifest_bytes: int = 64 * MiB
    max_bag_info_bytes: int = 64 * KiB
    max_tag_file_bytes: int = 1 * MiB

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"BagLimits.{name} must be a positive number, not {value!r}")

    @property
    def entry_cap(self) -> int:
        return min(self.max_entry_bytes, self.max_total_bytes)

    @property
    def member_cap(self) -> int:
        return self.max_files + self.max_tag_files


DEFAULT_LIMITS = BagLimits()


class BagRefused(Exception):
    """The bag is hostile or malformed; ``reasons`` are human-readable, each naming a path or rule."""

    def __init__(self, reasons: Iterable[str]) -> None:
        self.reasons: list[str] = list(reasons) or ["bag refused"]
        shown = "; ".join(self.reasons[:3])
        more = len(self.reasons) - 3
        super().__init__(shown + (f" (+{more} more)" if more > 0 else ""))


class BagIncomplete(Exception):
    """A folder bag is not fully uploaded yet: ``missing`` lists the absent paths (retry later)."""

    def __init__(self, missing: Iterable[str]) -> None:
        self.missing: list[str] = list(missing)
        shown = ", ".join(self.missing[:5])
        more = len(self.missing) - 5
        super().__init__(f"bag incomplete, missing: {shown}" + (f" (+{more} more)" if more > 0 else ""))


@dataclass(frozen=True)
class BagItem:
    """One payload file: ``relpath`` relative to the bag root (``data/…``), as listed or on disk."""

    relpath: str
    size: int
    sha256: str | None
    sha512: str | None


@dataclass(frozen=True)
class BagInfo:
    """What the catalogue needs from an accepted bag.

    ``raw`` holds every bag-info.txt element in file order (continuation lines joined with
    ``"\\n"``); ``items`` are sorted by ``relpath``; ``algorithms`` lists the payload manifests
    present, strong or not.
    """

    title: str
    contact: str | None
    description: str | None
    external_identifier: str | None
    bagging_date: str | None
    raw: dict[str, list[str]]
    items: list[BagItem]
    payload_oxum: tuple[int, int] | None
    algorithms: tuple[str, ...]


# --------------------------------------------------------------------------- reasons and paths


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: the form bag paths are compared in (two paths that differ
    only by normalization name the same file on some filesystems)."""
    return unicodedata.normalize("NFC", text)


def _utf8_size(text: str) -> int | None:
    """Bytes of ``text`` in UTF-8, or None if it holds lone surrogates (it was not valid UTF-8)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe relative POSIX path inside a bag, or None."""
    if not path:
        return "is empty"
    if "\x00" in path:
        return "contains NUL"
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/"):
        return "is absolute"
    if _DRIVE.match(path):
        return "starts with a drive letter"
    if path.startswith("~"):
        return "starts with '~'"
    for part in path.split("/"):
        if part == "":
            return "has an empty path component"
        if part in (".", ".."):
            return f"has a {part!r} path component"
    if _utf8_size(path) is None:
        return "is not valid UTF-8"
    return None


def encode_manifest_path(path: str) -> str:
    """Percent-encode ``%``, CR and LF as RFC 8493 requires (the inverse of manifest decoding)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _decode_manifest_path(raw: str) -> str:
    return _PERCENT.sub(lambda m: _PERCENT_DECODED[m.group(1).lower()], raw)


def _lines(text: str) -> list[str]:
    """Split on CR, LF or CRLF only (``str.splitlines`` also splits on U+2028, FF, VT…)."""
    lines = _LINE_SPLIT.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _check_text(text: str, source: str, cap: int, reasons: Reasons) -> bool:
    """Common checks on a whole tag file; False when parsing should not continue."""
    size = len(text) if len(text) > cap else _utf8_size(text)
    if size is None:
        reasons.add(f"{source}: not valid UTF-8")
        return False
    if size > cap:
        reasons.add(f"{source}: larger than {cap} bytes")
        return False
    if text.startswith("\ufeff"):
        reasons.add(f"{source}: starts with a byte-order mark (not allowed in tag files)")
        return False
    return True


# --------------------------------------------------------------------------- text parsers


def parse_bagit_txt(text: str) -> tuple[str, str]:
    """Parse bagit.txt; return ``(version, encoding)``.

    RFC 8493: exactly ``BagIt-Version: M.N`` then ``Tag-File-Character-Encoding: UTF-8``, no BOM.
    We accept versions 0.97 and 1.0 and the UTF-8 encoding only (trailing blank lines are tolerated).
    """
    reasons = Reasons(BagRefused)
    if not _check_text(text, "bagit.txt", 4 * KiB, reasons):
        reasons.raise_if_any()
    lines = _lines(text)
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) != 2:
        raise BagRefused([f"bagit.txt: must have exactly 2 lines, found {len(lines)}"])
    version_match = _BAGIT_VERSION.fullmatch(lines[0])
    encoding_match = _BAGIT_ENCODING.fullmatch(lines[1])
    if version_match is None:
        reasons.add("bagit.txt: line 1 must be 'BagIt-Version: M.N'")
    elif version_match.group(1) not in SUPPORTED_BAGIT_VERSIONS:
        reasons.add(f"bagit.txt: BagIt-Version {version_match.group(1)!r} is not 0.97 or 1.0")
    if encoding_match is None:
        reasons.add("bagit.txt: line 2 must be 'Tag-File-Character-Encoding: UTF-8'")
    else:
        try:
            codec = codecs.lookup(encoding_match.group(1)).name
        except LookupError:
            codec = ""
        if codec != "utf-8":
            reasons.add(f"bagit.txt: Tag-File-Character-Encoding {encoding_match.group(1)!r} is not UTF-8")
    reasons.raise_if_any()
    assert version_match is not None
    return version_match.group(1), "UTF-8"


def parse_bag_info(text: str, limits: BagLimits = DEFAULT_LIMITS) -> dict[str, list[str]]:
    """Parse bag-info.txt into ``label → values`` (labels as written, in file order).

    ``Label: value`` lines; a line starting with a space or tab continues the previous value
    (joined with ``"\\n"``); blank lines are skipped. Size, line length and NUL are checked.
    """
    reasons = Reasons(BagRefused)
    if not _check_text(text, "bag-info.txt", limits.max_bag_info_bytes, reasons):
        reasons.raise_if_any()
    if "\x00" in text:
        raise BagRefused(["bag-info.txt: contains NUL"])
    fields: dict[str, list[str]] = {}
    current: tuple[str, int] | None = None
    for number, line in enumerate(_lines(text), start=1):
        where = f"bag-info.txt line {number}"
        if len(line.encode("utf-8")) > limits.max_line_bytes:
            reasons.add(f"{where}: longer than {limits.max_line_bytes} bytes")
            continue
        if not line.strip():
            continue
        if line[0] in " \t":
            if current is None:
                reasons.add(f"{where}: continuation line before any label")
                continue
            label, index = current
            fields[label][index] += "\n" + line.strip()
            continue
        label, colon, value = line.partition(":")
        label = label.strip()
        if not colon or not label:
            reasons.add(f"{where}: expected 'Label: value'")
            current = None
            continue
        values = fields.setdefault(label, [])
        values.append(value.strip())
        current = (label, len(values) - 1)
    reasons.raise_if_any()
    return fields


@dataclass(frozen=True)
class _Manifest:
    name: str
    algorithm: str
    digests: dict[str, str]  # decoded path → lower-case hex digest
    raw: dict[str, str]  # decoded path → path as written in the file
    text: str

    def by_nfc(self) -> dict[str, str]:
        return {nfc(path): digest for path, digest in self.digests.items()}


def _parse_manifest(text: str, algorithm: str, limits: BagLimits, source: str, *, payload: bool) -> _Manifest:
    hex_length = DIGEST_HEX_LENGTHS.get(algorithm)
    if hex_length is None:
        raise BagRefused([f"{source}: unsupported checksum algorithm {algorithm!r}"])
    reasons = Reasons(BagRefused)
    cap = limits.max_manifest_bytes if payload else limits.max_tag_file_bytes
    if not _check_text(text, source, cap, reasons):
        reasons.raise_if_any()
    lines = _lines(text)
    max_lines = min(limits.max_manifest_lines, limits.max_files if payload else limits.max_tag_files)
    if len(lines) > max_lines:
        raise BagRefused([f"{source}: more than {max_lines} lines"])
    digests: dict[str, str] = {}
    raw_paths: dict[str, str] = {}
    seen_nfc: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        where = f"{source} line {number}"
        if len(line.encode("utf-8")) > limits.max_line_bytes:
            reasons.add(f"{where}: longer than {limits.max_line_bytes} bytes")
            continue
        if not line.strip(" \t"):
            continue
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None:
            reasons.add(f"{where}: expected '<checksum> <path>'")
            continue
        digest, raw = match.groups()
        if len(digest) != hex_length or not _HEX.fullmatch(digest):
            reasons.add(f"{where}: {algorithm} checksum must be {hex_length} hex digits, got {digest[:140]!r}")
            continue
        path = _decode_manifest_path(raw)
        problem = path_problem(path)
        if problem is not None:
            reasons.add(f"{where}: path {path!r} {problem}")
            continue
        if payload and not path.startswith("data/"):
            reasons.add(f"{where}: path {path!r} is not under data/ (payload manifests list payload files only)")
            continue
        if not payload and (path == "data" or path.startswith("data/")):
            reasons.add(f"{where}: path {path!r} is a payload file (tag manifests must not list data/)")
            continue
        if path in digests:
            reasons.add(f"{where}: path {path!r} listed twice")
            continue
        key = nfc(path)
        if key in seen_nfc:
            reasons.add(f"{where}: path {path!r} differs from {seen_nfc[key]!r} only by Unicode normalization")
            continue
        seen_nfc[key] = path
        digests[path] = digest.lower()
        raw_paths[path] = raw
    reasons.raise_if_any()
    return _Manifest(source, algorithm, digests, raw_paths, text)


def parse_manifest(
    text: str, algorithm: str, limits: BagLimits = DEFAULT_LIMITS, *, source: str | None = None
) -> dict[str, str]:
    """Parse a payload manifest into ``path → lower-case hex digest``.

    RFC 8493: ``<checksum> <path>`` separated by spaces/tabs, lines ended by CR, LF or CRLF,
    ``%0A``/``%0D``/``%25`` decoded in paths (case-insensitively; nothing else is decoded).
    Refused: absolute paths, ``..``/``.``/empty components, backslashes, NUL, paths not under
    ``data/``, duplicates (also after Unicode NFC), lines over ``max_line_bytes``, more lines than
    allowed, digests of the wrong length or charset, a BOM. ``source`` names the file in reasons.
    """
    return _parse_manifest(text, algorithm, limits, source or f"manifest-{algorithm}.txt", payload=True).digests


def parse_tag_manifest(
    text: str, algorithm: str, limits: BagLimits = DEFAULT_LIMITS, *, source: str | None = None
) -> dict[str, str]:
    """Parse a tag manifest: as :func:`parse_manifest`, but every path must be outside ``data/``."""
    return _parse_manifest(text, algorithm, limits, source or f"tagmanifest-{algorithm}.txt", payload=False).digests


def _first(raw: Mapping[str, list[str]], label: str) -> str | None:
    """First non-empty value of a (case-insensitive) label."""
    wanted = label.casefold()
    for name, values in raw.items():
        if name.casefold() == wanted:
            for value in values:
                if value.strip():
                    return value
    return None


def _parse_oxum(raw: Mapping[str, list[str]], reasons: Reasons) -> tuple[int, int] | None:
    values = {value.strip() for name, vals in raw.items() if name.casefold() == "payload-oxum" for value in vals}
    if not values:
        return None
    if len(values) > 1:
        reasons.add(f"bag-info.txt: conflicting Payload-Oxum values {sorted(values)}")
        return None
    value = values.pop()
    match = _OXUM.fullmatch(value)
    if match is None:
        reasons.add(f"bag-info.txt: Payload-Oxum {value!r} is not '<octets>.<files>'")
        return None
    return int(match.group(1)), int(match.group(2))


def _bag_info(
    raw: dict[str, list[str]],
    items: list[BagItem],
    oxum: tuple[int, int] | None,
    algorithms: tuple[str, ...],
    bag_name: str,
) -> BagInfo:
    description = _first(raw, "External-Description")
    title = _first(raw, "Title")
    if title is None and description is not None:
        title = description.strip().split("\n", 1)[0].strip()
    name, email = _first(raw, "Contact-Name"), _first(raw, "Contact-Email")
    contact = f"{name} <{email}>" if name and email else (name or email)
    return BagInfo(
        title=title or bag_name,
        contact=contact,
        description=description,
        external_identifier=_first(raw, "External-Identifier"),
        bagging_date=_first(raw, "Bagging-Date"),
        raw=raw,
        items=items,
        payload_oxum=oxum,
        algorithms=algorithms,
    )


# --------------------------------------------------------------------------- bag as a listing


@dataclass
class _Checked:
    info: BagInfo | None  # None while files are missing
    missing: list[str]
    manifests: list[_Manifest]
    tag_manifests: list[_Manifest]


def _manifest_files(tags: Iterable[str], reasons: Reasons) -> tuple[dict[str, str], dict[str, str]]:
    """Top-level ``manifest-<alg>.txt`` and ``tagmanifest-<alg>.txt`` names, keyed by algorithm."""
    payload: dict[str, str] = {}
    tag: dict[str, str] = {}
    for name in sorted(tags):
        match = _MANIFEST_NAME.fullmatch(name)
        if match is None:
            continue
        algorithm = match.group(2)
        if algorithm not in DIGEST_HEX_LENGTHS:
            reasons.add(f"{name}: unsupported checksum algorithm {algorithm!r} (use sha256 or sha512)")
            continue
        (tag if match.group(1) else payload)[algorithm] = name
    return payload, tag


def _read_tag(read_text: Callable[[str], str], path: str, size: int, cap: int, reasons: Reasons) -> str | None:
    if size > cap:
        reasons.add(f"{path}: {size} bytes, more than the {cap} allowed")
        return None
    try:
        return read_text(path)
    except UnicodeDecodeError:
        reasons.add(f"{path}: not valid UTF-8")
        return None


def _check_bag_listing(
    listing: Mapping[str, int], read_text: Callable[[str], str], limits: BagLimits, bag_name: str
) -> _Checked:
    """Everything that can be decided from the listing and the tag files' text."""
    reasons = Reasons(BagRefused)
    files: dict[str, int] = {}
    for path, size in listing.items():
        if path.endswith("/") and size == 0:
            continue  # an S3 "folder" placeholder
        problem = path_problem(path)
        if problem is not None:
            reasons.add(f"{path!r}: path {problem}")
        elif isinstance(size, bool) or not isinstance(size, int) or size < 0:
            reasons.add(f"{path}: invalid size {size!r}")
        else:
            files[path] = size
    by_nfc: dict[str, str] = {}
    for path in sorted(files):
        key = nfc(path)
        if key in by_nfc:
            reasons.add(f"{path!r}: differs from {by_nfc[key]!r} only by Unicode normalization")
        by_nfc[key] = path
    payload = {path: size for path, size in files.items() if path.startswith("data/")}
    tags = {path: size for path, size in files.items() if not path.startswith("data/")}
    if len(payload) > limits.max_files:
        reasons.add(f"data/: {len(payload)} payload files, more than the {limits.max_files} allowed")
    if len(tags) > limits.max_tag_files:
        reasons.add(f"{len(tags)} tag files outside data/, more than the {limits.max_tag_files} allowed")
    for path, size in sorted(files.items()):
        if size > limits.entry_cap:
            reasons.add(f"{path}: {size} bytes, more than the {limits.entry_cap} allowed per file")
    total = sum(files.values())
    if total > limits.max_total_bytes:
        reasons.add(f"bag holds {total} bytes, more than the {limits.max_total_bytes} allowed")
    if "fetch.txt" in tags:
        reasons.add("fetch.txt: present; bags that name remote files are refused (their URLs are not fetched)")
    payload_names, tag_names = _manifest_files(tags, reasons)
    reasons.raise_if_any()

    missing: list[str] = []
    texts: dict[str, str] = {}
    version: str | None = None
    if "bagit.txt" in tags:
        text = _read_tag(read_text, "bagit.txt", tags["bagit.txt"], limits.max_tag_file_bytes, reasons)
        if text is not None:
            texts["bagit.txt"] = text
            try:
                version, _encoding = parse_bagit_txt(text)
            except BagRefused as exc:
                reasons.gather(exc.reasons)
    else:
        missing.append("bagit.txt")

    tag_manifests: list[_Manifest] = []
    for algorithm, name in sorted(tag_names.items()):
        text = _read_tag(read_text, name, tags[name], limits.max_tag_file_bytes, reasons)
        if text is None:
            continue
        texts[name] = text
        try:
            tag_manifests.append(_parse_manifest(text, algorithm, limits, name, payload=False))
        except BagRefused as exc:
            reasons.gather(exc.reasons)
    for tag_manifest in tag_manifests:
        for path in tag_manifest.digests:
            if nfc(path) not in by_nfc and path not in missing:
                missing.append(path)

    manifests: list[_Manifest] = []
    for algorithm, name in sorted(payload_names.items()):
        text = _read_tag(read_text, name, tags[name], limits.max_manifest_bytes, reasons)
        if text is None:
            continue
        texts[name] = text
        try:
            manifests.append(_parse_manifest(text, algorithm, limits, name, payload=True))
        except BagRefused as exc:
            reasons.gather(exc.reasons)
    strong = [m for m in manifests if m.algorithm in STRONG_ALGORITHMS]
    if not any(algorithm in STRONG_ALGORITHMS for algorithm in payload_names):
        expected = [f"manifest-{a}.txt" for a in STRONG_ALGORITHMS]
        if any(name in missing for name in expected):
            pass  # a tag manifest announces the strong manifest: still uploading
        elif payload_names:
            reasons.add(
                f"no sha256 or sha512 payload manifest (found {', '.join(sorted(payload_names.values()))}); "
                "bags with only md5/sha1 manifests are refused"
            )
        else:
            missing.append(" or ".join(expected))

    raw_info: dict[str, list[str]] = {}
    if "bag-info.txt" in tags:
        text = _read_tag(read_text, "bag-info.txt", tags["bag-info.txt"], limits.max_bag_info_bytes, reasons)
        if text is not None:
            texts["bag-info.txt"] = text
            try:
                raw_info = parse_bag_info(text, limits)
            except BagRefused as exc:
                reasons.gather(exc.reasons)
    oxum = _parse_oxum(raw_info, reasons)

    # Tag files whose text we hold are checked against the tag manifests here (cheap, and it
    # catches a manifest edited after bagging); validate_extracted_bag checks every entry.
    for tag_manifest in tag_manifests:
        for path, digest in tag_manifest.digests.items():
            if path in texts:
                actual = hashlib.new(tag_manifest.algorithm, texts[path].encode("utf-8"), usedforsecurity=False)
                if actual.hexdigest() != digest:
                    reasons.add(f"{path}: {tag_manifest.algorithm} does not match {tag_manifest.name}")

    payload_nfc = {nfc(path) for path in payload}
    listed: set[str] = set()
    if strong:
        reference = strong[0]
        listed = set(reference.by_nfc())
        for other in manifests:
            if other is reference:
                continue
            other_paths = set(other.by_nfc())
            must_match = other.algorithm in STRONG_ALGORITHMS or version == "1.0"
            extra = sorted(other_paths - listed)
            lacking = sorted(listed - other_paths) if must_match else []
            for path in extra[:5]:
                reasons.add(f"{other.name}: {path!r} is not listed in {reference.name}")
            for path in lacking[:5]:
                reasons.add(f"{other.name}: does not list {path!r} (every payload file must be in every manifest)")
        unlisted = sorted(payload_nfc - listed)
        for path in unlisted[:MAX_REASONS]:
            reasons.add(f"{by_nfc[path]}: payload file not listed in {reference.name}")
        reference_paths = {nfc(path): path for path in reference.digests}
        missing.extend(reference_paths[key] for key in sorted(listed - payload_nfc))
    reasons.raise_if_any()

    if missing:
        return _Checked(None, missing, manifests, tag_manifests)
    payload_bytes = sum(payload.values())
    if oxum is not None and oxum != (payload_bytes, len(payload)):
        reasons.add(
            f"bag-info.txt: Payload-Oxum {oxum[0]}.{oxum[1]} does not match the payload "
            f"({payload_bytes} bytes in {len(payload)} files)"
        )
    reasons.raise_if_any()

    digests = {m.algorithm: m.by_nfc() for m in strong}
    items = [
        BagItem(
            relpath=by_nfc[key],
            size=payload[by_nfc[key]],
            sha256=digests.get("sha256", {}).get(key),
            sha512=digests.get("sha512", {}).get(key),
        )
        for key in listed
    ]
    items.sort(key=lambda item: item.relpath)
    algorithms = tuple(sorted(payload_names))
    return _Checked(_bag_info(raw_info, items, oxum, algorithms, bag_name), [], manifests, tag_manifests)


def check_folder_bag(
    listing: Mapping[str, int],
    read_text: Callable[[str], str],
    limits: BagLimits = DEFAULT_LIMITS,
    *,
    bag_name: str = "",
) -> BagInfo:
    """Check a bag stored as objects under a prefix, from its listing.

    ``listing`` maps paths relative to the bag root (``bagit.txt``, ``data/a.csv``…) to sizes;
    zero-byte keys ending in ``/`` are ignored. ``read_text(path)`` returns a small tag file
    decoded with ``bytes.decode("utf-8")`` (strict, no newline translation: the text is re-encoded
    to check tag-manifest digests); it is called only for bagit.txt, bag-info.txt and manifests,
    after their listed size was checked against ``limits``. ``bag_name`` is the title of last resort.

    Raises :class:`BagRefused` for anything hostile or malformed (fetch.txt, md5/sha1-only,
    unlisted payload files, Payload-Oxum mismatch with every file present, limits…) and
    :class:`BagIncomplete` while bagit.txt, a manifest or manifest-listed files are absent.
    Fixity is not checked here: stream each item through :func:`verify_fixity`.
    """
    checked = _check_bag_listing(listing, read_text, limits, bag_name)
    if checked.missing:
        raise BagIncomplete(sorted(checked.missing))
    assert checked.info is not None
    return checked.info


def verify_fixity(item: BagItem, chunks: Iterable[bytes]) -> None:
    """Stream ``chunks`` (the item's bytes) through sha256/sha512; raise BagRefused on any mismatch.

    Stops consuming as soon as more than ``item.size`` bytes arrive.
    """
    hashers = {
        name: (hashlib.new(name), expected)
        for name, expected in (("sha256", item.sha256), ("sha512", item.sha512))
        if expected
    }
    if not hashers:
        raise BagRefused([f"{item.relpath}: no sha256 or sha512 checksum to verify"])
    received = 0
    for chunk in chunks:
        received += len(chunk)
        if received > item.size:
            raise BagRefused([f"{item.relpath}: more than the {item.size} bytes listed"])
        for hasher, _expected in hashers.values():
            hasher.update(chunk)
    if received != item.size:
        raise BagRefused([f"{item.relpath}: {received} bytes, expected {item.size}"])
    failed = [name for name, (hasher, expected) in hashers.items() if hasher.hexdigest() != expected.lower()]
    if failed:
        raise BagRefused([f"{item.relpath}: {name} checksum mismatch" for name in failed])


# --------------------------------------------------------------------------- extracted bag on disk


def _scan_tree(root: Path, limits: BagLimits) -> dict[str, int]:
    """Regular files under ``root`` (relative POSIX path → size); refuse links and special files."""
    reasons = Reasons(BagRefused)
    files: dict[str, int] = {}
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_symlink():
                    reasons.add(f"{rel}: symbolic link (not allowed anywhere in a bag)")
                elif entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, rel + "/"))
                elif entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    if info.st_nlink > 1:
                        reasons.add(f"{rel}: hard link (not allowed in a bag)")
                    files[rel] = info.st_size
                    if len(files) > limits.member_cap:
                        reasons.add(f"bag holds more than {limits.member_cap} files")
                        reasons.raise_if_any()
                else:
                    reasons.add(f"{rel}: not a regular file or directory")
    reasons.raise_if_any()
    return files


def _open_nofollow(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    return os.fdopen(fd, "rb")


def _read_disk_text(root: Path, limits: BagLimits) -> Callable[[str], str]:
    cap = max(limits.max_manifest_bytes, limits.max_tag_file_bytes, limits.max_bag_info_bytes)

    def read_text(rel: str) -> str:
        with _open_nofollow(root / rel) as handle:
            data = handle.read(cap + 1)
        return data.decode("utf-8")

    return read_text


def bagit_manifest_view(text: str) -> list[str]:
    """The paths bagit 1.9 ``Bag._load_manifests`` reads from a manifest's text (its quirks kept)."""
    paths = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.split(None, 1)
        if len(parts) != 2:
            continue
        path = os.path.normpath(parts[1].lstrip("*"))
        path = re.sub("%0D", "\r", path, count=2)
        path = re.sub("%0A", "\n", path, count=2)
        paths.append(path)
    return paths


def _run_bagit(root: Path, reasons: Reasons) -> None:
    prefixes = sorted({os.path.abspath(root) + os.sep, str(root.resolve()) + os.sep}, key=len, reverse=True)

    def clean(message: str) -> str:
        for prefix in prefixes:
            message = message.replace(prefix, "")
        return message

    try:
        # processes=1: bagit's multiprocessing.Pool needs /dev/shm, which Lambda does not have.
        bagit.Bag(str(root)).validate(processes=1, fast=False, completeness_only=False)
    except bagit.BagValidationError as exc:
        reasons.add(f"bagit: {clean(str(exc.message))}")
        for detail in exc.details:
            reasons.add(f"bagit: {clean(str(detail))}")
    except bagit.BagError as exc:
        reasons.add(f"bagit: {clean(str(exc))}")
    except Exception as exc:  # bagit 1.9 raises ValueError/TypeError on some malformed bags
        reasons.add(f"bagit failed with {type(exc).__name__}: {clean(str(exc))}")


def validate_extracted_bag(
    bag_dir: Path, limits: BagLimits = DEFAULT_LIMITS, *, bag_name: str | None = None
) -> BagInfo:
    """Fully validate a bag on local disk (e.g. the path :func:`extract_serialized` returned).

    Our checks run first: ``lstat`` walk refusing symlinks, hard links and special files;
    the listing checks of :func:`check_folder_bag` (a missing file is a refusal here);
    ``Path.resolve()`` containment of every manifest and tag-manifest entry; names bagit 1.9
    would misread; every tag-manifest digest. Then ``bagit.Bag(...).validate(fast=False)`` checks
    every payload checksum; its errors become reasons. ``bag_name`` (default: the directory
    name) is the title of last resort.
    """
    root = Path(os.path.abspath(bag_dir))
    try:
        mode = os.lstat(root).st_mode
    except FileNotFoundError:
        raise BagRefused([f"{root.name}: bag directory does not exist"]) from None
    if not stat.S_ISDIR(mode):
        raise BagRefused([f"{root.name}: bag root is not a directory (symlinks are refused)"])
    files = _scan_tree(root, limits)
    checked = _check_bag_listing(files, _read_disk_text(root, limits), limits, bag_name or root.name)
    if checked.missing:
        raise BagRefused([f"{path}: listed in a manifest but absent from the bag" for path in sorted(checked.missing)])
    assert checked.info is not None

    reasons = Reasons(BagRefused)
    resolved_root = root.resolve()
    for manifest in checked.manifests + checked.tag_manifests:
        for path in manifest.digests:
            if not (resolved_root / path).resolve().is_relative_to(resolved_root):
                reasons.add(f"{manifest.name}: {path!r} resolves outside the bag")
        bagit_paths = set(bagit_manifest_view(manifest.text))
        for path in sorted(manifest.digests):
            if path not in bagit_paths:
                reasons.add(
                    f"{manifest.name}: bagit 1.9 cannot read the name {manifest.raw[path]!r} back "
                    "(trailing space, '%', CR/LF or a Unicode line separator; upstream #143/#157): rename it"
                )
    reasons.raise_if_any()

    for tag_manifest in checked.tag_manifests:
        for path, expected in sorted(tag_manifest.digests.items()):
            hasher = hashlib.new(tag_manifest.algorithm, usedforsecurity=False)
            with _open_nofollow(root / path) as handle:
                while chunk := handle.read(_CHUNK):
                    hasher.update(chunk)
            if hasher.hexdigest() != expected:
                reasons.add(f"{path}: {tag_manifest.algorithm} does not match {tag_manifest.name}")
    reasons.raise_if_any()

    _run_bagit(root, reasons)
    reasons.raise_if_any()
    return checked.info


# --------------------------------------------------------------------------- serialized bags


@dataclass(frozen=True, slots=True)
class _Member:
    name: str  # normalized: no leading './', no trailing '/'
    is_dir: bool
    size: int


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class _ReadOnlyStream:
    """Minimal non-seekable read-only file object over ``source`` that counts the bytes read."""

    def __init__(self, source: _Readable) -> None:
        self._source = source
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(min(size, _CHUNK) if size >= 0 else _CHUNK)
        self.count += len(data)
        return data

    def write(self, data: bytes, /) -> int:
        raise OSError("read-only stream")

    def tell(self) -> int:
        return self.count

    def seek(self, pos: int, /) -> int:
        raise OSError("stream is not seekable")

    def close(self) -> None:
        """The owner of ``source`` closes it."""


class _MeteredStream(_ReadOnlyStream):
    """The decompressed tar stream: refuses past ``cap`` bytes, or past the ratio, while streaming."""

    def __init__(self, source: _Readable, compressed: _ReadOnlyStream | None, cap: int, limits: BagLimits) -> None:
        super().__init__(source)
        self._compressed = compressed
        self._cap = cap
        self._limits = limits

    def read(self, size: int = -1, /) -> bytes:
        data = super().read(size)
        if self.count > self._cap:
            raise BagRefused([f"archive: tar stream exceeds {self._cap} bytes"])
        compressed = self._compressed
        if (
            compressed is not None
            and self.count >= self._limits.ratio_min_bytes
            and self.count > self._limits.max_ratio * max(compressed.count, 1)
        ):
            raise BagRefused(
                [
                    f"archive: compression ratio above {self._limits.max_ratio:g}:1 "
                    f"({self.count} bytes from {compressed.count} compressed bytes)"
                ]
            )
        return data


_TAR_META_TYPES = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


class _GuardedTarInfo(tarfile.TarInfo):
    """Refuses oversized pax / GNU long-name headers before tarfile reads them whole into memory."""

    def _proc_member(self, tf: tarfile.TarFile) -> tarfile.TarInfo:
        if self.size < 0 or (self.type in _TAR_META_TYPES and self.size > _TAR_META_MAX):
            raise BagRefused([f"archive: tar header block of {self.size} bytes refused"])
        return super()._proc_member(tf)  # type: ignore[misc]


def _sniff(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head[257:262] == b"ustar":
        return "tar"
    if head.startswith((b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")):
        raise BagRefused([f"{path.name}: bzip2, xz and zstd archives are not supported (use zip, tar or tar.gz)"])
    raise BagRefused([f"{path.name}: not a zip, tar or gzip-compressed tar archive"])


def _member_name(raw: str, is_dir: bool) -> tuple[str, str | None]:
    """Normalize an archive member name; return ``(name, problem)``. ``""`` is the archive root."""
    if "\x00" in raw:
        return raw, "contains NUL"
    if "\\" in raw:
        return raw, "contains a backslash"
    if raw.startswith("/") or _DRIVE.match(raw):
        return raw, "is absolute"
    name = raw
    if raw.endswith("/"):
        if not is_dir:
            return raw, "is a file whose name ends with '/'"
        name = raw[:-1]
    parts = name.split("/")
    while parts and parts[0] == ".":
        parts.pop(0)
    if not parts or parts == [""]:
        return "", None
    for part in parts:
        if part == "":
            return raw, "has an empty path component"
        if part in (".", ".."):
            return raw, f"has a {part!r} path component"
    normalized = "/".join(parts)
    if _utf8_size(normalized) is None:
        return raw, "is not valid UTF-8"
    return normalized, None


class _Plan:
    """Members seen while inspecting an archive, with the checks that need all of them."""

    def __init__(self, limits: BagLimits) -> None:
        self.limits = limits
        self.reasons = Reasons(BagRefused)
        self.members: list[_Member] = []
        self.seen = 0
        self.total = 0
        self._names: dict[str, str] = {}  # NFC name → name

    def add(self, raw: str, is_dir: bool, size: int, problem: str | None = None) -> None:
        self.seen += 1
        if self.seen > self.limits.member_cap:
            self.reasons.add(f"archive: more than {self.limits.member_cap} entries")
            self.reasons.raise_if_any()
        name, name_problem = _member_name(raw, is_dir)
        problem = name_problem or problem
        if problem is not None:
            self.reasons.add(f"archive member {raw!r}: {problem}")
            return
        if name == "":
            if not is_dir:
                self.reasons.add(f"archive member {raw!r}: a file with no name")
            return
        key = nfc(name)
        if key in self._names:
            self.reasons.add(f"archive member {raw!r}: duplicate of {self._names[key]!r}")
            return
        self._names[key] = name
        if not is_dir:
            if size > self.limits.entry_cap:
                self.reasons.add(f"archive member {raw!r}: {size} bytes, more than the {self.limits.entry_cap} allowed")
            self.total += size
            if self.total > self.limits.max_total_bytes:
                self.reasons.add(f"archive: declared sizes exceed {self.limits.max_total_bytes} bytes")
                self.reasons.raise_if_any()
        self.members.append(_Member(name, is_dir, size))

    def finish(self) -> str:
        """Run the whole-archive checks; return the bag root relative to the archive (``""`` = root)."""
        files = {m.name for m in self.members if not m.is_dir}
        parents = {m.name.rsplit("/", 1)[0] for m in self.members if "/" in m.name}
        implied: set[str] = set()
        for parent in parents:
            parts = parent.split("/")
            implied.update("/".join(parts[: i + 1]) for i in range(len(parts)))
        for name in sorted(files & implied)[:5]:
            self.reasons.add(f"archive member {name!r}: used both as a file and as a directory")
        self.reasons.raise_if_any()
        tops = {m.name.split("/", 1)[0] for m in self.members}
        if "bagit.txt" in files:
            return ""
        if len(tops) == 1:
            top = next(iter(tops))
            if f"{top}/bagit.txt" in files:
                return top
        raise BagRefused(
            [
                "archive: must hold a single top-level directory with bagit.txt, or bagit.txt at its root "
                f"(top-level entries: {', '.join(sorted(tops)[:5]) or 'none'})"
            ]
        )


class _Budget:
    def __init__(self, limits: BagLimits) -> None:
        self.limits = limits
        self.written = 0

    def copy(self, source: _Readable, target: Path, member: _Member) -> None:
        """Stream ``source`` into a new file, counting the bytes really produced."""
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        received = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                received += len(chunk)
                self.written += len(chunk)
                if received > member.size:
                    raise BagRefused([f"archive member {member.name!r}: more bytes than its declared {member.size}"])
                if received > self.limits.entry_cap:
                    raise BagRefused([f"archive member {member.name!r}: more than {self.limits.entry_cap} bytes"])
                if self.written > self.limits.max_total_bytes:
                    raise BagRefused([f"archive: extraction exceeds {self.limits.max_total_bytes} bytes"])
                out.write(chunk)
        if received != member.size:
            raise BagRefused([f"archive member {member.name!r}: {received} bytes, declared {member.size}"])


def _target(dest: Path, name: str) -> Path:
    target = Path(os.path.normpath(dest / name))
    if not target.is_relative_to(dest):  # unreachable after _member_name; kept as a last guard
        raise BagRefused([f"archive member {name!r}: outside the destination"])
    return target


def _zip_plan(zf: zipfile.ZipFile, archive_size: int, limits: BagLimits) -> _Plan:
    plan = _Plan(limits)
    infos = zf.infolist()
    if len(infos) > limits.member_cap:
        raise BagRefused([f"archive: more than {limits.member_cap} entries (found {len(infos)})"])
    for info in infos:
        # ZipInfo.filename is cut at the first NUL: check the name as stored.
        raw = info.orig_filename
        is_dir = raw.endswith("/")
        mode = info.external_attr >> 16
        kind = stat.S_IFMT(mode)
        problem: str | None = None
        if info.flag_bits & 0x41:
            problem = "is encrypted"
        elif kind == stat.S_IFLNK:
            problem = "is a symbolic link"
        elif kind not in (0, stat.S_IFREG, stat.S_IFDIR):
            problem = "is a device, FIFO or socket"
        elif kind == stat.S_IFDIR and not is_dir:
            problem = "is marked as a directory but named like a file"
        elif info.compress_type not in _ZIP_ALLOWED_COMPRESSION:
            problem = f"uses unsupported compression method {info.compress_type}"
        elif not is_dir and info.file_size > 0 and info.compress_size == 0:
            problem = "claims data but has no compressed bytes"
        elif (
            not is_dir
            and info.file_size >= limits.ratio_min_bytes
            and info.file_size > limits.max_ratio * info.compress_size
        ):
            problem = (
                f"compression ratio {info.file_size / info.compress_size:.0f}:1 is above {limits.max_ratio:g}:1 "
                f"({info.file_size} bytes from {info.compress_size})"
            )
        plan.add(raw, is_dir, 0 if is_dir else info.file_size, problem)
    # Entries sharing compressed bytes ("overlapping" zip bombs): CPython 3.11.7 does not check.
    spans = sorted((info.header_offset, info.compress_size, info.orig_filename) for info in infos)
    for (offset, size, name), (next_offset, _size, next_name) in itertools.pairwise(spans):
        if offset + _ZIP_LOCAL_HEADER + size > next_offset:
            plan.reasons.add(f"archive members {name!r} and {next_name!r} overlap")
            break
    if plan.total >= limits.ratio_min_bytes and plan.total > limits.max_ratio * max(archive_size, 1):
        plan.reasons.add(f"archive: overall compression ratio above {limits.max_ratio:g}:1")
    plan.reasons.raise_if_any()
    return plan


def _extract_zip(path: Path, dest: Path, limits: BagLimits) -> str:
    with zipfile.ZipFile(path) as zf:
        plan = _zip_plan(zf, path.stat().st_size, limits)
        root = plan.finish()
        budget = _Budget(limits)
        members = {m.name: m for m in plan.members}
        for info in zf.infolist():
            name, _problem = _member_name(info.orig_filename, info.orig_filename.endswith("/"))
            if not name:
                continue
            member = members[name]
            target = _target(dest, name)
            if member.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as source:
                budget.copy(source, target, member)
    return root


@contextlib.contextmanager
def _tar_stream(path: Path, gzipped: bool, limits: BagLimits) -> Iterator[tarfile.TarFile]:
    cap = limits.max_total_bytes + _TAR_HEADER_ALLOWANCE * limits.member_cap + 1 * MiB
    with path.open("rb") as raw:
        counted = _ReadOnlyStream(raw)
        if gzipped:
            with gzip.GzipFile(fileobj=counted, mode="rb") as decompressed:
                stream = _MeteredStream(decompressed, counted, cap, limits)
                with tarfile.open(
                    fileobj=stream, mode="r|", tarinfo=_GuardedTarInfo, encoding="utf-8", errors="surrogateescape"
                ) as tf:
                    yield tf
        else:
            stream = _MeteredStream(counted, None, cap, limits)
            with tarfile.open(
                fileobj=stream, mode="r|", tarinfo=_GuardedTarInfo, encoding="utf-8", errors="surrogateescape"
            ) as tf:
                yield tf


def _tar_members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while (member := tf.next()) is not None:
        # Stream mode never looks members up again: do not keep 10^5 TarInfo objects alive.
        tf.members.clear()  # type: ignore[attr-defined]
        yield member


def _tar_problem(member: tarfile.TarInfo, dest: Path) -> str | None:
    if member.issym():
        return "is a symbolic link"
    if member.islnk():
        return "is a hard link"
    if member.ischr() or member.isblk():
        return "is a device"
    if member.isfifo():
        return "is a FIFO"
    if not (member.isreg() or member.isdir()):
        return f"has unsupported type {member.type!r}"
    if member.sparse is not None:
        return "is a sparse file"
    try:
        tarfile.data_filter(member, str(dest))
    except tarfile.FilterError as exc:
        return f"refused by tarfile's data filter ({exc})"
    return None


def _extract_tar(path: Path, dest: Path, limits: BagLimits, gzipped: bool) -> str:
    plan = _Plan(limits)
    with _tar_stream(path, gzipped, limits) as tf:
        for member in _tar_members(tf):
            plan.add(
                member.name + ("/" if member.isdir() else ""), member.isdir(), member.size, _tar_problem(member, dest)
            )
    plan.reasons.raise_if_any()
    root = plan.finish()
    planned = iter(plan.members)
    budget = _Budget(limits)
    with _tar_stream(path, gzipped, limits) as tf:
        for member in _tar_members(tf):
            name, _problem = _member_name(member.name + ("/" if member.isdir() else ""), member.isdir())
            if not name:
                continue
            expected = next(planned, None)
            if expected is None or expected.name != name or expected.is_dir != member.isdir():
                raise BagRefused([f"{path.name}: archive changed while it was being extracted"])
            target = _target(dest, name)
            if expected.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tf.extractfile(member)
            if source is None:
                raise BagRefused([f"archive member {name!r}: has no data"])
            with source:
                budget.copy(source, target, expected)
    return root


def _empty(dest: Path) -> None:
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    gzip.BadGzipFile,
    EOFError,
    zlib.error,
    NotImplementedError,
    struct.error,
    ValueError,
)


def extract_serialized(path: Path, dest: Path, limits: BagLimits = DEFAULT_LIMITS) -> Path:
    """Inspect, then extract a serialized bag; return the bag root (``dest`` or its one subdirectory).

    The format is detected from the content (zip, tar, gzip-compressed tar), not the name.
    Every member is inspected before anything is written: names (absolute, ``..``, backslash,
    NUL, duplicates), types (symlinks, hard links, devices, FIFOs, sparse files, encrypted zip
    entries), counts, declared sizes, and compression ratios (zip: per entry and overall; tar.gz:
    decompressed vs compressed bytes while streaming). Extraction then streams every member,
    counting the bytes actually written against the budget; zip CRC errors are refusals. Nothing
    is trusted to ``extractall``. Only regular files and directories are created, with default
    permissions. Then call :func:`validate_extracted_bag` on the returned path.

    ``dest`` must be an existing, empty directory that the caller owns, one per bag (a
    ``ValueError`` otherwise). On refusal (:class:`BagRefused`) or any other error ``dest`` is
    emptied again before the exception propagates.
    """
    dest = Path(os.path.abspath(dest))
    if not stat.S_ISDIR(os.lstat(dest).st_mode):
        raise ValueError(f"{dest} is not a directory")
    if any(dest.iterdir()):
        raise ValueError(f"{dest} is not empty: stage every bag alone in its own directory")
    kind = _sniff(path)
    try:
        if kind == "zip":
            root = _extract_zip(path, dest, limits)
        else:
            root = _extract_tar(path, dest, limits, gzipped=kind == "tar.gz")
    except _ARCHIVE_ERRORS as exc:
        _empty(dest)
        raise BagRefused([f"{path.name}: corrupt or unsupported {kind} archive ({type(exc).__name__}: {exc})"]) from exc
    except BaseException:
        _empty(dest)
        raise
    return dest / root if root else dest
