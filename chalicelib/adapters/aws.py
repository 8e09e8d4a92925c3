"""boto3 clients and botocore error classification, for the adapters of this package only."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from datetime import UTC, datetime
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


def parse_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, without dateutil for the two text forms AWS sends.

    S3 lists ``LastModified`` as ISO 8601 (``2026-12-07T12:00:00.000Z``) and returns it in
    headers as RFC 7231 (``Mon, 07 Dec 2026 12:00:00 GMT``); botocore parses both with
    dateutil, ~0.4 ms each: a bulk index of n sidecar folders paid that 3n times (the
    listing's two objects per folder and the sidecar's GET). Anything else, and anything
    these parsers reject or leave without a time zone, goes to botocore's own parser, so
    the result is the same instant botocore gives (with ``timezone.utc`` for its ``tzutc()``).
    """
    from botocore.utils import parse_timestamp as botocore_parse

    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value) if value[:4].isdigit() else _http_date(value)
        except (KeyError, ValueError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    return botocore_parse(value)


_MONTHS = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}


def _http_date(value: str) -> datetime | None:
    """``Mon, 07 Dec 2026 12:00:00 GMT`` (RFC 7231's IMF-fixdate; ``None`` for other forms).
    Parsed by hand: ``strptime``'s ``%a``/``%b`` follow the locale, email.utils is no faster."""
    parts = value.split()
    if len(parts) != 6 or parts[5] != "GMT":
        return None
    _, day, month, year, clock, _ = parts
    hour, minute, second = clock.split(":")
    return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC)


@functools.cache
def _session() -> Any:
    """One boto3 session for the adapters' clients, whose responses parse timestamps with
    :func:`parse_timestamp` (built at the first client, never at import)."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    return boto3.session.Session(botocore_session=core)


def make_client(service: str, *, region: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client for ``service`` (``endpoint_url``: an emulator such as moto server)."""
    from botocore.config import Config

    # S3: presigned links and upload forms signed with SigV4 (botocore may otherwise sign them
    # with SigV2, which buckets created since June 2020 refuse)
    signing = {"signature_version": "s3v4"} if service == "s3" else {}
    return _session().client(
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
