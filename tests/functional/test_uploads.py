"""POST /uploads in process: who may start a folder upload, which folders are refused, and a
whole upload: files posted through the presigned form to S3 (moto's, which ``mock_aws``
serves to ``requests`` too), the sidecar last, S3's notifications delivered to the ingest
handler as the event runner would, and the dataset at ``GET /datasets/{uuid}``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from chalicelib import bootstrap, jobs
from chalicelib.composition import root
from chalicelib.ingest.layouts import sidecar_uuid
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api

BUCKET = BUCKET_A.removeprefix("s3://")


def watch(bucket: str = BUCKET) -> None:
    """Create the bucket and send its events to the ingest queue (as ``make run`` wires it)."""
    bootstrap.watch_bucket(root(), bucket)


def deliver_s3_events() -> int:
    """Hand every message of the ingest queue to the ingest handler, as the event runner (or
    Lambda's SQS trigger) would; how many were delivered."""
    queue, delivered = root().ingest_queue, 0
    while batch := queue.receive(10, visibility_timeout=30):
        for message in batch:
            jobs.on_ingest_message(root(), message.body, 1)
            queue.delete(message.receipt_handle)
            delivered += 1
    return delivered


def post_file(form: dict[str, Any], relpath: str, data: bytes) -> None:
    """One file POSTed through the form, as a browser posts it (fields, key, then the file)."""
    fields = {**form["fields"], "key": form["key_prefix"] + relpath}
    answer = requests.post(form["url"], data=fields, files={"file": (relpath.rsplit("/", 1)[-1], data)}, timeout=10)
    assert answer.status_code == 204, answer.text


def start(api: Api, folder: str, user: str = "champion", base_uri: str = BUCKET_A) -> Any:
    return api.post("/uploads", {"base_uri": base_uri, "folder": folder}, user=user)


def test_a_registrar_gets_a_form_for_a_new_folder(personas: Api) -> None:
    watch()
    r = start(personas, "runs/run-7")
    assert r.status_code == 200, r.body
    form = r.json_body
    uri = f"{BUCKET_A}/runs/run-7"
    assert {k: form[k] for k in ("base_uri", "folder", "uri", "uuid", "sidecar", "creator", "key_prefix")} == {
        "base_uri": BUCKET_A,
        "folder": "runs/run-7",
        "uri": uri,
        "uuid": sidecar_uuid(uri),
        "sidecar": "dataset.json",
        "creator": "champion",
        "key_prefix": "runs/run-7/",
    }
    settings = root().settings
    assert (form["expires_in"], form["max_bytes"]) == (settings.upload_expires_seconds, settings.upload_max_bytes)
    assert form["max_bytes"] == 5 * 1024**3 and form["url"].startswith("https://")
    assert "key" not in form["fields"] and "policy" in form["fields"]
    assert personas.get(f"/datasets/{form['uuid']}", user="champion").status_code == 404  # nothing yet
    # an admin may upload anywhere
    assert start(personas, "runs/run-8", user="admin").status_code == 200


def test_a_base_uri_whose_bucket_does_not_exist_is_a_conflict_not_a_500(personas: Api) -> None:
    # found by schemathesis (issue 22): S3's NoSuchBucket left the adapter as a ClientError
    r = start(personas, "runs/run-7")  # bucket-a is registered, but nobody made the bucket
    assert r.status_code == 409 and r.json_body["Code"] == "Conflict", r.body
    assert "does not exist" in r.json_body["Message"]


def test_who_may_not_upload_gets_the_same_answer_whatever_it_asks(personas: Api) -> None:
    watch()
    watch(BUCKET_B.removeprefix("s3://"))
    for user in ("reader", "outsider", "bravo"):
        for base_uri in (BUCKET_A, "s3://nowhere", "s3://nowhere/x"):
            r = start(personas, "runs/run-7", user=user, base_uri=base_uri)
            assert r.status_code == 403 and r.json_body["Code"] == "Forbidden", (user, base_uri, r.body)
        # the folder is not looked at before the caller may upload
        assert start(personas, "../..", user=user).status_code == 403
    assert personas.post("/uploads", {"base_uri": BUCKET_A, "folder": "x"}, user=None).status_code == 401
    assert start(personas, "runs/run-7", user="bravo", base_uri=BUCKET_B).status_code == 200  # bravo's own
    # an admin asking for a base URI that is not registered is told so (as POST /datasets)
    r = start(personas, "runs/run-7", user="admin", base_uri="s3://nowhere")
    assert r.status_code == 400 and r.json_body["Field"] == "base_uri", r.body


@pytest.mark.parametrize(
    "folder",
    ["", "/runs", "runs/", "runs//7", ".", "..", "runs/../x", "runs/./x", "run 7", "ruñ", "a" * 129, "a:b", 7, None],
)
def test_a_malformed_folder_is_refused(personas: Api, folder: Any) -> None:
    r = start(personas, folder)
    assert r.status_code == 400 and r.json_body["Field"] == "folder", r.body


@pytest.mark.parametrize("body", [b"[]", b"{", b"", b'{"folder": "x"}', b'{"base_uri": "bucket-a", "folder": "x"}'])
def test_a_malformed_body_is_refused(personas: Api, body: bytes) -> None:
    assert personas.call("POST", "/uploads", "champion", raw=body).status_code == 400


def test_a_folder_that_holds_files_or_lies_in_a_dataset_folder_is_refused(personas: Api) -> None:
    watch()
    s3 = root().aws_client("s3")
    s3.put_object(Bucket=BUCKET, Key="runs/run-7/notes.txt", Body=b"someone's")
    s3.put_object(Bucket=BUCKET, Key="lab/dataset.json", Body=b'{"name": "lab"}')
    s3.put_object(Bucket=BUCKET, Key="bags/bag-1/bagit.txt", Body=b"BagIt-Version: 1.0\n")
    for folder in ("runs/run-7", "runs", "lab/run-1", "lab/a/b/c", "bags/bag-1/data"):
        r = start(personas, folder)
        assert r.status_code == 409 and r.json_body["Code"] == "Conflict", (folder, r.body)
    assert "s3://bucket-a/lab" in start(personas, "lab/x").json_body["Message"]
    for folder in ("runs/run-70", "runs/run-7.1", "labs/run-1", "bags/bag-2"):  # neighbours are free
        assert start(personas, folder).status_code == 200, folder
    assert s3.get_object(Bucket=BUCKET, Key="runs/run-7/notes.txt")["Body"].read() == b"someone's"


def test_a_folder_inside_a_nested_base_uri_is_its_registrars_only(personas: Api) -> None:
    """The ingest files a folder under the longest base URI holding it: uploading through the
    bucket's base URI into a nested one would register there without permission."""
    watch()
    nested = f"{BUCKET_A}/restricted"
    assert personas.post("/base-uris", {"base_uri": nested}).status_code == 201
    for folder in ("restricted", "restricted/run-1"):  # the nested base URI itself, or a folder in it
        r = start(personas, folder)
        assert r.status_code == 403, r.body
        assert r.json_body["Message"] == f"no register permission on {BUCKET_A}/{folder}"  # the folder's URI only
        r = start(personas, folder, user="admin")  # who may register there is told where to go
        assert r.status_code == 400 and r.json_body["Field"] == "folder" and nested in r.json_body["Message"], r.body
    assert start(personas, "restricted-not").status_code == 200  # a neighbour, not inside it
    assert start(personas, "run-1", user="admin", base_uri=nested).status_code == 200


def test_the_catalogues_own_base_uris_and_other_schemes_are_refused(personas: Api) -> None:
    settings = root().settings
    for base_uri in (settings.archive_base_uri, settings.deposit_base_uri, "smb://server/share"):
        added = personas.post("/base-uris", {"base_uri": base_uri})
        assert added.status_code in (201, 409), added.body
        r = start(personas, "runs/run-7", user="admin", base_uri=base_uri)
        assert r.status_code == 400 and r.json_body["Field"] == "base_uri", (base_uri, r.body)


def test_a_folder_posted_through_the_form_becomes_a_dataset(personas: Api) -> None:
    watch()
    form = start(personas, "runs/run-7").json_body
    files = {"raw/probe 01.csv": b"t,moisture\n0,0.31\n", "raw/probe_02.csv": b"t,moisture\n0,0.29\n", "notes": b""}
    for relpath, data in files.items():
        post_file(form, relpath, data)
    deliver_s3_events()  # files without a sidecar: nothing to register yet
    assert personas.get(f"/datasets/{form['uuid']}", user="champion").status_code == 404
    sidecar = {"name": "soil-run-7", "description": "a field run", "creator": form["creator"], "tags": ["soil"]}
    post_file(form, form["sidecar"], json.dumps(sidecar).encode())
    assert deliver_s3_events() >= 1
    personas.sync()
    r = personas.get(f"/datasets/{form['uuid']}", user="reader")
    assert r.status_code == 200, r.body
    record = r.json_body
    assert (record["name"], record["creator_username"], record["tags"]) == ("soil-run-7", "champion", ["soil"])
    assert record["uri"] == form["uri"] and record["base_uri"] == BUCKET_A
    manifest = personas.get(f"/datasets/{form['uuid']}/manifest", user="reader").json_body
    assert sorted(i["relpath"] for i in manifest["items"].values()) == sorted(files)
    # the folder is taken now: a second upload to it is refused
    assert start(personas, "runs/run-7").status_code == 409
