"""The loop of edits sent without a version (issue 22, T2): a lost race is tried again after
a jittered, growing pause, a bounded number of times; nothing else is retried."""

from __future__ import annotations

import pytest

from chalicelib.errors import NotFound, VersionConflict
from chalicelib.retries import MAX_WRITE_ATTEMPTS, pause_before, retry_lost_races


def test_the_pause_grows_with_the_attempts_and_is_capped() -> None:
    for attempt in range(12):
        bound = 0.005 * 2 ** min(attempt, 6)
        assert all(0 <= pause_before(attempt) <= bound for _ in range(50))
    assert max(pause_before(20) for _ in range(200)) <= 0.32


def test_lost_races_are_tried_again_until_one_is_won() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def attempt() -> str:
        calls.append(len(calls))
        if len(calls) < 3:
            raise VersionConflict("version 1 is no longer current", current_version=2)
        return "saved"

    assert retry_lost_races(attempt, sleep=sleeps.append, gave_up="busy") == "saved"
    assert len(calls) == 3 and len(sleeps) == 2


def test_after_the_last_attempt_the_conflict_names_no_version() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def attempt() -> None:
        calls.append(1)
        raise VersionConflict("version 1 is no longer current", current_version=2)

    with pytest.raises(VersionConflict) as caught:
        retry_lost_races(attempt, sleep=sleeps.append, gave_up="the run 1 is being changed by others; try again")
    assert str(caught.value) == "the run 1 is being changed by others; try again"
    assert caught.value.current_version is None
    assert len(calls) == MAX_WRITE_ATTEMPTS and len(sleeps) == MAX_WRITE_ATTEMPTS - 1


def test_any_other_error_ends_the_loop_as_it_is() -> None:
    calls: list[int] = []
    sleeps: list[float] = []

    def attempt() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise VersionConflict("version 1 is no longer current")
        raise NotFound("gone")

    with pytest.raises(NotFound, match="gone"):
        retry_lost_races(attempt, sleep=sleeps.append, gave_up="busy")
    assert len(calls) == 2 and len(sleeps) == 1
    with pytest.raises(ValueError):
        retry_lost_races(lambda: None, sleep=sleeps.append, gave_up="busy", attempts=0)
