"""Audit-log pages, merged over several log subjects (an entry's log, a uuid's entries)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.adapters.dynamodb.repository import Repository, audit_sort_key
from chalicelib.catalogue.cursors import decode_cursor, encode_cursor
from chalicelib.domain import AuditEntry, JSONObject
from chalicelib.errors import ValidationError


@dataclass(frozen=True)
class LogPage:
    entries: list[JSONObject]
    next_after: str | None


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
