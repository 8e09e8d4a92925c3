"""The pure parts of the upload race (``bench/upload_race.py``): the bucket's second
notification target, the webhook bodies, the counts read from both systems' logs, the summary
and its Markdown. Unit-tested in ``tests/unit/test_bench_upload_race.py`` (no process started)."""

from __future__ import annotations

import json
import re
import statistics
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from workload import percentile

NOTIFY_ID = "dserver-webhook"
EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
# the plugin's own pattern (a v4 UUID anywhere in the key)
UUID_V4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.IGNORECASE)
# chalicelib.ingest.ingestion logs one line per event handled: ingest <status> '<uri>' '<reason>'
INGEST_LINE = re.compile(r" ingest (\S+) '(s3://[^']*)'")
WRITES = ("created", "updated", "replica-added")
FULL_READS = (*WRITES, "unchanged")  # our outcomes after reading a frozen dataset whole (a proto: one GET)


def with_queue(config: dict[str, Any], queue_arn: str, config_id: str = NOTIFY_ID) -> dict[str, Any]:
    """``config`` (a ``get_bucket_notification_configuration`` answer) plus one queue configuration
    sending the same events to ``queue_arn``; the others are kept, the one named ``config_id`` replaced."""
    out = {k: v for k, v in config.items() if k != "ResponseMetadata"}
    queues = [q for q in out.get("QueueConfigurations", []) if q.get("Id") != config_id]
    out["QueueConfigurations"] = [*queues, {"Id": config_id, "QueueArn": queue_arn, "Events": list(EVENTS)}]
    return out


def webhook_bodies(message_body: str) -> list[dict[str, Any]]:
    """The POST bodies for one SQS message of S3 notifications: one ``{"Records": [record]}`` per
    record (the plugin reads ``Records[0]`` only); none for a test event."""
    body = json.loads(message_body)
    return [{"Records": [record]} for record in body.get("Records", [])]


def record_uuid(record: dict[str, Any]) -> str | None:
    """The dataset uuid of an S3 event record: the first v4 UUID of its (URL-encoded) key."""
    key = urllib.parse.unquote_plus(record.get("s3", {}).get("object", {}).get("key", ""))
    found = UUID_V4.search(key)
    return found.group(0).lower() if found else None


def ingest_outcomes(lines: Iterable[str], bucket: str) -> dict[str, Counter[str]]:
    """Our ingest's outcomes per dataset uuid, from its log lines (one per event handled)."""
    out: dict[str, Counter[str]] = {}
    prefix = f"s3://{bucket}/"
    for line in lines:
        match = INGEST_LINE.search(line)
        if not match or not match.group(2).startswith(prefix):
            continue
        found = UUID_V4.search(match.group(2))
        if found:
            out.setdefault(found.group(0).lower(), Counter())[match.group(1)] += 1
    return out


def registrations(lines: Iterable[str]) -> dict[str, list[float]]:
    """dserver's registrations per uuid (``dserver_app.appending``'s ``<uuid>\\t<epoch s>`` lines)."""
    out: dict[str, list[float]] = {}
    for line in lines:
        uuid, _, when = line.strip().partition("\t")
        if uuid and when:
            out.setdefault(uuid.lower(), []).append(float(when))
    return out


def latency_summary(values_ms: Sequence[float | None]) -> dict[str, Any]:
    """p50 / p95 / max of the measured values; ``None`` entries are timeouts."""
    got = sorted(v for v in values_ms if v is not None)
    return {
        "n": len(values_ms),
        "found": len(got),
        "timeouts": len(values_ms) - len(got),
        "p50_ms": round(statistics.median(got), 1) if got else None,
        "p95_ms": round(percentile(got, 0.95), 1) if got else None,
        "max_ms": round(got[-1], 1) if got else None,
    }


def per_dataset(values: Sequence[float]) -> dict[str, float]:
    """Mean, min and max of a count per dataset."""
    if not values:
        return {"mean": 0.0, "min": 0.0, "max": 0.0}
    return {"mean": round(statistics.fmean(values), 2), "min": min(values), "max": max(values)}


def _cell(s: dict[str, Any]) -> str:
    if not s.get("found"):
        return "-"
    return f"{s['p50_ms']:.0f} / {s['p95_ms']:.0f} / {s['max_ms']:.0f}"


def _mean(entry: dict[str, float]) -> str:
    return f"{entry['mean']:g} ({entry['min']:g}-{entry['max']:g})"


def markdown(result: dict[str, Any]) -> str:
    """The race as a short Markdown report."""
    s = result["summary"]
    ours, dserver = s["ours"], s["dserver"]
    lines = [
        f"# Upload race, {result['date']}: {result['copies']} `dtool copy` -> searchable",
        "",
        f"{result['how']}",
        "",
        "| system | searchable p50 / p95 / max ms | timeouts | events handled | whole readings of the dataset "
        "| registrations written | busy p50 / max s |",
        "|---|---|---|---|---|---|---|",
        f"| ours: S3 -> SQS -> ingest handler; `GET /datasets?uuid=` | {_cell(ours['searchable'])} "
        f"| {ours['searchable']['timeouts']} | {_mean(ours['invocations'])} | {_mean(ours['reads'])} "
        f"| {_mean(ours['writes'])} | {ours['busy_p50_s']} / {ours['busy_max_s']} |",
        f"| dserver 0.22 + notification plugin 0.4.3; `GET /uuids/<uuid>` | {_cell(dserver['searchable'])} "
        f"| {dserver['searchable']['timeouts']} | {_mean(dserver['webhooks'])} | {_mean(dserver['reads'])} "
        f"| {_mean(dserver['registrations'])} | {dserver['busy_p50_s']} / {dserver['busy_max_s']} |",
        "",
        "Per dataset: mean (min-max). Busy: from the copy's exit until the system's queue is empty "
        "(every event of the dataset handled).",
        "",
        f"dserver's first registration (its own clock, apart from polling): {_cell(dserver['first_registration'])} "
        f"ms p50 / p95 / max. `dtool copy` itself: p50 {s['copy_p50_s']} s, max {s['copy_max_s']} s; "
        f"{s['objects_per_dataset']} objects (S3 events) per dataset. dserver's webhook answers: "
        f"{dserver['answers']}, round trip p50 {dserver['webhook_p50_ms']} ms (queueing for a gunicorn worker "
        f"included). Our ingest outcomes: {ours['outcomes']}.",
        "",
        "Notes:",
        "",
        *[f"- {n}" for n in result["notes"]],
        "",
    ]
    return "\n".join(lines)


NOTES = [
    "one machine (2 vCPUs), everything on it: moto server (S3, SQS, DynamoDB) shared by both systems, "
    "osmem-server for OpenSearch, nx-27017 (MongoDB wire protocol on SQLite) for dserver's Mongo plugins",
    "ours: the event runner's 4 ingest pollers call the handler as Lambda would (batch size 1); searchable = "
    "the search index answers (DynamoDB stream -> index consumer included)",
    "dserver: gunicorn with 2 sync workers; its GET /uuids polls queue behind webhooks in the same workers, so "
    "'first registration' (the plugin's own clock) is given apart",
    "events reach dserver through a second queue configuration on the bucket (moto sends every event to both "
    "queues) and a forwarder POSTing each, one per object event; failed POSTs are counted, not retried",
    "each copy starts when both systems have handled every event of the previous one (busy = copy end -> queue empty)",
]


def shape(
    rows: list[dict[str, Any]],
    outcomes: dict[str, Counter[str]],
    regs: dict[str, list[float]],
    webhooks: dict[str, Counter[str]],
    post_ms: Sequence[float] = (),
) -> dict[str, Any]:
    """The per-dataset rows completed with both systems' counts, and the summary per system."""
    for row in rows:
        o = outcomes.get(row["uuid"], Counter())
        row["ours_outcomes"] = dict(o)
        row["ours_invocations"] = sum(o.values())
        row["ours_reads"] = sum(o[s] for s in FULL_READS)
        row["ours_writes"] = sum(o[s] for s in WRITES)
        times = sorted(regs.get(row["uuid"], []))
        answers = webhooks.get(row["uuid"], Counter())
        row["dserver_webhooks"] = sum(answers.values())
        row["dserver_answers"] = dict(answers)
        row["dserver_registrations"] = len(times)
        row["dserver_first_registration_ms"] = round((times[0] - row["wall_end_copy"]) * 1000, 1) if times else None
    posts = sorted(post_ms)
    summary: dict[str, Any] = {
        "ours": {
            "searchable": latency_summary([r["ours_ms"] for r in rows]),
            "invocations": per_dataset([r["ours_invocations"] for r in rows]),
            "reads": per_dataset([r["ours_reads"] for r in rows]),
            "writes": per_dataset([r["ours_writes"] for r in rows]),
            "outcomes": dict(sum((Counter(r["ours_outcomes"]) for r in rows), Counter())),
        },
        "dserver": {
            "searchable": latency_summary([r["dserver_ms"] for r in rows]),
            "first_registration": latency_summary([r["dserver_first_registration_ms"] for r in rows]),
            "webhooks": per_dataset([r["dserver_webhooks"] for r in rows]),
            # each registration follows a whole reading of the frozen dataset (DataSet.from_uri + its
            # readme, manifest, tags, annotations); a webhook on a proto dataset stops at its admin metadata
            "reads": per_dataset([r["dserver_registrations"] for r in rows]),
            "registrations": per_dataset([r["dserver_registrations"] for r in rows]),
            "answers": dict(sum((Counter(r["dserver_answers"]) for r in rows), Counter())),
            "webhook_p50_ms": round(statistics.median(posts), 1) if posts else None,
        },
        "copy_p50_s": round(statistics.median(r["copy_s"] for r in rows), 2) if rows else None,
        "copy_max_s": max((r["copy_s"] for r in rows), default=None),
        "objects_per_dataset": per_dataset([r["dserver_webhooks"] for r in rows])["mean"],
    }
    for name in ("ours", "dserver"):
        busy = sorted(r[f"{name}_busy_s"] for r in rows if r.get(f"{name}_busy_s") is not None)
        summary[name]["busy_p50_s"] = round(statistics.median(busy), 2) if busy else None
        summary[name]["busy_max_s"] = busy[-1] if busy else None
        summary[name]["busy_timeouts"] = len(rows) - len(busy)
    return {"summary": summary, "datasets": rows}
