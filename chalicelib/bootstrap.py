"""Create the catalogue's tables, bucket and index (local stack and tests; CDK does it in AWS)."""

from __future__ import annotations

import time
from dataclasses import replace

from botocore.exceptions import ClientError

from chalicelib import deps
from chalicelib.config import Settings
from chalicelib.errors import Conflict
from chalicelib.store import tables
from chalicelib.store.tables import DatasetItem, UserItem


def create_resources(settings: Settings) -> dict[str, str]:
    """Create what ``settings`` names (idempotent); return the stream ARNs as env entries."""
    deps.override(settings=settings)
    tables.bind(settings)
    for model in (DatasetItem, UserItem, tables.AuditItem):
        model.create_table(wait=True)
    s3 = deps.aws_client("s3")
    try:
        if settings.region == "us-east-1":
            s3.create_bucket(Bucket=settings.catalogue_bucket)
        else:
            s3.create_bucket(
                Bucket=settings.catalogue_bucket,
                CreateBucketConfiguration={"LocationConstraint": settings.region},
            )
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    deps.get_search().ensure_index()
    ddb = deps.aws_client("dynamodb")
    arns = {}
    for env_name, table in (
        ("CATALOGUE_DATASETS_STREAM_ARN", settings.datasets_table),
        ("CATALOGUE_ACCESS_STREAM_ARN", settings.access_table),
    ):
        arns[env_name] = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    return arns


def ensure_admin(settings: Settings, username: str) -> None:
    """Make ``username`` a catalogue admin, creating the user if needed (operator bootstrap)."""
    deps.override(settings=settings)
    repo = deps.get_repo()
    for _ in range(5):
        user = repo.get_user(username) or deps.get_service().principal(username)
        if user.is_admin and not user.deleted:
            return
        promoted = replace(
            user, is_admin=True, deleted=False, version=user.version + 1, updated_by="system", updated_at=time.time()
        )
        try:
            repo.save_user(promoted, user.version)
            return
        except Conflict:
            continue
    raise RuntimeError(f"could not make {username} an admin")
