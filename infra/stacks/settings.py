"""Per-stage settings of the CDK app, read from CDK context (``infra/cdk.json``, ``-c key=value``).

``cdk.json`` holds one entry per stage under ``stages``; ``-c stage=prod`` picks one, and any
top-level context key named like a field overrides that stage's value (``-c
deep_archive_after_days=30``; lists and objects as JSON: ``-c 'data_buckets=["my-data"]'``).
No stage is configured by editing code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from constructs import Node

STAGES = ("dev", "prod")


class StageConfigError(ValueError):
    """The CDK context does not describe a usable stage."""


@dataclass(frozen=True)
class OpenSearchSizing:
    instance_type: str = "t3.small.search"
    instance_count: int = 1
    volume_gb: int = 10

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> OpenSearchSizing:
        return cls(
            instance_type=str(raw.get("instance_type", cls.instance_type)),
            instance_count=int(raw.get("instance_count", cls.instance_count)),
            volume_gb=int(raw.get("volume_gb", cls.volume_gb)),
        )


@dataclass(frozen=True)
class Throttle:
    """API Gateway's stage throttling: steady requests per second and the burst above it, for
    the whole API and, tighter, for the two sign-in routes (``POST /token``, ``POST
    /api/v1/login/apikey``: guessing passwords and keys) and for the heavy routes (OAI-PMH,
    anonymous, reads the whole datasets table per request; ``POST /harvests`` fetches an
    upstream record within the request). These bound the stage as a whole; the app limits each
    caller's failed sign-ins itself (chalicelib/identity/sign_in.py)."""

    rate: float = 100.0
    burst: int = 200
    sign_in_rate: float = 5.0
    sign_in_burst: int = 10
    heavy_rate: float = 5.0
    heavy_burst: int = 10

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Throttle:
        throttle = cls(
            rate=float(raw.get("rate", cls.rate)),
            burst=int(raw.get("burst", cls.burst)),
            sign_in_rate=float(raw.get("sign_in_rate", cls.sign_in_rate)),
            sign_in_burst=int(raw.get("sign_in_burst", cls.sign_in_burst)),
            heavy_rate=float(raw.get("heavy_rate", cls.heavy_rate)),
            heavy_burst=int(raw.get("heavy_burst", cls.heavy_burst)),
        )
        _refuse_unknown(cls, raw, "throttle")
        if not 0 < throttle.sign_in_rate <= throttle.rate or not 0 < throttle.sign_in_burst <= throttle.burst:
            raise StageConfigError("throttle: 0 < sign_in_rate <= rate and 0 < sign_in_burst <= burst")
        if not 0 < throttle.heavy_rate <= throttle.rate or not 0 < throttle.heavy_burst <= throttle.burst:
            raise StageConfigError("throttle: 0 < heavy_rate <= rate and 0 < heavy_burst <= burst")
        return throttle


@dataclass(frozen=True)
class Concurrency:
    """Reserved concurrency of the Lambda functions (issue 25): each function gets its own share
    of the account's concurrency, so a flood of S3 events (ingest) or a stream backlog can use
    no more than its share, and the API always keeps its own. ``streams`` and ``schedules`` are
    per function (three stream consumers, three scheduled jobs). The SQS consumers' event source
    mappings also stop at their share (``MaximumConcurrency``), so SQS waits instead of the
    functions being throttled.

    AWS keeps 100 of an account's concurrency unreserved; with the default quota of 1,000 a
    stage may reserve at most 900 (less if another stage shares the account: check ``aws
    lambda get-account-settings`` before deploying; new accounts may start lower)."""

    api: int = 50
    ingest: int = 10
    archive: int = 5
    streams: int = 5
    schedules: int = 1

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Concurrency:
        _refuse_unknown(cls, raw, "concurrency")
        values = {f.name: int(raw.get(f.name, getattr(cls, f.name))) for f in fields(cls)}
        concurrency = cls(**values)
        if min(values.values()) < 1 or concurrency.ingest < 2 or concurrency.archive < 2:
            raise StageConfigError("concurrency: every share >= 1, ingest and archive >= 2 (SQS needs 2)")
        if concurrency.total > MAX_RESERVED_CONCURRENCY:
            raise StageConfigError(
                f"concurrency: {concurrency.total} reserved in all, more than the {MAX_RESERVED_CONCURRENCY} "
                "a default account can reserve (1,000 minus the 100 AWS keeps unreserved)"
            )
        return concurrency

    @property
    def total(self) -> int:
        return self.api + self.ingest + self.archive + 3 * self.streams + 3 * self.schedules


MAX_RESERVED_CONCURRENCY = 900


@dataclass(frozen=True)
class ExternalIssuer:
    """An existing OIDC issuer used instead of a Cognito user pool (see ``config.IssuerConfig``)."""

    issuer: str
    client_ids: tuple[str, ...]
    jwks_url: str = ""
    token_use: str | None = None
    username_claim: str = "username"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> ExternalIssuer:
        issuer = str(raw.get("issuer", "")).rstrip("/")
        client_ids = raw.get("client_ids")
        if not issuer.startswith("https://") or not isinstance(client_ids, list) or not client_ids:
            raise StageConfigError("oidc needs an https 'issuer' and a non-empty list 'client_ids'")
        return cls(
            issuer=issuer,
            client_ids=tuple(str(c) for c in client_ids),
            jwks_url=str(raw.get("jwks_url") or f"{issuer}/.well-known/jwks.json"),
            token_use=None if raw.get("token_use") is None else str(raw["token_use"]),
            username_claim=str(raw.get("username_claim", "username")),
        )

    def as_issuer_config(self) -> dict[str, Any]:
        """The entry of ``CATALOGUE_OIDC_ISSUERS`` (the shape ``IssuerConfig.from_mapping`` reads)."""
        return {
            "issuer": self.issuer,
            "jwks_url": self.jwks_url,
            "client_ids": list(self.client_ids),
            "token_use": self.token_use,
            "username_claim": self.username_claim,
        }


@dataclass(frozen=True)
class StageConfig:
    """Everything that differs between stages."""

    stage: str
    # prod: RETAIN on every stateful resource and DynamoDB deletion protection
    retain: bool = False
    # names of existing buckets whose datasets are indexed (S3 notifications -> ingest queue)
    data_buckets: tuple[str, ...] = ()
    # create the demo data bucket (dev only) and watch it like a data bucket
    demo_bucket: bool = False
    deep_archive_after_days: int = 1
    object_lock: bool = False
    object_lock_retention_days: int = 0
    fixity_sample_fraction: float = 0.05
    opensearch: OpenSearchSizing = field(default_factory=OpenSearchSizing)
    # None: create a Cognito user pool; otherwise trust this issuer instead
    oidc: ExternalIssuer | None = None
    # e-mail subscribed to the alarm topic (none: alarms go to the topic only)
    alarm_email: str | None = None
    # the Data Tracker's sign-in through the pool's hosted UI (/api/v1/login/oidc/cognito/):
    # the API's public URL of its callback, <API URL>/api/v1/login/oidc/cognito/authorize (the
    # API's own URL is not known when the pool's client is made); None: no such sign-in
    sign_in_callback_url: str | None = None
    throttle: Throttle = field(default_factory=Throttle)
    # POST /harvests: upstream repositories (InvenioRDM, Zenodo) records are harvested from,
    # exact DNS names reached over https (never an IP, localhost or plain http in AWS)
    harvest_hosts: tuple[str, ...] = ()
    # OAI-PMH (/oai): the domain name of its oai:<identifier>:<uuid> ids and the contact its
    # Identify names (empty: the app's defaults, catalogue.invalid and catalogue-admin@example.org)
    oai_repository_identifier: str = ""
    oai_admin_email: str = ""
    # DOIs: DataCite's REST API (https) and the repository account's prefix (10.NNNN; empty:
    # no DOIs); the account itself is in the stage's secret (infra/stacks/dois.py)
    datacite_api_url: str = ""
    datacite_prefix: str = ""
    # the stage key (infra/stacks/keys.py) also encrypts the tables and the DataCite secret
    customer_managed_keys: bool = False
    # CloudWatch Logs retention of every log group of the stage, and of the access-log bucket
    log_retention_days: int = 30
    concurrency: Concurrency = field(default_factory=Concurrency)

    @classmethod
    def from_node(cls, node: Node) -> StageConfig:
        """The stage named by context ``stage``, with top-level context overrides applied."""
        stage = node.try_get_context("stage")
        if stage not in STAGES:
            raise StageConfigError(f"context 'stage' must be one of {STAGES}, got {stage!r} (use -c stage=dev)")
        stages = node.try_get_context("stages") or {}
        raw: dict[str, Any] = dict(stages.get(stage) or {})
        for f in fields(cls):
            override = node.try_get_context(f.name)
            if f.name != "stage" and override is not None:
                raw[f.name] = _decode(override)
        return cls.from_mapping(stage, raw)

    @classmethod
    def from_mapping(cls, stage: str, raw: Mapping[str, Any]) -> StageConfig:
        known = {f.name for f in fields(cls)} - {"stage"}
        unknown = set(raw) - known
        if unknown:
            raise StageConfigError(f"unknown settings for stage {stage!r}: {sorted(unknown)}")
        lock_days = int(raw.get("object_lock_retention_days", 0))
        if lock_days < 0 or (lock_days and not raw.get("object_lock", False)):
            raise StageConfigError("object_lock_retention_days needs object_lock: true and a positive number")
        oidc = raw.get("oidc")
        return cls(
            stage=stage,
            retain=bool(raw.get("retain", False)),
            data_buckets=tuple(str(b) for b in raw.get("data_buckets") or ()),
            demo_bucket=bool(raw.get("demo_bucket", False)),
            deep_archive_after_days=int(raw.get("deep_archive_after_days", 1)),
            object_lock=bool(raw.get("object_lock", False)),
            object_lock_retention_days=lock_days,
            fixity_sample_fraction=float(raw.get("fixity_sample_fraction", 0.05)),
            opensearch=OpenSearchSizing.from_mapping(raw.get("opensearch") or {}),
            oidc=ExternalIssuer.from_mapping(oidc) if oidc else None,
            alarm_email=str(raw["alarm_email"]) if raw.get("alarm_email") else None,
            sign_in_callback_url=_callback(raw.get("sign_in_callback_url")),
            throttle=Throttle.from_mapping(raw.get("throttle") or {}),
            harvest_hosts=_harvest_hosts(raw.get("harvest_hosts") or ()),
            customer_managed_keys=bool(raw.get("customer_managed_keys", False)),
            log_retention_days=_retention(raw.get("log_retention_days", 30)),
            concurrency=Concurrency.from_mapping(raw.get("concurrency") or {}),
            **_datacite(raw),
            **_oai(raw),
        )


SIGN_IN_CALLBACK_PATH = "/api/v1/login/oidc/cognito/authorize"


def _callback(value: Any) -> str | None:
    if not value:
        return None
    url = str(value)
    if not url.startswith("https://") or not url.endswith(SIGN_IN_CALLBACK_PATH):
        raise StageConfigError(f"sign_in_callback_url must be https://<API host and stage>{SIGN_IN_CALLBACK_PATH}")
    return url


_DNS_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _harvest_hosts(value: Any) -> tuple[str, ...]:
    """Allow-listed upstream hosts: DNS names only (an address, ``localhost`` or a port is refused:
    the loopback stand-in is the local stack's, and AWS reaches upstream over https:443)."""
    hosts = tuple(str(h).strip().lower() for h in value)
    bad = [h for h in hosts if not _DNS_NAME.fullmatch(h) or h.endswith((".localhost", ".internal", ".local"))]
    if bad:
        raise StageConfigError(f"harvest_hosts must be public DNS names, not {bad}")
    return hosts


def _oai(raw: Mapping[str, Any]) -> dict[str, str]:
    """The OAI-PMH settings, checked as the app checks them (at synth, not at the first request)."""
    from chalicelib.config import ConfigError, OaiConfig

    values = {name: str(raw.get(name) or "").strip() for name in ("oai_repository_identifier", "oai_admin_email")}
    try:
        OaiConfig.from_env(
            {
                "CATALOGUE_OAI_REPOSITORY_IDENTIFIER": values["oai_repository_identifier"],
                "CATALOGUE_OAI_ADMIN_EMAIL": values["oai_admin_email"],
            }
        )
    except ConfigError as exc:
        raise StageConfigError(str(exc)) from None
    return values


def _datacite(raw: Mapping[str, Any]) -> dict[str, str]:
    url = str(raw.get("datacite_api_url") or "").strip().rstrip("/")
    prefix = str(raw.get("datacite_prefix") or "").strip().lower()
    if url and not url.startswith("https://"):
        raise StageConfigError("datacite_api_url must be an https URL")
    if prefix and not re.fullmatch(r"10\.\d{4,9}", prefix):
        raise StageConfigError("datacite_prefix must be a DOI prefix, 10.NNNN")
    if prefix and not url:
        raise StageConfigError("datacite_prefix needs datacite_api_url")
    return {"datacite_api_url": url, "datacite_prefix": prefix}


def _refuse_unknown(cls: type, raw: Mapping[str, Any], what: str) -> None:
    unknown = set(raw) - {f.name for f in fields(cls)}
    if unknown:
        raise StageConfigError(f"unknown {what} settings: {sorted(unknown)}")


# the values CloudWatch Logs accepts (aws_logs.RetentionDays, but for "never")
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


def _retention(value: Any) -> int:
    days = int(value)
    if days not in LOG_RETENTION_DAYS:
        raise StageConfigError(f"log_retention_days must be one of {LOG_RETENTION_DAYS}, not {days}")
    return days


def _decode(value: Any) -> Any:
    """``-c key=value`` arrives as a string: JSON-decode it when it is JSON (lists, numbers, booleans)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
