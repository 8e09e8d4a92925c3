"""The event bus port (EventBridge) and its boto3 adapter.

:class:`EventBus` is what the change feed publishes to (the stream consumer,
:mod:`chalicelib.catalogue.streams`, sends what :mod:`chalicelib.catalogue.change_feed`
derives); :class:`EventBridgeBus` implements it over an injected boto3 ``events`` client. The
in-memory fake is ``tests.fakes.events.InMemoryEventBus``; both pass
``tests/contract/test_event_bus_contract.py``. AWS error codes stop here: callers see
:class:`~chalicelib.adapters.errors.BusNotFound`, :class:`~chalicelib.adapters.errors.EventTooLarge`,
:class:`~chalicelib.adapters.errors.EventsNotPublished`,
:class:`~chalicelib.adapters.errors.EventBusError` and
:class:`~chalicelib.adapters.errors.TransientError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.aws import error_code, transient_as
from chalicelib.adapters.errors import BusNotFound, EventBusError, EventsNotPublished, EventTooLarge, RefusedEvent
from chalicelib.retries import full_jitter

MAX_ENTRIES = 10  # EventBridge: at most 10 entries per PutEvents call
# EventBridge: one entry, and one PutEvents call (the sum of its entries), at most 256 KB, sized
# as EventBridge sizes them (entry_size)
MAX_ENTRY_BYTES = 256 * 1024
TIME_BYTES = 14  # what EventBridge counts for an entry's Time, whatever its value
MAX_SOURCE_CHARS = 256
MAX_DETAIL_TYPE_CHARS = 128
# the error codes of one refused entry that may pass (the others, e.g. InvalidArgument,
# MalformedDetail, AccessDeniedException, would be refused again)
TRANSIENT_ENTRY_CODES = frozenset({"ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable"})
# a bus that does not exist: the whole call's code (moto) or one entry's (EventBridge)
_MISSING_CODES = frozenset({"ResourceNotFoundException", "NotFoundException"})


@dataclass(frozen=True)
class Event:
    """One event as published: ``detail`` is a JSON object; ``time`` is seconds since the
    epoch (``None``: EventBridge stamps the time it receives the event)."""

    source: str
    detail_type: str
    detail: Mapping[str, Any]
    time: float | None = None

    def detail_json(self) -> str:
        """The detail as sent: compact JSON, keys sorted, non-ASCII kept (EventBridge sizes UTF-8)."""
        return json.dumps(self.detail, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False)


def entry_size(event: Event, detail_json: str | None = None) -> int:
    """The size EventBridge counts for ``event``'s PutEvents entry (its Time 14 bytes when
    set; source, detail type and detail as UTF-8 bytes)."""
    detail = event.detail_json() if detail_json is None else detail_json
    time_bytes = TIME_BYTES if event.time is not None else 0
    return time_bytes + sum(len(text.encode("utf-8")) for text in (event.source, event.detail_type, detail))


def check_events(events: Sequence[Event]) -> list[tuple[str, int]]:
    """Each event's detail JSON and entry size, once every event is found publishable
    (every implementation checks alike, before anything is sent).

    Raises:
        ValueError: an empty or too long source or detail type, a detail that is not a
            JSON object (or holds NaN or infinity), a time that is not a finite number.
        EventTooLarge: an entry over :data:`MAX_ENTRY_BYTES`.
    """
    checked: list[tuple[str, int]] = []
    for position, event in enumerate(events):
        if not 0 < len(event.source) <= MAX_SOURCE_CHARS:
            raise ValueError(f"event {position}: a source is 1 to {MAX_SOURCE_CHARS} characters")
        if not 0 < len(event.detail_type) <= MAX_DETAIL_TYPE_CHARS:
            raise ValueError(f"event {position}: a detail type is 1 to {MAX_DETAIL_TYPE_CHARS} characters")
        if not isinstance(event.detail, Mapping):
            raise ValueError(f"event {position}: the detail must be a JSON object")
        if event.time is not None and not math.isfinite(event.time):
            raise ValueError(f"event {position}: the time must be a finite number of seconds")
        try:
            detail = event.detail_json()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"event {position}: the detail is not JSON: {exc}") from exc
        size = entry_size(event, detail)
        if size > MAX_ENTRY_BYTES:
            raise EventTooLarge(f"event {position} ({event.detail_type}) is {size} bytes; at most {MAX_ENTRY_BYTES}")
        checked.append((detail, size))
    return checked


def batches(positions: Sequence[int], sizes: Sequence[int]) -> Iterator[list[int]]:
    """``positions`` in order, cut into PutEvents calls: at most :data:`MAX_ENTRIES` entries
    and :data:`MAX_ENTRY_BYTES` bytes (``sizes[position]``) each."""
    batch: list[int] = []
    total = 0
    for position in positions:
        if batch and (len(batch) == MAX_ENTRIES or total + sizes[position] > MAX_ENTRY_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(position)
        total += sizes[position]
    if batch:
        yield batch


class EventBus(ABC):
    """One event bus: the events published reach the rules that match them, at least once.

    - ``publish(events)`` MUST publish every event, whatever their number (the limits of one
      PutEvents call, 10 entries and 256 KB, are the implementation's business). EventBridge
      keeps no order between events: consumers order by what the events carry.
    - Before anything is sent it MUST check every event as :func:`check_events` does: an
      entry over :data:`MAX_ENTRY_BYTES` raises :class:`~chalicelib.adapters.errors.EventTooLarge`,
      a malformed one ``ValueError``; then nothing of the call is published.
    - Events the bus refuses for a reason that may pass (throttling, an internal failure) it
      SHOULD publish again a bounded number of times. Any event still refused MUST raise
      :class:`~chalicelib.adapters.errors.EventsNotPublished` naming each, once every event
      was tried; the others are published (publishing again is the way to recover:
      consumers de-duplicate by the id in the detail).
    - A bus that does not exist MUST raise :class:`~chalicelib.adapters.errors.BusNotFound`;
      a whole call throttled or a bus that cannot be reached SHOULD raise
      :class:`~chalicelib.adapters.errors.TransientError`.
    """

    @abstractmethod
    def publish(self, events: Sequence[Event]) -> None: ...


class EventBridgeBus(EventBus):
    """The bus named ``bus_name`` through a boto3 ``events`` client.

    Refused entries with a code of :data:`TRANSIENT_ENTRY_CODES` are sent again, up to
    ``attempts`` sends in all, after a pause drawn by ``jitter`` below a bound of ``backoff``
    seconds doubling each time (full jitter: uniform in [0, bound], so that the writers a
    throttle refused together do not all come back together); ``sleep`` and ``jitter`` are
    injectable for tests. A call that fails as a whole is left to botocore's own retries.
    """

    def __init__(
        self,
        client: Any,
        bus_name: str,
        *,
        attempts: int = 3,
        backoff: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = full_jitter,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._client = client
        self.bus_name = bus_name
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._jitter = jitter

    def publish(self, events: Sequence[Event]) -> None:
        checked = check_events(events)
        entries = [self._entry(event, detail) for event, (detail, _) in zip(events, checked, strict=True)]
        sizes = [size for _, size in checked]
        refused: dict[int, RefusedEvent] = {}
        pending = list(range(len(events)))
        for attempt in range(self._attempts):
            if not pending:
                break
            if attempt:
                self._sleep(self._jitter(self._backoff * 2 ** (attempt - 1)))
            for batch in batches(pending, sizes):
                results = self._put([entries[i] for i in batch])
                for position, result in zip(batch, results, strict=True):
                    code = result.get("ErrorCode")
                    if not code:
                        refused.pop(position, None)
                        continue
                    if code in _MISSING_CODES:
                        raise BusNotFound(f"no event bus {self.bus_name!r}: {result.get('ErrorMessage', '')}")
                    refused[position] = RefusedEvent(
                        position, str(code), str(result.get("ErrorMessage", "")), code in TRANSIENT_ENTRY_CODES
                    )
            pending = [p for p, r in sorted(refused.items()) if r.transient]
        if refused:
            raise EventsNotPublished([refused[p] for p in sorted(refused)], len(events))

    def _entry(self, event: Event, detail: str) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "Source": event.source,
            "DetailType": event.detail_type,
            "Detail": detail,
            "EventBusName": self.bus_name,
        }
        if event.time is not None:
            entry["Time"] = dt.datetime.fromtimestamp(event.time, tz=dt.UTC)
        return entry

    def _put(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One PutEvents call; its result per entry, in the entries' order."""
        with self._errors("PutEvents"):
            response = self._client.put_events(Entries=entries)
        results = list(response.get("Entries", []))
        if len(results) != len(entries):
            raise EventBusError(f"PutEvents on {self.bus_name}: {len(results)} results for {len(entries)} entries")
        return results

    @contextlib.contextmanager
    def _errors(self, operation: str) -> Iterator[None]:
        """botocore's errors as the port's: missing bus, transient failure, anything else."""
        try:
            with transient_as(f"{operation} on {self.bus_name}"):
                yield
        except ClientError as exc:
            if error_code(exc) in _MISSING_CODES:
                raise BusNotFound(f"no event bus {self.bus_name!r}") from exc
            raise EventBusError(f"{operation} on {self.bus_name}: {exc}") from exc
        except BotoCoreError as exc:  # no credentials, a parameter botocore refuses, ...
            raise EventBusError(f"{operation} on {self.bus_name}: {exc}") from exc
