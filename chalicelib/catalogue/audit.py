"""Audit entries derived from a record's old and new image (pure functions).

Entries are derived from the tables' streams, exactly once: every entry id is
deterministic (record key, new version, position), and the audit table refuses a second
write of the same id. The acting user and time come from the item itself
(``updated_by``/``updated_at``, and ``updated_for`` on dataset entries: the person a service
principal acted for), so the stream consumer needs no request context. Deletes are
tombstones (``deleted`` set, version bumped), so they carry their actor too.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chalicelib.domain import SYSTEM_ACTOR, AuditEntry, BaseUri, Dataset, User

# A row is: subject, entity type, entity id, action, value.
Row = tuple[str, str, str, str, Any]


def entries_for(
    key: str, version: int, timestamp: float, actor: str, rows: list[Row], acting_for: str | None = None
) -> list[AuditEntry]:
    """The entries of one change of the record ``key``: ids ``<key>:v<version>:<position>``."""
    return [
        AuditEntry(
            entry_id=f"{key}:v{version}:{n}",
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            timestamp=timestamp,
            actor=actor,
            value=value,
            subject=subject,
            acting_for=acting_for,
        )
        for n, (subject, entity_type, entity_id, action, value) in enumerate(rows)
    ]


MAX_AUDIT_FIELD_BYTES = 64 * 1024


def dataset_subject(uuid: str, base_uri: str) -> str:
    """The log of one entry (a uuid under a base URI): read by that base URI's registrars only."""
    return f"dataset#{uuid}@{base_uri}"


def user_subject(username: str) -> str:
    return f"user#{username}"


def actions_subject(username: str) -> str:
    """What one user did (the Data Tracker's records and users): read by them and user managers."""
    return f"actions#{username}"


def base_uri_subject(base_uri: str) -> str:
    return f"base_uri#{base_uri}"


# Datasets the stream consumer could not index (or audit): one entry per uuid and version,
# listed by ``catalogue drift`` beside the drift itself.
INDEX_FAILURES_SUBJECT = "index#failures"


def index_failure_entries(failures: list[tuple[str, int, str]], timestamp: float, actor: str) -> list[AuditEntry]:
    """Entries for ``(entry id, version, reason)`` failures; one id per entry and version, so
    a redelivered record does not add a second entry."""
    rows: list[AuditEntry] = []
    for entry, version, reason in failures:
        rows += entries_for(
            f"index-failure:{entry}",
            version,
            timestamp,
            actor,
            [(INDEX_FAILURES_SUBJECT, "dataset", entry, "index-failed", {"version": version, "reason": reason})],
        )
    return rows


def bounded(value: Any, limit: int = MAX_AUDIT_FIELD_BYTES) -> Any:
    """The value itself, or its digest when its JSON is over ``limit`` bytes and would make the
    audit item too large (DynamoDB items are capped at 400 KB; the record keeps the full value)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    if len(text.encode()) <= limit:
        return value
    return {"omitted": True, "bytes": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest()}


def _dataset_value(d: Dataset) -> dict[str, Any]:
    value = d.detail_dict()
    value["annotations"] = bounded(value["annotations"])
    value["readme"] = bounded(d.content.readme)
    value["manifest"] = bounded(d.content.manifest.to_dict())
    return value


def dataset_changes(old: Dataset | None, new: Dataset) -> list[AuditEntry]:
    subject = dataset_subject(new.uuid, new.base_uri)
    key = f"dataset:{new.entry_id}"
    out: list[Row] = []
    was_live = old is not None and not old.deleted
    if new.deleted:
        if was_live:
            out.append((subject, "dataset", new.uuid, "delete", new.uuid))
    elif not was_live:
        out.append((subject, "dataset", new.uuid, "add", _dataset_value(new)))
    else:
        assert old is not None
        old_uris = {r.uri: r for r in old.replicas}
        new_uris = {r.uri: r for r in new.replicas}
        for uri in sorted(set(new_uris) - set(old_uris)):
            out.append((subject, "replica", uri, "add", new_uris[uri].to_dict()))
        for uri in sorted(set(old_uris) - set(new_uris)):
            out.append((subject, "replica", uri, "delete", uri))
        if (old.content, old.status, old.status_reasons) != (new.content, new.status, new.status_reasons):
            out.append((subject, "dataset", new.uuid, "edit", _dataset_value(new)))
    return entries_for(key, new.version, new.updated_at, new.updated_by, out, new.updated_for)


def user_changes(old: User | None, new: User) -> list[AuditEntry]:
    key = f"user:{new.username}"
    was_live = old is not None and not old.deleted
    rows: list[Row] = []
    us = user_subject(new.username)
    if new.deleted:
        if was_live:
            rows.append((us, "user", new.username, "delete", new.username))
    elif not was_live:
        rows.append((us, "user", new.username, "add", new.to_dict()))
    else:
        assert old is not None
        profile = ("is_admin", "display_name", "email", "orcid", "topics", "affiliation", "contact", "url", "auth_ids")
        if any(getattr(old, f) != getattr(new, f) for f in profile):
            rows.append((us, "user", new.username, "edit", new.to_dict()))
    # project membership: in the user's own log (a project has no record of its own here)
    old_projects = old.projects if was_live and old is not None else frozenset()
    new_projects = frozenset() if new.deleted else new.projects
    for project in sorted(new_projects - old_projects):
        membership = f"{new.username}|{project}"
        rows.append((us, "membership", membership, "add", {"username": new.username, "project": project}))
    for project in sorted(old_projects - new_projects):
        membership = f"{new.username}|{project}"
        rows.append((us, "membership", membership, "delete", membership))
    old_grants = _grants(old) if was_live else set()
    new_grants = set() if new.deleted else _grants(new)
    for kind, base_uri in sorted(new_grants - old_grants):
        rows.append(
            (
                base_uri_subject(base_uri),
                "permission",
                f"{new.username}|{base_uri}|{kind}",
                "add",
                {"username": new.username, "base_uri": base_uri, "permission": kind},
            )
        )
    for kind, base_uri in sorted(old_grants - new_grants):
        rows.append(
            (
                base_uri_subject(base_uri),
                "permission",
                f"{new.username}|{base_uri}|{kind}",
                "delete",
                f"{new.username}|{base_uri}|{kind}",
            )
        )
    profile_change = next((r for r in rows if r[1] == "user"), None)
    if profile_change is not None and new.updated_by != SYSTEM_ACTOR:
        # also among the actor's actions (GET /api/v1/user/me/actions)
        action = profile_change[3]
        rows.append((actions_subject(new.updated_by), "user", new.username, action, {"comment": f"User {action}"}))
    return entries_for(key, new.version, new.updated_at, new.updated_by, rows)


def _grants(user: User | None) -> set[tuple[str, str]]:
    if user is None:
        return set()
    return {("search", b) for b in user.search_base_uris} | {("register", b) for b in user.register_base_uris}


def base_uri_changes(old: BaseUri | None, new: BaseUri) -> list[AuditEntry]:
    key = f"base_uri:{new.base_uri}"
    was_live = old is not None and not old.deleted
    action: str
    value: Any
    if new.deleted:
        action, value = ("delete", new.base_uri) if was_live else ("", None)
    elif not was_live:
        action, value = "add", new.to_dict()
    else:
        assert old is not None
        changed = (old.description, old.public) != (new.description, new.public)
        action, value = ("edit", new.to_dict()) if changed else ("", None)
    if not action:
        return []
    row: Row = (base_uri_subject(new.base_uri), "base_uri", new.base_uri, action, value)
    return entries_for(key, new.version, new.updated_at, new.updated_by, [row])
