"""Attempt counters shared by every container: the port and its DynamoDB (pynamodb) adapter.

The sign-in rate limit (:mod:`chalicelib.identity.sign_in`) counts attempts here, so that the
limit holds however many Lambda containers answer ``POST /token``. Each counter is one item
of the sign-in attempts table (:class:`~chalicelib.adapters.dynamodb.tables.AttemptItem`),
changed only by a conditional ``UpdateItem`` with ``ADD``: DynamoDB applies it atomically per
item, so concurrent takes can never pass the limit. The in-memory fake is
``tests.fakes.attempts.InMemoryAttemptCounter``; both pass
``tests/contract/test_attempts_contract.py``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib.adapters.dynamodb.tables import AttemptItem

CONDITION_FAILED = "ConditionalCheckFailedException"


class AttemptsUnavailable(Exception):
    """The counters cannot be read or written (throttling, network, a missing table)."""


class AttemptCounter(ABC):
    """Named counters with a ceiling, for fixed-window rate limits.

    - ``take(key, limit, expires_at)`` MUST add one to the counter ``key`` and return True
      when it held fewer than ``limit``; otherwise it MUST change nothing and return False.
      It MUST be atomic: of any number of concurrent takes on a counter that holds
      ``limit - n``, exactly ``n`` succeed. An unknown key holds 0. ``expires_at`` (seconds
      since the epoch) is when the counter may be forgotten: the store MAY delete it any time
      after that, never before (callers put the window in the key and never rely on the
      deletion).
    - ``give_back(key)`` MUST take one back from a counter above 0, and MUST do nothing to a
      counter at 0 or to an unknown key (it never goes below 0, never creates a counter).
    - ``count(key)`` MUST return what the counter holds now (0 for an unknown key).
    - Any failure to reach the store MUST raise :class:`AttemptsUnavailable`.
    """

    @abstractmethod
    def take(self, key: str, limit: int, expires_at: float) -> bool: ...

    @abstractmethod
    def give_back(self, key: str) -> None: ...

    @abstractmethod
    def count(self, key: str) -> int: ...


class DynamoAttemptCounter(AttemptCounter):
    """Counters in the sign-in attempts table (bound by :func:`~chalicelib.adapters.dynamodb.tables.bind`).

    ``take`` is ``UpdateItem ADD attempts 1, SET expires_at`` on the condition
    ``attribute_not_exists(attempts) OR attempts < limit``; ``give_back`` is ``ADD attempts -1``
    on ``attempts > 0`` (false for a missing item, so nothing is created).
    """

    def take(self, key: str, limit: int, expires_at: float) -> bool:
        if limit < 1:
            return False
        try:
            AttemptItem(key).update(
                actions=[
                    AttemptItem.attempts.add(1),
                    AttemptItem.expires_at.set(datetime.fromtimestamp(expires_at, UTC)),
                ],
                condition=AttemptItem.attempts.does_not_exist() | (AttemptItem.attempts < limit),
            )
        except UpdateError as exc:
            if exc.cause_response_code == CONDITION_FAILED:
                return False
            raise AttemptsUnavailable(f"counting an attempt failed: {exc.cause_response_code or exc}") from exc
        except PynamoDBException as exc:
            raise AttemptsUnavailable(f"counting an attempt failed: {exc}") from exc
        return True

    def give_back(self, key: str) -> None:
        try:
            AttemptItem(key).update(actions=[AttemptItem.attempts.add(-1)], condition=AttemptItem.attempts > 0)
        except UpdateError as exc:
            if exc.cause_response_code == CONDITION_FAILED:
                return
            raise AttemptsUnavailable(f"giving an attempt back failed: {exc.cause_response_code or exc}") from exc
        except PynamoDBException as exc:
            raise AttemptsUnavailable(f"giving an attempt back failed: {exc}") from exc

    def count(self, key: str) -> int:
        try:
            return int(AttemptItem.get(key, consistent_read=True).attempts)
        except DoesNotExist:
            return 0
        except PynamoDBException as exc:
            raise AttemptsUnavailable(f"reading a counter failed: {exc}") from exc
