"""DOIs (chalicelib.catalogue.dois) over the in-memory repository, DOI store and DataCite (with
DataCite's state rules): who may, the states a DOI goes through, idempotent retries, what the
stream consumer keeps in step, and the audit entries of each change."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.adapters.dynamodb.dois import DoiItem, record_from_image
from chalicelib.adapters.dynamodb.repository import DynamoRepository
from chalicelib.catalogue.dois import (
    DELETED,
    DoiRecord,
    DoiService,
    doi_changes,
    event_to,
    target_state,
)
from chalicelib.catalogue.streams import DOI_METRIC_NAMESPACE, StreamProcessor
from chalicelib.domain import INCOMPLETE, BaseUri, Dataset, DatasetContent, Replica, User
from chalicelib.errors import Conflict, DoisNotConfigured, DoisUnavailable, Forbidden, InvalidRecord, NotFound
from tests.fakes.datacite import InMemoryDataCite
from tests.fakes.dois import InMemoryDoiStore
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.unit.test_facility_audit import stream_record
from tests.unit.test_stream_feed import ImageRepository, image

T0 = 1_767_000_000.0
BASE = "s3://lab-data"
OTHER = "s3://lab-copies"
UUID = "1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"
DOI = f"10.5072/{UUID}"
ADMIN = User(username="admin", is_admin=True)
REGISTRAR = User(username="registrar", register_base_uris=frozenset({BASE}), search_base_uris=frozenset({BASE}))
READER = User(username="reader", search_base_uris=frozenset({BASE}))
OUTSIDER = User(username="outsider", search_base_uris=frozenset({"s3://elsewhere"}))


def entry(base_uri: str = BASE, version: int = 1, **changes: Any) -> Dataset:
    content = DatasetContent(
        uuid=UUID,
        name="Bodenfeuchte Lindenberg",
        creator_username="registrar",
        created_at=T0,
        frozen_at=T0,
        description="Soil moisture, autumn 2026",
        tags=("soil",),
    )
    dataset = Dataset(
        content=content,
        replicas=(Replica(f"{base_uri}/{UUID}", base_uri, T0, "registrar"),),
        version=version,
        registered_at=T0,
        updated_at=T0 + version,
        updated_by="registrar",
        base_uri=base_uri,
    )
    return replace(dataset, **changes)


class World:
    def __init__(
        self, *, public: bool = False, configured: bool = True, repo: InMemoryRepository | None = None
    ) -> None:
        self.repo = repo or InMemoryRepository()
        self.repo.save_base_uri(BaseUri(BASE, T0, public=public), None)
        self.repo.save_dataset(entry(), None)
        self.store = InMemoryDoiStore()
        self.datacite = InMemoryDataCite("10.5072")
        self.service = DoiService(
            self.repo,
            self.store,
            self.datacite if configured else None,
            landing_url=lambda uuid: f"https://catalogue.example.org/#/datasets/{uuid}",
            publisher="Lab catalogue",
            clock=lambda: T0 + 100,
        )

    def set_public(self, public: bool, by: str = "admin") -> BaseUri:
        record = self.repo.get_base_uri(BASE)
        assert record is not None
        changed = replace(record, public=public, version=record.version + 1, updated_by=by)
        self.repo.save_base_uri(changed, record.version)
        return changed

    def update_entry(self, **changes: Any) -> Dataset:
        current = self.repo.get_dataset(UUID, BASE)
        assert current is not None
        changed = replace(current, version=current.version + 1, **changes)
        self.repo.save_dataset(changed, current.version)
        return changed


# -- the rules ----------------------------------------------------------------------------------


def test_the_target_state_follows_publication_the_base_uri_and_removal() -> None:
    assert target_state(False, True, True) == "draft"
    assert target_state(True, True, True) == "findable"
    assert target_state(True, True, False) == "registered"
    assert target_state(True, False, True) == "registered"


def test_each_move_has_its_event_and_none_leads_back_to_draft() -> None:
    assert event_to("draft", "findable") == "publish"
    assert event_to("registered", "findable") == "publish"
    assert event_to("draft", "registered") == "register"
    assert event_to("findable", "registered") == "hide"
    assert event_to("findable", "findable") is None
    assert event_to("registered", "draft") is None


# -- requests -----------------------------------------------------------------------------------


def test_a_registrar_makes_a_draft_once() -> None:
    world = World()
    record, created = world.service.draft(REGISTRAR, UUID)
    assert created and record["doi"] == DOI and record["state"] == "draft" and not record["published"]
    assert world.datacite.state_of(DOI) == "draft"
    again, created_again = world.service.draft(REGISTRAR, UUID)
    assert not created_again and again == record
    assert [c[0] for c in world.datacite.calls] == ["POST"]
    attributes = world.datacite.get(DOI).attributes
    assert attributes["titles"] == [{"title": "Bodenfeuchte Lindenberg"}]
    assert attributes["url"] == f"https://catalogue.example.org/#/datasets/{UUID}"


def test_a_create_whose_answer_is_lost_and_is_retried_makes_one_doi() -> None:
    world = World()
    world.datacite.lose_answers = 1
    with pytest.raises(DoisUnavailable):
        world.service.draft(REGISTRAR, UUID)
    assert world.store.get(UUID) is None and world.datacite.state_of(DOI) == "draft"
    record, created = world.service.draft(REGISTRAR, UUID)
    assert created and record["state"] == "draft"
    assert list(world.datacite.registry.dois) == [DOI]
    assert [c[0] for c in world.datacite.calls] == ["POST", "POST", "GET"]


def test_publishing_under_a_base_uri_that_is_not_public_ends_registered() -> None:
    world = World(public=False)
    world.service.draft(REGISTRAR, UUID)
    record = world.service.publish(REGISTRAR, UUID)
    assert (record["state"], record["published"]) == ("registered", True)
    assert world.datacite.state_of(DOI) == "registered"
    assert world.datacite.calls[-1] == ("PUT", DOI, "register")


def test_publishing_under_a_public_base_uri_makes_it_findable_and_again_changes_nothing() -> None:
    world = World(public=True)
    world.service.draft(REGISTRAR, UUID)
    assert world.service.publish(REGISTRAR, UUID)["state"] == "findable"
    saves = len(world.store.saves)
    assert world.service.publish(ADMIN, UUID)["state"] == "findable"
    assert len(world.store.saves) == saves  # nothing changed: no write, no audit entry
    assert world.datacite.calls[-1] == ("PUT", DOI, None)


def test_a_publish_whose_answer_is_lost_is_retried_to_the_same_state() -> None:
    world = World(public=True)
    world.service.draft(REGISTRAR, UUID)
    world.datacite.lose_answers = 1
    with pytest.raises(DoisUnavailable):
        world.service.publish(REGISTRAR, UUID)
    record = world.store.get(UUID)
    assert record is not None and record.state == "draft"  # the record did not follow
    assert world.service.publish(REGISTRAR, UUID)["state"] == "findable"
    assert world.datacite.state_of(DOI) == "findable"


def test_the_base_uri_published_and_withdrawn_makes_the_doi_findable_then_hidden() -> None:
    world = World(public=False)
    world.service.draft(REGISTRAR, UUID)
    world.service.publish(REGISTRAR, UUID)
    assert world.service.base_uri_changed(world.set_public(True)) == 1
    assert world.datacite.state_of(DOI) == "findable"
    assert world.service.base_uri_changed(world.set_public(True)) == 0  # redelivered: nothing to do
    assert world.service.base_uri_changed(world.set_public(False, by="curator")) == 1
    assert world.datacite.state_of(DOI) == "registered"
    record = world.store.get(UUID)
    assert record is not None and (record.state, record.action, record.updated_by) == ("registered", "hide", "curator")


def test_a_draft_is_not_published_by_the_base_uri() -> None:
    world = World(public=False)
    world.service.draft(REGISTRAR, UUID)
    assert world.service.base_uri_changed(world.set_public(True)) == 0
    assert world.datacite.state_of(DOI) == "draft"


def test_a_changed_record_is_sent_once_per_version_and_a_removed_dataset_is_hidden() -> None:
    world = World(public=True)
    world.service.draft(REGISTRAR, UUID)
    world.service.publish(REGISTRAR, UUID)
    renamed = world.update_entry(content=replace(entry().content, name="Soil moisture"))
    assert world.service.dataset_changed(renamed)
    assert world.datacite.get(DOI).attributes["titles"] == [{"title": "Soil moisture"}]
    calls = len(world.datacite.calls)
    assert not world.service.dataset_changed(renamed)  # the same version again: nothing sent
    assert len(world.datacite.calls) == calls
    removed = world.update_entry(deleted=True, updated_by="remover")
    assert world.service.dataset_changed(removed)
    assert world.datacite.state_of(DOI) == "registered"
    record = world.store.get(UUID)
    assert record is not None and (record.action, record.updated_by) == ("hide", "remover")


def test_an_entry_under_another_base_uri_is_not_the_doi_s() -> None:
    world = World(public=True)
    world.service.draft(REGISTRAR, UUID)
    assert not world.service.dataset_changed(entry(OTHER, version=5))


def test_only_a_draft_is_deleted() -> None:
    world = World(public=True)
    world.service.draft(REGISTRAR, UUID)
    world.service.delete_draft(REGISTRAR, UUID)
    record = world.store.get(UUID)
    assert record is not None and (record.state, record.action) == (DELETED, "delete")
    assert world.datacite.state_of(DOI) is None
    with pytest.raises(NotFound):
        world.service.get(REGISTRAR, UUID)
    made, created = world.service.draft(REGISTRAR, UUID)  # a new draft after a deleted one
    assert created and made["version"] == record.version + 1
    world.service.publish(REGISTRAR, UUID)
    with pytest.raises(Conflict):
        world.service.delete_draft(ADMIN, UUID)
    assert world.datacite.state_of(DOI) == "findable"


def test_a_delete_whose_answer_was_lost_is_retried() -> None:
    world = World()
    world.service.draft(REGISTRAR, UUID)
    world.datacite.lose_answers = 1
    with pytest.raises(DoisUnavailable):
        world.service.delete_draft(REGISTRAR, UUID)
    world.service.delete_draft(REGISTRAR, UUID)
    record = world.store.get(UUID)
    assert record is not None and record.state == DELETED


def test_readers_read_and_are_refused_the_rest_outsiders_learn_nothing() -> None:
    world = World()
    with pytest.raises(NotFound):
        world.service.get(READER, UUID)  # no DOI yet
    world.service.draft(REGISTRAR, UUID)
    assert world.service.get(READER, UUID)["doi"] == DOI
    for refused in (world.service.draft, world.service.publish, world.service.delete_draft):
        with pytest.raises(Forbidden):
            refused(READER, UUID)
        with pytest.raises(NotFound) as outsider:
            refused(OUTSIDER, UUID)
        assert str(outsider.value) == f"no dataset {UUID}"
    with pytest.raises(NotFound) as read:
        world.service.get(OUTSIDER, UUID)
    assert str(read.value) == f"no dataset {UUID}"


def test_an_upload_not_registered_gets_no_doi() -> None:
    world = World()
    world.update_entry(status=INCOMPLETE)
    with pytest.raises(NotFound):
        world.service.draft(REGISTRAR, UUID)


def test_a_doi_names_one_entry_of_its_uuid() -> None:
    world = World()
    world.repo.save_dataset(entry(OTHER), None)
    world.service.draft(REGISTRAR, UUID)
    with pytest.raises(Conflict):
        world.service.draft(ADMIN, UUID, OTHER)
    with pytest.raises(NotFound):
        world.service.publish(ADMIN, UUID, OTHER)
    assert world.service.publish(ADMIN, UUID, BASE)["state"] == "registered"


def test_without_datacite_a_request_is_authorized_then_refused_as_not_configured() -> None:
    world = World(configured=False)
    with pytest.raises(NotFound):
        world.service.draft(OUTSIDER, UUID)
    with pytest.raises(Forbidden):
        world.service.draft(READER, UUID)
    with pytest.raises(DoisNotConfigured):
        world.service.draft(REGISTRAR, UUID)


def test_datacite_refusing_the_record_is_a_422_naming_its_reasons() -> None:
    world = World()
    world.service = DoiService(
        world.repo, world.store, world.datacite, landing_url=lambda uuid: "not a url", publisher="Lab"
    )
    world.service.draft(REGISTRAR, UUID)
    with pytest.raises(InvalidRecord) as refused:
        world.service.publish(REGISTRAR, UUID)
    assert any("url" in message for message in refused.value.errors["datacite"])
    assert world.datacite.state_of(DOI) == "draft"


# -- audit --------------------------------------------------------------------------------------


def record(**changes: Any) -> DoiRecord:
    base = DoiRecord(UUID, BASE, DOI, "draft", False, 1, 1, "registrar", T0, "draft")
    return replace(base, **changes)


def test_each_change_of_a_doi_is_one_entry_in_the_dataset_s_log() -> None:
    [made] = doi_changes(None, record())
    assert (made.subject, made.entity_type, made.entity_id, made.action, made.actor, made.timestamp) == (
        f"dataset#{UUID}@{BASE}",
        "doi",
        DOI,
        "draft",
        "registrar",
        T0,
    )
    published = record(state="findable", published=True, version=2, updated_by="admin", action="publish")
    [entry_] = doi_changes(record(), published)
    assert (entry_.action, entry_.actor, entry_.value["state"]) == ("publish", "admin", "findable")
    assert entry_.entry_id != made.entry_id
    assert doi_changes(published, published) == []


def doi_image(r: DoiRecord) -> dict[str, Any]:
    item = DoiItem(
        "DOI",
        r.uuid,
        base_uri=r.base_uri,
        doi=r.doi,
        state=r.state,
        published=r.published,
        metadata_version=r.metadata_version,
        version=r.version,
        updated_by=r.updated_by,
        updated_at=r.updated_at,
        action=r.action,
    )
    serialized: dict[str, Any] = item.serialize()
    return serialized


def test_the_access_stream_audits_doi_records_once() -> None:
    repo = InMemoryRepository()
    processor = StreamProcessor(cast("DynamoRepository", repo), InMemorySearchIndex())
    published = record(state="registered", published=True, version=2, updated_by="admin", action="register")
    assert record_from_image(doi_image(published)) == published
    batch = [
        stream_record("INSERT", None, doi_image(record())),
        stream_record("MODIFY", doi_image(record()), doi_image(published)),
    ]
    assert processor.process_access(batch) == 2
    assert processor.process_access(batch) == 2  # redelivered: the same ids, written once
    entries, _ = repo.list_audit(f"dataset#{UUID}@{BASE}", 10, None)
    assert [(e.action, e.actor) for e in entries] == [("draft", "registrar"), ("register", "admin")]


def test_the_datasets_stream_keeps_the_doi_in_step_and_the_reconcile_sends_what_datacite_missed() -> None:
    repo = ImageRepository()
    world = World(public=True, repo=repo)
    world.service.draft(REGISTRAR, UUID)
    world.service.publish(REGISTRAR, UUID)
    metrics: list[str] = []
    processor = StreamProcessor(
        cast("DynamoRepository", repo), InMemorySearchIndex(), stage="test", dois=world.service, metrics=metrics.append
    )
    old = repo.get_dataset(UUID, BASE)
    assert old is not None
    new = world.update_entry(content=replace(old.content, name="Soil moisture"))
    batch = [stream_record("MODIFY", image(old), image(new))]
    world.datacite.unavailable = True
    assert processor.process_datasets(batch) == 1  # indexed: DataCite down holds nothing up
    [line] = [json.loads(m) for m in metrics]
    assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == DOI_METRIC_NAMESPACE and line["SyncFailures"] == 1
    assert world.service.reconcile() == {"checked": 1, "sent": 0, "failed": 1}  # still down
    world.datacite.unavailable = False
    assert world.service.reconcile() == {"checked": 1, "sent": 1, "failed": 0}
    assert world.datacite.get(DOI).attributes["titles"] == [{"title": "Soil moisture"}]
    assert world.service.reconcile() == {"checked": 1, "sent": 0, "failed": 0}  # in step: nothing sent


def test_the_reconcile_sends_a_base_uri_s_publication_that_datacite_missed() -> None:
    world = World(public=False)
    world.service.draft(REGISTRAR, UUID)
    world.service.publish(REGISTRAR, UUID)
    world.set_public(True)  # the stream's call to DataCite was lost
    assert world.datacite.state_of(DOI) == "registered"
    calls = len(world.datacite.calls)
    assert world.service.reconcile() == {"checked": 1, "sent": 1, "failed": 0}
    assert world.datacite.state_of(DOI) == "findable"
    assert world.service.reconcile()["sent"] == 0 and len(world.datacite.calls) == calls + 1


def test_the_reconcile_without_datacite_does_nothing() -> None:
    world = World(configured=False)
    assert world.service.reconcile() == {"checked": 0, "sent": 0, "failed": 0}
