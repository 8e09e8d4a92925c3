"""`catalogue-admin index s3://bucket` registers what a bucket already holds, with the same code as
the event handler; running it again changes nothing."""

from __future__ import annotations

import json
import re

from infra.local.stack import LocalStack
from tests.e2e.helpers import catalogue_cli, persona, total, unique, wait_for

N = 200


def test_bulk_index_registers_existing_data_once(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    bucket = unique("bulk")
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})  # not watched
    assert admin.post("/base-uris", {"base_uri": f"s3://{bucket}"}).status_code == 201
    for i in range(N):
        s3.put_object(Bucket=bucket, Key=f"runs/run-{i:03d}/data.csv", Body=b"1,2\n")
        sidecar = {"name": f"bulk-run-{i:03d}", "creator": "bench"}
        s3.put_object(Bucket=bucket, Key=f"runs/run-{i:03d}/dataset.json", Body=json.dumps(sidecar).encode())
    s3.put_object(Bucket=bucket, Key="runs/broken/dataset.json", Body=b"{not json")
    s3.put_object(Bucket=bucket, Key="stray/readme.txt", Body=b"not a dataset")

    first = catalogue_cli(stack, "index", f"s3://{bucket}")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{N} created" in first.stdout and "1 refused" in first.stdout, first.stdout
    assert "runs/broken" in first.stdout
    rate = re.search(r"\((\d+)/s\)", first.stdout)
    print(f"\nbulk index of {N} sidecar datasets: {rate.group(0) if rate else first.stdout}")
    assert rate is not None
    assert wait_for(lambda: total(admin, f"?base_uri=s3://{bucket}&page_size=1") == N, timeout=30)

    again = catalogue_cli(stack, "index", f"s3://{bucket}/runs")
    assert again.returncode == 0 and f"{N} unchanged" in again.stdout, again.stdout + again.stderr


def test_reconcile_registers_missed_uploads_and_reports_vanished_ones(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    bucket = unique("recon")
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})  # events "lost"
    assert admin.post("/base-uris", {"base_uri": f"s3://{bucket}"}).status_code == 201
    for name in ("kept", "vanishing"):
        s3.put_object(Bucket=bucket, Key=f"{name}/dataset.json", Body=json.dumps({"name": f"recon-{name}"}).encode())
    first = catalogue_cli(stack, "reconcile")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"s3://{bucket}: 2 created" in first.stdout, first.stdout
    assert wait_for(lambda: total(admin, f"?base_uri=s3://{bucket}") == 2, timeout=30)
    s3.delete_object(Bucket=bucket, Key="vanishing/dataset.json")  # and that event is lost too
    second = catalogue_cli(stack, "reconcile")
    assert f"gone s3://{bucket}/vanishing" in second.stdout, second.stdout
    report = admin.get("/reconcile").json()
    [mine] = [f for f in report["base_uris"] if f["base_uri"] == f"s3://{bucket}"]
    assert [m["uri"] for m in mine["missing_replicas"]] == [f"s3://{bucket}/vanishing"]
    assert persona(stack, "reader").get("/reconcile").status_code == 403


def test_admin_route_indexes_asynchronously_through_the_queue(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    bucket = unique("async")
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    base = f"s3://{bucket}/lab"
    assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    for i in range(20):
        s3.put_object(Bucket=bucket, Key=f"lab/run-{i}/dataset.json", Body=json.dumps({"name": f"async-{i}"}).encode())
    s3.put_object(Bucket=bucket, Key="elsewhere/dataset.json", Body=b"{}")  # outside the base URI
    enc = base.replace(":", "%3A").replace("/", "%2F")
    r = admin.post(f"/base-uris/{enc}/index", {})
    assert r.status_code == 202, r.text
    assert r.json() == {"base_uri": base, "status": "started"}
    assert wait_for(lambda: total(admin, f"?base_uri={base}") == 20, timeout=60)
    assert persona(stack, "reader").post(f"/base-uris/{enc}/index", {}).status_code == 403
