"""Turning a client's loosely typed values into a record's fields, with Rails' messages.

metadata_client sends ids as ``"-1"`` or ``-1``, flags as ``"true"``, ``1`` or ``"1"``, "not
given" as ``""`` (``docs/research/mymdc-client.md`` §1.3): values are coerced as Rails
coerces them, and each field's errors come in Rails' order (``cannot be updated``, then
``can't be blank``, then type, then length), fields in declaration order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import InvalidRecord
from chalicelib.facility.schema import BOOL, DATETIME, INT, Field, Kind

Errors = dict[str, list[str]]

BLANK = "can't be blank"
NOT_A_NUMBER = "is not a number"
CANNOT_UPDATE = "cannot be updated"
NOT_INCLUDED = "is not included in the list"
INVALID = "is invalid"
NOT_A_DATETIME = "is not a valid datetime"
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
MAX_TEXT = 4 * 1024 * 1024

_INT_RE = re.compile(r"-?[0-9]{1,19}(?:\.0*)?")  # ASCII digits: \d takes other scripts' too
_TRUE = frozenset({"true", "1", "t", "yes", "on"})
_FALSE = frozenset({"false", "0", "f", "no", "off"})


class _Unset:
    pass


UNSET: Any = _Unset()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def coerce(f: Field, value: Any) -> tuple[Any, list[str]]:
    """``value`` as field ``f`` stores it (``f.blank`` for a blank one), and the type errors."""
    if _blank(value):
        return f.blank, []
    if f.type == INT:
        if isinstance(value, bool):
            return UNSET, [NOT_A_NUMBER]
        if isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            number = int(value.strip().split(".")[0])
        else:
            return UNSET, [NOT_A_NUMBER]
        if not MIN_INT <= number <= MAX_INT:
            return UNSET, ["is out of range"]
        return number, []
    if f.type == BOOL:
        if isinstance(value, bool):
            return value, []
        text = str(value).strip().lower() if isinstance(value, str | int) else ""
        if text in _TRUE:
            return True, []
        if text in _FALSE:
            return False, []
        return UNSET, [NOT_INCLUDED]
    if f.type == DATETIME:
        parsed = parse_datetime(value)
        return (UNSET, [NOT_A_DATETIME]) if parsed is None else (parsed, [])
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return UNSET, [INVALID]
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TEXT:
        return UNSET, [f"is too long (maximum is {f.max_len or MAX_TEXT} characters)"]
    return text, []


def parse_datetime(value: Any) -> str | None:
    """An ISO 8601 datetime as myMdC renders it (``2014-06-25T08:30:00.000+02:00``; naive
    means UTC), or ``None`` when ``value`` is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return render_datetime(moment)


def render_datetime(moment: datetime) -> str:
    stamp = moment.isoformat(timespec="milliseconds")
    return stamp[:-6] + "Z" if stamp.endswith("+00:00") else stamp


def _checks(f: Field, value: Any) -> list[str]:
    """The presence, length and list rules for a coerced value."""
    if value is UNSET:
        return []
    errors: list[str] = []
    blank = value is None or value == ""
    if blank:
        if f.required:
            errors.append(BLANK)
            if f.type == INT:
                errors.append(NOT_A_NUMBER)
        if f.required and f.min_len:
            errors.append(f"is too short (minimum is {f.min_len} characters)")
        return errors
    if isinstance(value, str) and f.type not in (DATETIME,):
        if f.min_len is not None and len(value) < f.min_len:
            errors.append(f"is too short (minimum is {f.min_len} characters)")
        if f.max_len is not None and len(value) > f.max_len:
            errors.append(f"is too long (maximum is {f.max_len} characters)")
    if f.choices is not None and value not in f.choices:
        errors.append(NOT_INCLUDED)
    return errors


def fields_for_create(kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
    """Every field of ``kind`` from ``body`` (unknown keys ignored; absent ones default),
    or :class:`InvalidRecord`."""
    values: dict[str, Any] = {}
    errors: Errors = {}
    for f in kind.fields:
        raw = body.get(f.name, UNSET)
        problems: list[str]
        if raw is UNSET or (_blank(raw) and f.default is not None):
            value, problems = (f.default if f.default is not None else f.blank), []
        else:
            value, problems = coerce(f, raw)
        problems = [*problems, *_checks(f, value)] if value is not UNSET else problems
        if problems:
            errors[f.name] = problems
        values[f.name] = value
    _cross_checks(kind, values, errors)
    if errors:
        raise InvalidRecord(errors)
    return values


def fields_for_update(kind: Kind, stored: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
    """``stored`` with the fields ``body`` gives (a partial update), or :class:`InvalidRecord`;
    an immutable field may be sent unchanged."""
    values = dict(stored)
    errors: Errors = {}
    for f in kind.fields:
        if f.name not in body:
            continue
        value, problems = coerce(f, body[f.name])
        if f.immutable and (value is UNSET or value != stored.get(f.name)):
            problems = [CANNOT_UPDATE, *problems]
            for other in f.also_reports:
                errors.setdefault(other, []).append(CANNOT_UPDATE)
        problems = [*problems, *_checks(f, value)]
        if problems:
            errors[f.name] = problems
        if value is not UNSET:
            values[f.name] = value
    _cross_checks(kind, values, errors)
    if errors:
        # ``also_reports`` entries were added first; keep the fields' declaration order
        order = [f.name for f in kind.fields]
        errors = dict(sorted(errors.items(), key=lambda kv: _position(order, kv[0])))
        raise InvalidRecord(errors)
    return values


def _position(order: list[str], name: str) -> int:
    # a derived field reported with its source (run_folder with run_number) comes last
    return order.index(name) if name in order else len(order)


def _cross_checks(kind: Kind, values: Mapping[str, Any], errors: Errors) -> None:
    if kind.name == "run":
        first, last = values.get("first_train"), values.get("last_train")
        if isinstance(first, int) and isinstance(last, int) and last < first:
            errors.setdefault("last_train", []).append(f"must be greater than or equal to {first}")
