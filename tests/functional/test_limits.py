"""Bad input and limits: clear 4xx JSON errors, nothing changed, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.functional.conftest import Api
from tests.support.data import registration


def test_health_needs_no_token_but_config_does(api: Api) -> None:
    assert api.get("/health", user=None).status_code == 200
    r = api.get("/config", user=None)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json_body["Code"] == "Unauthorized"
    cfg = api.get("/config").json_body
    assert cfg["max_page_size"] == 100 and "version" in cfg


def test_forged_token_is_401(api: Api) -> None:
    r = api.get("/users/me", user=None, headers={"Authorization": "Bearer a.b.c"})
    assert r.status_code == 401
    r = api.get("/users/me?access_token=" + api.mint.access_token("admin"), user=None)
    assert r.status_code == 401


def test_body_over_one_mib_is_413(personas: Api) -> None:
    body = registration(readme="x" * (1024 * 1024))
    r = personas.post("/datasets", body, user="champion")
    assert r.status_code == 413 and r.json_body["Code"] == "PayloadTooLarge"
    assert personas.get(f"/datasets/{body['uuid']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"uuid": "nope"}, "uuid"),
        ({"uuid": 42}, "uuid"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"frozen_at": "yesterday"}, "frozen_at"),
        ({"frozen_at": None}, "frozen_at"),
        ({"tags": "soil"}, "tags"),
        ({"annotations": ["x"]}, "annotations"),
        ({"manifest": {"items": {"a": {"relpath": "x"}}}}, "manifest.items.size_in_bytes"),
        (
            {"manifest": {"items": {"a": {"relpath": "x", "size_in_bytes": -1, "hash": "h"}}}},
            "manifest.items.size_in_bytes",
        ),
        ({"uri": "s3://bucket-b/elsewhere"}, "uri"),
        ({"type": "protodataset"}, "type"),
        ({"is_admin": True}, "is_admin"),
        ({"number_of_items": True}, "number_of_items"),
    ],
)
def test_bad_registration_names_the_field(personas: Api, change: dict, field: str) -> None:
    body = registration()
    body.update(change)
    r = personas.post("/datasets", body, user="champion")
    assert r.status_code == 400, r.body
    assert r.json_body["Field"] == field
    assert personas.get("/datasets?page_size=100").json_body["total"] == 0


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"x"', b"null", b"\xff\xfe", b""])
def test_malformed_json_is_400(personas: Api, raw: bytes) -> None:
    r = personas.call("POST", "/datasets", "champion", raw=raw)
    assert r.status_code == 400
    assert r.json_body["Code"] == "BadRequest"


def test_bad_path_parameters(personas: Api) -> None:
    assert personas.get("/datasets/not-a-uuid").status_code == 400
    assert personas.get("/users/" + "x" * 300).status_code == 400


def test_unknown_route_and_method(api: Api) -> None:
    r = api.call("DELETE", "/datasets", "admin")
    assert r.status_code in (403, 404, 405)


def test_register_body_round_trips_exactly(personas: Api) -> None:
    body = registration(annotations={"nested": {"a": [1, 2, {"b": None}]}, "unicode": "µ-CT ü"})
    assert personas.post("/datasets", body, user="champion").status_code == 201
    got = personas.get(f"/datasets/{body['uuid']}/annotations", user="reader").json_body["annotations"]
    assert json.dumps(got, sort_keys=True) == json.dumps(body["annotations"], sort_keys=True)
