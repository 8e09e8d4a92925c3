"""DOIs in AWS (issue 23): the stage's DataCite account in Secrets Manager, and the settings
that point the app at DataCite.

The secret is made with a generated placeholder (``{"username": "<set me>", "password":
<random>}``): no value is ever in the template or in an environment variable. The operator
writes the repository account into it once (``aws secretsmanager put-secret-value --secret-id
catalogue-datacite-<stage> --secret-string '{"username": "...", "password": "..."}'``); the
app reads it on first use and keeps it for the container (a changed password reaches new
containers). DataCite's API URL and the account's prefix are per stage in ``cdk.json``
(``datacite_api_url``, ``datacite_prefix``); without a prefix the app registers no DOIs (its
DOI routes answer 503).

Wiring, in :class:`infra.stacks.catalogue.CatalogueStack`: :func:`build_dois`, then
:meth:`DoiAccount.grant_read` to the Lambda role (the API and the stream consumers, which keep
DOIs in step, share it) and :attr:`DoiAccount.environment` in the functions' environment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.stacks.naming import Names
from infra.stacks.scanners import Accepted, accept

SECRET = "catalogue-datacite"
PLACEHOLDER_USERNAME = "<set me: the DataCite repository account, e.g. ABC.CATALOGUE>"


@dataclass(frozen=True)
class DoiAccount:
    secret: secretsmanager.Secret
    api_url: str
    prefix: str

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """``secretsmanager:GetSecretValue`` (and DescribeSecret) on this secret only."""
        self.secret.grant_read(grantee)

    @property
    def environment(self) -> dict[str, str]:
        """What :meth:`chalicelib.config.Settings.from_env` reads (the secret by ARN, never a value)."""
        return {
            "CATALOGUE_DATACITE_URL": self.api_url,
            "CATALOGUE_DATACITE_PREFIX": self.prefix,
            "CATALOGUE_DATACITE_SECRET_ID": self.secret.secret_arn,
        }


def build_dois(
    scope: Construct,
    names: Names,
    removal: RemovalPolicy,
    *,
    api_url: str,
    prefix: str,
    encryption_key: kms.IKey | None = None,
) -> DoiAccount:
    """The secret ``catalogue-datacite-<stage>`` with a generated placeholder, encrypted with
    ``encryption_key`` (None: Secrets Manager's AWS-managed key)."""
    secret = secretsmanager.Secret(
        scope,
        "DataCiteAccount",
        secret_name=names.regional(SECRET),
        description=f"DataCite repository account of the catalogue ({names.stage}): "
        '{"username", "password"}; write the real one after the first deploy',
        generate_secret_string=secretsmanager.SecretStringGenerator(
            secret_string_template=json.dumps({"username": PLACEHOLDER_USERNAME}),
            generate_string_key="password",
            exclude_punctuation=True,
            password_length=32,
        ),
        encryption_key=encryption_key,
        removal_policy=removal,
    )
    accept(
        secret,
        Accepted(
            "The DataCite repository password is changed in DataCite Fabrica by a person; DataCite has no API "
            "a rotation function could call. The operator writes the new one into this secret.",
            nag=("AwsSolutions-SMG4",),
        ),
    )
    if encryption_key is None:
        accept(secret, AWS_MANAGED_SECRET_KEY)
    return DoiAccount(secret, api_url, prefix)


AWS_MANAGED_SECRET_KEY = Accepted(
    "Without customer_managed_keys (dev) the secret uses Secrets Manager's AWS-managed key; prod uses the "
    "stage key (infra/stacks/keys.py).",
    checkov=("CKV_AWS_149",),
)
