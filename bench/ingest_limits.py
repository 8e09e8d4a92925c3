"""The worst a sidecar can cost the ingest function, against its limits (120 s, 1,024 MB).

Usage: ``.venv/bin/python bench/ingest_limits.py``. Times the parse of sidecars built to be
expensive for PyYAML's pure-Python loader at the cap (``MAX_SIDECAR_BYTES``), each in a fresh
process so that its peak memory (ru_maxrss) is its own, and the refusal of one over the cap
(an 8 MiB YAML that issue 15 measured at 125 s and 1.6 GiB when it was still parsed).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chalicelib.ingest.layouts import MAX_SIDECAR_BYTES  # noqa: E402

LAMBDA_TIMEOUT_S, LAMBDA_MEMORY_MB = 120, 1024  # OnIngestMessage (infra/stacks/catalogue.py)


def _fill(unit: str, head: str = "", tail: str = "", cap: int = MAX_SIDECAR_BYTES - 64) -> str:
    return head + unit * ((cap - len(head) - len(tail)) // len(unit)) + tail


CASES: dict[str, str] = {
    "flow sequence of small ints": _fill("1, ", "k: [", "1]\n"),
    "flow mapping of short keys": _fill("a1: b, ", "k: {", "z: 0}\n"),
    "block mapping of short keys": "".join(f"k{i}: v\n" for i in range(MAX_SIDECAR_BYTES // 12)),
    "nested flow, 90 levels a unit": _fill("[" * 90 + "]" * 90 + ", ", "k: [", "0]\n"),
    "repeated anchors (refused)": _fill("- &a x\n", "k:\n", ""),
    "long plain scalars": _fill("word ", "k: ", "\n"),
}

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from chalicelib.catalogue.index_documents import load_yaml
text = sys.stdin.read()
t = time.perf_counter()
try:
    load_yaml(text)
    outcome = "parsed"
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps({"s": time.perf_counter() - t, "outcome": outcome,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def parse_cost(text: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO)], input=text, capture_output=True, text=True, check=True, timeout=600
    )
    return dict(json.loads(done.stdout))


def refusal_cost() -> float:
    """Seconds to refuse an 8 MiB sidecar (read stops at the cap; nothing parsed)."""
    from chalicelib.adapters.object_storage import TooLarge
    from chalicelib.ingest.layouts import SidecarTarget, read_sidecar
    from tests.fakes.object_storage import InMemoryObjectStorage

    store = InMemoryObjectStorage()
    store.put("b", "f/dataset.yaml", "k: [" + "1, " * (8 * 1024 * 1024 // 3) + "1]\n")
    t = time.perf_counter()
    try:
        read_sidecar(store, SidecarTarget("b", "f", "f/dataset.yaml"), "s3://b")
    except TooLarge:
        return time.perf_counter() - t
    raise SystemExit("an 8 MiB sidecar was not refused")


def main() -> int:
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sidecar cap {MAX_SIDECAR_BYTES} bytes; ingest function limits {LAMBDA_TIMEOUT_S} s, {LAMBDA_MEMORY_MB} MB")
    print(f"{'case':34} {'bytes':>8} {'parse s':>8} {'peak MB':>8}  outcome")
    worst_s, worst_mb = 0.0, 0.0
    for name, text in CASES.items():
        cost = parse_cost(text)
        seconds, rss = float(str(cost["s"])), float(str(cost["rss_mb"]))
        worst_s, worst_mb = max(worst_s, seconds), max(worst_mb, rss)
        print(f"{name:34} {len(text.encode()):8d} {seconds:8.2f} {rss:8.1f}  {cost['outcome']}")
    print(f"8 MiB sidecar refused in {refusal_cost() * 1000:.1f} ms (this process {baseline:.0f} MB before)")
    # one event parses one sidecar (a retry is another invocation, with its own limits)
    ok = worst_s < LAMBDA_TIMEOUT_S and worst_mb < LAMBDA_MEMORY_MB
    verdict = "within" if ok else "NOT within"
    print(f"worst case {worst_s:.2f} s, {worst_mb:.0f} MB: {verdict} the ingest function's limits")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
