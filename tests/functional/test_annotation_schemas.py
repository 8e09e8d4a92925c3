"""Site-defined annotation schemas through the HTTP API (functional tier): admins register
versions, datasets and projects declare them, every registration and edit is checked (the
API answers 400 and stores nothing), and an upload from S3 that breaks its schema is refused
with the problems recorded for its registrars."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

import pytest

from chalicelib import jobs
from chalicelib.composition import root
from tests.functional.conftest import BUCKET_A, Api
from tests.support.data import registration
from tests.unit.test_ingest import DtoolDataset, notification, s3_record

SOIL_V1 = {
    "type": "object",
    "required": ["instrument"],
    "properties": {"instrument": {"type": "string"}, "depth_cm": {"type": "number", "minimum": 0}},
}
SOIL_V2 = {**SOIL_V1, "required": ["instrument", "site"]}
PROBE_V1 = {"type": "object", "required": ["probe_id"], "properties": {"probe_id": {"type": "string"}}}


def register_schema(api: Api, name: str, schema: Any, user: str = "admin", description: str = "") -> Any:
    return api.post("/annotation-schemas", {"name": name, "description": description, "schema": schema}, user=user)


@pytest.fixture
def schemas(personas: Api) -> Api:
    """personas, with soil/1, soil/2 and probe/1 registered."""
    for name, schema in (("soil", SOIL_V1), ("soil", SOIL_V2), ("probe", PROBE_V1)):
        r = register_schema(personas, name, schema)
        assert r.status_code == 201, r.body
    return personas


def errors(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.body
    assert response.json_body["Code"] == "InvalidDocument", response.body
    return {e["path"]: e["message"] for e in response.json_body["Errors"]}


def test_an_admin_registers_versions_that_every_user_reads(personas: Api) -> None:
    api = personas
    first = register_schema(api, "soil", SOIL_V1, description="soil probes")
    assert first.status_code == 201, first.body
    assert first.json_body["name"] == "soil" and first.json_body["version"] == 1
    assert first.headers["Location"] == "/annotation-schemas/soil/versions/1"
    second = register_schema(api, "soil", SOIL_V2, description="soil probes with their site")
    assert second.status_code == 201 and second.json_body["version"] == 2, second.body
    listed = api.get("/annotation-schemas", user="reader")
    assert listed.status_code == 200, listed.body
    assert listed.json_body["items"] == [
        {"name": "soil", "latest_version": 2, "description": "soil probes with their site"}
    ]
    latest = api.get("/annotation-schemas/soil", user="outsider")
    assert latest.status_code == 200 and latest.json_body["version"] == 2 and latest.json_body["schema"] == SOIL_V2
    one = api.get("/annotation-schemas/soil/versions/1", user="champion")
    assert one.status_code == 200 and one.json_body["schema"] == SOIL_V1, one.body
    for missing in (
        "/annotation-schemas/soil/versions/3",
        "/annotation-schemas/soil/versions/x",
        "/annotation-schemas/nope",
    ):
        assert api.get(missing, user="reader").status_code == 404, missing
    assert api.get("/annotation-schemas", user=None).status_code == 401
    assert api.get("/annotation-schemas/soil", user=None).status_code == 401


def test_only_admins_register(personas: Api) -> None:
    for user in ("champion", "reader", "outsider"):
        assert register_schema(personas, "soil", SOIL_V1, user=user).status_code == 403, user
        assert personas.post("/annotation-schemas", {"junk": 1}, user=user).status_code == 403, user
    assert register_schema(personas, "soil", SOIL_V1, user=None).status_code == 401
    assert personas.get("/annotation-schemas", user="reader").json_body["items"] == []


def test_a_schema_that_is_not_acceptable_is_refused_with_every_problem(personas: Api) -> None:
    api = personas
    found = errors(register_schema(api, "soil", {"type": "object", "properties": {"a": {"type": "nonsense"}}}))
    assert list(found) == ["/schema/properties/a/type"]
    remote = {"properties": {"a": {"$ref": "https://example.org/a.json"}, "b": {"$ref": "#/$defs/nowhere"}}}
    found = errors(register_schema(api, "soil", remote))
    assert set(found) == {"/schema/properties/a/$ref", "/schema/properties/b/$ref"}
    assert "never followed" in found["/schema/properties/a/$ref"]
    r = register_schema(api, "Soil Moisture", SOIL_V1)
    assert r.status_code == 400 and r.json_body["Field"] == "name", r.body
    assert api.get("/annotation-schemas", user="reader").json_body["items"] == []


def test_a_dataset_declaring_a_version_is_registered_only_when_it_conforms(schemas: Api) -> None:
    api = schemas
    good = registration(annotations={"annotation_schema": "soil/1", "instrument": "TDR-100", "depth_cm": 10})
    r = api.post("/datasets", good, user="champion")
    assert r.status_code == 201, r.body
    bad = registration(annotations={"annotation_schema": "soil/1", "instrument": 5, "depth_cm": -1})
    found = errors(api.post("/datasets", bad, user="champion"))
    assert set(found) == {"/annotations/instrument", "/annotations/depth_cm"}
    assert all(m.endswith("(annotation schema soil/1)") for m in found.values())
    assert api.get(f"/datasets/{bad['uuid']}", user="champion").status_code == 404  # nothing stored
    # the latest version (soil/2 also wants the site) and an unknown name
    latest = registration(annotations={"annotation_schema": "soil", "instrument": "TDR-100"})
    assert errors(api.post("/datasets", latest, user="champion")) == {
        "/annotations": "'site' is a required property (annotation schema soil/2)"
    }
    unknown = registration(annotations={"annotation_schema": "nope", "instrument": "TDR-100"})
    assert errors(api.post("/datasets", unknown, user="champion")) == {
        "/annotations/annotation_schema": "no annotation schema nope is registered"
    }
    # dtool clients register through the same service: the same answer
    bad_uri = f"{BUCKET_A}/{bad['uuid']}"
    assert set(errors(api.put(f"/uris/{quote_plus(bad_uri)}", bad, user="champion"))) == set(found)
    assert api.get(f"/datasets/{bad['uuid']}", user="champion").status_code == 404


def test_an_edit_that_breaks_the_schema_is_refused_and_changes_nothing(schemas: Api) -> None:
    api = schemas
    annotations = {"annotation_schema": "soil/1", "instrument": "TDR-100"}
    body = registration(annotations=annotations)
    assert api.post("/datasets", body, user="champion").status_code == 201
    uuid = body["uuid"]
    edit = {"annotations": {"annotation_schema": "soil/1", "instrument": 7}}
    found = errors(api.patch(f"/datasets/{uuid}", edit, user="champion", headers={"If-Match": '"1"'}))
    assert list(found) == ["/annotations/instrument"]
    got = api.get(f"/datasets/{uuid}/annotations", user="champion").json_body
    assert got["annotations"] == annotations
    assert api.get(f"/datasets/{uuid}", user="champion").json_body["version"] == 1
    fine = {"annotations": {**annotations, "depth_cm": 3}}
    assert api.patch(f"/datasets/{uuid}", fine, user="champion", headers={"If-Match": '"1"'}).status_code == 200


def test_a_project_declaring_a_schema_checks_its_datasets(schemas: Api) -> None:
    api = schemas
    r = api.post("/projects", {"title": "Soil moisture", "annotation_schema": "nope"})
    assert r.status_code == 400 and r.json_body["Field"] == "annotation_schema", r.body
    r = api.post("/projects", {"title": "Soil moisture", "annotation_schema": "soil/1"})
    assert r.status_code == 201, r.body
    project = r.json_body["_id"]
    assert api.get(f"/projects/{project}").json_body["annotation_schema"] == "soil/1"
    r = api.post(f"/projects/{project}/datasets", {"title": "Plot 7"})
    assert r.status_code == 201, r.body
    dataset = r.json_body["_id"]
    # the data of the project's dataset: the project's schema, though the dataset declares none
    found = errors(api.post("/datasets", registration(uuid=dataset, annotations={"site": "x"}), user="champion"))
    assert found == {"/annotations": "'instrument' is a required property (annotation schema soil/1)"}
    assert api.get(f"/datasets/{dataset}", user="champion").status_code == 404
    # and its own beside the project's
    both = registration(uuid=dataset, annotations={"annotation_schema": "probe/1", "instrument": 5})
    assert set(errors(api.post("/datasets", both, user="champion"))) == {"/annotations", "/annotations/instrument"}
    ok = registration(uuid=dataset, annotations={"annotation_schema": "probe/1", "instrument": "TDR", "probe_id": "p7"})
    r = api.post("/datasets", ok, user="champion")
    assert r.status_code == 201 and r.json_body["dataset"]["project"] == project, r.body
    # whoever may not edit the order may not change its schema; an editor may drop it
    assert api.patch(f"/projects/{project}", {"annotation_schema": ""}, user="champion").status_code == 403
    assert api.patch(f"/projects/{project}", {"annotation_schema": "soil/9"}).status_code == 400
    assert api.patch(f"/projects/{project}", {"annotation_schema": ""}).status_code == 200
    edit = {"annotations": {"annotation_schema": "probe/1", "probe_id": "p8"}}  # no instrument: fine now
    assert api.patch(f"/datasets/{dataset}", edit, user="champion", headers={"If-Match": '"1"'}).status_code == 200


def test_an_upload_from_s3_that_breaks_its_schema_is_refused_with_the_problems_recorded(schemas: Api) -> None:
    api = schemas
    bucket = BUCKET_A.removeprefix("s3://")
    s3 = root().aws_client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    ds = DtoolDataset(annotations={"annotation_schema": "soil/1", "instrument": 5, "depth_cm": -2})
    for key, data in ds.objects():
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    body = notification(s3_record(ds.key("dtool"), bucket=bucket))
    for receive in (1, 2):  # a redelivery: the same answer, no retry, no crash
        jobs.on_ingest_message(root(), body, receive)  # no IngestFailed: not retried
        api.sync()
    got = api.get(f"/datasets/{ds.uuid}", user="champion")
    assert got.status_code == 200, got.body
    record = got.json_body
    assert record["status"] == "refused" and record["annotations"] == {}
    reasons = record["status_reasons"]
    assert any(r.startswith("/annotations/instrument: ") and "soil/1" in r for r in reasons), reasons
    assert any(r.startswith("/annotations/depth_cm: ") for r in reasons), reasons
    assert api.get(f"/datasets/{ds.uuid}", user="reader").status_code == 404  # refused: registrars only
    assert api.get(f"/datasets?uuid={ds.uuid}", user="champion").json_body["total"] == 0
    # fixed on S3: registered
    s3.put_object(Bucket=bucket, Key=ds.key("annotations/instrument.json"), Body=json.dumps("TDR-100").encode())
    s3.put_object(Bucket=bucket, Key=ds.key("annotations/depth_cm.json"), Body=b"2")
    jobs.on_ingest_message(root(), notification(s3_record(ds.key("annotations/instrument.json"), bucket=bucket)), 1)
    api.sync()
    record = api.get(f"/datasets/{ds.uuid}", user="reader").json_body
    assert record["status"] == "registered" and record["annotations"]["instrument"] == "TDR-100", record
