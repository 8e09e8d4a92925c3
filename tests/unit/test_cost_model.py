"""bench/cost_model.py: the arithmetic on a tiny synthetic template, the DynamoDB unit rules of
bench/cost_counts.py, and that every resource type of the real template is priced or listed as
free (the real template's types: tests/infra/test_cost_model_template.py, where the synthesized
stacks are)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost_model
from bench.cost_counts import dynamodb_units, item_size, read_units, write_units
from bench.prices import HOURS_PER_MONTH, PRICES, price


def tiny_template() -> dict[str, Any]:
    return {
        "Resources": {
            "Search": {
                "Type": "AWS::OpenSearchService::Domain",
                "Properties": {
                    "ClusterConfig": {"InstanceType": "r6g.large.search", "InstanceCount": 2},
                    "EBSOptions": {"EBSEnabled": True, "VolumeSize": 100, "VolumeType": "gp3"},
                },
            },
            "Datasets": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}},
            "Daily": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "MemorySize": 1024,
                    "Events": {"E": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}}},
                },
            },
            "OnIngest": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"MemorySize": 2048, "Events": {"Q": {"Type": "SQS", "Properties": {"BatchSize": 1}}}},
            },
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
            "Alarm1": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "Alarm2": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        }
    }


def by_resource(lines: list[cost_model.Line]) -> dict[str, float]:
    return {line.resource: line.usd_month for line in lines}


def test_idle_cost_of_a_tiny_template_is_the_sum_of_its_priced_parts() -> None:
    lines = by_resource(cost_model.idle_lines(tiny_template()))
    opensearch = 2 * price("opensearch_r6g.large.search_hour") * HOURS_PER_MONTH + 2 * 100 * price(
        "opensearch_gp3_gb_month"
    )
    assert lines["Search"] == pytest.approx(opensearch)
    assert lines["DynamoDB"] == 0.0  # on-demand, empty, idle
    daily = 30 * price("lambda_request") / 1e6 + 30 * cost_model.SCHEDULED_RUN_SECONDS * 1.0 * price(
        "lambda_gb_second_x86"
    )
    assert lines["Lambda"] == pytest.approx(daily)  # only the scheduled function runs when idle
    assert lines["SQS"] == pytest.approx(cost_model.SQS_POLL_REQUESTS_PER_QUEUE_MONTH * price("sqs_request") / 1e6)
    assert lines["Secrets Manager"] == pytest.approx(price("secretsmanager_secret_month"))
    alarms = 2 * price("cloudwatch_alarm_month") + cost_model.IDLE_LOG_GB_MONTH * price("cloudwatch_logs_ingest_gb")
    assert lines["CloudWatch"] == pytest.approx(alarms)


def test_an_unknown_opensearch_instance_type_is_an_error_not_a_zero() -> None:
    template = tiny_template()
    template["Resources"]["Search"]["Properties"]["ClusterConfig"]["InstanceType"] = "x9.huge.search"
    with pytest.raises(KeyError, match=r"x9\.huge\.search"):
        cost_model.idle_lines(template)


def test_schedules_become_runs_per_month() -> None:
    assert cost_model.runs_per_month("rate(1 day)") == 30
    assert cost_model.runs_per_month("rate(1 hour)") == 720
    assert cost_model.runs_per_month("rate(5 minutes)") == 30 * 24 * 12
    assert cost_model.runs_per_month(None) == 0


def test_per_million_prices_the_counted_calls() -> None:
    counts = {
        "lookup": {
            "aws_calls": {"dynamodb.GetItem": 1.0, "dynamodbstreams.GetRecords": 3.0},
            "dynamodb_wru": 0.0,
            "dynamodb_rru": 1.0,
            "lambda_ms": {"OnIngest": 10.0},
            "lambda_invocations": {"OnIngest": 1.0},
        }
    }
    result = cost_model.per_million(counts, tiny_template())["lookup"]
    lam = price("lambda_request") + 0.010 * 2.0 * price("lambda_gb_second_x86") * 1e6  # 10 ms at 2048 MB
    expected = price("apigw_rest_request") + lam + price("dynamodb_rru")
    assert result["usd_per_million"] == pytest.approx(expected, abs=0.01)
    assert result["by_service"]["SQS"] == 0  # stream reads by Lambda triggers are free: not priced


def test_archive_tb_month_is_deep_archive_storage_plus_object_overhead() -> None:
    a = cost_model.archive_tb_month(tiny_template())
    assert a["storage"] == pytest.approx(1024 * price("s3_deep_archive_gb_month"), abs=0.001)
    assert a["usd_per_tb_month"] >= a["storage"]
    assert a["objects_per_tb"] == 1024 * 1024 / cost_model.ARCHIVE_OBJECT_MB


def test_dynamodb_units_follow_the_billing_rules() -> None:
    small = {"uuid": {"S": "x" * 100}}
    big = {"uuid": {"S": "x" * 3000}}
    assert write_units(item_size(small)) == 1 and write_units(item_size(big)) == 3
    assert read_units(5000, consistent=True) == 2 and read_units(5000, consistent=False) == 1
    assert dynamodb_units("PutItem", {"Item": big}, {}) == (3, 0)
    assert dynamodb_units("GetItem", {"ConsistentRead": True}, {"Item": small}) == (0, 1)
    assert dynamodb_units("GetItem", {}, {"Item": small}) == (0, 0.5)
    assert dynamodb_units("TransactWriteItems", {"TransactItems": [{"Put": {"Item": small}}]}, {}) == (2, 0)


def test_every_price_names_its_source_region_and_status() -> None:
    for key, p in PRICES.items():
        assert p.source.startswith("https://"), key
        assert p.status in {"found", "found-us-east-1", "assumption"}, key
        assert p.region and p.unit, key


def test_unpriced_types_are_reported() -> None:
    template = tiny_template()
    assert cost_model.unpriced_types(template) == set()
    template["Resources"]["New"] = {"Type": "AWS::Kinesis::Stream", "Properties": {}}
    assert cost_model.unpriced_types(template) == {"AWS::Kinesis::Stream"}
