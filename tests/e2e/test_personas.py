"""The four personas on the real local stack: each sees exactly what it should."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, enc, persona, total, unique, wait_for
from tests.support.data import registration


@dataclass
class World:
    admin: Client
    champion: Client
    reader: Client
    outsider: Client
    a: str
    b: str
    on_a: list[str]
    on_b: list[str]


@pytest.fixture(scope="module")
def world(stack: LocalStack) -> World:
    admin = persona(stack, "admin", admin=True)
    champion, reader, outsider = (persona(stack, n) for n in ("champion", "reader", "outsider"))
    a, b = f"s3://{unique('e2e-a')}", f"s3://{unique('e2e-b')}"
    for base in (a, b):
        assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    r = admin.put(
        f"/base-uris/{enc(a)}/permissions",
        {"users_with_search_permissions": ["champion", "reader"], "users_with_register_permissions": ["champion"]},
    )
    assert r.status_code == 200, r.text
    on_a, on_b = [], []
    for i in range(6):
        body = registration(a, name=f"lidar-survey-{i}", creator_username="priya", tags=["lidar"])
        assert champion.post("/datasets", body).status_code == 201
        on_a.append(body["uuid"])
    for i in range(4):
        body = registration(b, name=f"xfel-run-{i}", creator_username="okafor", tags=["xfel"])
        assert admin.post("/datasets", body).status_code == 201
        on_b.append(body["uuid"])
    scope = f"?base_uri={a}&base_uri={b}&page_size=100"
    assert wait_for(lambda: total(admin, scope) == 10), "datasets did not become searchable"
    return World(admin, champion, reader, outsider, a, b, on_a, on_b)


def uuids(client: Client, query: str) -> set[str]:
    r = client.get(f"/datasets{query}")
    assert r.status_code == 200, r.text
    return {h["uuid"] for h in r.json()["items"]}


def test_each_persona_sees_exactly_its_datasets(world: World) -> None:
    scope = f"?base_uri={world.a}&base_uri={world.b}&page_size=100"
    assert uuids(world.admin, scope) == set(world.on_a) | set(world.on_b)
    assert uuids(world.champion, scope) == set(world.on_a)
    assert uuids(world.reader, scope) == set(world.on_a)
    assert uuids(world.outsider, scope) == set()
    assert uuids(world.reader, "?q=xfel&page_size=100") == set()
    summary = world.reader.get("/datasets/summary").json()
    assert world.b not in summary["datasets_per_base_uri"]
    assert summary["datasets_per_base_uri"][world.a] == 6
    assert world.outsider.get("/datasets/summary").json()["number_of_datasets"] == 0


def test_lookup_is_404_outside_ones_base_uris(world: World) -> None:
    a_uuid, b_uuid = world.on_a[0], world.on_b[0]
    assert world.reader.get(f"/datasets/{a_uuid}").status_code == 200
    assert world.reader.get(f"/datasets/{a_uuid}/manifest").status_code == 200
    for client, uuid in ((world.reader, b_uuid), (world.outsider, a_uuid), (world.champion, b_uuid)):
        for suffix in ("", "/readme", "/manifest", "/log"):
            assert client.get(f"/datasets/{uuid}{suffix}").status_code == 404


def test_only_registrars_register_edit_and_read_the_log(world: World) -> None:
    for client in (world.reader, world.outsider):
        assert client.post("/datasets", registration(world.a)).status_code == 403
    u = world.on_a[1]
    assert world.reader.patch(f"/datasets/{u}", {"description": "x", "version": 1}).status_code == 403
    r = world.champion.patch(f"/datasets/{u}", {"description": "flown June 2024"}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert world.reader.get(f"/datasets/{u}/log").status_code == 403
    log = world.champion.get(f"/datasets/{u}/log")
    assert log.status_code == 200

    def actions() -> list[str]:
        return [e["action"] for e in world.champion.get(f"/datasets/{u}/log").json()["entries"]]

    # the audit log is derived from the stream: the edit's entry follows it by a moment
    assert wait_for(lambda: actions() == ["add", "edit"], timeout=30), actions()


def test_admin_only_routes(world: World) -> None:
    for client in (world.champion, world.reader, world.outsider):
        assert client.get("/users").status_code == 403
        assert client.get(f"/base-uris/{enc(world.a)}").status_code == 403
    assert world.admin.get(f"/base-uris/{enc(world.a)}").json()["users_with_register_permissions"] == ["champion"]
