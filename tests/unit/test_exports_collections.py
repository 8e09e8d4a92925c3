"""Exports of projects and collections: every format validates against the same official
schemas and validators as a dataset's (DataCite's JSON Schema and kernel-4.5 XSD, schema.org's
vocabulary, the DCAT-AP 3.0.1 SHACL shapes, roc-validator) and names each member the caller may
see, by its DOI or landing page; the service shows only members with an entry the caller may
see in the catalogue, and decides visibility (NotFound) before the format."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pyshacl
import pytest
from datacite import schema45
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF

from chalicelib.catalogue.entries import new_entry
from chalicelib.domain import Dataset, DatasetContent, Manifest, User
from chalicelib.errors import NotAcceptable, NotFound
from chalicelib.exports import collection_formats as cf
from chalicelib.exports.collections import RECORD_FORMATS, Member, RecordExports, RecordView, names
from tests.fakes.repository import InMemoryRepository
from tests.unit.test_exports_datacite import json_errors, xml_errors
from tests.unit.test_exports_dcat import SHAPES
from tests.unit.test_exports_ro_crate import validation_issues
from tests.unit.test_exports_schema_org import SDO, parsed, vocabulary_problems

RECORD = "7a0c5e52-3f41-4b6e-8d2a-0c9b1e2f3a4b"
SEEN = "1b2e6e16-8a2f-4d5c-9a44-2a1f0c6b7d10"
HIDDEN = "2b2e6e16-8a2f-4d5c-9a44-2a1f0c6b7d10"  # under bucket-b, which READER may not search
UNREGISTERED = "3b2e6e16-8a2f-4d5c-9a44-2a1f0c6b7d10"  # a refused upload only
WITH_DOI = "4b2e6e16-8a2f-4d5c-9a44-2a1f0c6b7d10"
A, B = "s3://bucket-a", "s3://bucket-b"
ADMIN = User(username="root", is_admin=True)
READER = User(username="reader", search_base_uris=frozenset({A}))
OUTSIDER = User(username="outsider")
DOI = "10.80814/cat.1b2e6e16"
PAGE = "https://catalogue.example.org/#/datasets/"


def member(uuid: str, doi: str | None = None, **changes: Any) -> Member:
    return replace(Member(uuid, f"run {uuid[:4]}", "Soil moisture, plot 7", PAGE + uuid, doi), **changes)


def view(**changes: Any) -> RecordView:
    sample = RecordView(
        kind="collection",
        uuid=RECORD,
        title="Permafrost cores, 2024",
        description="Cores from Abisko & <Tarfala>",
        creators=("Ada Lovelace", "Tove Olsson"),
        created_at=1714500000.0,
        updated_at=1714600000.0,
        members=(member(SEEN), member(WITH_DOI, doi=DOI)),
        publisher="Example Research Data Catalogue",
        doi=None,
        exported_at=1800000000.0,
    )
    return replace(sample, **changes)


VIEWS = {
    "sample": view(),
    "project": view(kind="project"),
    "minimal": view(description="", creators=(), members=(), created_at=None, updated_at=None),
    "no members": view(members=()),
    "unicode": view(title="Bodenfeuchte · 土壤湿度 🌱", description="«TDR» \x01 & <Sonden>", creators=("józef",)),
    "its own doi": view(doi="10.80814/project.7"),
    "many members": view(members=tuple(member(f"{n:08}-0000-4000-8000-000000000000") for n in range(50))),
    "member without a description": view(members=(member(SEEN, description=""),)),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_datacite_json_validates_against_datacites_json_schema(name: str) -> None:
    attributes = cf.datacite_attributes(VIEWS[name])
    assert json_errors(attributes) == []
    assert schema45.validate(attributes)
    assert attributes["types"]["resourceTypeGeneral"] == "Collection"


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_datacite_xml_validates_against_the_kernel_45_xsd(name: str) -> None:
    assert xml_errors(cf.datacite_xml(VIEWS[name])) == []


def test_datacite_has_part_names_each_member_by_its_doi_else_its_page() -> None:
    attributes = cf.datacite_attributes(view())
    assert attributes["relatedIdentifiers"] == [
        {"relatedIdentifier": PAGE + SEEN, "relatedIdentifierType": "URL", "relationType": "HasPart",
         "resourceTypeGeneral": "Dataset"},
        {"relatedIdentifier": DOI, "relatedIdentifierType": "DOI", "relationType": "HasPart",
         "resourceTypeGeneral": "Dataset"},
    ]  # fmt: skip
    assert attributes["creators"] == [{"name": "Ada Lovelace"}, {"name": "Tove Olsson"}]
    assert attributes["publicationYear"] == "2024"
    assert cf.datacite_attributes(VIEWS["minimal"])["creators"] == [{"name": "(:unav)"}]
    assert cf.datacite_attributes(VIEWS["minimal"])["publicationYear"] == "2027"  # exported_at
    document = cf.datacite_xml(view()).decode()
    assert f'relatedIdentifierType="DOI" relationType="HasPart" resourceTypeGeneral="Dataset">{DOI}<' in document
    assert f'<identifier identifierType="UUID">{RECORD}</identifier>' in document


def test_the_datacite_checks_bite() -> None:
    broken = cf.datacite_attributes(view())
    broken["relatedIdentifiers"][0]["relationType"] = "Contains"
    assert json_errors(broken)
    assert xml_errors(cf.datacite_xml(view()).replace(b'relationType="HasPart"', b'relationType="Contains"', 1))


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_schema_org_is_a_dataset_of_datasets_in_schema_orgs_core_vocabulary(name: str) -> None:
    graph = parsed(cf.schema_org(VIEWS[name]))
    assert vocabulary_problems(graph) == []
    datasets = set(graph.subjects(RDF.type, SDO.Dataset))
    assert len(datasets) == 1 + len(VIEWS[name].members)


def test_schema_org_has_part_says_what_the_members_say() -> None:
    document = cf.schema_org(view())
    assert [p.get("@id") for p in document["hasPart"]] == [None, f"https://doi.org/{DOI}"]
    assert [p["url"] for p in document["hasPart"]] == [PAGE + SEEN, PAGE + WITH_DOI]
    # schema.org's Collection is an extension's term: the vocabulary check refuses it
    assert vocabulary_problems(parsed({**document, "@type": "Collection"}))


@cache
def shapes() -> Graph:
    graph = Graph()
    for path in SHAPES:
        graph.parse(path, format="turtle")
    return graph


def _dcat(name: str, serialization: str) -> Graph:
    if serialization == "turtle":
        return Graph().parse(data=cf.dcat_turtle(VIEWS[name]), format="turtle")
    return Graph().parse(data=json.dumps(cf.dcat_jsonld(VIEWS[name])), format="json-ld")


@pytest.mark.parametrize("serialization", ["turtle", "jsonld"])
@pytest.mark.parametrize("name", sorted(VIEWS))
def test_dcat_is_a_catalog_conforming_to_the_dcat_ap_shapes(name: str, serialization: str) -> None:
    graph = _dcat(name, serialization)
    conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes())
    assert conforms, text
    catalog = next(iter(graph.subjects(RDF.type, DCAT.Catalog)))
    assert len(set(graph.objects(catalog, DCAT.dataset))) == len(VIEWS[name].members)


def test_dcat_names_members_by_doi_else_page_and_the_shapes_bite() -> None:
    graph = _dcat("sample", "turtle")
    catalog = URIRef(f"urn:uuid:{RECORD}")
    assert set(graph.objects(catalog, DCAT.dataset)) == {URIRef(PAGE + SEEN), URIRef(f"https://doi.org/{DOI}")}
    assert graph.value(URIRef(f"https://doi.org/{DOI}"), DCTERMS.identifier) == Literal(WITH_DOI)
    graph.remove((catalog, DCTERMS.publisher, None))
    conforms, _, _ = pyshacl.validate(graph, shacl_graph=shapes())
    assert not conforms


@pytest.mark.parametrize("name", ["sample", "minimal", "unicode", "its own doi", "member without a description"])
def test_ro_crate_validates_with_roc_validator(name: str, tmp_path: Path) -> None:
    assert validation_issues(cf.ro_crate_metadata(VIEWS[name]), tmp_path) == []


def test_the_ro_crates_root_has_one_dataset_per_member(tmp_path: Path) -> None:
    document = cf.ro_crate_metadata(view())
    entities = {e["@id"]: e for e in document["@graph"]}
    assert entities["./"]["hasPart"] == [{"@id": PAGE + SEEN}, {"@id": PAGE + WITH_DOI}]
    assert entities[PAGE + WITH_DOI]["@type"] == "Dataset"
    assert entities[PAGE + WITH_DOI]["identifier"] == f"https://doi.org/{DOI}"
    broken = {**document, "@graph": [{**e, "name": None} if e["@id"] == "./" else e for e in document["@graph"]]}
    assert validation_issues(broken, tmp_path)


# -- the service ------------------------------------------------------------------------------
def entry(uuid: str, base_uri: str, status: str = "registered") -> Dataset:
    content = DatasetContent(uuid, f"run {uuid[:4]}", "ana", 1.0, 2.0, manifest=Manifest(items={}), description="d")
    return replace(new_entry(ADMIN, content, f"{base_uri}/{uuid}", base_uri, 1, 5.0), status=status)


def record(**changes: Any) -> dict[str, Any]:
    listed = [{"_id": u, "title": "t"} for u in (SEEN, HIDDEN, UNREGISTERED, WITH_DOI, SEEN)]
    editors = [{"_id": "e1", "name": "Ada Lovelace"}, {"_id": "e2"}]
    base = {"_id": RECORD, "title": "Picks", "description": "", "editors": editors, "datasets": listed,
            "created_at": 1714500000.0, "updated_at": 1714600000}  # fmt: skip
    return {**base, **changes}


def service(readable: dict[str, Any] | None = None) -> RecordExports:
    """Over entries of SEEN and WITH_DOI under bucket-a, HIDDEN under bucket-b, a refused
    upload of UNREGISTERED under bucket-a; the record ``readable`` by READER and ADMIN only."""
    repo = InMemoryRepository()
    for e in (entry(SEEN, A), entry(HIDDEN, B), entry(UNREGISTERED, A, "refused"), entry(WITH_DOI, A)):
        repo.save_dataset(e, None)

    def read(user: User, uuid: str) -> dict[str, Any]:
        if uuid != RECORD or user not in (READER, ADMIN):
            raise NotFound(f"no collection {uuid}")
        return readable or record()

    return RecordExports(
        repo,
        project=read,
        collection=read,
        landing_url=lambda uuid: PAGE + uuid,
        publisher="Lab",
        doi_of=lambda e: DOI if e.content.uuid == WITH_DOI else None,
    )


def test_only_members_the_caller_may_see_in_the_catalogue_appear_once() -> None:
    exports = service()
    shown = exports.view(READER, "collection", record())
    assert [m.uuid for m in shown.members] == [SEEN, WITH_DOI]
    assert [m.doi for m in shown.members] == [None, DOI]
    assert shown.creators == ("Ada Lovelace",)
    body = json.dumps(exports.export(READER, "collection", RECORD, "datacite+json").body)
    assert HIDDEN not in body and UNREGISTERED not in body
    for fmt in names():
        rendered = exports.export(READER, "collection", RECORD, fmt).body
        text = rendered.decode() if isinstance(rendered, bytes) else json.dumps(rendered)
        assert HIDDEN not in text and UNREGISTERED not in text, fmt
    # whoever may see bucket-b too sees that member
    assert HIDDEN in [m.uuid for m in exports.view(ADMIN, "collection", record()).members]


@pytest.mark.parametrize("name", ["datacite+json", "premis", "nope", ""])
def test_whoever_may_not_see_the_record_gets_its_not_found_whatever_the_format(name: str) -> None:
    for user, uuid in ((OUTSIDER, RECORD), (User(username="anonymous"), RECORD), (ADMIN, HIDDEN)):
        with pytest.raises(NotFound) as caught:
            service().export(user, "collection", uuid, name)
        assert str(caught.value) == f"no collection {uuid}"
        with pytest.raises(NotFound):
            service().negotiated(user, "collection", uuid, "image/png")


def test_premis_and_unknown_formats_are_not_found_naming_the_formats() -> None:
    for name, said in (("premis", "a dataset's format"), ("bibtex", "'bibtex'")):
        with pytest.raises(NotFound) as caught:
            service().export(READER, "project", RECORD, name)
        assert said in str(caught.value) and all(n in str(caught.value) for n in names())
    assert "premis" not in names() and len(names()) == len(RECORD_FORMATS) == 6


def test_negotiation_json_is_the_record_an_export_type_the_export_else_not_acceptable() -> None:
    exports = service()
    for accept in (None, "", "application/json", "*/*", "text/html, application/json;q=0.5"):
        assert exports.negotiated(READER, "collection", RECORD, accept) is None
    datacite = exports.negotiated(READER, "collection", RECORD, "application/vnd.datacite.datacite+xml")
    assert datacite is not None and datacite.format == "datacite+xml"
    crate = exports.negotiated(
        READER, "collection", RECORD, 'application/ld+json;profile="https://w3id.org/ro/crate/1.1"'
    )
    assert crate is not None and crate.format == "ro-crate"
    with pytest.raises(NotAcceptable) as caught:
        exports.negotiated(READER, "collection", RECORD, "application/x-premis+xml, image/png")
    assert "premis" not in str(caught.value)
