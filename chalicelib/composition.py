"""The composition root: every adapter and service of one container, built from settings.

A :class:`Root` builds each part on first use and keeps it (a warm Lambda reuses them);
nothing runs at import time. HTTP handlers get the root through their context, event
handlers and operator commands call :func:`root`. Tests build their own ``Root`` (with
fakes where they want them) and :func:`install` it. Nothing below the handlers imports
this module: services and adapters receive what they need through their constructors.

The one piece of module state is the installed root.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.composition_publishing import PublishingParts
from chalicelib.config import Settings
from chalicelib.domain import ARCHIVE_ACTOR, SYSTEM_ACTOR, JSONObject, User

if TYPE_CHECKING:
    from chalicelib.adapters.dynamodb.archives import ArchiveRepository
    from chalicelib.adapters.dynamodb.attempts import AttemptCounter
    from chalicelib.adapters.dynamodb.facility import FacilityStore
    from chalicelib.adapters.dynamodb.repository import DynamoRepository
    from chalicelib.adapters.events import EventBus
    from chalicelib.adapters.identity import IdentityProvider
    from chalicelib.adapters.object_storage import ObjectStorage
    from chalicelib.adapters.oidc_login import CodeExchange
    from chalicelib.adapters.queues import MessageQueue
    from chalicelib.adapters.upstream import Upstream
    from chalicelib.adapters.workflows import Workflow
    from chalicelib.archive.archives import ArchiveService
    from chalicelib.archive.harvest import HarvestService
    from chalicelib.archive.steps import ArchiveSteps
    from chalicelib.archive.worker import ArchiveWorker
    from chalicelib.catalogue.annotation_schemas import AnnotationSchemas
    from chalicelib.catalogue.blobs import BlobStore
    from chalicelib.catalogue.by_uri import DatasetsByUri
    from chalicelib.catalogue.datasets import CatalogueService
    from chalicelib.catalogue.item_links import ItemLinks
    from chalicelib.catalogue.search import SearchIndex
    from chalicelib.catalogue.streams import StreamProcessor
    from chalicelib.catalogue.summary_store import SummaryCounts
    from chalicelib.catalogue.uploads import Uploads
    from chalicelib.facility.queries import FacilityQueries
    from chalicelib.facility.records import FacilityService
    from chalicelib.identity.access import AccessService
    from chalicelib.identity.oidc_login import OidcSignIn
    from chalicelib.identity.sign_in import SignInService
    from chalicelib.identity.tokens import TokenVerifier
    from chalicelib.ingest.ingestion import IngestService
    from chalicelib.submissions.service import Submissions
    from chalicelib.tracker.api_keys import ApiKeyService
    from chalicelib.tracker.records import TrackerRecords
    from chalicelib.tracker.services import Tracker

log = logging.getLogger(__name__)

# The actor of the catalogue changes the archive worker makes (never a stored user).
ARCHIVE_WORKER = User(username=ARCHIVE_ACTOR, is_admin=True)
# The actor of what the Data Tracker's services change as a consequence of a user's change
# (an order's editors become its project's members): logged as system.
TRACKER_SYSTEM = User(username=SYSTEM_ACTOR, is_admin=True)
ARCHIVE_BASE_URI_DESCRIPTION = "Archival packages (AIPs); written by the archive worker only"


class Root(PublishingParts):
    """The adapters and services of one deployment (``settings``), each built once.

    Any part may be given instead of built (``Root(settings, search=fake)``: tests, local
    tools); the others are built from ``settings`` against AWS (or the emulators
    ``settings.aws_endpoint_url`` names) and from the parts given.
    """

    def __init__(self, settings: Settings, **parts: Any) -> None:
        unknown = sorted(set(parts) - set(_parts()))
        if unknown:
            raise TypeError(f"Root has no part named {', '.join(unknown)}")
        self.settings = settings
        self._given = {name: part for name, part in parts.items() if part is not None}
        self.__dict__.update(self._given)  # where cached_property keeps what it built

    def rewired(self, settings: Settings | None = None, **parts: Any) -> Root:
        """A new root with ``settings`` and some parts replaced, the other given parts kept;
        everything else is built again."""
        return Root(settings or self.settings, **{**self._given, **parts})

    # -- adapters ------------------------------------------------------------------------
    def aws_client(self, service: str) -> Any:
        """An AWS SDK client for ``service`` pointed at the configured endpoint (moto locally)."""
        from chalicelib.adapters.aws import make_client

        return make_client(service, region=self.settings.region, endpoint_url=self.settings.aws_endpoint_url)

    @cached_property
    def search(self) -> SearchIndex:
        from chalicelib.adapters.opensearch import OpenSearchIndex, make_client

        s = self.settings
        return OpenSearchIndex(make_client(s.opensearch_url, http_auth=search_auth(s)), s.search_index)

    @cached_property
    def blobs(self) -> BlobStore:
        from chalicelib.catalogue.blobs import BlobStore

        return BlobStore(self.objects, self.settings.catalogue_bucket)

    @cached_property
    def repo(self) -> DynamoRepository:
        from chalicelib.adapters.dynamodb import tables
        from chalicelib.adapters.dynamodb.repository import DynamoRepository

        tables.bind(self.settings)
        return DynamoRepository(self.blobs, self.settings.inline_cap_bytes)

    @cached_property
    def archive_records(self) -> ArchiveRepository:
        from chalicelib.adapters.dynamodb.archives import DynamoArchiveRepository
        from chalicelib.archive.projection import ProjectedArchives

        # every archive write is also kept on its entry (one read per lookup)
        return ProjectedArchives(DynamoArchiveRepository(), self.repo)  # self.repo binds the tables

    @cached_property
    def objects(self) -> ObjectStorage:
        """S3: reads, links, restores and STANDARD writes (staging, blobs, reports)."""
        from chalicelib.adapters.s3 import S3ObjectStorage

        return S3ObjectStorage(self.aws_client("s3"))

    @cached_property
    def item_links(self) -> ItemLinks:
        """Presigned links to datasets' files (``GET /datasets/{uuid}/items/{id}/url``). The
        archive's AIPs are never linked: they are read through the archive's restores."""
        from chalicelib.catalogue.item_links import ItemLinks

        settings = self.settings
        return ItemLinks(
            self.repo,
            self.objects,
            expires=settings.item_link_seconds,
            unlinked_base_uris=frozenset({settings.archive_base_uri}),
            download_log=settings.download_log,
        )

    @cached_property
    def workflow(self) -> Workflow:
        from chalicelib.adapters.workflows import StepFunctionsWorkflow

        return StepFunctionsWorkflow(self.aws_client("stepfunctions"), self.settings.archive_state_machine_arn)

    @cached_property
    def ingest_queue(self) -> MessageQueue:
        """The ingest queue: S3 notifications and the bulk index's steps."""
        from chalicelib.adapters.queues import SqsQueue

        return SqsQueue(self.aws_client("sqs"), self.settings.ingest_queue)

    @cached_property
    def ingest_dead_letters(self) -> MessageQueue:
        """The ingest queue's dead-letter queue (read and redriven by the operator)."""
        from chalicelib.adapters.queues import SqsQueue

        return SqsQueue(self.aws_client("sqs"), self.settings.ingest_dlq)

    @cached_property
    def events(self) -> EventBus | None:
        """The change feed's EventBridge bus (``settings.event_bus_name``); ``None`` when no bus
        is configured: the stream consumer then publishes nothing."""
        if not self.settings.event_bus_name:
            return None
        from chalicelib.adapters.events import EventBridgeBus

        return EventBridgeBus(self.aws_client("events"), self.settings.event_bus_name)

    @cached_property
    def verifier(self) -> TokenVerifier:
        from chalicelib.identity.tokens import TokenVerifier

        s = self.settings
        return TokenVerifier(s.issuers, stage=s.stage, cooldown_seconds=s.jwks_cooldown_seconds)

    @cached_property
    def identity_provider(self) -> IdentityProvider | None:
        """The user pool ``POST /token`` signs users in to; ``None`` when none is configured,
        or when the configured verifier would not accept its tokens (logged)."""
        from chalicelib.adapters.identity import CognitoIdentityProvider
        from chalicelib.identity.sign_in import trusts_pool

        s = self.settings
        if not s.password_sign_in:
            return None
        if not trusts_pool(s.issuers, s.user_pool_id, s.user_pool_client_id):
            log.error("password sign-in is off: CATALOGUE_OIDC_ISSUERS does not trust CATALOGUE_USER_POOL_ID's tokens")
            return None
        return CognitoIdentityProvider(self.aws_client("cognito-idp"), s.user_pool_id, s.user_pool_client_id)

    @cached_property
    def sign_in_attempts(self) -> AttemptCounter:
        from chalicelib.adapters.dynamodb import tables
        from chalicelib.adapters.dynamodb.attempts import DynamoAttemptCounter

        tables.bind(self.settings)
        return DynamoAttemptCounter()

    @cached_property
    def facility_store(self) -> FacilityStore:
        from chalicelib.adapters.dynamodb import tables
        from chalicelib.adapters.dynamodb.facility import DynamoFacilityStore

        tables.bind(self.settings)
        return DynamoFacilityStore()

    # -- services ------------------------------------------------------------------------
    @cached_property
    def sign_in(self) -> SignInService:
        from chalicelib.identity.sign_in import SignInService

        return SignInService(self.identity_provider, self.sign_in_attempts)

    @cached_property
    def catalogue(self) -> CatalogueService:
        from chalicelib.catalogue.datasets import CatalogueService

        # the Data Tracker's datasets are described before their data arrives: a new entry of
        # such a uuid belongs to its order (lambda: the records are built on first use)
        return CatalogueService(
            self.repo,
            self.search,
            blobs=self.blobs,
            projects_of=lambda uuids: self.tracker_records.orders_of(uuids),  # noqa: PLW0108
            # lambda: the schemas are built on the first registration or edit
            check_annotations=lambda annotations, project: self.annotation_schemas.check_entry(  # noqa: PLW0108
                annotations, project
            ),
        )

    @cached_property
    def uploads(self) -> Uploads:
        """POST /uploads: presigned POST forms for new folders under S3 base URIs."""
        from chalicelib.catalogue.uploads import Uploads

        s = self.settings
        return Uploads(
            self.repo,
            self.objects,
            refused_base_uris=frozenset({s.archive_base_uri, s.deposit_base_uri}),
            expires=s.upload_expires_seconds,
            max_bytes=s.upload_max_bytes,
        )

    @cached_property
    def tracker_records(self) -> TrackerRecords:
        from chalicelib.tracker.records import TrackerRecords

        return TrackerRecords(self.facility_store, self.repo)

    @cached_property
    def by_uri(self) -> DatasetsByUri:
        from chalicelib.catalogue.by_uri import DatasetsByUri

        return DatasetsByUri(self.catalogue)

    @cached_property
    def access(self) -> AccessService:
        from chalicelib.identity.access import AccessService

        s = self.settings
        return AccessService(
            self.repo,
            principal_ttl=s.principal_cache_seconds,
            datasets_under=lambda base_uri: self.catalogue.count_under(base_uri),  # noqa: PLW0108 (built on use)
            kept_base_uris=frozenset({s.archive_base_uri, s.deposit_base_uri}),
        )

    @cached_property
    def facility(self) -> FacilityService:
        from chalicelib.facility.datasets import DataGroupDatasets
        from chalicelib.facility.records import FacilityService

        datasets = DataGroupDatasets(self.catalogue, self._ensure_base_uri, self._set_project_members)
        return FacilityService(self.facility_store, datasets, audit=self.repo)

    # bound methods, not self.access's: the access service is built on first use
    def _ensure_base_uri(self, admin: User, base_uri: str, description: str) -> None:
        self.access.ensure_base_uri(admin, base_uri, description)

    def _set_project_members(self, admin: User, project: str, usernames: frozenset[str]) -> None:
        self.access.set_project_members(admin, project, usernames)

    def _user_exists(self, username: str) -> bool:
        from chalicelib.catalogue.validation import USERNAME_RE

        if not USERNAME_RE.fullmatch(username):
            return False  # no such user, and no read: DynamoDB refuses an empty key (a 500)
        user = self.repo.get_user(username)
        return user is not None and not user.deleted

    @cached_property
    def api_keys(self) -> ApiKeyService:
        from chalicelib.tracker.api_keys import ApiKeyService

        return ApiKeyService(self.facility_store, user_exists=self._user_exists)

    @cached_property
    def tracker(self) -> Tracker:
        from chalicelib.domain import ANONYMOUS
        from chalicelib.tracker.collections import Collections
        from chalicelib.tracker.datasets import TrackerDatasets
        from chalicelib.tracker.orders import Orders
        from chalicelib.tracker.people import People
        from chalicelib.tracker.projects import Projects
        from chalicelib.tracker.services import Tracker

        records = self.tracker_records
        people = People(
            self.repo,
            forget=lambda username: self.access.forget(username),  # noqa: PLW0108 (built on use)
            on_delete=lambda actor, username: self.api_keys.revoke_all(actor, username),  # noqa: PLW0108
        )
        orders = Orders(
            records,
            people,
            # an automated consequence of the order's change (logged with its actor): by system
            members=lambda project, usernames: self.access.set_project_members(TRACKER_SYSTEM, project, usernames),
            schemas=self.annotation_schemas,
        )

        def replicas(user: User, uuid: str) -> list[JSONObject]:
            if user.username == ANONYMOUS:
                return []
            return [e.summary_dict() for e in self.catalogue.entries(user, uuid)]

        datasets = TrackerDatasets(records, people, orders, replicas)
        projects = Projects(records, orders, lambda user: self.facility.listing(user, "proposal", {}))
        collections = Collections(records, people, datasets)
        return Tracker(records, people, orders, datasets, collections, self.api_keys, projects)

    @cached_property
    def submissions(self) -> Submissions:
        from chalicelib.submissions.ena_schemas import EnaSchemas
        from chalicelib.submissions.publishing import CatalogueBridge
        from chalicelib.submissions.records import SubmissionRecords
        from chalicelib.submissions.service import Submissions

        bridge = CatalogueBridge(self.catalogue, self._ensure_base_uri, self._set_project_members)
        return Submissions(
            SubmissionRecords(self.facility_store), EnaSchemas(), bridge.publish, self._user_exists, self.repo
        )

    @cached_property
    def api_description(self) -> JSONObject:
        """The committed OpenAPI description (chalicelib/openapi/openapi.json), read once."""
        from chalicelib.openapi.document import load

        return load()

    @cached_property
    def oidc_exchange(self) -> CodeExchange:
        from chalicelib.adapters.oidc_login import HttpCodeExchange

        return HttpCodeExchange()

    @cached_property
    def oidc_sign_in(self) -> OidcSignIn:
        from chalicelib.identity.oidc_login import OidcSignIn

        def verify(header: str) -> tuple[str, str | None]:
            identity = self.verifier.verify(header)
            return identity.username, identity.auth_id

        return OidcSignIn(
            self.settings.oidc_logins,
            self.facility_store,
            self.oidc_exchange,
            verify,
            lambda username, auth_id: self.access.principal(username, auth_id),  # noqa: PLW0108
        )

    @cached_property
    def facility_queries(self) -> FacilityQueries:
        from chalicelib.facility.queries import FacilityQueries

        return FacilityQueries(self.facility, self.facility_store)

    @cached_property
    def annotation_schemas(self) -> AnnotationSchemas:
        from chalicelib.catalogue.annotation_schemas import AnnotationSchemas
        from chalicelib.tracker.orders import declared_schema

        # a project is a Data Tracker order: its field annotation_schema (lambda: built on use)
        return AnnotationSchemas(
            self.facility_store,
            project_declaration=lambda project: declared_schema(self.tracker_records, project),
        )

    @cached_property
    def summary_counts(self) -> SummaryCounts:
        """The summary's counters, kept by the datasets stream consumer."""
        from chalicelib.adapters.dynamodb import tables
        from chalicelib.adapters.dynamodb.summary import DynamoSummaryStore
        from chalicelib.catalogue.summary_store import SummaryCounts

        tables.bind(self.settings)
        return SummaryCounts(DynamoSummaryStore())

    @cached_property
    def streams(self) -> StreamProcessor:
        from chalicelib.catalogue.streams import StreamProcessor

        s = self.settings
        return StreamProcessor(
            self.repo,
            self.search,
            stage=s.stage,
            events=self.events,
            event_source=s.event_source,
            dois=self.dois if s.dois else None,
            summary=self.summary_counts,
        )

    @cached_property
    def ingest(self) -> IngestService:
        from chalicelib.ingest.ingestion import Deposits, IngestService

        # lambdas, not bound methods: the archive service (a Step Functions client and more)
        # is built on the first deposit only, not with the ingest service
        deposits = Deposits(
            self.settings.deposit_base_uri,
            lambda actor, uuid: self.archives.deposit_registered(actor, uuid),  # noqa: PLW0108
            lambda actor, uuid, uri, base_uri, reasons: self.archives.deposit_refused(  # noqa: PLW0108
                actor, uuid, uri, base_uri, reasons
            ),
        )
        return IngestService(
            self.objects,
            self.catalogue,
            self.repo,
            deposits=deposits,
            passive_base_uris=frozenset({self.settings.archive_base_uri}),
        )

    @cached_property
    def archives(self) -> ArchiveService:
        from chalicelib.archive.archives import ArchiveService

        return ArchiveService(
            self.archive_records,
            self.repo,
            self.workflow,
            access=self.objects,
            deposit_base_uri=self.settings.deposit_base_uri,
        )

    @cached_property
    def upstream(self) -> Upstream:
        """Upstream repositories (InvenioRDM, Zenodo) harvests read from: allow-listed hosts only."""
        from chalicelib.adapters.upstream import HttpUpstream, UpstreamPolicy

        h = self.settings.harvest
        policy = UpstreamPolicy(frozenset(h.hosts), frozenset(h.plain_http_hosts), allow_loopback=h.allow_loopback)
        return HttpUpstream(policy)

    @cached_property
    def harvests(self) -> HarvestService:
        """POST /harvests: an upstream record becomes a deposited SIP, then an archive."""
        from chalicelib.archive.harvest import HarvestLimits, HarvestService

        h = self.settings.harvest
        limits = HarvestLimits(h.max_json_bytes, h.max_file_bytes, h.max_record_bytes, h.max_files)
        return HarvestService(
            self.upstream, self.objects, self.ingest, self.archives, self.settings.deposit_base_uri, limits
        )

    @cached_property
    def archive_steps(self) -> ArchiveSteps:
        from chalicelib.adapters.s3 import S3ObjectStorage
        from chalicelib.archive.steps import ArchiveSteps

        s = self.settings
        return ArchiveSteps(
            self.repo,
            self.objects,
            # the writer: its copies (the AIP's objects) are stored in the archive storage class
            S3ObjectStorage(self.aws_client("s3"), storage_class=s.archive_storage_class),
            s.archive_bucket,
            storage_class=s.archive_storage_class,
            add_replica=self._add_archive_replica,
        )

    def _add_archive_replica(self, uuid: str, source_base_uri: str, content_hash: str, uri: str) -> str:
        """The archive worker's last step: the AIP becomes a replica under the archive base URI."""
        archive_base_uri = self.settings.archive_base_uri
        self.access.ensure_base_uri(ARCHIVE_WORKER, archive_base_uri, ARCHIVE_BASE_URI_DESCRIPTION)
        return self.catalogue.add_archive_replica(
            ARCHIVE_WORKER, uuid, source_base_uri, content_hash, uri, archive_base_uri
        )

    @cached_property
    def archive_worker(self) -> ArchiveWorker:
        from chalicelib.archive.worker import ArchiveWorker

        return ArchiveWorker(self.archive_records, self.repo, self.workflow, self.archive_steps.mapping())


def _parts() -> list[str]:
    """The names of the parts a root builds (its cached properties)."""
    return [name for cls in Root.__mro__ for name, value in vars(cls).items() if isinstance(value, cached_property)]


def search_auth(s: Settings) -> Any:
    """How OpenSearch requests are authenticated: an Amazon OpenSearch domain (an https URL
    with no emulator endpoint configured) gets every request SigV4-signed for service
    ``es`` with the Lambda role's credentials; anything else (osmem-server, a URL with
    basic-auth credentials) gets ``None``."""
    if not (s.opensearch_url.startswith("https://") and s.aws_endpoint_url is None):
        return None
    from chalicelib.adapters.aws import sigv4_auth

    return sigv4_auth(s.region, "es")


class _Installed:
    """Holds the container's root (the module's one piece of state)."""

    root: Root | None = None


def root() -> Root:
    """The container's root: the installed one, or one built from the environment."""
    if _Installed.root is None:
        _Installed.root = Root(Settings.from_env())
    return _Installed.root


def install(new: Root | None) -> Root | None:
    """Use ``new`` from now on (``None``: build from the environment on next use); returns it."""
    _Installed.root = new
    return new
