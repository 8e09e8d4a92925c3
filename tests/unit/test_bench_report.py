"""The benchmark harness's arithmetic and report (bench/): verdicts, paired timing, the tables, the chart."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[Any, Any]]:
    saved = list(sys.path)  # bench/run.py puts bench/ and the repository first on the path
    sys.path.insert(0, str(BENCH))
    try:
        import report
        import run

        yield run, report
    finally:
        sys.path[:] = saved


def _result() -> dict[str, Any]:
    def timing(median: float, p95: float) -> dict[str, float]:
        return {"n": 100, "median_ms": median, "p95_ms": p95}

    return {
        "date": "2026-11-24",
        "machine": {"cpu": "Test CPU", "cpus": 2, "memory_gib": 4.0, "os": "Linux", "python": "3.11.7"},
        "n": 1000,
        "table_sizes": {"shared": "datasets table 1000 items"},
        "http_hop_ms": timing(0.46, 0.59),
        "operations": {
            "lookup": {
                "peer": timing(2.2, 3.8),
                "ours": timing(11.4, 15.7),
                "ratio": 5.182,
                "floor_ms": 9.0,
                "inproc_ms": 10.2,
                "paired": {
                    "n": 200,
                    "ours_ms": 12.3,
                    "floor_ms": 10.0,
                    "own_ms": 2.18,
                    "inproc_ms": 10.4,
                    "handler_ms": 0.41,
                    "http_ms": 1.8,
                },
                "verdict": "MISSED (floor-bound: paired ours 12.3 vs floor+1 = 11.0 ms)",
            },
            "search_text": {
                "peer": timing(53.5, 60.6),
                "ours": timing(5.8, 8.3),
                "ours_compat": timing(6.1, 9.0),
                "ratio": 0.108,
                "floor_ms": 7.3,
                "verdict": "met (<= 0.5x peer = 26.8 ms)",
            },
        },
        "ours_only": {"cold_import": {"import_median_ms": 135.0}},
        "throughput": {"lookup": {"1": {"peer": {"ops_per_s": 426.2}, "ours": {"ops_per_s": 99.6}}}},
    }


def test_floor_bound_operations_are_judged_on_the_paired_medians(bench: Any) -> None:
    import judging  # bench/ is on the path while ``bench`` is in use

    pair = {"ours_ms": 10.5, "floor_ms": 9.8, "own_ms": 0.7}
    # the floor (9.0) is above half the peer (1.1): the target is the paired floor + 1 ms
    assert judging.verdict(11.4, 2.2, 9.0, pair).startswith("met (floor-bound: paired ours 10.5 vs floor+1 = 10.8")
    assert judging.verdict(11.4, 2.2, 9.0, {**pair, "ours_ms": 11.0}).startswith("MISSED")
    # without a paired measurement (register) the main median is held against floor + 1
    assert judging.verdict(16.2, 12.7, 15.9).startswith("met (floor-bound: <= floor+1 = 16.9")
    assert judging.verdict(19.5, 14.6, 15.4).startswith("MISSED")
    # a floor below half the peer: 0.5x the peer, whatever the pair says
    assert judging.verdict(5.8, 53.5, 7.3, pair) == "met (<= 0.5x peer = 26.8 ms)"
    assert judging.verdict(11.2, 16.2, 8.0) == "MISSED (<= 0.5x peer = 8.1 ms)"
    assert judging.verdict(11.2, None, 8.0) == ""


def test_paired_alternates_request_replay_and_in_process_and_takes_median_differences(bench: Any) -> None:
    run, _ = bench
    order: list[str] = []
    # HTTP requests 10, 12, 15 ms; in-process 9, 9.5, 14.8 ms
    ticks = iter([0.0, 0.010, 0.020, 0.029, 0.040, 0.052, 0.060, 0.0695, 0.080, 0.095, 0.100, 0.1148])

    def request(arg: int) -> None:
        order.append(f"request {arg}")

    def in_process(arg: int) -> None:
        order.append(f"in-process {arg}")

    replays = iter([8.0, 9.0, 14.5])

    def replay() -> float:
        order.append("replay")
        return next(replays)

    real = run.time.perf_counter
    run.time.perf_counter = lambda: next(ticks)
    try:
        got = run.paired(request, replay, [1, 2, 3], in_process)
    finally:
        run.time.perf_counter = real
    assert order == [
        f"{what} {n}" if what != "replay" else what for n in (1, 2, 3) for what in ("request", "replay", "in-process")
    ]
    assert {k: round(v, 2) for k, v in got.items()} == {
        "n": 3,
        "ours_ms": 12.0,
        "floor_ms": 9.0,
        "own_ms": 2.0,  # 2.0, 3.0, 0.5
        "inproc_ms": 9.5,
        "handler_ms": 0.5,  # 1.0, 0.5, 0.3
        "http_ms": 1.0,  # 1.0, 2.5, 0.2
    }


def test_the_report_has_one_row_per_operation_and_the_hop(bench: Any, tmp_path: Path) -> None:
    _, report = bench
    result = _result()
    text = report.text_table(result)
    assert text.splitlines()[0].split()[:2] == ["operation", "peer"]
    md = report.markdown(result)
    assert (
        "| lookup | 2.2 / 3.8 | 11.4 / 15.7 | - | 5.18 | - | - | - | 9.0 | 10.2 | 12.3 / 10.0 / 2.18 | 0.41 / 1.80 "
        "| MISSED <=11.0 |" in md
    )
    assert (
        "| search_text | 53.5 / 60.6 | 5.8 / 8.3 | 6.1 / 9.0 | 0.11 | - | - | - | 7.3 | - | - | - | met <=26.8 |" in md
    )
    assert "median 0.46 ms" in md and "Test CPU" in md
    assert "| lookup | 1 | 426.2" in md
    json.dumps(result)  # what run.py writes as <date>.json
    png = tmp_path / "chart.png"
    assert report.chart(result, png) is None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
