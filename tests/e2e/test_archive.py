"""Archival on the real local stack: POST /datasets/{uuid}/archive starts the Step Functions
state machine on moto (execution on), whose SQS task steps the runner hands to the same
worker as in AWS; the AIP's bytes in the archive bucket hash to the SIP's manifest."""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib import resources
from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, catalogue_cli, persona, sidecar_dataset, wait_for

FILES = {"a.csv": b"t,v\n1,2\n", "sub dir/b ü.bin": b"\x01" * 5000}


def _ended(admin: Client, archive_id: str) -> dict[str, Any]:
    final = {"archived", "failed", "rejected"}
    assert wait_for(lambda: admin.get(f"/archives/{archive_id}").json()["status"] in final, timeout=60)
    return dict(admin.get(f"/archives/{archive_id}").json())


def test_a_registered_dataset_is_archived_with_every_step_visible(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    _, uuid = sidecar_dataset(stack, admin, FILES, "to archive")
    r = admin.post(f"/datasets/{uuid}/archive", {})
    assert r.status_code == 202, r.text
    archive_id = r.json()["id"]
    assert r.headers["Location"] == f"/archives/{archive_id}"
    again = admin.post(f"/datasets/{uuid}/archive", {})
    assert again.status_code == 409 and again.json()["ArchiveId"] == archive_id

    archive = _ended(admin, archive_id)
    assert archive["status"] == "archived", archive
    assert [(s["name"], s["status"], s["attempts"]) for s in archive["steps"]] == [
        (name, "succeeded", 1) for name in ("validate", "build", "store", "verify", "register")
    ]
    assert all(s["started_at"] <= s["ended_at"] for s in archive["steps"])
    aip = archive["aip"]
    assert aip["uri"].startswith(f"s3://{resources.ARCHIVE_BUCKET}/aips/{uuid}/{archive_id}/")
    assert archive["fixity"]["ok"] is True

    # the bytes in the archive bucket hash to the SIP's manifest
    s3 = stack.client("s3")
    prefix = aip["uri"].removeprefix(f"s3://{resources.ARCHIVE_BUCKET}/")
    manifest = s3.get_object(Bucket=resources.ARCHIVE_BUCKET, Key=prefix + "manifest-sha256.txt")["Body"].read()
    lines = dict(reversed(line.split("  ", 1)) for line in manifest.decode().splitlines())
    assert set(lines) == {f"data/{p}" for p in FILES}
    for relpath, data in FILES.items():
        stored = s3.get_object(Bucket=resources.ARCHIVE_BUCKET, Key=f"{prefix}data/{relpath}")["Body"].read()
        assert stored == data and hashlib.sha256(stored).hexdigest() == lines[f"data/{relpath}"]

    replicas = {r["uri"]: r["base_uri"] for r in admin.get(f"/datasets/{uuid}").json()["replicas"]}
    assert replicas[aip["uri"].rstrip("/")] == f"s3://{resources.ARCHIVE_BUCKET}"  # the AIP is a replica

    # the fixity audit finds a damaged AIP
    s3.put_object(Bucket=resources.ARCHIVE_BUCKET, Key=f"{prefix}data/a.csv", Body=b"t,v\n1,3\n")
    audit = catalogue_cli(stack, "fixity", "--fraction", "1", "--period-days", "1")
    assert audit.returncode == 1 and archive_id in audit.stdout, audit.stdout + audit.stderr
    damaged = admin.get(f"/archives/{archive_id}").json()
    assert damaged["status"] == "fixity_failed" and any("a.csv" in m for m in damaged["fixity"]["mismatches"])

    listed = admin.get("/archives", params={"dataset": uuid}).json()
    assert listed["total"] == 1 and listed["items"][0]["status"] == "fixity_failed"
    log = admin.get(f"/datasets/{uuid}/log").json()["entries"]
    statuses = {e["value"].get("status") for e in log if e["entity_type"] == "archive"}
    assert statuses >= {"requested", "archived", "fixity_failed"}
    assert persona(stack, "archive-outsider").get(f"/archives/{archive_id}").status_code == 404


def test_bad_archive_requests_are_clear_4xx(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    assert admin.post("/datasets/00000000-0000-4000-8000-000000000000/archive", {}).status_code == 404
    assert admin.get("/archives/not-an-id").status_code == 400
    assert admin.get("/archives", params={"status": "done"}).status_code == 400
    assert admin.get(f"/archives/ar-{'0' * 24}").json()["Code"] == "NotFound"
