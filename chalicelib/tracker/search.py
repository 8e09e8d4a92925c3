"""Finding orders, datasets and collections: free text, tags and editors.

Applied to the records a caller may read (their number is what one facility keeps: the
listing reads each kind whole, as :meth:`FacilityStore.all` does; moving this to the search
index is issue 24's). Free text matches every word, case-insensitively, in the title,
description, tag keys and values and cross-reference values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord

MAX_QUERY_CHARS = 256


def _text(fields: Mapping[str, Any]) -> str:
    parts = [str(fields.get("title", "")), str(fields.get("description", ""))]
    for name in ("tags_standard", "tags_user"):
        for key, value in (fields.get(name) or {}).items():
            parts += [str(key), str(value)]
    parts += [str(ref.get("value", "")) for ref in fields.get("cross_references") or () if isinstance(ref, Mapping)]
    return " ".join(parts).casefold()


def _has_tag(fields: Mapping[str, Any], tag: str) -> bool:
    """``key:value`` (that key with that value) or a bare word (a key or a value)."""
    key, sep, value = tag.partition(":")
    for name in ("tags_standard", "tags_user"):
        tags = fields.get(name) or {}
        if sep and str(tags.get(key, "")).casefold() == value.casefold() and key in tags:
            return True
        if not sep and any(tag.casefold() in (str(k).casefold(), str(v).casefold()) for k, v in tags.items()):
            return True
    return False


@dataclass(frozen=True)
class RecordFilter:
    """What a listing keeps: ``q`` (words), ``tags`` (all of them), ``editor`` (a user id
    among the record's editors)."""

    q: str = ""
    tags: tuple[str, ...] = ()
    editor: str | None = None

    def matches(self, record: FacilityRecord) -> bool:
        f = record.fields
        if self.editor is not None and self.editor not in (f.get("editors") or ()):
            return False
        if self.tags and not all(_has_tag(f, t) for t in self.tags):
            return False
        words = self.q.casefold().split()
        return not words or all(w in _text(f) for w in words)


EVERYTHING = RecordFilter()
