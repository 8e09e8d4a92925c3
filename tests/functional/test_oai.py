"""GET and POST /oai in process: anonymous harvesters see the registered datasets of public base
URIs only (deletions included), never a reader's datasets under a base URI that is not public,
nor refused or incomplete uploads; a project is a set. Every answer is text/xml with HTTP 200
and holds to the API description (the Api helper checks it)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from chalicelib.catalogue.entries import new_entry
from chalicelib.composition import root
from chalicelib.domain import INCOMPLETE, REFUSED, DatasetContent, User
from chalicelib.oai.protocol import base_set, project_set
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api, base_uri_path
from tests.support.data import registration

NS = {"o": "http://www.openarchives.org/OAI/2.0/", "dc": "http://purl.org/dc/elements/1.1/"}
REPO_ID = "catalogue.invalid"  # the default repository identifier


def oai(api: Api, user: str | None = None, **params: str) -> ET.Element:
    r = api.get(f"/oai?{urlencode(params)}", user=user)
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(r.body)


def listed(api: Api, **params: str) -> dict[str, ET.Element]:
    """identifier -> header of every item of a ListIdentifiers (one page here)."""
    answer = oai(api, verb="ListIdentifiers", metadataPrefix="oai_dc", **params)
    if (error := answer.find("o:error", NS)) is not None:
        assert error.get("code") == "noRecordsMatch"
        return {}
    return {h.findtext("o:identifier", namespaces=NS) or "": h for h in answer.iterfind(".//o:header", NS)}


def register(api: Api, user: str, base_uri: str, **overrides: Any) -> dict[str, Any]:
    body = registration(base_uri, **overrides)
    assert api.post("/datasets", body, user=user).status_code == 201
    return body


def publish(api: Api, base_uri: str, public: bool = True) -> None:
    assert api.patch(f"/base-uris/{base_uri_path(base_uri)}", {"public": public}).status_code == 200


def oai_id(uuid: str) -> str:
    return f"oai:{REPO_ID}:{uuid}"


def test_harvesters_see_registered_datasets_of_public_base_uris_only(personas: Api) -> None:
    mine = register(personas, "champion", BUCKET_A, name="plot-7")
    other = register(personas, "bravo", BUCKET_B, name="bravo-only")
    # the reader may search bucket-a, but nothing is public yet: harvesters see nothing
    assert personas.get(f"/datasets/{mine['uuid']}", user="reader").status_code == 200
    assert listed(personas) == {}
    answer = oai(personas, verb="GetRecord", identifier=oai_id(mine["uuid"]), metadataPrefix="oai_dc")
    assert answer.find("o:error", NS).get("code") == "idDoesNotExist"  # type: ignore[union-attr]
    # uploads the ingest could not register, under the public base URI to be
    repo = root().repo
    content = DatasetContent(uuid="", name="x", creator_username="s3-ingest", created_at=1.0, frozen_at=1.0)
    for n, status in enumerate((REFUSED, INCOMPLETE)):
        uuid = f"00000000-0000-4000-8000-00000000000{n}"
        entry = new_entry(User("s3-ingest"), replace(content, uuid=uuid), f"{BUCKET_A}/up-{n}", BUCKET_A, 1, 2.0)
        repo.save_dataset(replace(entry, status=status), None)

    publish(personas, BUCKET_A)
    assert set(listed(personas)) == {oai_id(mine["uuid"])}
    records = oai(personas, "outsider", verb="ListRecords", metadataPrefix="oai_dc")
    assert [t.text for t in records.iterfind(".//dc:title", NS)] == ["plot-7"]
    assert other["uuid"] not in ET.tostring(records).decode()
    # by POST (a form), and with credentials or without: the same
    form = urlencode({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}).encode()
    r = personas.call("POST", "/oai", None, headers={"Content-Type": "application/x-www-form-urlencoded"}, raw=form)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    assert oai_id(mine["uuid"]).encode() in r.body

    publish(personas, BUCKET_A, public=False)  # withdrawn: its records are deleted for harvesters
    assert {k: h.get("status") for k, h in listed(personas).items()} == {oai_id(mine["uuid"]): "deleted"}
    answer = oai(personas, verb="ListRecords", metadataPrefix="oai_dc")
    assert answer.find(".//o:metadata", NS) is None and "plot-7" not in ET.tostring(answer).decode()


def test_a_deleted_dataset_stays_listed_as_deleted(personas: Api) -> None:
    publish(personas, BUCKET_A)
    kept = register(personas, "champion", BUCKET_A, name="kept")
    gone = register(personas, "champion", BUCKET_A, name="gone")
    r = personas.delete(f"/datasets/{gone['uuid']}/replicas?uri={gone['uri']}", user="champion")
    assert r.status_code == 200 and r.json_body["dataset_deleted"] is True
    headers = listed(personas)
    assert headers[oai_id(gone["uuid"])].get("status") == "deleted"
    assert headers[oai_id(kept["uuid"])].get("status") is None
    answer = oai(personas, verb="GetRecord", identifier=oai_id(gone["uuid"]), metadataPrefix="oai_datacite")
    assert answer.find(".//o:header", NS).get("status") == "deleted"  # type: ignore[union-attr]
    assert answer.find(".//o:metadata", NS) is None


def test_a_project_is_a_set(personas: Api) -> None:
    publish(personas, BUCKET_A)
    plain = register(personas, "champion", BUCKET_A)
    in_project = registration(BUCKET_A)
    # a project is set by the services that register (facility, Data Tracker), never by clients
    repo = root().repo
    content = DatasetContent(
        uuid=in_project["uuid"], name="run-42", creator_username="xfel", created_at=1.0, frozen_at=2.0, project="p-900"
    )
    repo.save_dataset(new_entry(User("admin"), content, in_project["uri"], BUCKET_A, 1, 3.0), None)
    sets = oai(personas, verb="ListSets")
    specs = [s.text for s in sets.iterfind(".//o:setSpec", NS)]
    assert specs == ["base", "project", base_set(BUCKET_A), project_set("p-900")]
    assert set(listed(personas, set=project_set("p-900"))) == {oai_id(in_project["uuid"])}
    assert set(listed(personas, set=base_set(BUCKET_A))) == {oai_id(in_project["uuid"]), oai_id(plain["uuid"])}
    assert listed(personas, set=base_set(BUCKET_B)) == {}


def test_protocol_errors_are_xml_with_http_200(personas: Api) -> None:
    for params, code in (
        ({}, "badVerb"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({"verb": "ListRecords", "resumptionToken": "nope"}, "badResumptionToken"),
    ):
        answer = oai(personas, **params)
        assert answer.find("o:error", NS).get("code") == code  # type: ignore[union-attr]
    identify = oai(personas, verb="Identify")
    assert identify.findtext(".//o:baseURL", namespaces=NS).endswith("/oai")  # type: ignore[union-attr]
    r = personas.call("POST", "/oai", None, headers={"Content-Type": "application/x-www-form-urlencoded"}, raw=b"\xff")
    assert r.status_code == 400


def test_a_withdrawn_base_uri_s_records_are_deleted_for_an_incremental_harvest_and_live_again_once_republished(
    personas: Api,
) -> None:
    never = register(personas, "bravo", BUCKET_B, name="never-public")
    publish(personas, BUCKET_A)
    mine = register(personas, "champion", BUCKET_A, name="plot-9")
    since = oai(personas, verb="Identify").findtext("o:responseDate", namespaces=NS) or ""
    publish(personas, BUCKET_A, public=False)
    changed = listed(personas, **{"from": since})
    assert {k: h.get("status") for k, h in changed.items()} == {oai_id(mine["uuid"]): "deleted"}
    gone = oai(personas, verb="GetRecord", identifier=oai_id(mine["uuid"]), metadataPrefix="oai_dc")
    assert gone.find(".//o:header", NS).get("status") == "deleted"  # type: ignore[union-attr]
    assert gone.find(".//o:metadata", NS) is None
    publish(personas, BUCKET_A)
    assert listed(personas)[oai_id(mine["uuid"])].get("status") is None
    # a base URI never published names nothing, deleted or not
    assert oai_id(never["uuid"]) not in listed(personas)
    never_answer = oai(personas, verb="GetRecord", identifier=oai_id(never["uuid"]), metadataPrefix="oai_dc")
    assert never_answer.find("o:error", NS).get("code") == "idDoesNotExist"  # type: ignore[union-attr]
