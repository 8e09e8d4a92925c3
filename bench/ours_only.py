"""Figures for our catalogue alone: upload -> searchable, Lambda package size.

(The catalogue at 1k, 10k and 100k datasets is ``bench/scale.py``, the bulk-index throughput is
driven from ``run.py``, the cold start of every Lambda function is ``bench/cold_start.py``.)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workload import Ours, percentile  # noqa: E402

from infra.local.stack import LocalStack  # noqa: E402


def upload_to_searchable(
    stack: LocalStack, ours: Ours, bucket: str, uploads: int, *, per_upload_timeout: float = 30.0, poll_s: float = 0.01
) -> dict[str, Any]:
    """Sequential sidecar uploads to a watched bucket; latency from the sidecar's put_object
    returning until ``GET /datasets?uuid=`` finds the dataset.

    ``bucket`` must be watched and registered as a base URI ``ours`` may search.
    """
    from chalicelib.ingest.layouts import sidecar_uuid

    s3 = stack.client("s3")
    latencies: list[float] = []
    timeouts = 0
    polls = 0
    run = f"{int(time.time())}"
    for i in range(uploads):
        folder = f"uploads/{run}/folder-{i:04d}"
        s3.put_object(Bucket=bucket, Key=f"{folder}/data.csv", Body=f"depth,moisture\n10,0.{i % 10}\n".encode())
        sidecar = {
            "name": f"upload-bench-{i:04d}",
            "description": "sidecar upload benchmark",
            "creator": "bench",
            "tags": ["upload-bench"],
        }
        uuid = sidecar_uuid(f"s3://{bucket}/{folder}")
        s3.put_object(Bucket=bucket, Key=f"{folder}/dataset.json", Body=json.dumps(sidecar).encode())
        t0 = time.perf_counter()
        deadline = time.monotonic() + per_upload_timeout
        while True:
            polls += 1
            resp = ours.session.get(f"{ours.url}/datasets", params={"uuid": uuid}, timeout=30)
            if resp.status_code == 200 and resp.json()["total"] == 1:
                latencies.append((time.perf_counter() - t0) * 1000)
                break
            if time.monotonic() > deadline:
                timeouts += 1
                break
            time.sleep(poll_s)
    lat = sorted(latencies)
    return {
        "uploads": uploads,
        "visible": len(lat),
        "timeouts": timeouts,
        "p50_ms": round(statistics.median(lat), 1) if lat else None,
        "p95_ms": round(percentile(lat, 0.95), 1) if lat else None,
        "max_ms": round(lat[-1], 1) if lat else None,
        "poll_interval_ms": poll_s * 1000,
        "polls": polls,
        "how": "put data.csv, put dataset.json; clock starts when that put_object returns and stops when "
        "GET /datasets?uuid=<sidecar uuid> (HTTP, through the TCP_NODELAY chalice local of "
        "infra/local/chalice_local.py) reports total 1",
    }


def package_size(timeout: float = 600.0, keep: Path | None = None) -> dict[str, Any]:
    """The Lambda deployment zip as deployed (``bench/package_size.py``: ``chalice package`` of the
    project staged with ``vendor/`` from the runtime lock, as the CDK stack packages it); copied
    to ``keep`` when given (the cold start imports from it)."""
    import shutil

    from package_size import TARGET, build_package, zip_sizes

    with tempfile.TemporaryDirectory(prefix="bench-pkg-") as tmp:
        try:
            zip_path = build_package(Path(tmp), timeout=timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return {"skipped": str(exc)[-800:]}
        sizes = zip_sizes(zip_path)
        if keep is not None:
            shutil.copyfile(zip_path, keep)
    return {
        "source": "chalice package of infra.lambda_bundle.staged_project (vendor/ = requirements/runtime.lock)",
        **sizes,
        "target_zipped_mb": TARGET / 1e6,
        "target_met": sizes["zipped_mb"] <= TARGET / 1e6,
    }
