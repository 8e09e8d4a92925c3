"""Safe extraction of a serialized bag (zip, tar, gzip-compressed tar) into a staging directory.

:func:`extract_serialized` inspects every member before anything is written, then streams
each one against a byte budget; the result is then validated by
:func:`chalicelib.ingest.bags.on_disk.validate_extracted_bag`.

Do not substitute ``zipfile.extractall`` (it silently rewrites ``/abs`` and ``../x`` names) or
``tarfile``'s ``filter="data"`` (it silently strips a leading ``/`` and allows hard links
inside the destination): a bag with such names must be refused, not altered.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.limits import CHUNK_BYTES, DEFAULT_LIMITS, BagLimits, KiB, MiB
from chalicelib.ingest.bags.paths import DRIVE_LETTER, nfc, utf8_size
from chalicelib.reasons import Reasons

# pax and GNU long-name headers are read whole into memory by tarfile: keep them small.
_TAR_META_MAX = 64 * KiB
_TAR_HEADER_ALLOWANCE = 2 * KiB  # header + pax header + padding per member, for the stream cap
_ZIP_LOCAL_HEADER = 30
_ZIP_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


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
        data = self._source.read(min(size, CHUNK_BYTES) if size >= 0 else CHUNK_BYTES)
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
    if raw.startswith("/") or DRIVE_LETTER.match(raw):
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
    if utf8_size(normalized) is None:
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
            while chunk := source.read(CHUNK_BYTES):
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
    permissions. Then call :func:`~chalicelib.ingest.bags.on_disk.validate_extracted_bag` on the
    returned path.

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
