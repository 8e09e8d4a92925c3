"""ENA objects in XML and JSON (issue 20, unit tier): every type's valid XML and its JSON
equivalent give the same stored form; invalid documents report every problem with its path;
XML attacks are refused before any schema sees them; the JSON Schemas are the generator's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema

from chalicelib.errors import InvalidDocument
from chalicelib.json_documents import schema_problems
from chalicelib.submissions import ena_schemas
from chalicelib.submissions.csv_samples import samples_from_csv
from chalicelib.submissions.ena_schemas import EnaSchemas, read_xml
from chalicelib.submissions.json_schemas import generate, render
from chalicelib.submissions.types import TYPES

DATA = Path(__file__).parents[1] / "data" / "ena"


@pytest.fixture(scope="module")
def schemas() -> EnaSchemas:
    return EnaSchemas()


def problems_of(call: object) -> list[dict[str, str]]:
    with pytest.raises(InvalidDocument) as caught:
        call()  # type: ignore[operator]
    return caught.value.problems


@pytest.mark.parametrize("name", list(TYPES))
def test_xml_and_json_of_every_type_are_one_record(schemas: EnaSchemas, name: str) -> None:
    type_, objects = schemas.objects_from_xml((DATA / f"{name}.xml").read_bytes())
    assert type_.name == name and len(objects) == 1
    as_json = json.loads(json.dumps(objects[0]))
    assert schemas.object_from_json(type_, as_json) == objects[0]
    # the stored form goes back to XML that reads as the same object
    assert schemas.objects_from_xml(schemas.to_xml(type_, objects).encode(), type_)[1] == objects


@pytest.mark.parametrize("name", list(TYPES))
def test_invalid_xml_of_every_type_reports_each_problem_with_its_xpath(schemas: EnaSchemas, name: str) -> None:
    type_ = TYPES[name]
    text = (DATA / f"{name}.xml").read_text()
    broken = text.replace(f"<{type_.element} ", f'<{type_.element} bogus="1" ', 1)
    broken = broken.replace(f"</{type_.element}>", f"<NOT_IN_ENA/></{type_.element}>", 1)
    found = problems_of(lambda: schemas.objects_from_xml(broken.encode(), type_))
    paths = [p["path"] for p in found]
    assert len(found) >= 2, found
    assert all(p.startswith(f"/{type_.set_element}/{type_.element}") for p in paths), paths
    assert any("bogus" in p["message"] for p in found) and any("NOT_IN_ENA" in p["message"] for p in found)


@pytest.mark.parametrize("name", list(TYPES))
def test_invalid_json_of_every_type_reports_each_problem_with_its_pointer(schemas: EnaSchemas, name: str) -> None:
    type_ = TYPES[name]
    _, objects = schemas.objects_from_xml((DATA / f"{name}.xml").read_bytes())
    document = {**objects[0], "@alias": 7, "NOT_IN_ENA": "x"}
    found = problems_of(lambda: schemas.object_from_json(type_, document))
    assert {"path": "/@alias", "message": "7 is not of type 'string'"} in found
    assert any(p["path"] == "" and "NOT_IN_ENA" in p["message"] for p in found)


def test_a_sample_with_three_problems_reports_three(schemas: EnaSchemas) -> None:
    xml = (
        b"<SAMPLE_SET><SAMPLE alias='a'><SAMPLE_NAME><TAXON_ID>abc</TAXON_ID></SAMPLE_NAME><FOO/></SAMPLE>"
        b"<SAMPLE><TITLE>x</TITLE></SAMPLE></SAMPLE_SET>"
    )
    found = problems_of(lambda: schemas.objects_from_xml(xml))
    assert [p["path"] for p in found] == [
        "/SAMPLE_SET/SAMPLE[1]/SAMPLE_NAME/TAXON_ID",
        "/SAMPLE_SET/SAMPLE[1]",
        "/SAMPLE_SET/SAMPLE[2]",
    ]
    json_found = problems_of(lambda: schemas.object_from_json(TYPES["sample"], {"SAMPLE_NAME": {"TAXON_ID": "x"}}))
    assert json_found == [{"path": "/SAMPLE_NAME/TAXON_ID", "message": "'x' is not of type 'integer'"}]


def test_what_json_schema_cannot_say_the_xsd_does(schemas: EnaSchemas) -> None:
    """A choice with two branches taken passes the JSON Schema (each branch is an optional
    property there) and is caught by the XSD."""
    _, (experiment,) = schemas.objects_from_xml((DATA / "experiment.xml").read_bytes())
    experiment["PLATFORM"]["LS454"] = {"INSTRUMENT_MODEL": "454 GS FLX"}
    from chalicelib.json_documents import document_problems

    assert document_problems(schemas.json_schema(TYPES["experiment"]), experiment) == []
    found = problems_of(lambda: schemas.object_from_json(TYPES["experiment"], experiment))
    assert found and all(p["path"].startswith("/PLATFORM") for p in found), found


ATTACKS = {
    "billion laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
    b"<SAMPLE_SET>&lol2;</SAMPLE_SET>",
    "external entity": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<SAMPLE_SET>&xxe;</SAMPLE_SET>",
    "external DTD": b'<?xml version="1.0"?><!DOCTYPE SAMPLE_SET SYSTEM "http://127.0.0.1:9/evil.dtd"><SAMPLE_SET/>',
    "huge attribute": b'<SAMPLE_SET><SAMPLE alias="' + b"a" * (ena_schemas.MAX_VALUE_CHARS + 1) + b'"/></SAMPLE_SET>',
    "deep nesting": b"<SAMPLE_SET>" + b"<a>" * 5000 + b"</a>" * 5000 + b"</SAMPLE_SET>",
    "too large": b"<SAMPLE_SET>" + b" " * ena_schemas.MAX_XML_BYTES + b"</SAMPLE_SET>",
    "not XML": b'{"SAMPLE": 1}',
    "no element": b"<?xml version='1.0'?>",
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_xml_attacks_are_refused_before_validation(name: str) -> None:
    found = problems_of(lambda: read_xml(ATTACKS[name]))
    assert len(found) == 1 and found[0]["path"] == "/", found


def test_the_json_schemas_are_the_generators_and_valid(schemas: EnaSchemas) -> None:
    directory = Path(ena_schemas.SCHEMA_DIR)
    for type_ in TYPES.values():
        committed = (directory / "json" / f"{type_.name}.json").read_text()
        fresh = render(generate(xmlschema.XMLSchema(str(directory / "ena" / type_.xsd)), type_))
        assert committed == fresh, f"{type_.name}.json is stale: python -m chalicelib.submissions.json_schemas"
        assert schema_problems(json.loads(committed)) == []


def test_a_submission_file_lists_its_actions(schemas: EnaSchemas) -> None:
    actions = schemas.submission((DATA / "submission.xml").read_bytes())
    assert actions == [
        {"ADD": {"@source": "study.xml", "@schema": "study"}},
        {"ADD": {"@source": "sample.xml", "@schema": "sample"}},
    ]


def test_csv_rows_become_samples_with_attributes_and_units() -> None:
    sheet = "alias,title,taxon_id,scientific_name,depth [m],Site\ns1,Soil 1,410658,soil metagenome,0.5,Ny-Alesund\n"
    ((row, sample),) = samples_from_csv(sheet)
    assert row == 2
    assert sample == {
        "@alias": "s1",
        "TITLE": "Soil 1",
        "SAMPLE_NAME": {"TAXON_ID": 410658, "SCIENTIFIC_NAME": "soil metagenome"},
        "SAMPLE_ATTRIBUTES": {
            "SAMPLE_ATTRIBUTE": [{"TAG": "depth", "VALUE": "0.5", "UNITS": "m"}, {"TAG": "Site", "VALUE": "Ny-Alesund"}]
        },
    }


@pytest.mark.parametrize(
    ("sheet", "message"),
    [
        ("", "a header row is required"),
        ("alias,title\n", "no sample rows"),
        ("alias,Alias\na,b\n", "columns named twice"),
        ("alias,title\na\n", "1 cells; the header has 2"),
        ('alias,title\n"a,b\n', "unexpected end of data"),
    ],
)
def test_bad_csv_layouts_are_refused(sheet: str, message: str) -> None:
    found = problems_of(lambda: samples_from_csv(sheet))
    assert any(message in p["message"] for p in found), found
