"""Strict parsers for bagit.txt and for payload and tag manifests (RFC 8493), and the checks
common to every tag file (size, UTF-8, no BOM, CR/LF/CRLF line ends).

They raise :class:`BagRefused` for much that LoC ``bagit`` 1.9 accepts silently or misreads
(a BOM, another version or encoding, malformed or over-long lines, digests of the wrong length,
unsafe or duplicate paths, payload paths in tag manifests); the reasons name the file and line.
bag-info.txt is parsed by :mod:`chalicelib.ingest.bags.bag_info`.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass

from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.limits import DEFAULT_LIMITS, BagLimits, KiB
from chalicelib.ingest.bags.paths import decode_manifest_path, nfc, path_problem, utf8_size
from chalicelib.reasons import Reasons

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

_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_MANIFEST_LINE = re.compile(r"([^ \t]+)[ \t]+(.*)", re.DOTALL)
_HEX = re.compile(r"[0-9A-Fa-f]+")
_BAGIT_VERSION = re.compile(r"BagIt-Version:[ \t]*(\S+)[ \t]*")
_BAGIT_ENCODING = re.compile(r"Tag-File-Character-Encoding:[ \t]*(\S+)[ \t]*")


def split_lines(text: str) -> list[str]:
    """Split on CR, LF or CRLF only (``str.splitlines`` also splits on U+2028, FF, VT…)."""
    lines = _LINE_SPLIT.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def check_text(text: str, source: str, cap: int, reasons: Reasons) -> bool:
    """Common checks on a whole tag file; False when parsing should not continue."""
    size = len(text) if len(text) > cap else utf8_size(text)
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


def parse_bagit_txt(text: str) -> tuple[str, str]:
    """Parse bagit.txt; return ``(version, encoding)``.

    RFC 8493: exactly ``BagIt-Version: M.N`` then ``Tag-File-Character-Encoding: UTF-8``, no BOM.
    We accept versions 0.97 and 1.0 and the UTF-8 encoding only (trailing blank lines are tolerated).
    """
    reasons = Reasons(BagRefused)
    if not check_text(text, "bagit.txt", 4 * KiB, reasons):
        reasons.raise_if_any()
    lines = split_lines(text)
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


@dataclass(frozen=True)
class ParsedManifest:
    """A manifest file as parsed: the digests, each path as written, and the whole text (to
    replay bagit 1.9's reading of it)."""

    name: str
    algorithm: str
    digests: dict[str, str]  # decoded path → lower-case hex digest
    raw: dict[str, str]  # decoded path → path as written in the file
    text: str

    def by_nfc(self) -> dict[str, str]:
        return {nfc(path): digest for path, digest in self.digests.items()}


def parse_manifest_file(text: str, algorithm: str, limits: BagLimits, source: str, *, payload: bool) -> ParsedManifest:
    """Parse the payload (``payload=True``) or tag manifest ``source`` with the rules of
    :func:`parse_manifest` / :func:`parse_tag_manifest`, keeping what the whole-bag checks need."""
    hex_length = DIGEST_HEX_LENGTHS.get(algorithm)
    if hex_length is None:
        raise BagRefused([f"{source}: unsupported checksum algorithm {algorithm!r}"])
    reasons = Reasons(BagRefused)
    cap = limits.max_manifest_bytes if payload else limits.max_tag_file_bytes
    if not check_text(text, source, cap, reasons):
        reasons.raise_if_any()
    lines = split_lines(text)
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
        path = decode_manifest_path(raw)
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
    return ParsedManifest(source, algorithm, digests, raw_paths, text)


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
    return parse_manifest_file(text, algorithm, limits, source or f"manifest-{algorithm}.txt", payload=True).digests


def parse_tag_manifest(
    text: str, algorithm: str, limits: BagLimits = DEFAULT_LIMITS, *, source: str | None = None
) -> dict[str, str]:
    """Parse a tag manifest: as :func:`parse_manifest`, but every path must be outside ``data/``."""
    return parse_manifest_file(text, algorithm, limits, source or f"tagmanifest-{algorithm}.txt", payload=False).digests
