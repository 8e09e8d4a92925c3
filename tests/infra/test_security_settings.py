"""The protections issue 25 asks for, read from the synthesized templates of both stages:
logging, tracing, throttling, encryption, reserved concurrency, failure destinations."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import resources
from infra.stacks.catalogue import FUNCTION_SHARES, SCHEDULED_FUNCTIONS, SQS_EVENT_SOURCES
from infra.stacks.observability import API_ACCESS_LOG_FORMAT
from infra.stacks.settings import MAX_RESERVED_CONCURRENCY, StageConfig
from tests.infra.conftest import STAGE_CONTEXT, Synth, render

LOG_GROUP = "AWS::Logs::LogGroup"


def stage_config(synth: Synth) -> StageConfig:
    """The stage's settings as the synthesis read them (cdk.json and the tests' context)."""
    import aws_cdk as cdk

    from infra.cdk_app import file_context

    app = cdk.App(context={**file_context(), "stage": synth.stage, **STAGE_CONTEXT[synth.stage]})
    return StageConfig.from_node(app.node)


def only(synth: Synth, type_: str) -> dict[str, Any]:
    [(_, resource)] = synth.resources(type_).items()
    return dict(resource["Properties"])


def bucket_lid(synth: Synth, logical_name: str) -> str:
    [lid] = [
        k
        for k, v in synth.resources("AWS::S3::Bucket").items()
        if render(v["Properties"].get("BucketName", "")).startswith(f"{logical_name}-{synth.stage}-")
    ]
    return lid


# --- API Gateway -------------------------------------------------------------------------------


def test_api_access_logs_are_json_with_request_id_status_and_latency(synth: Synth) -> None:
    api = only(synth, "AWS::Serverless::Api")
    setting = api["AccessLogSetting"]
    group = synth.logical_id(LOG_GROUP, "ApiAccessLogs")
    assert setting["DestinationArn"] == {"Fn::GetAtt": [group, "Arn"]}
    fields = json.loads(setting["Format"])
    assert fields == API_ACCESS_LOG_FORMAT
    assert {"requestId", "sourceIp", "status", "latencyMs", "httpMethod", "resourcePath"} <= set(fields)
    assert all(v.startswith("$context.") for v in fields.values())
    # never a header, query string or body (tokens travel there)
    assert not any(word in v for v in fields.values() for word in ("header", "querystring", "body"))


def test_api_tracing_execution_logs_and_the_account_role(synth: Synth) -> None:
    api = only(synth, "AWS::Serverless::Api")
    assert api["TracingEnabled"] is True
    for setting in api["MethodSettings"]:
        assert setting["LoggingLevel"] == "ERROR" and setting["DataTraceEnabled"] is False, setting
    account = only(synth, "AWS::ApiGateway::Account")
    role = synth.logical_id("AWS::IAM::Role", "ApiGatewayLogsRole")
    assert account["CloudWatchRoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    [(lid, _)] = synth.resources("AWS::ApiGateway::Account").items()
    assert lid in synth.template["Resources"]["RestAPI"]["DependsOn"]


def test_sign_in_and_heavy_routes_are_throttled_tighter_than_the_stage(synth: Synth) -> None:
    throttle = stage_config(synth).throttle
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in only(synth, "AWS::Serverless::Api")["MethodSettings"]}
    stage = settings[("/*", "*")]
    assert (stage["ThrottlingRateLimit"], stage["ThrottlingBurstLimit"]) == (throttle.rate, throttle.burst)
    for route in (("/~1token", "POST"), ("/~1api~1v1~1login~1apikey", "POST")):
        s = settings[route]
        assert (s["ThrottlingRateLimit"], s["ThrottlingBurstLimit"]) == (throttle.sign_in_rate, throttle.sign_in_burst)
        assert s["ThrottlingRateLimit"] < stage["ThrottlingRateLimit"]


# --- Lambda --------------------------------------------------------------------------------------


def functions(synth: Synth) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in synth.resources("AWS::Serverless::Function").items()}


def test_every_function_has_reserved_concurrency_and_the_api_keeps_its_share(synth: Synth) -> None:
    concurrency = stage_config(synth).concurrency
    fns = functions(synth)
    assert set(fns) == set(FUNCTION_SHARES)
    reserved = {lid: props["ReservedConcurrentExecutions"] for lid, props in fns.items()}
    for lid, share in FUNCTION_SHARES.items():
        assert reserved[lid] == getattr(concurrency, share), lid
    assert sum(reserved.values()) == concurrency.total <= MAX_RESERVED_CONCURRENCY
    # a flood of S3 events is capped below the API's share, and SQS stops at the cap
    assert reserved["OnIngestMessage"] < reserved["APIHandler"]
    for lid, event in SQS_EVENT_SOURCES.items():
        scaling = fns[lid]["Events"][event]["Properties"]["ScalingConfig"]
        assert scaling == {"MaximumConcurrency": reserved[lid]}


def test_asynchronous_invocations_fail_into_a_dead_letter_queue(synth: Synth) -> None:
    dlq = synth.logical_id("AWS::SQS::Queue", "ScheduledJobsDlq")
    for lid, props in functions(synth).items():
        if lid in SCHEDULED_FUNCTIONS:
            assert props["DeadLetterQueue"] == {"Type": "SQS", "TargetArn": {"Fn::GetAtt": [dlq, "Arn"]}}
            assert {e["Type"] for e in props["Events"].values()} == {"Schedule"}  # EventBridge: asynchronous
        else:
            assert "DeadLetterQueue" not in props
            assert {e["Type"] for e in props.get("Events", {}).values()} <= {"Api", "SQS", "DynamoDB"}


def test_every_log_group_has_the_stage_retention(synth: Synth) -> None:
    days = stage_config(synth).log_retention_days
    groups = synth.resources(LOG_GROUP)
    assert len(groups) >= len(FUNCTION_SHARES) + 5  # functions, API access, state machine, 3 search
    for lid, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == days, lid
    assert days == (365 if synth.stage == "prod" else 30)


def test_lambda_role_writes_only_to_the_functions_own_log_groups(synth: Synth) -> None:
    policy = synth.logical_id("AWS::IAM::Policy", "LambdaRoleDefaultPolicy")
    statements = synth.template["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]
    [logs] = [s for s in statements if "logs:PutLogEvents" in s["Action"]]
    assert sorted(logs["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    expected = sorted(f"<{synth.logical_id(LOG_GROUP, f'{lid}Logs')}.Arn>" for lid in FUNCTION_SHARES)
    assert sorted(render(r) for r in logs["Resource"]) == expected


# --- Step Functions, OpenSearch ----------------------------------------------------------------


def test_state_machine_logs_every_event_without_payloads_and_traces(synth: Synth) -> None:
    machine = only(synth, "AWS::StepFunctions::StateMachine")
    config = machine["LoggingConfiguration"]
    assert config["Level"] == "ALL" and config["IncludeExecutionData"] is False
    group = synth.logical_id(LOG_GROUP, "ArchiveStateMachineLogs")
    [destination] = config["Destinations"]
    assert destination["CloudWatchLogsLogGroup"]["LogGroupArn"] == {"Fn::GetAtt": [group, "Arn"]}
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_search_domain_publishes_application_and_slow_logs(synth: Synth) -> None:
    domain = only(synth, "AWS::OpenSearchService::Domain")
    options = domain["LogPublishingOptions"]
    assert set(options) == {"ES_APPLICATION_LOGS", "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"}
    arns = set()
    for option in options.values():
        assert option["Enabled"] is True
        arns.add(render(option["CloudWatchLogsLogGroupArn"]))
    [policy] = synth.resources("AWS::Logs::ResourcePolicy").values()
    document = (
        json.loads(policy["Properties"]["PolicyDocument"])
        if isinstance(policy["Properties"]["PolicyDocument"], str)
        else policy["Properties"]["PolicyDocument"]
    )
    text = json.dumps(document)
    assert "es.amazonaws.com" in text
    for arn in arns:
        assert arn.strip("<>").split(".")[0] in text  # the policy covers exactly the domain's groups
    assert domain["EncryptionAtRestOptions"] == {"Enabled": True}
    assert domain["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert domain["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")


# --- encryption ------------------------------------------------------------------------------------


def test_queues_and_the_alarm_topic_are_encrypted(synth: Synth) -> None:
    for lid, queue in synth.resources("AWS::SQS::Queue").items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, lid
    key = synth.logical_id("AWS::KMS::Key", "StageKey")
    topic = only(synth, "AWS::SNS::Topic")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    key_props = synth.template["Resources"][key]["Properties"]
    assert key_props["EnableKeyRotation"] is True
    # CloudWatch alarms may use the key (else they could not publish to the encrypted topic)
    assert "cloudwatch.amazonaws.com" in json.dumps(key_props["KeyPolicy"])


def test_tables_and_secret_use_the_stage_key_in_prod_only(synth: Synth) -> None:
    key = synth.logical_id("AWS::KMS::Key", "StageKey")
    prod = synth.stage == "prod"
    for lid, table in synth.resources("AWS::DynamoDB::Table").items():
        sse = table["Properties"]["SSESpecification"]
        if prod:
            assert sse == {"KMSMasterKeyId": {"Fn::GetAtt": [key, "Arn"]}, "SSEEnabled": True, "SSEType": "KMS"}, lid
        else:
            assert sse == {"SSEEnabled": True}, lid  # DynamoDB's AWS-managed key
    secret = only(synth, "AWS::SecretsManager::Secret")
    assert (secret.get("KmsKeyId") == {"Fn::GetAtt": [key, "Arn"]}) is prod


# --- S3 and CloudFront ---------------------------------------------------------------------------


def test_every_bucket_logs_its_accesses_to_the_log_bucket(synth: Synth) -> None:
    logs = bucket_lid(synth, resources.ACCESS_LOG_BUCKET)
    prefixes = set()
    for lid, bucket in synth.resources("AWS::S3::Bucket").items():
        if lid == logs:
            assert "LoggingConfiguration" not in bucket["Properties"]  # not into itself
            continue
        config = bucket["Properties"]["LoggingConfiguration"]
        assert config["DestinationBucketName"] == {"Ref": logs}, lid
        prefixes.add(config["LogFilePrefix"])
    assert len(prefixes) == len(synth.resources("AWS::S3::Bucket")) - 1  # one prefix per bucket
    distribution = only(synth, "AWS::CloudFront::Distribution")["DistributionConfig"]
    assert render(distribution["Logging"]["Bucket"]) == f"<{logs}.RegionalDomainName>"
    assert distribution["Logging"]["Prefix"] == "cloudfront/"


def test_the_log_bucket_is_private_tls_only_and_expires_logs(synth: Synth) -> None:
    logs = bucket_lid(synth, resources.ACCESS_LOG_BUCKET)
    props = synth.template["Resources"][logs]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == stage_config(synth).log_retention_days
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logs}
    ]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in policy
    )
