"""A CSV sample sheet as ENA samples: one row per sample, the header row naming the fields.

Columns (names compared without case, spaces, dashes and underscores): ``alias``, ``title``,
``taxon_id``, ``scientific_name``, ``common_name``, ``description``, ``center_name``; every
other column becomes a sample attribute (``<SAMPLE_ATTRIBUTE><TAG>column</TAG><VALUE>...``),
its unit given in brackets in the header (``depth [m]``). Empty cells are left out.

Each row is then an ENA sample in JSON, checked like any other
(:meth:`~chalicelib.submissions.ena_schemas.EnaSchemas.object_from_json`).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from chalicelib.errors import InvalidDocument

MAX_ROWS = 1000
MAX_COLUMNS = 200
_UNIT = re.compile(r"^(.*?)\s*\[([^\]]*)\]\s*$")
_FIELDS = {
    "alias": ("@alias",),
    "centername": ("@center_name",),
    "title": ("TITLE",),
    "taxonid": ("SAMPLE_NAME", "TAXON_ID"),
    "scientificname": ("SAMPLE_NAME", "SCIENTIFIC_NAME"),
    "commonname": ("SAMPLE_NAME", "COMMON_NAME"),
    "description": ("DESCRIPTION",),
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def _value(path: tuple[str, ...], text: str) -> Any:
    if path == ("SAMPLE_NAME", "TAXON_ID") and text.strip().lstrip("-").isdigit():
        return int(text.strip())
    return text


def samples_from_csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    """``(row number, sample in JSON)`` for each data row (the header is row 1). A sheet
    that cannot be read as CSV at all is refused with the reason."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise InvalidDocument("the CSV cannot be read", [{"path": "row ?", "message": str(exc)}]) from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InvalidDocument("the CSV is empty", [{"path": "row 1", "message": "a header row is required"}])
    header = [h.strip() for h in rows[0]]
    problems: list[dict[str, str]] = []
    if len(header) > MAX_COLUMNS:
        problems.append({"path": "row 1", "message": f"more than {MAX_COLUMNS} columns"})
    if len(rows) - 1 > MAX_ROWS:
        problems.append({"path": f"row {MAX_ROWS + 2}", "message": f"more than {MAX_ROWS} samples"})
    if len(rows) == 1:
        problems.append({"path": "row 2", "message": "no sample rows"})
    keys = [_key(h) for h in header]
    duplicates = sorted({h for h, k in zip(header, keys, strict=True) if keys.count(k) > 1})
    if duplicates:
        problems.append({"path": "row 1", "message": f"columns named twice: {', '.join(duplicates)}"})
    if "" in keys:
        problems.append({"path": "row 1", "message": "a column has no name"})
    if problems:
        raise InvalidDocument("the CSV's layout is not valid", problems)
    samples = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InvalidDocument(
                "the CSV's layout is not valid",
                [{"path": f"row {number}", "message": f"{len(row)} cells; the header has {len(header)}"}],
            )
        samples.append((number, _sample(header, keys, row)))
    return samples


def _sample(header: list[str], keys: list[str], row: list[str]) -> dict[str, Any]:
    sample: dict[str, Any] = {}
    attributes: list[dict[str, str]] = []
    for name, key, cell in zip(header, keys, row, strict=True):
        if not cell.strip():
            continue
        path = _FIELDS.get(key)
        if path is None:
            match = _UNIT.match(name)
            attribute = {"TAG": match.group(1), "VALUE": cell} if match else {"TAG": name, "VALUE": cell}
            if match and match.group(2).strip():
                attribute["UNITS"] = match.group(2).strip()
            attributes.append(attribute)
            continue
        target = sample
        for step in path[:-1]:
            target = target.setdefault(step, {})
        target[path[-1]] = _value(path, cell)
    if attributes:
        sample["SAMPLE_ATTRIBUTES"] = {"SAMPLE_ATTRIBUTE": attributes}
    return sample
