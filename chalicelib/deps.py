"""Lazy, cached wiring of settings, adapters and services.

Nothing here runs at import time: the first request (or event) builds what it needs,
and a warm Lambda keeps it. Tests call :func:`override` to inject fakes and :func:`reset`
to start over.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.domain import ARCHIVE_ACTOR, User

# The actor of the catalogue changes the archive worker makes (never a stored user).
ARCHIVE_WORKER = User(username=ARCHIVE_ACTOR, is_admin=True)

if TYPE_CHECKING:
    from chalicelib.archive.service import ArchiveService
    from chalicelib.archive.worker import ArchiveWorker
    from chalicelib.auth import TokenVerifier
    from chalicelib.blobs import BlobStore
    from chalicelib.ingest.service import IngestService
    from chalicelib.search import SearchIndex
    from chalicelib.service import CatalogueService
    from chalicelib.store.repository import DynamoRepository
    from chalicelib.streams import StreamProcessor


@dataclass
class _State:
    settings: Settings | None = None
    search: SearchIndex | None = None
    blobs: BlobStore | None = None
    repo: DynamoRepository | None = None
    service: CatalogueService | None = None
    verifier: TokenVerifier | None = None
    streams: StreamProcessor | None = None
    ingest: IngestService | None = None
    archives: ArchiveService | None = None
    archive_worker: ArchiveWorker | None = None


_state = _State()


def reset() -> None:
    _replace_state(_State())


def _replace_state(new: _State) -> None:
    for f in fields(_State):
        setattr(_state, f.name, getattr(new, f.name))


def override(
    *,
    settings: Settings | None = None,
    search: SearchIndex | None = None,
    blobs: BlobStore | None = None,
    verifier: TokenVerifier | None = None,
) -> None:
    """Replace parts of the wiring (tests, local tools); everything built from them is rebuilt."""
    _replace_state(
        _State(
            settings=settings or _state.settings,
            search=search or _state.search,
            blobs=blobs or _state.blobs,
            verifier=verifier or _state.verifier,
        )
    )


def get_settings() -> Settings:
    if _state.settings is None:
        _state.settings = Settings.from_env()
    return _state.settings


def aws_client(service: str) -> Any:
    """A boto3 client for ``service`` pointed at the configured endpoint (moto locally)."""
    import boto3
    from botocore.config import Config

    s = get_settings()
    return boto3.client(
        service,
        region_name=s.region,
        endpoint_url=s.aws_endpoint_url,
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}),
    )


def get_search() -> SearchIndex:
    if _state.search is None:
        from chalicelib.opensearch import OpenSearchIndex, make_client

        s = get_settings()
        _state.search = OpenSearchIndex(make_client(s.opensearch_url, http_auth=search_auth(s)), s.search_index)
    return _state.search


def search_auth(s: Settings) -> Any:
    """How OpenSearch requests are authenticated: an Amazon OpenSearch domain (an https URL
    with no emulator endpoint configured) gets every request SigV4-signed for service
    ``es`` with the Lambda role's credentials; anything else (osmem-server, a URL with
    basic-auth credentials) gets ``None``."""
    if not (s.opensearch_url.startswith("https://") and s.aws_endpoint_url is None):
        return None
    import boto3
    from opensearchpy import Urllib3AWSV4SignerAuth

    return Urllib3AWSV4SignerAuth(boto3.Session(region_name=s.region).get_credentials(), s.region, "es")


def get_blobs() -> BlobStore:
    if _state.blobs is None:
        from chalicelib.blobs import S3BlobStore

        _state.blobs = S3BlobStore(aws_client("s3"), get_settings().catalogue_bucket)
    return _state.blobs


def get_repo() -> DynamoRepository:
    if _state.repo is None:
        from chalicelib.store import tables
        from chalicelib.store.repository import DynamoRepository

        s = get_settings()
        tables.bind(s)
        _state.repo = DynamoRepository(get_blobs(), s.inline_cap_bytes)
    return _state.repo


def get_service() -> CatalogueService:
    if _state.service is None:
        from chalicelib.service import CatalogueService
        from chalicelib.store.archives import DynamoArchiveRepository

        _state.service = CatalogueService(
            get_repo(), get_search(), blobs=get_blobs(), archives=DynamoArchiveRepository()
        )
    return _state.service


def get_verifier() -> TokenVerifier:
    if _state.verifier is None:
        from chalicelib.auth import TokenVerifier

        s = get_settings()
        _state.verifier = TokenVerifier(s.issuers, stage=s.stage, cooldown_seconds=s.jwks_cooldown_seconds)
    return _state.verifier


def get_stream_processor() -> StreamProcessor:
    if _state.streams is None:
        from chalicelib.streams import StreamProcessor

        _state.streams = StreamProcessor(get_repo(), get_search(), stage=get_settings().stage)
    return _state.streams


def get_ingest() -> IngestService:
    if _state.ingest is None:
        from chalicelib.ingest.objects import S3ObjectStore
        from chalicelib.ingest.service import Deposits, IngestService

        # the archive service (a Step Functions client and more) is built on the first deposit only
        deposits = Deposits(
            get_settings().deposit_base_uri,
            lambda actor, uuid: get_archives().deposit_registered(actor, uuid),
            lambda actor, uuid, uri, base_uri, reasons: get_archives().deposit_refused(
                actor, uuid, uri, base_uri, reasons
            ),
        )
        _state.ingest = IngestService(
            S3ObjectStore(aws_client("s3")),
            get_service(),
            get_repo(),
            deposits=deposits,
            passive_base_uris=frozenset({get_settings().archive_base_uri}),
        )
    return _state.ingest


def get_archives() -> ArchiveService:
    if _state.archives is None:
        from chalicelib.archive.access import S3ObjectAccess
        from chalicelib.archive.service import ArchiveService
        from chalicelib.store.archives import DynamoArchiveRepository

        _state.archives = ArchiveService(
            DynamoArchiveRepository(),
            get_repo(),
            _workflow(),
            access=S3ObjectAccess(aws_client("s3")),
            deposit_base_uri=get_settings().deposit_base_uri,
        )
    return _state.archives


def _workflow() -> Any:
    from chalicelib.archive.workflow import StepFunctionsWorkflow

    get_repo()  # binds the tables
    return StepFunctionsWorkflow(aws_client("stepfunctions"), get_settings().archive_state_machine_arn)


def get_archive_worker() -> ArchiveWorker:
    if _state.archive_worker is None:
        from chalicelib.archive.aip import S3ArchiveWriter
        from chalicelib.archive.steps import ArchiveSteps
        from chalicelib.archive.worker import ArchiveWorker
        from chalicelib.ingest.objects import S3ObjectStore
        from chalicelib.store.archives import DynamoArchiveRepository

        s = get_settings()
        s3 = aws_client("s3")
        steps = ArchiveSteps(
            get_repo(),
            S3ObjectStore(s3),
            S3ArchiveWriter(s3, storage_class=s.archive_storage_class),
            s.archive_bucket,
            storage_class=s.archive_storage_class,
            add_replica=lambda uuid, source_base_uri, content_hash, uri: get_service().add_archive_replica(
                ARCHIVE_WORKER, uuid, source_base_uri, content_hash, uri, s.archive_base_uri
            ),
        )
        _state.archive_worker = ArchiveWorker(DynamoArchiveRepository(), get_repo(), _workflow(), steps.mapping())
    return _state.archive_worker
