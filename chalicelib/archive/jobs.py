"""Archival jobs started by the schedule and the CLI, wired from :mod:`chalicelib.deps`."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from chalicelib import deps


def run_fixity_audit(
    fraction: float | None = None, period_days: int = 30, metrics: Callable[[str], None] = print
) -> dict[str, Any]:
    """One run of the fixity audit over the deployed catalogue (see :mod:`chalicelib.archive.fixity`)."""
    from chalicelib.archive.fixity import run_fixity_audit as audit
    from chalicelib.ingest.objects import S3ObjectStore
    from chalicelib.store.archives import DynamoArchiveRepository

    settings = deps.get_settings()
    repo = deps.get_repo()  # binds the tables first
    return audit(
        DynamoArchiveRepository(),
        repo,
        S3ObjectStore(deps.aws_client("s3")),
        settings.archive_bucket,
        fraction=settings.fixity_sample_fraction if fraction is None else fraction,
        rng=random.SystemRandom(),
        metrics=metrics,
        period_days=period_days,
    )
