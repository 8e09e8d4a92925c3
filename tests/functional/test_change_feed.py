"""The change feed through the HTTP API (functional tier): what the stream consumers publish
when a dataset is registered, edited, archived and deleted, a project made, changed and
deleted, and a submission published, on the in-memory bus and, as the local stack wires it,
on moto's EventBridge with a rule to the queue ``catalogue-events``."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from chalicelib import bootstrap, resources
from chalicelib.composition import install, root
from chalicelib.config import Settings
from tests.fakes.events import InMemoryEventBus
from tests.functional.conftest import BUCKET_A, Api, add_personas, running_api
from tests.functional.test_archives import ASL
from tests.functional.test_datasets import register, replay_streams
from tests.functional.test_submissions_api import XML, S, xml
from tests.support.data import registration
from tests.support.tokens import TokenMint

SOURCE = "catalogue.test"  # the stage of the functional tier's settings


@pytest.fixture
def feed(api: Api) -> InMemoryEventBus:
    """The in-memory bus, as the change feed's bus of the running app."""
    bus = InMemoryEventBus()
    install(root().rewired(events=bus))
    return bus


@pytest.fixture
def archiving(personas: Api) -> Api:
    """The personas, with the archival state machine created (execution is off in mock_aws)."""
    arn = bootstrap.create_archive_state_machine(root(), ASL)
    install(root().rewired(replace(root().settings, archive_state_machine_arn=arn)))
    return personas


def lifecycle(api: Api) -> dict[str, Any]:
    """Register a dataset on bucket-a, edit its description, delete its only replica."""
    body = registration(base_uri=BUCKET_A)
    uuid = body["uuid"]
    assert api.post("/datasets", body, user="champion").status_code == 201
    r = api.patch(f"/datasets/{uuid}", {"description": "edited", "version": 1}, user="champion")
    assert r.status_code == 200, r.body
    r = api.delete(f"/datasets/{uuid}/replicas?uri={body['uri']}", user="champion")
    assert r.status_code == 200 and r.json_body["dataset_deleted"] is True, r.body
    return body


def test_registering_editing_and_deleting_a_dataset_publish_three_events_in_order(
    personas: Api, feed: InMemoryEventBus
) -> None:
    body = lifecycle(personas)
    published = list(feed.published)
    assert [(e.source, e.detail_type, e.detail["version"]) for e in published] == [
        (SOURCE, "dataset.registered", 1),
        (SOURCE, "dataset.updated", 2),
        (SOURCE, "dataset.removed", 3),
    ]
    assert {(e.detail["uuid"], e.detail["base_uri"], e.detail["uri"]) for e in published} == {
        (body["uuid"], BUCKET_A, body["uri"])
    }
    registered, updated, _ = published
    assert (registered.detail["name"], registered.detail["tags"]) == (body["name"], sorted(body["tags"]))
    assert updated.detail["description"] == "edited"
    # what only the README, annotations and manifest say, and who made the changes: never in an event
    text = json.dumps([e.detail for e in published])
    for hidden in ("Soil moisture monitoring", "TDR-100", "Rothamsted", "probe_01", "champion"):
        assert hidden not in text


def test_a_redelivered_stream_publishes_the_same_ids_again(personas: Api, feed: InMemoryEventBus) -> None:
    lifecycle(personas)
    first = [e.detail["id"] for e in feed.published]
    replay_streams(personas)
    assert [e.detail["id"] for e in feed.published[len(first) :]] == first


def test_an_archive_reaching_its_end_is_announced(archiving: Api, feed: InMemoryEventBus) -> None:
    uuid = register(archiving)["uuid"]
    r = archiving.post(f"/datasets/{uuid}/archive", {}, user="champion")
    assert r.status_code == 202, r.body
    records = root().archive_records
    requested = records.get(json.loads(r.body)["id"])
    assert requested is not None
    # what the workflow's last step saves (the workflow itself runs in tests/e2e)
    done = replace(
        requested,
        status="archived",
        version=requested.version + 1,
        updated_at=requested.updated_at + 1,
        aip_uri="s3://catalogue-archive/aips/x/",
    )
    records.save(done, requested.version)
    archiving.sync()
    assert [e.detail_type for e in feed.published] == ["dataset.registered", "archive.completed"]
    completed = feed.published[1].detail
    assert (completed["archive_id"], completed["uuid"], completed["base_uri"], completed["aip_uri"]) == (
        done.archive_id,
        uuid,
        BUCKET_A,
        done.aip_uri,
    )


def test_a_projects_creation_change_and_deletion_are_announced_by_id_only(api: Api, feed: InMemoryEventBus) -> None:
    made = api.post("/projects", {"title": "Permafrost cores"})
    assert made.status_code == 201, made.body
    project = made.json_body["_id"]
    assert api.patch(f"/projects/{project}", {"description": "2 m cores", "version": 1}).status_code == 200
    assert api.delete(f"/projects/{project}").status_code == 204
    assert [(e.detail_type, e.detail["project"], e.detail["kind"]) for e in feed.published] == [
        ("project.created", project, "order"),
        ("project.updated", project, "order"),
        ("project.deleted", project, "order"),
    ]
    assert "Permafrost" not in json.dumps([e.detail for e in feed.published])


def test_publishing_a_submission_announces_it_and_its_dataset(api: Api, feed: InMemoryEventBus) -> None:
    assert api.post("/users", {"username": "alice"}).status_code == 201
    r = api.post(f"{S}/folders", {"name": "Glacier forefields", "description": "soil metagenomes"}, user="alice")
    assert r.status_code == 201, r.body
    folder = r.json_body["folderId"]
    r = api.call("POST", f"{S}/drafts/study?folder={folder}", "alice", headers=XML, raw=xml("study"))
    assert r.status_code == 201, r.body
    assert feed.published == []  # drafts are nobody's business but the folder's
    assert api.call("PATCH", f"{S}/publish/{folder}", "alice").status_code == 200
    by_type = {e.detail_type: e.detail for e in feed.published}
    assert sorted(by_type) == ["dataset.registered", "submission.published"]
    published, registered = by_type["submission.published"], by_type["dataset.registered"]
    assert (published["folder"], published["base_uri"]) == (folder, "file://submissions")
    assert (registered["base_uri"], registered["kind"], registered["project"]) == (
        "file://submissions",
        "submission",
        published["project"],
    )


def test_the_local_stacks_queue_receives_the_catalogues_events(settings: Settings, mint: TokenMint) -> None:
    with running_api(replace(settings, event_bus_name=resources.EVENT_BUS), mint) as api:
        add_personas(api)
        body = lifecycle(api)
        sqs = root().aws_client("sqs")
        url = sqs.get_queue_url(QueueName=resources.LOCAL_EVENTS_QUEUE)["QueueUrl"]
        received: list[dict[str, Any]] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            received += [json.loads(m["Body"]) for m in messages]
    assert sorted((m["detail"]["version"], m["detail-type"]) for m in received) == [
        (1, "dataset.registered"),
        (2, "dataset.updated"),
        (3, "dataset.removed"),
    ]
    assert {(m["source"], m["detail"]["uuid"]) for m in received} == {(SOURCE, body["uuid"])}
