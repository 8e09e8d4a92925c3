"""boto3 clients and botocore error classification, for the adapters of this package only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.adapters.errors import TransientError

TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "ServiceUnavailable",
        "500",
        "502",
        "503",
        "504",
    }
)
_TRANSIENT_BOTOCORE = (
    BotoConnectionError,  # EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError…
    ConnectionClosedError,
    ReadTimeoutError,
    ResponseStreamingError,
    IncompleteReadError,
)


def make_client(service: str, *, region: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client for ``service`` (``endpoint_url``: an emulator such as moto server)."""
    import boto3
    from botocore.config import Config

    # S3: presigned links and upload forms signed with SigV4 (botocore may otherwise sign them
    # with SigV2, which buckets created since June 2020 refuse)
    signing = {"signature_version": "s3v4"} if service == "s3" else {}
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}, **signing),
    )


def sigv4_auth(region: str, service: str) -> Any:
    """opensearch-py request signing (SigV4 for ``service``) with the environment's credentials
    (the Lambda role's in AWS)."""
    import boto3
    from opensearchpy import Urllib3AWSV4SignerAuth

    return Urllib3AWSV4SignerAuth(boto3.Session(region_name=region).get_credentials(), region, service)


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_transient(exc: BaseException) -> bool:
    """Whether a botocore error is throttling, a server error or a network failure."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return error_code(exc) in TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return isinstance(exc, _TRANSIENT_BOTOCORE)


@contextlib.contextmanager
def transient_as(what: str) -> Iterator[None]:
    """Re-raise a transient botocore failure inside the block as :class:`TransientError`
    naming ``what``; any other error passes unchanged."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        if is_transient(exc):
            raise TransientError(f"{what}: {exc}") from exc
        raise
