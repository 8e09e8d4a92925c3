"""Archives (OAIS: a SIP taken to an AIP in long-term storage) and their step-by-step state.

Framework-free. An :class:`Archive` is one attempt to archive one version of a dataset;
its id is derived from the dataset, the content version and the source, so two requests
for the same content name the same archive (and the same Step Functions execution). The
transition functions return new records; the caller saves them with the record's version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.domain import JSONObject

STEPS = ("validate", "build", "store", "verify", "register")

REQUESTED = "requested"
RUNNING = "running"
ARCHIVED = "archived"
FAILED = "failed"
REJECTED = "rejected"  # the SIP is hostile or broken: never retried
FIXITY_FAILED = "fixity_failed"  # archived once, then a fixity audit found a mismatch
STATUSES = (REQUESTED, RUNNING, ARCHIVED, FAILED, REJECTED, FIXITY_FAILED)
FINAL = frozenset({ARCHIVED, FAILED, REJECTED, FIXITY_FAILED})

PENDING = "pending"
STEP_RUNNING = "running"
SUCCEEDED = "succeeded"
STEP_FAILED = "failed"

MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class StepState:
    status: str = PENDING
    attempts: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    error: str = ""

    def to_dict(self) -> JSONObject:
        return {
            "status": self.status,
            "attempts": self.attempts,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "error": self.error or None,
        }


@dataclass(frozen=True)
class Archive:
    archive_id: str
    dataset_uuid: str
    content_hash: str  # the dataset content version this archive preserves
    source_uri: str
    # the base URI of the entry archived (one; a tuple for the records' shape): who may see it
    base_uris: tuple[str, ...]
    requested_by: str
    requested_at: float
    updated_at: float
    version: int = 1
    status: str = REQUESTED
    steps: Mapping[str, StepState] = field(default_factory=lambda: {s: StepState() for s in STEPS})
    aip_uri: str = ""
    aip_bytes: int = 0
    aip_objects: int = 0
    tagmanifest_sha256: str = ""
    storage_class: str = ""
    failed_step: str = ""
    error: str = ""
    retries: int = 0  # times an operator restarted it after a failure
    fixity: Mapping[str, Any] = field(default_factory=dict)  # the latest audit: checked_at, ok, mismatches

    @property
    def entry_base_uri(self) -> str:
        """The base URI of the entry whose content this archive preserves."""
        return self.base_uris[0] if self.base_uris else ""

    @property
    def execution_name(self) -> str:
        """The Step Functions execution name: one execution per archive and restart."""
        return self.archive_id if self.retries == 0 else f"{self.archive_id}-r{self.retries}"

    def to_dict(self) -> JSONObject:
        return {
            "id": self.archive_id,
            "dataset": self.dataset_uuid,
            "content_hash": self.content_hash,
            "source_uri": self.source_uri,
            "base_uri": self.entry_base_uri,
            "status": self.status,
            "requested_by": self.requested_by,
            "requested_at": self.requested_at,
            "updated_at": self.updated_at,
            "steps": [{"name": name, **self.steps[name].to_dict()} for name in STEPS],
            "failed_step": self.failed_step or None,
            "error": self.error or None,
            "retries": self.retries,
            "aip": {
                "uri": self.aip_uri,
                "size_in_bytes": self.aip_bytes,
                "objects": self.aip_objects,
                "tagmanifest_sha256": self.tagmanifest_sha256,
                "storage_class": self.storage_class,
            }
            if self.aip_uri
            else None,
            "fixity": dict(self.fixity) or None,
        }

    def summary(self) -> JSONObject:
        return {
            "id": self.archive_id,
            "dataset": self.dataset_uuid,
            "status": self.status,
            "requested_at": self.requested_at,
            "updated_at": self.updated_at,
            "aip_uri": self.aip_uri or None,
        }


def archive_id_for(dataset_uuid: str, content_hash: str, source_uri: str) -> str:
    """Deterministic: the same content from the same source is one archive."""
    digest = hashlib.sha256(f"{dataset_uuid}\n{content_hash}\n{source_uri}".encode()).hexdigest()
    return f"ar-{digest[:24]}"


def _bump(archive: Archive, now: float, **changes: Any) -> Archive:
    return replace(archive, version=archive.version + 1, updated_at=now, **changes)


def step_started(archive: Archive, step: str, now: float) -> Archive:
    """A step begins (again): one more attempt; the archive is running."""
    state = archive.steps[step]
    steps = {
        **archive.steps,
        step: StepState(STEP_RUNNING, state.attempts + 1, now if state.started_at is None else state.started_at),
    }
    return _bump(archive, now, status=RUNNING, steps=steps)


def step_succeeded(archive: Archive, step: str, now: float, **fields: Any) -> Archive:
    state = archive.steps[step]
    steps = {**archive.steps, step: replace(state, status=SUCCEEDED, ended_at=now, error="")}
    status = ARCHIVED if step == STEPS[-1] else RUNNING
    return _bump(archive, now, status=status, steps=steps, **fields)


def step_attempt_failed(archive: Archive, step: str, now: float, error: str) -> Archive:
    """An attempt failed and will be retried by the workflow: recorded, still running."""
    state = archive.steps[step]
    steps = {**archive.steps, step: replace(state, error=error[:MAX_ERROR_CHARS])}
    return _bump(archive, now, steps=steps)


def archive_ended_badly(archive: Archive, step: str, now: float, error: str, *, rejected: bool) -> Archive:
    """The workflow gave up at ``step``: ``rejected`` (hostile or broken input) or ``failed``."""
    steps = dict(archive.steps)
    if step in steps:
        steps[step] = replace(steps[step], status=STEP_FAILED, ended_at=now, error=error[:MAX_ERROR_CHARS])
    return _bump(
        archive,
        now,
        status=REJECTED if rejected else FAILED,
        steps=steps,
        failed_step=step,
        error=error[:MAX_ERROR_CHARS],
    )


def restarted(archive: Archive, now: float) -> Archive:
    """A failed archive started again from the first step (a new execution)."""
    return _bump(
        archive,
        now,
        status=REQUESTED,
        steps={s: StepState() for s in STEPS},
        failed_step="",
        error="",
        retries=archive.retries + 1,
    )


def fixity_checked(archive: Archive, now: float, mismatches: list[str], checked: int) -> Archive:
    ok = not mismatches
    status = archive.status
    if not ok:
        status = FIXITY_FAILED
    elif archive.status == FIXITY_FAILED:
        status = ARCHIVED  # repaired (e.g. restored from a second copy) and checked again
    fixity = {"checked_at": now, "ok": ok, "files_checked": checked, "mismatches": mismatches[:50]}
    return _bump(archive, now, status=status, fixity=fixity)
