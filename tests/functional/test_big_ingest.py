"""Big data through auto-registration: a dtool dataset with a 100,000-item manifest and a
1 MB README (DynamoDB items are capped at 400 KB: both go to the catalogue bucket)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlparse

from chalicelib.composition import root
from chalicelib.ingest.events import ObjectEvent
from tests.functional.conftest import Api

BUCKET = "big-data"
UUID = "0b5e8a52-6f0e-4c1a-9d63-0d1c2b3a4f50"
ITEMS = 100_000


def test_hundred_thousand_items_and_a_megabyte_readme(api: Api) -> None:
    s3 = root().aws_client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert api.post("/base-uris", {"base_uri": f"s3://{BUCKET}"}).status_code == 201
    readme = "---\nnotes: |\n" + "".join(f"  shot {i:06d}: beam stable, detector nominal\n" for i in range(23_000))
    assert len(readme.encode()) > 1_000_000
    manifest = {
        "dtoolcore_version": "3.18.3",
        "hash_function": "md5sum_hexdigest",
        "items": {
            f"{i:040x}": {
                "relpath": f"frames/run_{i // 1000:03d}/frame_{i:06d}.h5",
                "size_in_bytes": 4096,
                "hash": f"{i:032x}",
                "utc_timestamp": 1.7e9,
            }
            for i in range(ITEMS)
        },
    }
    admin = {
        "uuid": UUID,
        "name": "xfel-run-0042",
        "type": "dataset",
        "creator_username": "okafor",
        "created_at": 1.7e9,
        "frozen_at": 1.7e9 + 60,
        "dtoolcore_version": "3.18.3",
    }
    for key, body in (
        (f"dtool-{UUID}", b""),
        (f"{UUID}/README.yml", readme.encode()),
        (f"{UUID}/manifest.json", json.dumps(manifest).encode()),
        (f"{UUID}/dtool", json.dumps(admin).encode()),
    ):
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    started = time.monotonic()
    outcome = root().ingest.handle(ObjectEvent(BUCKET, f"{UUID}/dtool", "created"))
    elapsed = time.monotonic() - started
    api.sync()
    assert outcome.status == "created", outcome
    print(f"\n100,000-item dataset registered in {elapsed:.1f} s")

    item = (
        root()
        .aws_client("dynamodb")
        .get_item(
            TableName=root().settings.datasets_table, Key={"uuid": {"S": UUID}, "base_uri": {"S": f"s3://{BUCKET}"}}
        )["Item"]
    )
    assert "readme_ref" in item and "manifest_ref" in item
    assert len(json.dumps(item)) < 20_000  # the item stays small; the blobs hold the bulk
    assert api.get(f"/datasets/{UUID}/readme").json_body["readme"] == readme
    # over one response's size: a 303 to a short-lived link to the stored manifest
    linked = api.get(f"/datasets/{UUID}/manifest")
    assert linked.status_code == 303, linked.body
    location = linked.headers["Location"]
    assert location == linked.json_body["location"] and "Signature" in location
    bucket = root().settings.catalogue_bucket
    key = urlparse(location).path.lstrip("/").removeprefix(f"{bucket}/")
    served = json.loads(root().blobs.get(key))
    assert len(served["items"]) == ITEMS and linked.json_body["bytes"] > 4 * 1024 * 1024
    record = api.get(f"/datasets/{UUID}").json_body
    assert record["number_of_items"] == ITEMS and record["size_in_bytes"] == ITEMS * 4096
    # searchable by a path deep in the manifest (the index keeps the first 10,000 paths)
    assert api.get("/datasets?q=frame_000042.h5").json_body["total"] == 1
    log = api.get(f"/datasets/{UUID}/log").json_body["entries"]
    assert [e["action"] for e in log] == ["add"] and log[0]["value"]["manifest"]["omitted"] is True
