"""POST /harvests on the real local stack: a record of the local InvenioRDM stand-in (its file
content redirected as Zenodo does) is harvested, deposited and archived, every step shown;
the AIP keeps the upstream metadata; the same record again is the same archive."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from infra.local.invenio_standin import demo_records
from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, deposits_admin, wait_for

FINAL = {"archived", "failed", "rejected"}
RECORD = "ka3f9-qq2m8"  # tests/e2e/test_harvest.py's own; the README's walk-through uses 7hy2p-4x0c1


@pytest.fixture
def admin(stack: LocalStack) -> Client:
    """The admin, with the deposit bucket watched and registered as a base URI."""
    return deposits_admin(stack)


def archive_of(admin: Client, archive_id: str) -> dict[str, Any]:
    r = admin.get(f"/archives/{archive_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_harvested_record_ends_archived_with_its_upstream_metadata(stack: LocalStack, admin: Client) -> None:
    assert stack.invenio is not None
    source = stack.invenio.record_url(RECORD)
    r = admin.post("/harvests", {"source": source})
    assert r.status_code == 202, r.text
    harvest = r.json()
    assert harvest["files"] == len(demo_records()[RECORD].files) and harvest["archive"]
    assert f"/api/records/{RECORD}/files/notes.txt/content" in stack.invenio.requests  # redirected…
    assert f"/files/{RECORD}/notes.txt" in stack.invenio.requests  # …to the file on the same host

    assert wait_for(lambda: archive_of(admin, harvest["archive"])["status"] in FINAL, timeout=90, interval=0.2)
    archive = archive_of(admin, harvest["archive"])
    assert archive["status"] == "archived", archive
    assert archive["dataset"] == harvest["dataset"] and archive["source_uri"] == harvest["deposit_uri"]
    assert [(s["name"], s["status"]) for s in archive["steps"]] == [
        (name, "succeeded") for name in ("validate", "build", "store", "verify", "register")
    ]

    download = admin.get(f"/archives/{archive['id']}/download")
    assert download.status_code == 200, download.text
    files = {f["path"]: f["url"] for f in download.json()["files"]}
    session = requests.Session()
    session.trust_env = False
    record = json.loads(session.get(files["data/meta/upstream-record.json"], timeout=30).content)
    assert record["id"] == RECORD and record["metadata"]["title"] == demo_records()[RECORD].metadata["title"]
    assert session.get(files["data/content/notes.txt"], timeout=30).content == demo_records()[RECORD].files["notes.txt"]

    again = admin.post("/harvests", {"source": source})
    assert again.status_code == 409 and again.json()["ArchiveId"] == archive["id"], again.text


def test_a_source_that_is_not_allow_listed_is_refused(admin: Client) -> None:
    for source in (
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:1/records/x",
        "https://zenodo.org/records/1",
    ):
        r = admin.post("/harvests", {"source": source})
        assert r.status_code == 400 and r.json()["Field"] == "source", r.text


def test_the_welcome_text_shows_a_harvest_command_that_works(stack: LocalStack, admin: Client) -> None:
    from infra.local.welcome import harvest_lines

    [command] = [line for line in harvest_lines(stack) if "-X POST" in line]
    assert command.endswith(f"{stack.api_url}/harvests")
    body = json.loads(command.split("-d '", 1)[1].split("'", 1)[0])
    r = admin.post("/harvests", body)
    assert r.status_code in (202, 409), r.text  # 409: harvested already in this session
