"""Stage settings from CDK context (no synthesis)."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest

from chalicelib.config import IssuerConfig
from infra.stacks.settings import StageConfig, StageConfigError

CDK_JSON = Path(__file__).resolve().parents[2] / "infra" / "cdk.json"


def node(**context: object) -> cdk.App:
    base = json.loads(CDK_JSON.read_text())["context"]
    return cdk.App(context={**base, **context})


def test_cdk_json_describes_both_stages() -> None:
    dev = StageConfig.from_node(node(stage="dev").node)
    prod = StageConfig.from_node(node(stage="prod").node)
    assert (dev.retain, prod.retain) == (False, True)
    assert (dev.demo_bucket, prod.demo_bucket) == (True, False)
    assert dev.oidc is None and prod.oidc is None


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(StageConfigError, match="stage"):
        StageConfig.from_node(node(stage="staging").node)


def test_cli_style_overrides_are_json_decoded() -> None:
    config = StageConfig.from_node(
        node(stage="dev", data_buckets='["a", "b"]', deep_archive_after_days="30", object_lock="true").node
    )
    assert config.data_buckets == ("a", "b")
    assert config.deep_archive_after_days == 30
    assert config.object_lock is True


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(StageConfigError, match="unknown"):
        StageConfig.from_mapping("dev", {"retian": True})


def test_retention_needs_object_lock() -> None:
    with pytest.raises(StageConfigError, match="object_lock"):
        StageConfig.from_mapping("dev", {"object_lock_retention_days": 30})


def test_an_existing_issuer_becomes_an_issuer_config() -> None:
    config = StageConfig.from_mapping(
        "prod", {"oidc": {"issuer": "https://login.example.org/realms/lab/", "client_ids": ["catalogue"]}}
    )
    assert config.oidc is not None
    issuer = IssuerConfig.from_mapping(config.oidc.as_issuer_config())
    assert issuer.issuer == "https://login.example.org/realms/lab"
    assert issuer.jwks_url == "https://login.example.org/realms/lab/.well-known/jwks.json"
    assert issuer.token_use is None
    with pytest.raises(StageConfigError):
        StageConfig.from_mapping("prod", {"oidc": {"issuer": "http://insecure", "client_ids": ["x"]}})


def test_concurrency_shares_are_validated_against_the_account_quota() -> None:
    config = StageConfig.from_mapping("dev", {"concurrency": {"api": 40, "ingest": 4}})
    assert (config.concurrency.api, config.concurrency.ingest, config.concurrency.archive) == (40, 4, 5)
    assert config.concurrency.total == 40 + 4 + 5 + 3 * 5 + 3 * 1
    with pytest.raises(StageConfigError, match="unknown concurrency"):
        StageConfig.from_mapping("dev", {"concurrency": {"injest": 4}})
    with pytest.raises(StageConfigError, match="SQS needs 2"):
        StageConfig.from_mapping("dev", {"concurrency": {"ingest": 1}})
    with pytest.raises(StageConfigError, match="900"):
        StageConfig.from_mapping("dev", {"concurrency": {"api": 880}})


def test_log_retention_is_one_cloudwatch_accepts_and_keys_are_per_stage() -> None:
    dev = StageConfig.from_node(node(stage="dev").node)
    prod = StageConfig.from_node(node(stage="prod").node)
    assert (dev.log_retention_days, prod.log_retention_days) == (30, 365)
    assert (dev.customer_managed_keys, prod.customer_managed_keys) == (False, True)
    assert StageConfig.from_mapping("dev", {"log_retention_days": 90}).log_retention_days == 90
    with pytest.raises(StageConfigError, match="log_retention_days"):
        StageConfig.from_mapping("dev", {"log_retention_days": 31})
