"""PREMIS 3.0 XML of one dataset entry: one ``object`` (the dataset, an intellectual entity),
its preservation ``event``s and the ``agent``s that acted (:func:`premis_xml`). Framework-free.

Where the events come from (:func:`preservation_records` reads them for one caller):

* **the entry's audit log** (``GET /datasets/{uuid}/log``): registration → ``ingestion``, an
  edit of the record → ``metadata modification``, a replica added → ``replication``, a replica
  removed or the entry removed → ``deletion``, a fixity audit that changed an archive's status
  → ``fixity check``;
* **the entry's archives** (:class:`~chalicelib.archive.model.Archive`, their latest run): the
  request → ``ingestion start``, then each ended step: validate → ``validation``, build →
  ``information package creation``, store (copy into the archive bucket) → ``transfer``,
  verify (every stored byte re-read) → ``fixity check``, register → ``ingestion end``; and the
  latest periodic fixity audit → ``fixity check``.

Event types are the Library of Congress preservation vocabulary's
(``http://id.loc.gov/vocabulary/preservation/eventType/<code>``), outcomes its eventOutcome
(``suc``/``fai``), agent roles its eventRelatedAgentRole (``imp`` implementer for a person,
``exe`` executing program for the catalogue's own actors).

**Who sees what** (the export itself is for whoever may see the entry, like every format):

* the audit log is read only by those who may read it today (:func:`~chalicelib.identity.permissions.may_read_log`:
  registrars of the entry's base URI, admins); they see its events and the people who acted;
* archive events are seen by whoever may see the archive (:func:`~chalicelib.identity.permissions.may_see_archive`:
  searchers of the entry's base URI), but a caller who may not read the log is not told who
  requested an archive: only the catalogue's programs (``archive-worker``, ``fixity-audit``…)
  are named to them, and their registration event comes from the record (when it was
  registered), without its actor.

Not events here, because nothing records them: the move of an AIP's payload to DEEP_ARCHIVE
(an S3 lifecycle rule in AWS), earlier runs of a restarted archive, downloads, and the
person a service principal acted for (``acting_for``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.archive import model
from chalicelib.archive.model import Archive
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.domain import ARCHIVE_ACTOR, INGEST_ACTOR, SYSTEM_ACTOR, AuditEntry, User
from chalicelib.exports.view import ExportView, iso8601
from chalicelib.exports.xml_text import xml_safe
from chalicelib.identity import permissions as perm

if TYPE_CHECKING:  # the ports only: the format registry imports this module, keep it light
    from chalicelib.adapters.dynamodb.archives import ArchiveRepository
    from chalicelib.adapters.dynamodb.repository import Repository

NAMESPACE = "http://www.loc.gov/premis/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = f"{NAMESPACE} https://www.loc.gov/standards/premis/v3/premis-v3-0.xsd"
MEDIA_TYPE = "application/xml"
EVENT_TYPES = "http://id.loc.gov/vocabulary/preservation/eventType"
OUTCOMES = "http://id.loc.gov/vocabulary/preservation/eventOutcome"
AGENT_ROLES = "http://id.loc.gov/vocabulary/preservation/eventRelatedAgentRole"
MAX_LOG_ENTRIES = 1000  # of one entry's log, oldest first (an export is one answer)
_LOG_PAGE = 100

# code → label, as the vocabulary names them
TYPES = {
    "ing": "ingestion",
    "ins": "ingestion start",
    "ine": "ingestion end",
    "val": "validation",
    "ipc": "information package creation",
    "tra": "transfer",
    "fix": "fixity check",
    "rep": "replication",
    "del": "deletion",
    "mem": "metadata modification",
}
_DATASET_ACTIONS = {"add": ("ing", "registered"), "edit": ("mem", "record edited"), "delete": ("del", "removed")}
STEP_TYPES = {"validate": "val", "build": "ipc", "store": "tra", "verify": "fix", "register": "ine"}
# chalicelib.archive.fixity.AUDITOR (not imported: it brings the storage adapters along)
AUDITOR = "fixity-audit"
PROGRAMS = frozenset({SYSTEM_ACTOR, INGEST_ACTOR, ARCHIVE_ACTOR, AUDITOR})


@dataclass(frozen=True)
class PreservationRecords:
    """What one caller may see of an entry's preservation history: ``log`` is ``None`` when
    it may not read the entry's audit log; ``names_people``: whether persons are named."""

    log: tuple[AuditEntry, ...] | None
    archives: tuple[Archive, ...]
    names_people: bool


@dataclass(frozen=True)
class Event:
    event_id: str
    code: str  # a key of TYPES
    at: float
    success: bool
    detail: str
    agent: str | None  # who acted (a username or one of PROGRAMS); None: not told
    objects: tuple[tuple[str, str], ...] = ()  # (identifier type, value) besides the dataset


def preservation_records(
    user: User, view: ExportView, repo: Repository, archives: ArchiveRepository
) -> PreservationRecords:
    """Read the log and archives of the entry ``view`` shows, as far as ``user`` may see them.
    The caller has already checked that ``user`` may see the entry."""
    readable = perm.may_register(user, view.base_uri)
    log: tuple[AuditEntry, ...] | None = None
    if readable:
        entries: list[AuditEntry] = []
        after: str | None = None
        while len(entries) < MAX_LOG_ENTRIES:
            page, after = repo.list_audit(dataset_subject(view.uuid, view.base_uri), _LOG_PAGE, after)
            entries += page
            if after is None:
                break
        log = tuple(entries[:MAX_LOG_ENTRIES])
    seen = tuple(
        a
        for a in archives.for_dataset(view.uuid)
        if a.entry_base_uri == view.base_uri and perm.may_see_archive(user, a.base_uris)
    )
    return PreservationRecords(log, seen, names_people=readable)


def premis_events(view: ExportView, records: PreservationRecords) -> list[Event]:
    """The events of ``records``, oldest first (see the module doc)."""
    fixity_times = {(a.archive_id, a.fixity.get("checked_at")) for a in records.archives}
    events: list[Event] = []
    if records.log is None:
        events.append(Event("registration", "ing", view.registered_at, True, f"registered under {view.base_uri}", None))
    else:
        events += [e for entry in records.log if (e := _log_event(entry, fixity_times)) is not None]
    for archive in records.archives:
        events += _archive_events(archive, records.names_people)
    return sorted(events, key=lambda e: (e.at, e.event_id))


def premis_xml(view: ExportView, records: PreservationRecords) -> bytes:
    """The PREMIS 3.0 document (UTF-8 XML, valid against premis-v3-0.xsd)."""
    ET.register_namespace("premis", NAMESPACE)
    ET.register_namespace("xsi", XSI)
    events = premis_events(view, records)
    root = ET.Element(_q("premis"), {"version": "3.0", f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})
    obj = ET.SubElement(root, _q("object"), {f"{{{XSI}}}type": "premis:intellectualEntity"})
    _identifier(obj, "objectIdentifier", "UUID", view.uuid)
    if view.doi:
        _identifier(obj, "objectIdentifier", "DOI", view.doi)
    for event in events:
        _event(root, view, event)
    for agent in agents(events):
        element = ET.SubElement(root, _q("agent"))
        _identifier(element, "agentIdentifier", "local", agent)
        _text(element, "agentName", agent)
        _text(element, "agentType", "software" if agent in PROGRAMS else "person")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def _log_event(entry: AuditEntry, fixity_times: set[tuple[str, Any]]) -> Event | None:
    kind, action, actor = entry.entity_type, entry.action, entry.actor
    if kind == "dataset":
        known = _DATASET_ACTIONS.get(action)
        if known is None:
            return None
        return Event(f"log-{entry.entry_id}", known[0], entry.timestamp, True, known[1], actor)
    if kind == "replica":
        code, verb = ("rep", "added") if action == "add" else ("del", "removed")
        objects = (("URI", entry.entity_id),)
        return Event(f"log-{entry.entry_id}", code, entry.timestamp, True, f"replica {verb}", actor, objects)
    if kind == "archive" and actor == AUDITOR and (entry.entity_id, entry.timestamp) not in fixity_times:
        # a past audit that changed the archive's status (the latest is on the archive record)
        status = entry.value.get("status") if isinstance(entry.value, dict) else None
        ok = status == model.ARCHIVED
        detail = f"archive {entry.entity_id}: {'intact again' if ok else 'mismatches found'}"
        return Event(f"log-{entry.entry_id}", "fix", entry.timestamp, ok, detail, actor, _aip(entry.entity_id, ""))
    return None


def _archive_events(archive: Archive, names_people: bool) -> list[Event]:
    requester = archive.requested_by if names_people or archive.requested_by in PROGRAMS else None
    aip = _aip(archive.archive_id, archive.aip_uri)
    events = [
        Event(
            f"{archive.archive_id}-requested",
            "ins",
            archive.requested_at,
            True,
            f"archive {archive.archive_id} requested from {archive.source_uri}",
            requester,
            aip,
        )
    ]
    for name in model.STEPS:
        step = archive.steps[name]
        if step.ended_at is None or step.status not in (model.SUCCEEDED, model.STEP_FAILED):
            continue
        ok = step.status == model.SUCCEEDED
        detail = f"archive {archive.archive_id}: {name} {'succeeded' if ok else 'failed'}"
        detail += f" after {step.attempts} attempt{'s' if step.attempts != 1 else ''}"
        if step.error and not ok:
            detail += f": {step.error}"
        events.append(
            Event(f"{archive.archive_id}-{name}", STEP_TYPES[name], step.ended_at, ok, detail, ARCHIVE_ACTOR, aip)
        )
    checked = archive.fixity.get("checked_at")
    if isinstance(checked, int | float):
        ok = bool(archive.fixity.get("ok"))
        files = archive.fixity.get("files_checked", 0)
        detail = f"archive {archive.archive_id}: periodic audit, {files} files re-hashed, "
        detail += "intact" if ok else f"{len(archive.fixity.get('mismatches') or [])} mismatches"
        events.append(Event(f"{archive.archive_id}-fixity", "fix", float(checked), ok, detail, AUDITOR, aip))
    return events


def _aip(archive_id: str, aip_uri: str) -> tuple[tuple[str, str], ...]:
    return (("local", archive_id),) + ((("URI", aip_uri),) if aip_uri else ())


def _event(root: ET.Element, view: ExportView, event: Event) -> None:
    element = ET.SubElement(root, _q("event"))
    _identifier(element, "eventIdentifier", "local", f"{view.uuid}/{event.event_id}")
    _text(
        element,
        "eventType",
        TYPES[event.code],
        authority="eventType",
        authorityURI=EVENT_TYPES,
        valueURI=f"{EVENT_TYPES}/{event.code}",
    )
    _text(element, "eventDateTime", iso8601(event.at))
    detail = ET.SubElement(element, _q("eventDetailInformation"))
    _text(detail, "eventDetail", event.detail)
    outcome = ET.SubElement(element, _q("eventOutcomeInformation"))
    code = "suc" if event.success else "fai"
    _text(
        outcome,
        "eventOutcome",
        "success" if event.success else "failure",
        authority="eventOutcome",
        authorityURI=OUTCOMES,
        valueURI=f"{OUTCOMES}/{code}",
    )
    if event.agent is not None:
        agent = ET.SubElement(element, _q("linkingAgentIdentifier"))
        _text(agent, "linkingAgentIdentifierType", "local")
        _text(agent, "linkingAgentIdentifierValue", event.agent)
        role = "exe" if event.agent in PROGRAMS else "imp"
        label = "executing program" if role == "exe" else "implementer"
        _text(agent, "linkingAgentRole", label, authorityURI=AGENT_ROLES, valueURI=f"{AGENT_ROLES}/{role}")
    for kind, value in (("UUID", view.uuid), *event.objects):
        linked = ET.SubElement(element, _q("linkingObjectIdentifier"))
        _text(linked, "linkingObjectIdentifierType", kind)
        _text(linked, "linkingObjectIdentifierValue", value)


def _identifier(parent: ET.Element, name: str, kind: str, value: str) -> None:
    element = ET.SubElement(parent, _q(name))
    _text(element, f"{name}Type", kind)
    _text(element, f"{name}Value", value)


def _text(parent: ET.Element, name: str, value: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, _q(name), attributes)
    element.text = xml_safe(value)
    return element


def _q(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def agents(events: Iterable[Event]) -> list[str]:
    """The agents named by ``events``, in order of first mention."""
    return list(dict.fromkeys(e.agent for e in events if e.agent is not None))


def premis_xml_of_view(view: ExportView) -> bytes:
    """The document the format registry can make from the view alone (its ``render`` gets no
    caller): the registration event only, which anyone who may see the entry may know. The
    export service gives the full history once it passes :func:`preservation_records`."""
    return premis_xml(view, PreservationRecords(None, (), names_people=False))
