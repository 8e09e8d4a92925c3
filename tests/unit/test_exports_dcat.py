"""DCAT-AP 3.0 descriptions of a dataset: Turtle and JSON-LD parse back to the same triples,
say what the view says, and conform to the official DCAT-AP 3.0.1 SHACL shapes (vendored, see
tests/data/dcat-ap/SOURCE.md: the core constraints and the class ranges) checked with
pyshacl; a description without a mandatory property, or with an agent of another class, does
not."""

from __future__ import annotations

import json
from pathlib import Path

import pyshacl
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SH, XSD

from chalicelib.exports.dcat import dataset_iri, dcat_graph, dcat_jsonld, dcat_turtle
from tests.support.export_views import UUID, sample_view

DATA = Path(__file__).resolve().parents[1] / "data" / "dcat-ap"
# the core constraints (mandatory properties, cardinalities) and the class ranges
SHAPES = (DATA / "dcat-ap-3.0.1-shapes.ttl", DATA / "dcat-ap-3.0.1-range.ttl")
DATASET = URIRef(f"urn:uuid:{UUID}")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph()
    for path in SHAPES:
        graph.parse(path, format="turtle")
    return graph


def _conforms(graph: Graph, shapes: Graph) -> tuple[bool, str]:
    conforms, _, text = pyshacl.validate(graph, shacl_graph=shapes)
    return bool(conforms), str(text)


def _violated_paths(graph: Graph, shapes: Graph) -> set[object]:
    _, results, _ = pyshacl.validate(graph, shacl_graph=shapes)
    assert isinstance(results, Graph)
    return set(results.objects(None, SH.resultPath))


def _turtle() -> Graph:
    return Graph().parse(data=dcat_turtle(sample_view()), format="turtle")


def _jsonld() -> Graph:
    return Graph().parse(data=json.dumps(dcat_jsonld(sample_view())), format="json-ld")


def test_turtle_and_json_ld_are_the_same_graph() -> None:
    assert isomorphic(_turtle(), _jsonld())
    assert len(_turtle()) == len(dcat_graph(sample_view())) > 20


@pytest.mark.parametrize("parse", [_turtle, _jsonld])
def test_the_dataset_says_what_the_view_says(parse: object) -> None:
    graph = parse()  # type: ignore[operator]
    assert (DATASET, RDF.type, DCAT.Dataset) in graph
    assert graph.value(DATASET, DCTERMS.title) == Literal("soil-moisture-2024")
    assert graph.value(DATASET, DCTERMS.description) == Literal("Soil moisture & temperature <TDR-100>, 2024 season")
    assert graph.value(DATASET, DCTERMS.identifier) == Literal(UUID)
    assert graph.value(DATASET, DCTERMS.issued) == Literal("2024-05-01T10:40:00Z", datatype=XSD.dateTime)
    assert graph.value(DATASET, DCTERMS.modified) == Literal("2024-05-01T21:46:40Z", datatype=XSD.dateTime)
    assert set(graph.objects(DATASET, DCAT.keyword)) == {Literal("soil"), Literal("moisture")}
    assert graph.value(DATASET, DCAT.landingPage) == URIRef(sample_view().landing_url)
    publisher = graph.value(DATASET, DCTERMS.publisher)
    assert isinstance(publisher, BNode) and (publisher, RDF.type, FOAF.Agent) in graph
    assert graph.value(publisher, FOAF.name) == Literal("Example Research Data Catalogue")
    assert graph.value(graph.value(DATASET, DCTERMS.creator), FOAF.name) == Literal("alice")
    distributions = list(graph.objects(DATASET, DCAT.distribution))
    assert {graph.value(d, DCAT.accessURL) for d in distributions} == {URIRef(u) for u in sample_view().replicas}
    for d in distributions:
        assert (d, RDF.type, DCAT.Distribution) in graph
        assert graph.value(d, DCAT.byteSize) == Literal(2058, datatype=XSD.nonNegativeInteger)
    # nothing the catalogue does not know, nothing the caller may not see
    assert graph.value(DATASET, DCAT.contactPoint) is None and graph.value(DATASET, DCTERMS.license) is None
    assert 'TDR-100"' not in dcat_turtle(sample_view()).decode()  # annotations are not exported


def test_it_conforms_to_the_dcat_ap_shapes(shapes: Graph) -> None:
    for graph in (_turtle(), _jsonld()):
        conforms, report = _conforms(graph, shapes)
        assert conforms, report


@pytest.mark.parametrize(
    ("subject", "predicate"),
    [(DATASET, DCTERMS.title), (DATASET, DCTERMS.description), (None, DCAT.accessURL), (None, FOAF.name)],
)
def test_a_missing_mandatory_property_is_caught(shapes: Graph, subject: URIRef | None, predicate: URIRef) -> None:
    graph = _turtle()
    graph.remove((subject, predicate, None))
    assert _violated_paths(graph, shapes) == {predicate}


def test_an_agent_of_another_class_is_caught(shapes: Graph) -> None:
    graph = _turtle()
    graph.remove((None, RDF.type, FOAF.Agent))
    assert _violated_paths(graph, shapes) == {DCTERMS.publisher, DCTERMS.creator}


def test_a_doi_names_the_dataset() -> None:
    view = sample_view(doi="10.1234/abcd")
    graph = Graph().parse(data=dcat_turtle(view), format="turtle")
    iri = URIRef(dataset_iri(view))
    assert str(iri) == "https://doi.org/10.1234/abcd"
    assert set(graph.objects(iri, DCTERMS.identifier)) == {Literal(UUID), Literal("10.1234/abcd")}


def test_an_empty_description_is_the_name_and_no_replica_is_no_distribution(shapes: Graph) -> None:
    view = sample_view(description="", replicas=(), tags=())
    graph = Graph().parse(data=dcat_turtle(view), format="turtle")
    assert graph.value(DATASET, DCTERMS.description) == Literal("soil-moisture-2024")
    assert list(graph.objects(DATASET, DCAT.distribution)) == []
    assert _conforms(graph, shapes)[0]


def test_uris_that_are_no_iris_as_they_are_are_percent_encoded(shapes: Graph) -> None:
    folder = "s3://bucket-a/field data/plot <7>"
    doi = "10.1002/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0"
    graph = Graph().parse(data=dcat_turtle(sample_view(replicas=(folder,), doi=doi)), format="turtle")
    dataset = URIRef("https://doi.org/10.1002/(SICI)1097-4571(199806)49:8%3C693::AID-ASI4%3E3.0.CO;2-0")
    assert (dataset, RDF.type, DCAT.Dataset) in graph
    distribution = graph.value(dataset, DCAT.distribution)
    assert graph.value(distribution, DCAT.accessURL) == URIRef("s3://bucket-a/field%20data/plot%20%3C7%3E")
    assert _conforms(graph, shapes)[0]
