"""Auto-registration: S3 object events → the same catalogue service the API uses.

An event is a hint: every decision re-reads the current state from S3, so a repeated or
late event can never install old state, and registration is idempotent by content, so a
duplicate changes nothing and writes no audit row.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections import Counter
from dataclasses import dataclass

from chalicelib.domain import User
from chalicelib.errors import CatalogueError, NotFound
from chalicelib.ingest.events import ObjectEvent, parse_notification
from chalicelib.ingest.layouts import (
    LayoutError,
    SidecarTarget,
    dtool_target,
    is_dtool_object,
    read_dtool,
    read_sidecar,
    sidecar_target,
)
from chalicelib.ingest.objects import ObjectStore, TooLarge
from chalicelib.service import CatalogueService
from chalicelib.store.repository import Repository
from chalicelib.validation import Registration

log = logging.getLogger(__name__)

# The actor of every change made by auto-registration (it never exists as a stored user).
INGEST_USER = User(username="s3-ingest", is_admin=True)


@dataclass(frozen=True)
class Outcome:
    status: str  # created | replica-added | updated | unchanged | removed | proto | ignored | refused
    uri: str = ""
    uuid: str = ""
    reason: str = ""


class IngestService:
    def __init__(self, store: ObjectStore, catalogue: CatalogueService, repo: Repository) -> None:
        self._store = store
        self._catalogue = catalogue
        self._repo = repo
        self.counts: Counter[str] = Counter()

    def handle_message(self, body: str) -> list[Outcome]:
        """Handle one SQS message body (one S3 notification). Raises on transient failures
        so that the message is delivered again."""
        outcomes = [self.handle(event) for event in parse_notification(body)]
        for o in outcomes:
            self.counts[o.status] += 1
            log.info("ingest %s %s %s", o.status, o.uri, o.reason)
        return outcomes

    def handle(self, event: ObjectEvent) -> Outcome:
        base_uri = self._base_uri_for(event.bucket, event.key)
        if base_uri is None:
            return Outcome("ignored", f"s3://{event.bucket}/{event.key}", reason="not under a registered base URI")
        try:
            if is_dtool_object(event.key):
                return self._dtool(event, base_uri)
            target = sidecar_target(self._store, event.bucket, event.key)
            if target is not None:
                return self._sidecar(target, base_uri)
        except (LayoutError, TooLarge) as exc:
            return Outcome("refused", f"s3://{event.bucket}/{event.key}", reason=str(exc))
        return Outcome("ignored", f"s3://{event.bucket}/{event.key}", reason="no recognised layout")

    def _base_uri_for(self, bucket: str, key: str) -> str | None:
        uri = f"s3://{bucket}/{key}"
        matches = [b.base_uri for b in self._repo.list_base_uris() if uri.startswith(b.base_uri + "/")]
        return max(matches, key=len) if matches else None

    def _dtool(self, event: ObjectEvent, base_uri: str) -> Outcome:
        target = dtool_target(self._store, event.bucket, event.key)
        if target is None:
            return Outcome("ignored", f"s3://{event.bucket}/{event.key}", reason="dtool data item")
        if base_uri != f"s3://{event.bucket}":
            # dtool URIs are s3://bucket/<uuid> whatever the key prefix: the bucket itself must be the base URI
            return Outcome("ignored", target.uri, target.uuid, f"dtool datasets need s3://{event.bucket} registered")
        registration = read_dtool(self._store, target, base_uri)
        if registration is None:
            if self._store.head(event.bucket, target.key("dtool")) is None:
                return self._remove(target.uuid, target.uri)
            return Outcome("proto", target.uri, target.uuid, "not frozen yet")
        return self._register(registration)

    def _sidecar(self, target: SidecarTarget, base_uri: str) -> Outcome:
        registration = read_sidecar(self._store, target, base_uri)
        if registration is None:
            return self._remove(str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, target.uri)), target.uri)
        return self._register(registration)

    def _register(self, registration: Registration) -> Outcome:
        try:
            result = self._catalogue.register(INGEST_USER, registration)
        except CatalogueError as exc:
            return Outcome("refused", registration.uri, registration.content.uuid, str(exc))
        return Outcome(result.status, registration.uri, registration.content.uuid)

    def _remove(self, uuid: str, uri: str) -> Outcome:
        try:
            self._catalogue.delete_replica(INGEST_USER, uuid, uri)
        except NotFound:
            return Outcome("ignored", uri, uuid, "not registered")
        return Outcome("removed", uri, uuid)
