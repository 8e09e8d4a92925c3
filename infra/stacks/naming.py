"""Physical names of the deployed resources, derived from :mod:`chalicelib.resources`.

The logical names in ``chalicelib/resources.py`` are the one source of truth: the local stack
uses them as they are; a deployed stage qualifies them so that ``dev`` and ``prod`` can share an
account (``catalogue-datasets`` -> ``catalogue-datasets-dev``). S3 bucket names are global, so
buckets also carry the account and region. The Lambda learns every physical name from its
``CATALOGUE_*`` environment (:meth:`chalicelib.config.Settings.from_env`).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws


@dataclass(frozen=True)
class Names:
    stage: str

    def regional(self, logical: str) -> str:
        """Tables, queues, the state machine, the user pool: unique per account and region."""
        return f"{logical}-{self.stage}"

    def bucket(self, logical: str) -> str:
        """A globally unique bucket name (a CloudFormation ``Fn::Join`` on account and region)."""
        return f"{logical}-{self.stage}-{Aws.ACCOUNT_ID}-{Aws.REGION}"

    def domain_prefix(self, logical: str) -> str:
        """A Cognito prefix domain (``<prefix>.auth.<region>.amazoncognito.com``): unique per
        region across all accounts, so it carries the account (lowercase letters, digits and
        hyphens only; never "aws", "amazon" or "cognito")."""
        return f"{logical}-{self.stage}-{Aws.ACCOUNT_ID}"
