"""The operator's dead-letter commands over the queue port (the in-memory fake)."""

from __future__ import annotations

import json

from chalicelib.ingest.dlq import list_dead_letters, redrive
from tests.fakes.queues import InMemoryQueue

NOW = 1_800_000_000.0


def notification(bucket: str, *keys: str) -> str:
    return json.dumps({"Records": [{"s3": {"bucket": {"name": bucket}, "object": {"key": k}}} for k in keys]})


def test_listing_names_the_objects_and_leaves_every_letter_in_the_queue() -> None:
    dlq = InMemoryQueue(clock=lambda: NOW)
    dlq.send(notification("lab", "runs/caf%C3%A9+1/dataset.json", "runs/2/dataset.json"))
    dlq.send("not json")
    letters = list_dead_letters(dlq)
    assert sorted(letter.keys for letter in letters) == [
        [],
        ["s3://lab/runs/café 1/dataset.json", "s3://lab/runs/2/dataset.json"],
    ]
    assert {(letter.receive_count, letter.sent_at) for letter in letters} == {(1, str(int(NOW * 1000)))}
    assert next(letter for letter in letters if not letter.keys).body == "not json"
    # visible again at once: a second listing sees them all, received once more
    assert {letter.receive_count for letter in list_dead_letters(dlq)} == {2}


def test_listing_stops_at_the_limit() -> None:
    dlq = InMemoryQueue()
    dlq.send_batch([f"m{i}" for i in range(25)])
    assert len(list_dead_letters(dlq, limit=12)) == 12
    assert len(list_dead_letters(dlq, limit=100)) == 25


def test_redrive_moves_every_letter_back_once() -> None:
    dlq, queue = InMemoryQueue(), InMemoryQueue()
    bodies = [notification("lab", f"runs/{i}/dataset.json") for i in range(23)]
    dlq.send_batch(bodies)
    list_dead_letters(dlq)  # a listing before does not hide any
    assert redrive(dlq, queue) == 23
    assert sorted(queue.sent) == sorted(bodies) and len(dlq) == 0
    assert redrive(dlq, queue) == 0


def test_redrive_stops_once_the_limit_is_reached() -> None:
    dlq, queue = InMemoryQueue(), InMemoryQueue()
    dlq.send_batch([f"m{i}" for i in range(25)])
    assert redrive(dlq, queue, limit=10) == 10
    assert len(queue) == 10 and len(dlq) == 15
