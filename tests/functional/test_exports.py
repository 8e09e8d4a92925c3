"""Exports through the HTTP API: ``GET /datasets/{uuid}/export/{format}`` and content
negotiation on ``GET /datasets/{uuid}``, for the personas. A reader's exports validate
against DataCite's schemas and hold only what the reader's record holds (a replica under a
base URI the reader may not search never appears); whoever may not see the dataset gets the
404 of a uuid that does not exist, whatever the format; anonymous callers 401.

Needs ``exports.bp`` registered in app.py and the operation in the API description (every
answer is checked against it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import xmlschema
from datacite import schema45

from chalicelib.exports.formats import names
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.support.data import registration
from tests.unit.test_exports_datacite import XSD

UNKNOWN = "00000000-0000-4000-8000-000000000000"
MEDIA = {
    "datacite+json": "application/vnd.datacite.datacite+json",
    "datacite+xml": "application/vnd.datacite.datacite+xml",
    "schema.org": "application/ld+json",
}


def registered(api: Api, **overrides: Any) -> dict[str, Any]:
    """A dataset champion registered under bucket-a, and the same uuid bravo registered under
    bucket-b (which reader and champion may not search)."""
    body = registration(description="Soil moisture, plot 7", **overrides)
    assert api.post("/datasets", body, user="champion").status_code == 201
    copy = dict(body, base_uri=BUCKET_B, uri=f"{BUCKET_B}/hidden-copy/{body['uuid']}")
    assert api.post("/datasets", copy, user="bravo").status_code == 201
    return body


def export(api: Api, uuid: str, name: str, user: str | None = "reader", query: str = "") -> Any:
    return api.get(f"/datasets/{uuid}/export/{name}{query}", user=user)


def test_a_readers_datacite_json_validates_and_says_what_the_record_says(personas: Api) -> None:
    body = registered(personas)
    r = export(personas, body["uuid"], "datacite+json")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == MEDIA["datacite+json"]
    assert r.headers["Cache-Control"] == "no-store"
    attributes = json.loads(r.body)
    assert schema45.validate(attributes)
    assert attributes["titles"] == [{"title": body["name"]}]
    assert attributes["creators"] == [{"name": body["creator_username"]}]
    assert attributes["subjects"] == [{"subject": t} for t in sorted(body["tags"])]
    assert attributes["descriptions"] == [{"description": "Soil moisture, plot 7", "descriptionType": "Abstract"}]
    assert attributes["alternateIdentifiers"] == [
        {"alternateIdentifier": body["uuid"], "alternateIdentifierType": "UUID"}
    ]
    assert attributes["url"] == f"http://127.0.0.1:8002/#/datasets/{body['uuid']}"
    assert attributes["publisher"] == {"name": "Research data catalogue"}
    assert attributes["sizes"] == ["2 files", "3072 bytes"]


def test_a_readers_datacite_xml_validates_against_the_xsd(personas: Api) -> None:
    body = registered(personas)
    r = export(personas, body["uuid"], "datacite+xml")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == MEDIA["datacite+xml"]
    xmlschema.XMLSchema(str(XSD)).validate(r.body.decode("utf-8"))
    assert f'<identifier identifierType="UUID">{body["uuid"]}</identifier>'.encode() in r.body


def test_a_readers_schema_org_lists_only_the_replicas_it_may_see(personas: Api) -> None:
    body = registered(personas)
    r = export(personas, body["uuid"], "schema.org")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == MEDIA["schema.org"]
    document = json.loads(r.body)
    assert document["@type"] == "Dataset" and document["name"] == body["name"]
    assert [d["contentUrl"] for d in document["distribution"]] == [body["uri"]]
    # admin sees both entries: both replicas, as GET /datasets/{uuid} lists them
    admins = json.loads(export(personas, body["uuid"], "schema.org", "admin").body)
    listed = [x["uri"] for x in personas.get(f"/datasets/{body['uuid']}", user="admin").json_body["replicas"]]
    assert (
        [d["contentUrl"] for d in admins["distribution"]]
        == listed
        == [body["uri"], f"{BUCKET_B}/hidden-copy/{body['uuid']}"]
    )
    # ?base_uri= picks the entry, as for the record
    picked = json.loads(export(personas, body["uuid"], "schema.org", "admin", f"?base_uri={BUCKET_B}").body)
    assert [d["contentUrl"] for d in picked["distribution"]] == [f"{BUCKET_B}/hidden-copy/{body['uuid']}"]


@pytest.mark.parametrize("accept", [None, *MEDIA.values()])
def test_a_replica_the_reader_may_not_search_never_appears_in_any_export(personas: Api, accept: str | None) -> None:
    body = registered(personas, annotations={"instrument": "TDR-100"})
    personas.patch(
        f"/datasets/{body['uuid']}", {"version": 1, "tags": ["soil"]}, user="champion"
    )  # updated_by: champion
    answers = (
        [export(personas, body["uuid"], name) for name in names()]
        if accept is None
        else [personas.get(f"/datasets/{body['uuid']}", user="reader", headers={"Accept": accept})]
    )
    for r in answers:
        assert r.status_code == 200, r.body
        for hidden in (BUCKET_B, "hidden-copy", "bravo", "updated_by", "champion", "status_reasons"):
            assert hidden.encode() not in r.body, (hidden, r.headers["Content-Type"])


@pytest.mark.parametrize("name", [*names(), "bibtex"])
def test_whoever_may_not_see_the_dataset_gets_the_404_of_an_unknown_one(personas: Api, name: str) -> None:
    body = registered(personas)
    unknown = export(personas, UNKNOWN, "datacite+json", "outsider")
    assert unknown.status_code == 404
    for user in ("outsider", "bravo"):
        bravo_sees = user == "bravo"  # bravo sees its own entry under bucket-b: not a 404
        r = export(personas, body["uuid"], name, user)
        if bravo_sees and name in names():
            assert r.status_code == 200 and BUCKET_A.encode() not in r.body
            continue
        if bravo_sees:
            assert r.status_code == 404 and "datacite+json" in r.json_body["Message"]
            continue
        assert r.status_code == 404
        assert r.json_body == {"Code": "NotFound", "Message": f"no dataset {body['uuid']}"}
    assert export(personas, body["uuid"], name, None).status_code == 401


def test_an_unknown_format_is_404_naming_the_formats(personas: Api) -> None:
    body = registered(personas)
    r = export(personas, body["uuid"], "bibtex")
    assert r.status_code == 404
    assert r.json_body["Code"] == "NotFound"
    assert all(n in r.json_body["Message"] for n in names())


@pytest.mark.parametrize(
    "accept", [None, "application/json", "*/*", "application/json; charset=utf-8", "text/html,*/*;q=0.8"]
)
def test_the_record_is_unchanged_for_json_or_anything(personas: Api, accept: str | None) -> None:
    body = registered(personas)
    plain = personas.get(f"/datasets/{body['uuid']}", user="reader")
    r = personas.get(f"/datasets/{body['uuid']}", user="reader", headers={"Accept": accept} if accept else None)
    assert r.status_code == 200 and r.body == plain.body
    assert r.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("name", sorted(MEDIA))
def test_an_accept_naming_an_exports_media_type_gets_that_export(personas: Api, name: str) -> None:
    body = registered(personas)
    r = personas.get(f"/datasets/{body['uuid']}", user="reader", headers={"Accept": MEDIA[name]})
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == MEDIA[name]
    assert r.body == export(personas, body["uuid"], name).body


def test_an_accept_nothing_can_serve_is_406_after_the_404_of_an_unseen_dataset(personas: Api) -> None:
    body = registered(personas)
    r = personas.get(f"/datasets/{body['uuid']}", user="reader", headers={"Accept": "text/csv"})
    assert r.status_code == 406
    assert r.json_body["Code"] == "NotAcceptable" and "application/ld+json" in r.json_body["Message"]
    r = personas.get(f"/datasets/{body['uuid']}", user="outsider", headers={"Accept": "text/csv"})
    assert r.status_code == 404 and r.json_body["Message"] == f"no dataset {body['uuid']}"
