"""The limits of the stack at 10M datasets and 1k uploads/s, and dserver + MongoDB on one VM:
the second half of ``bench/cost_model.py`` (which see), with the template readers both use."""

from __future__ import annotations

from typing import Any

from bench.prices import HOURS_PER_MONTH, price


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v.get("Properties", {}) for k, v in template["Resources"].items() if v["Type"] == type_}


def lambda_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Our functions (SAM functions from chalice.cdk): memory, architecture, triggers, schedule."""
    out: dict[str, dict[str, Any]] = {}
    for name, props in resources(template, "AWS::Serverless::Function").items():
        events = props.get("Events", {})
        triggers = sorted({e["Type"] for e in events.values()})
        schedules = [e["Properties"].get("Schedule") for e in events.values() if e["Type"] == "Schedule"]
        out[name] = {
            "memory_mb": int(props.get("MemorySize", 128)),
            "arch": (props.get("Architectures") or ["x86_64"])[0],
            "reserved_concurrency": props.get("ReservedConcurrentExecutions"),
            "timeout_s": props.get("Timeout"),
            "triggers": triggers,
            "schedule": schedules[0] if schedules else None,
        }
    return out


def dserver_vm() -> dict[str, Any]:
    """dserver + MongoDB on one VM (m7g.large: 2 vCPU, 8 GiB) with 100 GB gp3 and snapshots."""
    vm = price("ec2_m7g.large_hour") * HOURS_PER_MONTH
    disk = 100 * price("ebs_gp3_gb_month")
    snaps = 100 * price("ebs_snapshot_gb_month")
    return {
        "vm": "m7g.large (2 vCPU, 8 GiB), dserver (gunicorn) + MongoDB 7 + the S3 notification plugin",
        "usd_month": round(vm + disk + snaps, 2),
        "lines": {"instance": round(vm, 2), "100 GB gp3": round(disk, 2), "100 GB snapshots": round(snaps, 2)},
        "per_million_requests": "0: capacity-priced, until the VM is full (then a bigger VM or a replica set)",
    }


_SRC = {
    "partition": "https://www.repost.aws/knowledge-center/on-demand-table-throttling-dynamodb",
    "prewarm": "https://docs.amazonaws.cn/en_us/amazondynamodb/latest/developerguide/pre-warming-on-demand-capacity-mode.html",
    "sqs_scaling": "https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html",
    "sfn_quotas": "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html",
    "lambda_quotas": "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "os_shards": "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/bp.html",
}
# per upload (ingest path), when no counts were measured: 3 S3 events, 3 base-URI reads
_DEFAULT_UPLOAD = {"events": 3.0, "baseuri_reads": 3.0, "wru": 3.0, "ingest_ms": 100.0}


def _upload_figures(counts: dict[str, Any] | None) -> dict[str, float]:
    if not counts or "upload_registration" not in counts:
        return dict(_DEFAULT_UPLOAD)
    c = counts["upload_registration"]
    return {
        "events": float(c["s3_notifications"]),
        "baseuri_reads": float(c["dynamodb_by_table"].get("GetItem catalogue-access/BASEURI", 0)),
        "wru": float(c["dynamodb_wru"]),
        "ingest_ms": float(c["lambda_ms"].get("OnIngestMessage", 0)),  # all its invocations for one upload
    }


def limits(template: dict[str, Any], counts: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """The limits met at 10M datasets and at 1,000 uploads/s, in the order they are hit, each
    with the figure from the template or the counts, the design change, and where the quota is
    documented (``unverified``: a quota as remembered, not found in the corpus)."""
    rate = burst = "?"
    for props in resources(template, "AWS::Serverless::Api").values():
        for m in props.get("MethodSettings", []):
            if m["ResourcePath"] == "/*":
                rate, burst = str(m["ThrottlingRateLimit"]), str(m["ThrottlingBurstLimit"])
    domain = next(iter(resources(template, "AWS::OpenSearchService::Domain").values()), {})
    itype = domain.get("ClusterConfig", {}).get("InstanceType", "?")
    count = domain.get("ClusterConfig", {}).get("InstanceCount", "?")
    gb = domain.get("EBSOptions", {}).get("VolumeSize", "?")
    fns = lambda_functions(template)
    reserved = {n: f["reserved_concurrency"] for n, f in fns.items() if f["reserved_concurrency"]}
    up = _upload_figures(counts)
    archives_gsi = [
        g["IndexName"]
        for p in resources(template, "AWS::DynamoDB::Table").values()
        for g in p.get("GlobalSecondaryIndexes", [])
        if g["KeySchema"][0]["AttributeName"] == "status"
    ]
    u = 1000
    return [
        {
            "at": "1k uploads/s",
            "limit": f"API Gateway stage throttle {rate}/s, burst {burst} (set by this stack)",
            "figure": "every API registration or POST /uploads counts; the S3 ingest path does not cross it",
            "change": "raise context throttle.rate (the account's own API Gateway quota is above it) or register "
            "by S3 events only",
            "source": "infra/cdk.json",
        },
        {
            "at": "1k uploads/s",
            "limit": "one DynamoDB item: 3,000 read units/s per partition",
            "figure": f"each S3 event reads the base URI's record (catalogue-access BASEURI, strongly consistent): "
            f"{up['baseuri_reads']:g} reads per upload = {u * up['baseuri_reads']:,.0f} RRU/s on ONE item "
            "for uploads into one bucket: at the limit",
            "change": "cache the base URI record per container (as the caller's record is, 5 s) or read it "
            "eventually consistent (x2), and filter S3 notifications to the sidecar (1 event per upload)",
            "source": _SRC["partition"],
        },
        {
            "at": "1k uploads/s",
            "limit": "Lambda concurrency (account quota, 1,000 by default)",
            "figure": f"{up['events']:g} S3 events per upload, OnIngestMessage at batch size 1: "
            f"~{u * up['events']:,.0f} invocations/s x {up['ingest_ms'] / up['events']:.0f} ms "
            f"(measured in-process) = ~{u * up['ingest_ms'] / 1000:,.0f} concurrent executions; hit "
            f"when an ingest takes > {1000 / up['events']:.0f} ms in AWS (reserved: {reserved or 'none'}, "
            "so the API shares the pool)",
            "change": "S3 notification filter to the sidecar (1 invocation per upload), batch size 10 with "
            "partial-batch failures, reserved concurrency for the API, a quota increase",
            "source": _SRC["lambda_quotas"] + " (unverified)",
        },
        {
            "at": "1k uploads/s",
            "limit": "SQS → Lambda ramp: 5 concurrent batches, +300 per minute, max 1,000",
            "figure": f"~{u * up['ingest_ms'] / 1000:,.0f} concurrent batches needed: reached within the first "
            "minute of a burst; the queue itself does not limit",
            "change": "MaximumConcurrency on the event source mapping; a backlog-age alarm (today only DLQ depth)",
            "source": _SRC["sqs_scaling"],
        },
        {
            "at": "1k uploads/s",
            "limit": "DynamoDB on-demand table warm throughput: 4,000 WRU/s and 12,000 RRU/s "
            "when new; twice the previous peak within 30 min",
            "figure": f"{up['wru']:g} WRU per upload (dataset and audit items, and the summary's ledger and "
            f"counters in a transaction: 2 WRU per item, measured at one record per stream batch; a batch "
            f"of 100 shares its counter items) = {u * up['wru']:,.0f} WRU/s across the datasets, audit and "
            "summary tables",
            "change": "pre-warm (warm throughput) before a campaign; keys are per dataset, no hot write key",
            "source": _SRC["prewarm"],
        },
        {
            "at": "1k uploads/s",
            "limit": f"OpenSearch indexing on {count} x {itype}",
            "figure": "one index request per stream batch (bulk upsert of up to 100 records): ~10-100 bulk "
            "requests/s, within a 2-node domain's write pool; refresh 1 s (adapter default)",
            "change": "none at 1k/s; past it, larger nodes or more shards",
            "source": _SRC["os_shards"],
        },
        {
            "at": "1k uploads/s",
            "limit": "Step Functions Standard: StartExecution and state-transition "
            "token buckets (per account and region)",
            "figure": "only if every upload is archived at once (one execution, ~7 transitions each: ~7,000/s)",
            "change": "archive in batches (one execution per N SIPs) or request a quota increase",
            "source": _SRC["sfn_quotas"] + " (figures unverified)",
        },
        {
            "at": "1k uploads/s",
            "limit": f"archives table GSI keyed by status: {', '.join(archives_gsi) or 'none'}",
            "figure": "every archive's state change writes the index under one of ~5 status values: "
            "1,000 WCU/s per status value",
            "change": "shard the status key (status#0..9) or query by time window instead",
            "source": _SRC["partition"],
        },
        {
            "at": "10M datasets",
            "limit": f"OpenSearch shards and heap on {count} x {itype}, {gb} GB each",
            "figure": "~1-5 KB per indexed dataset: 10-50 GB at 10M in one index with the default primary shard "
            "count; dev's 10 GB volume fills first (2-5M datasets)",
            "change": "prod holds it; set 3-5 primary shards (10-50 GB each) and reindex through the rebuild "
            "path before 10M; bigger volumes for dev",
            "source": _SRC["os_shards"] + " (sizes unverified)",
        },
        {
            "at": "10M datasets",
            "limit": "facets of a search (GET /datasets/facets) aggregate the matching documents per call",
            "figure": "grows with what a query matches; the summary no longer does: it reads one counter item per "
            "(base URI, project) and per overlap class, kept by the stream consumer (issue 24)",
            "change": "cap facets to queries with a text or filter, or cache them per caller for seconds; a "
            "summary cell item holds ~10,000 distinct creators and tags before the 400 KB item limit: split it "
            "per facet past that",
            "source": "bench/results",
        },
        {
            "at": "10M datasets",
            "limit": "Lambda 15-minute timeout for Scan-based jobs (reconcile, fixity sampling, index rebuild)",
            "figure": "a Scan of 10M items (~10+ GB) in one invocation does not finish",
            "change": "parallel Scan segments fanned out by a Step Functions Map, or an S3 export of the table",
            "source": _SRC["lambda_quotas"] + " (unverified)",
        },
        {
            "at": "10M datasets",
            "limit": "DynamoDB item size 400 KB",
            "figure": "not hit: manifests above the inline cap (64 KB) already go to S3; tables have no size limit",
            "change": "none",
            "source": "chalicelib/config.py inline_cap_bytes",
        },
    ]


def dserver_limits() -> list[dict[str, str]]:
    return [
        {
            "limit": "one VM: all requests and the notification plugin on 2 vCPU",
            "change": "a bigger VM, then several app servers behind a load balancer",
        },
        {"limit": "MongoDB document limit 16 MB (a manifest of ~100k items)", "change": "store manifests outside"},
        {
            "limit": "MongoDB on one node: working set must fit in RAM (8 GiB) for the text index and "
            "aggregations; no failover",
            "change": "a replica set (3 VMs: ~3x the price) and sharding past ~1 TB",
        },
        {
            "limit": "the S3 notification plugin handles one event per object (not per dataset)",
            "change": "filter notifications to the dtool README/manifest keys",
        },
    ]
