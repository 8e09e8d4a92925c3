"""Archive use cases: request, look up, list, restart. Framework-free; authorization here.

Who may do what:

* request an archive of a dataset: register permission on the base URI of the entry archived
  (the content and the replica read are that entry's), or admin;
* see an archive: whoever may search that base URI, or admin; anything else is 404;
* restart a failed archive: its requester or an admin.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.adapters.dynamodb.archives import ArchiveRepository
from chalicelib.adapters.dynamodb.repository import Repository
from chalicelib.adapters.object_storage import ObjectStorage
from chalicelib.adapters.workflows import Workflow
from chalicelib.archive import model
from chalicelib.archive.model import Archive, archive_id_for
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.catalogue.entries import visible_entries
from chalicelib.domain import REGISTERED, AuditEntry, JSONObject, User
from chalicelib.errors import AlreadyExists, ArchiveExists, Conflict, Forbidden, NotFound, ValidationError
from chalicelib.identity import permissions as perm

MAX_PAGE_SIZE = 100
MAX_LINKS = 1000  # presigned links per download response (then ?after=<path>)
LINK_SECONDS = 3600
# DEEP_ARCHIVE restores: "Bulk" finishes within 48 hours ("Standard" within 12, at a higher price)
RESTORE_TIER = "Bulk"
RESTORE_WAIT_SECONDS = 48 * 3600
RESTORE_DAYS = 7  # how long a restored copy stays readable
DEPOSIT_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
MAX_DEPOSIT_NAME_CHARS = 200
DEPOSIT_NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._ -]{{0,{MAX_DEPOSIT_NAME_CHARS - 1}}}")


@dataclass(frozen=True)
class ArchivePage:
    items: list[JSONObject]
    total: int
    page: int
    page_size: int


class ArchiveService:
    def __init__(
        self,
        archives: ArchiveRepository,
        repo: Repository,
        workflow: Workflow,
        clock: Callable[[], float] = time.time,
        access: ObjectStorage | None = None,
        deposit_base_uri: str = "",
    ) -> None:
        self._access = access
        self._deposit_base_uri = deposit_base_uri
        self._archives = archives
        self._repo = repo
        self._workflow = workflow
        self._clock = clock

    def request(self, user: User, uuid: str, base_uri: str | None = None) -> JSONObject:
        """Archive the current content of a registered entry of ``uuid`` the user may
        register (the first registered such entry, or the one under ``base_uri``), read from
        one of that entry's S3 replicas; ArchiveExists when it is (being) archived."""
        entries = visible_entries(self._repo, user, uuid, base_uri, load_blobs=False)
        mine = [e for e in entries if perm.may_edit(user, e)]
        if not mine:
            raise Forbidden("archiving needs register permission on one of the dataset's base URIs")
        registered = [e for e in mine if e.status == REGISTERED]
        if not registered:
            raise ValidationError(f"dataset {uuid} is {mine[0].status}: only registered datasets are archived")
        candidates = [(e, r) for e in registered for r in e.replicas if r.uri.startswith("s3://")]
        if not candidates:
            raise ValidationError(f"dataset {uuid} has no replica in S3 to archive from")
        dataset, source = candidates[0]
        now = self._clock()
        archive = Archive(
            archive_id=archive_id_for(uuid, dataset.content.content_hash(), source.uri),
            dataset_uuid=uuid,
            content_hash=dataset.content.content_hash(),
            source_uri=source.uri,
            base_uris=(dataset.base_uri,),  # the entry archived: its readers see the archive
            requested_by=user.username,
            requested_at=now,
            updated_at=now,
        )
        try:
            self._archives.create(archive)
        except AlreadyExists as exc:
            existing = self._archives.get(archive.archive_id)
            if existing is not None and existing.status == model.REQUESTED:
                # the first request may have stopped between its record and its start
                self._start(existing)
            raise ArchiveExists(
                f"this content of {uuid} is archived already (or being archived): {archive.archive_id}",
                archive.archive_id,
            ) from exc
        self._start(archive)
        self._audit(archive, "add", user.username, {"status": archive.status, "source_uri": archive.source_uri})
        return archive.to_dict()

    # -- deposits (SIPs uploaded to the deposit base URI) --------------------------------------
    def deposit_registered(self, actor: User, uuid: str) -> str:
        """A deposited bag was registered: archive it (once; a repeat is a no-op). Returns the id."""
        try:
            return str(self.request(actor, uuid)["id"])
        except ArchiveExists as exc:
            return exc.archive_id

    def deposit_refused(self, actor: User, uuid: str, uri: str, base_uri: str, reasons: tuple[str, ...]) -> str:
        """A deposited bag was refused before it could become a dataset: record a rejected
        archive with the reasons (nothing is stored). The same reasons give the same record."""
        now = self._clock()
        digest = hashlib.sha256("\n".join(reasons).encode()).hexdigest()
        archive = model.archive_ended_badly(
            Archive(
                archive_id=archive_id_for(uuid, f"refused:{digest}", uri),
                dataset_uuid=uuid,
                content_hash=f"refused:{digest}",
                source_uri=uri,
                base_uris=(base_uri,),
                requested_by=actor.username,
                requested_at=now,
                updated_at=now,
            ),
            model.STEPS[0],
            now,
            "; ".join(reasons),
            rejected=True,
        )
        try:
            self._archives.create(archive)
        except AlreadyExists:
            return archive.archive_id
        self._audit(archive, "add", actor.username, {"status": archive.status, "reasons": list(reasons[:20])})
        return archive.archive_id

    def get(self, user: User, archive_id: str) -> JSONObject:
        return self._visible(user, archive_id).to_dict()

    def find(self, user: User, status: str | None, dataset: str | None, page: int, page_size: int) -> ArchivePage:
        if status is not None and status not in model.STATUSES:
            raise ValidationError(f"status must be one of {', '.join(model.STATUSES)}", field="status")
        if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValidationError(f"page starts at 1; page_size is 1 to {MAX_PAGE_SIZE}", field="page_size")
        if dataset is not None:
            found = self._archives.for_dataset(dataset)
            if status is not None:
                found = [a for a in found if a.status == status]
        else:
            found = [a for s in ([status] if status else model.STATUSES) for a in self._archives.with_status(s)]
        visible = sorted(
            (a for a in found if self._may_see(user, a)), key=lambda a: (a.requested_at, a.archive_id), reverse=True
        )
        start = (page - 1) * page_size
        return ArchivePage([a.summary() for a in visible[start : start + page_size]], len(visible), page, page_size)

    def history(self, user: User, uuid: str) -> list[JSONObject]:
        """The archives of a dataset the user may see, newest first (for the dataset's page)."""
        return [a.summary() for a in self._archives.for_dataset(uuid) if self._may_see(user, a)]

    def retry(self, user: User, archive_id: str) -> JSONObject:
        archive = self._visible(user, archive_id)
        if not (perm.is_admin(user) or user.username == archive.requested_by):
            raise Forbidden("only the requester or an admin may restart an archive")
        if archive.status != model.FAILED:
            raise Conflict(f"archive {archive_id} is {archive.status}; only failed archives are restarted")
        restarted = model.restarted(archive, self._clock())
        self._archives.save(restarted, archive.version)
        self._start(restarted)
        self._audit(restarted, "edit", user.username, {"status": restarted.status, "retries": restarted.retries})
        return restarted.to_dict()

    def download(self, user: User, archive_id: str, after: str = "") -> JSONObject:
        """Presigned links to the AIP's objects (``status: ready``); when its objects sit in an
        archive storage class, a restore is started instead (``status: restoring``)."""
        archive = self._visible(user, archive_id)
        if archive.status not in (model.ARCHIVED, model.FIXITY_FAILED) or not archive.aip_uri:
            raise Conflict(f"archive {archive_id} is {archive.status}: nothing to download yet")
        if self._access is None:
            raise Conflict("downloads are not configured")
        bucket, _, prefix = archive.aip_uri.removeprefix("s3://").partition("/")
        objects = [o for o in self._access.objects(bucket, prefix) if o.key > prefix + after]
        waiting = [o for o in objects if not o.readable]
        if waiting:
            for obj in waiting:
                if obj.restore == "none":
                    self._access.restore(bucket, obj.key, RESTORE_DAYS, RESTORE_TIER)
            return {
                "id": archive_id,
                "status": "restoring",
                "objects_restoring": len(waiting),
                "retry_after_seconds": RESTORE_WAIT_SECONDS,
                "restore_tier": RESTORE_TIER,
            }
        page = objects[:MAX_LINKS]
        return {
            "id": archive_id,
            "status": "ready",
            "expires_in": LINK_SECONDS,
            "files": [
                {"path": o.key[len(prefix) :], "size": o.size, "url": self._access.link(bucket, o.key, LINK_SECONDS)}
                for o in page
            ],
            "next": page[-1].key[len(prefix) :] if len(objects) > MAX_LINKS else None,
        }

    def deposit_upload(self, user: User, body: Callable[[], object]) -> JSONObject:
        """A presigned PUT for a serialized bag (a SIP) into the deposit base URI; once uploaded
        it is registered and archived by itself (follow ``GET /archives?dataset=<dataset>``).
        ``body`` gives ``{"filename": ...}``; it is read only once the user may deposit."""
        if not self._deposit_base_uri or self._access is None:
            raise Conflict("deposits are not configured")
        if not perm.may_register(user, self._deposit_base_uri):
            raise Forbidden(f"depositing needs register permission on {self._deposit_base_uri}")
        value = body()
        filename = value.get("filename") if isinstance(value, dict) else None
        if not isinstance(filename, str):
            raise ValidationError('give the bag\'s file name as {"filename": "run-7.zip"}', field="filename")
        if not DEPOSIT_NAME.fullmatch(filename) or not filename.lower().endswith(DEPOSIT_SUFFIXES):
            raise ValidationError(
                "filename: letters, digits, '.', '_', '-' and spaces, ending in .zip, .tar, .tar.gz or .tgz",
                field="filename",
            )
        bucket, _, prefix = self._deposit_base_uri.removeprefix("s3://").partition("/")
        key = f"{prefix + '/' if prefix else ''}uploads/{uuidlib.uuid4()}/{filename}"
        uri = f"s3://{bucket}/{key}"
        return {
            "upload_url": self._access.upload_link(bucket, key, LINK_SECONDS),
            "method": "PUT",
            "uri": uri,
            # the dataset's uuid, unless bag-info.txt names one in External-Identifier
            "dataset": str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, uri)),
            "expires_in": LINK_SECONDS,
        }

    def _start(self, archive: Archive) -> None:
        self._workflow.start(
            archive.execution_name, {"archive_id": archive.archive_id, "dataset_uuid": archive.dataset_uuid}
        )

    def _visible(self, user: User, archive_id: str) -> Archive:
        archive = self._archives.get(archive_id)
        if archive is None or not self._may_see(user, archive):
            raise NotFound(f"no archive {archive_id}")
        return archive

    @staticmethod
    def _may_see(user: User, archive: Archive) -> bool:
        return perm.may_see_archive(user, archive.base_uris)

    def _audit(self, archive: Archive, action: str, actor: str, value: JSONObject) -> None:
        record_audit(self._repo, archive, action, actor, value)


def record_audit(repo: Repository, archive: Archive, action: str, actor: str, value: JSONObject) -> None:
    """One audit entry under the dataset for an archive change; its id is derived from the
    archive's record version, so a repeated call writes nothing new."""
    repo.append_audit(
        [
            AuditEntry(
                entry_id=f"archive#{archive.archive_id}:v{archive.version}",
                entity_type="archive",
                entity_id=archive.archive_id,
                action=action,
                timestamp=archive.updated_at,
                actor=actor,
                value=value,
                subject=dataset_subject(archive.dataset_uuid, archive.entry_base_uri),
            )
        ]
    )
