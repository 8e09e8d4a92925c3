"""The local stack's moto launcher: its cheap SQS clock reads the same time as moto's own."""

from __future__ import annotations

import datetime
import time

import pytest
from moto.core import utils
from moto.sqs import models

from infra.local.moto_server import fast_sqs_clock


def test_the_fast_sqs_clock_tells_moto_the_same_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "unix_time", models.unix_time)
    monkeypatch.setattr(models, "unix_time_millis", models.unix_time_millis)
    before = utils.unix_time()
    fast_sqs_clock()
    assert models.unix_time is not utils.unix_time
    now, now_ms = models.unix_time(), models.unix_time_millis()
    after = utils.unix_time()
    assert before - 0.01 <= now <= after + 0.01
    assert abs(now_ms / 1000 - time.time()) < 1
    moment = datetime.datetime(2026, 12, 6, 4, 30)  # naive UTC, as moto keeps its times
    assert models.unix_time(moment) == utils.unix_time(moment)
    assert models.unix_time_millis(moment) == utils.unix_time_millis(moment)
