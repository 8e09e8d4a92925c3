"""The Data Tracker's log (chalicelib/tracker/log.py) folded from the audit entries the facility
stream derives (chalicelib/facility/audit.py): every add and edit a full copy, a delete its
id, the comment of each change, the stamp before a delete folded away, key secrets never."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import user_uuid
from chalicelib.facility.audit import facility_changes
from chalicelib.tracker.log import actions, record_log, user_log
from chalicelib.tracker.records import COMMENT, DATASET, record_id
from tests.fakes.repository import InMemoryRepository

UUID = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"


def dataset(version: int, comment: str, at: float, by: str = "alice", **fields: object) -> FacilityRecord:
    return FacilityRecord(
        kind=DATASET,
        id=record_id(UUID),
        uuid=UUID,
        version=version,
        fields={"title": "Reads", "created_at": 1.0, COMMENT: comment, **fields},
        updated_at=at,
        updated_by=by,
    )


def test_full_copies_comments_and_the_delete() -> None:
    repo = InMemoryRepository()
    v1 = dataset(1, "Dataset added", 10.0, description="d", tags_user={"a": "1"})
    v2 = dataset(2, "Dataset updated", 20.0, description="new", tags_user={"a": "1"})
    v3 = dataset(3, "Dataset updated", 30.0, description="new")  # tags_user removed
    stamp = dataset(4, "Deleted with order X", 40.0, by="bob", description="new")  # names the deleter
    for old, new in ((None, v1), (v1, v2), (v2, v3), (v3, stamp), (stamp, None)):
        repo.append_audit(facility_changes(old, new))
    logs = record_log(repo, DATASET, UUID)
    assert [(e["action"], e["comment"], e["user"]) for e in logs] == [
        ("add", "Dataset added", user_uuid("alice")),
        ("edit", "Dataset updated", user_uuid("alice")),
        ("edit", "Dataset updated", user_uuid("alice")),
        ("delete", "Deleted with order X", user_uuid("bob")),  # the stamp is not an entry of its own
    ]
    assert logs[1]["data"] == {"_id": UUID, "title": "Reads", "description": "new", "tags_user": {"a": "1"}}
    assert logs[2]["data"] == {"_id": UUID, "title": "Reads", "description": "new"}
    assert logs[3]["data"] == {"_id": UUID}
    assert logs[0]["timestamp"] == "1970-01-01T00:00:10.000Z"
    # the actors' actions: each change once, by its actor
    assert [(a["action"], a["entry_id"]) for a in actions(repo, "alice")] == [
        ("add", UUID),
        ("edit", UUID),
        ("edit", UUID),
    ]
    assert [(a["action"], a["comment"]) for a in actions(repo, "bob")] == [("delete", "Deleted with order X")]


def test_key_events_are_in_the_owners_log_without_secrets() -> None:
    repo = InMemoryRepository()
    key = FacilityRecord(
        kind="api_key",
        id=7,
        uuid=UUID,
        version=1,
        fields={"key_id": "0123456789abcdef", "owner": "ada", "name": "laptop", "salt": "s" * 32, "hash": "h" * 128,
                "created_at": 1.0, "last_used_at": None},
        updated_at=5.0,
        updated_by="ada",
    )  # fmt: skip
    used = replace(key, version=2, fields={**key.fields, "last_used_at": 9.0})
    repo.append_audit(facility_changes(None, key))
    repo.append_audit(facility_changes(key, used))  # a use: no entry
    repo.append_audit(facility_changes(used, None))
    logs = user_log(repo, "ada", user_uuid("ada"))
    assert [(e["comment"], e["data"]) for e in logs] == [
        ("API key created", {"key_id": "0123456789abcdef", "name": "laptop"}),
        ("API key revoked", {"key_id": "0123456789abcdef", "name": "laptop"}),
    ]
    assert "s" * 32 not in str(repo.list_audit("user#ada", 100, None)) and "h" * 128 not in str(logs)
