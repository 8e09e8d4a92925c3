"""The scale benchmark's arithmetic and report (bench/scale.py, bench/scale_report.py): what grows
is flagged from the figures, the tables have a row per operation and a column per size."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[Any, Any]]:
    saved = list(sys.path)  # bench/scale.py puts bench/ and the repository first on the path
    sys.path.insert(0, str(BENCH))
    try:
        import scale
        import scale_report

        yield scale, scale_report
    finally:
        sys.path[:] = saved


def _timing(median: float, floor: float | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"n": 100, "median_ms": median, "p95_ms": median * 1.5}
    if floor is not None:
        out["floor_ms"] = floor
    return out


def _result(summary_at_last: float = 14.0) -> dict[str, Any]:
    def at(size: int, text: float, summary: float, lookup: float) -> dict[str, Any]:
        return {
            "datasets": size,
            "bulk_load": {"added": size, "seconds": size / 100, "per_s": 100.0},
            "catch_up_s": 1.5,
            "operations": {
                "search_text": _timing(text, text - 2),
                "summary": _timing(summary, summary - 3),
                "lookup": _timing(lookup),
            },
            "tables": {"catalogue-datasets": {"items": size, "bytes_estimated": size * 2_300}},
            "index": {"docs": size, "lucene_docs": 7 * size, "store_bytes": size * 5_000},
            "memory_mib": {"moto": {"rss": 200 + size / 100, "peak": 210 + size / 100}},
        }

    result = {
        "date": "2026-12-07",
        "machine": {"cpu": "Test CPU", "cpus": 2, "memory_gib": 4.0},
        "at": {
            "1000": at(1000, 4.0, 10.0, 6.0),
            "10000": at(10_000, 30.0, 12.0, 6.5),
            "100000": at(100_000, 300.0, summary_at_last, 7.0),
        },
    }
    result["at"]["1000"]["operations"]["lookup"] |= {"errors": 2, "first_error": "search answered 503"}
    return result


def test_an_operation_grows_when_its_median_grows_more_than_one_and_a_half_times(bench: Any) -> None:
    _, sr = bench
    grown = sr.growth(sr.medians(_result()))
    assert grown["search_text"] == {"from": 1000, "to": 100_000, "ratio": 75.0, "exponent": 0.94, "grows": True}
    assert grown["summary"]["ratio"] == 1.4 and not grown["summary"]["grows"]
    assert not grown["lookup"]["grows"]
    # exactly 1.5x is still flat; just above it grows
    assert not sr.growth({"op": {1000: 10.0, 2000: 15.0}})["op"]["grows"]
    assert sr.growth({"op": {1000: 10.0, 2000: 15.1}})["op"]["grows"]
    # one size only: nothing to compare
    assert sr.growth({"op": {1000: 10.0}}) == {}


def test_the_targets_are_judged_per_size_and_the_summary_on_its_flatness(bench: Any) -> None:
    _, sr = bench
    targets = sr.targets_at(_result()["at"]["10000"]["operations"])
    assert targets["search_text"] == "<= 15 ms: 30.0 ms MISSED (emulator floor 28.0 ms)"
    assert targets["summary"] == "<= 30 ms: 12.0 ms met (emulator floor 9.0 ms)"
    assert sr.flat_target(sr.growth(sr.medians(_result()))).endswith("1.4x met")
    assert sr.flat_target(sr.growth(sr.medians(_result(summary_at_last=16.0)))).endswith("1.6x MISSED")


def test_projections_follow_the_measured_power_law_and_memory_a_straight_line(bench: Any) -> None:
    _, sr = bench
    assert sr.projected(30.0, 10_000, 1.0) == pytest.approx(300.0)
    assert sr.projected(30.0, 10_000, -0.2) == pytest.approx(30.0)  # never projected to shrink
    assert sr.linear_projection({1000: 210.0, 10_000: 300.0}) == pytest.approx(1200.0)
    assert sr.linear_projection({1000: 210.0}) == 210.0


def test_the_report_has_a_row_per_operation_a_column_per_size_and_explains_only_what_grows(bench: Any) -> None:
    _, sr = bench
    md = sr.markdown(_result())
    assert "| operation | N = 1,000 | N = 10,000 | N = 100,000 | last / first | grows? |" in md
    row = next(line for line in md.splitlines() if line.startswith("| `search_text` |"))
    assert "4.0 / 6.0 (2.0)" in row and "300.0 / 450.0 (298.0)" in row and "75.0x" in row and "**yes**" in row
    lookup = next(line for line in md.splitlines() if line.startswith("| `lookup` |"))
    assert lookup.endswith("| no |") and "| 6.0 / 9.0, 2 failed |" in lookup
    # the growth paragraph: flags from the figures, causes from the table keyed by operation
    assert "1 of 3 operations grew by more than 1.5x" in md
    assert "a table of causes keyed by operation" in md
    assert f"**search_text** (75.0x, ~N^0.94): {sr.WHY['search_text']}. Its emulator floor grew 149.0x too." in md
    assert sr.WHY["lookup"] not in md and sr.WHY["summary"] not in md
    assert "summary flat within 1.5x from 1,000 to 100,000: 1.4x met" in md
    assert "| 10,000 | 10,000 | 100.0 (100.0) | 1.5 | datasets 10,000 (23.0 MB) | 10,000 / 70,000 / 50.0 MB |" in md
    assert "projected at" not in md  # the largest size is 100k already


def test_a_run_below_100k_carries_its_figures_to_100k(bench: Any) -> None:
    _, sr = bench
    result = _result()
    del result["at"]["100000"]
    md = sr.markdown(result)
    row = next(line for line in md.splitlines() if line.startswith("| `search_text` |"))
    assert row.endswith("| ~225 ms |")  # 4 -> 30 ms over 10x (7.5x): 30 ms carried 10x further
    assert "Memory carried linearly to 100,000 datasets (RSS, MiB): moto ~1,200" in md


def test_dynamodb_item_sizes_follow_dynamodbs_rules(bench: Any) -> None:
    scale, _ = bench
    item = {
        "pk": {"S": "dataset#abc"},  # 2 + 11
        "n": {"N": "12345"},  # 1 + (5 + 1) // 2 + 1
        "ok": {"BOOL": True},  # 2 + 1
        "tags": {"L": [{"S": "soil"}, {"S": "é"}]},  # 4 + 3 + (1 + 4) + (1 + 2)
        "m": {"M": {"k": {"S": "v"}}},  # 1 + 3 + (1 + 1 + 1)
    }
    assert scale.item_bytes(item) == 13 + 5 + 3 + 15 + 7
    with pytest.raises(ValueError):
        scale.item_bytes({"x": {"Q": "?"}})


def test_sizes_and_store_sizes_are_parsed(bench: Any) -> None:
    scale, _ = bench
    assert scale.parse_sizes("10000, 1000,1_000") == (1000, 10_000)
    for bad in ("", "10,abc", "50,1000"):
        with pytest.raises(argparse.ArgumentTypeError):
            scale.parse_sizes(bad)
    assert scale._store_bytes("744.4kb") == 762_266
    assert scale._store_bytes("1048576") == 1_048_576
    assert scale._store_bytes(None) == 0


def test_run_py_takes_the_sizes(bench: Any) -> None:
    import run

    assert run.parse_args(["--quick"]).sizes == (200, 1000, 2000)
    assert run.parse_args([]).sizes == (1000, 10_000, 100_000)
    assert run.parse_args(["--sizes", "1000,10000"]).sizes == (1000, 10_000)
    assert run.parse_args(["--skip-large"]).skip_scale


def test_a_growth_whose_floor_stayed_flat_is_not_blamed_on_the_emulators(bench: Any) -> None:
    _, sr = bench
    grown = sr.growth({"lookup": {1000: 6.0, 100_000: 12.0}, "summary": {1000: 10.0, 100_000: 11.0}})
    floors = sr.growth({"lookup": {1000: 4.0, 100_000: 4.4}})
    text = "\n".join(sr.growth_paragraph(grown, floors))
    assert "1 of 2 operations grew" in text and "`summary` 1.1x" in text
    assert f"**lookup** (2.0x, ~N^0.15): {sr.WHY['lookup']}. Its emulator floor did not grow (1.1x)" in text
    assert sr.growth_paragraph({}) == ["One size only: nothing to compare."]
