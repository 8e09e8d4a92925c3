"""An in-memory :class:`~chalicelib.adapters.dynamodb.attempts.AttemptCounter` (tests only)."""

from __future__ import annotations

import threading

from chalicelib.adapters.dynamodb.attempts import AttemptCounter, AttemptsUnavailable


class InMemoryAttemptCounter(AttemptCounter):
    """Counters in a dict, behind a lock (takes are atomic, as the contract requires).

    ``expires`` keeps the ``expires_at`` of each counter's last take (tests read it);
    ``fail=True`` makes every operation raise :class:`AttemptsUnavailable`, as a store that
    cannot be reached. Counters are never forgotten (the contract allows keeping them).
    """

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.expires: dict[str, float] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, expires_at: float) -> bool:
        self._check()
        with self._lock:
            if self._counts.get(key, 0) >= limit:
                return False
            self._counts[key] = self._counts.get(key, 0) + 1
            self.expires[key] = expires_at
            return True

    def give_back(self, key: str) -> None:
        self._check()
        with self._lock:
            if self._counts.get(key, 0) > 0:
                self._counts[key] -= 1

    def count(self, key: str) -> int:
        self._check()
        with self._lock:
            return self._counts.get(key, 0)

    def _check(self) -> None:
        if self.fail:
            raise AttemptsUnavailable("the attempt counters cannot be reached")
