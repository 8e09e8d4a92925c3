"""Findings of the scanners (:mod:`infra.stacks.scanners`) that the catalogue stack accepts, each
with its reason, and the IAM wildcards it grants, each matched to the reason it is needed.

Reasons that one construct needs are written next to it (``search.py``, ``observability.py``,
``dois.py``); those here are shared by several constructs of ``catalogue.py``, or concern the
constructs aws-cdk-lib adds by itself (the web page's BucketDeployment, the S3 notifications
handler). :func:`accept_wildcards_and_internals` runs last in the stack: every wildcard of an
IAM policy must match one of :data:`WILDCARD_REASONS` or synthesis stops with the wildcard named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from infra.stacks.scanners import Accepted, accept

AWS_MANAGED_TABLE_KEY = Accepted(
    "Without customer_managed_keys (dev) the tables use DynamoDB's AWS-managed key; prod encrypts them with "
    "the stage key (infra/stacks/keys.py: $1 a month plus requests).",
    checkov=("CKV_AWS_119",),
)
SSE_SQS = Accepted(
    "Encrypted at rest with SSE-SQS (SqsManagedSseEnabled), which checkov's check does not recognise. A KMS "
    "key would need a key policy for S3 notifications and EventBridge and a KMS call per message.",
    checkov=("CKV_AWS_27",),
)
DLQ_BY_DESTINATION = Accepted(
    "This queue is itself a dead-letter queue (a stream consumer's on-failure destination or the scheduled "
    "jobs' DLQ), with a depth alarm; cdk-nag only recognises DLQs named in a redrive policy.",
    nag=("AwsSolutions-SQS3",),
)
LAMBDA_OUTSIDE_VPC = Accepted(
    "Lambda outside a VPC: it reaches only AWS endpoints (DynamoDB, S3, SQS, OpenSearch over SigV4) and the "
    "allow-listed harvest and DataCite hosts over HTTPS; a VPC adds NAT cost and cold start.",
    checkov=("CKV_AWS_117",),
)
LAMBDA_ENVIRONMENT = Accepted(
    "The environment holds names, ARNs and URLs, never a secret (the DataCite password is read from Secrets "
    "Manager); Lambda encrypts it at rest with its AWS-managed key.",
    checkov=("CKV_AWS_173",),
)
LAMBDA_INVOKED_SYNCHRONOUSLY = Accepted(
    "Invoked synchronously (API Gateway, or an SQS or DynamoDB stream event source mapping): a Lambda DLQ "
    "only receives failed asynchronous invocations. Failures go to the queue's redrive DLQ or the stream's "
    "on-failure destination.",
    checkov=("CKV_AWS_116",),
)
NO_API_CACHE = Accepted(
    "No API Gateway cache: responses depend on the caller's token and change with every registration; a "
    "cache keyed without the token would show one caller's datasets to another.",
    checkov=("CKV_AWS_120",),
)
CDK_FUNCTION = Accepted(
    "A function aws-cdk-lib adds itself (the web page's BucketDeployment, the S3 notifications handler): it "
    "runs once per deployment, with the role and runtime aws-cdk-lib gives it, which move with its pin.",
    nag=(
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        "AwsSolutions-L1",
    ),
    checkov=("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_173"),
)

# IAM wildcards: (pattern of the rendered action or resource, reason); the first match wins
WILDCARD_REASONS: tuple[tuple[str, str], ...] = (
    (
        r"Action::s3:(Abort|DeleteObject|GetBucket|GetObject|List)\*",
        "aws-cdk-lib's S3 grants (read, read-write, put): each action group covers the object's versions, tags "
        "and retention of the same kind, on the granted buckets only.",
    ),
    (
        r"Action::kms:(GenerateDataKey|ReEncrypt)\*",
        "aws-cdk-lib's grants on the stage key (encrypted tables and secret in prod): the GenerateDataKey and "
        "ReEncrypt families, on that one key only.",
    ),
    (
        r"Resource::(<\w+\.Arn>|arn:<AWS::Partition>:s3:::[\w.-]+)/(uploads/|harvests/)?\*",
        "Object keys are dataset paths, unknown in advance: the grant covers the objects of one bucket of the "
        "stage (or one prefix of it), never another bucket.",
    ),
    (
        r"Resource::<\w+Table\w*\.Arn>/index/\*",
        "Queries on the table's own global secondary indexes.",
    ),
    (
        r"Resource::<SearchDomain\w*\.Arn>/\*",
        "The index paths of the stage's own OpenSearch domain (one index and its aliases).",
    ),
    (
        r"Resource::arn:<AWS::Partition>:s3:::cdk-[\w-]+-assets-<AWS::AccountId>-[\w-]+/\*",
        "aws-cdk-lib's BucketDeployment reads the page's asset from the CDK bootstrap bucket.",
    ),
    (
        r"Resource::\*",
        "Actions that support no resource-level permission: states:SendTask* (a task token names no "
        "resource), X-Ray segments, CloudWatch Logs delivery for Step Functions, S3 notification settings.",
    ),
)


def accept_wildcards_and_internals(stack: Stack) -> None:
    """Acknowledge every IAM wildcard of the stack's policies with its reason, and the findings on
    the functions aws-cdk-lib adds itself; call it after every grant."""
    for construct in stack.node.find_all():
        if isinstance(construct, iam.CfnPolicy):
            document = stack.resolve(construct.policy_document)
            for finding in _wildcards(document):
                accept(
                    construct, Accepted(_reason(finding, construct.node.path), nag=(f"AwsSolutions-IAM5[{finding}]",))
                )
    for child in stack.node.children:
        if child.node.id.startswith(("Custom::CDKBucketDeployment", "BucketNotificationsHandler")):
            fn = child.node.try_find_child("Resource")
            role = child.node.try_find_child("ServiceRole") or child.node.try_find_child("Role")
            if isinstance(fn, CfnResource):
                # CKV_AWS_173 (environment encryption) concerns only a function with an environment
                # (the notifications handler is a plain CfnResource without one)
                has_environment = isinstance(fn, lambda_.CfnFunction) and fn.environment is not None
                checks = tuple(c for c in CDK_FUNCTION.checkov if c != "CKV_AWS_173" or has_environment)
                accept(fn, Accepted(CDK_FUNCTION.reason, nag=CDK_FUNCTION.nag[1:], checkov=checks))
            if role is not None:
                accept(role, Accepted(CDK_FUNCTION.reason, nag=CDK_FUNCTION.nag[:1]))


def _reason(finding: str, path: str) -> str:
    for pattern, reason in WILDCARD_REASONS:
        if re.fullmatch(pattern, finding):
            return reason
    raise ValueError(f"{path}: the IAM wildcard {finding} has no reason in infra/stacks/accepted.py")


def _wildcards(document: dict[str, Any]) -> Iterator[str]:
    """The IAM5 findings of a policy document, as cdk-nag names them (``Action::s3:List*``,
    ``Resource::<Logical.Arn>/*``)."""
    for statement in _as_list(document.get("Statement", [])):
        for action in _as_list(statement.get("Action", [])):
            if "*" in action:
                yield f"Action::{action}"
        for resource in _as_list(statement.get("Resource", [])):
            rendered = render(resource)
            if "*" in rendered:
                yield f"Resource::{rendered}"


def render(value: Any) -> str:
    """A resolved template value as cdk-nag prints it: ``<Logical.Attr>``, ``<AWS::Partition>``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        [(key, arg)] = value.items()
        if key == "Ref":
            return f"<{arg}>"
        if key == "Fn::GetAtt":
            return "<{}.{}>".format(*arg)
        if key == "Fn::Join":
            sep, parts = arg
            return str(sep).join(render(p) for p in parts)
        if key == "Fn::Sub" and isinstance(arg, str):
            return arg.replace("${", "<").replace("}", ">")
    return str(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
