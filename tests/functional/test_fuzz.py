"""Seeded random input against every write route and the search route: never a 5xx, and a
rejected write changes nothing."""

from __future__ import annotations

import json
import random
import string
from typing import Any

from tests.functional.conftest import BUCKET_A, Api, base_uri_path
from tests.support.data import registration

ROUNDS = 60


def junk(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 2**63, 1e308, -0.5, 10**20])
    if choice == 3:
        return "".join(rng.choice(string.printable + "üµ\u2028/%") for _ in range(rng.randrange(40)))
    if choice == 4:
        return rng.choice(["", "s3://bucket-a", "s3://bucket-a/x", "../../etc", "a" * 5000])
    if choice == 5:
        return str(rng.random())
    if choice == 6:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["uuid", "tags", "x", "version", "items", "a b"]): junk(rng, depth + 1) for _ in range(3)}


def mutate(rng: random.Random, body: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(body))
    for _ in range(rng.randrange(1, 4)):
        key = rng.choice([*body, "unknown"])
        body[key] = junk(rng)
    return body


def test_random_registrations_never_500_and_rejections_change_nothing(personas: Api) -> None:
    rng = random.Random(20261123)
    accepted = 0
    for _ in range(ROUNDS):
        body = mutate(rng, registration(BUCKET_A))
        r = personas.post("/datasets", body, user="champion")
        assert r.status_code < 500, (body, r.body)
        if r.status_code in (200, 201):
            accepted += 1
        else:
            assert r.json_body["Code"] and r.json_body["Message"]
            uuid = body.get("uuid")
            if isinstance(uuid, str) and len(uuid) == 36:
                assert personas.get(f"/datasets/{uuid}").status_code in (400, 404)
    assert personas.get("/datasets?page_size=100").json_body["total"] == accepted


def test_random_edits_and_admin_bodies_never_500(personas: Api) -> None:
    rng = random.Random(7)
    u = registration(BUCKET_A)
    assert personas.post("/datasets", u, user="champion").status_code == 201
    for _ in range(ROUNDS):
        for method, path, base in (
            ("PATCH", f"/datasets/{u['uuid']}", {"tags": ["a"], "version": 1}),
            ("POST", "/users", {"username": "someone"}),
            ("PATCH", "/users/reader", {"display_name": "R"}),
            ("POST", "/base-uris", {"base_uri": "s3://fuzz"}),
            (
                "PUT",
                f"/base-uris/{base_uri_path(BUCKET_A)}/permissions",
                {"users_with_search_permissions": [], "users_with_register_permissions": []},
            ),
        ):
            r = personas.call(method, path, "admin", mutate(rng, base))
            assert r.status_code < 500, (method, path, r.body)


def test_random_query_strings_never_500(personas: Api) -> None:
    rng = random.Random(11)
    names = ["q", "base_uri", "creator", "tag", "uuid", "sort", "page", "page_size", "after", "zzz"]
    for _ in range(ROUNDS * 2):
        parts = []
        for _ in range(rng.randrange(1, 5)):
            value = "".join(
                rng.choice(string.ascii_letters + string.digits + "-_.:/%+*~") for _ in range(rng.randrange(12))
            )
            parts.append(f"{rng.choice(names)}={value}")
        r = personas.get("/datasets?" + "&".join(parts), user="reader")
        assert r.status_code < 500, (parts, r.body)


def test_non_json_constants_and_deep_nesting_are_400(personas: Api) -> None:
    body = json.dumps(registration(BUCKET_A)).replace('"instrument": "TDR-100"', '"instrument": NaN').encode()
    assert personas.call("POST", "/datasets", "champion", raw=body).status_code == 400
    deep: Any = "leaf"
    for _ in range(50):
        deep = {"n": deep}
    r = personas.post("/datasets", registration(BUCKET_A, annotations={"deep": deep}), user="champion")
    assert r.status_code == 400 and r.json_body["Field"] == "annotations"
    very_deep = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert personas.call("POST", "/datasets", "champion", raw=very_deep).status_code == 400
