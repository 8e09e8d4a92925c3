"""Path rules for files inside a bag, and how manifests write paths.

* :func:`path_problem`: why a path is not a safe relative POSIX path (``..``/``.``/empty
  components, absolute, drive letter, leading ``~``, backslash, NUL, invalid UTF-8);
* :func:`nfc`: the Unicode normalization paths are compared in;
* :func:`encode_manifest_path` / :func:`decode_manifest_path`: RFC 8493 percent-encoding
  (``%0A``, ``%0D``, ``%25`` only);
* :func:`bagit_manifest_view`: the paths LoC ``bagit`` 1.9 reads back from a manifest, quirks
  and all, to refuse names it would misread.
"""

from __future__ import annotations

import os
import re
import unicodedata

#: A Windows drive letter at the start of a path (``C:``).
DRIVE_LETTER = re.compile(r"[A-Za-z]:")
_PERCENT = re.compile(r"%(0[AaDd]|25)")
_PERCENT_DECODED = {"0a": "\n", "0d": "\r", "25": "%"}


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: the form bag paths are compared in (two paths that differ
    only by normalization name the same file on some filesystems)."""
    return unicodedata.normalize("NFC", text)


def utf8_size(text: str) -> int | None:
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
    if DRIVE_LETTER.match(path):
        return "starts with a drive letter"
    if path.startswith("~"):
        return "starts with '~'"
    for part in path.split("/"):
        if part == "":
            return "has an empty path component"
        if part in (".", ".."):
            return f"has a {part!r} path component"
    if utf8_size(path) is None:
        return "is not valid UTF-8"
    return None


def encode_manifest_path(path: str) -> str:
    """Percent-encode ``%``, CR and LF as RFC 8493 requires (the inverse of manifest decoding)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def decode_manifest_path(raw: str) -> str:
    """Decode ``%0A``, ``%0D`` and ``%25`` (case-insensitively; nothing else) in a manifest path."""
    return _PERCENT.sub(lambda m: _PERCENT_DECODED[m.group(1).lower()], raw)


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
