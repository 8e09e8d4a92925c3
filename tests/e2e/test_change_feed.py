"""The change feed over the local stack: an upload registered by the ingest path produces a
``dataset.registered`` event on the local queue (EventBridge bus → rule → SQS in the moto
server), as README "Change feed" tells a new user to check."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import resources
from infra.local.stack import LocalStack
from tests.e2e.helpers import persona, sidecar_dataset, wait_for


def test_a_registration_produces_a_change_event_on_the_local_queue(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    _, uuid = sidecar_dataset(stack, admin, {"a.txt": b"alpha"}, "feed-e2e")
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=resources.LOCAL_EVENTS_QUEUE)["QueueUrl"]
    seen: list[dict[str, Any]] = []

    def registered() -> bool:
        # other tests of this session publish too: keep reading until ours arrives
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        seen.extend(json.loads(m["Body"]) for m in messages)
        return any(e["detail-type"] == "dataset.registered" and e["detail"]["uuid"] == uuid for e in seen)

    assert wait_for(registered, timeout=60), [e["detail-type"] for e in seen]
    ours = [e for e in seen if e["detail"].get("uuid") == uuid]
    event = next(e for e in ours if e["detail-type"] == "dataset.registered")
    assert event["source"].startswith("catalogue.")
    assert event["detail"]["version"] == 1 and event["detail"]["name"] == "feed-e2e"
