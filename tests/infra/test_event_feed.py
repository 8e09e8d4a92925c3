"""The change feed's CDK resources (infra/stacks/events.py) on a stack of their own: the bus,
the archive of the stage's events, the example rule and queue, and the publisher's grant."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template

from chalicelib.config import Settings
from infra.stacks.events import EXAMPLE_DETAIL_TYPES, build_event_feed, event_source
from infra.stacks.naming import Names


@pytest.fixture(scope="module")
def template() -> Template:
    stack = Stack(App(), "feed")
    feed = build_event_feed(stack, Names("dev"), RemovalPolicy.RETAIN, archive_retention_days=30)
    role = iam.Role(stack, "LambdaRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    feed.grant_publish(role)
    assert feed.source == "catalogue.dev"
    assert set(feed.environment) == {"CATALOGUE_EVENT_BUS_NAME"}
    return Template.from_stack(stack)


def only(template: Template, type_: str) -> dict[str, Any]:
    found = template.find_resources(type_)
    assert len(found) == 1, found
    [resource] = found.values()
    return dict(resource)


def test_the_source_is_the_one_the_app_publishes_with() -> None:
    assert event_source("prod") == Settings(stage="prod").event_source


def test_one_bus_named_for_the_stage_and_retained(template: Template) -> None:
    bus = only(template, "AWS::Events::EventBus")
    assert bus["Properties"]["Name"] == "catalogue-events-dev"
    assert bus["DeletionPolicy"] == "Retain"


def test_the_archive_keeps_the_stages_events(template: Template) -> None:
    props = only(template, "AWS::Events::Archive")["Properties"]
    assert props["ArchiveName"] == "catalogue-events-dev"
    assert props["EventPattern"] == {"source": ["catalogue.dev"]}
    assert props["RetentionDays"] == 30


def test_the_example_rule_sends_registrations_and_removals_to_its_queue(template: Template) -> None:
    props = only(template, "AWS::Events::Rule")["Properties"]
    assert props["EventPattern"] == {"source": ["catalogue.dev"], "detail-type": list(EXAMPLE_DETAIL_TYPES)}
    [target] = props["Targets"]
    queue_id = next(iter(template.find_resources("AWS::SQS::Queue")))
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(["sqs:SendMessage"]),
                                "Principal": {"Service": "events.amazonaws.com"},
                            }
                        )
                    ]
                )
            }
        },
    )
    queue = only(template, "AWS::SQS::Queue")["Properties"]
    assert queue["QueueName"] == "catalogue-events-example-dev" and queue["SqsManagedSseEnabled"] is True


def test_the_lambda_role_may_put_events_on_this_bus_only(template: Template) -> None:
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "events:PutEvents",
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [Match.string_like_regexp("EventBus"), "Arn"]},
                    }
                ]
            }
        },
    )
