"""Size of the Lambda deployment package chalice.cdk builds, and what dominates it.

Usage: ``.venv/bin/python bench/package_size.py [ZIP]``. Without ZIP it reads the newest
package asset of ``infra/cdk.out`` (run ``make synth`` first). Prints the zipped and unzipped
totals against Lambda's limits and the largest top-level entries, marking the distributions
the app never imports (checked by importing ``app`` with dummy stream ARNs and looking at
``sys.modules``).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
ZIPPED_LIMIT, UNZIPPED_LIMIT, AIM = 50 * MB, 250 * MB, 20 * MB

_IMPORTED = """
import os, sys
os.environ.setdefault("CATALOGUE_DATASETS_STREAM_ARN", "arn:aws:dynamodb:eu-west-1:1:table/d/stream/x")
os.environ.setdefault("CATALOGUE_ACCESS_STREAM_ARN", "arn:aws:dynamodb:eu-west-1:1:table/a/stream/x")
import app
from chalicelib import auth, opensearch, deps
from chalicelib.archive import aip, fixity, worker, steps
from chalicelib.ingest import service, reconcile, bags
print("\\n".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def newest_asset() -> Path:
    zips = sorted((REPO_ROOT / "infra" / "cdk.out").glob("asset.*.zip"), key=lambda p: p.stat().st_mtime)
    if not zips:
        raise SystemExit("no package in infra/cdk.out: run `make synth` first")
    return zips[-1]


def imported_top_levels() -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOGUE_")}
    out = subprocess.run(
        [sys.executable, "-c", _IMPORTED], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else newest_asset()
    sizes: collections.Counter[str] = collections.Counter()
    packed: collections.Counter[str] = collections.Counter()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            top = info.filename.split("/")[0]
            sizes[top] += info.file_size
            packed[top] += info.compress_size
    zipped, unzipped = path.stat().st_size, sum(sizes.values())
    imported = imported_top_levels()
    print(f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    print(f"zipped   {zipped / MB:6.1f} MiB  (limit {ZIPPED_LIMIT / MB:.0f}, aim {AIM / MB:.0f})")
    print(f"unzipped {unzipped / MB:6.1f} MiB  (limit {UNZIPPED_LIMIT / MB:.0f})")
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
    print(f"\nzipped bytes of top-15 entries never imported: {never / MB:.1f} MiB")


if __name__ == "__main__":
    main(sys.argv[1:])
