"""The opaque ``after`` cursors the API hands out: a short JSON list, base64url-encoded."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from chalicelib.errors import ValidationError


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str) -> list[Any]:
    """The values of a cursor this API issued; ValidationError (400) for anything else."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        raise ValidationError("after is not a cursor this API issued", field="after") from exc
    if not isinstance(raw, list) or len(raw) > 4 or not all(isinstance(v, (str, int, float)) for v in raw):
        raise ValidationError("after is not a cursor this API issued", field="after")
    return raw
