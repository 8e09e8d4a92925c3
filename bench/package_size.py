"""Size of the Lambda deployment package, against Lambda's limits and our 18 MB target.

Usage: ``.venv/bin/python bench/package_size.py [ZIP]``. Without ZIP it builds the package the
way the CDK stack does (``chalice package`` of :func:`infra.lambda_bundle.staged_project`, whose
``vendor/`` is ``requirements/runtime.lock`` installed for Lambda; needs PyPI, not AWS). Prints
the zipped and unzipped totals, the target's verdict and the largest top-level entries, marking
the code the app never imports (checked by importing ``app`` with dummy stream ARNs and looking
at ``sys.modules``). Exits 1 when the zip is over the target.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

MB = 1024 * 1024
ZIPPED_LIMIT, UNZIPPED_LIMIT = 50 * MB, 250 * MB  # Lambda: direct upload; function + layers unzipped
TARGET = 18 * 1000 * 1000  # issue 14: at most 18 MB zipped (decimal, the stricter reading)
_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/{}/stream/2024-01-01T00:00:00.000"

_IMPORTED = """
import os, sys
os.environ.setdefault("CATALOGUE_DATASETS_STREAM_ARN", "arn:aws:dynamodb:eu-west-1:1:table/d/stream/x")
os.environ.setdefault("CATALOGUE_ACCESS_STREAM_ARN", "arn:aws:dynamodb:eu-west-1:1:table/a/stream/x")
os.environ.setdefault("CATALOGUE_FACILITY_STREAM_ARN", "arn:aws:dynamodb:eu-west-1:1:table/f/stream/x")
import app
from chalicelib import composition, jobs
from chalicelib.identity import tokens as auth
from chalicelib.adapters import opensearch
from chalicelib.archive import aip, fixity, sip, steps, worker
from chalicelib.ingest import ingestion, reconcile
from chalicelib.ingest.bags import on_disk, serialized
print("\\n".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def build_package(out_dir: Path, timeout: float = 600.0) -> Path:
    """``out_dir/deployment.zip``, packaged as the CDK stack packages the app."""
    from infra.lambda_bundle import staged_project

    chalice = Path(sys.executable).parent / "chalice"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CATALOGUE_"))}
    env.update({"AWS_DEFAULT_REGION": "eu-west-1"})
    env["CATALOGUE_DATASETS_STREAM_ARN"] = _ARN.format("catalogue-datasets")
    env["CATALOGUE_ACCESS_STREAM_ARN"] = _ARN.format("catalogue-access")
    env["CATALOGUE_FACILITY_STREAM_ARN"] = _ARN.format("catalogue-facility")
    with staged_project() as project:
        done = subprocess.run(
            [str(chalice), "package", "--stage", "local", str(out_dir / "sam")],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    zip_path = out_dir / "sam" / "deployment.zip"
    if done.returncode != 0 or not zip_path.exists():
        raise RuntimeError(f"chalice package failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}")
    return zip_path


def zip_sizes(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    top: collections.Counter[str] = collections.Counter()
    for info in infos:
        top[info.filename.split("/", 1)[0]] += info.file_size
    return {
        "zipped_mb": round(path.stat().st_size / 1e6, 2),
        "unzipped_mb": round(sum(top.values()) / 1e6, 2),
        "files": len(infos),
        "largest_unzipped_mb": {k: round(v / 1e6, 2) for k, v in top.most_common(8)},
    }


def imported_top_levels() -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOGUE_")}
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTED], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def report(path: Path) -> bool:
    """Print the package's figures; True when the zip meets the target."""
    sizes: collections.Counter[str] = collections.Counter()
    packed: collections.Counter[str] = collections.Counter()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            top = info.filename.split("/")[0]
            sizes[top] += info.file_size
            packed[top] += info.compress_size
    zipped, unzipped = path.stat().st_size, sum(sizes.values())
    imported = imported_top_levels()
    met = zipped <= TARGET
    print(f"zipped   {zipped / 1e6:6.2f} MB ({zipped / MB:.2f} MiB)  limit {ZIPPED_LIMIT / 1e6:.1f} MB")
    print(f"unzipped {unzipped / 1e6:6.2f} MB ({unzipped / MB:.2f} MiB)  limit {UNZIPPED_LIMIT / 1e6:.1f} MB")
    print(f"target   {TARGET / 1e6:6.2f} MB zipped: {'met' if met else 'MISSED'}")
    print(f"\n{'entry':44} {'unzipped':>9} {'zipped':>8}  imported by the app?")
    never = 0
    for top, size in sizes.most_common(15):
        module = top.removesuffix(".py").split(".")[0]
        is_code = not top.endswith((".dist-info", ".pth")) and "." not in top.removesuffix(".py")
        used = module in imported if is_code else None
        if used is False:
            never += packed[top]
        mark = {True: "yes", False: "NEVER", None: ""}[used]
        print(f"{top:44} {size / MB:8.2f}M {packed[top] / MB:7.2f}M  {mark}")
    print(f"\nzipped bytes of top-15 entries never imported: {never / MB:.2f} MiB")
    return met


def main(argv: list[str]) -> int:
    if argv:
        return 0 if report(Path(argv[0])) else 1
    with tempfile.TemporaryDirectory(prefix="package-size-") as tmp:
        path = build_package(Path(tmp))
        print(f"built {path.name} from requirements/runtime.lock (infra/lambda_bundle.py)")
        return 0 if report(path) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
