"""The price table of ``bench/cost_model.py``: every figure with its unit, region, source and date.

Read on 2026-12-07 through the stored copies of public pages the ``search`` tool serves (no live
internet here). ``status`` says how far each figure can be trusted:

- ``found``: the figure was read for the region named, on the page cited;
- ``found-us-east-1``: the figure was read on the page cited, but for US East (N. Virginia); the
  model uses it for eu-west-1 unchanged (Ireland's list prices are equal or up to ~10% higher for
  most of these services: check before quoting a bill);
- ``assumption``: no page in the corpus showed it; the value is the list price as the author
  remembers it, to be checked at the URL given.

All prices in USD, before tax, on-demand, without free tiers unless ``note`` says otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

READ_ON = "2026-12-07"
REGION = "eu-west-1"  # infra/cdk.json context "region": the stack's region
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Price:
    value: float
    unit: str
    region: str
    source: str
    status: str  # found | found-us-east-1 | assumption
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_AWS = "https://aws.amazon.com"
PRICES: dict[str, Price] = {
    # -- compute ---------------------------------------------------------------------------
    "lambda_request": Price(
        0.20,
        "USD per 1M requests",
        "us-east-1",
        "https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md",
        "found-us-east-1",
        "same for x86_64 and arm64; official page: " + _AWS + "/lambda/pricing/",
    ),
    "lambda_gb_second_x86": Price(
        0.0000166667,
        "USD per GB-second (x86_64, first 6B GB-s/month)",
        "us-east-1",
        "https://cloudchipr.com/blog/aws-lambda-pricing",
        "found-us-east-1",
    ),
    "lambda_gb_second_arm": Price(
        0.0000133334,
        "USD per GB-second (arm64, first 7.5B GB-s/month)",
        "us-east-1",
        "https://cloudchipr.com/blog/aws-lambda-pricing",
        "found-us-east-1",
    ),
    "apigw_rest_request": Price(
        3.50,
        "USD per 1M REST API calls (first 333M/month)",
        "us-east-1",
        "https://docs.aws.amazon.com/whitepapers/latest/best-practices-api-gateway-private-apis-integration/cost-optimization.html",
        "found-us-east-1",
        "the stack's API is a REST API (AWS::Serverless::Api, REGIONAL)",
    ),
    # -- DynamoDB --------------------------------------------------------------------------
    "dynamodb_wru": Price(
        0.625,
        "USD per 1M write request units (on-demand, Standard class)",
        "us-east-1",
        "https://airbyte.com/data-engineering-resources/dynamodb-pricing",
        "found-us-east-1",
        "1 WRU writes up to 1 KB; official page: " + _AWS + "/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_rru": Price(
        0.125,
        "USD per 1M read request units (on-demand)",
        "us-east-1",
        "https://airbyte.com/data-engineering-resources/dynamodb-pricing",
        "found-us-east-1",
        "1 RRU = one strongly consistent read up to 4 KB, or two eventually consistent",
    ),
    "dynamodb_storage_gb_month": Price(
        0.25, "USD per GB-month (first 25 GB/month free)", REGION, _AWS + "/dynamodb/pricing/on-demand/", "assumption"
    ),
    "dynamodb_pitr_gb_month": Price(
        0.20,
        "USD per GB-month of continuous backup (PITR)",
        REGION,
        _AWS + "/dynamodb/pricing/on-demand/",
        "assumption",
    ),
    "dynamodb_streams_lambda_read": Price(
        0.0,
        "USD: GetRecords calls made by Lambda triggers are free",
        "all",
        "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html",
        "found",
    ),
    # -- search ----------------------------------------------------------------------------
    "opensearch_t3.small.search_hour": Price(
        0.036,
        "USD per instance-hour",
        "us-east-1",
        _AWS + "/opensearch-service/pricing/",
        "assumption",
        "free tier: 750 h/month of t2/t3.small.search + 10 GB EBS for new accounts "
        "(found: " + _AWS + "/de/elasticsearch-service/pricing/)",
    ),
    "opensearch_r6g.large.search_hour": Price(
        0.167, "USD per instance-hour", "us-east-1", _AWS + "/opensearch-service/pricing/", "assumption"
    ),
    "opensearch_gp3_gb_month": Price(
        0.122,
        "USD per GB-month of gp3 EBS on a domain node",
        "us-east-1",
        _AWS + "/opensearch-service/pricing/",
        "assumption",
    ),
    "opensearch_serverless_min_month": Price(
        350.0,
        "USD per month: a serverless collection's minimum (2 OCUs with standby replicas)",
        "us-east-1",
        "https://cloudburn.io/blog/amazon-opensearch-pricing",
        "found-us-east-1",
        "about half of this without standby replicas (dev/test, half OCUs): "
        + _AWS
        + "/blogs/big-data/amazon-opensearch-serverless-cost-effective-search-capabilities-at-any-scale",
    ),
    # -- S3 --------------------------------------------------------------------------------
    "s3_standard_gb_month": Price(
        0.023,
        "USD per GB-month (first 50 TB)",
        "us-east-1",
        "https://www.usage.ai/blogs/aws/storage-cost/glacier-deep-archive-pricing/",
        "found-us-east-1",
    ),
    "s3_deep_archive_gb_month": Price(
        0.00099,
        "USD per GB-month, S3 Glacier Deep Archive",
        "us-east-1",
        "https://www.usage.ai/blogs/aws/storage-cost/glacier-deep-archive-pricing/",
        "found-us-east-1",
        "minimum 180 days; 40 KB per object of overhead (8 KB Standard + 32 KB Deep Archive): "
        "https://www.demo.wlid.nl/s3-storage-classes.html",
    ),
    "s3_deep_archive_restore_bulk_gb": Price(
        0.0025,
        "USD per GB restored (bulk, 48 h)",
        "us-east-1",
        "https://www.usage.ai/blogs/aws/storage-cost/glacier-deep-archive-pricing/",
        "found-us-east-1",
    ),
    "s3_deep_archive_restore_standard_gb": Price(
        0.02,
        "USD per GB restored (standard, 12 h)",
        "us-east-1",
        "https://www.usage.ai/blogs/aws/storage-cost/glacier-deep-archive-pricing/",
        "found-us-east-1",
    ),
    "s3_put_1k": Price(0.005, "USD per 1,000 PUT/COPY/POST/LIST", REGION, _AWS + "/s3/pricing/", "assumption"),
    "s3_get_1k": Price(0.0004, "USD per 1,000 GET/HEAD", REGION, _AWS + "/s3/pricing/", "assumption"),
    "s3_transition_deep_archive_1k": Price(
        0.05, "USD per 1,000 lifecycle transitions to Deep Archive", REGION, _AWS + "/s3/pricing/", "assumption"
    ),
    # -- messaging and workflow -----------------------------------------------------------
    "sqs_request": Price(
        0.40,
        "USD per 1M standard-queue requests (64 KB chunks; first 1M/month free)",
        REGION,
        _AWS + "/sqs/pricing/",
        "assumption",
    ),
    "stepfunctions_transition": Price(
        0.025,
        "USD per 1,000 state transitions (Standard workflows; 4,000/month free)",
        "eu-west-1",
        _AWS + "/step-functions/pricing/",
        "found",
        "table row 'Europe (Ireland) $0.0250'",
    ),
    "eventbridge_custom_event": Price(
        1.00, "USD per 1M custom events published", REGION, _AWS + "/eventbridge/pricing/", "assumption"
    ),
    "eventbridge_archive_gb_month": Price(
        0.10,
        "USD per GB-month archived (plus $0.10/GB processed)",
        REGION,
        _AWS + "/eventbridge/pricing/",
        "assumption",
    ),
    # -- identity, secrets, monitoring -----------------------------------------------------
    "secretsmanager_secret_month": Price(
        0.40, "USD per secret per month", REGION, _AWS + "/secrets-manager/pricing/", "assumption"
    ),
    "cognito_mau_free": Price(
        0.0,
        "USD for the first 10,000 monthly active users (Essentials/Lite)",
        REGION,
        _AWS + "/cognito/pricing/",
        "assumption",
        "idle: no users, no charge",
    ),
    "cloudwatch_alarm_month": Price(
        0.10,
        "USD per standard-resolution alarm-month",
        "unspecified",
        "https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm",
        "found-us-east-1",
        "10 alarm metrics/month free per account (found: " + _AWS + "/cloudwatch/pricing/)",
    ),
    "kms_key_month": Price(
        1.00,
        "USD per customer-managed key per month (rotation included), plus $0.03 per 10,000 requests",
        REGION,
        _AWS + "/kms/pricing/",
        "assumption",
    ),
    "cloudwatch_logs_ingest_gb": Price(
        0.50, "USD per GB ingested (5 GB/month free)", REGION, _AWS + "/cloudwatch/pricing/", "assumption"
    ),
    # -- the dserver peer on one VM --------------------------------------------------------
    "ec2_m7g.large_hour": Price(
        0.0816,
        "USD per instance-hour, Linux, on-demand (2 vCPU Graviton3, 8 GiB)",
        "us-east-1",
        "https://www.factualminds.com/blog/amazon-ec2-on-demand-pricing-instance-families-2026/",
        "found-us-east-1",
        "read as 'us-east-1 (June 2026)'",
    ),
    "ebs_gp3_gb_month": Price(0.08, "USD per GB-month, gp3", REGION, _AWS + "/ebs/pricing/", "assumption"),
    "ebs_snapshot_gb_month": Price(
        0.05, "USD per GB-month of EBS snapshot (the VM's backup)", REGION, _AWS + "/ebs/pricing/", "assumption"
    ),
}


def price(key: str) -> float:
    return PRICES[key].value


# What each CloudFormation resource type in the template costs when idle. A type missing here
# fails tests/unit/test_cost_model.py: price it or say why it is free.
PRICED_TYPES: dict[str, str] = {
    "AWS::OpenSearchService::Domain": "instance-hours and EBS per node",
    "AWS::DynamoDB::Table": "on-demand: requests, storage, PITR; nothing when empty and idle",
    "AWS::Serverless::Function": "requests and GB-seconds; scheduled ones run when idle",
    "AWS::Lambda::Function": "requests and GB-seconds (CDK's helper functions: deploy time only)",
    "AWS::Serverless::Api": "per request",
    "AWS::S3::Bucket": "storage by class, requests, lifecycle transitions",
    "AWS::SQS::Queue": "per request (Lambda's pollers of the queues a function consumes, even when idle)",
    "AWS::StepFunctions::StateMachine": "per state transition (Standard)",
    "AWS::Events::EventBus": "per custom event published",
    "AWS::Events::Archive": "per GB archived",
    "AWS::Events::Rule": "free (matching and delivery to SQS are not charged per rule)",
    "AWS::SecretsManager::Secret": "per secret-month",
    "AWS::Cognito::UserPool": "per monthly active user above the free tier",
    "AWS::CloudWatch::Alarm": "per alarm-month",
    "AWS::CloudFront::Distribution": "per request and GB out; nothing when idle",
    "AWS::KMS::Key": "per key-month, plus requests",
    "AWS::Logs::LogGroup": "per GB ingested and stored (idle: the CloudWatch line's estimate)",
}
FREE_TYPES: dict[str, str] = {
    "AWS::CloudFront::OriginAccessControl": "configuration",
    "AWS::CloudFront::ResponseHeadersPolicy": "configuration",
    "AWS::Cognito::UserPoolClient": "configuration",
    "AWS::Cognito::UserPoolDomain": "configuration (hosted UI requests are part of MAU pricing)",
    "AWS::Cognito::UserPoolGroup": "configuration",
    "AWS::Cognito::UserPoolResourceServer": "configuration",
    "AWS::IAM::Policy": "free",
    "AWS::IAM::Role": "free",
    "AWS::Lambda::LayerVersion": "storage within Lambda's free 75 GB code storage",
    "AWS::Lambda::Permission": "configuration",
    "AWS::S3::BucketPolicy": "configuration",
    "AWS::SNS::Topic": "alarm e-mails: first 1,000 e-mail notifications/month free (assumption)",
    "AWS::SNS::TopicPolicy": "configuration",
    "AWS::SNS::Subscription": "configuration",
    "AWS::SQS::QueuePolicy": "configuration",
    "Custom::CDKBucketDeployment": "runs at deployment only",
    "Custom::S3BucketNotifications": "runs at deployment only",
    "AWS::CDK::Metadata": "not deployed as a resource",
    "AWS::KMS::Alias": "free",
    "AWS::Logs::ResourcePolicy": "configuration",
    "AWS::ApiGateway::Account": "configuration (the account's CloudWatch role for API Gateway)",
}
