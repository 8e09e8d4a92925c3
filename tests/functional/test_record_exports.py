"""Exports of projects and collections through the HTTP API
(``GET /projects/{uuid}/export/{format}``, ``GET /collections/{uuid}/export/{format}`` and
content negotiation on ``GET /projects/{uuid}`` and ``GET /collections/{uuid}``) for the
personas: an export names only the members the caller may see in the catalogue (a member
registered under a base URI the reader may not search, or not published in the Data Tracker,
never leaks); whoever may not see the record gets the 404 of an unknown id, whatever the
format or ``Accept``; no Accept, or JSON, is today's record byte for byte.

Every answer is checked against the API description (the functional client does it)."""

from __future__ import annotations

import json

import pytest
import xmlschema
from datacite import schema45

from chalicelib.exports.collections import names
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.support.data import registration
from tests.unit.test_exports_datacite import XSD

UNKNOWN = "00000000-0000-4000-8000-000000000000"
DATACITE_JSON = "application/vnd.datacite.datacite+json"
PAGE = "http://127.0.0.1:8002/#/datasets/"


def tracker_dataset(api: Api, project: str, title: str, *, published: bool) -> str:
    made = api.post(f"/projects/{project}/datasets", {"title": title, "published": published})
    assert made.status_code == 201, made.body
    return str(made.json_body["_id"])


def setting(api: Api) -> dict[str, str]:
    """An order (admin's) with four datasets: ``seen`` (published, registered under bucket-a),
    ``unpublished`` (registered under bucket-a, not published), ``elsewhere`` (published,
    registered under bucket-b only, which reader may not search) and ``described`` (published,
    nothing registered); a published collection of all four and an unpublished one."""
    made = api.post("/projects", {"title": "Permafrost cores", "description": "Abisko, 2024"})
    assert made.status_code == 201, made.body
    ids = {"project": made.json_body["_id"]}
    for name, published in (("seen", True), ("unpublished", False), ("elsewhere", True), ("described", True)):
        ids[name] = tracker_dataset(api, ids["project"], f"Core {name}", published=published)
    for name, user, base_uri in (("seen", "champion", BUCKET_A), ("unpublished", "champion", BUCKET_A),
                                 ("elsewhere", "bravo", BUCKET_B)):  # fmt: skip
        body = registration(base_uri=base_uri, uuid=ids[name], name=f"core-{name}")
        assert api.post("/datasets", body, user=user).status_code == 201
    members = [ids[n] for n in ("seen", "unpublished", "elsewhere", "described")]
    for name, published in (("public", True), ("private", False)):
        made = api.post("/collections", {"title": f"Picks ({name})", "datasets": members, "published": published})
        assert made.status_code == 201, made.body
        ids[name] = made.json_body["_id"]
    api.sync()
    return ids


def test_a_readers_collection_export_names_only_the_members_it_may_see(personas: Api) -> None:
    ids = setting(personas)
    r = personas.get(f"/collections/{ids['public']}/export/datacite+json", user="reader")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == DATACITE_JSON
    attributes = json.loads(r.body)
    assert schema45.validate(attributes)
    assert attributes["types"] == {"resourceTypeGeneral": "Collection", "resourceType": "Collection"}
    assert [p["relatedIdentifier"] for p in attributes["relatedIdentifiers"]] == [PAGE + ids["seen"]]
    assert attributes["creators"] == [{"name": "(:unav)"}]  # a published collection hides its editors
    for fmt in names():
        text = personas.get(f"/collections/{ids['public']}/export/{fmt}", user="reader").body
        for hidden in ("unpublished", "elsewhere", "described"):
            assert ids[hidden] not in str(text), (fmt, hidden)
    # bravo searches bucket-b only: sees that member, and not those under bucket-a
    bravo = personas.get(f"/collections/{ids['public']}/export/datacite+json", user="bravo")
    assert [p["relatedIdentifier"] for p in json.loads(bravo.body)["relatedIdentifiers"]] == [PAGE + ids["elsewhere"]]


def test_the_datacite_xml_of_a_project_validates_and_has_its_datasets(personas: Api) -> None:
    ids = setting(personas)
    r = personas.get(f"/projects/{ids['project']}/export/datacite+xml")
    assert r.status_code == 200, r.body
    xmlschema.XMLSchema(str(XSD)).validate(r.body.decode("utf-8"))
    for name in ("seen", "unpublished", "elsewhere"):  # admin sees every registered one
        assert f">{PAGE}{ids[name]}</relatedIdentifier>".encode() in r.body
    assert ids["described"].encode() not in r.body
    assert b'<resourceType resourceTypeGeneral="Collection">Project</resourceType>' in r.body


@pytest.mark.parametrize("fmt", ["datacite+json", "ro-crate", "premis", "nope"])
def test_whoever_may_not_see_the_record_gets_the_404_of_an_unknown_one(personas: Api, fmt: str) -> None:
    ids = setting(personas)
    for path in (f"/collections/{ids['private']}", f"/projects/{ids['project']}"):
        unknown = personas.get(f"{path.rsplit('/', 1)[0]}/{UNKNOWN}/export/{fmt}", user="outsider")
        assert unknown.status_code == 404
        for user in ("outsider", "reader"):
            r = personas.get(f"{path}/export/{fmt}", user=user)
            assert r.status_code == 404, (path, user, r.body)
            assert json.loads(r.body)["Message"] == json.loads(unknown.body)["Message"].replace(UNKNOWN, path[-36:])
            refused = personas.get(path, user=user, headers={"Accept": "image/png"})
            assert refused.status_code == 404, (path, user)
            plain = personas.get(path, user=user)  # the record itself: the same 404 (no 403 for an order)
            assert plain.status_code == 404 and json.loads(plain.body)["Message"] == json.loads(r.body)["Message"]


def test_anonymous_callers_are_refused_as_on_the_record(personas: Api) -> None:
    ids = setting(personas)
    record = personas.get(f"/collections/{ids['public']}", user=None).status_code
    assert personas.get(f"/collections/{ids['public']}/export/schema.org", user=None).status_code == record
    assert personas.get(f"/projects/{ids['project']}/export/schema.org", user=None).status_code in (401, 404)


def test_premis_and_unknown_formats_are_404_naming_the_formats_that_apply(personas: Api) -> None:
    ids = setting(personas)
    for fmt in ("premis", "bibtex"):
        r = personas.get(f"/collections/{ids['public']}/export/{fmt}", user="reader")
        assert r.status_code == 404
        assert all(n in json.loads(r.body)["Message"] for n in names())


def test_content_negotiation_on_the_records(personas: Api) -> None:
    ids = setting(personas)
    for path, user in ((f"/collections/{ids['public']}", "reader"), (f"/projects/{ids['project']}", "admin")):
        plain = personas.get(path, user=user)
        assert plain.status_code == 200
        for accept in ("application/json", "*/*"):
            same = personas.get(path, user=user, headers={"Accept": accept})
            assert same.body == plain.body and same.headers["Content-Type"] == plain.headers["Content-Type"]
        exported = personas.get(path, user=user, headers={"Accept": DATACITE_JSON})
        assert exported.status_code == 200 and exported.headers["Content-Type"] == DATACITE_JSON
        assert exported.body == personas.get(f"{path}/export/datacite+json", user=user).body
        turtle = personas.get(path, user=user, headers={"Accept": "text/turtle"})
        assert turtle.status_code == 200 and b"dcat:Catalog" in turtle.body
        refused = personas.get(path, user=user, headers={"Accept": "image/png"})
        assert refused.status_code == 406, refused.body
        assert "application/json" in json.loads(refused.body)["Message"]
