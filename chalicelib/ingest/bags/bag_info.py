"""bag-info.txt (its labels and Payload-Oxum), and :class:`BagInfo`, what the catalogue
learns from an accepted bag (title, contact, description, identifier, date, payload items)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.ingest.bags.errors import BagRefused
from chalicelib.ingest.bags.limits import DEFAULT_LIMITS, BagLimits
from chalicelib.ingest.bags.tag_files import check_text, split_lines
from chalicelib.reasons import Reasons

_OXUM = re.compile(r"([0-9]+)\.([0-9]+)")


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


def parse_bag_info(text: str, limits: BagLimits = DEFAULT_LIMITS) -> dict[str, list[str]]:
    """Parse bag-info.txt into ``label → values`` (labels as written, in file order).

    ``Label: value`` lines; a line starting with a space or tab continues the previous value
    (joined with ``"\\n"``); blank lines are skipped. Size, line length and NUL are checked.
    """
    reasons = Reasons(BagRefused)
    if not check_text(text, "bag-info.txt", limits.max_bag_info_bytes, reasons):
        reasons.raise_if_any()
    if "\x00" in text:
        raise BagRefused(["bag-info.txt: contains NUL"])
    fields: dict[str, list[str]] = {}
    current: tuple[str, int] | None = None
    for number, line in enumerate(split_lines(text), start=1):
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


def _first(raw: Mapping[str, list[str]], label: str) -> str | None:
    """First non-empty value of a (case-insensitive) label."""
    wanted = label.casefold()
    for name, values in raw.items():
        if name.casefold() == wanted:
            for value in values:
                if value.strip():
                    return value
    return None


def parse_oxum(raw: Mapping[str, list[str]], reasons: Reasons) -> tuple[int, int] | None:
    """Payload-Oxum of parsed bag-info.txt as ``(octets, files)``; None when absent or invalid
    (a conflicting or malformed value adds a reason)."""
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


def build_bag_info(
    raw: dict[str, list[str]],
    items: list[BagItem],
    oxum: tuple[int, int] | None,
    algorithms: tuple[str, ...],
    bag_name: str,
) -> BagInfo:
    """The :class:`BagInfo` of an accepted bag: title (Title, else External-Description's first
    line, else ``bag_name``), contact, description, identifier and date from bag-info.txt."""
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
