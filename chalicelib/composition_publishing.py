"""The composition root's publishing parts: what the catalogue tells the world of its
datasets (exports, OAI-PMH) and the DOIs it registers for them at DataCite, with the adapters
only they use (Secrets Manager, DataCite's REST API, the DOI records).

A mixin of :class:`chalicelib.composition.Root`, kept apart so that the root stays one
readable page; built the same way: each part on first use, kept for the container, given
instead of built in tests (``Root(settings, datacite=fake)``).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.config import Settings

if TYPE_CHECKING:
    from chalicelib.adapters.datacite import DataCite
    from chalicelib.adapters.dynamodb.archives import ArchiveRepository
    from chalicelib.adapters.dynamodb.repository import DynamoRepository
    from chalicelib.adapters.secrets import Secrets
    from chalicelib.catalogue.dois import DoiService, DoiStore
    from chalicelib.exports.collections import RecordExports
    from chalicelib.exports.service import ExportService
    from chalicelib.oai.service import OaiRepository
    from chalicelib.tracker.services import Tracker


class PublishingParts:
    """Exports, OAI-PMH and DOIs; the root supplies the shared parts named below."""

    settings: Settings

    if TYPE_CHECKING:  # the root's parts these build on (cached properties of Root)

        @property
        def repo(self) -> DynamoRepository: ...

        @property
        def archive_records(self) -> ArchiveRepository: ...

        @property
        def tracker(self) -> Tracker: ...

        def aws_client(self, service: str) -> object: ...

    def landing_url(self, uuid: str) -> str:
        """A dataset's page in the web page (``CATALOGUE_WEB_ORIGIN``): what exports, OAI-PMH
        records and findable DOIs point at."""
        from chalicelib.exports.view import landing_url

        return landing_url(self.settings, uuid)

    @cached_property
    def exports(self) -> ExportService:
        """Exports of the record a caller is shown (DataCite, schema.org…; ``/export/{format}``
        and content negotiation on ``GET /datasets/{uuid}``), pointing at the web page."""
        from chalicelib.exports.premis import preservation_records
        from chalicelib.exports.service import ExportService

        settings = self.settings
        return ExportService(
            self.repo,
            landing_url=self.landing_url,
            publisher=settings.publisher,
            doi_of=lambda entry: self.dois.doi_of(entry),  # noqa: PLW0108 (built on first use)
            preservation=lambda user, view: preservation_records(user, view, self.repo, self.archive_records),
        )

    @cached_property
    def record_exports(self) -> RecordExports:
        """Exports of projects and collections (``/projects/{uuid}/export/{format}``…), of the
        record the tracker's services show the caller (the same permission check)."""
        from chalicelib.exports.collections import RecordExports

        settings = self.settings
        return RecordExports(
            self.repo,
            project=lambda user, uuid: self.tracker.projects.get(user, uuid),  # noqa: PLW0108 (built on use)
            collection=lambda user, uuid: self.tracker.collections.get(user, uuid),  # noqa: PLW0108 (built on use)
            landing_url=self.landing_url,
            publisher=settings.publisher,
            doi_of=lambda entry: self.dois.doi_of(entry),  # noqa: PLW0108 (built on first use)
        )

    @cached_property
    def oai(self) -> OaiRepository:
        """OAI-PMH (``/oai``): the registered entries under public base URIs, from the records."""
        from chalicelib.oai.service import OaiRepository

        settings = self.settings
        return OaiRepository(
            self.repo,
            settings.oai,
            publisher=settings.publisher,
            landing_url=self.landing_url,
            doi_of=lambda entry: self.dois.doi_of(entry),  # noqa: PLW0108 (built on first use)
        )

    @cached_property
    def secrets(self) -> Secrets:
        from chalicelib.adapters.secrets import SecretsManagerSecrets

        return SecretsManagerSecrets(self.aws_client("secretsmanager"))

    @cached_property
    def datacite(self) -> DataCite | None:
        """DataCite's REST API for this stage's account (``None``: DOIs are not configured); the
        account is read from Secrets Manager on first use, then kept for the container."""
        s = self.settings
        if not s.dois:
            return None
        import requests

        from chalicelib.adapters.datacite import CachedCredentials, Credentials, DataCiteRest

        def account() -> Credentials:
            value = self.secrets.json_object(s.datacite_secret_id)
            return Credentials(value.get("username", ""), value.get("password", ""))

        return DataCiteRest(requests.Session(), s.datacite_url, s.datacite_prefix, CachedCredentials(account))

    @cached_property
    def doi_store(self) -> DoiStore:
        from chalicelib.adapters.dynamodb import dois

        dois.bind(self.settings)
        return dois.DynamoDoiStore()

    @cached_property
    def dois(self) -> DoiService:
        """DOIs of datasets (``/datasets/{uuid}/doi``, and kept in step by the stream consumer;
        without DataCite configured its requests answer 503 once authorized)."""
        from chalicelib.catalogue.dois import DoiService

        return DoiService(
            self.repo,
            self.doi_store,
            self.datacite,
            landing_url=self.landing_url,
            publisher=self.settings.publisher,
        )
