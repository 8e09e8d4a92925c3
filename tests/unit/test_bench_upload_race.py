"""The upload race (bench/upload_race.py, issue 24): the second notification target, the
webhooks as dserver-notification-plugin reads them, the counts taken from both systems, the
summary and its table, and how dserver is configured for it. Nothing here starts a process:
dserver is not installed in this virtualenv, the race itself runs in ``make bench``."""

from __future__ import annotations

import json
import os
import sys
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
U1 = "0ef25aaf-8328-45ca-988f-04b65b866e36"
U2 = "dd3a01c3-cb60-4e30-ba75-99bf38b862cf"


@pytest.fixture(scope="module")
def bench() -> Iterator[types.SimpleNamespace]:
    saved = list(sys.path)  # the bench modules put bench/ and the repository first on the path
    sys.path.insert(0, str(BENCH))
    try:
        import dserver_app
        import dserver_peer
        import run
        import upload_race
        import upload_race_report

        yield types.SimpleNamespace(
            app=dserver_app, peer=dserver_peer, run=run, race=upload_race, report=upload_race_report
        )
    finally:
        sys.path[:] = saved


def s3_event(key: str, name: str = "ObjectCreated:Put", bucket: str = "bench-race") -> dict[str, Any]:
    """A record as moto's S3 sends it (key URL-encoded, no ``s3:`` in the event name)."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": name,
        "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"}, "object": {"key": quote_plus(key)}},
    }


# -- the events dserver gets ---------------------------------------------------------------------


def test_the_second_queue_joins_ours_in_the_bucket_configuration(bench: Any) -> None:
    ours = {"QueueArn": "arn:aws:sqs:eu-west-1:123456789012:ingest", "Events": ["s3:ObjectCreated:*"]}
    current = {"QueueConfigurations": [ours], "ResponseMetadata": {"HTTPStatusCode": 200}}
    config = bench.report.with_queue(current, "arn:aws:sqs:eu-west-1:123456789012:notify")
    assert config == {
        "QueueConfigurations": [
            ours,
            {
                "Id": "dserver-webhook",
                "QueueArn": "arn:aws:sqs:eu-west-1:123456789012:notify",
                "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            },
        ]
    }
    # set again (another run on the same stack): replaced, not doubled
    again = bench.report.with_queue(config, "arn:aws:sqs:eu-west-1:123456789012:other")
    assert [q.get("Id") for q in again["QueueConfigurations"]] == [None, "dserver-webhook"]
    assert again["QueueConfigurations"][1]["QueueArn"].endswith(":other")
    assert "ResponseMetadata" in current  # the answer itself is not changed


def test_each_record_is_its_own_webhook_and_test_events_none(bench: Any) -> None:
    a, b = s3_event(f"{U1}/dtool"), s3_event(f"{U1}/manifest.json")
    assert bench.report.webhook_bodies(json.dumps({"Records": [a, b]})) == [{"Records": [a]}, {"Records": [b]}]
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "bench-race"}
    assert bench.report.webhook_bodies(json.dumps(test_event)) == []


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (f"dtool-{U1}", U1),  # the registration key at the bucket's root
        (f"{U1}/data/83348d283c1ba0b3b4d55fdc04c39a165b933125", U1),
        (f"u/someone/{U1.upper()}/README.yml", U1),
        ("uploads/folder/data.csv", None),
        ("a1b2c3d4-0000-1000-8000-000000000000/dtool", None),  # not a version 4 uuid: the plugin skips it too
    ],
)
def test_the_dataset_of_an_event_is_the_first_v4_uuid_of_its_key(bench: Any, key: str, expected: str | None) -> None:
    assert bench.report.record_uuid(s3_event(key)) == expected


class _Session:
    def __init__(self, answers: list[int | Exception]) -> None:
        self.answers = answers
        self.posted: list[tuple[str, Any]] = []

    def post(self, url: str, json: Any, timeout: float) -> Any:
        self.posted.append((url, json))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return types.SimpleNamespace(status_code=answer)


def test_the_forwarder_posts_one_event_per_request_and_counts_answers_per_dataset(bench: Any) -> None:
    forwarder = bench.race.Forwarder(sqs=None, queue_url="q", webhook="http://127.0.0.1:1/webhook/notify")
    session = _Session([200, 500, requests.ConnectionError("refused")])
    two = json.dumps({"Records": [s3_event(f"{U1}/dtool"), s3_event(f"dtool-{U2}")]})
    forwarder._forward(session, two)
    forwarder._forward(session, json.dumps({"Records": [s3_event(f"{U1}/manifest.json")]}))
    forwarder._forward(session, json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"}))
    assert [body["Records"][0]["s3"]["object"]["key"] for _, body in session.posted] == [
        quote_plus(f"{U1}/dtool"),
        quote_plus(f"dtool-{U2}"),
        quote_plus(f"{U1}/manifest.json"),
    ]
    assert {url for url, _ in session.posted} == {"http://127.0.0.1:1/webhook/notify"}
    assert forwarder.calls == {U1: Counter({"200": 1, "ConnectionError": 1}), U2: Counter({"500": 1})}
    assert forwarder.test_events == 1 and len(forwarder.post_ms) == 3


# -- the counts ------------------------------------------------------------------------------------


def test_our_outcomes_are_counted_per_dataset_of_the_race_bucket_only(bench: Any) -> None:
    log = [
        "2026-12-07 13:47:25,059 INFO infra.local.runner: local runner ready: ingest-queue-0",
        f"2026-12-07 13:47:25,059 INFO chalicelib.ingest.ingestion: ingest ignored 's3://bench-race/{U1}/data/"
        "1634347d19b91a6eb32d42edb45aaf2a810f4210' 'dtool data item'",
        f"2026-12-07 13:47:25,114 INFO chalicelib.ingest.ingestion: ingest proto 's3://bench-race/{U1}' 'not frozen'",
        f"2026-12-07 13:47:25,622 INFO chalicelib.ingest.ingestion: ingest created 's3://bench-race/{U1}' ''",
        f"2026-12-07 13:47:26,000 INFO chalicelib.ingest.ingestion: ingest unchanged 's3://bench-race/{U1}' ''",
        f"2026-12-07 13:47:26,100 INFO chalicelib.ingest.ingestion: ingest created 's3://bench-uploads/{U2}' ''",
        "2026-12-07 13:47:26,200 INFO chalicelib.ingest.ingestion: ingest ignored 's3://bench-race/x.txt' ''",
    ]
    assert bench.report.ingest_outcomes(log, "bench-race") == {
        U1: Counter({"ignored": 1, "proto": 1, "created": 1, "unchanged": 1})
    }


def test_dservers_registrations_are_read_back_per_dataset(bench: Any, tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []
    log = tmp_path / "registrations.log"
    register = bench.app.appending(lambda info: calls.append(info) or "ok", str(log))
    assert register({"uuid": U1, "uri": f"s3://b/{U1}"}) == "ok"
    register({"uuid": U1.upper()})

    def failing(info: dict[str, Any]) -> None:
        raise ValueError("not a dataset")

    with pytest.raises(ValueError):
        bench.app.appending(failing, str(log))({"uuid": U2})  # a failed registration is not counted
    got = bench.report.registrations(log.read_text().splitlines())
    assert list(got) == [U1] and len(got[U1]) == 2 and got[U1][0] <= got[U1][1]
    assert len(calls) == 2


def test_the_plugins_register_dataset_is_counted_once_however_often_the_app_is_made(
    bench: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plugin = types.ModuleType("dserver_notification_plugin")
    plugin.register_dataset = lambda info: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dserver_notification_plugin", plugin)
    bench.app.count_registrations(str(tmp_path / "r.log"))
    bench.app.count_registrations(str(tmp_path / "r.log"))  # a second worker's create(): not wrapped twice
    plugin.register_dataset({"uuid": U1})  # type: ignore[attr-defined]
    assert (tmp_path / "r.log").read_text().count(U1) == 1


def test_latencies_summarise_with_timeouts_apart(bench: Any) -> None:
    got = bench.report.latency_summary([30.0, None, 10.0, 20.0, 400.0])
    assert got == {"n": 5, "found": 4, "timeouts": 1, "p50_ms": 25.0, "p95_ms": 400.0, "max_ms": 400.0}
    assert bench.report.latency_summary([None])["p50_ms"] is None


def test_shape_counts_work_per_dataset_for_both_systems(bench: Any) -> None:
    rows = [
        {"uuid": U1, "copy_s": 1.5, "wall_end_copy": 1000.0, "ours_ms": 12.0, "dserver_ms": 2500.0}
        | {"ours_busy_s": 0.02, "dserver_busy_s": 10.0},
        {"uuid": U2, "copy_s": 2.5, "wall_end_copy": 2000.0, "ours_ms": 40.0, "dserver_ms": None}
        | {"ours_busy_s": 0.5, "dserver_busy_s": None},
    ]
    outcomes = {
        U1: Counter({"ignored": 5, "proto": 6, "created": 1}),
        U2: Counter({"ignored": 5, "proto": 2, "created": 1, "unchanged": 4}),
    }
    regs = {U1: [1001.2, 1001.9] + [1003.0] * 10}
    webhooks = {U1: Counter({"200": 12}), U2: Counter({"200": 11, "500": 1})}
    shaped = bench.report.shape(rows, outcomes, regs, webhooks, [900.0, 1100.0, 3000.0])
    one, two = shaped["datasets"]
    assert (one["ours_invocations"], one["ours_reads"], one["ours_writes"]) == (12, 1, 1)
    assert (two["ours_invocations"], two["ours_reads"], two["ours_writes"]) == (12, 5, 1)
    assert (one["dserver_webhooks"], one["dserver_registrations"], one["dserver_first_registration_ms"]) == (
        12,
        12,
        1200.0,
    )
    assert (two["dserver_webhooks"], two["dserver_registrations"], two["dserver_first_registration_ms"]) == (
        12,
        0,
        None,
    )
    s = shaped["summary"]
    assert s["ours"]["searchable"]["timeouts"] == 0 and s["dserver"]["searchable"]["timeouts"] == 1
    assert s["ours"]["writes"] == {"mean": 1.0, "min": 1, "max": 1}
    assert s["ours"]["reads"] == {"mean": 3.0, "min": 1, "max": 5}
    assert s["dserver"]["registrations"] == {"mean": 6.0, "min": 0, "max": 12}
    assert s["dserver"]["answers"] == {"200": 23, "500": 1}
    assert s["ours"]["outcomes"] == {"ignored": 10, "proto": 8, "created": 2, "unchanged": 4}
    assert s["dserver"]["webhook_p50_ms"] == 1100.0
    assert (s["dserver"]["busy_p50_s"], s["dserver"]["busy_timeouts"]) == (10.0, 1)
    assert s["objects_per_dataset"] == 12.0


def test_the_report_has_one_row_per_system(bench: Any) -> None:
    rows = [
        {"uuid": U1, "copy_s": 1.5, "wall_end_copy": 1000.0, "ours_ms": 12.0, "dserver_ms": 2500.0}
        | {"ours_busy_s": 0.02, "dserver_busy_s": 10.0}
    ]
    shaped = bench.report.shape(rows, {U1: Counter({"created": 1})}, {U1: [1001.0]}, {U1: Counter({"200": 12})})
    result = {"date": "2026-12-07", "copies": 1, "how": "one copy", "notes": ["moto"], **shaped}
    md = bench.report.markdown(result)
    ours_row = next(line for line in md.splitlines() if line.startswith("| ours"))
    dserver_row = next(line for line in md.splitlines() if line.startswith("| dserver"))
    assert "| 12 / 12 / 12 | 0 | 1 (1-1) | 1 (1-1) | 1 (1-1) | 0.02 / 0.02 |" in ours_row
    assert "| 2500 / 2500 / 2500 | 0 | 12 (12-12) | 1 (1-1) | 1 (1-1) | 10.0 / 10.0 |" in dserver_row
    assert "- moto" in md


# -- dserver's configuration and the driver's options ----------------------------------------


def test_dserver_gets_the_plugins_settings_for_the_bucket(bench: Any, tmp_path: Path) -> None:
    env = bench.peer.notify_env("bench-race", "s3://bench-race", "http://127.0.0.1:5001", tmp_path / "r.log")
    assert json.loads(env["DSERVER_NOTIFY_BUCKET_TO_BASE_URI"]) == {"bench-race": "s3://bench-race"}
    assert env["DSERVER_NOTIFY_ALLOW_ACCESS_FROM"] == "127.0.0.1/32"
    assert env["DTOOL_S3_ENDPOINT_bench-race"] == "http://127.0.0.1:5001"
    assert env["BENCH_NOTIFY_REGISTRATIONS_LOG"] == str(tmp_path / "r.log")
    server = bench.peer.DserverServer(tmp_path, extra_env=env)
    merged = server._env()
    assert merged["DTOOL_S3_ENDPOINT_bench-race"] == "http://127.0.0.1:5001"
    assert merged["SEARCH_MONGO_DB"] == "dtool_info"  # dserver's own settings stay
    assert "BENCH_NOTIFY_REGISTRATIONS_LOG" not in bench.peer.DserverServer(tmp_path)._env()
    # the race's dserver keeps its data apart from make bench's own dserver peer (same virtualenv)
    apart = bench.peer.DserverServer(tmp_path, run_dir=tmp_path / "race")
    assert apart._env()["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'race' / 'dls.db'}"
    assert bench.peer.DserverServer(tmp_path)._env()["SQLALCHEMY_DATABASE_URI"].endswith("/run/dls.db")


def test_make_bench_runs_the_race_unless_told_not_to(bench: Any) -> None:
    assert bench.run.parse_args([]).copies == 200
    assert bench.run.parse_args(["--quick"]).copies == 30
    assert bench.run.parse_args(["--copies", "0"]).copies == 0


def test_the_dtool_cli_sees_only_the_moto_settings_of_its_bucket(bench: Any, tmp_path: Path) -> None:
    env = bench.race.dtool_env("bench-race", "http://127.0.0.1:5001", tmp_path)
    assert env["DTOOL_S3_ENDPOINT_bench-race"] == "http://127.0.0.1:5001"
    assert env["HOME"] == str(tmp_path)
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"} & set(env)
