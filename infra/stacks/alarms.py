"""The stage's alarms (every one > 0 in a period) and the encrypted SNS topic they notify.

Wiring, in :class:`infra.stacks.catalogue.CatalogueStack`: :func:`build_alarms` after the
functions exist, with the stage key (:mod:`infra.stacks.keys`) for the topic.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from chalicelib.archive.fixity import METRIC_NAMESPACE
from chalicelib.catalogue.streams import FEED_FAILURES_METRIC, FEED_METRIC_NAMESPACE, INDEX_METRIC_NAMESPACE

FIXITY_FAILURES_METRIC = "FixityFailures"  # emitted by chalicelib.archive.fixity (EMF, dimension Stage)
INDEX_FAILURES_METRIC = "IndexFailures"  # emitted by chalicelib.catalogue.streams (EMF, dimension Stage)


def build_alarms(
    stack: Stack,
    *,
    stage: str,
    key: kms.IKey,
    alarm_email: str | None,
    dlqs: dict[str, sqs.IQueue],
    functions: dict[str, Any],
    state_machine: sfn.StateMachine,
) -> sns.Topic:
    """Alarms on every dead-letter queue (``dlqs``: name -> queue), every function's errors
    (``functions``: logical id -> SAM function), the archive executions and the metrics the app
    emits; all notify one topic encrypted with ``key`` (e-mail to ``alarm_email`` if set)."""
    topic = sns.Topic(stack, "AlarmTopic", enforce_ssl=True, master_key=key)
    if alarm_email:
        topic.add_subscription(subs.EmailSubscription(alarm_email))
    action = cw_actions.SnsAction(topic)
    five_minutes = Duration.minutes(5)

    def alarm(construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        cloudwatch.Alarm(
            stack,
            construct_id,
            metric=metric,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        ).add_alarm_action(action)

    for name, dlq in dlqs.items():
        alarm(
            f"{name}DepthAlarm",
            dlq.metric_approximate_number_of_messages_visible(period=five_minutes, statistic="Maximum"),
            f"messages in the dead-letter queue {name}",
        )
    for logical_id, fn in functions.items():
        alarm(
            f"{logical_id}ErrorsAlarm",
            cloudwatch.Metric(
                namespace="AWS/Lambda",
                metric_name="Errors",
                dimensions_map={"FunctionName": fn.ref},
                period=five_minutes,
                statistic="Sum",
            ),
            f"errors of the Lambda function {logical_id}",
        )
    alarm(
        "ArchiveExecutionsFailedAlarm",
        state_machine.metric_failed(period=five_minutes, statistic="Sum"),
        "failed archive executions",
    )
    alarm(
        "ArchiveExecutionsTimedOutAlarm",
        state_machine.metric_timed_out(period=five_minutes, statistic="Sum"),
        "timed-out archive executions",
    )

    def stage_metric(namespace: str, name: str, period: Duration, statistic: str) -> cloudwatch.Metric:
        """A metric our functions emit as EMF lines with the dimension ``Stage``."""
        dimensions = {"Stage": stage}
        return cloudwatch.Metric(
            namespace=namespace, metric_name=name, dimensions_map=dimensions, period=period, statistic=statistic
        )

    alarm(
        "FixityFailuresAlarm",
        stage_metric(METRIC_NAMESPACE, FIXITY_FAILURES_METRIC, Duration.days(1), "Maximum"),
        "the fixity audit found an AIP whose content no longer matches its manifest",
    )
    alarm(
        "IndexFailuresAlarm",
        stage_metric(INDEX_METRIC_NAMESPACE, INDEX_FAILURES_METRIC, five_minutes, "Sum"),
        "datasets the stream consumer could not index or audit (catalogue-admin drift lists them with the reason)",
    )
    alarm(
        "ChangeFeedFailuresAlarm",
        stage_metric(FEED_METRIC_NAMESPACE, FEED_FAILURES_METRIC, five_minutes, "Sum"),
        "change events the stream consumers could not publish",
    )
    CfnOutput(stack, "AlarmTopicArn", value=topic.topic_arn)
    return topic
