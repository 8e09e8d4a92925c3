"""Registration, lookup, edits and replicas through the HTTP API (functional tier)."""

from __future__ import annotations

import uuid as uuidlib

import pytest

from chalicelib.composition import root
from infra.local.pump import to_lambda_record
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.support.data import registration


def register(api: Api, user: str = "champion", **kw: object) -> dict:
    body = registration(**kw)  # type: ignore[arg-type]
    r = api.post("/datasets", body, user=user)
    assert r.status_code in (200, 201), r.body
    return body


def test_register_then_lookup(personas: Api) -> None:
    body = register(personas)
    r = personas.post("/datasets", body, user="champion")
    assert r.status_code == 200 and r.json_body["status"] == "unchanged"
    got = personas.get(f"/datasets/{body['uuid']}", user="reader").json_body
    assert got["name"] == body["name"]
    assert got["frozen_at"] == 1700000000.5
    assert got["number_of_items"] == 2 and got["size_in_bytes"] == 3072
    assert [r["uri"] for r in got["replicas"]] == [body["uri"]]
    assert got["replicas"][0]["registered_by"] == "champion"
    assert got["version"] == 1


def test_first_registration_is_201_with_location(personas: Api) -> None:
    body = registration()
    r = personas.post("/datasets", body, user="champion")
    assert r.status_code == 201
    assert r.headers["Location"] == f"/datasets/{body['uuid']}"
    assert r.json_body["status"] == "created"


def test_changed_content_updates_and_bumps_version(personas: Api) -> None:
    body = register(personas)
    body["tags"] = ["soil", "revised"]
    r = personas.post("/datasets", body, user="champion")
    assert r.status_code == 200 and r.json_body["status"] == "updated"
    assert r.json_body["dataset"]["version"] == 2
    assert personas.get(f"/datasets/{body['uuid']}/tags", user="reader").json_body["tags"] == ["revised", "soil"]


def test_the_same_uuid_under_a_second_base_uri_is_a_second_entry(personas: Api) -> None:
    body = register(personas)
    copy = dict(body, base_uri=BUCKET_B, uri=f"{BUCKET_B}/{body['uuid']}")
    r = personas.post("/datasets", copy, user="bravo")
    # exactly what registering a new uuid answers: bravo learns nothing of the entry on A
    assert r.status_code == 201 and r.json_body["status"] == "created"
    assert [x["base_uri"] for x in r.json_body["dataset"]["replicas"]] == [BUCKET_B]
    again = dict(copy, uri=f"{BUCKET_B}/mirror/{body['uuid']}")
    r = personas.post("/datasets", again, user="bravo")
    assert r.status_code == 201 and r.json_body["status"] == "replica-added"  # a second place under B
    admin_view = personas.get(f"/datasets/{body['uuid']}").json_body
    assert sorted(x["base_uri"] for x in admin_view["replicas"]) == [BUCKET_A, BUCKET_B, BUCKET_B]
    # each user sees only the replicas on base URIs they may search
    reader_view = personas.get(f"/datasets/{body['uuid']}", user="reader").json_body
    assert [x["base_uri"] for x in reader_view["replicas"]] == [BUCKET_A]
    bravo_view = personas.get(f"/datasets/{body['uuid']}", user="bravo").json_body
    assert [x["base_uri"] for x in bravo_view["replicas"]] == [BUCKET_B, BUCKET_B]
    # two entries, two hits for whoever may search both base URIs; one for the others
    assert personas.get(f"/datasets?uuid={body['uuid']}").json_body["total"] == 2
    assert personas.get(f"/datasets?uuid={body['uuid']}", user="reader").json_body["total"] == 1


def test_register_needs_register_permission(personas: Api) -> None:
    before = personas.search.versions()
    for user in ("reader", "outsider", "bravo"):
        r = personas.post("/datasets", registration(), user=user)
        assert r.status_code == 403, (user, r.body)
        assert r.json_body["Code"] == "Forbidden"
    assert list(personas.search.versions()) == list(before)


def test_unregistered_base_uri_is_400_for_admin(personas: Api) -> None:
    r = personas.post("/datasets", registration(base_uri="s3://nowhere"))
    assert r.status_code == 400 and r.json_body["Field"] == "base_uri"


def test_invisible_dataset_is_404_like_a_missing_one(personas: Api) -> None:
    body = register(personas)
    for user in ("outsider", "bravo"):
        for suffix in ("", "/readme", "/manifest", "/annotations", "/tags", "/log"):
            r = personas.get(f"/datasets/{body['uuid']}{suffix}", user=user)
            assert r.status_code == 404, (user, suffix)
    missing = personas.get(f"/datasets/{uuidlib.uuid4()}", user="outsider")
    assert missing.status_code == 404
    assert missing.json_body["Code"] == personas.get(f"/datasets/{body['uuid']}", user="outsider").json_body["Code"]


def test_readme_manifest_annotations(personas: Api) -> None:
    body = register(personas)
    u = body["uuid"]
    assert personas.get(f"/datasets/{u}/readme", user="reader").json_body["readme"] == body["readme"]
    manifest = personas.get(f"/datasets/{u}/manifest", user="reader").json_body
    assert manifest["items"]["a1b2"]["relpath"] == "raw/probe_01.csv"
    assert manifest["hash_function"] == "md5sum_hexdigest"
    assert personas.get(f"/datasets/{u}/annotations", user="reader").json_body["annotations"] == body["annotations"]


def test_large_readme_and_manifest_live_in_the_bucket_and_read_back(personas: Api) -> None:
    big_readme = "---\nnotes: |\n" + "".join(f"  line {i} of a long field log\n" for i in range(2000))
    items = {
        f"id{i:05d}": {"relpath": f"raw/frame_{i:05d}.tif", "size_in_bytes": i, "hash": "f" * 32, "utc_timestamp": 1.0}
        for i in range(500)
    }
    body = register(personas, readme=big_readme, manifest={"hash_function": "md5sum_hexdigest", "items": items})
    u = body["uuid"]
    assert personas.get(f"/datasets/{u}/readme", user="reader").json_body["readme"] == big_readme
    assert len(personas.get(f"/datasets/{u}/manifest", user="reader").json_body["items"]) == 500
    hits = personas.get("/datasets?q=frame_00042.tif", user="reader").json_body
    assert [h["uuid"] for h in hits["items"]] == [u]


def test_patch_with_if_match_and_stale_version(personas: Api) -> None:
    body = register(personas)
    u = body["uuid"]
    r = personas.patch(
        f"/datasets/{u}", {"description": "Plot 7, spring"}, user="champion", headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.body
    assert r.json_body["version"] == 2 and r.headers["ETag"] == '"2"'
    stale = personas.patch(f"/datasets/{u}", {"tags": ["x"], "version": 1}, user="champion")
    assert stale.status_code == 409 and stale.json_body["CurrentVersion"] == 2
    got = personas.get(f"/datasets/{u}", user="reader").json_body
    assert got["description"] == "Plot 7, spring" and got["tags"] == ["field", "soil"]


def test_patch_rules(personas: Api) -> None:
    u = register(personas)["uuid"]
    assert personas.patch(f"/datasets/{u}", {"tags": ["a"], "version": 1}, user="reader").status_code == 403
    assert personas.patch(f"/datasets/{u}", {"tags": ["a"], "version": 1}, user="outsider").status_code == 404
    no_version = personas.patch(f"/datasets/{u}", {"tags": ["a"]}, user="champion")
    assert no_version.status_code == 400 and no_version.json_body["Field"] == "version"
    for bad, field in (
        ({"uuid": "x", "version": 1}, "uuid"),
        ({"tags": "soil", "version": 1}, "tags"),
        ({"tags": ["no spaces"], "version": 1}, "tags"),
        ({"annotations": [], "version": 1}, "annotations"),
        ({"version": 1}, "body"),
    ):
        r = personas.patch(f"/datasets/{u}", bad, user="champion")
        assert r.status_code == 400 and r.json_body["Field"] == field, (bad, r.body)
    assert personas.get(f"/datasets/{u}").json_body["version"] == 1


def test_delete_replica_and_last_replica(personas: Api) -> None:
    body = register(personas)
    u = body["uuid"]
    copy = dict(body, base_uri=BUCKET_B, uri=f"{BUCKET_B}/{u}")
    personas.post("/datasets", copy, user="bravo")
    assert personas.delete(f"/datasets/{u}/replicas?uri={body['uri']}", user="reader").status_code == 403
    assert personas.delete(f"/datasets/{u}/replicas?uri={copy['uri']}", user="champion").status_code == 404
    r = personas.delete(f"/datasets/{u}/replicas?uri={body['uri']}", user="admin")
    # the admin still sees the entry under B
    assert r.status_code == 200 and r.json_body["dataset_deleted"] is False
    assert [x["uri"] for x in r.json_body["replicas"]] == [copy["uri"]]
    assert personas.get(f"/datasets/{u}", user="reader").status_code == 404
    assert personas.get(f"/datasets/{u}", user="bravo").status_code == 200
    r = personas.delete(f"/datasets/{u}/replicas?uri={copy['uri']}", user="bravo")
    assert r.json_body["dataset_deleted"] is True
    assert personas.get(f"/datasets/{u}").status_code == 404
    assert personas.get(f"/datasets?uuid={u}").json_body["total"] == 0
    # registering again revives the entry with a higher version
    r = personas.post("/datasets", body, user="champion")
    assert r.status_code == 201 and r.json_body["dataset"]["version"] == 3


def test_audit_log_records_every_change_with_actor(personas: Api) -> None:
    body = register(personas)
    u = body["uuid"]
    personas.patch(f"/datasets/{u}", {"description": "d", "version": 1}, user="champion")
    personas.post("/datasets", dict(body, base_uri=BUCKET_B, uri=f"{BUCKET_B}/{u}"), user="bravo")
    personas.delete(f"/datasets/{u}/replicas?uri={BUCKET_B}/{u}", user="bravo")
    replay_streams(personas)  # a repeated delivery must not duplicate entries
    # each registrar reads the log of the entry under their base URI, and only that
    log = personas.get(f"/datasets/{u}/log", user="champion").json_body["entries"]
    assert [(e["entity_type"], e["action"], e["user"]) for e in log] == [
        ("dataset", "add", "champion"),
        ("dataset", "edit", "champion"),
    ]
    assert log[0]["value"]["readme"] == body["readme"]
    log = personas.get(f"/datasets/{u}/log", user="bravo").json_body["entries"]
    assert [(e["entity_type"], e["action"], e["user"]) for e in log] == [
        ("dataset", "add", "bravo"),
        ("dataset", "delete", "bravo"),
    ]
    assert personas.get(f"/datasets/{u}/log", user="reader").status_code == 403
    assert personas.get(f"/datasets/{u}/log", user="outsider").status_code == 404
    # admins read every entry's log, merged in time order, page by page
    page = personas.get(f"/datasets/{u}/log?limit=2", user="admin").json_body
    assert [(e["action"], e["user"]) for e in page["entries"]] == [("add", "champion"), ("edit", "champion")]
    assert page["next"]
    rest = personas.get(f"/datasets/{u}/log?limit=2&after={page['next']}", user="admin").json_body
    assert [(e["action"], e["user"]) for e in rest["entries"]] == [("add", "bravo"), ("delete", "bravo")]
    only_b = personas.get(f"/datasets/{u}/log?base_uri={BUCKET_B}", user="admin").json_body["entries"]
    assert [e["action"] for e in only_b] == ["add", "delete"]


def replay_streams(api: Api) -> int:
    """Deliver every record of every stream again, from the start (at-least-once delivery)."""
    streams = root().aws_client("dynamodbstreams")
    replayed = 0
    for pump in api.pumps:
        handler = pump.handler  # the app's handler of that stream
        desc = streams.describe_stream(StreamArn=pump.stream_arn)["StreamDescription"]
        for shard in desc["Shards"]:
            it = streams.get_shard_iterator(
                StreamArn=pump.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records = streams.get_records(ShardIterator=it, Limit=1000)["Records"]
            batch = [to_lambda_record(r, stream_arn=pump.stream_arn, region="eu-west-1") for r in records]
            if batch:
                handler({"Records": batch}, None)
                replayed += len(batch)
    return replayed


def test_replayed_stream_changes_nothing(personas: Api) -> None:
    u = register(personas)["uuid"]
    before = personas.get(f"/datasets/{u}/log").json_body["entries"]
    versions = dict(personas.search.versions())
    assert replay_streams(personas) > 0
    assert personas.get(f"/datasets/{u}/log").json_body["entries"] == before
    assert dict(personas.search.versions()) == versions


def test_a_record_reads_no_blob_it_does_not_show(personas: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dataset's record shows no readme or manifest: when those are large (kept in the blob
    store), GET /datasets/{uuid} reads neither, and the readme route reads the readme only
    (issue 16: one read per lookup)."""
    items = {
        f"k{n}": {"relpath": f"raw/file_{n:05}.csv", "size_in_bytes": n, "hash": "0" * 32, "utc_timestamp": 1.0}
        for n in range(200)
    }
    manifest = {"hash_function": "md5sum_hexdigest", "dtoolcore_version": "3.18.2", "items": items}
    body = register(personas, readme="note: " + "x" * 20_000 + "\n", manifest=manifest)
    read: list[str] = []
    blobs = root().blobs
    real_get = blobs.get

    def counting_get(key: str) -> str:
        read.append(key)
        return real_get(key)

    monkeypatch.setattr(blobs, "get", counting_get)
    got = personas.get(f"/datasets/{body['uuid']}", user="reader")
    assert got.status_code == 200 and got.json_body["number_of_items"] == 200
    assert read == []
    readme = personas.get(f"/datasets/{body['uuid']}/readme", user="reader")
    assert readme.status_code == 200 and "x" * 100 in readme.body.decode()
    assert len(read) == 1 and "readme" in read[0]
