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
