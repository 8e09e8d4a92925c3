"""Cost model of the CDK stack: idle $/month by resource, $ per million operations, $ per archived
TB-month, the limits met at 10M datasets and 1k uploads/s, and dserver + MongoDB on one VM.

Usage::

    .venv/bin/python bench/cost_model.py                      # synthesize dev and prod offline, measure, write
    .venv/bin/python bench/cost_model.py --template infra/cdk.out/prod.template.json
    .venv/bin/python bench/cost_model.py --no-measure         # the idle table only

The template is synthesized as ``tests/infra`` does (offline, ``tests/infra/conftest.py``'s
``synthesize``) or read from ``--template``; every resource is sized from it (OpenSearch instance
type, count and EBS; Lambda memory and architecture; DynamoDB billing mode; S3 lifecycle to
DEEP_ARCHIVE; the state machine's states; queues; schedules; alarms; throttles). Prices come from
``bench/prices.py`` (each with source, region and date). Per-operation counts come from
``bench/cost_counts.py`` (the operations run against moto and the in-memory index, every call
counted). Writes ``bench/results/<date>-cost.{md,json}``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.cost_limits import dserver_limits, dserver_vm, lambda_functions, limits, resources  # noqa: E402
from bench.prices import FREE_TYPES, HOURS_PER_MONTH, PRICED_TYPES, PRICES, READ_ON, REGION, price  # noqa: E402

ASL = REPO / "infra" / "statemachine" / "archive.asl.json"
# Assumptions of the model (printed with the tables)
SCHEDULED_RUN_SECONDS = 2.0  # one idle run of a scheduled function (empty catalogue)
SQS_POLL_REQUESTS_PER_QUEUE_MONTH = 2 * 3 * 60 * 24 * 30  # idle: 2 pollers (docs: "as few as 2"), 20 s polls
ARCHIVE_OBJECT_MB = 256.0  # mean object size in an AIP (payload files dominate)
IDLE_LOG_GB_MONTH = 0.05  # scheduled functions' log lines


@dataclass(frozen=True)
class Line:
    resource: str
    kind: str
    sizing: str
    usd_month: float
    note: str = ""


def unpriced_types(template: dict[str, Any]) -> set[str]:
    """Resource types in the template that the model neither prices nor lists as free."""
    return {v["Type"] for v in template["Resources"].values()} - set(PRICED_TYPES) - set(FREE_TYPES)


def runs_per_month(schedule: str | None) -> float:
    """``rate(1 day)`` -> 30, ``rate(1 hour)`` -> 720, ``rate(5 minutes)`` -> 8640."""
    if not schedule:
        return 0.0
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", schedule.strip())
    if not m:
        return 30.0  # cron(...): assume daily
    n, unit = int(m.group(1)), m.group(2).rstrip("s")
    per_month = {"minute": 30 * 24 * 60, "hour": 30 * 24, "day": 30}[unit]
    return per_month / n


def gb_second_price(arch: str) -> float:
    return price("lambda_gb_second_arm" if arch == "arm64" else "lambda_gb_second_x86")


def idle_lines(template: dict[str, Any]) -> list[Line]:
    """What the stack costs per month with no traffic and no data, resource by resource."""
    lines: list[Line] = []
    for name, props in resources(template, "AWS::OpenSearchService::Domain").items():
        cluster, ebs = props.get("ClusterConfig", {}), props.get("EBSOptions", {})
        itype, count = cluster.get("InstanceType", "?"), int(cluster.get("InstanceCount", 1))
        gb = int(ebs.get("VolumeSize", 0)) if ebs.get("EBSEnabled") else 0
        key = f"opensearch_{itype}_hour"
        if key not in PRICES:
            raise KeyError(f"no price for OpenSearch instance type {itype}: add {key} to bench/prices.py")
        usd = count * price(key) * HOURS_PER_MONTH + count * gb * price("opensearch_gp3_gb_month")
        masters = " + dedicated masters" if cluster.get("DedicatedMasterEnabled") else ""
        lines.append(
            Line(
                name,
                "OpenSearch domain (provisioned, not serverless)",
                f"{count} x {itype}{masters}, {gb} GB {ebs.get('VolumeType', '')} each",
                usd,
            )
        )
    tables = resources(template, "AWS::DynamoDB::Table")
    modes = {p.get("BillingMode", "PROVISIONED") for p in tables.values()}
    lines.append(
        Line(
            "DynamoDB",
            "tables",
            f"{len(tables)} tables, {'/'.join(sorted(modes))}; "
            f"{sum(1 for p in tables.values() if p.get('StreamSpecification'))} with streams",
            0.0,
            "on-demand: no charge without requests or data; storage and PITR per GB (below)",
        )
    )
    fns = lambda_functions(template)
    sched_usd, sched_desc = 0.0, []
    for name, fn in fns.items():
        runs = runs_per_month(fn["schedule"])
        if runs:
            gb_s = runs * SCHEDULED_RUN_SECONDS * fn["memory_mb"] / 1024
            sched_usd += runs * price("lambda_request") / 1e6 + gb_s * gb_second_price(fn["arch"])
            sched_desc.append(f"{name} {fn['schedule']} @ {fn['memory_mb']} MB")
    mem = ", ".join(f"{n} {f['memory_mb']} MB" for n, f in fns.items() if not f["schedule"])
    lines.append(
        Line(
            "Lambda",
            f"{len(fns)} functions",
            f"{mem}; scheduled: {'; '.join(sched_desc)}",
            sched_usd,
            f"scheduled runs only, {SCHEDULED_RUN_SECONDS:g} s each (assumed)",
        )
    )
    for name, props in resources(template, "AWS::Serverless::Api").items():
        throttles = ", ".join(
            f"{m['ResourcePath']} {m['ThrottlingRateLimit']}/s burst {m['ThrottlingBurstLimit']}"
            for m in props.get("MethodSettings", [])
        )
        lines.append(Line(name, "API Gateway REST API", f"{props.get('EndpointConfiguration')}; {throttles}", 0.0))
    buckets = resources(template, "AWS::S3::Bucket")
    deep = [n for n, p in buckets.items() if "DEEP_ARCHIVE" in json.dumps(p.get("LifecycleConfiguration", {}))]
    locked = [n for n, p in buckets.items() if p.get("ObjectLockEnabled")]
    lines.append(
        Line(
            "S3",
            f"{len(buckets)} buckets",
            f"lifecycle to DEEP_ARCHIVE: {', '.join(deep) or 'none'}; Object Lock: {', '.join(locked) or 'none'}",
            0.0,
            "storage per GB and class (below)",
        )
    )
    machines = resources(template, "AWS::StepFunctions::StateMachine")
    for name, props in machines.items():
        kind = props.get("StateMachineType", "STANDARD")
        lines.append(Line(name, f"Step Functions ({kind})", f"{len(_asl_states())} states", 0.0))
    queues = resources(template, "AWS::SQS::Queue")
    polled = sum(1 for f in fns.values() if "SQS" in f["triggers"])
    poll_usd = polled * SQS_POLL_REQUESTS_PER_QUEUE_MONTH * price("sqs_request") / 1e6
    lines.append(
        Line(
            "SQS",
            f"{len(queues)} queues",
            f"{polled} consumed by Lambda (pollers)",
            poll_usd,
            "Lambda's empty long polls (2 pollers x 3/min, assumed); first 1M requests/month free",
        )
    )
    buses, archives = resources(template, "AWS::Events::EventBus"), resources(template, "AWS::Events::Archive")
    rules = resources(template, "AWS::Events::Rule")
    lines.append(
        Line(
            "EventBridge",
            "bus, archive, rules",
            f"{len(buses)} bus, {len(archives)} archive "
            f"({', '.join(str(a.get('RetentionDays')) + ' d' for a in archives.values())}), "
            f"{len(rules)} rules",
            0.0,
            "per event published and GB archived",
        )
    )
    secrets = resources(template, "AWS::SecretsManager::Secret")
    lines.append(
        Line(
            "Secrets Manager",
            "secrets",
            f"{len(secrets)} secret(s)",
            len(secrets) * price("secretsmanager_secret_month"),
        )
    )
    pools = resources(template, "AWS::Cognito::UserPool")
    lines.append(Line("Cognito", "user pools", f"{len(pools)} pool", 0.0, "first 10,000 MAU free (assumed)"))
    keys = resources(template, "AWS::KMS::Key")
    lines.append(Line("KMS", "customer-managed keys", f"{len(keys)} key(s)", len(keys) * price("kms_key_month")))
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    groups = resources(template, "AWS::Logs::LogGroup")
    lines.append(
        Line(
            "CloudWatch",
            "alarms, logs",
            f"{len(alarms)} standard alarms; {len(groups)} log groups",
            len(alarms) * price("cloudwatch_alarm_month") + IDLE_LOG_GB_MONTH * price("cloudwatch_logs_ingest_gb"),
            "before the 10 free alarms per account",
        )
    )
    dists = resources(template, "AWS::CloudFront::Distribution")
    lines.append(Line("CloudFront", "web page", f"{len(dists)} distribution", 0.0, "per request and GB"))
    return lines


def _asl_states() -> list[str]:
    return list(json.loads(ASL.read_text())["States"])


def per_million(counts: dict[str, Any], template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """$ per million operations from the counted calls, by service."""
    fns = lambda_functions(template)
    out: dict[str, dict[str, Any]] = {}
    for op, c in counts.items():
        parts: dict[str, float] = {}
        calls: dict[str, float] = c["aws_calls"]
        if op != "upload_registration":
            parts["API Gateway"] = price("apigw_rest_request")
        lam = 0.0
        for fn, ms in c["lambda_ms"].items():
            memory = fns.get(fn, {"memory_mb": 1024, "arch": "x86_64"})
            invocations = c["lambda_invocations"][fn]
            lam += (
                invocations * price("lambda_request")
                + ms / 1000 * memory["memory_mb"] / 1024 * gb_second_price(memory["arch"]) * 1e6
            )
        parts["Lambda"] = lam
        parts["DynamoDB"] = c["dynamodb_wru"] * price("dynamodb_wru") + c["dynamodb_rru"] * price("dynamodb_rru")
        s3_get = sum(v for k, v in calls.items() if k in ("s3.GetObject", "s3.HeadObject"))
        s3_put = sum(v for k, v in calls.items() if k in ("s3.PutObject", "s3.ListObjectsV2", "s3.CopyObject"))
        parts["S3"] = (s3_get * price("s3_get_1k") + s3_put * price("s3_put_1k")) * 1000
        if c.get("uploader_s3_puts"):  # the uploader's own PUTs (files + sidecar): paid by the same account
            parts["S3 (uploader's PUTs)"] = c["uploader_s3_puts"] * price("s3_put_1k") * 1000
        sqs = sum(v for k, v in calls.items() if k.startswith("sqs.") and k != "sqs.GetQueueUrl")
        sqs += c.get("s3_notifications", 0)  # S3's SendMessage to the ingest queue
        parts["SQS"] = sqs * price("sqs_request")
        parts["EventBridge"] = calls.get("events.PutEvents", 0) * price("eventbridge_custom_event")
        parts["OpenSearch"] = 0.0  # instance-hours: in the idle line; capacity, not per request
        total = sum(parts.values())
        out[op] = {"usd_per_million": round(total, 2), "by_service": {k: round(v, 3) for k, v in parts.items()}}
    return out


def archive_tb_month(template: dict[str, Any]) -> dict[str, Any]:
    """$ per TB-month archived in DEEP_ARCHIVE, with the per-object overhead and one-off costs."""
    gb = 1024.0
    objects = gb * 1024 / ARCHIVE_OBJECT_MB
    overhead_std_gb, overhead_da_gb = objects * 8 / 1024**2, objects * 32 / 1024**2
    storage = gb * price("s3_deep_archive_gb_month")
    overhead = overhead_std_gb * price("s3_standard_gb_month") + overhead_da_gb * price("s3_deep_archive_gb_month")
    transitions = objects / 1000 * price("s3_transition_deep_archive_1k")
    machines = resources(template, "AWS::StepFunctions::StateMachine")
    transitions_per_archive = 7  # ValidateSip, BuildAip, Store, VerifyFixity, Register, Done + start
    return {
        "usd_per_tb_month": round(storage + overhead, 3),
        "storage": round(storage, 3),
        "per_object_overhead": round(overhead, 4),
        "objects_per_tb": round(objects),
        "one_off_transition_usd_per_tb": round(transitions, 3),
        "one_off_restore_usd_per_tb": {
            "bulk": round(gb * price("s3_deep_archive_restore_bulk_gb"), 2),
            "standard": round(gb * price("s3_deep_archive_restore_standard_gb"), 2),
        },
        "state_machines": len(machines),
        "workflow_usd_per_archive": round(transitions_per_archive * price("stepfunctions_transition") / 1000, 6),
        "minimum_days": 180,
    }


def synthesize(stage: str, workdir: Path) -> dict[str, Any]:
    from tests.infra.conftest import synthesize as synth

    outdir = synth(stage, workdir)
    return dict(json.loads((outdir / f"{stage}.template.json").read_text()))


def compute(templates: dict[str, dict[str, Any]], counts: dict[str, Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "date": READ_ON,
        "region": REGION,
        "currency": "USD",
        "stages": {},
        "assumptions": {
            "scheduled_run_seconds": SCHEDULED_RUN_SECONDS,
            "sqs_poll_requests_per_queue_month": SQS_POLL_REQUESTS_PER_QUEUE_MONTH,
            "archive_object_mb": ARCHIVE_OBJECT_MB,
            "idle_log_gb_month": IDLE_LOG_GB_MONTH,
            "free_tiers": "ignored (a new account's would cover most of the dev stage's idle cost)",
        },
        "prices": {k: p.as_dict() for k, p in PRICES.items()},
        "dserver": {**dserver_vm(), "limits": dserver_limits()},
    }
    for stage, template in templates.items():
        missing = unpriced_types(template)
        if missing:
            raise SystemExit(f"unpriced resource types in {stage}: {sorted(missing)} (bench/prices.py)")
        lines = idle_lines(template)
        entry: dict[str, Any] = {
            "idle": [line.__dict__ for line in lines],
            "idle_total_usd_month": round(sum(line.usd_month for line in lines), 2),
            "archive": archive_tb_month(template),
            "limits": limits(template, counts),
        }
        if counts:
            entry["per_million"] = per_million(counts, template)
        result["stages"][stage] = entry
    if counts:
        result["counts"] = counts
        result["at_10m_datasets"] = storage_at(10_000_000, counts)
    return result


def storage_at(n: int, counts: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB storage and PITR per month for ``n`` datasets, from the written units of one
    registration (an upper bound of the bytes written: units are rounded up to 1 KB each)."""
    gb = n * counts["registration"]["dynamodb_wru"] * 1024 / 1024**3
    return {
        "datasets": n,
        "dynamodb_gb_upper_bound": round(gb, 1),
        "storage_usd_month": round(gb * price("dynamodb_storage_gb_month"), 2),
        "pitr_usd_month": round(gb * price("dynamodb_pitr_gb_month"), 2),
        "registering_them_once_usd": round(n / 1e6 * counts["registration"]["dynamodb_wru"] * price("dynamodb_wru"), 2),
    }


def markdown(result: dict[str, Any]) -> str:
    out = [f"# Cost model, {result['date']}, {result['region']}, {result['currency']} (bench/cost_model.py)", ""]
    stages = list(result["stages"])
    out += [
        "## Idle $/month by resource",
        "",
        "| resource | " + " | ".join(stages) + " | note |",
        "|---|" + "---|" * len(stages) + "---|",
    ]
    first = result["stages"][stages[0]]["idle"]
    for i, line in enumerate(first):
        cells = []
        for s in stages:
            other = result["stages"][s]["idle"][i]
            cells.append(f"{other['usd_month']:.2f} ({other['sizing']})")
        out.append(f"| {line['resource']}: {line['kind']} | " + " | ".join(cells) + f" | {line['note']} |")
    out.append(
        "| **total** | " + " | ".join(f"**{result['stages'][s]['idle_total_usd_month']:.2f}**" for s in stages) + " | |"
    )
    if "counts" in result:
        out += [
            "",
            "## $ per million operations (counted against moto; prod sizing)",
            "",
            "| operation | $/1M | by service | AWS calls per operation (measured) | DynamoDB WRU / RRU | "
            "Lambda ms (in-process) |",
            "|---|---|---|---|---|---|",
        ]
        pm = result["stages"][stages[-1]]["per_million"]
        for op, c in result["counts"].items():
            calls = "; ".join(
                [
                    ", ".join(f"{k} {v:g}" for k, v in c["aws_calls"].items() if not k.startswith("dynamodbstreams")),
                    ", ".join(f"index.{k} {v:g}" for k, v in c["search_index_calls"].items()),
                ]
            ).strip("; ")
            by = ", ".join(f"{k} {v:.2f}" for k, v in pm[op]["by_service"].items() if v)
            ms = ", ".join(f"{k} {v:g}" for k, v in c["lambda_ms"].items())
            out.append(
                f"| {op} | **{pm[op]['usd_per_million']:.2f}** | {by} | {calls} | "
                f"{c['dynamodb_wru']:g} / {c['dynamodb_rru']:g} | {ms} |"
            )
    if "at_10m_datasets" in result:
        t = result["at_10m_datasets"]
        out += [
            "",
            f"At {t['datasets']:,} datasets: DynamoDB <= {t['dynamodb_gb_upper_bound']:g} GB (from the units "
            f"written per registration): storage ${t['storage_usd_month']:.2f} + PITR ${t['pitr_usd_month']:.2f} "
            f"per month; their write units ${t['registering_them_once_usd']:.2f} once.",
        ]
    a = result["stages"][stages[-1]]["archive"]
    out += [
        "",
        "## Archive",
        "",
        f"Deep Archive: **${a['usd_per_tb_month']:.3f} per TB-month** "
        f"(storage {a['storage']:.3f} + per-object overhead {a['per_object_overhead']:.4f} for "
        f"{a['objects_per_tb']} objects of {result['assumptions']['archive_object_mb']:g} MB); one-off "
        f"transition ${a['one_off_transition_usd_per_tb']:.2f}/TB; restore ${a['one_off_restore_usd_per_tb']['bulk']}"
        f" (bulk) or ${a['one_off_restore_usd_per_tb']['standard']} (standard) per TB; workflow "
        f"${a['workflow_usd_per_archive']:.6f} per archive; minimum {a['minimum_days']} days.",
    ]
    d = result["dserver"]
    out += [
        "",
        "## dserver + MongoDB on one VM",
        "",
        f"{d['vm']}: **${d['usd_month']:.2f}/month** "
        f"({', '.join(f'{k} {v}' for k, v in d['lines'].items())}); per request: {d['per_million_requests']}.",
        "",
    ] + [f"- {x['limit']} → {x['change']}" for x in d["limits"]]
    out += [
        "",
        "## Limits (prod sizing), in the order they are hit",
        "",
        "| at | limit | our figure | design change | quota documented at |",
        "|---|---|---|---|---|",
    ]
    for x in result["stages"][stages[-1]]["limits"]:
        out.append(f"| {x['at']} | {x['limit']} | {x['figure']} | {x['change']} | {x['source']} |")
    out += ["", "## Prices", "", "| key | value | unit | region | status | source |", "|---|---|---|---|---|---|"]
    for k, p in result["prices"].items():
        out.append(f"| {k} | {p['value']:g} | {p['unit']} | {p['region']} | {p['status']} | {p['source']} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--template", type=Path, action="append", help="a synthesized template (repeatable)")
    parser.add_argument("--stage", action="append", choices=["dev", "prod"], help="stages to synthesize")
    parser.add_argument("--no-measure", action="store_true", help="skip the per-operation counts")
    parser.add_argument("-n", type=int, default=20, help="runs of each operation to average")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args(argv)
    templates: dict[str, dict[str, Any]] = {}
    for path in args.template or []:
        templates[path.name.split(".")[0]] = json.loads(path.read_text())
    if not templates:
        with tempfile.TemporaryDirectory(prefix="cost-synth-") as tmp:
            for stage in args.stage or ["dev", "prod"]:
                (Path(tmp) / stage).mkdir()
                templates[stage] = synthesize(stage, Path(tmp) / stage)
    counts = None
    if not args.no_measure:
        from bench.cost_counts import measure

        with contextlib.redirect_stdout(io.StringIO()):  # the handlers' metric lines (EMF) go to stdout
            counts = measure(args.n)
    result = compute(templates, counts)
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.out / f"{dt.date.today().isoformat()}-cost"
    base.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    base.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))
    print(f"wrote {base}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
