"""GET /datasets/{uuid}/items/{id}/url in process: datasets put in moto's S3 (``mock_aws``, which
also answers ``requests``) under their layout's keys and registered by the ingest handler as the
event runner would deliver S3's notifications; a reader's link fetched from S3 gives the item's
bytes, and everyone who may not search the dataset gets the same 404 as for a uuid that does not
exist.

Needs ``items.bp`` registered in app.py and the operation in the API description (every answer
is checked against it)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any
from urllib.parse import unquote

import requests

from chalicelib.adapters.object_storage import attachment
from chalicelib.catalogue.item_links import DEFAULT_LINK_SECONDS
from chalicelib.composition import root
from chalicelib.ingest.layouts import sidecar_uuid
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.functional.test_uploads import deliver_s3_events, watch
from tests.unit.test_ingest import DtoolDataset

BUCKET = BUCKET_A.removeprefix("s3://")
ITEMS = {"raw/scan 001.las": b"lidar points\n" * 20, "notes.txt": b"leaf-on survey"}
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def item_id(relpath: str) -> str:
    return hashlib.sha1(relpath.encode()).hexdigest()


def put(objects: list[tuple[str, bytes]], bucket: str = BUCKET) -> None:
    s3 = root().aws_client("s3")
    for key, data in objects:
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def dtool_dataset(prefix: str = "lab/2026/") -> DtoolDataset:
    """A dtool dataset written to bucket-a (``dtool cp``) and registered by the ingest."""
    watch()
    ds = DtoolDataset(prefix=prefix, items=ITEMS)
    put(ds.objects())
    assert deliver_s3_events() > 0
    return ds


def url_of(api: Api, uuid: str, item: str, user: str | None = "reader", query: str = "") -> Any:
    return api.get(f"/datasets/{uuid}/items/{item}/url{query}", user=user)


def test_a_reader_gets_a_short_lived_link_that_serves_the_items_bytes(personas: Api) -> None:
    ds = dtool_dataset()
    assert personas.get(f"/datasets/{ds.uuid}", user="reader").json_body["kind"] == "dtool"
    before = time.time()
    r = url_of(personas, ds.uuid, item_id("raw/scan 001.las"))
    assert r.status_code == 200, r.body
    answer = r.json_body
    assert answer["item"] == {
        "id": item_id("raw/scan 001.las"),
        "relpath": "raw/scan 001.las",
        "size_in_bytes": len(ITEMS["raw/scan 001.las"]),
    }
    assert answer["base_uri"] == BUCKET_A
    assert before + DEFAULT_LINK_SECONDS <= answer["expires_at"] <= time.time() + DEFAULT_LINK_SECONDS
    assert f"{ds.prefix}{ds.uuid}/data/{item_id('raw/scan 001.las')}" in unquote(answer["url"])
    assert r.headers.get("Cache-Control") == "no-store"
    fetched = requests.get(answer["url"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == ITEMS["raw/scan 001.las"]
    assert fetched.headers["Content-Disposition"] == attachment("scan 001.las")
    # the registrar and admins too; ?base_uri= names the entry
    for user in ("champion", "admin"):
        r = url_of(personas, ds.uuid, item_id("notes.txt"), user, f"?base_uri={BUCKET_A}")
        assert r.status_code == 200, (user, r.body)
        assert requests.get(r.json_body["url"], timeout=10).content == ITEMS["notes.txt"]


def test_a_sidecar_folders_file_is_linked_by_its_relpath(personas: Api) -> None:
    watch()
    put([("runs/run-7/raw/probe 01.csv", b"t,v\n0,1\n")])
    put([("runs/run-7/dataset.json", json.dumps({"name": "run-7", "creator": "champion"}).encode())])
    deliver_s3_events()
    uuid = sidecar_uuid(f"{BUCKET_A}/runs/run-7")
    r = url_of(personas, uuid, item_id("raw/probe 01.csv"))
    assert r.status_code == 200, r.body
    fetched = requests.get(r.json_body["url"], timeout=10)
    assert fetched.content == b"t,v\n0,1\n" and fetched.headers["Content-Disposition"] == attachment("probe 01.csv")


def test_who_may_not_search_the_dataset_gets_the_answer_of_a_uuid_that_does_not_exist(personas: Api) -> None:
    ds = dtool_dataset()
    item = item_id("notes.txt")
    for user, uuid, query in (
        ("outsider", ds.uuid, ""),
        ("bravo", ds.uuid, ""),
        ("bravo", ds.uuid, f"?base_uri={BUCKET_A}"),
        ("reader", ds.uuid, f"?base_uri={BUCKET_B}"),
        ("reader", UNKNOWN, ""),
        ("admin", UNKNOWN, ""),
    ):
        r = url_of(personas, uuid, item, user, query)
        assert r.status_code == 404, (user, query, r.body)
        assert r.json_body == {"Code": "NotFound", "Message": f"no dataset {uuid}"}, (user, query)
    assert url_of(personas, ds.uuid, item, user=None).status_code == 401
    assert url_of(personas, "not-a-uuid", item).status_code == 400


def test_an_item_not_in_the_manifest_is_not_found(personas: Api) -> None:
    ds = dtool_dataset()
    for item in (item_id("nothing.txt"), "dtool", "..%2F..%2Fdtool"):
        r = url_of(personas, ds.uuid, item)
        assert r.status_code == 404 and r.json_body["Code"] == "NotFound", (item, r.body)
        assert "has no item" in r.json_body["Message"]


def test_a_record_describes_files_the_catalogue_cannot_link(personas: Api) -> None:
    watch()
    uuid = "5b1f7a0e-8c3d-4e2f-9a6b-7c8d9e0f1a2b"
    relpath = "raw/probe_01.csv"
    put([(f"{uuid}/data/{item_id(relpath)}", b"abc")])  # even where a dtool dataset would keep it
    body = {
        "uuid": uuid,
        "base_uri": BUCKET_A,
        "uri": f"{BUCKET_A}/{uuid}",
        "name": "soil-moisture",
        "creator_username": "champion",
        "frozen_at": 1718407924.4,
        "manifest": {"items": {item_id(relpath): {"relpath": relpath, "size_in_bytes": 3, "hash": "h"}}},
    }
    assert personas.post("/datasets", body, user="champion").status_code == 201
    r = url_of(personas, uuid, item_id(relpath))
    assert r.status_code == 404 and r.json_body["Code"] == "NotFound", r.body
    assert "is a record: the catalogue holds its metadata, not its files" in r.json_body["Message"]
