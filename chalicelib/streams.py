"""DynamoDB Streams consumers: the audit log and the search index are derived here.

Delivery is at least once (Lambda retries a failed batch; the local pump does the same),
so both outputs are idempotent: audit entries have deterministic ids written with
``attribute_not_exists``, and index documents carry the item version with external
versioning, so a late or repeated record never regresses a document. Audit is written
before indexing: if the index is down the batch fails and is retried, and the audit
writes of the retry are no-ops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from chalicelib.audit import base_uri_changes, dataset_changes, user_changes
from chalicelib.indexdoc import index_doc
from chalicelib.search import SearchIndex
from chalicelib.store.repository import DynamoRepository
from chalicelib.store.tables import BASE_URI_PK, USER_PK

log = logging.getLogger(__name__)


class StreamProcessor:
    def __init__(self, repo: DynamoRepository, search: SearchIndex) -> None:
        self._repo = repo
        self._search = search

    def process_datasets(self, records: Iterable[Mapping[str, Any]]) -> int:
        docs: dict[str, dict[str, Any]] = {}
        for record in records:
            ddb = record.get("dynamodb", {})
            old_image, new_image = ddb.get("OldImage"), ddb.get("NewImage")
            old = self._repo.dataset_from_image(old_image) if old_image else None
            if new_image:
                new = self._repo.dataset_from_image(new_image)
                self._repo.append_audit(dataset_changes(old, new))
            elif old is not None:
                # A physical delete (TTL or purge) after the tombstone: keep the index in step.
                new = replace(old, deleted=True, version=old.version + 1)
            else:
                continue
            doc = index_doc(new)
            if doc["uuid"] not in docs or docs[doc["uuid"]]["version"] < doc["version"]:
                docs[doc["uuid"]] = doc
        if docs:
            self._search.upsert(list(docs.values()))
        return len(docs)

    def process_access(self, records: Iterable[Mapping[str, Any]]) -> int:
        written = 0
        for record in records:
            ddb = record.get("dynamodb", {})
            new_image, old_image = ddb.get("NewImage"), ddb.get("OldImage")
            if not new_image:
                continue  # users and base URIs are tombstoned, never removed by requests
            pk = new_image.get("pk", {}).get("S")
            if pk == USER_PK:
                new_user = self._repo.user_from_image(new_image)
                old_user = self._repo.user_from_image(old_image) if old_image else None
                entries = user_changes(old_user, new_user)
            elif pk == BASE_URI_PK:
                new_b = self._repo.base_uri_from_image(new_image)
                old_b = self._repo.base_uri_from_image(old_image) if old_image else None
                entries = base_uri_changes(old_b, new_b)
            else:
                log.warning("ignoring access-table record with pk %r", pk)
                continue
            self._repo.append_audit(entries)
            written += len(entries)
        return written
