"""The caps applied to one BagIt bag (:class:`BagLimits`), and the size units they are written in."""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: Bytes read or written at a time when streaming a bag's files.
CHUNK_BYTES = 256 * KiB


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
