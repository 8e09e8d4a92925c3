"""The dserver-compatible routes (chalicelib/routes/dserver.py) in process: shapes that
dtool-lookup-api 0.10.3 reads, paging and sorting headers, and what each persona sees."""

from __future__ import annotations

import json

import pytest

from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.functional.test_datasets import register


def test_config_answers_both_client_generations(personas: Api) -> None:
    info = personas.get("/config/info", user="reader")
    assert info.status_code == 200
    assert {k.lower(): v for k, v in info.headers.items()}["content-type"] == "application/json"
    body = info.json_body
    assert body["config"]["stage"] == body["stage"] and "msg" not in body
    versions = personas.get("/config/versions", user=None)  # no token needed, as in dserver
    assert versions.status_code == 200
    assert versions.json_body["versions"] == {"catalogue": versions.json_body["catalogue"]}
    assert personas.get("/config/info", user=None).status_code == 401


def test_me_lists_the_callers_rights(personas: Api) -> None:
    assert personas.get("/me", user="champion").json_body == {
        "username": "champion",
        "is_admin": False,
        "search_permissions_on_base_uris": [BUCKET_A],
        "register_permissions_on_base_uris": [BUCKET_A],
    }
    assert personas.get("/me", user="outsider").json_body["search_permissions_on_base_uris"] == []
    assert personas.get("/me", user=None).status_code == 401


def test_uuids_lists_one_row_per_visible_uri(personas: Api) -> None:
    body = register(personas)
    uuid = body["uuid"]
    register(personas, user="bravo", base_uri=BUCKET_B, uuid=uuid)  # the same uuid, another entry
    personas.sync()
    seen = personas.get(f"/uuids/{uuid}", user="admin")
    assert seen.status_code == 200
    assert [r["uri"] for r in seen.json_body] == sorted([f"{BUCKET_A}/{uuid}", f"{BUCKET_B}/{uuid}"])
    row = seen.json_body[0]
    assert set(row) == {
        "base_uri", "uri", "uuid", "name", "creator_username", "frozen_at", "created_at",
        "number_of_items", "size_in_bytes",
    }  # fmt: skip
    assert row["frozen_at"] == 1700000000.5 and isinstance(row["created_at"], float)
    assert json.loads(seen.headers["X-Pagination"]) == {
        "total": 2, "total_pages": 1, "first_page": 1, "last_page": 1, "page": 1,
    }  # fmt: skip
    assert json.loads(seen.headers["X-Sort"]) == {"sort": {"uri": 1}}
    # each persona sees the rows of the base URIs it may search, and nothing else
    assert [r["base_uri"] for r in personas.get(f"/uuids/{uuid}", user="reader").json_body] == [BUCKET_A]
    assert [r["base_uri"] for r in personas.get(f"/uuids/{uuid}", user="bravo").json_body] == [BUCKET_B]
    for nobody in ("outsider",):
        hidden = personas.get(f"/uuids/{uuid}", user=nobody)
        assert hidden.status_code == 200 and hidden.json_body == []
        assert json.loads(hidden.headers["X-Pagination"]) == {"total": 0, "total_pages": 0}
    assert personas.get(f"/uuids/{uuid}", user=None).status_code == 401


def test_uuids_pages_and_sorts(personas: Api) -> None:
    body = register(personas)
    uuid = body["uuid"]
    register(personas, user="bravo", base_uri=BUCKET_B, uuid=uuid)
    personas.sync()
    desc = personas.get(f"/uuids/{uuid}?sort=-base_uri&page=2&page_size=1", user="admin")
    assert [r["base_uri"] for r in desc.json_body] == [BUCKET_A]
    assert json.loads(desc.headers["X-Pagination"]) == {
        "total": 2, "total_pages": 2, "first_page": 1, "last_page": 2, "page": 2, "previous_page": 1,
    }  # fmt: skip
    assert json.loads(desc.headers["X-Sort"]) == {"sort": {"base_uri": -1}}
    past = personas.get(f"/uuids/{uuid}?page=3&page_size=1", user="admin")
    assert past.status_code == 200 and past.json_body == []
    assert "page" not in json.loads(past.headers["X-Pagination"])


@pytest.mark.parametrize(
    "query", ["page=0", "page=x", "page_size=101", "page_size=0", "sort=readme", "sort=name,-nope", "page=1&page=2"]
)
def test_uuids_bad_paging_or_sort_is_400_json(personas: Api, query: str) -> None:
    uuid = register(personas)["uuid"]
    r = personas.get(f"/uuids/{uuid}?{query}", user="reader")
    assert r.status_code == 400 and set(r.json_body) >= {"Code", "Message"}


def test_uuids_of_a_malformed_uuid_is_400(personas: Api) -> None:
    assert personas.get("/uuids/not-a-uuid", user="reader").status_code == 400
