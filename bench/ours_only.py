"""Figures for our catalogue alone: upload -> searchable, handler cold import, Lambda package size.

(Search and summary at large N and the bulk-index throughput are driven from ``run.py``.)
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workload import Ours, percentile  # noqa: E402

from infra.local.stack import LocalStack  # noqa: E402

_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/{}/stream/2024-01-01T00:00:00.000"
FAKE_STREAM_ARNS = {
    "CATALOGUE_DATASETS_STREAM_ARN": _ARN.format("catalogue-datasets"),
    "CATALOGUE_ACCESS_STREAM_ARN": _ARN.format("catalogue-access"),
}


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


def cold_import(runs: int = 15) -> dict[str, Any]:
    """``import app`` in a fresh interpreter ``runs`` times: in-process import time and process wall."""
    code = (
        "import sys, time, json\n"
        "t = time.perf_counter()\n"
        "import app\n"
        "dt = time.perf_counter() - t\n"
        "heavy = ['boto3', 'botocore', 'pynamodb', 'opensearchpy', 'jose', 'cryptography', 'yaml', 'bagit',"
        " 'requests']\n"
        "print(json.dumps({'import_s': dt, 'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CATALOGUE_"))}
    env.update(FAKE_STREAM_ARNS)
    env["AWS_DEFAULT_REGION"] = "eu-west-1"
    env["PYTHONPATH"] = str(REPO)
    in_proc, walls, loaded = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True
        )
        walls.append((time.perf_counter() - t0) * 1000)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        in_proc.append(result["import_s"] * 1000)
        loaded = result["loaded"]
    return {
        "runs": runs,
        "import_median_ms": round(statistics.median(in_proc), 1),
        "process_wall_median_ms": round(statistics.median(walls), 1),
        "heavy_modules_loaded_by_import": loaded,
        "note": "warm page cache and .pyc files; a Lambda at 128-512 MB has a fraction of a core",
    }


def _zip_sizes(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        unzipped = sum(i.file_size for i in infos)
        top: dict[str, int] = {}
        for i in infos:
            head = i.filename.split("/", 1)[0]
            top[head] = top.get(head, 0) + i.file_size
    largest = sorted(top.items(), key=lambda kv: kv[1], reverse=True)[:8]
    return {
        "zipped_mb": round(path.stat().st_size / 1e6, 1),
        "unzipped_mb": round(unzipped / 1e6, 1),
        "files": len(infos),
        "largest_unzipped_mb": {k: round(v / 1e6, 1) for k, v in largest},
    }


def package_size(timeout: float = 600.0) -> dict[str, Any]:
    """The Lambda deployment zip as deployed: ``chalice package`` of a copy of the project,
    then pruned the way the CDK stack prunes it (``infra.stacks.catalogue.prune_zip``).

    The copy keeps ``chalice package`` from writing into the project (``.chalice/deployments``).
    It needs PyPI (wheels for the Lambda platform), not AWS.
    """
    chalice = Path(sys.executable).parent / "chalice"
    with tempfile.TemporaryDirectory(prefix="bench-pkg-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        for name in ("app.py", "requirements.txt"):
            shutil.copy2(REPO / name, project / name)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "deployments", "venv")
        for name in ("chalicelib", ".chalice", "vendor"):
            if (REPO / name).exists():
                shutil.copytree(REPO / name, project / name, ignore=ignore)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CATALOGUE_"))}
        env.update(FAKE_STREAM_ARNS)
        env["AWS_DEFAULT_REGION"] = "eu-west-1"
        out_dir = Path(tmp) / "out"
        try:
            done = subprocess.run(
                [str(chalice), "package", "--stage", "local", str(out_dir)],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"skipped": f"chalice package did not finish in {timeout:.0f} s"}
        zip_path = out_dir / "deployment.zip"
        if done.returncode != 0 or not zip_path.exists():
            return {"skipped": f"chalice package failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}"}
        as_built = _zip_sizes(zip_path)
        from infra.stacks.catalogue import PRUNED_FROM_PACKAGE, prune_zip

        prune_zip(zip_path, PRUNED_FROM_PACKAGE)
        return {
            "source": "chalice package --stage local (copy of the project, requirements.txt), pruned of "
            + ", ".join(PRUNED_FROM_PACKAGE)
            + " as infra/stacks/catalogue.py deploys it",
            **_zip_sizes(zip_path),
            "before_pruning": {k: as_built[k] for k in ("zipped_mb", "unzipped_mb")},
        }
