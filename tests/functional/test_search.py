"""Search, pagination and summary through the HTTP API: visibility first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
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
