"""Shared test setup: safe AWS defaults before anything imports boto3 or ``app``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Dummy credentials so no test can ever reach a real AWS account; streams endpoint trap
# (botocore 1.44 routes describe_stream to an account-id endpoint moto does not serve).
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    # app.py reads these at decoration time; tests call the handlers directly.
    "CATALOGUE_DATASETS_STREAM_ARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/test-datasets/stream/x",
    "CATALOGUE_ACCESS_STREAM_ARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/test-access/stream/x",
    "CATALOGUE_FACILITY_STREAM_ARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/test-facility/stream/x",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)


def _share_botocore_models() -> None:
    """One botocore data loader for the whole test process.

    moto's ``mock_aws`` hands out a fresh boto3 session per test, and each new session (and
    each pynamodb connection) builds its own loader, which parses the services' JSON models
    again: about 1 s per test that builds the stack in process. The loader only reads
    (botocore already shares one loader among all clients of a session), so every session
    may share it. Production code never runs this.
    """
    import functools

    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)  # type: ignore[assignment]


_share_botocore_models()


def pytest_collection_modifyitems(config: object, items: list[Any]) -> None:
    """The end-to-end tests run last (stable order otherwise). A worker starts its local stack
    with its first e2e test and keeps it for the session; the stack's event runner polls moto
    every 50 ms, which, started early, took CPU from every in-process test after it (a whole
    run took ~920 s where the tiers one after another took ~580 s)."""
    e2e = Path(__file__).resolve().parent / "e2e"
    items.sort(key=lambda item: e2e in Path(str(item.path)).resolve().parents)
