"""Concurrent edits of every domain's editable records, through the HTTP API (issue 22, "T2").

:mod:`tests.e2e.test_concurrency` races writers on the catalogue's own datasets. Here the same
race runs on the records of the other domains: WRITERS clients (each its own session) send an
edit of one record at the same time, ROUNDS times.

- Where an edit names the version it is based on (the catalogue-style routes: ``/projects``
  and their datasets, ``/collections``, ``/submissions/folders``: a body ``version``), the
  writers of a round all send the version they read: exactly one wins (200), the others get
  409 ``VersionConflict``; the record ends at its first version + ROUNDS, holding what the
  last winner wrote.
- Where it names none, because the API it imitates has none (the Data Tracker's ``/api/v1``
  PATCH, myMdC's PUT, metadata-submitter's folder PATCH), every edit is applied as by the
  originals (last writer wins): every answer is 2xx, each edit is one version of the record
  and in its history (nothing lost), and the record ends holding one of the last round's
  values. (Measured before the services re-applied a lost edit: 1 to 7 of the 8 writers of a
  round were answered 409, which the originals' clients take for a failure.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from chalicelib.retries import MAX_WRITE_ATTEMPTS
from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, persona, scale, unique, wait_for

WRITERS = 8
ROUNDS = scale(10, 50)
MYMDC = "/mymdc/api"
SUBMITTER = "/submitter"
BEGIN = "2024-01-15T08:00:00.000+01:00"

Send = Callable[[Client, str], requests.Response]


@pytest.fixture(scope="module")
def admin(stack: LocalStack) -> Client:
    return persona(stack, "admin", admin=True)


@pytest.fixture(scope="module")
def writers(stack: LocalStack, admin: Client) -> Iterator[list[Client]]:
    clients = [Client(stack, "admin") for _ in range(WRITERS)]
    yield clients
    for c in clients:
        c.session.close()


def race(writers: list[Client], send: Send, round_no: int) -> list[tuple[str, requests.Response]]:
    """Every writer sends its own value at once: ``(value, answer)`` in writer order."""
    values = [f"round {round_no} writer {n}" for n in range(len(writers))]
    with ThreadPoolExecutor(WRITERS) as pool:
        answers = list(pool.map(send, writers, values))
    return list(zip(values, answers, strict=True))


def _json(r: requests.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


def one_wins_each_round(
    writers: list[Client], send: Callable[[Client, str, int], requests.Response], start: int
) -> tuple[int, str]:
    """ROUNDS races of versioned edits, each from the version the last one left: exactly one
    200 and WRITERS - 1 409 ``VersionConflict`` per round. ``(final version, last winner's value)``."""
    version, last = start, ""
    for round_no in range(ROUNDS):

        def edit(c: Client, value: str, at: int = version) -> requests.Response:
            return send(c, value, at)

        answers = race(writers, edit, round_no)
        codes = sorted(r.status_code for _, r in answers)
        assert codes == [200] + [409] * (WRITERS - 1), (round_no, [(r.status_code, r.text[:200]) for _, r in answers])
        for _, r in answers:
            if r.status_code == 409:
                body = _json(r)
                assert isinstance(body, dict) and body.get("Code") == "VersionConflict", r.text
                assert body.get("CurrentVersion", version + 1) == version + 1, r.text
        last = next(v for v, r in answers if r.status_code == 200)
        version += 1
    return version, last


def writers_race_without_versions(writers: list[Client], send: Send) -> tuple[int, list[str], list[str]]:
    """ROUNDS races of edits that name no version: as in the APIs these imitate, every edit
    is applied (the services re-read and re-apply an edit that lost the race at the store,
    up to MAX_WRITE_ATTEMPTS times: WRITERS rivals never outlast that), so every answer is
    2xx. ``(writes applied, every value written, the last round's values)``."""
    assert WRITERS <= MAX_WRITE_ATTEMPTS  # a writer loses at most once to each rival per round
    applied: list[str] = []
    last_round: list[str] = []
    for round_no in range(ROUNDS):
        answers = race(writers, send, round_no)
        seen = [(r.status_code, r.text[:200]) for _, r in answers]
        assert all(200 <= r.status_code < 300 for _, r in answers), (round_no, seen)
        last_round = [v for v, _ in answers]
        applied.extend(last_round)
    return len(applied), applied, last_round


# -- versioned: the catalogue-style routes --------------------------------------------------
def test_project_patches_from_one_version_let_exactly_one_win(admin: Client, writers: list[Client]) -> None:
    """``PATCH /projects/{uuid}`` (a Data Tracker order), its version in the body."""
    r = admin.post("/projects", {"title": unique("race-project")})
    assert r.status_code == 201, r.text
    project = r.json()
    uuid = project["_id"]

    def send(c: Client, value: str, version: int) -> requests.Response:
        return c.patch(f"/projects/{uuid}", {"description": value, "version": version})

    version, last = one_wins_each_round(writers, send, project["version"])
    got = admin.get(f"/projects/{uuid}").json()
    assert (got["version"], got["description"], got["title"]) == (version, last, project["title"])
    assert version == project["version"] + ROUNDS


def test_project_dataset_patches_from_one_version_let_exactly_one_win(admin: Client, writers: list[Client]) -> None:
    """``PATCH /projects/{uuid}/datasets/{dataset}`` (a Data Tracker dataset), its version in the body."""
    r = admin.post("/projects", {"title": unique("race-project")})
    assert r.status_code == 201, r.text
    uuid = r.json()["_id"]
    r = admin.post(f"/projects/{uuid}/datasets", {"title": unique("race-dataset")})
    assert r.status_code == 201, r.text
    dataset = r.json()

    def send(c: Client, value: str, version: int) -> requests.Response:
        return c.patch(f"/projects/{uuid}/datasets/{dataset['_id']}", {"description": value, "version": version})

    version, last = one_wins_each_round(writers, send, dataset["version"])
    got = admin.get(f"/projects/{uuid}/datasets/{dataset['_id']}").json()
    assert (got["version"], got["description"], got["title"]) == (version, last, dataset["title"])
    assert version == dataset["version"] + ROUNDS


def test_collection_patches_from_one_version_let_exactly_one_win(admin: Client, writers: list[Client]) -> None:
    """``PATCH /collections/{uuid}``, its version in the body."""
    r = admin.post("/collections", {"title": unique("race-collection")})
    assert r.status_code == 201, r.text
    collection = r.json()
    uuid = collection["_id"]

    def send(c: Client, value: str, version: int) -> requests.Response:
        return c.patch(f"/collections/{uuid}", {"description": value, "version": version})

    version, last = one_wins_each_round(writers, send, collection["version"])
    got = admin.get(f"/collections/{uuid}").json()
    assert (got["version"], got["description"], got["title"]) == (version, last, collection["title"])
    assert version == collection["version"] + ROUNDS


def test_submission_folder_patches_from_one_version_let_exactly_one_win(admin: Client, writers: list[Client]) -> None:
    """``PATCH /submissions/folders/{id}``, its version in the body."""
    r = admin.post("/submissions/folders", {"name": unique("race-folder"), "description": "start"})
    assert r.status_code == 201, r.text
    folder = r.json()
    folder_id = folder["folderId"]

    def send(c: Client, value: str, version: int) -> requests.Response:
        return c.patch(f"/submissions/folders/{folder_id}", {"description": value, "version": version})

    version, last = one_wins_each_round(writers, send, folder["version"])
    got = admin.get(f"/submissions/folders/{folder_id}").json()
    assert (got["version"], got["description"], got["name"]) == (version, last, folder["name"])
    assert version == folder["version"] + ROUNDS


# -- no version: the imitated APIs ----------------------------------------------------------
# The Data Tracker's PATCH /api/v1/order|collection/{id} has no version (the original's
# last-writer-wins); its GET shows the record's version, so every write answered 2xx is
# counted there.
@pytest.mark.parametrize("entity", ["order", "collection"])
def test_data_tracker_patches_without_version_lose_no_write(admin: Client, writers: list[Client], entity: str) -> None:
    r = admin.post(f"/api/v1/{entity}", {"title": unique(f"race-{entity}")})
    assert r.status_code == 200, r.text
    uuid = r.json()["_id"]
    start = admin.get(f"/api/v1/{entity}/{uuid}").json()[entity]

    def send(c: Client, value: str) -> requests.Response:
        return c.patch(f"/api/v1/{entity}/{uuid}", {"description": value})

    applied, _, last_round = writers_race_without_versions(writers, send)
    got = admin.get(f"/api/v1/{entity}/{uuid}").json()[entity]
    assert got["version"] == start["version"] + applied  # every 2xx is one version: none lost
    assert got["description"] in last_round
    assert got["title"] == start["title"]


# myMdC's PUT has no version (Rails' update without lock_version: last writer wins) and its
# records show none: every write answered 2xx must be an entry of the record's audit log
# (GET /facility/{kind}/{id}/log, derived from the table's stream: waited for).
def _log_values(admin: Client, kind: str, id: int, field: str) -> list[Any]:
    values: list[Any] = []
    after: str | None = None
    for _ in range(50):  # bounded: 100 entries a page, at most 1 + ROUNDS * WRITERS entries
        params: dict[str, Any] = {"limit": 100, **({"after": after} if after else {})}
        r = admin.get(f"/facility/{kind}/{id}/log", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        values.extend(e["value"][field] for e in page["entries"] if e["action"] == "edit" and field in e["value"])
        after = page.get("next")
        if not after:
            break
    return values


@pytest.fixture(scope="module")
def proposal(admin: Client) -> dict[str, Any]:
    """A proposal of its own instrument (admins change proposals), with an experiment."""
    name = unique("race")
    r = admin.post(f"{MYMDC}/instruments", {"instrument": {"name": name, "identifier": name.upper()}})
    assert r.status_code == 201, r.text
    instrument = r.json()["id"]
    r = admin.post(f"{MYMDC}/experiment_types", {"experiment_type": {"name": name}})
    assert r.status_code == 201, r.text
    experiment_type = r.json()["id"]
    made = None
    for _ in range(5):  # proposal numbers are unique across the stack: a random one, bounded retries
        number = random.randint(100_000, 999_999)
        body = {"number": number, "title": name, "instrument_id": instrument, "begin_at": BEGIN,
                "flg_proposal_system": "U"}  # fmt: skip
        made = admin.post(f"{MYMDC}/proposals", {"proposal": body})
        if made.status_code == 201:
            break
    assert made is not None and made.status_code == 201, made.text if made is not None else None
    found = made.json()
    body = {"name": "e1", "experiment_type_id": experiment_type, "proposal_id": found["id"]}
    r = admin.post(f"{MYMDC}/experiments", {"experiment": body})
    assert r.status_code == 201, r.text
    return {**found, "experiment_id": r.json()["id"]}


def _mymdc_race(admin: Client, writers: list[Client], kind: str, path: str, id: int, field: str) -> None:
    start = admin.get(f"{MYMDC}/{path}/{id}").json()

    def send(c: Client, value: str) -> requests.Response:
        return c.put(f"{MYMDC}/{path}/{id}", {kind: {field: value}}, headers={"X-User-Email": "race@example.org"})

    applied, written, last_round = writers_race_without_versions(writers, send)
    got = admin.get(f"{MYMDC}/{path}/{id}").json()
    assert got[field] in last_round
    assert {k: v for k, v in got.items() if k != field} == {k: v for k, v in start.items() if k != field}
    # nothing lost: every write answered 2xx is one edit in the record's history, and no other
    assert wait_for(lambda: len(_log_values(admin, kind, id, field)) >= applied, timeout=60, interval=0.5)
    assert sorted(_log_values(admin, kind, id, field)) == sorted(written)


def test_mymdc_proposal_puts_without_version_lose_no_write(
    admin: Client, writers: list[Client], proposal: dict[str, Any]
) -> None:
    _mymdc_race(admin, writers, "proposal", "proposals", proposal["id"], "abstract")


def test_mymdc_run_puts_without_version_lose_no_write(
    admin: Client, writers: list[Client], proposal: dict[str, Any]
) -> None:
    run = {"run_number": 1, "experiment_id": proposal["experiment_id"], "begin_at": BEGIN, "first_train": 1}
    r = admin.post(f"{MYMDC}/runs", {"run": run})
    assert r.status_code == 201, r.text
    _mymdc_race(admin, writers, "run", "runs", r.json()["id"], "description")


# metadata-submitter's folder PATCH is a JSON Patch with no version (as the original's);
# its folders show their version, so every write answered 2xx is counted there.
def test_submitter_folder_patches_without_version_lose_no_write(admin: Client, writers: list[Client]) -> None:
    r = admin.post(f"{SUBMITTER}/folders", {"name": unique("race-folder"), "description": "start"})
    assert r.status_code == 201, r.text
    folder_id = r.json()["folderId"]
    start = admin.get(f"{SUBMITTER}/folders/{folder_id}").json()

    def send(c: Client, value: str) -> requests.Response:
        return c.patch(f"{SUBMITTER}/folders/{folder_id}", [{"op": "replace", "path": "/description", "value": value}])

    applied, _, last_round = writers_race_without_versions(writers, send)
    got = admin.get(f"{SUBMITTER}/folders/{folder_id}").json()
    assert got["version"] == start["version"] + applied
    assert got["description"] in last_round
    assert got["name"] == start["name"]
