"""GET /datasets/{uuid}/export/{format} for DCAT-AP (Turtle, JSON-LD), RO-Crate and PREMIS, in
process over moto: each answer parses and says what the caller's record says; ``Accept:
text/turtle`` on ``GET /datasets/{uuid}`` gets the Turtle; whoever may not see the dataset gets
the same 404 as for an unknown uuid, whatever the format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS

from chalicelib.exports import dcat, premis, ro_crate
from chalicelib.exports.formats import format_named
from tests.functional.conftest import Api
from tests.functional.test_datasets import register
from tests.unit.test_exports_ro_crate import validation_issues

MORE = ("dcat+turtle", "dcat+jsonld", "ro-crate", "premis")
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def export(api: Api, uuid: str, fmt: str, user: str | None = "reader") -> Any:
    return api.get(f"/datasets/{uuid}/export/{fmt}", user=user)


def test_dcat_turtle_and_json_ld(personas: Api) -> None:
    body = register(personas)
    r = export(personas, body["uuid"], "dcat+turtle")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == dcat.TURTLE_MEDIA_TYPE
    turtle = Graph().parse(data=r.body.decode(), format="turtle")
    dataset = URIRef(f"urn:uuid:{body['uuid']}")
    assert turtle.value(dataset, DCTERMS.title) == Literal(body["name"])
    assert {str(turtle.value(d, DCAT.accessURL)) for d in turtle.objects(dataset, DCAT.distribution)} == {body["uri"]}

    r = export(personas, body["uuid"], "dcat+jsonld")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == dcat.JSONLD_MEDIA_TYPE
    assert isomorphic(Graph().parse(data=json.dumps(r.json_body), format="json-ld"), turtle)


def test_accept_text_turtle_gets_the_dcat_description(personas: Api) -> None:
    body = register(personas)
    r = personas.get(f"/datasets/{body['uuid']}", user="reader", headers={"Accept": "text/turtle"})
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == dcat.TURTLE_MEDIA_TYPE
    assert (URIRef(f"urn:uuid:{body['uuid']}"), DCTERMS.identifier, Literal(body["uuid"])) in Graph().parse(
        data=r.body.decode(), format="turtle"
    )


def test_ro_crate_lists_the_manifest_files_and_validates(personas: Api, tmp_path: Path) -> None:
    body = register(personas)
    r = export(personas, body["uuid"], "ro-crate")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == ro_crate.MEDIA_TYPE
    graph = {e["@id"]: e for e in r.json_body["@graph"]}
    assert graph["ro-crate-metadata.json"]["conformsTo"] == {"@id": ro_crate.RO_CRATE_PROFILE}
    assert graph["./"]["name"] == body["name"]
    assert {p["@id"] for p in graph["./"]["hasPart"]} == {"raw/probe_01.csv", "raw/probe_02.csv"}
    assert graph["raw/probe_02.csv"]["contentSize"] == "2048"
    assert validation_issues(r.json_body, tmp_path) == []


def test_premis_tells_the_registration(personas: Api) -> None:
    body = register(personas)
    r = export(personas, body["uuid"], "premis")
    assert r.status_code == 200, r.body
    assert r.headers["Content-Type"] == premis.MEDIA_TYPE
    root = ET.fromstring(r.body)
    ns = {"p": premis.NAMESPACE}
    assert root.findtext("p:object/p:objectIdentifier/p:objectIdentifierValue", namespaces=ns) == body["uuid"]
    types = [e.get("valueURI") for e in root.iterfind("p:event/p:eventType", ns)]
    assert types == [f"{premis.EVENT_TYPES}/ing"]
    assert b"champion" not in r.body  # who registered it is the log's, not the reader's


@pytest.mark.parametrize("fmt", MORE)
def test_who_may_not_see_it_gets_404_as_for_an_unknown_uuid(personas: Api, fmt: str) -> None:
    body = register(personas)
    unknown = export(personas, UNKNOWN, fmt, user="reader")
    assert unknown.status_code == 404
    for user in ("outsider", "bravo"):
        r = export(personas, body["uuid"], fmt, user=user)
        assert (r.status_code, r.json_body["Code"]) == (404, unknown.json_body["Code"]), (user, r.body)
        assert body["name"] not in r.body.decode()


def test_premis_tells_a_registrar_the_logged_history_with_who_acted(personas: Api) -> None:
    body = register(personas)
    r = export(personas, body["uuid"], "premis", user="champion")
    assert r.status_code == 200, r.body
    root = ET.fromstring(r.body)
    ns = {"p": premis.NAMESPACE}
    events = [
        (
            e.findtext("p:eventType", namespaces=ns),
            e.findtext("p:linkingAgentIdentifier/p:linkingAgentIdentifierValue", namespaces=ns),
        )
        for e in root.iterfind("p:event", ns)
    ]
    assert ("ingestion", "champion") in [(t and t.lower(), a) for t, a in events], events


@pytest.mark.parametrize("fmt", ["dcat+jsonld", "ro-crate"])
def test_json_ld_with_a_profile_gets_that_profiles_export(personas: Api, fmt: str) -> None:
    body = register(personas)
    wanted = format_named(fmt)
    assert wanted is not None
    r = personas.get(f"/datasets/{body['uuid']}", user="reader", headers={"Accept": wanted.media_type})
    assert (r.status_code, r.headers["Content-Type"]) == (200, wanted.media_type), r.body
    assert r.json_body == export(personas, body["uuid"], fmt).json_body
