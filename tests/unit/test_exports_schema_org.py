"""The schema.org export: JSON-LD that rdflib parses (offline, against the vendored
``https://schema.org`` context) into one ``schema:Dataset`` whose every type and property is a
term of schema.org's vocabulary (release 30.0, ``tests/data/schema.org/``), used on a type its
``domainIncludes`` allows and pointing at a type its ``rangeIncludes`` allows; and it says only
what the view says."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef

from chalicelib.exports.schema_org import schema_org
from tests.support.export_views import UUID, sample_view

DATA = Path(__file__).resolve().parents[1] / "data" / "schema.org"
SDO = Namespace("https://schema.org/")
DOI = "10.80814/cat.1b2e6e16"


@cache
def vocabulary() -> Graph:
    return Graph().parse(DATA / "vocabulary-subset.ttl", format="turtle")


@cache
def context() -> dict[str, Any]:
    value: dict[str, Any] = json.loads((DATA / "schemaorgcontext.jsonld").read_text(encoding="utf-8"))["@context"]
    return value


def parsed(document: dict[str, Any]) -> Graph:
    """``document`` as RDF, its ``https://schema.org`` context read from the vendored copy;
    schema.org's ``http`` IRIs (the context's ``@vocab``) made ``https`` like the vocabulary's."""
    assert document["@context"] == "https://schema.org"
    graph = Graph().parse(data=json.dumps({**document, "@context": context()}), format="json-ld")
    out = Graph()
    for triple in graph:
        out.add(tuple(_https(t) for t in triple))  # type: ignore[arg-type]
    return out


def _https(term: Any) -> Any:
    if isinstance(term, URIRef) and str(term).startswith("http://schema.org/"):
        return URIRef("https://" + str(term).removeprefix("http://"))
    return term


def superclasses(cls: URIRef) -> set[URIRef]:
    found = {cls}
    for parent in vocabulary().objects(cls, RDFS.subClassOf):
        found |= superclasses(URIRef(parent))
    return found


def vocabulary_problems(graph: Graph) -> list[str]:
    vocab = vocabulary()
    problems = []
    types = {s: {URIRef(t) for t in graph.objects(s, RDF.type)} for s in set(graph.subjects())}
    for node_types in types.values():
        for t in node_types:
            if (t, RDF.type, RDFS.Class) not in vocab:
                problems.append(f"{t} is no schema.org type")
    for s, p, o in graph:
        if p == RDF.type:
            continue
        if (p, RDF.type, RDF.Property) not in vocab:
            problems.append(f"{p} is no schema.org property")
            continue
        if (p, SDO.isPartOf, None) in vocab or (p, SDO.supersededBy, None) in vocab:
            problems.append(f"{p} is pending, in an extension or superseded")
        subject_types = set().union(*(superclasses(t) for t in types.get(s, set())))
        if not subject_types & set(vocab.objects(p, SDO.domainIncludes)):
            problems.append(f"{p} is not a property of {sorted(types.get(s, set()))}")
        if not isinstance(o, Literal) and o in types:
            object_types = set().union(*(superclasses(t) for t in types[o]))
            if not object_types & set(vocab.objects(p, SDO.rangeIncludes)):
                problems.append(f"{p} does not take a {sorted(types[o])}")
    return problems


VIEWS = {
    "sample": sample_view(),
    "doi": sample_view(doi=DOI),
    "minimal": sample_view(description="", tags=(), replicas=(), items=(), number_of_items=0, size_in_bytes=0),
    "unicode": sample_view(name="土壤湿度 🌱 «Parzelle»", description='"quoted" </script> & more', tags=("ñ",)),
    "record": sample_view(kind="record"),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_it_parses_as_one_dataset_of_real_schema_org_terms(name: str) -> None:
    graph = parsed(schema_org(VIEWS[name]))
    datasets = list(graph.subjects(RDF.type, SDO.Dataset))
    assert len(datasets) == 1
    assert vocabulary_problems(graph) == []


def test_the_check_bites() -> None:
    document = schema_org(sample_view())
    assert vocabulary_problems(parsed({**document, "sizeInBytes": 3}))  # no such property
    assert vocabulary_problems(parsed({**document, "contentUrl": "s3://x"}))  # a MediaObject's, not a Dataset's
    assert vocabulary_problems(parsed({**document, "@type": "DataSet"}))
    assert vocabulary_problems(parsed({**document, "creator": {"@type": "DataDownload", "name": "x"}}))


def test_it_says_what_the_view_says() -> None:
    view = sample_view()
    assert schema_org(view) == {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "name": "soil-moisture-2024",
        "identifier": [{"@type": "PropertyValue", "propertyID": "UUID", "value": UUID}],
        "url": view.landing_url,
        "creator": {"@type": "Person", "name": "alice"},
        "publisher": {"@type": "Organization", "name": "Example Research Data Catalogue"},
        "dateCreated": "2024-04-30T18:00:00Z",
        "dateModified": "2024-05-01T21:46:40Z",
        "datePublished": "2024-05-01T10:40:00Z",
        "description": view.description,
        "keywords": ["soil", "moisture"],
        "distribution": [
            {"@type": "DataDownload", "contentUrl": uri, "contentSize": "2058 B", "encodingFormat": "dtool dataset"}
            for uri in view.replicas
        ],
    }


def test_a_doi_is_the_datasets_id_and_first_identifier() -> None:
    document = schema_org(VIEWS["doi"])
    assert document["@id"] == f"https://doi.org/{DOI}"
    assert document["identifier"][0] == f"https://doi.org/{DOI}"
    assert (URIRef(f"https://doi.org/{DOI}"), RDF.type, SDO.Dataset) in parsed(document)


def test_only_the_replicas_shown_are_distributions_and_nothing_else_leaks() -> None:
    view = sample_view(
        replicas=("s3://field-data/x",),
        annotations={"secret_site": "Plot 7"},
        project="p-900123",
        readme="README words",
    )
    document = schema_org(view)
    assert [d["contentUrl"] for d in document["distribution"]] == ["s3://field-data/x"]
    text = json.dumps(document)
    for hidden in ("s3://mirror", "secret_site", "Plot 7", "p-900123", "README words"):
        assert hidden not in text
    assert "distribution" not in schema_org(sample_view(replicas=()))


def test_empty_description_and_tags_are_left_out_and_a_records_format_is_not_claimed() -> None:
    document = schema_org(VIEWS["minimal"])
    assert "description" not in document and "keywords" not in document
    assert all("encodingFormat" not in d for d in schema_org(VIEWS["record"])["distribution"])
