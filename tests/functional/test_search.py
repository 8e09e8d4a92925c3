"""Search, pagination, summary, facets and highlights through the HTTP API: visibility first."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.functional.test_projects import PROJECT, project_registration, registered, with_member
from tests.support.data import registration


@pytest.fixture
def corpus(personas: Api) -> dict[str, list[str]]:
    """12 datasets on bucket-a (champion) and 5 on bucket-b (bravo)."""
    out: dict[str, list[str]] = {BUCKET_A: [], BUCKET_B: []}
    for i in range(12):
        body = registration(
            BUCKET_A,
            name=f"lidar-survey-{i:02d}",
            creator_username="alice" if i % 2 else "bob",
            tags=["lidar", "2024"] if i % 3 == 0 else ["lidar"],
            frozen_at=1700000000 + i,
            annotations={"project": "forest-canopy" if i < 6 else "glacier"},
        )
        assert personas.post("/datasets", body, user="champion").status_code == 201
        out[BUCKET_A].append(body["uuid"])
    for i in range(5):
        body = registration(BUCKET_B, name=f"cryo-em-apoferritin-{i}", creator_username="carol", tags=["cryo-em"])
        assert personas.post("/datasets", body, user="bravo").status_code == 201
        out[BUCKET_B].append(body["uuid"])
    return out


def search(api: Api, query: str, user: str) -> Any:
    r = api.get(f"/datasets{query}", user=user)
    assert r.status_code == 200, r.body
    return r


def test_visibility_in_hits_totals_and_summary(corpus: dict[str, list[str]], personas: Api) -> None:
    reader = search(personas, "?page_size=100", "reader").json_body
    assert reader["total"] == 12
    assert {h["base_uri"] for h in reader["items"]} == {BUCKET_A}
    assert search(personas, "?page_size=100", "admin").json_body["total"] == 17
    assert search(personas, "?page_size=100", "outsider").json_body["total"] == 0
    # asking for a base URI one may not search gives nothing, not an error
    assert search(personas, f"?base_uri={BUCKET_B}", "reader").json_body["total"] == 0
    summary = personas.get("/datasets/summary", user="reader").json_body
    assert summary["number_of_datasets"] == 12
    assert summary["datasets_per_base_uri"] == {BUCKET_A: 12}
    assert summary["datasets_per_creator"] == {"alice": 6, "bob": 6}
    assert summary["datasets_per_tag"] == {"lidar": 12, "2024": 4}
    assert personas.get("/datasets/summary", user="outsider").json_body["number_of_datasets"] == 0


def test_filters(corpus: dict[str, list[str]], personas: Api) -> None:
    assert search(personas, "?creator=alice", "admin").json_body["total"] == 6
    assert search(personas, "?creator=alice&creator=carol", "admin").json_body["total"] == 11
    assert search(personas, "?tag=lidar&tag=2024", "admin").json_body["total"] == 4
    assert search(personas, f"?base_uri={BUCKET_A}&base_uri={BUCKET_B}", "admin").json_body["total"] == 17
    u = corpus[BUCKET_B][0]
    assert [h["uuid"] for h in search(personas, f"?uuid={u}", "admin").json_body["items"]] == [u]
    assert search(personas, "?q=glacier", "reader").json_body["total"] == 6
    assert search(personas, "?q=apoferritin", "reader").json_body["total"] == 0
    assert search(personas, "?q=apoferritin", "bravo").json_body["total"] == 5


def test_pagination_headers_and_pages(corpus: dict[str, list[str]], personas: Api) -> None:
    r = search(personas, "?page_size=5&sort=name", "reader")
    assert r.headers["X-Total-Count"] == "12"
    assert r.headers["X-Total-Pages"] == "3"
    assert r.headers["X-Current-Page"] == "1"
    assert r.headers["X-Per-Page"] == "5"
    assert 'rel="next"' in r.headers["Link"] and "page=2" in r.headers["Link"]
    seen: list[str] = []
    for page in (1, 2, 3):
        seen += [
            h["name"] for h in search(personas, f"?page_size=5&sort=name&page={page}", "reader").json_body["items"]
        ]
    assert seen == sorted(f"lidar-survey-{i:02d}" for i in range(12))
    last = search(personas, "?page_size=5&sort=name&page=3", "reader")
    assert "Link" not in last.headers


def test_cursor_pagination_covers_everything_once(corpus: dict[str, list[str]], personas: Api) -> None:
    body = search(personas, "?page_size=4&sort=-created", "admin").json_body
    seen = [h["uuid"] for h in body["items"]]
    for _ in range(10):
        if not body["next"]:
            break
        body = search(personas, f"?page_size=4&sort=-created&after={body['next']}", "admin").json_body
        seen += [h["uuid"] for h in body["items"]]
    assert len(seen) == len(set(seen)) == 17


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?page_size=101", "page_size"),
        ("?page_size=0", "page_size"),
        ("?page_size=1e9", "page_size"),
        ("?page=-1", "page"),
        ("?page=200&page_size=100", "page"),
        ("?sort=size", "sort"),
        ("?uuid=not-a-uuid", "uuid"),
        ("?base_uri=http://169.254.169.254", "base_uri"),
        ("?tag=has space", "tag"),
        ("?frobnicate=1", "frobnicate"),
        ("?after=%%%", "after"),
        ("?q=" + "x" * 600, "q"),
    ],
)
def test_bad_search_parameters_are_400(personas: Api, query: str, field: str) -> None:
    r = personas.get(f"/datasets{query}", user="reader")
    assert r.status_code == 400, r.body
    assert r.json_body["Field"] == field


# -- facets and highlights ------------------------------------------------------------------
def facets(api: Api, query: str, user: str) -> Any:
    r = api.get(f"/datasets/facets{query}", user=user)
    assert r.status_code == 200, r.body
    return r.json_body


def counts(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"value": value, "count": count} for value, count in pairs]


def test_facets_count_only_what_the_caller_may_search(corpus: dict[str, list[str]], personas: Api) -> None:
    assert facets(personas, "", "reader") == {
        "total": 12,
        "facets": {
            "base_uri": counts((BUCKET_A, 12)),
            "creator": counts(("alice", 6), ("bob", 6)),
            "tag": counts(("lidar", 12), ("2024", 4)),
            "project": [],
            "type": counts(("record", 12)),
        },
    }
    admin = facets(personas, "", "admin")
    assert admin["total"] == 17 and admin["facets"]["base_uri"] == counts((BUCKET_A, 12), (BUCKET_B, 5))
    assert admin["facets"]["creator"] == counts(("alice", 6), ("bob", 6), ("carol", 5))
    nothing = {"total": 0, "facets": {"base_uri": [], "creator": [], "tag": [], "project": [], "type": []}}
    assert facets(personas, "", "outsider") == nothing
    assert facets(personas, f"?base_uri={BUCKET_B}", "reader") == nothing  # not an error, nothing
    assert facets(personas, "?q=apoferritin", "reader") == nothing
    r = personas.get("/datasets/facets", user=None)
    assert r.status_code == 401 and r.json_body["Code"] == "Unauthorized", r.body


def test_facets_follow_the_search_and_each_count_is_its_filtered_total(
    corpus: dict[str, list[str]], personas: Api
) -> None:
    for query in ("?q=glacier", "?tag=2024", "?creator=alice&creator=carol", f"?uuid={corpus[BUCKET_B][0]}", ""):
        found = facets(personas, query, "admin")
        assert found["total"] == search(personas, query, "admin").json_body["total"], query
        for name, values in found["facets"].items():
            if f"{name}=" in query and name != "tag":
                continue  # values of one filter are ORed: another one would widen the search
            for v in values:
                sep = "&" if query else "?"
                narrowed = search(personas, f"{query}{sep}{name}={v['value']}", "admin").json_body["total"]
                assert narrowed == v["count"], (query, name, v)
    glacier = facets(personas, "?q=glacier", "reader")
    assert glacier["total"] == 6 and glacier["facets"]["creator"] == counts(("alice", 3), ("bob", 3))


def test_the_facets_route_is_not_a_dataset(personas: Api) -> None:
    # /datasets/{uuid} would answer 400 "uuid must be a UUID": the static route wins
    assert facets(personas, "", "reader") == {
        "total": 0,
        "facets": {"base_uri": [], "creator": [], "tag": [], "project": [], "type": []},
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?page=1", "page"),
        ("?page_size=10", "page_size"),
        ("?sort=name", "sort"),
        ("?after=abc", "after"),
        ("?highlight=true", "highlight"),
        ("?q=a&q=b", "q"),
        ("?q=" + "x" * 600, "q"),
        ("?uuid=not-a-uuid", "uuid"),
        ("?tag=has space", "tag"),
        ("?base_uri=http://169.254.169.254", "base_uri"),
        ("?project=", "project"),
        ("?" + "&".join(f"project=p{i}" for i in range(51)), "project"),
        ("?type=dataset", "type"),
        ("?type=DTOOL", "type"),
    ],
)
def test_bad_facets_parameters_are_400(personas: Api, query: str, field: str) -> None:
    r = personas.get(f"/datasets/facets{query}", user="reader")
    assert r.status_code == 400, r.body
    assert r.json_body["Code"] and r.json_body["Message"] and r.json_body["Field"] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?highlight=yes", "highlight"),
        ("?highlight=true&highlight=true", "highlight"),
        ("?project=", "project"),
        ("?type=", "type"),
        ("?type=record&type=proto", "type"),
    ],
)
def test_bad_highlight_and_project_parameters_are_400(personas: Api, query: str, field: str) -> None:
    r = personas.get(f"/datasets{query}", user="reader")
    assert r.status_code == 400, r.body
    assert r.json_body["Code"] and r.json_body["Message"] and r.json_body["Field"] == field


def test_highlight_marks_the_words_found_in_escaped_html(personas: Api) -> None:
    readme = "description: okapi sightings <script>alert('x')</script>\nsite: Ituri & co\n"
    body = registration(BUCKET_A, name="okapi-survey", readme=readme)
    assert personas.post("/datasets", body, user="champion").status_code == 201
    [item] = search(personas, "?q=okapi&highlight=true", "reader").json_body["items"]
    found = item["highlights"]
    assert found["name"] == ["<mark>okapi</mark>-survey"]
    snippets = [s for field in found.values() for s in field]
    assert all(set(re.findall(r"<[^>]*>?", s)) == {"<mark>", "</mark>"} for s in snippets), snippets
    assert any("<mark>okapi</mark> sightings &lt;script&gt;alert(&#x27;x&#x27;)" in s for s in found["readme"])
    # opt-in: without highlight=true, or without words to mark, no highlights
    for query in ("?q=okapi", "?q=okapi&highlight=false", "?highlight=true"):
        assert all("highlights" not in i for i in search(personas, query, "reader").json_body["items"]), query
    assert search(personas, "?q=okapi&highlight=true", "outsider").json_body["items"] == []


def test_project_filter_and_facet(personas: Api) -> None:
    api = with_member(personas)
    in_a = registered(api, project_registration(BUCKET_A))
    in_b = registered(api, project_registration(BUCKET_B))
    registered(api, project_registration(BUCKET_A, project=None))
    assert search(api, f"?project={PROJECT}", "reader").json_body["total"] == 1
    assert sorted(h["uuid"] for h in search(api, f"?project={PROJECT}", "admin").json_body["items"]) == sorted(
        [in_a, in_b]
    )
    assert search(api, "?project=elsewhere&project=other", "admin").json_body["total"] == 0
    assert facets(api, "", "reader")["facets"]["project"] == counts((PROJECT, 1))
    assert facets(api, "", "admin")["facets"]["project"] == counts((PROJECT, 2))
    # a member counts the project's entries under any base URI, and nothing else
    member = facets(api, "", "member")
    assert member["total"] == 2 and member["facets"]["base_uri"] == counts((BUCKET_A, 1), (BUCKET_B, 1))
    assert facets(api, f"?project={PROJECT}&base_uri={BUCKET_B}", "member")["total"] == 1
    assert facets(api, f"?project={PROJECT}", "outsider")["total"] == 0


def test_type_tells_how_each_entry_reached_the_catalogue(personas: Api) -> None:
    """``record`` through POST /datasets, ``dtool`` through the dtool APIs (the ingest of S3
    layouts, bags, facility data groups and submissions: in their own tests); a registration
    without a type keeps the entry's, and the type filter and facet follow visibility."""
    record = registration(BUCKET_A, name="typed-record")
    assert personas.post("/datasets", record, user="champion").status_code == 201
    by_dserver = registration(BUCKET_A, name="typed-dserver")
    assert personas.put(f"/uris/{quote_plus(by_dserver['uri'])}", by_dserver, user="champion").status_code == 201
    by_lookup = registration(BUCKET_B, name="typed-lookup")
    assert personas.post("/dataset/register", by_lookup, user="bravo").status_code == 201
    # the same content again through our own API: unchanged, still a dtool dataset
    again = personas.post("/datasets", by_dserver, user="champion")
    assert again.status_code == 200 and again.json_body["status"] == "unchanged", again.body
    personas.sync()
    kinds = {h["name"]: h["kind"] for h in search(personas, "?q=typed", "admin").json_body["items"]}
    assert kinds == {"typed-record": "record", "typed-dserver": "dtool", "typed-lookup": "dtool"}
    assert facets(personas, "?q=typed", "admin")["facets"]["type"] == counts(("dtool", 2), ("record", 1))
    assert facets(personas, "?q=typed", "reader")["facets"]["type"] == counts(("dtool", 1), ("record", 1))
    dtool = search(personas, "?q=typed&type=dtool", "reader").json_body["items"]
    assert [h["name"] for h in dtool] == ["typed-dserver"]
    both = search(personas, "?q=typed&type=dtool&type=record", "admin").json_body["total"]
    assert both == 3
    assert search(personas, "?type=dtool", "outsider").json_body["total"] == 0
    assert personas.get(f"/datasets/{record['uuid']}", user="reader").json_body["kind"] == "record"
