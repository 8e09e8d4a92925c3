"""S3 event notifications (as delivered through SQS) parsed into object events.

Keys arrive URL-encoded (``+`` for a space; moto also encodes ``/``). An event is a hint
that something changed under a key, never the truth: the ingest service re-reads S3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from chalicelib.errors import ValidationError


@dataclass(frozen=True)
class ObjectEvent:
    bucket: str
    key: str
    kind: str  # "created" | "removed"
    sequencer: str = ""
    version_id: str = ""
    etag: str = ""
    size: int = 0
    event_time: str = ""

    @property
    def event_id(self) -> str:
        """Deterministic identity of the event (duplicates share it)."""
        return "|".join((self.bucket, self.key, self.kind, self.version_id or self.etag, self.sequencer))

    def newer_than(self, other_sequencer: str) -> bool:
        """Compare S3 sequencers: hex strings of varying length, ordered once left-padded."""
        if not self.sequencer or not other_sequencer:
            return True
        width = max(len(self.sequencer), len(other_sequencer))
        return self.sequencer.upper().rjust(width, "0") > other_sequencer.upper().rjust(width, "0")


def parse_notification(body: str) -> list[ObjectEvent]:
    """Parse one SQS message body; a test event or a non-S3 message gives ``[]``.

    Raises ValidationError when the body is not an S3 notification at all.
    """
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ValidationError("message body is not JSON", field="body") from exc
    if not isinstance(doc, dict):
        raise ValidationError("message body is not an S3 notification", field="body")
    if doc.get("Event") == "s3:TestEvent" or "Records" not in doc:
        return []
    records = doc["Records"]
    if not isinstance(records, list):
        raise ValidationError("Records is not a list", field="Records")
    return [e for e in (_event(r) for r in records) if e is not None]


def _event(record: Any) -> ObjectEvent | None:
    if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
        return None
    name = str(record.get("eventName", ""))
    if name.startswith("ObjectCreated:"):
        kind = "created"
    elif name.startswith("ObjectRemoved:"):
        kind = "removed"
    else:
        return None
    s3 = record.get("s3", {})
    obj = s3.get("object", {}) if isinstance(s3, dict) else {}
    bucket = s3.get("bucket", {}).get("name") if isinstance(s3, dict) else None
    key = obj.get("key") if isinstance(obj, dict) else None
    if not isinstance(bucket, str) or not isinstance(key, str):
        return None
    return ObjectEvent(
        bucket=bucket,
        key=unquote_plus(key),
        kind=kind,
        sequencer=str(obj.get("sequencer", "")),
        version_id=str(obj.get("versionId", "") or ""),
        etag=str(obj.get("eTag", "") or ""),
        size=int(obj.get("size", 0) or 0),
        event_time=str(record.get("eventTime", "")),
    )
