"""Archival jobs started by the schedule and the CLI, wired from :mod:`chalicelib.deps`."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib import deps

if TYPE_CHECKING:
    from chalicelib.ingest.objects import ObjectStore
    from chalicelib.store.archives import ArchiveRepository
    from chalicelib.store.repository import Repository


def run_fixity_audit(
    fraction: float | None = None, period_days: int = 30, metrics: Callable[[str], None] = print
) -> dict[str, Any]:
    """One run of the fixity audit over the deployed catalogue (see :mod:`chalicelib.archive.fixity`)."""
    from chalicelib.archive.fixity import run_fixity_audit as audit

    archives, repo, store, bucket = fixity_ports()
    return audit(
        archives,
        repo,
        store,
        bucket,
        fraction=deps.get_settings().fixity_sample_fraction if fraction is None else fraction,
        rng=random.SystemRandom(),
        metrics=metrics,
        period_days=period_days,
        stage=deps.get_settings().stage,
    )


def fixity_ports() -> tuple[ArchiveRepository, Repository, ObjectStore, str]:
    """(archives, records, the archive bucket's store, its name) of the deployed catalogue."""
    from chalicelib.ingest.objects import S3ObjectStore
    from chalicelib.store.archives import DynamoArchiveRepository

    repo = deps.get_repo()  # binds the tables first
    return DynamoArchiveRepository(), repo, S3ObjectStore(deps.aws_client("s3")), deps.get_settings().archive_bucket
