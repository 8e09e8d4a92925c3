"""Partial words, prefixes and annotation clauses through the HTTP API (the native ``q`` of
``GET /datasets`` and ``/datasets/facets``, dserver's and 0.18's ``free_text``): visibility
first, bad clauses refused as 400 naming them; and the operator's reindex of an outdated index."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.catalogue.index_maintenance import drift, reindex
from chalicelib.composition import root
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.support.data import registration


@pytest.fixture
def corpus(personas: Api) -> dict[str, str]:
    """Three datasets the reader may see (bucket-a) and one only bravo may (bucket-b)."""
    bodies = {
        "hot": registration(BUCKET_A, name="temperature-sweep", annotations={"temperature_K": 310, "sample_id": "S-1"}),
        "cold": registration(BUCKET_A, name="temperature-cold", annotations={"temperature_K": 280}),
        "plain": registration(BUCKET_A, name="calibration", description="probe calibration"),
        "hidden": registration(BUCKET_B, name="temperature-secret", annotations={"temperature_K": 999}),
    }
    for key, body in bodies.items():
        r = personas.post("/datasets", body, user="bravo" if key == "hidden" else "champion")
        assert r.status_code == 201, r.body
    personas.sync()
    return {key: body["uuid"] for key, body in bodies.items()}


def found(api: Api, q: str, user: str = "reader") -> list[str]:
    r = api.get(f"/datasets?page_size=100&q={quote(q)}", user=user)
    assert r.status_code == 200, r.body
    return sorted(item["name"] for item in r.json_body["items"])


def test_partial_words_and_prefixes(corpus: dict[str, str], personas: Api) -> None:
    assert found(personas, "temp") == ["temperature-cold", "temperature-sweep"]
    assert found(personas, "sweep") == ["temperature-sweep"]
    assert found(personas, "swe") == ["temperature-sweep"]
    assert found(personas, "calib*") == ["calibration"]
    assert found(personas, "temp col") == ["temperature-cold"]


def test_annotation_clauses(corpus: dict[str, str], personas: Api) -> None:
    assert found(personas, "annotations.temperature_K>=300") == ["temperature-sweep"]
    assert found(personas, "annotations.temperature_K<300") == ["temperature-cold"]
    assert found(personas, "annotations.temperature_K:[250 TO 350]") == ["temperature-cold", "temperature-sweep"]
    assert found(personas, "annotations.temperature_K:310") == ["temperature-sweep"]
    assert found(personas, "annotations.sample_id:*") == ["temperature-sweep"]
    assert found(personas, "_exists_:annotations.temperature_K") == ["temperature-cold", "temperature-sweep"]
    assert found(personas, "temp annotations.temperature_K>=300") == ["temperature-sweep"]
    r = personas.get(f"/datasets/facets?q={quote('annotations.temperature_K>=0')}", user="reader")
    assert r.status_code == 200 and r.json_body["total"] == 2


def test_an_outsider_learns_nothing_from_a_clause(corpus: dict[str, str], personas: Api) -> None:
    # the hidden dataset is the only one above 900: its owner finds it, nobody else does
    assert found(personas, "annotations.temperature_K>900", user="bravo") == ["temperature-secret"]
    assert found(personas, "annotations.temperature_K>900", user="admin") == ["temperature-secret"]
    for user in ("reader", "outsider", "champion"):
        assert found(personas, "annotations.temperature_K>900", user=user) == []
        assert found(personas, "temperature-secret", user=user) == []
    assert found(personas, "annotations.temperature_K:*", user="outsider") == []
    r = personas.get(f"/datasets/facets?q={quote('annotations.temperature_K>900')}", user="reader")
    assert r.json_body["total"] == 0


@pytest.mark.parametrize(
    ("q", "named"),
    [
        ("annotations.temperature_K>=abc", "annotations.temperature_K>=abc"),
        ("temp annotations.x!=3", "annotations.x!=3"),
        ("annotations.x:[1 TO", "annotations.x:[1"),
        ("_exists_:name", "_exists_:name"),
    ],
)
def test_a_bad_clause_is_400_naming_it_and_changes_nothing(
    corpus: dict[str, str], personas: Api, q: str, named: str
) -> None:
    before = personas.get("/datasets/summary", user="admin").json_body
    for path in ("/datasets", "/datasets/facets"):
        r = personas.get(f"{path}?q={quote(q)}", user="reader")
        assert r.status_code == 400, r.body
        assert r.json_body["Field"] == "q" and {"Code", "Message"} <= set(r.json_body)
        assert named in r.json_body["Message"]
    assert personas.get("/datasets/summary", user="admin").json_body == before


def test_dtool_clients_free_text_takes_clauses(corpus: dict[str, str], personas: Api) -> None:
    def names(path: str, user: str, body: dict[str, Any]) -> list[str]:
        r = personas.post(path, body, user=user)
        assert r.status_code == 200, r.body
        return sorted(row["name"] for row in r.json_body)

    body = {"free_text": "temp annotations.temperature_K>=300"}
    assert names("/uris", "reader", body) == ["temperature-sweep"]
    assert names("/dataset/search", "reader", body) == ["temperature-sweep"]
    assert names("/uris", "outsider", {"free_text": "annotations.temperature_K>900"}) == []
    r = personas.post("/uris", {"free_text": "annotations.temperature_K>=abc"}, user="reader")
    assert r.status_code in (400, 422) and "annotations.temperature_K>=abc" in str(r.json_body)


def test_the_operator_reindex_migrates_an_outdated_index(corpus: dict[str, str], personas: Api) -> None:
    # the fake's stand-in for an index made by the previous mapping: no word beginnings
    personas.search.outdated = True
    assert found(personas, "temp") == []
    assert found(personas, "temperature-sweep") == ["temperature-sweep"]
    assert drift(root().repo, root().search).mapping_outdated is True
    report = reindex(root().repo, root().search)  # catalogue-admin reindex
    assert report.failed == []
    assert drift(root().repo, root().search).clean
    assert found(personas, "temp") == ["temperature-cold", "temperature-sweep"]
