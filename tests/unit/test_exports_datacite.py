"""DataCite 4.5 exports: every record validates against DataCite's own schemas, the JSON
against the JSON Schema the ``datacite`` package ships (``datacite-v4.5.json``), the XML
against the kernel-4.5 XSD vendored in ``tests/data/datacite-4.5/`` (see its README; its
``xml.xsd`` import is local, so no network), for datasets minimal, unicode, many-tagged,
annotated, without a description, with and without a DOI; and the XML says what the JSON says."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from datacite import schema45

from chalicelib.domain import Dataset, DatasetContent, Manifest, ManifestItem, Replica
from chalicelib.exports.datacite import SCHEMA_VERSION, datacite_attributes, datacite_xml
from chalicelib.exports.view import ExportView, export_view, iso8601, landing_url
from tests.support.export_views import UUID, sample_view

XSD = Path(__file__).resolve().parents[1] / "data" / "datacite-4.5" / "metadata.xsd"
NS = {"d": "http://datacite.org/schema/kernel-4"}
DOI = "10.80814/cat.1b2e6e16"


@cache
def xsd() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def json_errors(attributes: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in schema45.validator.iter_errors(attributes)]


def xml_errors(document: bytes) -> list[str]:
    return [str(e.reason) for e in xsd().iter_errors(document.decode("utf-8"))]


VIEWS = {
    "sample": sample_view(),
    "minimal": sample_view(
        description="", tags=(), annotations={}, items=(), replicas=(), number_of_items=0, size_in_bytes=0
    ),
    "unicode": sample_view(
        name="Bodenfeuchte, Parzelle 7 · 土壤湿度 🌱",
        description="Messungen mit «TDR» & <Sonden> — “Ω” \u2028 second line",
        creator_username="józef",
        tags=("Bodenfeuchte", "土壤", "ñandú"),
    ),
    "many tags": sample_view(tags=tuple(f"tag-{i:03}" for i in range(200))),
    "annotations": sample_view(annotations={"temperature_K": 301.5, "nested": {"a": [1, 2, {"b": None}]}}),
    "no description": sample_view(description="   "),
    "control characters": sample_view(name="run\x01\x02 7", description="tab\tand\x0bvertical tab"),
    "lone surrogate": sample_view(name="half \ud800 a pair", tags=("\udfff",)),
    "doi": sample_view(doi=DOI),
    "one file": sample_view(number_of_items=1, size_in_bytes=1),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_the_json_validates_against_datacites_json_schema(name: str) -> None:
    attributes = datacite_attributes(VIEWS[name])
    assert json_errors(attributes) == []
    assert schema45.validate(attributes)
    json.dumps(attributes)  # plain JSON values only


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_the_xml_validates_against_the_kernel_45_xsd(name: str) -> None:
    document = datacite_xml(VIEWS[name])
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert xml_errors(document) == []


def test_the_checks_bite() -> None:
    """The validators used above refuse what DataCite refuses."""
    attributes = datacite_attributes(sample_view())
    assert json_errors({k: v for k, v in attributes.items() if k != "creators"})
    assert json_errors({**attributes, "types": {"resourceTypeGeneral": "Spreadsheet"}})
    document = datacite_xml(sample_view()).replace(b'identifierType="UUID"', b"")
    assert xml_errors(document)
    assert xml_errors(datacite_xml(sample_view()).replace(b"<publisher>", b"<publisher xml:lang='en' bogus='1'>"))


def test_the_json_record_says_what_the_view_says() -> None:
    view = sample_view()
    assert datacite_attributes(view) == {
        "titles": [{"title": "soil-moisture-2024"}],
        "creators": [{"name": "alice"}],
        "publisher": {"name": "Example Research Data Catalogue"},
        "publicationYear": "2024",
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "dtool"},
        "subjects": [{"subject": "soil"}, {"subject": "moisture"}],
        "descriptions": [{"description": view.description, "descriptionType": "Abstract"}],
        "dates": [
            {"date": "2024-04-30T18:00:00Z", "dateType": "Created"},
            {"date": "2024-05-01T21:46:40Z", "dateType": "Updated"},
        ],
        "sizes": ["2 files", "2058 bytes"],
        "alternateIdentifiers": [{"alternateIdentifier": UUID, "alternateIdentifierType": "UUID"}],
        "url": view.landing_url,
        "schemaVersion": SCHEMA_VERSION,
    }


def test_nothing_but_the_record_reaches_it() -> None:
    """Annotations, replicas, the README and the project are not DataCite's to carry."""
    view = sample_view(project="p-900123", annotations={"secret_site": "Plot 7"}, readme="the README's words")
    for text in (json.dumps(datacite_attributes(view)), datacite_xml(view).decode()):
        for hidden in ("p-900123", "secret_site", "Plot 7", "README's words", "s3://", "field-data"):
            assert hidden not in text


def test_a_doi_is_the_identifier_and_the_uuid_an_alternate() -> None:
    attributes = datacite_attributes(sample_view(doi=DOI))
    assert attributes["doi"] == DOI
    root = ET.fromstring(datacite_xml(sample_view(doi=DOI)))
    identifier = root.find("d:identifier", NS)
    assert identifier is not None and identifier.text == DOI and identifier.get("identifierType") == "DOI"
    alternate = root.find("d:alternateIdentifiers/d:alternateIdentifier", NS)
    assert alternate is not None and alternate.text == UUID and alternate.get("alternateIdentifierType") == "UUID"


def test_without_a_doi_the_xml_identifier_is_the_uuid_and_the_json_has_no_doi() -> None:
    assert "doi" not in datacite_attributes(sample_view())
    root = ET.fromstring(datacite_xml(sample_view()))
    identifiers = root.findall("d:identifier", NS)
    assert [(i.text, i.get("identifierType")) for i in identifiers] == [(UUID, "UUID")]
    assert "DOI" not in datacite_xml(sample_view()).decode()


def test_the_xml_says_what_the_json_says() -> None:
    view = VIEWS["unicode"]
    attributes = datacite_attributes(view)
    root = ET.fromstring(datacite_xml(view))
    assert root.tag == "{http://datacite.org/schema/kernel-4}resource"
    assert [t.text for t in root.findall("d:titles/d:title", NS)] == [view.name]
    assert [c.text for c in root.findall("d:creators/d:creator/d:creatorName", NS)] == ["józef"]
    assert root.findtext("d:publisher", namespaces=NS) == attributes["publisher"]["name"]
    assert root.findtext("d:publicationYear", namespaces=NS) == attributes["publicationYear"]
    resource_type = root.find("d:resourceType", NS)
    assert resource_type is not None and resource_type.get("resourceTypeGeneral") == "Dataset"
    assert [s.text for s in root.findall("d:subjects/d:subject", NS)] == list(view.tags)
    assert [(d.text, d.get("dateType")) for d in root.findall("d:dates/d:date", NS)] == [
        (d["date"], d["dateType"]) for d in attributes["dates"]
    ]
    assert [s.text for s in root.findall("d:sizes/d:size", NS)] == attributes["sizes"]
    assert [d.text for d in root.findall("d:descriptions/d:description", NS)] == [view.description]


def test_characters_xml_cannot_carry_are_replaced_not_written() -> None:
    root = ET.fromstring(datacite_xml(VIEWS["control characters"]))
    assert root.findtext("d:titles/d:title", namespaces=NS) == "run\ufffd\ufffd 7"
    assert datacite_attributes(VIEWS["control characters"])["titles"] == [{"title": "run\x01\x02 7"}]


def test_no_description_and_no_tags_leave_their_properties_out() -> None:
    attributes = datacite_attributes(VIEWS["minimal"])
    assert "descriptions" not in attributes and "subjects" not in attributes
    assert attributes["sizes"] == ["0 files", "0 bytes"]
    assert datacite_attributes(VIEWS["no description"]).get("descriptions") is None


def test_repeated_tags_are_one_subject() -> None:
    assert datacite_attributes(sample_view(tags=("a", "b", "a")))["subjects"] == [{"subject": "a"}, {"subject": "b"}]


# -- the view -----------------------------------------------------------------------------------
def _entry(**content: Any) -> Dataset:
    items = {
        "i2": ManifestItem("z/last.csv", 5, "f" * 32, 1.0),
        "i1": ManifestItem("a/first.csv", 7, "e" * 32, 1.0),
    }
    c = DatasetContent(
        uuid=UUID,
        name="run-7",
        creator_username="alice",
        created_at=1_700_000_000.25,
        frozen_at=1_700_000_100.0,
        manifest=Manifest(items=items),
        tags=("x",),
        number_of_items=2,
        size_in_bytes=12,
        **content,
    )
    replica = Replica(uri=f"s3://bucket-a/{UUID}", base_uri="s3://bucket-a", registered_at=1.0, registered_by="bob")
    return Dataset(
        content=c,
        replicas=(replica,),
        version=4,
        registered_at=1_700_000_200.0,
        updated_at=1_700_000_300.0,
        updated_by="carol",
        status_reasons=("a reason",),
        base_uri="s3://bucket-a",
    )


def test_the_view_holds_the_replicas_given_and_the_manifest_sorted_by_path() -> None:
    entry = _entry(kind="dtool", project="p-1")
    other = Replica(uri="s3://bucket-c/x", base_uri="s3://bucket-c", registered_at=2.0, registered_by="dan")
    view = export_view(entry, (*entry.replicas, other, entry.replicas[0]), landing_url="L", publisher="P", doi=None)
    assert view.replicas == (f"s3://bucket-a/{UUID}", "s3://bucket-c/x")
    assert [i.relpath for i in view.items] == ["a/first.csv", "z/last.csv"]
    assert view.items[0] == ("i1", "a/first.csv", 7, "e" * 32)
    assert (view.kind, view.project, view.version, view.base_uri) == ("dtool", "p-1", 4, "s3://bucket-a")
    assert view.created_iso == "2023-11-14T22:13:20Z" and view.updated_iso == iso8601(1_700_000_300.0)
    assert export_view(entry, (), landing_url="L", publisher="P", doi=None).replicas == ()
    assert (
        _entry().content.kind is None
        and export_view(_entry(), (), landing_url="L", publisher="P", doi=None).kind == "record"
    )


def test_the_view_has_no_field_for_who_changed_the_entry_or_why_it_was_refused() -> None:
    names = set(ExportView.__dataclass_fields__)
    assert not names & {"updated_by", "updated_for", "status", "status_reasons", "archival", "blob_refs"}


def test_the_landing_url_is_the_web_pages_dataset_view() -> None:
    assert landing_url("https://d123.cloudfront.net/", UUID) == f"https://d123.cloudfront.net/#/datasets/{UUID}"

    class Settings:
        web_origin = "https://catalogue.example.org"

    assert landing_url(Settings(), UUID) == f"https://catalogue.example.org/#/datasets/{UUID}"
    assert landing_url("", UUID) == f"http://127.0.0.1:8002/#/datasets/{UUID}"
