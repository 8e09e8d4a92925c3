"""Cursors and pages: the opaque ``after`` tokens the API hands out, and audit-log pages
merged over several log subjects."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import AuditEntry, JSONObject
from chalicelib.errors import ValidationError
from chalicelib.store.repository import Repository, audit_sort_key


@dataclass(frozen=True)
class LogPage:
    entries: list[JSONObject]
    next_after: str | None


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        raise ValidationError("after is not a cursor this API issued", field="after") from exc
    if not isinstance(raw, list) or len(raw) > 4 or not all(isinstance(v, (str, int, float)) for v in raw):
        raise ValidationError("after is not a cursor this API issued", field="after")
    return raw


def read_log(repo: Repository, subjects: list[str], limit: int, after: str | None) -> LogPage:
    """Entries of ``subjects`` in sort-key order (sort keys are unique across subjects)."""
    start = None
    if after is not None:
        decoded = decode_cursor(after)
        if len(decoded) != 1 or not isinstance(decoded[0], str):
            raise ValidationError("after is not a cursor this API issued", field="after")
        start = decoded[0]
    merged: list[AuditEntry] = []
    more = False
    for subject in subjects:
        entries, next_after = repo.list_audit(subject, limit, start)
        merged += entries
        more = more or next_after is not None
    merged.sort(key=audit_sort_key)
    page = merged[:limit]
    more = more or len(merged) > limit
    next_key = audit_sort_key(page[-1]) if more and page else None
    return LogPage([e.to_dict() for e in page], encode_cursor([next_key]) if next_key else None)
