"""Edits without a version, applied as if concurrent edits had been serialized.

Our stores are versioned: a save names the version it read, and a save that another write
overtook raises :class:`~chalicelib.errors.VersionConflict`. An API whose edits carry a
version (the catalogue's own) answers that 409 at once: its client asked for that version.
The APIs we imitate have no versions (the Data Tracker's ``/api/v1``, myMdC, the
metadata-submitter: last writer wins), so their clients do not expect a 409 from a race
they cannot see. For them :func:`retry_lost_races` runs the whole edit again (read the
record, apply and check the change on what it holds now, save at that version) after a
jittered exponential pause, a bounded number of times; only then does the conflict reach
the client. A change that is no longer valid on the newer state fails as the API's
validation does, on that attempt.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from chalicelib.errors import VersionConflict

MAX_WRITE_ATTEMPTS = 10
Sleep = Callable[[float], None]
T = TypeVar("T")


def full_jitter(bound: float) -> float:
    """A pause uniform in [0, ``bound``] seconds: writers refused together spread out."""
    return random.uniform(0, bound)


def pause_before(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (after ``attempt``, from 0, lost):
    uniform in [0, 5 ms · 2^attempt], the bound capped at 320 ms."""
    return full_jitter(0.005 * 2 ** min(attempt, 6))


def retry_lost_races(attempt: Callable[[], T], *, sleep: Sleep, gave_up: str, attempts: int = MAX_WRITE_ATTEMPTS) -> T:
    """``attempt()``, called again after a pause (:func:`pause_before`) each time it raises
    VersionConflict, at most ``attempts`` times in all; then VersionConflict(``gave_up``): a
    message for a client that sent no version, so naming none. ``attempt`` reads the current
    record, applies the change to it and saves at the version it read; any other error it
    raises (NotFound, a validation error, Forbidden...) ends the loop as it is.

    Only for edits sent without a version: an edit that names one calls its attempt once.
    """
    if attempts < 1:
        raise ValueError("at least one attempt")
    for number in range(attempts - 1):
        try:
            return attempt()
        except VersionConflict:
            sleep(pause_before(number))
    try:
        return attempt()
    except VersionConflict as exc:
        raise VersionConflict(gave_up) from exc
