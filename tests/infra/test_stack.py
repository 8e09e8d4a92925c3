"""The synthesized stack (dev and prod), asserted property by property with ``aws_cdk.assertions``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from chalicelib import resources
from chalicelib.adapters.dynamodb import tables
from chalicelib.config import Settings
from infra.stacks.catalogue import FUNCTIONS, HEAVY_ROUTES, SIGN_IN_ROUTES, VISIBILITY_FACTOR
from infra.stacks.settings import StageConfig, StageConfigError, Throttle
from infra.stacks.tables import TABLES
from tests.infra.conftest import STAGE_CONTEXT, Synth, as_list, iam_statements, render

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLE = "AWS::DynamoDB::Table"
LOG_GROUP = "AWS::Logs::LogGroup"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
FUNCTION = "AWS::Serverless::Function"


def cdk_context() -> dict[str, Any]:
    return dict(json.loads((REPO_ROOT / "infra" / "cdk.json").read_text())["context"])


def cdk_template(synth: Synth) -> Template:
    return Template.from_json(synth.template)


def table_named(synth: Synth, logical_name: str) -> tuple[str, dict[str, Any]]:
    wanted = f"{logical_name}-{synth.stage}"
    [(lid, res)] = [(k, v) for k, v in synth.resources(TABLE).items() if v["Properties"]["TableName"] == wanted]
    return lid, res


def queue_named(synth: Synth, logical_name: str) -> str:
    wanted = f"{logical_name}-{synth.stage}"
    [lid] = [k for k, v in synth.resources(QUEUE).items() if v["Properties"].get("QueueName") == wanted]
    return lid


def bucket_named(synth: Synth, logical_name: str) -> str:
    wanted = f"{logical_name}-{synth.stage}-<AWS::AccountId>-<AWS::Region>"
    [lid] = [k for k, v in synth.resources(BUCKET).items() if render(v["Properties"]["BucketName"]) == wanted]
    return lid


# --- DynamoDB ------------------------------------------------------------------------------


def test_every_model_is_stored_in_exactly_one_table() -> None:
    stored = [m for spec in TABLES for m in spec.models]
    assert sorted(m.__name__ for m in stored) == sorted(m.__name__ for m in tables.ALL_MODELS)
    for spec in TABLES:  # models sharing a table must agree on its keys and indexes
        schemas = [json.dumps(m._get_schema(), sort_keys=True) for m in spec.models]
        assert len(set(schemas)) == 1, spec.logical_name


@pytest.mark.parametrize("spec", TABLES, ids=lambda s: s.logical_name)
def test_table_keys_indexes_and_stream_match_the_pynamodb_model(synth: Synth, spec: Any) -> None:
    _, table = table_named(synth, spec.logical_name)
    props = table["Properties"]
    schema = spec.models[0]._get_schema()
    assert sorted(props["KeySchema"], key=lambda k: k["KeyType"]) == sorted(
        schema["key_schema"], key=lambda k: k["KeyType"]
    )
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        schema["attribute_definitions"], key=lambda a: a["AttributeName"]
    )
    expected_indexes = {
        i["index_name"]: (sorted(i["key_schema"], key=lambda k: k["KeyType"]), i["projection"]["ProjectionType"])
        for i in schema["global_secondary_indexes"]
    }
    actual_indexes = {
        i["IndexName"]: (sorted(i["KeySchema"], key=lambda k: k["KeyType"]), i["Projection"]["ProjectionType"])
        for i in props.get("GlobalSecondaryIndexes", [])
    }
    assert actual_indexes == expected_indexes
    view = getattr(spec.models[0].Meta, "stream_view_type", None)
    assert props.get("StreamSpecification") == ({"StreamViewType": view} if view else None)


def test_only_the_sign_in_attempts_expire(synth: Synth) -> None:
    ttl = {
        v["Properties"]["TableName"]: v["Properties"].get("TimeToLiveSpecification")
        for v in synth.resources(TABLE).values()
    }
    attempts = f"{resources.SIGN_IN_ATTEMPTS_TABLE}-{synth.stage}"
    assert ttl.pop(attempts) == {"AttributeName": tables.AttemptItem.expires_at.attr_name, "Enabled": True}
    assert set(ttl.values()) == {None}


def test_archives_indexes_are_the_ones_the_repository_queries(dev: Synth) -> None:
    _, table = table_named(dev, resources.ARCHIVES_TABLE)
    names = {i["IndexName"] for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert names == {tables.ARCHIVES_BY_DATASET, tables.ARCHIVES_BY_STATUS}


def test_facility_indexes_are_the_ones_the_store_queries(dev: Synth) -> None:
    _, table = table_named(dev, resources.FACILITY_TABLE)
    names = {i["IndexName"] for i in table["Properties"]["GlobalSecondaryIndexes"]}
    assert names == {tables.FACILITY_LIST_A, tables.FACILITY_LIST_B}


def test_streams_only_on_datasets_access_and_facility(synth: Synth) -> None:
    streamed = {
        v["Properties"]["TableName"]
        for v in synth.resources(TABLE).values()
        if "StreamSpecification" in v["Properties"]
    }
    tables_with_streams = (resources.DATASETS_TABLE, resources.ACCESS_TABLE, resources.FACILITY_TABLE)
    assert streamed == {f"{name}-{synth.stage}" for name in tables_with_streams}


def test_tables_have_pitr_on_demand_billing_and_encryption(synth: Synth) -> None:
    found = synth.resources(TABLE)
    assert len(found) == len(TABLES)
    for res in found.values():
        props = res["Properties"]
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["SSESpecification"]["SSEEnabled"] is True


def test_prod_tables_are_protected_and_retained(prod: Synth) -> None:
    cdk_template(prod).all_resources_properties(TABLE, {"DeletionProtectionEnabled": True})
    for res in prod.resources(TABLE).values():
        assert res["DeletionPolicy"] == "Retain"
        assert res["UpdateReplacePolicy"] == "Retain"


def test_dev_tables_can_be_torn_down(dev: Synth) -> None:
    for res in dev.resources(TABLE).values():
        assert res["Properties"].get("DeletionProtectionEnabled", False) is False
        assert res["DeletionPolicy"] == "Delete"


# --- S3 ------------------------------------------------------------------------------------


def test_buckets_are_versioned_encrypted_private(synth: Synth) -> None:
    """Every bucket but the access-log bucket (tests/infra/test_security_settings.py)."""
    expected = {
        "VersioningConfiguration": {"Status": "Enabled"},
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }
    logs = bucket_named(synth, resources.ACCESS_LOG_BUCKET)
    buckets = {lid: b["Properties"] for lid, b in synth.resources(BUCKET).items() if lid != logs}
    assert len(buckets) >= 4
    for lid, props in buckets.items():
        assert {k: props.get(k) for k in expected} == expected, lid


def test_every_bucket_has_a_tls_only_policy(synth: Synth) -> None:
    policies = {
        render(v["Properties"]["Bucket"]): v["Properties"]["PolicyDocument"]["Statement"]
        for v in synth.resources("AWS::S3::BucketPolicy").values()
    }
    for lid in synth.resources(BUCKET):
        statements = policies[f"<{lid}>"]
        assert {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
        }.items() <= statements[0].items(), lid


def test_buckets_of_the_stage(dev: Synth, prod: Synth) -> None:
    owned = [resources.CATALOGUE_BUCKET, resources.ARCHIVE_BUCKET, resources.DEPOSIT_BUCKET, resources.WEB_PAGE_BUCKET]
    owned.append(resources.ACCESS_LOG_BUCKET)
    for name in owned:
        bucket_named(dev, name)
        bucket_named(prod, name)
    bucket_named(dev, resources.DEMO_BUCKET)  # the demo bucket exists in dev only
    assert len(dev.resources(BUCKET)) == 6
    assert len(prod.resources(BUCKET)) == 5


def test_archive_bucket_moves_to_deep_archive(synth: Synth) -> None:
    days = cdk_context()["stages"][synth.stage]["deep_archive_after_days"]
    props = synth.template["Resources"][bucket_named(synth, resources.ARCHIVE_BUCKET)]["Properties"]
    [rule] = props["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Transitions"] == [{"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": days}]
    assert rule["NoncurrentVersionTransitions"] == [{"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": days}]


def test_object_lock_only_when_asked(dev: Synth, prod: Synth) -> None:
    dev_props = dev.template["Resources"][bucket_named(dev, resources.ARCHIVE_BUCKET)]["Properties"]
    assert "ObjectLockEnabled" not in dev_props
    props = prod.template["Resources"][bucket_named(prod, resources.ARCHIVE_BUCKET)]["Properties"]
    assert props["ObjectLockEnabled"] is True
    assert props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 3650}


def test_s3_notifications_go_to_the_ingest_queue(synth: Synth) -> None:
    ingest = queue_named(synth, resources.INGEST_QUEUE)
    notified = {}
    for res in synth.resources("Custom::S3BucketNotifications").values():
        props = res["Properties"]
        events = {e for c in props["NotificationConfiguration"]["QueueConfigurations"] for e in c["Events"]}
        targets = {render(c["QueueArn"]) for c in props["NotificationConfiguration"]["QueueConfigurations"]}
        assert events == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
        assert targets == {f"<{ingest}.Arn>"}
        notified[render(props["BucketName"])] = props["Managed"]
    deposit = f"<{bucket_named(synth, resources.DEPOSIT_BUCKET)}>"
    if synth.stage == "dev":
        assert notified == {deposit: True, f"<{bucket_named(synth, resources.DEMO_BUCKET)}>": True}
    else:  # an existing data bucket from context: its other notifications are kept (Managed: false)
        assert notified == {deposit: True, "lab-instrument-data": False}
    # S3 may send to the queue, only from those buckets
    [policy] = [
        v
        for v in synth.resources("AWS::SQS::QueuePolicy").values()
        if render(v["Properties"]["Queues"]) == [f"<{ingest}>"]
    ]
    s3_sources = {
        render(s["Condition"]["ArnLike"]["aws:SourceArn"])
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "s3.amazonaws.com"}
    }
    assert len(s3_sources) == len(notified)


# --- SQS, event sources, functions ---------------------------------------------------------


# CDK's own function copying the web page into its bucket (BucketDeployment), with its own role
WEB_PAGE_COPIER = "CustomCDKBucketDeployment"


def functions(synth: Synth) -> dict[str, dict[str, Any]]:
    return synth.resources(FUNCTION)


def test_queues_have_dlqs_with_max_receive_count(synth: Synth) -> None:
    for queue, dlq in (
        (resources.INGEST_QUEUE, resources.INGEST_DLQ),
        (resources.ARCHIVE_TASK_QUEUE, resources.ARCHIVE_TASK_DLQ),
    ):
        props = synth.template["Resources"][queue_named(synth, queue)]["Properties"]
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [queue_named(synth, dlq), "Arn"]},
            "maxReceiveCount": resources.INGEST_MAX_RECEIVE_COUNT,
        }
    assert f"{resources.ARCHIVE_TASK_QUEUE}-dlq" == resources.ARCHIVE_TASK_DLQ  # as the local stack names it
    cdk_template(synth).all_resources_properties(QUEUE, {"SqsManagedSseEnabled": True})


@pytest.mark.parametrize(
    ("queue", "handler"), [(resources.INGEST_QUEUE, "OnIngestMessage"), (resources.ARCHIVE_TASK_QUEUE, "OnArchiveTask")]
)
def test_queue_visibility_is_six_times_the_consumer_timeout(synth: Synth, queue: str, handler: str) -> None:
    props = synth.template["Resources"][queue_named(synth, queue)]["Properties"]
    timeout = functions(synth)[handler]["Properties"]["Timeout"]
    assert props["VisibilityTimeout"] >= VISIBILITY_FACTOR * timeout


def test_sqs_event_sources_target_the_right_functions(synth: Synth) -> None:
    sources = {
        lid: [e for e in fn["Properties"].get("Events", {}).values() if e["Type"] == "SQS"]
        for lid, fn in functions(synth).items()
    }
    arn = "arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:{}-" + synth.stage
    assert {
        lid: [(render(e["Properties"]["Queue"]), e["Properties"]["BatchSize"]) for e in ev]
        for lid, ev in sources.items()
        if ev
    } == {
        "OnIngestMessage": [(arn.format(resources.INGEST_QUEUE), 1)],
        "OnArchiveTask": [(arn.format(resources.ARCHIVE_TASK_QUEUE), 1)],
    }
    # the queues are named by plain strings: the functions wait for them to exist
    for lid in ("OnIngestMessage", "OnArchiveTask"):
        depends = functions(synth)[lid]["DependsOn"]
        assert {queue_named(synth, resources.INGEST_QUEUE), queue_named(synth, resources.ARCHIVE_TASK_QUEUE)} <= set(
            depends
        )


def test_stream_event_sources_target_the_right_functions(synth: Synth) -> None:
    found = {}
    for lid, fn in functions(synth).items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] == "DynamoDB":
                p = event["Properties"]
                found[lid] = render(p["Stream"])
                assert p["StartingPosition"] == "TRIM_HORIZON"
                assert p["MaximumRetryAttempts"] > 0 and p["BisectBatchOnFunctionError"] is True
                dlq = render(p["DestinationConfig"]["OnFailure"]["Destination"])
                assert re.fullmatch(r"<\w+StreamDlq\w+\.Arn>", dlq)
    datasets, _ = table_named(synth, resources.DATASETS_TABLE)
    access, _ = table_named(synth, resources.ACCESS_TABLE)
    facility, _ = table_named(synth, resources.FACILITY_TABLE)
    assert found == {
        "OnDatasetsStream": f"<{datasets}.StreamArn>",
        "OnAccessStream": f"<{access}.StreamArn>",
        "OnFacilityStream": f"<{facility}.StreamArn>",
    }


def test_schedules(synth: Synth) -> None:
    schedules = {
        lid: [
            e["Properties"]["Schedule"] for e in fn["Properties"].get("Events", {}).values() if e["Type"] == "Schedule"
        ]
        for lid, fn in functions(synth).items()
    }
    assert {k: v for k, v in schedules.items() if v} == {
        "FixityAuditDaily": ["rate(1 day)"],
        "ReconcileDaily": ["rate(1 day)"],
        "DoiReconcileHourly": ["rate(1 hour)"],
    }


def test_every_function_is_sized_and_uses_the_stack_role(synth: Synth) -> None:
    role = synth.logical_id("AWS::IAM::Role", "LambdaRole")
    policy = synth.logical_id("AWS::IAM::Policy", "LambdaRoleDefaultPolicy")
    assert set(functions(synth)) == set(FUNCTIONS)
    for lid, fn in functions(synth).items():
        props = fn["Properties"]
        assert (props["Timeout"], props["MemorySize"]) == FUNCTIONS[lid]
        assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert props["Runtime"] == "python3.11"
        # no forged log lines (issue 15), into the function's own log group (issue 25)
        assert props["LoggingConfig"] == {
            "LogFormat": "JSON",
            "LogGroup": {"Ref": synth.logical_id(LOG_GROUP, f"{lid}Logs")},
        }
        assert policy in fn["DependsOn"]  # event source mappings are checked against it
    # Chalice created no role of its own (API Gateway's logging role is the account setting's)
    roles = set(synth.resources("AWS::IAM::Role"))
    ours = (
        "LambdaRole",
        "ArchiveStateMachineRole",
        "ApiGatewayLogsRole",
        "BucketNotificationsHandler",
        WEB_PAGE_COPIER,
    )
    assert {r for r in roles if not r.startswith(ours)} == set()


def test_function_environment_is_complete_and_free_of_test_values(synth: Synth) -> None:
    config_source = (REPO_ROOT / "chalicelib" / "config.py").read_text()
    read = set(re.findall(r'"(CATALOGUE_[A-Z_]+)"', config_source)) | {
        "CATALOGUE_DATASETS_STREAM_ARN",
        "CATALOGUE_ACCESS_STREAM_ARN",
        "CATALOGUE_FACILITY_STREAM_ARN",
        "CATALOGUE_WEB_ORIGIN",  # app.py: the CORS origin
    }
    not_deployed = {  # defaults are right in AWS
        "CATALOGUE_AWS_ENDPOINT_URL",
        "CATALOGUE_DEBUG",
        "CATALOGUE_MAX_BODY_BYTES",
        "CATALOGUE_INLINE_CAP_BYTES",
        "CATALOGUE_MAX_QUERY_CHARS",
        "CATALOGUE_JWKS_COOLDOWN_SECONDS",
        "CATALOGUE_PRINCIPAL_CACHE_SECONDS",
        "CATALOGUE_UPLOAD_MAX_BYTES",  # 5 GiB: S3's limit of one POST
        "CATALOGUE_UPLOAD_EXPIRES_SECONDS",
        "CATALOGUE_PUBLISHER",  # exports' publisher: the default until a site names itself
        "CATALOGUE_OAI_REPOSITORY_NAME",  # OAI-PMH's Identify: the publisher's name
        "CATALOGUE_OAI_BASE_URL",  # OAI-PMH's baseURL: the address the request came to
        "CATALOGUE_OAI_PAGE_SIZE",
        "CATALOGUE_ITEM_LINK_SECONDS",  # file links: 300 s
        "CATALOGUE_DOWNLOAD_LOG",  # off: a site turns it on
        "CATALOGUE_OAI_TOKEN_SECONDS",
    }
    for fn in functions(synth).values():
        env = {k: render(v) for k, v in fn["Properties"]["Environment"]["Variables"].items()}
        assert set(env) == read - not_deployed
        text = json.dumps(env)
        assert "123456789012" not in text and "test-datasets" not in text
        settings = Settings.from_env({k: str(v) for k, v in env.items()})
        assert settings.stage == synth.stage
        assert settings.ingest_queue == f"{resources.INGEST_QUEUE}-{synth.stage}"
        assert settings.opensearch_url.startswith("https://")
        [issuer] = settings.issuers
        if synth.stage == "dev":
            user_pool = synth.logical_id("AWS::Cognito::UserPool", "UserPool")
            client = synth.logical_id("AWS::Cognito::UserPoolClient", "UserPoolCliClient")
            page = synth.logical_id("AWS::Cognito::UserPoolClient", "UserPoolWebPageClient")
            assert issuer.issuer == f"<{user_pool}.ProviderURL>"
            assert issuer.jwks_url == f"<{user_pool}.ProviderURL>/.well-known/jwks.json"
            assert issuer.client_ids == (f"<{client}>", f"<{page}>")  # the CLI's and the web page's
            assert issuer.token_use == "access"
            xfel = synth.logical_id("AWS::Cognito::UserPoolClient", "UserPoolXfelClient")
            assert dict(issuer.service_clients) == {f"<{xfel}>": resources.XFEL_SERVICE_USER}
            # POST /token signs in to the same pool and client the verifier trusts
            assert (settings.user_pool_id, settings.user_pool_client_id) == (f"<{user_pool}>", f"<{client}>")
        attempts, _ = table_named(synth, resources.SIGN_IN_ATTEMPTS_TABLE)
        assert settings.sign_in_attempts_table == f"<{attempts}>"
        facility, _ = table_named(synth, resources.FACILITY_TABLE)
        assert settings.facility_table == f"<{facility}>"
        summary, _ = table_named(synth, resources.SUMMARY_TABLE)
        assert settings.summary_table == f"<{summary}>"


# --- Step Functions ------------------------------------------------------------------------


def test_state_machine_runs_the_shared_asl_file(synth: Synth) -> None:
    [machine] = synth.resources("AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    asl = (REPO_ROOT / resources.ARCHIVE_DEFINITION_FILE).read_text()
    assert json.loads(props["DefinitionString"]) == json.loads(asl)
    assert asl.count("${TaskQueueUrl}") > 0 and set(re.findall(r"\$\{(\w+)\}", asl)) == {"TaskQueueUrl"}
    assert props["DefinitionSubstitutions"] == {
        "TaskQueueUrl": {"Ref": queue_named(synth, resources.ARCHIVE_TASK_QUEUE)}
    }
    assert props["StateMachineName"] == f"{resources.ARCHIVE_STATE_MACHINE}-{synth.stage}"
    role = props["RoleArn"]["Fn::GetAtt"][0]
    statements = [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements == [
        {"Action": list(STATE_MACHINE_LOGS_AND_TRACES), "Effect": "Allow", "Resource": "*"},
        {
            "Action": "sqs:SendMessage",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [queue_named(synth, resources.ARCHIVE_TASK_QUEUE), "Arn"]},
        },
    ]


# --- IAM -----------------------------------------------------------------------------------

# Resource "*" is allowed only where AWS requires it, each case named here:
# task tokens name no resource, so SendTaskSuccess/Failure/Heartbeat cannot be scoped.
# CloudWatch Logs delivery and X-Ray support no resource-level permissions (the state machine's role)
STATE_MACHINE_LOGS_AND_TRACES = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
)
ALLOWED_STAR_RESOURCE = {
    ("AnswerArchiveTaskTokens", ("states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess")),
    ("", STATE_MACHINE_LOGS_AND_TRACES),
}


def test_no_wildcard_actions(synth: Synth) -> None:
    for owner, statement in iam_statements(synth.template):
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), (owner, statement)


def test_resource_star_only_where_aws_requires_it(synth: Synth) -> None:
    stars = {
        (s.get("Sid", ""), tuple(sorted(as_list(s["Action"]))))
        for _, s in iam_statements(synth.template)
        if "*" in as_list(s["Resource"])
    }
    assert stars == ALLOWED_STAR_RESOURCE


def test_lambda_role_statements_are_scoped_to_this_stack(synth: Synth) -> None:
    policy = synth.logical_id("AWS::IAM::Policy", "LambdaRoleDefaultPolicy")
    own = set(synth.template["Resources"])
    external = {"lab-instrument-data"} if synth.stage == "prod" else set()
    for statement in synth.template["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]:
        if statement.get("Sid") == "AnswerArchiveTaskTokens":
            continue
        for resource in as_list(statement["Resource"]):
            text = json.dumps(resource)
            refs = set(re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([^"]+)"', text)) - {
                "AWS::Partition",
                "AWS::Region",
                "AWS::AccountId",
            }
            named = {b for b in external if b in text}
            assert refs <= own and (refs or named or "log-group:/aws/lambda/catalogue-" in text), statement


def lambda_actions(synth: Synth) -> dict[str, set[str]]:
    """action -> rendered resources, for the Lambda role."""
    policy = synth.logical_id("AWS::IAM::Policy", "LambdaRoleDefaultPolicy")
    out: dict[str, set[str]] = {}
    for s in synth.template["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"]:
        for action in as_list(s["Action"]):
            out.setdefault(action, set()).update(str(render(r)) for r in as_list(s["Resource"]))
    return out


def test_lambda_role_grants(synth: Synth) -> None:
    actions = lambda_actions(synth)
    ingest = queue_named(synth, resources.INGEST_QUEUE)
    archive_queue = queue_named(synth, resources.ARCHIVE_TASK_QUEUE)
    machine = synth.logical_id("AWS::StepFunctions::StateMachine", "ArchiveStateMachine")
    domain = synth.logical_id("AWS::OpenSearchService::Domain", "SearchDomain")
    assert actions["sqs:ReceiveMessage"] == {f"<{ingest}.Arn>", f"<{archive_queue}.Arn>"}
    assert f"<{ingest}.Arn>" in actions["sqs:SendMessage"]
    assert f"<{archive_queue}.Arn>" not in actions["sqs:SendMessage"]  # the worker only answers tokens
    assert actions["states:StartExecution"] == {f"<{machine}>"}
    assert actions["es:ESHttpPost"] == {f"<{domain}.Arn>", f"<{domain}.Arn>/*"}
    for spec in TABLES:
        lid, _ = table_named(synth, spec.logical_name)
        assert f"<{lid}.Arn>" in actions["dynamodb:PutItem"]
    for name in (resources.DATASETS_TABLE, resources.ACCESS_TABLE):
        lid, _ = table_named(synth, name)
        assert actions["dynamodb:GetRecords"] >= {f"<{lid}.StreamArn>"}
    for name in (resources.ARCHIVES_TABLE, resources.FACILITY_TABLE):  # tables queried by GSI
        lid, _ = table_named(synth, name)
        assert f"<{lid}.Arn>/index/*" in actions["dynamodb:Query"]
    blobs = bucket_named(synth, resources.CATALOGUE_BUCKET)
    archive = bucket_named(synth, resources.ARCHIVE_BUCKET)
    deposit = bucket_named(synth, resources.DEPOSIT_BUCKET)
    objects = {r for r in actions["s3:PutObject"] if "/" in r}  # statements merge bucket and object ARNs
    # the data buckets too: POST /uploads hands out presigned POSTs signed by this role
    if synth.stage == "prod":
        data = {"arn:<AWS::Partition>:s3:::lab-instrument-data/*"}
    else:
        data = {f"<{bucket_named(synth, resources.DEMO_BUCKET)}.Arn>/*"}
    # deposits: POST /uploads' presigned POSTs and the SIPs POST /harvests builds
    deposits = {f"<{deposit}.Arn>/uploads/*", f"<{deposit}.Arn>/harvests/*"}
    assert objects == {f"<{blobs}.Arn>/*", f"<{archive}.Arn>/*", *deposits, *data}
    assert actions["s3:RestoreObject"] == {f"<{archive}.Arn>/*"}
    if synth.stage == "prod":
        assert "arn:<AWS::Partition>:s3:::lab-instrument-data/*" in actions["s3:GetObject*"]
        assert not any("lab-instrument-data" in r for r in actions["s3:DeleteObject*"])  # put, never delete


# --- OpenSearch, Cognito, alarms, outputs --------------------------------------------------


def test_search_domain_is_encrypted_https_only_and_not_open(synth: Synth) -> None:
    [domain] = synth.resources("AWS::OpenSearchService::Domain").values()
    props = domain["Properties"]
    assert props["EncryptionAtRestOptions"] == {"Enabled": True}
    assert props["NodeToNodeEncryptionOptions"] == {"Enabled": True}
    assert props["DomainEndpointOptions"]["EnforceHTTPS"] is True
    assert props["DomainEndpointOptions"]["TLSSecurityPolicy"].startswith("Policy-Min-TLS-1-2")
    # the resource policy names one principal, the Lambda role (and its identity policy allows the
    # same actions): only SigV4 requests of that role get through
    role = synth.logical_id("AWS::IAM::Role", "LambdaRole")
    assert props["DomainName"] == f"catalogue-{synth.stage}"
    assert render(props["AccessPolicies"]["Statement"]) == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"<{role}.Arn>"},
            "Action": "es:ESHttp*",
            "Resource": f"arn:<AWS::Partition>:es:eu-west-1:<AWS::AccountId>:domain/catalogue-{synth.stage}/*",
        }
    ]
    assert not any(r["Type"] == "Custom::OpenSearchAccessPolicy" for r in synth.template["Resources"].values())


def test_cognito_pool_client_and_admin_group(dev: Synth) -> None:
    t = cdk_template(dev)
    t.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "UserPoolName": f"{resources.USER_POOL_NAME}-dev",
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
        },
    )
    t.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "ClientName": f"{resources.USER_POOL_CLIENT_NAME}-dev",
            "GenerateSecret": False,
            # POST /token (USER_PASSWORD_AUTH); unknown users look like wrong passwords
            "ExplicitAuthFlows": Match.array_with(["ALLOW_USER_PASSWORD_AUTH"]),
            "PreventUserExistenceErrors": "ENABLED",
        },
    )
    # InitiateAuth needs no IAM permission: the Lambda role holds no Cognito rights
    assert not [a for a in lambda_actions(dev) if a.startswith("cognito-idp:")]
    t.resource_count_is("AWS::Cognito::UserPoolGroup", 1)


def test_client_credentials_for_xfel(dev: Synth) -> None:
    t = cdk_template(dev)
    pool = {"Ref": dev.logical_id("AWS::Cognito::UserPool", "UserPool")}
    server = dev.logical_id("AWS::Cognito::UserPoolResourceServer", "UserPoolResourceServer")
    t.has_resource_properties(
        "AWS::Cognito::UserPoolResourceServer",
        {
            "UserPoolId": pool,
            "Identifier": resources.OAUTH_RESOURCE_SERVER,
            "Scopes": [{"ScopeName": resources.MYMDC_SCOPE, "ScopeDescription": Match.any_value()}],
        },
    )
    [domain] = dev.resources("AWS::Cognito::UserPoolDomain").values()
    assert domain["Properties"]["UserPoolId"] == pool
    prefix = render(domain["Properties"]["Domain"])
    assert prefix == f"{resources.USER_POOL_DOMAIN}-dev-<AWS::AccountId>"
    assert re.fullmatch(r"[a-z0-9-]+", prefix.replace("<AWS::AccountId>", "123456789012"))
    assert not any(word in prefix for word in ("aws", "amazon", "cognito"))  # Cognito refuses these

    xfel = dev.logical_id("AWS::Cognito::UserPoolClient", "UserPoolXfelClient")
    props = dev.resources("AWS::Cognito::UserPoolClient")[xfel]["Properties"]
    assert props["UserPoolId"] == pool
    assert props["ClientName"] == f"{resources.XFEL_CLIENT_NAME}-dev"
    assert props["GenerateSecret"] is True
    assert props["AllowedOAuthFlows"] == ["client_credentials"]
    assert props["AllowedOAuthFlowsUserPoolClient"] is True
    assert render(props["AllowedOAuthScopes"]) == [f"<{server}>/{resources.MYMDC_SCOPE}"]
    assert props["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # signs no user in
    assert "CallbackURLs" not in props
    # the users' client offers no hosted-UI flows now that the pool has a domain
    cli = dev.logical_id("AWS::Cognito::UserPoolClient", "UserPoolCliClient")
    cli_props = dev.resources("AWS::Cognito::UserPoolClient")[cli]["Properties"]
    assert cli_props["AllowedOAuthFlowsUserPoolClient"] is False
    assert "AllowedOAuthFlows" not in cli_props and "CallbackURLs" not in cli_props


def test_the_data_trackers_sign_in_through_the_hosted_ui(synth: Synth) -> None:
    """With ``sign_in_callback_url`` (prod here), a public client with the code flow to that
    callback only, trusted by the verifier and named in CATALOGUE_OIDC_LOGINS; without it
    (dev), no such client and no sign-in service."""
    fn = next(iter(functions(synth).values()))
    env = {k: render(v) for k, v in fn["Properties"]["Environment"]["Variables"].items()}
    settings = Settings.from_env({k: str(v) for k, v in env.items()})
    clients = synth.resources("AWS::Cognito::UserPoolClient")
    if synth.stage == "dev":
        assert settings.oidc_logins == ()
        assert not any("WebSignIn" in lid for lid in clients)
        return
    web = synth.logical_id("AWS::Cognito::UserPoolClient", "UserPoolWebSignInClient")
    props = clients[web]["Properties"]
    callback = STAGE_CONTEXT["prod"]["sign_in_callback_url"]
    assert props["GenerateSecret"] is False  # public: Cognito requires PKCE of it
    assert props["AllowedOAuthFlows"] == ["code"] and props["CallbackURLs"] == [callback]
    assert sorted(props["AllowedOAuthScopes"]) == ["email", "openid", "profile"]
    [login] = settings.oidc_logins
    domain = synth.logical_id("AWS::Cognito::UserPoolDomain", "UserPoolDomain")
    assert (login.name, login.client_id, login.redirect_uri) == ("cognito", f"<{web}>", callback)
    assert re.fullmatch(
        rf"https://<{domain}>\.auth\.[a-z0-9-]+\.amazoncognito\.com/oauth2/authorize", login.authorize_url
    )
    assert f"<{web}>" in settings.issuers[0].client_ids


def test_no_client_secret_leaves_the_pool(synth: Synth) -> None:
    # neither an output nor the functions' environment (nor anything else) reads a secret
    assert "ClientSecret" not in json.dumps(synth.template)


def test_alarms(synth: Synth) -> None:
    alarms = list(synth.resources("AWS::CloudWatch::Alarm").values())
    topic = synth.logical_id("AWS::SNS::Topic", "AlarmTopic")
    for alarm in alarms:
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
        assert alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
        assert alarm["Properties"]["Threshold"] == 0

    def watched(namespace: str, metric: str) -> list[str]:
        return [
            str(render(d["Value"]))
            for a in alarms
            if a["Properties"]["Namespace"] == namespace and a["Properties"]["MetricName"] == metric
            for d in a["Properties"].get("Dimensions", [{"Value": "-"}])
        ]

    dlqs = [queue_named(synth, resources.INGEST_DLQ), queue_named(synth, resources.ARCHIVE_TASK_DLQ)]
    dlqs += [synth.logical_id(QUEUE, f"{name}StreamDlq") for name in ("Datasets", "Access", "Facility")]
    dlqs.append(synth.logical_id(QUEUE, "ScheduledJobsDlq"))
    assert sorted(watched("AWS/SQS", "ApproximateNumberOfMessagesVisible")) == sorted(f"<{q}.QueueName>" for q in dlqs)
    assert sorted(watched("AWS/Lambda", "Errors")) == sorted(f"<{lid}>" for lid in FUNCTIONS)
    machine = synth.logical_id("AWS::StepFunctions::StateMachine", "ArchiveStateMachine")
    assert watched("AWS/States", "ExecutionsFailed") == [f"<{machine}>"]
    assert watched("Catalogue/Archive", "FixityFailures") == [synth.stage]  # the EMF line's Stage dimension
    assert watched("Catalogue/Index", "IndexFailures") == [synth.stage]  # chalicelib.catalogue.streams' EMF line
    if synth.stage == "prod":
        cdk_template(synth).has_resource_properties(
            "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": STAGE_CONTEXT["prod"]["alarm_email"]}
        )


def test_outputs(dev: Synth) -> None:
    outputs = dev.template["Outputs"]
    assert render(outputs["ApiUrl"]["Value"]) == "https://<RestAPI>.execute-api.<AWS::Region>.<AWS::URLSuffix>/api/"
    assert outputs["UserPoolId"]["Value"] == {"Ref": dev.logical_id("AWS::Cognito::UserPool", "UserPool")}
    assert outputs["UserPoolClientId"]["Value"] == {
        "Ref": dev.logical_id("AWS::Cognito::UserPoolClient", "UserPoolCliClient")
    }
    assert outputs["XfelClientId"]["Value"] == {
        "Ref": dev.logical_id("AWS::Cognito::UserPoolClient", "UserPoolXfelClient")
    }
    domain = dev.logical_id("AWS::Cognito::UserPoolDomain", "UserPoolDomain")
    token_url = render(outputs["XfelTokenUrl"]["Value"])
    assert re.fullmatch(rf"https://<{domain}>\.auth\.[a-z0-9-]+\.amazoncognito\.com/oauth2/token", token_url)
    cdk_template(dev).has_output("ApiUrl", {"Value": Match.any_value()})


# --- one source of truth -------------------------------------------------------------------


def test_every_name_in_the_template_comes_from_chalicelib_resources(synth: Synth) -> None:
    logical = {v for k, v in vars(resources).items() if k.isupper() and isinstance(v, str)}
    regional = {f"{n}-{synth.stage}" for n in logical}
    buckets = {f"{n}-{synth.stage}-<AWS::AccountId>-<AWS::Region>" for n in logical}
    name_props = {
        TABLE: "TableName",
        QUEUE: "QueueName",
        BUCKET: "BucketName",
        "AWS::StepFunctions::StateMachine": "StateMachineName",
        "AWS::Cognito::UserPool": "UserPoolName",
        "AWS::Cognito::UserPoolClient": "ClientName",
    }
    seen = set()
    for type_, prop in name_props.items():
        for res in synth.resources(type_).values():
            name = res["Properties"].get(prop)
            if name is None:
                continue  # CloudFormation names it (the stream on-failure queues)
            rendered = render(name)
            assert rendered in (buckets if type_ == BUCKET else regional), rendered
            seen.add(rendered)
    expected = {
        f"{n}-{synth.stage}"
        for n in (
            resources.DATASETS_TABLE,
            resources.ACCESS_TABLE,
            resources.AUDIT_TABLE,
            resources.ARCHIVES_TABLE,
            resources.SIGN_IN_ATTEMPTS_TABLE,
            resources.FACILITY_TABLE,
            resources.SUMMARY_TABLE,
            resources.INGEST_QUEUE,
            resources.INGEST_DLQ,
            resources.ARCHIVE_TASK_QUEUE,
            resources.ARCHIVE_TASK_DLQ,
            resources.ARCHIVE_STATE_MACHINE,
        )
    } | {
        f"{n}-{synth.stage}-<AWS::AccountId>-<AWS::Region>"
        for n in (resources.CATALOGUE_BUCKET, resources.ARCHIVE_BUCKET, resources.DEPOSIT_BUCKET)
    }
    assert expected <= seen


def test_the_web_page_behind_cloudfront(dev: Synth) -> None:
    """web/ in a private bucket read by CloudFront only (origin access control), served over
    HTTPS with the page's security headers; its config.json names the API and the page's own
    sign-in client; the API's CORS and the demo bucket's upload POSTs allow its origin only."""
    [(dist_id, dist)] = dev.resources("AWS::CloudFront::Distribution").items()
    config = dist["Properties"]["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    [origin] = config["Origins"]
    assert "OriginAccessControlId" in origin and origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert len(dev.resources("AWS::CloudFront::OriginAccessControl")) == 1
    [policy] = dev.resources("AWS::CloudFront::ResponseHeadersPolicy").values()
    security = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    csp = security["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe" not in csp
    assert security["FrameOptions"]["FrameOption"] == "DENY"
    page_origin = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [dist_id, "DomainName"]}]]}

    web_bucket = dev.template["Resources"][bucket_named(dev, resources.WEB_PAGE_BUCKET)]
    assert web_bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    # the page's public client: code flow with PKCE back to the page only
    [page_client] = [
        c["Properties"]
        for c in dev.resources("AWS::Cognito::UserPoolClient").values()
        if c["Properties"].get("ClientName") == f"{resources.WEB_PAGE_CLIENT_NAME}-dev"
    ]
    assert page_client["AllowedOAuthFlows"] == ["code"] and not page_client.get("GenerateSecret")
    assert json.dumps(page_client["CallbackURLs"]) == json.dumps(
        [{"Fn::Join": ["", ["https://", {"Fn::GetAtt": [dist_id, "DomainName"]}, "/"]]}]
    )
    for fn in functions(dev).values():
        assert fn["Properties"]["Environment"]["Variables"]["CATALOGUE_WEB_ORIGIN"] == page_origin
    demo = dev.template["Resources"][bucket_named(dev, resources.DEMO_BUCKET)]
    [rule] = demo["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"] and rule["AllowedOrigins"] == [page_origin]
    [deployment] = dev.resources("Custom::CDKBucketDeployment").values()
    markers = json.dumps(deployment["Properties"]["SourceMarkers"])  # config.json's deploy-time values
    assert "/oauth2/authorize" in markers and "/oauth2/token" in markers and "execute-api" in markers


# --- throttling -----------------------------------------------------------------------------


def test_the_stage_is_throttled_and_sign_in_tighter(synth: Synth) -> None:
    """API Gateway's stage throttling (OWASP API4): the whole API, and the two routes that take a
    password or a key far tighter; each route named exists in the app."""
    import app as app_module

    [api] = synth.resources("AWS::Serverless::Api").values()
    settings = {(m["HttpMethod"], m["ResourcePath"]): m for m in api["Properties"]["MethodSettings"]}
    throttle = StageConfig.from_mapping(synth.stage, cdk_context()["stages"][synth.stage]).throttle
    everything = settings.pop(("*", "/*"))
    assert (everything["ThrottlingRateLimit"], everything["ThrottlingBurstLimit"]) == (throttle.rate, throttle.burst)
    assert set(settings) == {(m, "/" + p.replace("/", "~1")) for m, p in SIGN_IN_ROUTES + HEAVY_ROUTES}
    for method, path in SIGN_IN_ROUTES + HEAVY_ROUTES:
        assert method in app_module.app.routes[path]
    for method, path in SIGN_IN_ROUTES:
        tight = settings[(method, "/" + path.replace("/", "~1"))]
        assert tight["ThrottlingRateLimit"] == throttle.sign_in_rate < throttle.rate
        assert tight["ThrottlingBurstLimit"] == throttle.sign_in_burst < throttle.burst
    for method, path in HEAVY_ROUTES:
        tight = settings[(method, "/" + path.replace("/", "~1"))]
        assert tight["ThrottlingRateLimit"] == throttle.heavy_rate < throttle.rate
        assert tight["ThrottlingBurstLimit"] == throttle.heavy_burst < throttle.burst


def test_throttle_settings_are_checked() -> None:
    with pytest.raises(StageConfigError, match="sign_in_rate"):
        StageConfig.from_mapping("dev", {"throttle": {"rate": 5, "sign_in_rate": 10}})
    with pytest.raises(StageConfigError, match="unknown throttle"):
        StageConfig.from_mapping("dev", {"throttle": {"rps": 5}})
    with pytest.raises(StageConfigError, match="heavy_rate"):
        StageConfig.from_mapping("dev", {"throttle": {"rate": 5, "burst": 10, "sign_in_rate": 1, "heavy_rate": 6}})
    assert StageConfig.from_mapping("dev", {"throttle": {"rate": 50, "burst": 80}}).throttle == Throttle(50, 80, 5, 10)
