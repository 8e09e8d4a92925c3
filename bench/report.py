"""Machine description, the side-by-side table, the JSON/markdown files and the ratio chart."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path
from typing import Any

from dserver_workload import EXTRA_OPERATIONS
from workload import OPERATIONS


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    os_name = platform.platform()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for pkg in ("chalice", "moto", "osmem-server", "boto3", "pynamodb", "opensearch-py"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": os_name,
        "python": platform.python_version(),
        "versions": versions,
    }


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _median_p95(entry: dict[str, Any] | None) -> str:
    return f"{_fmt(entry.get('median_ms'))} / {_fmt(entry.get('p95_ms'))}" if entry else "-"


def table_rows(result: dict[str, Any]) -> list[list[str]]:
    rows = []
    for op in (*OPERATIONS, *EXTRA_OPERATIONS):
        entry = result["operations"].get(op)
        if not entry:
            continue
        ratio, dserver_ratio = entry.get("ratio"), entry.get("dserver_ratio")
        floor = entry.get("floor_ms")
        rows.append(
            [
                op,
                _median_p95(entry.get("peer")),
                _median_p95(entry.get("ours")),
                _median_p95(entry.get("ours_compat")),
                _fmt(ratio, 2) if ratio is not None else "-",
                _median_p95(entry.get("dserver")),
                _median_p95(entry.get("ours_dserver")),
                _fmt(dserver_ratio, 2) if dserver_ratio is not None else "-",
                _fmt(floor),
                _fmt(entry.get("inproc_ms")),
                (
                    f"{_fmt(pair['ours_ms'])} / {_fmt(pair['floor_ms'])} / {_fmt(pair['own_ms'], 2)}"
                    if (pair := entry.get("paired"))
                    else "-"
                ),
                (
                    f"{_fmt(pair.get('handler_ms'), 2)} / {_fmt(pair.get('http_ms'), 2)}"
                    if (pair := entry.get("paired")) and "handler_ms" in pair
                    else "-"
                ),
                _short(entry.get("verdict", "")),
            ]
        )
    return rows


def _short(verdict: str) -> str:
    """'met (<= 0.5x peer = 3.8 ms)' -> 'met <=3.8'."""
    if not verdict:
        return "-"
    word = verdict.split(" ", 1)[0]
    if "handler own" in verdict:
        return f"{word} own<=1"
    limit = verdict.rsplit("= ", 1)[-1].removesuffix(" ms)") if "= " in verdict else ""
    return f"{word} <={limit}" if limit else word


HEADER = [
    "operation",
    "peer median / p95 ms",
    "ours median / p95 ms",
    "ours via the peer's routes median / p95 ms",
    "ours/peer",
    "dserver median / p95 ms",
    "ours via dserver's routes median / p95 ms",
    "ours/dserver",
    "our floor ms",
    "ours in-process ms",
    "paired: ours / floor / own ms",
    "own = handler / HTTP ms",
    "target",
]


def text_table(result: dict[str, Any]) -> str:
    rows = [HEADER, *table_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    out = [
        f"# Benchmark {result['date']}: our catalogue against dtool-lookup-server 0.18 and dservercore 0.22",
        "",
        f"Machine: {m['cpus']} vCPU {m['cpu']}, {m['memory_gib']} GiB, {m['os']}, CPython {m['python']}. "
        f"N = {result['n']} datasets in each system, one sequential client over loopback HTTP.",
        "Ours: the local stack's API (`chalice local` with TCP_NODELAY, `infra/local/chalice_local.py`) over "
        "moto server (DynamoDB) and osmem-server (stands in for OpenSearch). "
        "Peers (dtool-lookup-server 0.18, dservercore 0.22): each gunicorn with 2 workers, Mongo plugins on "
        "nx-27017 (MongoDB wire protocol on SQLite; their search and summary figures are mostly nx-27017's "
        "query evaluation, not MongoDB's).",
        f"Table sizes during the shared part: {result.get('table_sizes', {}).get('shared', '')}",
        *(
            [
                f"HTTP hop (`GET /health` of ours: requests client + `chalice local`, no emulator call): "
                f"median {result['http_hop_ms']['median_ms']:.2f} ms, p95 {result['http_hop_ms']['p95_ms']:.2f} ms."
            ]
            if result.get("http_hop_ms")
            else []
        ),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in table_rows(result)]
    out += [
        "",
        "*ours*: the API as `make run` serves it (`chalice local` with TCP_NODELAY: plain `chalice local` "
        "sends headers and body in two writes, so with Nagle on every response would wait ~40 ms for the "
        "client's delayed ACK; API Gateway has no such delay). *our floor*: median of replaying, raw, the emulator "
        "calls our handler makes for that operation (recorded from the handler in the same run). "
        "*ours via the peer's routes*: the peer's own requests (its paths, bodies and answers: `POST "
        "/dataset/search`, `POST /dataset/readme {uri}`…) sent to our dtool-lookup-server 0.18-compatible "
        "routes, over the same services; registration there registers a second set of new datasets, after "
        "every read was timed. "
        "*dserver*: dservercore 0.22 through its own routes (`GET /uuids/<uuid>`, `GET /readmes/<uri>`, "
        "`POST /uris {…}`, `GET /me/summary`…, `bench/dserver_workload.py`); *ours via dserver's routes*: the "
        "same requests sent to our dserver-compatible routes (`chalicelib/routes/dserver.py`); *ours/dserver* "
        "is the ratio of those two medians; `lookup_uri`, `annotations` and `tags` are dserver reads by URI "
        "that the 0.18 table has no row for. "
        "*ours in-process*: the handler through `chalice.test.Client`, without `chalice local` and HTTP. "
        "*paired*: our HTTP request and a raw replay of its emulator calls timed alternately (same machine "
        "state); *own* is the median of the per-pair differences: our code, `chalice local` and the HTTP hop; "
        "*handler* (the same request in-process, through `chalice.test.Client`, minus the floor) and *HTTP* "
        "(ours minus in-process: the requests client and `chalice local`) split it, from the same rounds. "
        "target: median <= 0.5x peer, or floor + 1 ms where the floor alone is above half the peer's time: "
        "there, our handler's own time <= 1 ms (own<=1; `chalice local`'s HTTP hop, API Gateway's in AWS, apart) "
        "(judged on the paired medians).",
        "",
    ]
    tp = result.get("throughput") or {}
    if tp:
        out += [
            "## Throughput: req/s (median ms, p95 ms)",
            "",
            "| operation | clients | peer | dserver | ours |",
            "|---|---|---|---|---|",
        ]

        def cell(e: dict[str, Any]) -> str:
            if not e:
                return "-"
            return f"{_fmt(e.get('ops_per_s'))} ({_fmt(e.get('median_ms'))}, {_fmt(e.get('p95_ms'))})"

        for op, levels in tp.items():
            for clients, entry in levels.items():
                cells = " | ".join(cell(entry.get(name) or {}) for name in ("peer", "dserver", "ours"))
                out.append(f"| {op} | {clients} | {cells} |")
        out.append("")
    oo = result.get("ours_only") or {}
    if oo:
        out += ["## Ours only", "", "```", _json_block(oo), "```", ""]
    profiles = result.get("profiles") or {}
    if profiles:
        out += ["## Where our time goes (pyinstrument, in-process handler)", ""]
        for op, prof in profiles.items():
            out.append(f"### {op} ({prof.get('inproc_ms_per_request')} ms per in-process request)")
            out.append("")
            out.append(
                "by package (self time share): "
                + ", ".join(f"{e['frame']} {e['share']:.0%}" for e in prof.get("by_package", [])[:8])
            )
            out.append("")
            out.append(
                "top functions (self time share): "
                + ", ".join(f"{e['frame']} {e['share']:.0%}" for e in prof.get("top_self", [])[:8])
            )
            out.append("")
            out.append(
                "our frames (cumulative share): "
                + ", ".join(f"{e['frame']} {e['share']:.0%}" for e in prof.get("our_frames_cumulative", [])[:8])
            )
            out.append("")
    notes = result.get("notes") or []
    if notes:
        out += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(out)


def _json_block(value: Any) -> str:
    import json

    return json.dumps(value, indent=2)


def chart(result: dict[str, Any], path: Path) -> str | None:
    """A horizontal bar chart of ours/peer median ratios (log scale); None on success, else why not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        return f"no chart: {exc} (make install)"
    ops = [op for op in OPERATIONS if (result["operations"].get(op) or {}).get("ratio") is not None]
    if not ops:
        return "no chart: no operation has a ratio (peer skipped?)"
    ratios = [result["operations"][op]["ratio"] for op in ops]
    floors = []
    for op in ops:
        entry = result["operations"][op]
        floor, peer = entry.get("floor_ms"), (entry.get("peer") or {}).get("median_ms")
        floors.append(floor / peer if floor is not None and peer else None)
    fig, ax = plt.subplots(figsize=(9, 0.7 * len(ops) + 1.8))
    y = [2 * i for i in range(len(ops))][::-1]
    ax.barh([v + 0.4 for v in y], ratios, height=0.8, color="#c92a2a", label="ours (local stack API)")
    shown = [(yy, r) for yy, r in zip(y, floors, strict=True) if r is not None]
    if shown:
        ax.barh(
            [yy - 0.4 for yy, _ in shown],
            [r for _, r in shown],
            height=0.8,
            color="#868e96",
            label="our floor (the emulator calls alone)",
        )
    ax.set_yticks(y)
    ax.set_yticklabels(ops)
    ax.set_xscale("log")
    ax.axvline(0.5, color="#2b8a3e", linestyle="--", linewidth=1, label="target 0.5x")
    ax.axvline(1.0, color="#555555", linestyle=":", linewidth=1, label="parity")
    for yy, r in zip(y, ratios, strict=True):
        ax.text(r * 1.05, yy + 0.4, f"{r:.2f}x", va="center", fontsize=7)
    for yy, r in shown:
        ax.text(r * 1.05, yy - 0.4, f"{r:.2f}x", va="center", fontsize=7)
    every = [r for r in ratios + floors if r is not None]
    ax.set_xlim(min([*every, 0.5]) * 0.7, max([*every, 1.0]) * 1.8)
    ax.set_xlabel("median latency, ours / peer (log scale; lower is better)")
    m = result["machine"]
    ax.set_title(
        f"Catalogue vs dtool-lookup-server 0.18, N={result['n']} ({result['date']}, {m['cpus']} vCPU)", fontsize=10
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return None


def main() -> None:
    """Re-render the markdown and the chart of a results JSON: ``python bench/report.py FILE.json``."""
    import json
    import sys

    for name in sys.argv[1:]:
        path = Path(name)
        result = json.loads(path.read_text())
        path.with_suffix(".md").write_text(markdown(result))
        problem = chart(result, path.with_suffix(".png"))
        print(problem or f"wrote {path.with_suffix('.md')} and {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
