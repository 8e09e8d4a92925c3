"""Deliver an SQS queue to a Chalice ``@app.on_sqs_message`` handler, as Lambda does.

One message per invocation (the app's batch size is 1). A message is deleted only after
the handler returned; when it raises, the message stays and comes back once its
visibility timeout passes, so after ``maxReceiveCount`` receives SQS moves it to the
dead-letter queue, exactly as with the Lambda event source mapping.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]
_LOG = logging.getLogger("infra.local.sqs")


def to_lambda_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    body = message.get("Body", "")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePoller:
    def __init__(
        self, sqs_client: Any, queue_url: str, handler: Handler, *, region: str, wait_seconds: int = 1
    ) -> None:
        self.client = sqs_client
        self.queue_url = queue_url
        self.handler = handler
        self.region = region
        self.wait_seconds = wait_seconds
        self.queue_arn = sqs_client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.delivered = 0
        self.failures = 0

    def poll_once(self) -> int:
        """Receive and handle at most one message; return 1 if one was handled successfully."""
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        handled = 0
        for message in response.get("Messages", []):
            record = to_lambda_record(message, queue_arn=self.queue_arn, region=self.region)
            try:
                self.handler({"Records": [record]}, None)
            except Exception:
                self.failures += 1
                _LOG.exception("handler failed for message %s; it will be redelivered", message["MessageId"])
                continue
            self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.delivered += 1
            handled += 1
        return handled

    def run(self, stop: threading.Event) -> None:
        _LOG.info("polling %s", self.queue_url)
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:
                _LOG.exception("polling %s failed; retrying", self.queue_url)
                stop.wait(1.0)
