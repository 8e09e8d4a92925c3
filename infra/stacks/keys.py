"""The stage's customer-managed KMS key (issue 25).

Every stage has one key, rotated yearly, that encrypts the alarm topic: CloudWatch alarms can
publish to an encrypted SNS topic only through a key whose policy lets CloudWatch use it (the
AWS-managed ``alias/aws/sns`` does not), so the topic needs a key of ours anyway.

With ``customer_managed_keys`` (prod) the same key also encrypts the DynamoDB tables and the
DataCite secret: the key's policy and CloudTrail then show every use, and disabling the key
makes the data unreadable. The price: $1 a month for the key, plus KMS requests (DynamoDB caches
a table's data key for up to 5 minutes per connection, so a few requests per table and
connection, at $0.03 per 10,000). dev keeps AWS-managed keys for tables and secret.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.stacks.naming import Names


def build_stage_key(scope: Construct, names: Names, removal: RemovalPolicy) -> kms.Key:
    key = kms.Key(
        scope,
        "StageKey",
        alias=f"alias/{names.regional('catalogue')}",
        description=f"the catalogue ({names.stage}): alarm topic; with customer_managed_keys also tables and secrets",
        enable_key_rotation=True,
        rotation_period=Duration.days(365),
        pending_window=Duration.days(30),
        removal_policy=removal,
    )
    # CloudWatch alarms publish to the encrypted alarm topic (SNS asks KMS on their behalf)
    key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
    return key
