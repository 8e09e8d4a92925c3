"""Full validation of a bag on local disk (typically one :mod:`chalicelib.ingest.bags.serialized`
extracted): our own containment and link checks first, then LoC ``bagit`` 1.9 for every
payload checksum."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import bagit

from chalicelib.ingest.bags.bag_info import BagInfo
from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.limits import CHUNK_BYTES, DEFAULT_LIMITS, BagLimits
from chalicelib.ingest.bags.listing import check_bag_listing
from chalicelib.ingest.bags.paths import bagit_manifest_view
from chalicelib.reasons import Reasons


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
    """Fully validate a bag on local disk (e.g. the path
    :func:`~chalicelib.ingest.bags.serialized.extract_serialized` returned).

    Our checks run first: ``lstat`` walk refusing symlinks, hard links and special files;
    the listing checks a folder bag goes through
    (:func:`~chalicelib.ingest.bags.listing.check_bag_listing`; a missing file is a refusal here);
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
    checked = check_bag_listing(files, _read_disk_text(root, limits), limits, bag_name or root.name)
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
                while chunk := handle.read(CHUNK_BYTES):
                    hasher.update(chunk)
            if hasher.hexdigest() != expected:
                reasons.add(f"{path}: {tag_manifest.algorithm} does not match {tag_manifest.name}")
    reasons.raise_if_any()

    _run_bagit(root, reasons)
    reasons.raise_if_any()
    return checked.info
