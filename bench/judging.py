"""How one of our operations is judged against a peer: ``paired`` times our request, its raw
emulator floor and the in-process handler back to back; ``verdict`` applies the 0.5x-the-peer
target, or floor + 1 ms where the emulator floor alone is above it (issue 16)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def paired(
    request: Callable[[Any], Any],
    replay: Callable[[], float],
    args: list[Any],
    in_process: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """Our HTTP request, a raw replay of its emulator calls and (if given) the same request
    in-process, in turn, ``len(args)`` times.

    Timed back to back, they see the same machine state, so ``own_ms`` (the median of the
    per-round differences ours - floor) is our own time without the drift that separates
    the main timing phase from a floor measured later in the run; ``handler_ms`` (in-process
    - floor) is the part spent in the handler, ``http_ms`` (ours - in-process) the part spent
    in the HTTP client and ``chalice local``.
    """
    ours, floor, inproc = [], [], []
    for arg in args:
        t0 = time.perf_counter()
        request(arg)
        ours.append((time.perf_counter() - t0) * 1000)
        floor.append(replay())
        if in_process is not None:
            t0 = time.perf_counter()
            in_process(arg)
            inproc.append((time.perf_counter() - t0) * 1000)
    out: dict[str, Any] = {
        "n": len(args),
        "ours_ms": round(statistics.median(ours), 2),
        "floor_ms": round(statistics.median(floor), 2),
        "own_ms": round(statistics.median([o - f for o, f in zip(ours, floor, strict=True)]), 2),
    }
    if inproc:
        out["inproc_ms"] = round(statistics.median(inproc), 2)
        out["handler_ms"] = round(statistics.median([i - f for i, f in zip(inproc, floor, strict=True)]), 2)
        out["http_ms"] = round(statistics.median([o - i for o, i in zip(ours, inproc, strict=True)]), 2)
    return out


OWN_LIMIT_MS = 1.0


def verdict(ours_ms: float, peer_ms: float | None, floor_ms: float | None, pair: dict[str, Any] | None = None) -> str:
    """0.5x the peer's median; where the floor alone is above that, floor + 1 ms, judged on
    the paired measurement when there is one (our time and the floor timed alternately).

    Floor + 1 ms is judged on the handler's own time (in-process minus the floor: our code
    and Chalice's request handling, which runs in Lambda too) when it was measured: the HTTP
    hop of ``chalice local`` (the local dev server; API Gateway's in AWS) alone is above 1 ms
    here (``GET /health``), so ours through it can never be within floor + 1 ms. Issue 16."""
    if peer_ms is None:
        return ""
    half = 0.5 * peer_ms
    if floor_ms is not None and floor_ms > half:
        if pair and "handler_ms" in pair:
            own = pair["handler_ms"]
            return (
                f"{'met' if own <= OWN_LIMIT_MS else 'MISSED'} (floor-bound: handler own {own:.2f} ms "
                f"<= {OWN_LIMIT_MS:.0f} ms; chalice local's HTTP {pair.get('http_ms', 0):.2f} ms apart)"
            )
        if pair:
            target = pair["floor_ms"] + 1.0
            return (
                f"{'met' if pair['ours_ms'] <= target else 'MISSED'} "
                f"(floor-bound: paired ours {pair['ours_ms']:.1f} vs floor+1 = {target:.1f} ms)"
            )
        target = floor_ms + 1.0
        return f"{'met' if ours_ms <= target else 'MISSED'} (floor-bound: <= floor+1 = {target:.1f} ms)"
    return f"{'met' if ours_ms <= half else 'MISSED'} (<= 0.5x peer = {half:.1f} ms)"
