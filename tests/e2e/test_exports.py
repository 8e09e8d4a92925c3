"""Exports over the local stack (``make run``'s chalice local, real tokens): a reader exports a
dataset in each format through HTTP, by URL and by ``Accept``, and each validates (DataCite's
JSON Schema and XSD, schema.org JSON-LD parsed with rdflib); an outsider gets 404."""

from __future__ import annotations

import xmlschema
from datacite import schema45
from rdflib import RDF, Namespace

from chalicelib.exports.formats import FORMATS
from infra.local.stack import LocalStack
from tests.e2e.helpers import enc, persona, unique
from tests.support.data import registration
from tests.unit.test_exports_datacite import XSD
from tests.unit.test_exports_schema_org import parsed, vocabulary_problems

SDO = Namespace("https://schema.org/")


def test_a_reader_exports_a_dataset_in_each_format_and_each_validates(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    reader, outsider = persona(stack, unique("reader")), persona(stack, unique("outsider"))
    base_uri = f"s3://{unique('exports')}"
    assert admin.post("/base-uris", {"base_uri": base_uri}).status_code == 201
    permissions = {"users_with_search_permissions": [reader.username], "users_with_register_permissions": ["admin"]}
    assert admin.put(f"/base-uris/{enc(base_uri)}/permissions", permissions).ok
    body = registration(base_uri, name="Bodenfeuchte 土壤 <plot 7>", description="TDR & more")
    assert admin.post("/datasets", body).status_code == 201
    path = f"/datasets/{body['uuid']}"

    answers = {fmt.name: reader.get(f"{path}/export/{fmt.name}") for fmt in FORMATS}
    for fmt in FORMATS:
        r = answers[fmt.name]
        assert r.status_code == 200, (fmt.name, r.text)
        assert r.headers["Content-Type"] == fmt.media_type
        if fmt.accepts:  # the same bytes by content negotiation
            negotiated = reader.get(path, headers={"Accept": fmt.media_type})
            assert negotiated.status_code == 200 and negotiated.content == r.content, fmt.name

    assert schema45.validate(answers["datacite+json"].json())
    assert answers["datacite+json"].json()["titles"] == [{"title": body["name"]}]
    xmlschema.XMLSchema(str(XSD)).validate(answers["datacite+xml"].content.decode("utf-8"))
    assert "土壤 &lt;plot 7&gt;" in answers["datacite+xml"].content.decode("utf-8")
    graph = parsed(answers["schema.org"].json())
    assert len(list(graph.subjects(RDF.type, SDO.Dataset))) == 1 and vocabulary_problems(graph) == []

    record = reader.get(path, headers={"Accept": "*/*"})
    assert record.status_code == 200 and record.json()["uuid"] == body["uuid"]
    assert reader.get(path, headers={"Accept": "text/csv"}).status_code == 406
    for name in [f.name for f in FORMATS] + ["bibtex"]:
        r = outsider.get(f"{path}/export/{name}")
        assert r.status_code == 404 and r.json() == {"Code": "NotFound", "Message": f"no dataset {body['uuid']}"}
