"""Concurrent edits against moto in server mode (mock_aws is not atomic under threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, persona, unique, wait_for
from tests.support.data import registration

WRITERS = 8
ROUNDS = 10


def test_concurrent_patches_from_one_version_let_exactly_one_win(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    base = f"s3://{unique('race')}"
    assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    body = registration(base)
    assert admin.post("/datasets", body).status_code == 201
    clients = [Client(stack, "admin") for _ in range(WRITERS)]
    u = body["uuid"]
    for round_no in range(ROUNDS):
        version = round_no + 1

        def edit(n: int, client: Client, version: int = version) -> int:
            return client.patch(f"/datasets/{u}", {"description": f"writer {n}", "version": version}).status_code

        with ThreadPoolExecutor(WRITERS) as pool:
            codes = list(pool.map(edit, range(WRITERS), clients))
        assert sorted(codes) == [200] + [409] * (WRITERS - 1), (round_no, codes)
    assert admin.get(f"/datasets/{u}").json()["version"] == ROUNDS + 1


def test_concurrent_registrations_of_one_dataset_keep_every_replica(stack: LocalStack) -> None:
    """Writers racing to add replicas (different uris) to one entry: every replica is kept."""
    admin = persona(stack, "admin", admin=True)
    base = f"s3://{unique('copy')}"
    assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    first = registration(base)
    uuid = first["uuid"]
    bodies = [dict(first, uri=f"{base}/copy-{n}/{uuid}") for n in range(WRITERS)]
    clients = [Client(stack, "admin") for _ in range(WRITERS)]
    with ThreadPoolExecutor(WRITERS) as pool:
        codes = list(pool.map(lambda c, b: c.post("/datasets", b).status_code, clients, bodies))
    assert all(c == 201 for c in codes), codes
    got = admin.get(f"/datasets/{uuid}").json()
    assert sorted(r["uri"] for r in got["replicas"]) == sorted(b["uri"] for b in bodies)

    # the log is written from the datasets stream: under load its last entries may lag
    def log_entries() -> list[dict[str, str]]:
        return list(admin.get(f"/datasets/{uuid}/log?limit=100").json()["entries"])

    wait_for(lambda: len(log_entries()) >= WRITERS, timeout=30)
    log = log_entries()
    assert sorted((e["entity_type"], e["action"]) for e in log) == sorted(
        [("dataset", "add")] + [("replica", "add")] * (WRITERS - 1)
    )


def test_concurrent_registrations_under_several_base_uris_make_one_entry_each(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    bases = [f"s3://{unique('copy')}" for _ in range(WRITERS)]
    for b in bases:
        assert admin.post("/base-uris", {"base_uri": b}).status_code == 201
    first = registration(bases[0])
    bodies = [dict(first, base_uri=b, uri=f"{b}/{first['uuid']}") for b in bases]
    clients = [Client(stack, "admin") for _ in range(WRITERS)]
    with ThreadPoolExecutor(WRITERS) as pool:
        answers = list(pool.map(lambda c, b: c.post("/datasets", b), clients, bodies))
    assert [(a.status_code, a.json()["status"]) for a in answers] == [(201, "created")] * WRITERS
    got = admin.get(f"/datasets/{first['uuid']}").json()
    assert sorted(r["base_uri"] for r in got["replicas"]) == sorted(bases)
