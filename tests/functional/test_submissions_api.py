"""Metadata submissions through CSC metadata-submitter's API (/submitter) and ours
(/submissions), as their personas use them (issue 20, functional tier).

Personas: ``alice`` (owns the folder), ``bob`` (named its editor), ``outsider`` (signed in,
nothing to do with the folder), ``admin``, anonymous callers.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.submissions.ena_schemas import EnaSchemas
from chalicelib.submissions.records import dataset_uuid
from tests.functional.conftest import Api

DATA = Path(__file__).parents[1] / "data" / "ena"
S = "/submitter"
XML = {"Content-Type": "application/xml"}
CSV = {"Content-Type": "text/csv"}


def xml(name: str) -> bytes:
    return (DATA / f"{name}.xml").read_bytes()


def form(files: list[tuple[str, str, bytes]]) -> tuple[dict[str, str], bytes]:
    """A multipart/form-data body of (field name, file name, bytes)."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, filename, data in files:
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: text/xml\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    return {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body


@pytest.fixture
def people(api: Api) -> Api:
    for name in ("alice", "bob", "outsider"):
        assert api.post("/users", {"username": name}).status_code == 201
    return api


def new_folder(api: Api, user: str = "alice", **fields: Any) -> str:
    r = api.post(f"{S}/folders", {"name": "Glacier forefields", "description": "soil metagenomes", **fields}, user=user)
    assert r.status_code == 201, r.body
    return str(r.json_body["folderId"])


def folder_of(api: Api, folder: str, user: str = "alice") -> dict[str, Any]:
    r = api.get(f"{S}/folders/{folder}", user=user)
    assert r.status_code == 200, r.body
    return dict(r.json_body)


def stored(api: Api, folder: str) -> int:
    f = folder_of(api, folder)
    return len(f["drafts"]) + len(f["metadataObjects"])


def sample_sheet(rows: int, bad: tuple[int, ...] = ()) -> bytes:
    lines = ["alias,title,taxon_id,scientific_name,depth [m],site"]
    for n in range(rows):
        taxon = "not-a-number" if n in bad else "410658"
        lines.append(f"soil-{n:03d},Forefield soil {n},{taxon},soil metagenome,{n / 10},Ny-Alesund")
    return ("\n".join(lines) + "\n").encode()


def test_the_done_when_walkthrough(people: Api) -> None:
    """An ENA sample XML, every error of an invalid one at once, a JSON study, 100 samples from
    CSV, publish, then the study found by a word of its title in catalogue search."""
    api = people
    folder = new_folder(api)
    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=XML, raw=xml("sample"))
    assert r.status_code == 201, r.body
    sample = r.json_body["accessionId"]
    assert sample.startswith("CAT-SAM-")

    invalid = xml("sample").replace(b"<TAXON_ID>1284369</TAXON_ID>", b"<TAXON_ID>many</TAXON_ID>")
    invalid = invalid.replace(b'<SAMPLE alias="', b'<SAMPLE colour="red" alias="')
    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=XML, raw=invalid)
    assert r.status_code == 400 and r.json_body["Code"] == "InvalidDocument", r.body
    assert {p["path"] for p in r.json_body["Errors"]} == {
        "/SAMPLE_SET/SAMPLE",
        "/SAMPLE_SET/SAMPLE/SAMPLE_NAME/TAXON_ID",
    }
    assert stored(api, folder) == 1

    _, (study_json,) = EnaSchemas().objects_from_xml(xml("study"))
    r = api.post(f"{S}/objects/study?folder={folder}", study_json, user="alice")
    assert r.status_code == 201, r.body
    study = r.json_body["accessionId"]

    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=CSV, raw=sample_sheet(100))
    assert r.status_code == 201, r.body
    assert len(r.json_body) == 100 and {o["schema"] for o in r.json_body} == {"sample"}
    assert stored(api, folder) == 102

    r = api.call("PATCH", f"{S}/publish/{folder}", "alice")
    assert r.status_code == 200, r.body
    published = folder_of(api, folder)
    assert published["published"] is True and published["drafts"] == []
    assert len(published["metadataObjects"]) == 102

    hits = api.get("/datasets?q=glaciers", user="alice")
    assert hits.status_code == 200, hits.body
    assert [i["uuid"] for i in hits.json_body["items"]] == [dataset_uuid(study)]
    assert api.get("/datasets?q=glaciers", user="outsider").json_body["total"] == 0
    entry = api.get(f"/datasets/{dataset_uuid(study)}", user="alice").json_body
    assert entry["annotations"]["ena"]["accession"] == study and "ena" in entry["tags"]
    assert entry["kind"] == "submission"
    assert api.get("/datasets?q=glaciers&type=submission", user="alice").json_body["total"] == 1
    log = api.get(f"/datasets/{dataset_uuid(sample)}/log", user="admin")  # the log: admins and registrars
    assert log.status_code == 200, log.body
    assert [e["action"] for e in log.json_body["entries"]][:1] == ["add"], log.body
    assert api.get(f"/datasets/{dataset_uuid(sample)}/log", user="alice").status_code == 403

    # published: read-only
    r = api.call("PUT", f"{S}/objects/study/{study}", "alice", body=study_json)
    assert r.status_code == 409, r.body
    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=XML, raw=xml("sample"))
    assert r.status_code == 409, r.body
    assert api.delete(f"{S}/objects/sample/{sample}", user="alice").status_code == 409
    assert api.call("PATCH", f"{S}/publish/{folder}", "alice").status_code == 409


def test_a_csv_with_bad_rows_reports_each_row_and_stores_nothing(people: Api) -> None:
    api = people
    folder = new_folder(api)
    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=CSV, raw=sample_sheet(100, bad=(4, 57)))
    assert r.status_code == 400, r.body
    assert [p["path"] for p in r.json_body["Errors"]] == [
        "row 6: /SAMPLE_NAME/TAXON_ID",
        "row 59: /SAMPLE_NAME/TAXON_ID",
    ]
    assert stored(api, folder) == 0


@pytest.mark.parametrize(
    "attack",
    [
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><SAMPLE_SET>&b;</SAMPLE_SET>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SAMPLE_SET>&e;</SAMPLE_SET>',
        b'<?xml version="1.0"?><!DOCTYPE SAMPLE_SET SYSTEM "http://127.0.0.1:9/x.dtd"><SAMPLE_SET/>',
        b'<SAMPLE_SET><SAMPLE alias="' + b"x" * 70_000 + b'"/></SAMPLE_SET>',
        b"<SAMPLE_SET>" + b"<a>" * 3000 + b"</a>" * 3000 + b"</SAMPLE_SET>",
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "huge-attribute", "deep-nesting"],
)
def test_xml_attacks_are_refused_and_store_nothing(people: Api, attack: bytes) -> None:
    api = people
    folder = new_folder(api)
    for path in (f"{S}/drafts/sample?folder={folder}", f"/submissions/folders/{folder}/objects/sample"):
        r = api.call("POST", path, "alice", headers=XML, raw=attack)
        assert r.status_code == 400 and r.json_body["Code"] == "InvalidDocument", r.body
    headers, body = form([("sample", "attack.xml", attack)])
    assert api.call("POST", f"{S}/validate", "alice", headers=headers, raw=body).json_body["isValid"] is False
    assert stored(api, folder) == 0


def test_submit_adds_every_file_or_none(people: Api) -> None:
    api = people
    folder = new_folder(api)
    headers, body = form(
        [
            ("submission", "submission.xml", xml("submission")),
            ("study", "study.xml", xml("study")),
            ("sample", "sample.xml", xml("sample")),
        ]
    )
    r = api.call("POST", f"{S}/submit?folder={folder}", "alice", headers=headers, raw=body)
    assert r.status_code == 200, r.body
    assert sorted(o["schema"] for o in r.json_body) == ["sample", "study"]
    assert len(folder_of(api, folder)["metadataObjects"]) == 2

    other = new_folder(api)
    bad = xml("sample").replace(b"<TAXON_ID>1284369</TAXON_ID>", b"")
    headers, body = form(
        [("submission", "s.xml", xml("submission")), ("study", "study.xml", xml("study")), ("sample", "bad.xml", bad)]
    )
    r = api.call("POST", f"{S}/submit?folder={other}", "alice", headers=headers, raw=body)
    assert r.status_code == 400 and r.json_body["Errors"][0]["path"].startswith("bad.xml:"), r.body
    assert stored(api, other) == 0

    headers, body = form([("sample", "sample.xml", xml("sample"))])
    assert api.call("POST", f"{S}/validate", "alice", headers=headers, raw=body).json_body == {
        "isValid": True,
        "objects": 1,
    }


def test_publish_checks_references_first(people: Api) -> None:
    api = people
    folder = new_folder(api)
    for name in ("experiment", "run"):
        r = api.call("POST", f"{S}/drafts/{name}?folder={folder}", "alice", headers=XML, raw=xml(name))
        assert r.status_code == 201, r.body
    r = api.call("PATCH", f"{S}/publish/{folder}", "alice")
    assert r.status_code == 400, r.body
    messages = sorted(p["message"] for p in r.json_body["Errors"])
    assert messages == ["no sample with alias 'stomach_microbiota' here", "no study with alias 'glacier-microbes' here"]
    assert folder_of(api, folder)["published"] is False
    for name in ("study", "sample"):
        assert (
            api.call("POST", f"{S}/drafts/{name}?folder={folder}", "alice", headers=XML, raw=xml(name)).status_code
            == 201
        )
    assert api.call("PATCH", f"{S}/publish/{folder}", "alice").status_code == 200


def test_every_type_round_trips_through_the_api(people: Api) -> None:
    api = people
    folder = new_folder(api)
    for name in ("study", "sample", "experiment", "run", "analysis", "dac", "policy", "dataset"):
        r = api.call("POST", f"{S}/drafts/{name}?folder={folder}", "alice", headers=XML, raw=xml(name))
        assert r.status_code == 201, (name, r.body)
        accession = r.json_body["accessionId"]
        got = api.get(f"{S}/drafts/{name}/{accession}", user="alice").json_body
        assert got["accessionId"] == accession and got["draft"] is True
        back = api.get(f"{S}/drafts/{name}/{accession}?format=xml", user="alice")
        assert back.status_code == 200 and back.headers["Content-Type"] == "application/xml"
        assert api.get(f"/submissions/objects/{accession}?format=xml", user="alice").body == back.body
        assert api.get(f"{S}/objects/{name}/{accession}", user="alice").status_code == 404  # a draft, not an object
    assert api.call("PATCH", f"{S}/publish/{folder}", "alice").status_code == 200
    assert len(api.get(f"{S}/objects/dataset", user="alice").json_body["objects"]) == 1


def test_who_may_touch_a_folder(people: Api) -> None:
    api = people
    folder = new_folder(api)
    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=XML, raw=xml("sample"))
    sample = r.json_body["accessionId"]
    garbage = b"<not-xml"
    for user in ("outsider", "bob"):
        assert api.get(f"{S}/folders/{folder}", user=user).status_code == 404
        assert api.get(f"{S}/drafts/sample/{sample}", user=user).status_code == 404
        # authorized before validated: garbage from an outsider is 404, not 400
        r = api.call("POST", f"{S}/drafts/sample?folder={folder}", user, headers=XML, raw=garbage)
        assert r.status_code == 404, r.body
        assert api.call("PATCH", f"{S}/publish/{folder}", user).status_code == 404
        assert api.delete(f"{S}/folders/{folder}", user=user).status_code == 404
        assert api.get(f"/submissions/objects/{sample}", user=user).status_code == 404
    assert api.get(f"{S}/folders/{folder}", user=None).status_code == 401
    assert api.get(f"{S}/drafts/sample/{sample}", user=None).status_code == 401
    assert api.get(f"{S}/folders/{folder}", user="admin").status_code == 200  # administrators read

    r = api.patch(f"{S}/folders/{folder}", [{"op": "add", "path": "/editors", "value": ["bob"]}], user="alice")
    assert r.status_code == 200, r.body
    assert (
        api.call("POST", f"{S}/drafts/study?folder={folder}", "bob", headers=XML, raw=xml("study")).status_code == 201
    )
    assert (
        api.patch(f"{S}/folders/{folder}", [{"op": "replace", "path": "/editors", "value": []}], user="bob").status_code
        == 403
    )
    assert api.delete(f"{S}/folders/{folder}", user="bob").status_code == 403
    assert api.get(f"{S}/users/current", user="bob").json_body["folders"] == [folder]
    assert api.get(f"{S}/users/someone-else", user="bob").status_code == 403
    assert api.delete(f"{S}/folders/{folder}", user="alice").status_code == 204
    assert api.get(f"{S}/drafts/sample/{sample}", user="alice").status_code == 404


def test_replace_patch_and_delete_drafts(people: Api) -> None:
    api = people
    folder = new_folder(api)
    accession = api.call(
        "POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=XML, raw=xml("sample")
    ).json_body["accessionId"]
    r = api.patch(f"{S}/drafts/sample/{accession}", {"TITLE": "Renamed sample"}, user="alice")
    assert r.status_code == 200, r.body
    assert api.get(f"{S}/drafts/sample/{accession}", user="alice").json_body["TITLE"] == "Renamed sample"
    r = api.patch(f"{S}/drafts/sample/{accession}", {"SAMPLE_NAME": None}, user="alice")
    assert r.status_code == 400 and r.json_body["Errors"] == [
        {"path": "", "message": "'SAMPLE_NAME' is a required property"}
    ]
    r = api.call("PUT", f"{S}/drafts/sample/{accession}", "alice", headers=XML, raw=xml("sample"))
    assert r.status_code == 200, r.body
    assert (
        api.get(f"{S}/drafts/sample/{accession}", user="alice").json_body["TITLE"]
        == "Human gastric microbiota, mucosal"
    )
    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=XML, raw=xml("sample"))
    assert r.status_code == 400 and "alias" in r.json_body["Errors"][0]["message"], r.body  # same alias twice
    assert api.delete(f"{S}/drafts/sample/{accession}", user="alice").status_code == 204
    assert stored(api, folder) == 0


def test_schemas_are_served(people: Api) -> None:
    api = people
    listing = api.get(f"{S}/schemas", user="alice").json_body
    assert [s["title"] for s in listing] == [
        "Study",
        "Sample",
        "Experiment",
        "Run",
        "Analysis",
        "Dac",
        "Policy",
        "Dataset",
    ]
    schema = api.get(f"{S}/schemas/sample", user="alice").json_body
    assert schema["$schema"].endswith("2020-12/schema") and "SAMPLE_NAME" in json.dumps(schema)
    xsd = api.get("/submissions/schemas/sample?format=xsd", user="alice")
    assert xsd.status_code == 200 and b"SampleType" in xsd.body
    assert api.get(f"{S}/schemas/nonsense", user="alice").status_code == 404
    assert api.get(f"{S}/schemas", user=None).status_code == 401


def test_native_api_folder_objects_and_validate(people: Api) -> None:
    api = people
    r = api.post("/submissions/folders", {"name": "Native"}, user="alice")
    assert r.status_code == 201 and r.headers["Location"].endswith(r.json_body["folderId"]), r.body
    folder = r.json_body["folderId"]
    r = api.call(
        "POST", f"/submissions/folders/{folder}/objects/study?draft=true", "alice", headers=XML, raw=xml("study")
    )
    assert r.status_code == 201 and r.json_body["total"] == 1, r.body
    assert api.get(f"/submissions/folders/{folder}/objects", user="alice").json_body["total"] == 1
    ok = api.call("POST", "/submissions/validate/sample", "alice", headers=XML, raw=xml("sample")).json_body
    assert ok == {"valid": True, "objects": 1, "errors": []}
    bad = api.post("/submissions/validate/sample", {"SAMPLE_NAME": {}}, user="alice").json_body
    assert bad["valid"] is False and bad["errors"] == [
        {"path": "/SAMPLE_NAME", "message": "'TAXON_ID' is a required property"}
    ]
    assert stored(api, folder) == 1
    v = api.get(f"/submissions/folders/{folder}", user="alice").json_body["version"]
    assert api.patch(f"/submissions/folders/{folder}", {"name": "x", "version": v + 1}, user="alice").status_code == 409
    assert (
        api.patch(f"/submissions/folders/{folder}", {"name": "Renamed", "version": v}, user="alice").status_code == 200
    )
    r = api.post(f"/submissions/folders/{folder}/publish", None, user="alice")
    assert r.status_code == 200 and r.json_body["published"] is True, r.body


def test_the_logs_of_a_folder_and_an_object(people: Api) -> None:
    api = people
    folder = new_folder(api)
    r = api.call("POST", f"{S}/drafts/sample?folder={folder}", "alice", headers=XML, raw=xml("sample"))
    accession = r.json_body["accessionId"]
    assert api.patch(f"{S}/drafts/sample/{accession}", {"TITLE": "Second title"}, user="alice").status_code == 200
    log = api.get(f"/submissions/objects/{accession}/log", user="alice")
    assert log.status_code == 200, log.body
    entries = log.json_body["entries"]
    assert [e["action"] for e in entries] == ["add", "edit"], entries
    assert "Second title" in json.dumps(entries[1])
    assert (
        api.patch(
            f"{S}/folders/{folder}", [{"op": "replace", "path": "/name", "value": "Fjords"}], user="alice"
        ).status_code
        == 200
    )
    folder_log = api.get(f"/submissions/folders/{folder}/log", user="alice").json_body["entries"]
    assert [e["action"] for e in folder_log] == ["add", "edit"], folder_log
    for user in ("outsider", "bob"):
        assert api.get(f"/submissions/objects/{accession}/log", user=user).status_code == 404
        assert api.get(f"/submissions/folders/{folder}/log", user=user).status_code == 404


def test_submitter_paging_and_media_types(people: Api) -> None:
    """``page`` and ``per_page`` take ASCII digits ("²" was a 500; found by schemathesis); a
    folder is made from JSON, and /validate and /submit read forms only (415 otherwise)."""
    api = people
    r = api.get(f"{S}/folders?page=%C2%B2", user="alice")
    assert r.status_code == 400 and r.json_body["Field"] == "page", r.body
    assert api.get(f"{S}/folders?per_page=2", user="alice").status_code == 200
    r = api.call("POST", f"{S}/folders", "alice", headers=XML, raw=b"<name>x</name>")
    assert r.status_code == 415, r.body
    assert api.call("POST", f"{S}/validate", "alice", headers=XML, raw=xml("sample")).status_code == 415
    folder = new_folder(api)
    assert api.post(f"{S}/submit?folder={folder}", {"submission": "x"}, user="alice").status_code == 415
    headers, data = form([("sample", "sample.xml", xml("sample"))])
    r = api.call("POST", f"{S}/validate", "alice", headers=headers, raw=data)
    assert r.status_code == 200 and r.json_body["isValid"] is True, r.body


@pytest.mark.parametrize("path", [f"{S}/folders", "/submissions/folders"])
def test_an_empty_editor_name_is_no_user_not_a_500(people: Api, path: str) -> None:
    # found by schemathesis (issue 22): the name was read from DynamoDB as an empty key
    r = people.post(path, {"name": "f", "description": "d", "editors": [""]}, user="alice")
    assert r.status_code == 400 and r.json_body["Field"] == "editors", r.body
