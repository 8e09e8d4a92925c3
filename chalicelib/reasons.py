"""Collecting the reasons an upload is refused, so that one answer lists every problem."""

from __future__ import annotations

from collections.abc import Callable, Iterable

MAX_REASONS = 50


class Reasons:
    """Reasons gathered while checking something, at most ``limit`` kept (the rest counted);
    :meth:`raise_if_any` raises them as one ``error(reasons)``."""

    def __init__(self, error: Callable[[list[str]], Exception], limit: int = MAX_REASONS) -> None:
        self.items: list[str] = []
        self.dropped = 0
        self._error = error
        self._limit = limit

    def add(self, reason: str) -> None:
        if len(self.items) < self._limit:
            self.items.append(reason)
        else:
            self.dropped += 1

    def gather(self, reasons: Iterable[str]) -> None:
        for reason in reasons:
            self.add(reason)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            tail = [f"... and {self.dropped} more problems"] if self.dropped else []
            raise self._error(self.items + tail)
