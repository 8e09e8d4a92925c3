"""An in-memory :class:`~chalicelib.adapters.events.EventBus` (tests and benchmarks only)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from chalicelib.adapters.errors import BusNotFound, EventsNotPublished, RefusedEvent, TransientError
from chalicelib.adapters.events import TRANSIENT_ENTRY_CODES, Event, EventBus, check_events


class InMemoryEventBus(EventBus):
    """Keeps what is published in ``published``, in order, each detail as it would arrive
    (through JSON: tuples become lists) and each event without a time stamped with ``clock``
    when published, as EventBridge stamps the time it receives an event.

    ``exists=False`` makes every publication raise :class:`BusNotFound`;
    ``unreachable=True`` makes it raise :class:`TransientError` (a bus that cannot be
    reached; nothing is published); ``refuse`` names the error code the bus gives an
    event, or ``None`` to take it: refused events raise :class:`EventsNotPublished` once
    the others are published (a transient code is not retried here: the fake's bus would
    refuse it again).
    """

    def __init__(
        self,
        *,
        exists: bool = True,
        unreachable: bool = False,
        refuse: Callable[[Event], str | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.exists = exists
        self.unreachable = unreachable
        self.refuse = refuse
        self._clock = clock
        self.published: list[Event] = []

    def publish(self, events: Sequence[Event]) -> None:
        checked = check_events(events)
        if self.unreachable:
            raise TransientError("the event bus cannot be reached")
        if not self.exists:
            raise BusNotFound("no such event bus")
        refused: list[RefusedEvent] = []
        for position, (event, (detail, _)) in enumerate(zip(events, checked, strict=True)):
            code = self.refuse(event) if self.refuse is not None else None
            if code is not None:
                refused.append(RefusedEvent(position, code, "refused by the fake", code in TRANSIENT_ENTRY_CODES))
                continue
            stamped = event.time if event.time is not None else self._clock()
            self.published.append(replace(event, detail=json.loads(detail), time=stamped))
        if refused:
            raise EventsNotPublished(refused, len(events))

    def of_type(self, detail_type: str) -> list[Event]:
        """The published events of ``detail_type``, in order."""
        return [e for e in self.published if e.detail_type == detail_type]
