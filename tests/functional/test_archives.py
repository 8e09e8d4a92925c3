"""The /archives routes in process (chalice.test.Client over mock_aws): who may start,
see and list archives; the 4xx contract. The workflow itself runs in tests/e2e."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from chalicelib import bootstrap, resources
from chalicelib.composition import install, root
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.functional.test_datasets import register
from tests.support.data import registration

ASL = (Path(__file__).resolve().parents[2] / resources.ARCHIVE_DEFINITION_FILE).read_text()


@pytest.fixture
def archiving(personas: Api) -> Api:
    """The personas, with the archival state machine created (execution is off in mock_aws)."""
    settings = root().settings
    arn = bootstrap.create_archive_state_machine(root(), ASL)
    install(root().rewired(replace(settings, archive_state_machine_arn=arn)))
    return personas


def executions(arn: str) -> list[str]:
    sfn = root().aws_client("stepfunctions")
    return [e["name"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]]


def test_request_lookup_and_duplicate(archiving: Api) -> None:
    uuid = register(archiving)["uuid"]
    r = archiving.post(f"/datasets/{uuid}/archive", {}, user="champion")
    assert r.status_code == 202, r.body
    archive = json.loads(r.body)
    assert r.headers["Location"] == f"/archives/{archive['id']}"
    assert executions(root().settings.archive_state_machine_arn) == [archive["id"]]
    again = archiving.post(f"/datasets/{uuid}/archive", {}, user="admin")
    assert again.status_code == 409 and json.loads(again.body)["ArchiveId"] == archive["id"]
    assert json.loads(archiving.get(f"/archives/{archive['id']}", user="reader").body)["status"] == "requested"
    view = json.loads(archiving.get(f"/datasets/{uuid}", user="reader").body)
    assert view["archival"]["status"] == "requested"
    assert [a["id"] for a in view["archival"]["history"]] == [archive["id"]]


def test_archival_shown_on_the_entry_changes_neither_version_nor_log(archiving: Api) -> None:
    uuid = register(archiving)["uuid"]
    before = json.loads(archiving.get(f"/datasets/{uuid}", user="champion").body)
    log_before = json.loads(archiving.get(f"/datasets/{uuid}/log", user="champion").body)
    archive_id = json.loads(archiving.post(f"/datasets/{uuid}/archive", {}, user="champion").body)["id"]
    after = json.loads(archiving.get(f"/datasets/{uuid}", user="champion").body)
    assert after["version"] == before["version"] and before["archival"] == {"status": None, "history": []}
    assert after["archival"]["history"][0]["id"] == archive_id
    log_after = json.loads(archiving.get(f"/datasets/{uuid}/log", user="champion").body)["entries"]
    # the archive's own entry only (the projection on the entry is not a change of the dataset)
    assert [e for e in log_after if e["entity_type"] != "archive"] == log_before["entries"]
    assert [e["entity_id"] for e in log_after if e["entity_type"] == "archive"] == [archive_id]
    # an edit of the entry keeps its archives
    edited = archiving.patch(f"/datasets/{uuid}", {"version": after["version"], "description": "x"}, user="champion")
    assert edited.status_code == 200, edited.body
    view = json.loads(archiving.get(f"/datasets/{uuid}", user="champion").body)
    assert view["description"] == "x" and view["archival"]["history"][0]["id"] == archive_id


def test_permissions_are_404_for_the_unseen_and_403_for_readers(archiving: Api) -> None:
    uuid = register(archiving)["uuid"]
    assert archiving.post(f"/datasets/{uuid}/archive", {}, user="reader").status_code == 403
    assert archiving.post(f"/datasets/{uuid}/archive", {}, user="outsider").status_code == 404
    archive_id = json.loads(archiving.post(f"/datasets/{uuid}/archive", {}, user="champion").body)["id"]
    for path in (f"/archives/{archive_id}", f"/archives/{archive_id}/download"):
        assert archiving.get(path, user="outsider").status_code == 404
    assert archiving.post(f"/archives/{archive_id}/retry", {}, user="outsider").status_code == 404
    assert json.loads(archiving.get("/archives", user="outsider").body)["total"] == 0
    assert archiving.post("/archives", {"filename": "x.zip"}, user="reader").status_code == 403


def test_list_pages_like_search(archiving: Api) -> None:
    uuid = register(archiving)["uuid"]
    for n in range(3):  # each new content version is a new archive
        version = json.loads(archiving.get(f"/datasets/{uuid}", user="champion").body)["version"]
        r = archiving.patch(
            f"/datasets/{uuid}", {"description": f"version {n}"}, user="champion", headers={"If-Match": f'"{version}"'}
        )
        assert r.status_code == 200, r.body
        assert archiving.post(f"/datasets/{uuid}/archive", {}, user="champion").status_code == 202
    r = archiving.get(f"/archives?dataset={uuid}&page_size=2", user="reader")
    body = json.loads(r.body)
    assert body["total"] == 3 and len(body["items"]) == 2 and body["total_pages"] == 2
    assert r.headers["X-Total-Count"] == "3" and 'page=2>; rel="next"' in r.headers["Link"]
    last = json.loads(archiving.get(f"/archives?dataset={uuid}&page_size=2&page=2", user="reader").body)
    assert len(last["items"]) == 1
    assert json.loads(archiving.get("/archives?status=requested", user="admin").body)["total"] == 3


@pytest.mark.parametrize(
    "path",
    [
        "/archives?status=done",
        "/archives?page=0",
        "/archives?page_size=101",
        "/archives?page_size=x",
        "/archives?dataset=not-a-uuid",
        "/archives/not-an-id",
        "/archives/ar-XYZ/download",
    ],
)
def test_bad_requests_are_400_json(archiving: Api, path: str) -> None:
    r = archiving.get(path, user="admin")
    assert r.status_code == 400, (path, r.body)
    assert set(json.loads(r.body)) >= {"Code", "Message"}


def test_unfinished_archives_have_nothing_to_download_or_retry(archiving: Api) -> None:
    uuid = register(archiving)["uuid"]
    archive_id = json.loads(archiving.post(f"/datasets/{uuid}/archive", {}, user="champion").body)["id"]
    for r in (
        archiving.get(f"/archives/{archive_id}/download", user="champion"),
        archiving.post(f"/archives/{archive_id}/retry", {}, user="champion"),
    ):
        assert r.status_code == 409 and json.loads(r.body)["Code"] == "Conflict"


def test_deposit_upload_link(archiving: Api) -> None:
    assert archiving.post("/base-uris", {"base_uri": f"s3://{resources.DEPOSIT_BUCKET}"}).status_code == 201
    r = archiving.post("/archives", {"filename": "run 7.zip"}, user="admin")
    assert r.status_code == 201, r.body
    link = json.loads(r.body)
    assert link["method"] == "PUT" and link["uri"].startswith(f"s3://{resources.DEPOSIT_BUCKET}/uploads/")
    for bad in ({"filename": "../x.zip"}, {"filename": "x.exe"}, {}, ["x.zip"]):
        r = archiving.post("/archives", bad, user="admin")
        assert r.status_code == 400 and "Code" in json.loads(r.body), bad


def test_a_registrar_of_another_base_uri_cannot_take_over_a_dataset(archiving: Api) -> None:
    """Issue 15, finding 1, as reproduced over HTTP: bravo (register on bucket-b only)
    registers the uuid of champion's dataset on bucket-a, then reads its log, edits it and
    archives it. Each step now reaches bravo's own entry under bucket-b, and nothing else."""
    victim = register(archiving)
    uuid = victim["uuid"]
    fresh = archiving.post("/datasets", registration(base_uri=BUCKET_B), user="bravo")
    taken = archiving.post("/datasets", dict(victim, base_uri=BUCKET_B, uri=f"{BUCKET_B}/{uuid}"), user="bravo")
    # the same answer as for a uuid nobody has: no existence oracle
    assert (taken.status_code, taken.json_body["status"]) == (fresh.status_code, fresh.json_body["status"])
    assert (taken.status_code, taken.json_body["status"]) == (201, "created")
    assert [r["base_uri"] for r in taken.json_body["dataset"]["replicas"]] == [BUCKET_B]
    log = archiving.get(f"/datasets/{uuid}/log", user="bravo")
    assert log.status_code == 200 and BUCKET_A not in log.body.decode()
    version = archiving.get(f"/datasets/{uuid}", user="bravo").json_body["version"]
    edit = {"version": version, "tags": ["hijacked"], "description": "mine now"}
    assert archiving.patch(f"/datasets/{uuid}", edit, user="bravo").status_code == 200
    assert archiving.get(f"/datasets/{uuid}/tags", user="reader").json_body["tags"] == sorted(victim["tags"])
    assert archiving.get(f"/datasets/{uuid}", user="champion").json_body["description"] != "mine now"
    archive = archiving.post(f"/datasets/{uuid}/archive", {}, user="bravo")
    assert archive.status_code == 202
    assert archive.json_body["source_uri"] == f"{BUCKET_B}/{uuid}" and archive.json_body["base_uri"] == BUCKET_B
    # champion's archive of the entry under bucket-a is another archive, unseen by bravo
    mine = archiving.post(f"/datasets/{uuid}/archive", {}, user="champion")
    assert mine.status_code == 202 and mine.json_body["source_uri"] == victim["uri"]
    assert archiving.get(f"/archives/{mine.json_body['id']}", user="bravo").status_code == 404
    assert archiving.get(f"/archives/{mine.json_body['id']}/download", user="bravo").status_code == 404
    listed = archiving.get(f"/archives?dataset={uuid}", user="bravo").json_body["items"]
    assert [a["id"] for a in listed] == [archive.json_body["id"]]
