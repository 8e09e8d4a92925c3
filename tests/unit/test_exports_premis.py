"""PREMIS 3.0 events of a dataset entry: valid against the official premis-v3-0.xsd (vendored,
see tests/data/premis/SOURCE.md), events from the audit log and the archive records, and only
what the caller may see (the log and people's names for those who may read the log)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
import xmlschema

from chalicelib.archive import model
from chalicelib.archive.model import Archive, StepState
from chalicelib.catalogue.audit import dataset_subject
from chalicelib.domain import AuditEntry, User
from chalicelib.exports.premis import (
    EVENT_TYPES,
    NAMESPACE,
    PreservationRecords,
    premis_events,
    premis_xml,
    preservation_records,
)
from tests.fakes.archives import InMemoryArchiveRepository
from tests.fakes.repository import InMemoryRepository
from tests.support.export_views import UUID, sample_view

XSD = Path(__file__).resolve().parents[1] / "data" / "premis" / "premis-v3-0.xsd"
BASE = "s3://field-data"
NS = {"p": NAMESPACE}
T0 = 1714560000.0


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def _archive(**changes: object) -> Archive:
    steps = {name: StepState(model.SUCCEEDED, 1, T0 + 100 + n, T0 + 101 + n) for n, name in enumerate(model.STEPS)}
    archive = Archive(
        archive_id="ar-0123456789abcdef01234567",
        dataset_uuid=UUID,
        content_hash="c1",
        source_uri=f"{BASE}/{UUID}",
        base_uris=(BASE,),
        requested_by="carol",
        requested_at=T0 + 100,
        updated_at=T0 + 200,
        status=model.ARCHIVED,
        steps=steps,
        aip_uri=f"s3://catalogue-archive/aips/{UUID}/ar-0123456789abcdef01234567/",
        fixity={"checked_at": T0 + 900, "ok": True, "files_checked": 3, "mismatches": []},
    )
    return replace(archive, **changes)  # type: ignore[arg-type]


def _log() -> list[AuditEntry]:
    subject = dataset_subject(UUID, BASE)
    return [
        AuditEntry(f"dataset:{UUID}:v1:0", "dataset", UUID, "add", T0, "bob", {}, subject),
        AuditEntry(f"dataset:{UUID}:v2:0", "dataset", UUID, "edit", T0 + 50, "bob", {}, subject),
        AuditEntry(f"dataset:{UUID}:v3:0", "replica", "s3://mirror/x", "add", T0 + 60, "bob", {}, subject),
        AuditEntry(f"dataset:{UUID}:v4:0", "replica", "s3://mirror/x", "delete", T0 + 70, "dave", {}, subject),
        # a past fixity failure (the archive record keeps only the latest audit)
        AuditEntry(
            "archive#ar-0123456789abcdef01234567:v9",
            "archive",
            "ar-0123456789abcdef01234567",
            "edit",
            T0 + 500,
            "fixity-audit",
            {"status": "fixity_failed", "mismatches": ["x"]},
            subject,
        ),
        # an archive's own entries are told by its record, not twice
        AuditEntry(
            "archive#ar-0123456789abcdef01234567:v1",
            "archive",
            "ar-0123456789abcdef01234567",
            "add",
            T0 + 100,
            "carol",
            {},
            subject,
        ),
    ]


def _records(names_people: bool = True, log: bool = True) -> PreservationRecords:
    return PreservationRecords(tuple(_log()) if log else None, (_archive(),), names_people)


def _types(document: bytes) -> list[str]:
    root = ET.fromstring(document)
    return [e.get("valueURI", "").rsplit("/", 1)[-1] for e in root.iterfind("p:event/p:eventType", NS)]


def test_the_document_is_valid_premis_3(schema: xmlschema.XMLSchema) -> None:
    document = premis_xml(sample_view(doi="10.1234/abcd"), _records())
    schema.validate(document.decode())  # raises with the reason when invalid


def test_dropping_a_required_element_makes_it_invalid(schema: xmlschema.XMLSchema) -> None:
    # the schema check bites: an event without its eventDateTime is not PREMIS
    root = ET.fromstring(premis_xml(sample_view(), _records()))
    event = root.find("p:event", NS)
    assert event is not None
    when = event.find("p:eventDateTime", NS)
    assert when is not None
    event.remove(when)
    assert not schema.is_valid(ET.tostring(root, encoding="unicode"))


def test_events_from_the_log_and_the_archive_oldest_first() -> None:
    assert _types(premis_xml(sample_view(), _records())) == [
        "ing",  # registered
        "mem",  # edited
        "rep",  # a replica added
        "del",  # a replica removed
        "ins",  # archive requested
        "val",
        "ipc",
        "tra",
        "fix",  # verify
        "ine",  # register
        "fix",  # the past fixity failure from the log
        "fix",  # the latest periodic audit, from the record
    ]


def test_an_event_says_type_time_outcome_agent_and_object() -> None:
    root = ET.fromstring(premis_xml(sample_view(), _records()))
    failure = [
        e
        for e in root.iterfind("p:event", NS)
        if e.findtext("p:eventDateTime", namespaces=NS) == "2024-05-01T10:48:20Z"
    ]
    assert len(failure) == 1
    event = failure[0]
    assert event.find("p:eventType", NS).get("valueURI") == f"{EVENT_TYPES}/fix"  # type: ignore[union-attr]
    outcome = event.find("p:eventOutcomeInformation/p:eventOutcome", NS)
    assert outcome is not None and outcome.text == "failure" and outcome.get("valueURI", "").endswith("/fai")
    assert event.findtext("p:linkingAgentIdentifier/p:linkingAgentIdentifierValue", namespaces=NS) == "fixity-audit"
    objects = [
        o.findtext("p:linkingObjectIdentifierValue", namespaces=NS)
        for o in event.iterfind("p:linkingObjectIdentifier", NS)
    ]
    assert objects == [UUID, "ar-0123456789abcdef01234567"]
    agents = {
        a.findtext("p:agentName", namespaces=NS): a.findtext("p:agentType", namespaces=NS)
        for a in root.iterfind("p:agent", NS)
    }
    assert agents == {
        "bob": "person",
        "dave": "person",
        "carol": "person",
        "archive-worker": "software",
        "fixity-audit": "software",
    }


def test_a_failed_step_is_a_failure_with_its_error(schema: xmlschema.XMLSchema) -> None:
    steps = dict(_archive().steps)
    steps["validate"] = StepState(model.STEP_FAILED, 3, T0 + 100, T0 + 101, "item data/x.csv: gone \x07")
    steps.update({name: StepState() for name in model.STEPS[1:]})
    records = PreservationRecords(None, (_archive(status=model.FAILED, steps=steps, fixity={}, aip_uri=""),), False)
    document = premis_xml(sample_view(), records)
    schema.validate(document.decode())
    assert _types(document) == ["ing", "ins", "val"]
    assert b"failed after 3 attempts: item data/x.csv: gone \xef\xbf\xbd" in document


def test_a_caller_without_the_log_sees_no_log_and_no_person() -> None:
    document = premis_xml(sample_view(), _records(names_people=False, log=False))
    assert _types(document) == ["ing", "ins", "val", "ipc", "tra", "fix", "ine", "fix"]
    for name in (b"bob", b"dave", b"carol", b"s3://mirror/x"):
        assert name not in document
    assert b"archive-worker" in document


def _user(name: str, search: set[str] | None = None, register: set[str] | None = None) -> User:
    return User(name, search_base_uris=frozenset(search or ()), register_base_uris=frozenset(register or ()))


@pytest.mark.parametrize(
    ("user", "log", "archives", "names"),
    [
        (_user("reg", register={BASE}, search={BASE}), True, 1, True),
        (User("admin", is_admin=True), True, 1, True),
        (_user("reader", search={BASE}), False, 1, False),
        # a project member sees the entry (and so may export it) but not its archives
        (User("member", projects=frozenset({"p1"})), False, 0, False),
    ],
)
def test_records_are_read_as_far_as_the_caller_may_see(user: User, log: bool, archives: int, names: bool) -> None:
    repo, store = InMemoryRepository(), InMemoryArchiveRepository()
    repo.append_audit(_log())
    store.create(_archive())
    store.create(_archive(archive_id="ar-other", base_uris=("s3://elsewhere",)))  # another entry's
    records = preservation_records(user, sample_view(base_uri=BASE, project="p1"), repo, store)
    assert (records.log is not None, len(records.archives), records.names_people) == (log, archives, names)
    if log:
        assert records.log is not None and len(records.log) == len(_log())


def test_every_event_has_an_identifier_of_its_own() -> None:
    events = premis_events(sample_view(), _records())
    assert len({e.event_id for e in events}) == len(events)


def test_the_fixity_auditor_is_the_one_the_audit_writes_as() -> None:
    from chalicelib.archive import fixity
    from chalicelib.exports import premis

    assert premis.AUDITOR == fixity.AUDITOR
