"""Creating AWS resources with boto3: buckets, queues, the state machine, stream ARNs.

For the local stack and the tests only (the CDK stack creates them in AWS); every function
takes its client and is idempotent, as :mod:`chalicelib.bootstrap`, which decides what to
create, relies on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.aws import error_code

# moto does not check roles; a well-formed ARN is all it needs
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/catalogue-archive-local"


@dataclass(frozen=True)
class CreatedQueue:
    url: str
    arn: str


def create_bucket(s3: Any, bucket: str, region: str) -> None:
    """Create ``bucket`` in ``region``; an existing bucket of ours is fine."""
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=bucket, **config)
    except ClientError as exc:
        if error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def notify_queue(s3: Any, bucket: str, queue_arn: str) -> None:
    """Send ``bucket``'s object created/removed events to the queue ``queue_arn``."""
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
        },
    )


def create_queue_with_dead_letters(
    sqs: Any, name: str, dlq_name: str, *, visibility_timeout: int, max_receive_count: int
) -> CreatedQueue:
    """The queue ``name`` whose messages move to the queue ``dlq_name`` after
    ``max_receive_count`` receives (both created when missing)."""
    dlq_url = sqs.create_queue(QueueName=dlq_name)["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": _queue_arn(sqs, dlq_url), "maxReceiveCount": max_receive_count})
    url = str(
        sqs.create_queue(
            QueueName=name,
            Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
        )["QueueUrl"]
    )
    return CreatedQueue(url=url, arn=_queue_arn(sqs, url))


def _queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def ensure_state_machine(sfn: Any, name: str, definition: str, role_arn: str = LOCAL_ROLE_ARN) -> str:
    """Create the state machine ``name`` with ``definition``, or update the one of that name;
    return its ARN."""
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            if machine["name"] == name:
                sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=definition)
                return str(machine["stateMachineArn"])
    return str(sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)["stateMachineArn"])


def stream_arn(dynamodb: Any, table: str) -> str:
    """The ARN of ``table``'s latest DynamoDB stream."""
    return str(dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"])
