"""Create the catalogue's tables, bucket and index (local stack and tests; CDK does it in AWS)."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from chalicelib import resources
from chalicelib.composition import Root
from chalicelib.store import tables
from chalicelib.store.tables import DatasetItem, UserItem

LOCAL_VISIBILITY_TIMEOUT = 2
LOCAL_ARCHIVE_VISIBILITY_TIMEOUT = 120


def create_resources(root: Root) -> dict[str, str]:
    """Create what ``root.settings`` names (idempotent); return the stream ARNs as env entries."""
    settings = root.settings
    tables.bind(settings)
    for model in (DatasetItem, UserItem, tables.AuditItem, tables.ArchiveItem):
        model.create_table(wait=True)
    create_bucket(root, settings.catalogue_bucket)
    create_bucket(root, settings.archive_bucket)
    root.search.ensure_index()
    create_ingest_queues(root)
    create_archive_task_queues(root)
    ddb = root.aws_client("dynamodb")
    arns = {}
    for env_name, table in (
        ("CATALOGUE_DATASETS_STREAM_ARN", settings.datasets_table),
        ("CATALOGUE_ACCESS_STREAM_ARN", settings.access_table),
    ):
        arns[env_name] = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    return arns


def ensure_admin(root: Root, username: str) -> None:
    """Make ``username`` a catalogue admin, creating the user if needed (operator bootstrap)."""
    root.access.make_admin(username)


def create_ingest_queues(root: Root, visibility_timeout: int = LOCAL_VISIBILITY_TIMEOUT) -> str:
    """The ingest queue and its dead-letter queue (after ``INGEST_MAX_RECEIVE_COUNT`` receives).

    Locally the visibility timeout is short so that retries come quickly; in AWS it is at
    least six times the handler timeout (set by the CDK stack). Returns the queue ARN.
    """
    sqs = root.aws_client("sqs")
    dlq_url = sqs.create_queue(QueueName=root.settings.ingest_dlq)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": resources.INGEST_MAX_RECEIVE_COUNT})
    url = sqs.create_queue(
        QueueName=root.settings.ingest_queue,
        Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
    )["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def create_archive_task_queues(root: Root, visibility_timeout: int = LOCAL_ARCHIVE_VISIBILITY_TIMEOUT) -> str:
    """The queue the archival state machine's task steps post to, with its dead-letter queue.

    Returns the queue URL. A step's message comes back after the visibility timeout if the
    worker has not finished; steps are idempotent and a second answer to a task token is
    ignored, so a redelivery costs time, not correctness.
    """
    sqs = root.aws_client("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{root.settings.archive_task_queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": resources.INGEST_MAX_RECEIVE_COUNT})
    return str(
        sqs.create_queue(
            QueueName=root.settings.archive_task_queue,
            Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
        )["QueueUrl"]
    )


def create_archive_state_machine(root: Root, definition_template: str) -> str:
    """Create (or update) the archival state machine from the shared ASL file; return its ARN.

    ``definition_template`` is the text of ``resources.ARCHIVE_DEFINITION_FILE``; its one
    placeholder, ``${TaskQueueUrl}``, is filled as the CDK stack fills it.
    """
    url = create_archive_task_queues(root)
    definition = definition_template.replace("${TaskQueueUrl}", url)
    sfn = root.aws_client("stepfunctions")
    role = "arn:aws:iam::123456789012:role/catalogue-archive-local"  # moto does not check roles
    for machine in sfn.list_state_machines()["stateMachines"]:
        if machine["name"] == resources.ARCHIVE_STATE_MACHINE:
            sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=definition)
            return str(machine["stateMachineArn"])
    created = sfn.create_state_machine(name=resources.ARCHIVE_STATE_MACHINE, definition=definition, roleArn=role)
    return str(created["stateMachineArn"])


def watch_bucket(root: Root, bucket: str) -> None:
    """Create ``bucket`` if needed and send its object created/removed events to the ingest queue."""
    create_bucket(root, bucket)
    s3 = root.aws_client("s3")
    queue_arn = create_ingest_queues(root)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]
        },
    )


def create_bucket(root: Root, bucket: str) -> None:
    """Create ``bucket`` in the configured region; an existing bucket of ours is fine."""
    s3 = root.aws_client("s3")
    config = (
        {}
        if root.settings.region == "us-east-1"
        else {"CreateBucketConfiguration": {"LocationConstraint": root.settings.region}}
    )
    try:
        s3.create_bucket(Bucket=bucket, **config)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
