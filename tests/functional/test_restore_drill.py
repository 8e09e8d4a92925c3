"""T11 restore drill (issue 22), in process over moto: build a world through the API, record what
it answers, back up (``catalogue-admin backup``), wipe every table and the search index, restore
(``catalogue-admin restore``), re-create the ephemeral table, point the stream consumers at the
new streams, reindex; then everything answers as before, drift is 0, and new writes flow
through the streams to the index and the audit log again.

moto's restores are instant: the times printed are those of this process (the reindex is the
part that grows with the catalogue; see the README's runbook and ``bench/restore_drill.py``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from typer.testing import CliRunner

from chalicelib.bootstrap import create_resources
from chalicelib.catalogue.index_maintenance import drift, reindex
from chalicelib.catalogue.summary_store import rebuild_counts
from chalicelib.composition import root
from chalicelib.config import Settings
from chalicelib.domain import user_uuid
from infra.local import cli
from infra.local.pump import StreamPump
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api, add_personas, base_uri_path, running_api
from tests.support.data import registration
from tests.support.tokens import TokenMint

V1 = "/api/v1"
STREAM_ENVS = ("CATALOGUE_DATASETS_STREAM_ARN", "CATALOGUE_ACCESS_STREAM_ARN", "CATALOGUE_FACILITY_STREAM_ARN")
# a word only the READMEs kept as blobs hold: searching it proves the reindex read the blobs
BLOB_WORD = "permafrost"
PERSONAS = ("admin", "reader", "outsider", "bravo", "late")
runner = CliRunner()


def big_readme(i: int) -> str:
    lines = "".join(f"  {BLOB_WORD} core {i} depth {d} cm, ice content logged by the field team\n" for d in range(80))
    return f"---\ndescription: core {i}\nnotes: |\n{lines}"


def blob_if(big: bool, i: int) -> dict[str, str]:
    return {"readme": big_readme(i)} if big else {}


def register(api: Api, user: str, base_uri: str, i: int, **kw: Any) -> dict[str, Any]:
    body = registration(base_uri, name=f"drill-{i:02d}", tags=["drill", f"group-{i % 3}"], **kw)
    r = api.post("/datasets", body, user=user)
    assert r.status_code == 201, r.body
    return body


def patch(api: Api, uuid: str, user: str, **fields: Any) -> int:
    version = api.get(f"/datasets/{uuid}", user=user).json_body["version"]
    r = api.patch(f"/datasets/{uuid}", {**fields, "version": version}, user=user)
    assert r.status_code == 200, r.body
    return int(r.json_body["version"])


def build_world(api: Api, n_a: int = 24, n_b: int = 12) -> dict[str, Any]:
    """Datasets on both base URIs (every sixth with a README over the inline cap: an S3 blob),
    edits (versions up to 4), one dataset under both base URIs, a tombstone, users and
    permissions changed, a Data Tracker order with a dataset (the facility table)."""
    add_personas(api)
    on_a = [
        register(api, "champion", BUCKET_A, i, **({"readme": big_readme(i)} if i % 6 == 0 else {})) for i in range(n_a)
    ]
    on_b = [
        register(api, "bravo", BUCKET_B, 100 + i, **({"readme": big_readme(i)} if i % 6 == 3 else {}))
        for i in range(n_b)
    ]
    for i, body in enumerate(on_a):
        if i % 4 == 1:
            patch(api, body["uuid"], "champion", tags=["drill", "revised"], annotations={"quality": "checked"})
        if i % 8 == 1:
            patch(api, body["uuid"], "admin", description=f"checked twice ({i})")
    changed = dict(on_a[2], tags=["drill", "re-registered"])  # new content: version 2
    assert api.post("/datasets", changed, user="champion").json_body["status"] == "updated"
    shared = on_a[3]  # the same dataset under bucket-b: a second entry
    copy = dict(shared, base_uri=BUCKET_B, uri=f"{BUCKET_B}/{shared['uuid']}")
    assert api.post("/datasets", copy, user="bravo").status_code == 201
    gone = on_a[5]  # its only replica deleted: a tombstone
    r = api.delete(f"/datasets/{gone['uuid']}/replicas?uri={quote(gone['uri'], safe='')}", user="champion")
    assert r.status_code == 200 and r.json_body["dataset_deleted"], r.body
    # users and permissions: a late reader on bucket-b, an orderer of the Data Tracker
    assert api.post("/users", {"username": "late", "email": "late@example.org"}).status_code == 201
    r = api.put(
        f"/base-uris/{base_uri_path(BUCKET_B)}/permissions",
        {"users_with_search_permissions": ["bravo", "late"], "users_with_register_permissions": ["bravo"]},
    )
    assert r.status_code == 200, r.body
    assert api.post("/users", {"username": "orderer", "email": "orderer@example.org"}).status_code == 201
    r = api.patch(f"{V1}/user/{user_uuid('orderer')}", {"permissions": ["ORDERS", "ORDERS_SPECIAL"]})
    assert r.status_code == 200, r.body
    r = api.post(f"{V1}/order", {"title": "Ice cores of the drill"}, user="orderer")
    assert r.status_code == 200, r.body
    order = str(r.json_body["_id"])
    r = api.post(f"{V1}/order/{order}/dataset", {"title": "Core 7 scans"}, user="orderer")
    assert r.status_code == 200, r.body
    tracked = str(r.json_body["_id"])
    assert api.patch(f"{V1}/dataset/{tracked}", {"description": "scanned twice"}, user="orderer").status_code == 200
    for user in PERSONAS:  # a user's first request binds their sign-in to the user (a write): made here
        assert api.get("/me", user=user).status_code == 200
    return {
        "on_a": on_a,
        "on_b": on_b,
        "shared": shared["uuid"],
        "gone": gone["uuid"],
        "order": order,
        "tracked": tracked,
        "blobbed": [b["uuid"] for i, b in enumerate(on_a) if i % 6 == 0],
    }


def scan(table: str) -> list[dict[str, Any]]:
    ddb = root().aws_client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    for _ in range(1000):
        page = ddb.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(items, key=repr)


def all_tables(settings: Settings) -> list[str]:
    s = settings
    return [
        s.datasets_table,
        s.access_table,
        s.audit_table,
        s.archives_table,
        s.sign_in_attempts_table,
        s.facility_table,
        s.summary_table,
    ]


def answers(api: Api, world: dict[str, Any]) -> dict[str, Any]:
    """What the catalogue answers, to compare before and after: per persona, the summary and a
    few searches; the logs of some datasets; the tracker's order and its dataset's log."""
    out: dict[str, Any] = {}
    uuids = [world["on_a"][1]["uuid"], world["on_a"][2]["uuid"], world["shared"], world["gone"], world["blobbed"][0]]
    queries = [
        {"tag": "drill", "page_size": "100"},
        {"q": BLOB_WORD},
        {"q": "drill-1*"},
        {"tag": "revised"},
        {"base_uri": BUCKET_B},
        {"uuid": world["shared"]},
        {"uuid": world["gone"]},
    ]
    for user in PERSONAS:
        out[f"{user} summary"] = api.get("/datasets/summary", user=user).json_body
        for q in queries:
            r = api.get(f"/datasets?{urlencode(q)}", user=user)
            out[f"{user} {q}"] = (r.status_code, r.json_body)
        out[f"{user} facets"] = api.get("/datasets/facets?tag=drill", user=user).json_body
    for u in uuids:
        out[f"log {u}"] = api.get(f"/datasets/{u}/log?limit=100").json_body
        out[f"lookup {u}"] = api.get(f"/datasets/{u}").json_body if u != world["gone"] else None
        readme = api.get(f"/datasets/{u}/readme")
        out[f"readme {u}"] = (readme.status_code, readme.json_body.get("bytes") or readme.json_body.get("readme"))
    out["users"] = api.get("/users").json_body
    out["order"] = api.get(f"{V1}/order/{world['order']}", user="orderer").json_body
    out["tracked log"] = api.get(f"{V1}/dataset/{world['tracked']}/log", user="orderer").json_body
    return out


def record(api: Api, settings: Settings, world: dict[str, Any]) -> dict[str, Any]:
    # the summary table is derived: rebuilt into a new generation, compared through the answers
    tables = {t: scan(t) for t in all_tables(settings) if t != settings.summary_table}
    return {
        "counts": {t: len(items) for t, items in tables.items()},
        "items": tables,
        "versions": {(d.uuid, d.base_uri): d.version for d in root().repo.iter_datasets()},
        "answers": answers(api, world),
    }


def admin_cli(tmp_path: Path, *args: str) -> Any:
    """``catalogue-admin`` in this process, on the installed root (the test's moto and index)."""
    return runner.invoke(
        cli.app, ["--as", "drill", *args, "--state", str(tmp_path / "absent.json")], env={"CATALOGUE_STAGE": "test"}
    )


@pytest.fixture
def cli_on_this_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "Root", lambda _settings: root())


def repoint_pumps(api: Api) -> dict[str, str]:
    """What an operator does after a restore: the consumers follow the tables' new streams (in
    AWS: a new event source mapping per stream, the old one deleted). ``create_resources`` also
    re-creates the ephemeral sign-in attempts table and the derived summary table (idempotent for
    the rest)."""
    arns = create_resources(root())
    old = {p.stream_arn for p in api.pumps}
    streams = root().aws_client("dynamodbstreams")
    api.pumps[:] = [
        StreamPump(streams, arns[env], pump.handler, region=root().settings.region)
        for env, pump in zip(STREAM_ENVS, api.pumps, strict=True)
    ]
    assert not old & {p.stream_arn for p in api.pumps}, "a restored table has a new stream"
    return arns


def test_the_restore_drill(
    settings: Settings, mint: TokenMint, tmp_path: Path, cli_on_this_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_api(settings, mint) as api:
        world = build_world(api)
        before = record(api, settings, world)
        n_entries = len(before["versions"])
        assert before["counts"][settings.datasets_table] == n_entries == 24 + 12 + 1
        assert max(before["versions"].values()) >= 3 and before["counts"][settings.audit_table] > n_entries
        blobbed = [i for i in before["items"][settings.datasets_table] if "readme_ref" in i]
        assert len(blobbed) == 6 and before["counts"][settings.facility_table] > 0  # READMEs in S3; the order
        assert before["answers"]["admin {'q': 'permafrost'}"][1]["total"] == 6  # 4 on A, 2 on B, found by blob text
        every = {u: before["answers"][f"{u} {{'tag': 'drill', 'page_size': '100'}}"][1]["total"] for u in PERSONAS}
        assert every == {"admin": 36, "reader": 23, "outsider": 0, "bravo": 13, "late": 13}  # the answers say something
        assert drift(root().repo, root().search).clean

        t0 = time.perf_counter()
        made = admin_cli(tmp_path, "backup", "--name", "drill-1")
        assert made.exit_code == 0, made.output
        backup_s = time.perf_counter() - t0
        listed = admin_cli(tmp_path, "backups")
        assert "drill-1" in listed.output and "all 5" in listed.output, listed.output
        refused = admin_cli(tmp_path, "restore", "drill-1")
        assert refused.exit_code == 1 and "--replace" in refused.output, refused.output
        assert admin_cli(tmp_path, "restore", "no-such-set").exit_code == 1

        # the disaster: every table and the whole index gone
        ddb = root().aws_client("dynamodb")
        for table in all_tables(settings):
            ddb.delete_table(TableName=table)
        api.search.drop_index()
        assert ddb.list_tables()["TableNames"] == [] and not api.search.docs

        t1 = time.perf_counter()
        restored = admin_cli(tmp_path, "restore", "drill-1")
        assert restored.exit_code == 0, restored.output
        assert "reindex" in restored.output and "stream" in restored.output
        repoint_pumps(api)
        t2 = time.perf_counter()
        report = reindex(root().repo, root().search)
        counted = rebuild_counts(root().repo.iter_datasets, root().summary_counts, takeover=True)
        assert counted.entries == n_entries
        t3 = time.perf_counter()
        assert report.failed == [] and report.written == n_entries
        checked = admin_cli(tmp_path, "drift")
        assert checked.exit_code == 0 and f"no drift ({n_entries} datasets checked)" in checked.output, checked.output

        after = record(api, settings, world)
        assert after["counts"] == before["counts"]
        assert after["versions"] == before["versions"]
        assert after["items"] == before["items"]  # every item of every table, the audit log included
        assert after["answers"] == before["answers"]
        assert api.sync() == 0  # a restore writes no stream records: nothing is audited or indexed twice

        # the consumers work again: a new registration is audited and becomes searchable
        late = register(api, "champion", BUCKET_A, 99)
        hits = api.get(f"/datasets?uuid={late['uuid']}", user="reader").json_body
        assert hits["total"] == 1
        assert [e["action"] for e in api.get(f"/datasets/{late['uuid']}/log").json_body["entries"]] == ["add"]
        assert drift(root().repo, root().search).clean

    with capsys.disabled():
        print(
            f"\nrestore drill: {n_entries} dataset entries, {sum(before['counts'].values())} items in 6 tables: "
            f"backup {backup_s:.2f} s, restore (+ streams, TTL, PITR, ephemeral table, consumers) {t2 - t1:.2f} s, "
            f"reindex {t3 - t2:.2f} s ({n_entries / (t3 - t2):.0f} entries/s), moto in process"
        )


def test_restore_replace_deletes_the_damaged_tables_first(
    settings: Settings, mint: TokenMint, tmp_path: Path, cli_on_this_root: None
) -> None:
    with running_api(settings, mint) as api:
        add_personas(api)
        kept = register(api, "champion", BUCKET_A, 1)
        assert admin_cli(tmp_path, "backup", "--name", "before-damage").exit_code == 0
        damage = register(api, "champion", BUCKET_A, 2)  # written after the backup: lost by the restore
        r = admin_cli(tmp_path, "restore", "before-damage", "--replace")
        assert r.exit_code == 0, r.output
        assert "deleting" in r.output
        repoint_pumps(api)
        assert reindex(root().repo, root().search).written == 1
        assert api.get(f"/datasets/{kept['uuid']}", user="reader").status_code == 200
        assert api.get(f"/datasets/{damage['uuid']}", user="reader").status_code == 404
        assert api.get(f"/datasets?uuid={damage['uuid']}", user="reader").json_body["total"] == 0
