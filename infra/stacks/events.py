"""The change feed in AWS (issue 23): the EventBridge bus the stream consumers publish to,
an archive of every event the catalogue publishes there (replayable into the bus), and an
example rule sending dataset registrations and removals to a queue, as an integrator's rule
would.

The local stack has the same bus (``resources.EVENT_BUS``) with a rule to the queue
``resources.LOCAL_EVENTS_QUEUE`` instead (:func:`chalicelib.bootstrap.create_event_feed`). The
events and their JSON Schemas are described in :mod:`chalicelib.catalogue.change_feed` and
``schemas/events/``.

Wiring, in :class:`infra.stacks.catalogue.CatalogueStack`: build the feed with
:func:`build_event_feed`, let the Lambda role publish (:meth:`EventFeed.grant_publish`) and add
:attr:`EventFeed.environment` to the function's environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib import resources
from chalicelib.catalogue.change_feed import DATASET_REGISTERED, DATASET_REMOVED
from infra.stacks.accepted import SSE_SQS
from infra.stacks.naming import Names
from infra.stacks.scanners import Accepted, accept

ARCHIVE_RETENTION_DAYS = 365
EXAMPLE_QUEUE = resources.EVENTS_EXAMPLE_QUEUE
EXAMPLE_DETAIL_TYPES = (DATASET_REGISTERED, DATASET_REMOVED)


@dataclass(frozen=True)
class EventFeed:
    """The feed's resources; ``source`` is the ``source`` of every event the stage publishes."""

    bus: events.EventBus
    archive: events.Archive
    example_rule: events.Rule
    example_queue: sqs.Queue
    source: str

    def grant_publish(self, grantee: iam.IGrantable) -> None:
        """``events:PutEvents`` on this bus only (what the stream consumers need)."""
        self.bus.grant_put_events_to(grantee)

    @property
    def environment(self) -> dict[str, str]:
        """What :meth:`chalicelib.config.Settings.from_env` reads to publish to this bus."""
        return {"CATALOGUE_EVENT_BUS_NAME": self.bus.event_bus_name}


def event_source(stage: str) -> str:
    """The stage's events' source (``catalogue.<stage>``), as ``Settings.event_source`` says."""
    return f"{resources.EVENT_SOURCE_PREFIX}.{stage}"


def build_event_feed(
    scope: Construct,
    names: Names,
    removal: RemovalPolicy,
    *,
    archive_retention_days: int = ARCHIVE_RETENTION_DAYS,
) -> EventFeed:
    """The bus ``catalogue-events-<stage>``, its archive of the stage's events (kept
    ``archive_retention_days``; 0 keeps them for ever) and the example rule to the queue
    ``catalogue-events-example-<stage>``."""
    source = event_source(names.stage)
    bus = events.EventBus(scope, "EventBus", event_bus_name=names.regional(resources.EVENT_BUS))
    bus.apply_removal_policy(removal)
    archive = bus.archive(
        "EventArchive",
        archive_name=names.regional(resources.EVENT_BUS),
        description=f"every event the catalogue ({names.stage}) published, for replay",
        event_pattern=events.EventPattern(source=[source]),
        retention=Duration.days(archive_retention_days) if archive_retention_days else None,
    )
    queue = sqs.Queue(
        scope,
        "EventsExampleQueue",
        queue_name=names.regional(EXAMPLE_QUEUE),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(4),
        removal_policy=removal,
    )
    accept(
        queue,
        Accepted(
            "The example rule's target, read by an integrator's consumer or nobody; unread events expire "
            "after 4 days. EventBridge retries delivery 8 times over 24 hours.",
            nag=("AwsSolutions-SQS3",),
        ),
    )
    accept(queue, SSE_SQS)
    rule = events.Rule(
        scope,
        "EventsExampleRule",
        event_bus=bus,
        description="example: dataset registrations and removals to a queue",
        event_pattern=events.EventPattern(source=[source], detail_type=list(EXAMPLE_DETAIL_TYPES)),
        targets=[targets.SqsQueue(queue, retry_attempts=8, max_event_age=Duration.hours(24))],
    )
    CfnOutput(scope, "EventBusName", value=bus.event_bus_name)
    CfnOutput(scope, "EventsExampleQueueUrl", value=queue.queue_url)
    return EventFeed(bus=bus, archive=archive, example_rule=rule, example_queue=queue, source=source)
