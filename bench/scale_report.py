"""The arithmetic and the report of ``bench/scale.py``: growth flags, targets, projections, markdown.

Pure functions of the result dictionary ``scale.py`` builds (no stack, no I/O), so that they
are unit-tested (``tests/unit/test_bench_scale.py``) and a result can be re-rendered:
``python bench/scale_report.py bench/results/<name>-scale.json``.

What *grows* is derived from the figures (median at the largest size over the smallest,
flagged above :data:`GROWS_ABOVE`); *why* it grows is not: :data:`WHY` is a table written by
reading the code, keyed by operation, and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

GROWS_ABOVE = 1.5  # an operation whose median grows more than this from the smallest size to the largest
TARGET_SIZE = 10_000  # the targets are set at 10k datasets; reported at every size
TARGETS_MS = {"search_text": 15.0, "summary": 30.0}
FLAT_OPERATION = "summary"  # "summary flat within 1.5x from 1k to 100k"
PROJECT_TO = 100_000

# Operation -> the request it stands for (our API through chalice local, one sequential client).
REQUESTS: dict[str, str] = {
    "search_text": "GET /datasets?q=<word>&page_size=10",
    "search_tag": "GET /datasets?tag=<tag>&page_size=10",
    "search_uuid": "GET /datasets?uuid=<uuid>",
    "lookup": "GET /datasets/<uuid>",
    "list_first": "GET /datasets?page=1&page_size=10",
    "list_deep": "GET /datasets?after=<cursor at N/2>&page_size=10",
    "summary": "GET /datasets/summary",
    "manifest_large": "GET /datasets/<uuid>/manifest, 5,000 items (whole: there is no manifest paging route)",
}

_QUERIES = "chalicelib/adapters/opensearch_queries.py"
_OSMEM = "osmem-server's bool query (shibukawa/osmem internal/engine/query_exec.go, evalSearcher.prepare/combineBool)"
# Why an operation's cost depends on the catalogue's size, from reading the code (not from the run).
WHY: dict[str, str] = {
    "search_text": (
        f"one OpenSearch search (chalicelib/adapters/opensearch.py:471, `OpenSearchIndex.search`) whose query "
        f"carries the visibility filters `deleted: false` and `terms base_uris` ({_QUERIES}:54-62), which match "
        f"every document, beside the words; "
        f"{_OSMEM} drains every clause's full match list into hash maps before intersecting them, so each search reads "
        f"every document id; then it sorts all matches by `registered` and counts them (`track_total_hits: True`, "
        f"{_QUERIES}:153-160). OpenSearch intersects cached filter bitsets instead: cost by the matches, not N"
    ),
    "search_tag": f"as search_text: the tag is one more `term` filter ({_QUERIES}:73) beside the visibility filters",
    "search_uuid": (
        f"the uuid is a `terms` filter ({_QUERIES}:74-75) matching one document, but the visibility filters beside it "
        f"match every document and osmem drains them all (see search_text)"
    ),
    "list_first": (
        f"a `match_all` with the visibility filters ({_QUERIES}:89, 54-62): every visible document matches, osmem "
        f"sorts all of them by `registered` to return 10 and counts them all (`track_total_hits`, {_QUERIES}:159)"
    ),
    "list_deep": (
        f"as list_first, with `search_after` ({_QUERIES}:163-165): no `from` offset is skipped, but every document "
        f"still matches and is sorted before the cursor is applied"
    ),
    "summary": (
        "the counters the stream consumer keeps (chalicelib/catalogue/summary_store.py `summary`): the generations "
        "item by GetItem, then one BatchGetItem of the counter items, one per base URI/project cell and per "
        "overlap class (chalicelib/adapters/dynamodb/summary.py `counters`), summed in memory: its cost follows the "
        "cells and the distinct creators and tags a cell's item holds, not N; before the counters it was terms "
        "aggregations over every document (the search index's summary, removed after commit e819d8f)"
    ),
    "lookup": (
        "one BatchGetItem of the entry (chalicelib/catalogue/datasets.py `get_dataset`), which moto answers from a "
        "dict by key: nothing in it depends on N, so growth here is the machine (other work on the shared cores, "
        "the stream consumer still busy) or moto's request handling"
    ),
    "manifest_large": (
        "one BatchGetItem, a HEAD and a GET of the manifest blob in S3, the BatchGetItem again for the blob's part "
        "(chalicelib/catalogue/datasets.py `get_manifest`), then 5,000 items parsed and written out: nothing in "
        "it depends on N, so growth here is the machine, not the catalogue"
    ),
}


# -- growth -------------------------------------------------------------------------------


def medians(result: Mapping[str, Any], key: str = "median_ms") -> dict[str, dict[int, float]]:
    """Operation -> {size: median ms} (or ``key``, e.g. ``floor_ms``) over every measured size."""
    out: dict[str, dict[int, float]] = {}
    for size, at in result.get("at", {}).items():
        for op, timing in (at.get("operations") or {}).items():
            if timing and timing.get(key) is not None:
                out.setdefault(op, {})[int(size)] = float(timing[key])
    return out


def growth(by_size: Mapping[str, Mapping[int, float]], limit: float = GROWS_ABOVE) -> dict[str, dict[str, Any]]:
    """Per operation measured at two sizes or more: the ratio of the median at the largest size
    to the one at the smallest, ``grows`` when above ``limit``, and the exponent ``k`` of the
    power law ``t ~ N^k`` through those two points (0 flat, 1 linear)."""
    out: dict[str, dict[str, Any]] = {}
    for op, values in by_size.items():
        sizes = sorted(values)
        if len(sizes) < 2:
            continue
        small, large = sizes[0], sizes[-1]
        ratio = values[large] / values[small] if values[small] > 0 else math.inf
        out[op] = {
            "from": small,
            "to": large,
            "ratio": round(ratio, 2),
            "exponent": round(exponent(values), 2),
            "grows": ratio > limit,
        }
    return out


def exponent(values: Mapping[int, float]) -> float:
    """``k`` of ``t ~ N^k`` through the smallest and the largest size (NaN if undefined)."""
    small, large = min(values), max(values)
    if large == small or values[small] <= 0 or values[large] <= 0:
        return math.nan
    return math.log(values[large] / values[small]) / math.log(large / small)


def projected(value: float, size: int, exponent: float, to: int = PROJECT_TO) -> float:
    """``value`` measured at ``size``, carried to ``to`` along ``t ~ N^exponent``."""
    if math.isnan(exponent):
        return math.nan
    return value * (to / size) ** max(exponent, 0.0)


def linear_projection(points: Mapping[int, float], to: int = PROJECT_TO) -> float:
    """A straight line through the smallest and the largest size's values, read at ``to``
    (memory grows with what is stored); the largest value when there is only one size."""
    sizes = sorted(points)
    if len(sizes) < 2:
        return points[sizes[-1]]
    small, large = sizes[0], sizes[-1]
    slope = (points[large] - points[small]) / (large - small)
    return points[large] + slope * (to - large)


# -- targets ------------------------------------------------------------------------------


def targets_at(operations: Mapping[str, Any]) -> dict[str, str]:
    """The issue's latency targets judged on one size's medians."""
    out = {}
    for op, limit in TARGETS_MS.items():
        timing = operations.get(op)
        if not timing:
            continue
        got = timing["median_ms"]
        floor = timing.get("floor_ms")
        extra = f" (emulator floor {floor:.1f} ms)" if floor is not None else ""
        out[op] = f"<= {limit:.0f} ms: {got:.1f} ms {'met' if got <= limit else 'MISSED'}{extra}"
    return out


def flat_target(grown: Mapping[str, Mapping[str, Any]], op: str = FLAT_OPERATION) -> str | None:
    """ "``op`` flat within 1.5x from the smallest size to the largest", judged on the ratio."""
    g = grown.get(op)
    if g is None:
        return None
    verdict = "MISSED" if g["grows"] else "met"
    return f"{op} flat within {GROWS_ABOVE}x from {g['from']:,} to {g['to']:,}: {g['ratio']}x {verdict}"


# -- the report ---------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _cell(timing: Mapping[str, Any] | None) -> str:
    if not timing:
        return "-"
    floor = timing.get("floor_ms")
    text = f"{_fmt(timing['median_ms'])} / {_fmt(timing['p95_ms'])}"
    text += f" ({_fmt(floor)})" if floor is not None else ""
    return text + (f", {timing['errors']} failed" if timing.get("errors") else "")


def operations_table(result: Mapping[str, Any], grown: Mapping[str, Mapping[str, Any]]) -> list[str]:
    sizes = sorted(int(s) for s in result.get("at", {}))
    project = bool(sizes) and sizes[-1] < PROJECT_TO and len(sizes) > 1
    by_size = medians(result)
    head = ["operation", *(f"N = {s:,}" for s in sizes), "last / first", "grows?"]
    if project:
        head.append(f"projected at {PROJECT_TO:,}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for op in REQUESTS:
        cells = [_cell((result["at"][str(s)].get("operations") or {}).get(op)) for s in sizes]
        g = grown.get(op)
        row = [f"`{op}`", *cells]
        row += [f"{g['ratio']}x (N^{g['exponent']})", "**yes**" if g["grows"] else "no"] if g else ["-", "-"]
        if project:
            values = by_size.get(op, {})
            last = values.get(sizes[-1])
            carried = projected(last, sizes[-1], exponent(values)) if g and last is not None else None
            row.append(f"~{_fmt(carried, 0)} ms" if carried is not None else "-")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def sizes_table(result: Mapping[str, Any]) -> list[str]:
    lines = [
        "| N | datasets found | bulk load s (datasets/s) | catch-up s (+ until idle) | DynamoDB items (est. bytes) | "
        "index docs / Lucene docs / store | RSS MiB (peak): moto / osmem / runner / API / bench |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sorted(int(s) for s in result.get("at", {})):
        at = result["at"][str(size)]
        load = at.get("bulk_load") or {}
        tables = ", ".join(
            f"{name.removeprefix('catalogue-')} {t['items']:,} ({_bytes(t.get('bytes_estimated'))})"
            for name, t in (at.get("tables") or {}).items()
            if t.get("items")
        )
        idx = at.get("index") or {}
        still = at.get("settle") or {}
        idle = f" (+{_fmt(still.get('seconds'))}{'' if still.get('idle', True) else ', not idle'})" if still else ""
        index = f"{idx.get('docs', '-'):,} / {idx.get('lucene_docs', '-'):,} / {_bytes(idx.get('store_bytes'))}"
        mem = at.get("memory_mib") or {}
        memory = " / ".join(
            f"{_mib((mem.get(p) or {}).get('rss'))} ({_mib((mem.get(p) or {}).get('peak'))})"
            for p in ("moto", "osmem", "runner", "chalice-local", "bench")
        )
        lines.append(
            f"| {size:,} | {at.get('datasets', '-'):,} | {_fmt(load.get('seconds'))} ({_fmt(load.get('per_s'))}) | "
            f"{_fmt(at.get('catch_up_s'))}{idle} | {tables} | {index} | {memory} |"
        )
    return lines


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value:.0f} B"


def growth_paragraph(
    grown: Mapping[str, Mapping[str, Any]], floors: Mapping[str, Mapping[str, Any]] | None = None
) -> list[str]:
    """What grows (from the figures) and why (from :data:`WHY`), with what the emulator floor of
    each growing operation did over the same sizes (``floors``: :func:`growth` of the floors)."""
    floors = floors or {}
    if not grown:
        return ["One size only: nothing to compare."]
    any_g = next(iter(grown.values()))
    growing = [op for op in REQUESTS if op in grown and grown[op]["grows"]]
    flat = [op for op in REQUESTS if op in grown and not grown[op]["grows"]]
    span = any_g["to"] / any_g["from"]

    def named(ops: Sequence[str]) -> str:
        return ", ".join(f"`{op}` {grown[op]['ratio']}x" for op in ops) or "none"

    out = [
        f"From {any_g['from']:,} to {any_g['to']:,} datasets ({span:,.0f}x as many), {len(growing)} of "
        f"{len(grown)} operations grew by more than {GROWS_ABOVE}x (median at the largest size over the "
        f"smallest): {named(growing)}. Flat within {GROWS_ABOVE}x: {named(flat)}.",
        "",
    ]
    if growing:
        out += [
            "Why (a table of causes keyed by operation, written from the code in `bench/scale_report.py` WHY, "
            "not derived from this run; the flags above are):",
            "",
        ]
        out += [
            f"- **{op}** ({grown[op]['ratio']}x, ~N^{grown[op]['exponent']}): {WHY[op]}.{_floor(floors.get(op))}"
            for op in growing
        ]
        out.append("")
    return out


def _floor(floor: Mapping[str, Any] | None) -> str:
    """The floor's own growth beside an operation's: whether the emulators' work grew too."""
    if floor is None:
        return ""
    if floor["grows"]:
        return f" Its emulator floor grew {floor['ratio']}x too."
    return (
        f" Its emulator floor did not grow ({floor['ratio']}x): the growth measured here is not the emulators' "
        "work, look at contention on the machine (its p95) or at our own code."
    )


def markdown(result: Mapping[str, Any]) -> str:
    grown = growth(medians(result))
    floors = growth(medians(result, "floor_ms"))
    m = result.get("machine") or {}
    sizes = sorted(int(s) for s in result.get("at", {}))
    out = [
        f"# Our catalogue at {', '.join(f'{s:,}' for s in sizes)} datasets ({result.get('date', '?')})",
        "",
        f"{m.get('cpus', '?')} vCPU {m.get('cpu', '')}, {m.get('memory_gib', '?')} GiB; "
        f"`bench/scale.py` ({result.get('wall_s', '?')} s). One local stack (moto server, osmem-server, the event "
        "runner, chalice local) grown in place: each size registered in-process with the service's bulk path "
        "(`register_many`), the stream consumer left to index it, then every request timed through HTTP by one "
        "sequential client.",
        "",
        "## Latency (median / p95 ms; in brackets the emulator floor: the handler's recorded emulator calls "
        "replayed raw)",
        "",
        *operations_table(result, grown),
        "",
        *(f"- `{op}`: {req}" for op, req in REQUESTS.items()),
        "",
        "## Targets",
        "",
    ]
    for size in sizes:
        targets = result["at"][str(size)].get("targets") or {}
        judged = "; ".join(f"{op} {text}" for op, text in targets.items())
        out.append(f"- N = {size:,}{' (the issue sets them here)' if size == TARGET_SIZE else ''}: {judged}")
    flat = flat_target(grown)
    if flat:
        out.append(f"- {flat}")
    out += ["", "## What grows and why", "", *growth_paragraph(grown, floors)]
    out += ["## Sizes, load and memory", "", *sizes_table(result), ""]
    if len(sizes) > 1 and sizes[-1] < PROJECT_TO:
        mem = _memory_projection(result, sizes)
        if mem:
            out += [f"Memory carried linearly to {PROJECT_TO:,} datasets (RSS, MiB): {mem}.", ""]
    calls = (result["at"][str(sizes[-1])].get("calls") or {}) if sizes else {}
    if calls:
        out += [f"## Emulator calls per request (recorded at N = {sizes[-1]:,})", ""]
        out += [f"- `{op}`: {', '.join(labels)}" for op, labels in calls.items()]
        out.append("")
    notes = result.get("notes") or []
    if notes:
        out += ["## Notes", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(out)


def _memory_projection(result: Mapping[str, Any], sizes: Sequence[int]) -> str:
    parts = []
    total = 0.0
    for proc in ("moto", "osmem", "runner", "chalice-local", "bench"):
        points = {
            s: float(result["at"][str(s)]["memory_mib"][proc]["rss"])
            for s in sizes
            if (result["at"][str(s)].get("memory_mib") or {}).get(proc)
        }
        if not points:
            continue
        value = linear_projection(points)
        total += value
        parts.append(f"{proc} ~{value:,.0f}")
    return ", ".join(parts) + f"; together ~{total / 1024:,.1f} GiB" if parts else ""


def main() -> None:
    """Re-render the markdown of results JSON files: ``python bench/scale_report.py FILE.json``."""
    import json
    import sys
    from pathlib import Path

    for name in sys.argv[1:]:
        path = Path(name)
        path.with_suffix(".md").write_text(markdown(json.loads(path.read_text())))
        print(f"wrote {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
