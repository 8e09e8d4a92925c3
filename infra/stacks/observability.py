"""Logs and traces of the deployed stage (issue 25): where each service writes, for how long.

- **Lambda**: one log group per packaged function (``/aws/lambda/<stack>-<logical id>``), made by
  the stack with the stage's retention and named in each function's ``LoggingConfig`` (JSON
  records), so no function ever creates a never-expiring group of its own.
- **API Gateway**: access logs, one JSON object per request, to their own log group; execution
  logs at ERROR; X-Ray tracing on the stage. Access and execution logs need the account's
  CloudWatch role (``AWS::ApiGateway::Account``: one setting per account and region, which every
  stage sets to a role of its own; the last deployed wins, and any of them works).
- **S3 and CloudFront**: server access logs into one log bucket (:func:`build_access_log_bucket`).

Who made a request is not in the access log: the API has no API Gateway authorizer (tokens are
verified in the app, the same code ``chalice local`` runs), so API Gateway knows no principal.
The app writes one record per request with the same request id and the caller it verified
(``chalicelib.routes._http.log_request``, logger ``catalogue.requests``).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from chalicelib import resources
from infra.stacks.naming import Names
from infra.stacks.scanners import Accepted, accept
from infra.stacks.settings import LOG_RETENTION_DAYS

# $context variables of API Gateway REST APIs; one JSON object per line (CloudWatch Logs Insights
# discovers the fields). No header, query string or body: they may hold tokens.
API_ACCESS_LOG_FORMAT: dict[str, str] = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTimeEpoch",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}


def retention(days: int) -> logs.RetentionDays:
    """The CloudWatch Logs retention of ``days`` (``StageConfig`` accepts only these values)."""
    finite = [member for member in logs.RetentionDays if member.name != "INFINITE"]
    by_days = dict(zip(LOG_RETENTION_DAYS, finite, strict=True))
    if days not in by_days:
        raise ValueError(f"CloudWatch Logs has no retention of {days} days")
    return by_days[days]


def log_group(scope: Construct, construct_id: str, name: str, days: int, removal: RemovalPolicy) -> logs.LogGroup:
    group = logs.LogGroup(scope, construct_id, log_group_name=name, retention=retention(days), removal_policy=removal)
    accept(group, LOGS_SERVICE_KEY)
    return group


LOGS_SERVICE_KEY = Accepted(
    "Log data is encrypted at rest by CloudWatch Logs; a customer key would add a KMS key policy for "
    "the logs service and a KMS call per batch, and the logs hold no data the tables do not.",
    checkov=("CKV_AWS_158",),
)


def function_log_groups(
    stack: Stack, functions: dict[str, Any], days: int, removal: RemovalPolicy
) -> dict[str, logs.LogGroup]:
    """A log group per function (``functions``: logical id -> SAM function resource), named in its
    ``LoggingConfig`` (JSON records); each function waits for its group."""
    groups: dict[str, logs.LogGroup] = {}
    for logical_id, fn in functions.items():
        group = log_group(stack, f"{logical_id}Logs", f"/aws/lambda/{stack.stack_name}-{logical_id}", days, removal)
        fn.add_property_override("LoggingConfig", {"LogFormat": "JSON", "LogGroup": group.log_group_name})
        fn.add_resource_dependency(group.node.default_child)
        groups[logical_id] = group
    return groups


def api_access_logs(stack: Stack, rest_api: Any, days: int, removal: RemovalPolicy) -> logs.LogGroup:
    """JSON access logs, execution logs (ERROR) and X-Ray tracing on the SAM API ``rest_api``."""
    group = log_group(stack, "ApiAccessLogs", f"/aws/apigateway/{stack.stack_name}-access", days, removal)
    rest_api.add_property_override(
        "AccessLogSetting",
        {"DestinationArn": group.log_group_arn, "Format": json.dumps(API_ACCESS_LOG_FORMAT, separators=(",", ":"))},
    )
    rest_api.add_property_override("TracingEnabled", True)
    role = iam.Role(
        stack,
        "ApiGatewayLogsRole",
        assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
        description="API Gateway writes access and execution logs to CloudWatch Logs (account setting)",
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        ],
    )
    accept(
        role,
        Accepted(
            "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS provides for API Gateway's logging "
            "role; API Gateway names its own log groups for execution logs, so no narrower resource exists.",
            nag=(
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
            ),
        ),
    )
    account = apigateway.CfnAccount(stack, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
    account.apply_removal_policy(RemovalPolicy.RETAIN)  # an account setting: other stages use it too
    rest_api.add_resource_dependency(account)
    return group


def build_access_log_bucket(scope: Construct, names: Names, removal: RemovalPolicy, days: int) -> s3.Bucket:
    """The bucket S3 server access logs and CloudFront's standard logs go to (prefix per source).

    Objects are owner-preferred, not owner-enforced: CloudFront's standard logging writes with
    the ``awslogsdelivery`` account's ACL. S3 server access logging is granted by bucket policy."""
    bucket = s3.Bucket(
        scope,
        "AccessLogBucket",
        bucket_name=names.bucket(resources.ACCESS_LOG_BUCKET),
        encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery cannot write to SSE-KMS buckets
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
        removal_policy=removal,
        auto_delete_objects=False,
        lifecycle_rules=[s3.LifecycleRule(id="expire-logs", expiration=Duration.days(days))],
    )
    accept(
        bucket,
        Accepted(
            "This is the access-log bucket: logging its own accesses into itself would log every log delivery.",
            nag=("AwsSolutions-S1",),
            checkov=("CKV_AWS_18",),
        ),
    )
    accept(
        bucket,
        Accepted(
            "Log objects are written once and expire with the stage's log retention; versions would only keep "
            "deleted logs longer.",
            checkov=("CKV_AWS_21",),
        ),
    )
    return bucket
