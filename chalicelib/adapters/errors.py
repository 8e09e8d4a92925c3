"""Exceptions the ports raise, shared by every AWS service (no boto3 here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class TransientError(Exception):
    """Throttling, a 5xx or a network timeout: the operation is worth another attempt."""


class EventBusError(Exception):
    """The event bus refused an operation (not worth retrying as it is)."""


class BusNotFound(EventBusError):
    """The event bus does not exist."""


class EventTooLarge(EventBusError, ValueError):
    """An event is over EventBridge's size limit of one entry; nothing of the call was sent."""


@dataclass(frozen=True)
class RefusedEvent:
    """One event of a publication that the bus did not take: its position in the call,
    the bus's error code (e.g. ``ThrottlingException``, ``InvalidArgument``) and message,
    and whether the code is one worth another attempt later."""

    position: int
    code: str
    message: str
    transient: bool


class EventsNotPublished(EventBusError):
    """Some events of a publication were refused (after the retries the adapter makes of
    the transient refusals); every other event of the call was published.

    ``refused`` lists them in call order; :attr:`transient` says whether every one of them
    was refused for a reason that may pass (throttling, an internal failure of the bus).
    """

    def __init__(self, refused: Sequence[RefusedEvent], total: int) -> None:
        first = refused[0] if refused else None
        detail = f": {first.code}: {first.message}" if first else ""
        super().__init__(f"{len(refused)} of {total} events were not published{detail}")
        self.refused = tuple(refused)
        self.total = total

    @property
    def transient(self) -> bool:
        return bool(self.refused) and all(r.transient for r in self.refused)
