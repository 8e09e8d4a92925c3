"""Settings: the only module that reads the environment.

Everything the code needs to know about its surroundings is one frozen
:class:`Settings`, built by :meth:`Settings.from_env` on first use (never at import).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from chalicelib import resources
from chalicelib.catalogue.validation import parse_username
from chalicelib.errors import ValidationError


class ConfigError(Exception):
    """The environment does not describe a usable configuration."""


@dataclass(frozen=True)
class IssuerConfig:
    """One trusted token issuer (a Cognito user pool or any OIDC provider).

    ``issuer`` is compared exactly with the token's ``iss``; ``jwks_url`` is where its
    keys are fetched (for moto's Cognito the two differ). ``token_use`` is ``"access"``
    or ``"id"`` for Cognito, or ``None`` for a generic OIDC provider whose access tokens
    carry ``aud``/``azp`` instead of ``client_id``.

    ``service_clients`` maps the id of an app client that gets tokens with the OAuth2
    client-credentials grant (a machine, e.g. European XFEL's DAQ) to the catalogue
    username it acts as (JSON key ``"service_clients": {"<client id>": "<username>"}``).
    Such a token names no user (no ``username`` claim; ``sub`` is the client id), so the
    mapping is the only way it becomes a principal. Cognito access tokens only
    (``token_use`` ``"access"``); a service client is never also one of ``client_ids``.
    Stored as a checked copy (a plain dict: ``dataclasses.asdict`` and pickle work); left
    out of the hash.
    """

    issuer: str
    jwks_url: str
    client_ids: tuple[str, ...]
    token_use: str | None = "access"
    username_claim: str = "username"
    service_clients: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        checked = _service_clients(self.service_clients, self.token_use, self.client_ids)
        object.__setattr__(self, "service_clients", checked)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> IssuerConfig:
        try:
            issuer = str(raw["issuer"])
            jwks_url = str(raw["jwks_url"])
            client_ids_raw = raw["client_ids"]
        except KeyError as exc:
            raise ConfigError(f"issuer entry lacks {exc.args[0]!r}") from exc
        if not isinstance(client_ids_raw, list) or not client_ids_raw:
            raise ConfigError("issuer entry needs a non-empty list 'client_ids'")
        token_use = raw.get("token_use", "access")
        if token_use not in ("access", "id", None):
            raise ConfigError("token_use must be 'access', 'id' or null")
        return cls(
            issuer=issuer,
            jwks_url=jwks_url,
            client_ids=tuple(str(c) for c in client_ids_raw),
            token_use=token_use if token_use is None else str(token_use),
            username_claim=str(raw.get("username_claim", "username")),
            service_clients=_service_clients_from_json(raw.get("service_clients", {})),
        )


@dataclass(frozen=True)
class OidcLogin:
    """A sign-in service of the Data Tracker's ``/api/v1/login/oidc/<name>/`` routes: an
    OpenID Connect provider's authorization-code flow (with PKCE) for a public app client whose
    callback is ``redirect_uri`` (``.../api/v1/login/oidc/<name>/authorize``). Its tokens must
    be ones an entry of ``CATALOGUE_OIDC_ISSUERS`` verifies."""

    name: str
    authorize_url: str
    token_url: str
    client_id: str
    redirect_uri: str
    scope: str = "openid email profile"

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> OidcLogin:
        try:
            values = {k: str(raw[k]) for k in ("name", "authorize_url", "token_url", "client_id", "redirect_uri")}
        except KeyError as exc:
            raise ConfigError(f"sign-in service entry lacks {exc.args[0]!r}") from exc
        if not re.fullmatch(r"[a-z0-9_-]{1,40}", values["name"]):
            raise ConfigError("a sign-in service's name is 1 to 40 of a-z, 0-9, _ and -")
        for key in ("authorize_url", "token_url", "redirect_uri"):
            if not values[key].startswith(("https://", "http://")):
                raise ConfigError(f"a sign-in service's {key} is an http(s) URL")
        return cls(**values, scope=str(raw.get("scope", cls.scope)))


def _oidc_logins(raw: str) -> tuple[OidcLogin, ...]:
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError("CATALOGUE_OIDC_LOGINS is not valid JSON") from exc
    if not isinstance(parsed, list) or not all(isinstance(e, Mapping) for e in parsed):
        raise ConfigError("CATALOGUE_OIDC_LOGINS must be a JSON list of objects")
    logins = tuple(OidcLogin.from_mapping(e) for e in parsed)
    if len({login.name for login in logins}) != len(logins):
        raise ConfigError("CATALOGUE_OIDC_LOGINS names a sign-in service twice")
    return logins


MAX_CLIENT_ID_CHARS = 128


def _service_clients_from_json(raw: object) -> Mapping[str, str]:
    # the entries are checked by IssuerConfig itself (__post_init__)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError("'service_clients' must map app client ids to catalogue usernames")
    return dict(raw)


def _service_clients(raw: Mapping[str, str], token_use: str | None, client_ids: tuple[str, ...]) -> dict[str, str]:
    """``raw`` checked: client ids are short non-empty strings, not user clients; usernames
    are catalogue usernames; only for Cognito access tokens."""
    if not isinstance(raw, Mapping):
        raise ConfigError("'service_clients' must map app client ids to catalogue usernames")
    checked: dict[str, str] = {}
    for client_id, username in raw.items():
        if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID_CHARS:
            raise ConfigError("a service client id must be a non-empty string of at most 128 characters")
        if client_id in client_ids:
            raise ConfigError(f"app client {client_id!r} is in both 'client_ids' and 'service_clients'")
        try:
            checked[client_id] = parse_username(username, "service client username")
        except ValidationError as exc:
            raise ConfigError(f"service client {client_id!r}: {exc}") from None
    if checked and token_use != "access":
        raise ConfigError("'service_clients' needs token_use 'access' (Cognito client-credentials tokens)")
    return checked


@dataclass(frozen=True)
class HarvestConfig:
    """``POST /harvests``: the upstream hosts records are harvested from (exact ``host`` or
    ``host:port``; none: harvesting is off), those reachable over plain http, whether
    loopback addresses are allowed (the local stack's stand-in only), and the caps."""

    hosts: tuple[str, ...] = ()
    plain_http_hosts: tuple[str, ...] = ()
    allow_loopback: bool = False
    max_json_bytes: int = 2 * 1024**2
    max_file_bytes: int = 64 * 1024**2
    max_record_bytes: int = 64 * 1024**2
    max_files: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HarvestConfig:
        d = cls()

        def hosts(name: str) -> tuple[str, ...]:
            return tuple(sorted({h.strip().lower() for h in env.get(name, "").split(",") if h.strip()}))

        config = cls(
            hosts=hosts("CATALOGUE_HARVEST_HOSTS"),
            plain_http_hosts=hosts("CATALOGUE_HARVEST_PLAIN_HTTP_HOSTS"),
            allow_loopback=env.get("CATALOGUE_HARVEST_ALLOW_LOOPBACK", "") == "1",
            max_json_bytes=_int(env, "CATALOGUE_HARVEST_MAX_JSON_BYTES", d.max_json_bytes),
            max_file_bytes=_int(env, "CATALOGUE_HARVEST_MAX_FILE_BYTES", d.max_file_bytes),
            max_record_bytes=_int(env, "CATALOGUE_HARVEST_MAX_RECORD_BYTES", d.max_record_bytes),
            max_files=_int(env, "CATALOGUE_HARVEST_MAX_FILES", d.max_files),
        )
        if not set(config.plain_http_hosts) <= set(config.hosts):
            raise ConfigError("CATALOGUE_HARVEST_PLAIN_HTTP_HOSTS must be hosts of CATALOGUE_HARVEST_HOSTS")
        if min(config.max_json_bytes, config.max_file_bytes, config.max_record_bytes, config.max_files) <= 0:
            raise ConfigError("the CATALOGUE_HARVEST_MAX_* caps must be positive")
        return config


@dataclass(frozen=True)
class OaiConfig:
    """``/oai`` (OAI-PMH): the repository's name (empty: the ``publisher``), the domain name in
    its ``oai:<repository_identifier>:<uuid>`` identifiers, the contact ``Identify`` names, the
    ``baseURL`` (empty: the address the request came to), records per page and how long a
    resumption token lasts."""

    repository_name: str = ""
    repository_identifier: str = "catalogue.invalid"
    admin_email: str = "catalogue-admin@example.org"
    base_url: str = ""
    page_size: int = 100
    token_seconds: int = 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OaiConfig:
        d = cls()
        config = cls(
            repository_name=env.get("CATALOGUE_OAI_REPOSITORY_NAME", "").strip(),
            repository_identifier=env.get("CATALOGUE_OAI_REPOSITORY_IDENTIFIER", "").strip() or d.repository_identifier,
            admin_email=env.get("CATALOGUE_OAI_ADMIN_EMAIL", "").strip() or d.admin_email,
            base_url=env.get("CATALOGUE_OAI_BASE_URL", "").strip(),
            page_size=_int(env, "CATALOGUE_OAI_PAGE_SIZE", d.page_size),
            token_seconds=_int(env, "CATALOGUE_OAI_TOKEN_SECONDS", d.token_seconds),
        )
        # the protocol's own patterns (oai-identifier.xsd, OAI-PMH.xsd's emailType)
        if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+", config.repository_identifier):
            raise ConfigError("CATALOGUE_OAI_REPOSITORY_IDENTIFIER must be a domain name (e.g. catalogue.example.org)")
        if not re.fullmatch(r"\S+@(\S+\.)+\S+", config.admin_email):
            raise ConfigError("CATALOGUE_OAI_ADMIN_EMAIL must be an email address")
        if config.page_size < 1 or config.token_seconds < 1:
            raise ConfigError("CATALOGUE_OAI_PAGE_SIZE and CATALOGUE_OAI_TOKEN_SECONDS must be positive")
        return config


# the local stack's web page (make run): the origin when CATALOGUE_WEB_ORIGIN is unset
LOCAL_WEB_ORIGIN = "http://127.0.0.1:8002"


@dataclass(frozen=True)
class Settings:
    # "local" is the only stage that trusts the emulator's published signing key; there is no
    # default stage, so a deployment that forgets to name one fails closed (from_env refuses)
    stage: str = ""
    region: str = "eu-west-1"
    aws_endpoint_url: str | None = None
    datasets_table: str = resources.DATASETS_TABLE
    access_table: str = resources.ACCESS_TABLE
    audit_table: str = resources.AUDIT_TABLE
    catalogue_bucket: str = resources.CATALOGUE_BUCKET
    opensearch_url: str = "http://127.0.0.1:9200"
    search_index: str = resources.SEARCH_INDEX
    ingest_queue: str = resources.INGEST_QUEUE
    ingest_dlq: str = resources.INGEST_DLQ
    # the change feed's EventBridge bus (name or ARN) the stream consumer publishes to; empty:
    # no change feed (nothing is published)
    event_bus_name: str = ""
    archives_table: str = resources.ARCHIVES_TABLE
    sign_in_attempts_table: str = resources.SIGN_IN_ATTEMPTS_TABLE
    facility_table: str = resources.FACILITY_TABLE
    summary_table: str = resources.SUMMARY_TABLE
    archive_bucket: str = resources.ARCHIVE_BUCKET
    archive_task_queue: str = resources.ARCHIVE_TASK_QUEUE
    # a registered base URI whose bags are deposits (SIPs): archived as soon as registered
    deposit_base_uri: str = f"s3://{resources.DEPOSIT_BUCKET}"
    # the state machine's ARN (set by the CDK stack and the local stack); empty: not deployed
    archive_state_machine_arn: str = ""
    # S3 storage class of AIP objects as written; in AWS a lifecycle rule moves them to
    # DEEP_ARCHIVE, so that the fixity check right after storing can still read them
    archive_storage_class: str = "STANDARD"
    # the periodic fixity audit re-hashes this fraction of the archived AIPs per run
    fixity_sample_fraction: float = 0.05
    issuers: tuple[IssuerConfig, ...] = field(default_factory=tuple)
    # the Cognito user pool and app client POST /token signs users in to (USER_PASSWORD_AUTH,
    # in ``region``); empty: this deployment offers no password sign-in (POST /token is 503)
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    # the Data Tracker's OpenID Connect sign-in services (/api/v1/login/oidc/<name>/)
    oidc_logins: tuple[OidcLogin, ...] = field(default_factory=tuple)
    # where service principals get OAuth2 client-credentials tokens (named in /openapi.json so
    # that Swagger UI's "Authorize" can fetch one); empty: the description names none
    client_credentials_token_url: str = ""
    # the web page's origin (CORS, and the landing pages exports and DOIs point to: its
    # dataset view, chalicelib.exports.view.landing_url); empty: the local stack's page
    web_origin: str = ""
    # who makes the datasets available, as exports name the publisher (DataCite, schema.org)
    publisher: str = "Research data catalogue"
    max_body_bytes: int = 1024 * 1024
    # POST /uploads: each file of a folder upload is one presigned POST, at most 5 GiB (S3's
    # limit of one POST), the form valid this long
    upload_max_bytes: int = 5 * 1024**3
    upload_expires_seconds: int = 3600
    # GET /datasets/{uuid}/items/{id}/url: how long a link works (1 s to 1 h), and whether each
    # link given is written to the dataset's log (who was let fetch which file)
    item_link_seconds: int = 300
    download_log: bool = False
    inline_cap_bytes: int = 64 * 1024
    max_query_chars: int = 512
    jwks_cooldown_seconds: float = 10.0
    # how long a warm container reuses a caller's record: a permission change or removal
    # made elsewhere (another container, the operator CLI) applies within this delay
    principal_cache_seconds: float = 5.0
    debug: bool = False
    harvest: HarvestConfig = field(default_factory=HarvestConfig)
    oai: OaiConfig = field(default_factory=OaiConfig)
    # DOIs (DataCite's REST API): its URL, the account's prefix and the Secrets Manager secret
    # (id or ARN) holding the account as {"username", "password"}; any empty: DOIs are off
    # (their routes answer 503 NotConfigured)
    datacite_url: str = ""
    datacite_prefix: str = ""
    datacite_secret_id: str = ""

    @property
    def dois(self) -> bool:
        """Whether DOIs are configured (DataCite's URL, prefix and credentials' secret)."""
        return bool(self.datacite_url and self.datacite_prefix and self.datacite_secret_id)

    @property
    def password_sign_in(self) -> bool:
        """Whether a user pool and app client are configured for ``POST /token``."""
        return bool(self.user_pool_id and self.user_pool_client_id)

    @property
    def event_source(self) -> str:
        """The ``source`` of every change event this deployment publishes (``catalogue.<stage>``)."""
        return f"{resources.EVENT_SOURCE_PREFIX}.{self.stage}"

    @property
    def archive_base_uri(self) -> str:
        """The base URI of AIP replicas: recorded on datasets, never indexed from S3."""
        return f"s3://{self.archive_bucket}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        issuers_raw = env.get("CATALOGUE_OIDC_ISSUERS", "[]")
        try:
            parsed = json.loads(issuers_raw)
        except json.JSONDecodeError as exc:
            raise ConfigError("CATALOGUE_OIDC_ISSUERS is not valid JSON") from exc
        if not isinstance(parsed, list):
            raise ConfigError("CATALOGUE_OIDC_ISSUERS must be a JSON list")
        stage = env.get("CATALOGUE_STAGE", "").strip()
        if not stage:
            raise ConfigError("CATALOGUE_STAGE is not set: name the stage (local, dev, prod, ...)")
        defaults = cls()
        return cls(
            stage=stage,
            region=env.get("AWS_DEFAULT_REGION", env.get("AWS_REGION", defaults.region)),
            aws_endpoint_url=env.get("CATALOGUE_AWS_ENDPOINT_URL") or None,
            datasets_table=env.get("CATALOGUE_DATASETS_TABLE", defaults.datasets_table),
            access_table=env.get("CATALOGUE_ACCESS_TABLE", defaults.access_table),
            audit_table=env.get("CATALOGUE_AUDIT_TABLE", defaults.audit_table),
            catalogue_bucket=env.get("CATALOGUE_BUCKET", defaults.catalogue_bucket),
            opensearch_url=env.get("CATALOGUE_OPENSEARCH_URL", defaults.opensearch_url),
            search_index=env.get("CATALOGUE_SEARCH_INDEX", defaults.search_index),
            ingest_queue=env.get("CATALOGUE_INGEST_QUEUE", defaults.ingest_queue),
            ingest_dlq=env.get("CATALOGUE_INGEST_DLQ", defaults.ingest_dlq),
            event_bus_name=env.get("CATALOGUE_EVENT_BUS_NAME", defaults.event_bus_name).strip(),
            archives_table=env.get("CATALOGUE_ARCHIVES_TABLE", defaults.archives_table),
            sign_in_attempts_table=env.get("CATALOGUE_SIGN_IN_ATTEMPTS_TABLE", defaults.sign_in_attempts_table),
            facility_table=env.get("CATALOGUE_FACILITY_TABLE", defaults.facility_table),
            summary_table=env.get("CATALOGUE_SUMMARY_TABLE", defaults.summary_table),
            archive_bucket=env.get("CATALOGUE_ARCHIVE_BUCKET", defaults.archive_bucket),
            archive_task_queue=env.get("CATALOGUE_ARCHIVE_TASK_QUEUE", defaults.archive_task_queue),
            deposit_base_uri=env.get("CATALOGUE_DEPOSIT_BASE_URI", defaults.deposit_base_uri).rstrip("/"),
            archive_state_machine_arn=env.get("CATALOGUE_ARCHIVE_STATE_MACHINE_ARN", ""),
            archive_storage_class=env.get("CATALOGUE_ARCHIVE_STORAGE_CLASS", defaults.archive_storage_class),
            fixity_sample_fraction=_fraction(env, "CATALOGUE_FIXITY_SAMPLE_FRACTION", defaults.fixity_sample_fraction),
            issuers=tuple(IssuerConfig.from_mapping(i) for i in parsed),
            user_pool_id=env.get("CATALOGUE_USER_POOL_ID", "").strip(),
            user_pool_client_id=env.get("CATALOGUE_USER_POOL_CLIENT_ID", "").strip(),
            oidc_logins=_oidc_logins(env.get("CATALOGUE_OIDC_LOGINS", "[]")),
            client_credentials_token_url=env.get("CATALOGUE_CLIENT_CREDENTIALS_TOKEN_URL", "").strip(),
            web_origin=env.get("CATALOGUE_WEB_ORIGIN", "").strip().rstrip("/"),
            publisher=env.get("CATALOGUE_PUBLISHER", "").strip() or defaults.publisher,
            max_body_bytes=_int(env, "CATALOGUE_MAX_BODY_BYTES", defaults.max_body_bytes),
            upload_max_bytes=_int(env, "CATALOGUE_UPLOAD_MAX_BYTES", defaults.upload_max_bytes),
            upload_expires_seconds=_int(env, "CATALOGUE_UPLOAD_EXPIRES_SECONDS", defaults.upload_expires_seconds),
            item_link_seconds=_link_seconds(env),
            download_log=env.get("CATALOGUE_DOWNLOAD_LOG", "") == "1",
            inline_cap_bytes=_int(env, "CATALOGUE_INLINE_CAP_BYTES", defaults.inline_cap_bytes),
            max_query_chars=_int(env, "CATALOGUE_MAX_QUERY_CHARS", defaults.max_query_chars),
            jwks_cooldown_seconds=float(env.get("CATALOGUE_JWKS_COOLDOWN_SECONDS", defaults.jwks_cooldown_seconds)),
            principal_cache_seconds=float(
                env.get("CATALOGUE_PRINCIPAL_CACHE_SECONDS", defaults.principal_cache_seconds)
            ),
            debug=env.get("CATALOGUE_DEBUG", "") == "1",
            harvest=HarvestConfig.from_env(env),
            oai=OaiConfig.from_env(env),
            datacite_url=env.get("CATALOGUE_DATACITE_URL", "").strip().rstrip("/"),
            datacite_prefix=env.get("CATALOGUE_DATACITE_PREFIX", "").strip().lower(),
            datacite_secret_id=env.get("CATALOGUE_DATACITE_SECRET_ID", "").strip(),
        )

    def public(self) -> dict[str, object]:
        """Non-secret settings, as served by ``GET /config``."""
        return {
            "stage": self.stage,
            "region": self.region,
            "search_index": self.search_index,
            "max_body_bytes": self.max_body_bytes,
            "max_page_size": 100,
            "issuers": [
                {"issuer": i.issuer, "token_use": i.token_use, "username_claim": i.username_claim} for i in self.issuers
            ],
        }


def _link_seconds(env: Mapping[str, str]) -> int:
    seconds = _int(env, "CATALOGUE_ITEM_LINK_SECONDS", Settings.item_link_seconds)
    if not 1 <= seconds <= 3600:
        raise ConfigError("CATALOGUE_ITEM_LINK_SECONDS must be 1 to 3600 (seconds a file link works)")
    return seconds


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer") from exc


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number between 0 and 1") from exc
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a number between 0 and 1")
    return value
