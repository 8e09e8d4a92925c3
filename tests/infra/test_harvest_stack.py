"""POST /harvests in the CDK stack: the allow-list comes from cdk.json, over https only; plain
http and loopback addresses (the local stand-in's) are never allowed in AWS."""

from __future__ import annotations

import json

import pytest

from chalicelib.config import Settings
from infra.stacks.settings import StageConfig, StageConfigError
from tests.infra.conftest import Synth, render
from tests.infra.test_settings import node
from tests.infra.test_stack import functions


def test_cdk_json_allow_lists_zenodo() -> None:
    assert StageConfig.from_node(node(stage="prod").node).harvest_hosts == ("zenodo.org",)
    assert "zenodo.org" in StageConfig.from_node(node(stage="dev").node).harvest_hosts


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "zenodo.org:8080", "[::1]", "169.254.169.254", "metadata.google.internal", ""]
)
def test_a_stage_cannot_allow_list_an_address_a_port_or_an_internal_name(host: str) -> None:
    with pytest.raises(StageConfigError, match="harvest_hosts"):
        StageConfig.from_mapping("dev", {"harvest_hosts": [host]})


def test_functions_never_allow_loopback_nor_plain_http(synth: Synth) -> None:
    expected = StageConfig.from_node(node(stage=synth.stage).node).harvest_hosts
    for fn in functions(synth).values():
        env = {k: str(render(v)) for k, v in fn["Properties"]["Environment"]["Variables"].items()}
        assert env["CATALOGUE_HARVEST_ALLOW_LOOPBACK"] == "0" and env["CATALOGUE_HARVEST_PLAIN_HTTP_HOSTS"] == ""
        harvest = Settings.from_env(env).harvest
        assert harvest.hosts == tuple(sorted(expected)) and not harvest.allow_loopback and not harvest.plain_http_hosts


def test_the_role_may_write_harvested_sips_under_harvests_only(synth: Synth) -> None:
    deposits = synth.logical_id("AWS::S3::Bucket", "DepositBucket")
    policies = json.dumps(synth.resources("AWS::IAM::Policy"))
    assert f'{{"Fn::GetAtt": ["{deposits}", "Arn"]}}, "/harvests/*"' in policies
