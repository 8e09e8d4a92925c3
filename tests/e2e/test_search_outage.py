"""OpenSearch down: registrations still succeed, nothing is lost, the index catches up."""

from __future__ import annotations

from infra.local.stack import LocalStack
from tests.e2e.helpers import catalogue_cli, persona, total, unique, wait_for
from tests.support.data import registration

N = 20


def test_registrations_during_an_outage_become_searchable(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    base = f"s3://{unique('outage')}"
    assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    before = registration(base, name="registered-before-the-outage")
    assert admin.post("/datasets", before).status_code == 201
    assert wait_for(lambda: total(admin, f"?base_uri={base}") == 1)

    stack.stop_opensearch()
    try:
        during = [registration(base, name=f"registered-during-outage-{i}") for i in range(N)]
        for body in during:
            r = admin.post("/datasets", body)
            assert r.status_code == 201, r.text
        # records are readable from DynamoDB meanwhile; search says it is unavailable
        assert admin.get(f"/datasets/{during[0]['uuid']}").status_code == 200
        r = admin.get("/datasets?q=outage")
        assert r.status_code == 503 and r.json()["Code"] == "SearchUnavailable"
    finally:
        stack.start_opensearch()

    # the stream runner retries the failed batches: what was registered during the outage arrives
    scope = f"?base_uri={base}&q=during&page_size=100"
    assert wait_for(lambda: total(admin, scope) == N, timeout=60), total(admin, scope)
    # the emulator lost its memory; drift shows what the restart dropped, reindex repairs it
    drift = catalogue_cli(stack, "drift")
    assert drift.returncode == 1 and before["uuid"] in drift.stdout, drift.stdout + drift.stderr
    rebuilt = catalogue_cli(stack, "reindex")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    clean = catalogue_cli(stack, "drift")
    assert clean.returncode == 0 and "no drift" in clean.stdout, clean.stdout + clean.stderr
    assert total(admin, f"?base_uri={base}&page_size=100") == N + 1
