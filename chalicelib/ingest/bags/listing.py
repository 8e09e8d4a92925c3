"""Whole-bag checks decided from a file listing and the tag files' text, without payload bytes.

:func:`check_bag_listing` holds the rules every bag goes through: path rules, counts and
sizes, no fetch.txt, a sha256 or sha512 payload manifest listing every payload file,
manifests that agree, tag-manifest digests of the tag files read, Payload-Oxum. A folder bag
(objects under an S3 prefix) is checked with :func:`check_folder_bag`, then each payload
file with :func:`verify_fixity` while it is streamed; a bag on local disk goes through
:func:`chalicelib.ingest.bags.on_disk.validate_extracted_bag`, which calls the same checks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from chalicelib.ingest.bags.bag_info import BagInfo, BagItem, build_bag_info, parse_bag_info, parse_oxum
from chalicelib.ingest.bags.errors import BagIncomplete, BagRefused
from chalicelib.ingest.bags.limits import DEFAULT_LIMITS, BagLimits
from chalicelib.ingest.bags.paths import nfc, path_problem
from chalicelib.ingest.bags.tag_files import (
    DIGEST_HEX_LENGTHS,
    STRONG_ALGORITHMS,
    ParsedManifest,
    parse_bagit_txt,
    parse_manifest_file,
)
from chalicelib.reasons import MAX_REASONS, Reasons

_MANIFEST_NAME = re.compile(r"(tag)?manifest-([^/]+)\.txt")


@dataclass
class CheckedBag:
    """What :func:`check_bag_listing` found: the bag's info once nothing is missing, the absent
    paths, and the parsed manifests (for the checks that need the files themselves)."""

    info: BagInfo | None  # None while files are missing
    missing: list[str]
    manifests: list[ParsedManifest]
    tag_manifests: list[ParsedManifest]


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


def check_bag_listing(
    listing: Mapping[str, int], read_text: Callable[[str], str], limits: BagLimits, bag_name: str
) -> CheckedBag:
    """Everything that can be decided from the listing and the tag files' text.

    ``listing`` and ``read_text`` as for :func:`check_folder_bag`. Raises :class:`BagRefused`;
    absent files (bagit.txt, a manifest, manifest-listed files) are returned in ``missing``
    for the caller to judge.
    """
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

    def read_manifests(names: dict[str, str], max_bytes: int, *, payload: bool) -> list[ParsedManifest]:
        parsed: list[ParsedManifest] = []
        for algorithm, name in sorted(names.items()):
            text = _read_tag(read_text, name, tags[name], max_bytes, reasons)
            if text is None:
                continue
            texts[name] = text
            try:
                parsed.append(parse_manifest_file(text, algorithm, limits, name, payload=payload))
            except BagRefused as exc:
                reasons.gather(exc.reasons)
        return parsed

    tag_manifests = read_manifests(tag_names, limits.max_tag_file_bytes, payload=False)
    for tag_manifest in tag_manifests:
        for path in tag_manifest.digests:
            if nfc(path) not in by_nfc and path not in missing:
                missing.append(path)

    manifests = read_manifests(payload_names, limits.max_manifest_bytes, payload=True)
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
    oxum = parse_oxum(raw_info, reasons)

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
        return CheckedBag(None, missing, manifests, tag_manifests)
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
    return CheckedBag(build_bag_info(raw_info, items, oxum, algorithms, bag_name), [], manifests, tag_manifests)


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
    checked = check_bag_listing(listing, read_text, limits, bag_name)
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
