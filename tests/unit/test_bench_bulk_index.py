"""bench/bulk_index.py's verdict on the 500 new datasets/s target (issue 24)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bulk_index import judge


def result(new: float, floor: float | None, moto_ms: float | None = 7.8) -> dict[str, Any]:
    cpu = {"client (bulk index)": 7.4} | ({"moto": moto_ms} if moto_ms is not None else {})
    out: dict[str, Any] = {"first_run": {"datasets_per_s": new, "cpu_ms_per_dataset": cpu}}
    if floor is not None:
        out["profile_and_floor"] = {"floor": {"new_datasets_per_s": floor}}
    return out


def test_met_at_or_above_the_target() -> None:
    assert judge(result(500.0, None)).startswith("met: 500.0 new datasets/s")
    assert judge(result(612.3, 200.0)).startswith("met")


def test_a_floor_below_the_target_forbids_it_with_the_moto_ceiling() -> None:
    text = judge(result(80.3, 128.9, moto_ms=7.83))
    assert text.startswith("MISSED, the floor forbids it: 80.3 new datasets/s < 500/s")
    assert "replayed raw, run at 128.9/s" in text
    assert "7.83 ms of CPU per new dataset" in text and "at most 128/s" in text


def test_a_floor_above_the_target_blames_our_code() -> None:
    text = judge(result(300.0, 700.0))
    assert text.startswith("MISSED: 300.0") and "our own code limits it" in text


def test_without_the_floor_it_says_so_and_still_gives_the_ceiling() -> None:
    assert "floor not measured" in judge(result(90.0, None))
    assert "moto" not in judge(result(90.0, None, moto_ms=None))
    assert "at most" in judge(result(90.0, None, moto_ms=4.0))
