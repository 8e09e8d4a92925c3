"""DOIs' CDK resources (infra/stacks/dois.py) on a stack of their own: the DataCite account's
secret (a generated placeholder, never a value in the template), its read grant, the settings
the app reads; and the per-stage settings of cdk.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from chalicelib.config import Settings
from infra.stacks.dois import PLACEHOLDER_USERNAME, build_dois
from infra.stacks.naming import Names
from infra.stacks.settings import StageConfig, StageConfigError
from tests.infra.conftest import Synth, render
from tests.infra.test_stack import functions, lambda_actions

CDK_JSON = Path(__file__).resolve().parents[2] / "infra" / "cdk.json"


@pytest.fixture(scope="module")
def stack() -> tuple[Stack, dict[str, str]]:
    stack = Stack(App(), "dois")
    account = build_dois(
        stack, Names("dev"), RemovalPolicy.RETAIN, api_url="https://api.test.datacite.org", prefix="10.80123"
    )
    role = iam.Role(stack, "LambdaRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    account.grant_read(role)
    other = iam.Role(stack, "OtherRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    other.add_to_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"]))
    return stack, account.environment


def only(template: Template, type_: str) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(type_)
    assert len(found) == 1, found
    [(logical_id, resource)] = found.items()
    return logical_id, dict(resource)


def test_one_secret_per_stage_with_a_generated_placeholder_and_no_value(stack: tuple[Stack, dict[str, str]]) -> None:
    template = Template.from_stack(stack[0])
    _, secret = only(template, "AWS::SecretsManager::Secret")
    props = secret["Properties"]
    assert props["Name"] == "catalogue-datacite-dev"
    assert "SecretString" not in props
    generated = props["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"username": PLACEHOLDER_USERNAME}
    assert generated["GenerateStringKey"] == "password"
    assert secret["DeletionPolicy"] == "Retain"


def test_only_the_lambda_role_may_read_it(stack: tuple[Stack, dict[str, str]]) -> None:
    template = Template.from_stack(stack[0])
    secret_id, _ = only(template, "AWS::SecretsManager::Secret")
    reading = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Resource"] == {"Ref": secret_id}:
                actions = statement["Action"]
                assert set(actions if isinstance(actions, list) else [actions]) == {
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret",
                }
                reading += [r["Ref"] for r in policy["Properties"]["Roles"]]
    assert len(reading) == 1 and reading[0].startswith("LambdaRole")


def test_the_app_gets_the_url_the_prefix_and_the_secret_by_arn_only(stack: tuple[Stack, dict[str, str]]) -> None:
    environment = stack[1]
    assert set(environment) == {"CATALOGUE_DATACITE_URL", "CATALOGUE_DATACITE_PREFIX", "CATALOGUE_DATACITE_SECRET_ID"}
    assert environment["CATALOGUE_DATACITE_URL"] == "https://api.test.datacite.org"
    assert environment["CATALOGUE_DATACITE_PREFIX"] == "10.80123"
    resolved = stack[0].resolve(environment["CATALOGUE_DATACITE_SECRET_ID"])
    assert list(resolved) == ["Ref"]  # the secret's ARN, never its value
    settings = Settings.from_env(
        {"CATALOGUE_STAGE": "dev", **{k: "x" if k.endswith("_ID") else v for k, v in environment.items()}}
    )
    assert settings.dois and settings.datacite_prefix == "10.80123"


def test_each_stage_names_datacite_s_endpoint_and_no_prefix_until_the_operator_sets_one() -> None:
    stages = json.loads(CDK_JSON.read_text())["context"]["stages"]
    dev = StageConfig.from_mapping("dev", stages["dev"])
    prod = StageConfig.from_mapping("prod", stages["prod"])
    assert (dev.datacite_api_url, prod.datacite_api_url) == (
        "https://api.test.datacite.org",
        "https://api.datacite.org",
    )
    assert dev.datacite_prefix == prod.datacite_prefix == ""
    assert not Settings.from_env({"CATALOGUE_STAGE": "dev", "CATALOGUE_DATACITE_URL": dev.datacite_api_url}).dois


@pytest.mark.parametrize(
    "raw",
    [
        {"datacite_api_url": "http://api.test.datacite.org", "datacite_prefix": "10.80123"},
        {"datacite_api_url": "https://api.test.datacite.org", "datacite_prefix": "doi:10.80123"},
        {"datacite_prefix": "10.80123"},
    ],
)
def test_a_stage_with_a_wrong_datacite_setting_does_not_synthesize(raw: dict[str, str]) -> None:
    with pytest.raises(StageConfigError):
        StageConfig.from_mapping("dev", raw)


def test_the_synthesized_stack_has_the_secret_read_by_the_lambda_role_and_named_to_the_app(synth: Synth) -> None:
    [(secret_id, secret)] = synth.resources("AWS::SecretsManager::Secret").items()
    assert secret["Properties"]["Name"] == f"catalogue-datacite-{synth.stage}"
    assert "SecretString" not in secret["Properties"]
    actions = lambda_actions(synth)
    assert actions["secretsmanager:GetSecretValue"] == {f"<{secret_id}>"}
    assert "secretsmanager:PutSecretValue" not in actions
    api_url = "https://api.test.datacite.org" if synth.stage == "dev" else "https://api.datacite.org"
    for fn in functions(synth).values():
        env = {k: render(v) for k, v in fn["Properties"]["Environment"]["Variables"].items()}
        assert env["CATALOGUE_DATACITE_SECRET_ID"] == f"<{secret_id}>"
        assert (env["CATALOGUE_DATACITE_URL"], env["CATALOGUE_DATACITE_PREFIX"]) == (api_url, "")
