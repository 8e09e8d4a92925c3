"""Create the catalogue's tables, buckets, queues, state machine, index and event bus (local
stack and tests; CDK does it in AWS). What to create is decided here; the AWS calls that create it
are in :mod:`chalicelib.adapters.provisioning`."""

from __future__ import annotations

from chalicelib import resources
from chalicelib.adapters import provisioning
from chalicelib.adapters.dynamodb import tables
from chalicelib.composition import Root

LOCAL_VISIBILITY_TIMEOUT = 2
LOCAL_ARCHIVE_VISIBILITY_TIMEOUT = 120


def create_resources(root: Root) -> dict[str, str]:
    """Create what ``root.settings`` names (idempotent); return the stream ARNs as env entries."""
    settings = root.settings
    tables.bind(settings)
    for model in tables.ALL_MODELS:
        model.create_table(wait=True)
    create_bucket(root, settings.catalogue_bucket)
    create_bucket(root, settings.archive_bucket)
    root.search.ensure_index()
    create_ingest_queues(root)
    create_archive_task_queues(root)
    if settings.event_bus_name:
        create_event_feed(root)
    ddb = root.aws_client("dynamodb")
    return {
        env_name: provisioning.stream_arn(ddb, table)
        for env_name, table in (
            ("CATALOGUE_DATASETS_STREAM_ARN", settings.datasets_table),
            ("CATALOGUE_ACCESS_STREAM_ARN", settings.access_table),
            ("CATALOGUE_FACILITY_STREAM_ARN", settings.facility_table),
        )
    }


def ensure_admin(root: Root, username: str) -> None:
    """Make ``username`` a catalogue admin, creating the user if needed (operator bootstrap)."""
    root.access.make_admin(username)


def create_ingest_queues(root: Root, visibility_timeout: int = LOCAL_VISIBILITY_TIMEOUT) -> str:
    """The ingest queue and its dead-letter queue (after ``INGEST_MAX_RECEIVE_COUNT`` receives).

    Locally the visibility timeout is short so that retries come quickly; in AWS it is at
    least six times the handler timeout (set by the CDK stack). Returns the queue ARN.
    """
    created = provisioning.create_queue_with_dead_letters(
        root.aws_client("sqs"),
        root.settings.ingest_queue,
        root.settings.ingest_dlq,
        visibility_timeout=visibility_timeout,
        max_receive_count=resources.INGEST_MAX_RECEIVE_COUNT,
    )
    return created.arn


def create_archive_task_queues(root: Root, visibility_timeout: int = LOCAL_ARCHIVE_VISIBILITY_TIMEOUT) -> str:
    """The queue the archival state machine's task steps post to, with its dead-letter queue.

    Returns the queue URL. A step's message comes back after the visibility timeout if the
    worker has not finished; steps are idempotent and a second answer to a task token is
    ignored, so a redelivery costs time, not correctness.
    """
    created = provisioning.create_queue_with_dead_letters(
        root.aws_client("sqs"),
        root.settings.archive_task_queue,
        f"{root.settings.archive_task_queue}-dlq",
        visibility_timeout=visibility_timeout,
        max_receive_count=resources.INGEST_MAX_RECEIVE_COUNT,
    )
    return created.url


def create_event_feed(root: Root) -> str:
    """The change feed's bus (``settings.event_bus_name``) and, for reading what it carries,
    a rule sending this deployment's events (source ``settings.event_source``) to the queue
    ``resources.LOCAL_EVENTS_QUEUE``; returns the queue's URL. Locally only: in AWS the CDK
    stack makes the bus, its archive and an example rule (``infra/stacks/events.py``)."""
    settings = root.settings
    created = provisioning.ensure_event_queue(
        root.aws_client("events"),
        root.aws_client("sqs"),
        bus=settings.event_bus_name,
        rule=resources.LOCAL_EVENTS_RULE,
        source=settings.event_source,
        queue=resources.LOCAL_EVENTS_QUEUE,
    )
    return created.url


def create_archive_state_machine(root: Root, definition_template: str) -> str:
    """Create (or update) the archival state machine from the shared ASL file; return its ARN.

    ``definition_template`` is the text of ``resources.ARCHIVE_DEFINITION_FILE``; its one
    placeholder, ``${TaskQueueUrl}``, is filled as the CDK stack fills it.
    """
    url = create_archive_task_queues(root)
    definition = definition_template.replace("${TaskQueueUrl}", url)
    return provisioning.ensure_state_machine(
        root.aws_client("stepfunctions"), resources.ARCHIVE_STATE_MACHINE, definition
    )


def watch_bucket(root: Root, bucket: str) -> None:
    """Create ``bucket`` if needed and send its object created/removed events to the ingest queue."""
    create_bucket(root, bucket)
    queue_arn = create_ingest_queues(root)
    provisioning.notify_queue(root.aws_client("s3"), bucket, queue_arn)


def create_bucket(root: Root, bucket: str) -> None:
    """Create ``bucket`` in the configured region; an existing bucket of ours is fine."""
    provisioning.create_bucket(root.aws_client("s3"), bucket, root.settings.region)
