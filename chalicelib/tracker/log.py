"""The Data Tracker's log, read from the catalogue's audit log (never a second log).

The audit log keeps, per change of a record, the fields that changed (the whole record when it
was added, its last fields when deleted: :mod:`chalicelib.facility.audit`); users' entries keep
the whole user. This module folds those entries in order into the seed's shape: every add and
edit carries a **full copy** of the entity as it was after the change, a delete carries its id
(``{"_id": ...}``), each with its action, comment, time (ISO 8601, UTC) and the acting user's
``_id`` (``system`` for automated changes; ``username`` beside it).

The save that names a deleter just before a delete changes only the comment; it is folded into
the delete's entry, not shown on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.catalogue.audit import actions_subject, user_subject
from chalicelib.catalogue.paging import read_log
from chalicelib.domain import RESERVED_USERNAMES, JSONObject, user_uuid
from chalicelib.facility.audit import facility_subject
from chalicelib.tracker.records import COMMENT, KEPT, record_id

MAX_LOG_ENTRIES = 2000  # one entity's log, read whole (it is folded from its first entry)
_PAGE = 200

USER_FIELDS = {
    "display_name": "name",
    "email": "email",
    "contact": "contact",
    "affiliation": "affiliation",
    "orcid": "orcid",
    "url": "url",
    "auth_ids": "auth_ids",
    "topics": "permissions",
}


KEY_COMMENTS = {
    "api_key": {"add": "API key created", "edit": "API key changed", "delete": "API key revoked"},
    "api_session": {"add": "Signed in with an API key", "delete": "Key session ended"},
    "api_key_lockout": {"add": "API key locked after failed attempts", "delete": "API key lock lifted"},
}


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def actor_id(username: str) -> str:
    return username if username in RESERVED_USERNAMES else user_uuid(username)


def _entries(repo: Repository, subject: str) -> Iterator[JSONObject]:
    after: str | None = None
    for _ in range(MAX_LOG_ENTRIES // _PAGE):
        page = read_log(repo, [subject], _PAGE, after)
        yield from page.entries
        if page.next_after is None:
            return
        after = page.next_after


def record_log(repo: Repository, kind: str, uuid: str) -> list[dict[str, Any]]:
    """The log of the order, dataset or collection ``uuid``, oldest first."""
    state: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    for entry in _entries(repo, facility_subject(kind, record_id(uuid))):
        action, value = entry["action"], entry["value"]
        if not isinstance(value, dict):
            continue
        if action == "add":
            state = dict(value)
        elif action == "edit":
            for name, v in value.items():
                if v is None:
                    state.pop(name, None)
                else:
                    state[name] = v
            if set(value) <= {COMMENT}:
                continue  # the stamp before a delete: its comment goes with the delete
        else:
            state = {**state, **value}
        data = (
            {"_id": uuid} if action == "delete" else {**{k: v for k, v in state.items() if k not in KEPT}, "_id": uuid}
        )
        out.append(_row(entry, kind, str(state.get(COMMENT, "")), data))
    return out


def user_log(repo: Repository, username: str, uuid: str) -> list[dict[str, Any]]:
    """The log of one user (changes of its profile and permissions), oldest first."""
    out: list[dict[str, Any]] = []
    for entry in _entries(repo, user_subject(username)):
        if entry["entity_type"] in KEY_COMMENTS:
            out.append(_key_row(entry))
            continue
        if entry["entity_type"] != "user":
            continue
        action, value = entry["action"], entry["value"]
        if action == "delete" or not isinstance(value, dict):
            data: dict[str, Any] = {"_id": uuid}
            comment = "User deleted"
        else:
            data = {"_id": uuid, **{ours: value.get(theirs) for theirs, ours in USER_FIELDS.items() if theirs in value}}
            if action == "add":
                comment = "User created at first sign-in" if entry["user"] == "system" else "User added"
            else:
                comment = "User updated"
        out.append(_row(entry, "user", comment, data))
    return out


def actions(repo: Repository, username: str) -> list[dict[str, Any]]:
    """What ``username`` did to orders, datasets, collections and users, oldest first: each
    change's action, comment, kind, the entity's ``_id`` (``entry_id``) and time."""
    out = []
    for entry in _entries(repo, actions_subject(username)):
        value = entry["value"] if isinstance(entry["value"], dict) else {}
        kind = str(entry["entity_type"])
        entity = user_uuid(str(entry["entity_id"])) if kind == "user" else entry["entity_id"]
        out.append(
            {
                "_id": entry["id"],
                "action": entry["action"],
                "comment": value.get("comment", ""),
                "data_type": kind,
                "entry_id": entity,
                "timestamp": timestamp(float(entry["timestamp"])),
            }
        )
    return out


def _key_row(entry: JSONObject) -> dict[str, Any]:
    """An event of one of the user's API keys or key sessions (never a secret: the audit log
    has none, :mod:`chalicelib.facility.audit`)."""
    kind, action, value = entry["entity_type"], entry["action"], entry["value"]
    fields = value if isinstance(value, dict) else {}
    data = {k: fields[k] for k in ("key_id", "name", "expires_at") if k in fields}
    return _row(entry, kind, KEY_COMMENTS[kind].get(action, f"{kind} {action}"), data)


def _row(entry: JSONObject, kind: str, comment: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "_id": entry["id"],
        "action": entry["action"],
        "comment": comment,
        "data_type": kind,
        "data": data,
        "timestamp": timestamp(float(entry["timestamp"])),
        "user": actor_id(str(entry["user"])),
        "username": entry["user"],
    }


def log_document(kind: str, uuid: str, logs: list[dict[str, Any]]) -> dict[str, Any]:
    """The seed's log answer: ``{"entry_id", "data_type", "logs"}``."""
    return {"entry_id": uuid, "data_type": kind, "logs": logs}
