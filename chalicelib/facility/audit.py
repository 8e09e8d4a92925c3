"""The audit log of facility records, derived from the facility table's stream (pure functions).

As for datasets (:mod:`chalicelib.catalogue.audit`), every entry is derived exactly once
from a stream record: its id is deterministic (``facility:<kind>:<id>:v<version>:<n>``) and
the audit table refuses a second write of it, so a redelivered record writes nothing. The
acting user, the person a service principal acted for (``X-User-Email``) and the time come
from the record itself (``updated_by``, ``acting_for``, ``updated_at``).

The store deletes records outright (no tombstones), so a delete is read from the REMOVE
record's old image: :meth:`~chalicelib.facility.records.FacilityService.delete` saves the
record once more just before, naming the deleter and the time and changing nothing else.
That save is an ``edit`` of no field, which makes no entry. Claims and id counters, kept in
the same table, are not records and make none either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from chalicelib.adapters.dynamodb.facility import FacilityRecord, is_record_kind
from chalicelib.catalogue.audit import MAX_AUDIT_FIELD_BYTES, Row, actions_subject, bounded, entries_for, user_subject
from chalicelib.domain import AuditEntry

# API keys and the sessions they open (chalicelib.tracker.api_keys) are logged in their owner's
# log (never with their secrets), so that a user sees every event of their keys
OWNED_KINDS = frozenset({"api_key", "api_session", "api_key_lockout"})
UNLOGGED_FIELDS: Mapping[str, frozenset[str]] = {
    "api_key": frozenset({"salt", "hash", "last_used_at"}),
    "api_session": frozenset({"salt", "hash"}),
    "oidc_state": frozenset({"verifier"}),  # a sign-in's PKCE verifier (chalicelib.identity.oidc_login)
}
# the Data Tracker's records (chalicelib.tracker.records): each change is also listed among its
# actor's actions (GET /api/v1/user/me/actions), by the record's uuid and with its comment
ACTION_KINDS = frozenset({"order", "dataset", "collection"})
# a value's fields are bounded one by one, then (largest first) until the whole fits here
MAX_AUDIT_VALUE_BYTES = 4 * MAX_AUDIT_FIELD_BYTES


def facility_subject(kind: str, id: int) -> str:
    """The log of one facility record: read by whoever may read the record (admins once it is gone)."""
    return f"facility#{kind}#{id}"


def facility_changes(old: FacilityRecord | None, new: FacilityRecord | None) -> list[AuditEntry]:
    """The entries of one stream record of the facility table (``None``: no such image).

    - no old image: ``add``; the value is the record's fields;
    - both images: ``edit``; the value is the fields that changed (a field that went: ``None``),
      and no entry at all when no field changed (the save that names a deleter, for one);
    - no new image: ``delete``; the value is the fields the record had, the actor, acting
      person and time are the old image's (the deleter's, see the module docstring), and the
      version is the old image's plus one, as a tombstone's would be, so that the entry never
      shares its id with the one of the write that made the old image.

    Images of claims and counters (``None`` here once read) give nothing.
    """
    if any(r is not None and not is_record_kind(r.kind) for r in (old, new)):
        return []
    old, new = _unsecret(old), _unsecret(new)
    if new is not None:
        record, version = new, new.version
        if old is None:
            action, value = "add", _value(new.fields)
        else:
            changed = _changed(old.fields, new.fields)
            if not changed:
                return []
            action, value = "edit", _value(changed)
    elif old is not None:
        record, version = old, old.version + 1
        action, value = "delete", _value(old.fields)
    else:
        return []
    owner = record.fields.get("owner") if record.kind in OWNED_KINDS else None
    subject = user_subject(str(owner)) if owner else facility_subject(record.kind, record.id)
    rows: list[Row] = [(subject, record.kind, str(record.id), action, value)]
    if record.kind in ACTION_KINDS and not (action == "edit" and set(value) <= {"_comment"}):
        # also in the actor's own list of actions (the stamp before a delete is not one)
        comment = record.fields.get("_comment", "")
        rows.append((actions_subject(record.updated_by), record.kind, record.uuid, action, {"comment": comment}))
    key = f"facility:{record.kind}:{record.id}"
    return entries_for(key, version, record.updated_at, record.updated_by, rows, record.acting_for)


def _unsecret(record: FacilityRecord | None) -> FacilityRecord | None:
    """``record`` without the fields never logged (a key's salt and hash; its last use, which
    changes on every use and would log each)."""
    hidden = UNLOGGED_FIELDS.get(record.kind) if record is not None else None
    if record is None or not hidden:
        return record
    return replace(record, fields={k: v for k, v in record.fields.items() if k not in hidden})


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``new`` that differ from ``old`` (by JSON value: ``1`` is not ``true``),
    and ``None`` for each field ``old`` had and ``new`` has not."""
    out = {name: value for name, value in new.items() if name not in old or _json(old[name]) != _json(value)}
    out.update({name: None for name in old if name not in new})
    return out


def _value(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with every value over :data:`MAX_AUDIT_FIELD_BYTES` replaced by its digest,
    then the largest ones too until the whole is within :data:`MAX_AUDIT_VALUE_BYTES`."""
    value = {name: bounded(v) for name, v in fields.items()}
    sizes = {name: len(_json(v).encode()) for name, v in value.items()}
    for name in sorted(sizes, key=lambda n: sizes[n], reverse=True):
        if len(_json(value).encode()) <= MAX_AUDIT_VALUE_BYTES:
            break
        value[name] = bounded(value[name], limit=0)  # limit 0: always its digest
    return value
