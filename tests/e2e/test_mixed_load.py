"""T3 (issue 22): a mixed load of sixteen clients on the real local stack.

Sixteen threads, each its own session and persona, send a seeded random mix of requests
(:data:`SEED`; each client its own ``random.Random``), ``scale(40, 250)`` each, or for
``CATALOGUE_LOAD_SECONDS`` seconds when that is set (``make soak``: 600):

- 2 admins: versioned edits of the shared datasets and the shared project, edits of the
  shared Data Tracker collection (no version: last writer wins), lookups, search, summary;
- 5 registrars, each of its own base URI and of the shared one: registrations (``POST
  /datasets``, dserver's ``PUT /uris/{uri}``, dtool-lookup-server's ``POST
  /dataset/register``), versioned edits of their own datasets and of the shared ones, lookups
  (ours, dserver's, dtool-lookup-server's), search, summary;
- 4 readers (search permission everywhere): lookups, search and summaries through our
  routes, dserver's (``/uris``, ``/uuids``, ``/me/summary``) and dtool-lookup-server's
  (``/dataset/lookup``, ``/dataset/search``, ``/dataset/summary``);
- 2 Data Tracker users (DATA_MANAGEMENT, ORDERS_SPECIAL): orders added and edited through
  ``/api/v1`` (no version) and ``/projects`` (versioned), datasets added to them, the shared
  project and collection edited, reads;
- 2 myMdC users, the DAQ of one instrument (register permission on its repository's base
  URI): runs added, edited (PUT, no version) and read through ``/mymdc/api``;
- 1 submitter: folders added and edited (metadata-submitter's JSON Patch, no version, and
  ``/submissions/folders`` with a version), study objects added, reads.

Asserted: no 5xx and no request without an answer; no 4xx but a 409 ``VersionConflict`` on
a versioned edit of a shared record (a stale version: another client's edit came first); no
lost or stale write: every acknowledged registration and addition is readable afterwards,
every record's version is its version at the start plus its acknowledged edits (two edits
acknowledged with the same version would be a lost one), and it holds its last acknowledged
edit (the highest version's where every edit named one; else one that no other acknowledged
edit was sent after); every registration is found by search once the index has caught up
(a bounded wait).

Latency per request kind (p50/p95/p99), throughput and the memory of each process of the
stack (VmRSS from /proc, every few seconds) are printed and written to
``build/test-output/load.json``; under ``make soak`` (CATALOGUE_SOAK=1) also to
``build/soak/report.md`` and ``report.json``, and written before anything is asserted.
"""

from __future__ import annotations

import functools
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests

from infra.local.processes import REPO_ROOT
from infra.local.stack import LocalStack
from tests.e2e.helpers import SOAK, Client, enc, persona, scale, unique, wait_for
from tests.e2e.load import (
    SHOWN,
    Ack,
    Ledger,
    Recorder,
    RssSampler,
    build_report,
    check_record,
    print_report,
    write_json,
    write_markdown,
)
from tests.support.data import registration

SEED = 20261222
REQUESTS = scale(40, 250)  # per client, unless a duration is given
DURATION = float(os.environ.get("CATALOGUE_LOAD_SECONDS") or 0)  # seconds; 0: REQUESTS each
RSS_INTERVAL = 5.0 if DURATION >= 120 else 2.0
CATCH_UP_SECONDS = 120 if DURATION or SOAK else 60
ROLES = {"admin": 2, "registrar": 5, "reader": 4, "tracker": 2, "mymdc": 2, "submitter": 1}
SHARED_DATASETS = 4
MYMDC = "/mymdc/api"
BEGIN = "2024-01-15T08:00:00.000+01:00"
EMAIL = {"X-User-Email": "load@example.org"}
LOAD_JSON = REPO_ROOT / "build" / "test-output" / "load.json"
SOAK_DIR = REPO_ROOT / "build" / "soak"

pytestmark = [pytest.mark.timeout(DURATION + 900)] if DURATION else []


@dataclass
class World:
    """What the clients share: the records everyone edits, the base URIs, the myMdC proposal."""

    admin: Client
    rec: Recorder
    ledger: Ledger
    shared_base: str
    bases: dict[str, str]  # registrar -> its own base URI
    initial: list[dict[str, str]]  # datasets registered before the load: {"uuid", "uri", "base_uri"}
    shared: list[str]  # uuids of the shared datasets
    shared_project: str
    shared_collection: str
    proposal: dict[str, Any]  # id, number, experiment_id
    start_versions: dict[str, int]  # versioned shared records' version at the start

    def datasets(self) -> list[dict[str, str]]:
        return self.initial + self.ledger.registered_snapshot()


@dataclass
class Agent:
    """One client: a persona, its session, its random mix and what it knows of its records."""

    role: str
    index: int
    client: Client
    world: World
    rng: random.Random
    own: dict[str, int] = field(default_factory=dict)  # record key -> the version it holds now
    own_ids: dict[str, list[str]] = field(default_factory=dict)  # sort -> ids of records it made
    seen: dict[str, int | None] = field(default_factory=dict)  # shared key -> last version seen
    floor: dict[str, int] = field(default_factory=dict)  # key -> the highest version known to exist
    last: dict[str, str] = field(default_factory=dict)  # own key -> its last acknowledged value
    counter: int = 0

    @property
    def name(self) -> str:
        return self.client.username

    def value(self) -> str:
        self.counter += 1
        return f"{self.name} edit {self.counter}"

    def call(self, kind: str, method: str, path: str, **kw: Any) -> requests.Response | None:
        return self.world.rec.call(self.client, kind, method, path, **kw)


def observe(agent: Agent, key: str, version: int, value: str | None = None) -> None:
    """A read of a record must not be stale: never older than a version this client knows to
    exist (its acknowledged edits, a 409's CurrentVersion, earlier reads); of its own records
    (itself the only writer) exactly the version and value of its last acknowledged edit."""
    if key in agent.own:
        wanted = agent.own[key]
        if version != wanted or (value is not None and key in agent.last and value != agent.last[key]):
            agent.world.rec.problem(
                f"{agent.name} read {key} at version {version} {value!r}: its last acknowledged edit made "
                f"{wanted} {agent.last.get(key)!r} (stale read)"
            )
    elif version < agent.floor.get(key, 0):
        agent.world.rec.problem(f"{agent.name} read {key} at version {version} after seeing {agent.floor[key]} (stale)")
    agent.floor[key] = max(agent.floor.get(key, 0), version)


def _json(r: requests.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


# -- readers of a record's (version, value), used at the start and at the end --------------
def dataset_reader(client: Client, uuid: str) -> Callable[[], tuple[int | None, str]]:
    def read() -> tuple[int | None, str]:
        d = client.get(f"/datasets/{uuid}").json()
        return int(d["version"]), str(d.get("description") or "")

    return read


def project_reader(client: Client, uuid: str) -> Callable[[], tuple[int | None, str]]:
    def read() -> tuple[int | None, str]:
        d = client.get(f"/projects/{uuid}").json()
        return int(d["version"]), str(d.get("description") or "")

    return read


def tracker_reader(client: Client, entity: str, uuid: str) -> Callable[[], tuple[int | None, str]]:
    def read() -> tuple[int | None, str]:
        d = client.get(f"/api/v1/{entity}/{uuid}").json()[entity]
        return int(d["version"]), str(d.get("description") or "")

    return read


def run_reader(client: Client, run_id: int) -> Callable[[], tuple[int | None, str]]:
    def read() -> tuple[int | None, str]:
        d = client.get(f"{MYMDC}/runs/{run_id}", headers=EMAIL).json()
        return None, str(d.get("description") or "")

    return read


def folder_reader(client: Client, folder_id: str) -> Callable[[], tuple[int | None, str]]:
    def read() -> tuple[int | None, str]:
        d = client.get(f"/submitter/folders/{folder_id}").json()
        return int(d["version"]), str(d.get("description") or "")

    return read


def track(ledger: Ledger, key: str, read: Callable[[], tuple[int | None, str]]) -> int | None:
    version, value = read()
    ledger.track(key, read, version, value)
    return version


# -- the world ------------------------------------------------------------------------------
def _ok(r: requests.Response, *codes: int) -> Any:
    assert r.status_code in (codes or (200,)), r.text
    return _json(r)


def build_world(stack: LocalStack) -> tuple[World, list[Agent]]:
    admin = persona(stack, "admin", admin=True)
    names = {role: [f"load-{role}-{n}" for n in range(count)] for role, count in ROLES.items()}
    clients = {name: persona(stack, name, admin=role in ("admin",)) for role, group in names.items() for name in group}
    word = unique("load")
    shared_base = f"s3://{word}-shared"
    bases = {r: f"s3://{word}-{r.rsplit('-', 1)[1]}" for r in names["registrar"]}
    everyone_searching = names["registrar"] + names["reader"]
    for base in (shared_base, *bases.values()):
        _ok(admin.post("/base-uris", {"base_uri": base}), 201)
    perms = {"users_with_search_permissions": everyone_searching, "users_with_register_permissions": names["registrar"]}
    _ok(admin.put(f"/base-uris/{enc(shared_base)}/permissions", perms))
    for registrar, base in bases.items():
        perms = {
            "users_with_search_permissions": [registrar, *names["reader"]],
            "users_with_register_permissions": [registrar],
        }
        _ok(admin.put(f"/base-uris/{enc(base)}/permissions", perms))

    ledger, initial = Ledger(), []
    shared = []
    for n in range(SHARED_DATASETS):
        body = registration(shared_base, name=f"{word}-shared-{n}", tags=["load", "shared"])
        _ok(admin.post("/datasets", body), 201)
        initial.append({"uuid": body["uuid"], "uri": body["uri"], "base_uri": shared_base})
        shared.append(body["uuid"])
    start_versions = {}
    for uuid in shared:
        start_versions[f"dataset {uuid}"] = track(ledger, f"dataset {uuid}", dataset_reader(admin, uuid)) or 0
    own_first: dict[str, str] = {}
    for registrar, base in bases.items():
        body = registration(base, name=f"{word}-{registrar}-first", tags=["load"])
        _ok(clients[registrar].post("/datasets", body), 201)
        initial.append({"uuid": body["uuid"], "uri": body["uri"], "base_uri": base})
        own_first[registrar] = body["uuid"]

    # Data Tracker: its users manage data and may add orders; a shared project and collection
    for name in names["tracker"]:
        _ok(admin.put(f"/users/{name}/topics", {"topics": ["DATA_MANAGEMENT", "ORDERS_SPECIAL"]}))
    project = _ok(admin.post("/projects", {"title": f"{word} shared project"}), 201)["_id"]
    start_versions[f"project {project}"] = track(ledger, f"project {project}", project_reader(admin, project)) or 0
    collection = _ok(admin.post("/api/v1/collection", {"title": f"{word} shared collection"}))["_id"]
    track(ledger, f"collection {collection}", tracker_reader(admin, "collection", collection))

    # myMdC: a repository (its base URI is the DAQ's), an instrument using it, a proposal
    ident = word.upper().replace("-", "_")
    repo = _ok(admin.post(f"{MYMDC}/repositories", {"repository": {"name": word, "identifier": ident}}), 201)
    daq_base = str(repo.get("base_uri") or f"file://mymdc/{ident}")
    perms = {"users_with_search_permissions": names["mymdc"], "users_with_register_permissions": names["mymdc"]}
    _ok(admin.put(f"/base-uris/{enc(daq_base)}/permissions", perms))
    instrument = {"name": word, "identifier": ident, "repository_id": repo["id"]}
    instrument_id = _ok(admin.post(f"{MYMDC}/instruments", {"instrument": instrument}), 201)["id"]
    experiment_type = _ok(admin.post(f"{MYMDC}/experiment_types", {"experiment_type": {"name": word}}), 201)["id"]
    made: requests.Response | None = None
    rng = random.Random(SEED)
    for _ in range(5):  # proposal numbers are unique across the stack: bounded retries
        body = {"number": rng.randint(100_000, 999_999), "title": word, "instrument_id": instrument_id,
                "begin_at": BEGIN, "flg_proposal_system": "U"}  # fmt: skip
        made = admin.post(f"{MYMDC}/proposals", {"proposal": body})
        if made.status_code == 201:
            break
    assert made is not None and made.status_code == 201, made.text if made is not None else None
    proposal = made.json()
    experiment = {"name": "e1", "experiment_type_id": experiment_type, "proposal_id": proposal["id"]}
    experiment_id = _ok(admin.post(f"{MYMDC}/experiments", {"experiment": experiment}), 201)["id"]

    # every persona sees its rights before the load starts
    def may_list_orders(client: Client) -> bool:
        return client.get("/api/v1/order").status_code == 200

    def rights(name: str, register: set[str], search: set[str]) -> bool:
        me = clients[name].get("/me").json()
        return register <= set(me["register_permissions_on_base_uris"]) and search <= set(
            me["search_permissions_on_base_uris"]
        )

    for registrar, base in bases.items():
        assert wait_for(functools.partial(rights, registrar, {base, shared_base}, {base, shared_base}), timeout=30)
    for reader in names["reader"]:
        assert wait_for(functools.partial(rights, reader, set(), {shared_base, *bases.values()}), timeout=30)
    for name in names["mymdc"]:
        assert wait_for(functools.partial(rights, name, {daq_base}, set()), timeout=30)
    for name in names["tracker"]:
        assert wait_for(functools.partial(may_list_orders, clients[name]), timeout=30)

    world = World(
        admin=admin,
        rec=Recorder(),
        ledger=ledger,
        shared_base=shared_base,
        bases=bases,
        initial=initial,
        shared=shared,
        shared_project=project,
        shared_collection=collection,
        proposal={"id": proposal["id"], "number": proposal["number"], "experiment_id": experiment_id},
        start_versions=start_versions,
    )
    agents = []
    for role, group in names.items():
        for index, name in enumerate(group):
            agent = Agent(role, index, clients[name], world, random.Random(f"{SEED}-{name}"))
            agent.seen = dict(start_versions)
            agents.append(agent)
            if role == "registrar":
                uuid = own_first[name]
                agent.own[f"dataset {uuid}"] = (
                    track(ledger, f"dataset {uuid}", dataset_reader(clients[name], uuid)) or 0
                )
                agent.own_ids["dataset"] = [uuid]
    return world, agents


# -- the operations -------------------------------------------------------------------------
def visible(agent: Agent) -> list[dict[str, str]]:
    """The datasets the agent may see: all for admins and readers, its own base URI's and the
    shared one's for a registrar."""
    every = agent.world.datasets()
    if agent.role != "registrar":
        return every
    mine = {agent.world.shared_base, agent.world.bases[agent.name]}
    return [d for d in every if d["base_uri"] in mine]


def register(agent: Agent) -> None:
    w = agent.world
    base = w.bases[agent.name]
    body = registration(base, name=f"{agent.name}-{agent.counter}", tags=["load", agent.name])
    agent.counter += 1
    how = agent.rng.choice(["ours", "dserver", "lookup-server"])
    if how == "ours":
        r = agent.call("register", "POST", "/datasets", json=body, ok=(201,))
    elif how == "dserver":
        r = agent.call("register (dserver)", "PUT", f"/uris/{quote_plus(body['uri'])}", json=body, ok=(201,))
    else:
        r = agent.call("register (lookup-server)", "POST", "/dataset/register", json=body, ok=(201,))
    if r is None or r.status_code != 201:
        return
    w.ledger.register({"uuid": body["uuid"], "uri": body["uri"], "base_uri": base, "how": how})
    # read back at once: an acknowledged registration is there for its registrar
    got = agent.call("lookup", "GET", f"/datasets/{body['uuid']}")
    if got is None or got.status_code != 200:
        return
    key = f"dataset {body['uuid']}"
    d = got.json()
    w.ledger.track(key, dataset_reader(agent.client, body["uuid"]), int(d["version"]), str(d.get("description") or ""))
    agent.own[key] = int(d["version"])
    agent.last[key] = str(d.get("description") or "")
    agent.own_ids.setdefault("dataset", []).append(body["uuid"])


def edit_own_dataset(agent: Agent) -> None:
    ids = agent.own_ids.get("dataset")
    if not ids:
        return register(agent)
    uuid = agent.rng.choice(ids)
    key, value = f"dataset {uuid}", agent.value()
    version = agent.own[key]
    sent = time.monotonic()
    r = agent.call("edit own dataset", "PATCH", f"/datasets/{uuid}", json={"description": value, "version": version})
    if r is None or r.status_code != 200:
        return
    got = _json(r) or {}
    if got.get("version") != version + 1:
        agent.world.rec.problem(f"{agent.name} PATCH /datasets/{uuid} from {version}: answered {got.get('version')}")
    agent.world.ledger.ack(key, Ack(value, version + 1, sent, time.monotonic()))
    agent.own[key] = version + 1
    agent.last[key] = value
    return None


def versioned_shared_edit(agent: Agent, key: str, kind: str, read_kind: str, path: str) -> None:
    """Edit a shared record from the version last seen (read first half the time): 200, or
    409 VersionConflict when another client's edit came first."""
    if agent.seen.get(key) is None or agent.rng.random() < 0.5:
        got = agent.call(read_kind, "GET", path)
        if got is None or got.status_code != 200:
            return
        agent.seen[key] = int(got.json()["version"])
        observe(agent, key, int(got.json()["version"]))
    version = agent.seen[key]
    assert version is not None
    value = agent.value()
    sent = time.monotonic()
    r = agent.call(kind, "PATCH", path, json={"description": value, "version": version}, tolerated=(409,))
    if r is None:
        return
    if r.status_code == 409:
        body = _json(r)
        if not (isinstance(body, dict) and body.get("Code") == "VersionConflict"):
            agent.world.rec.problem(f"{agent.name} PATCH {path}: 409 without VersionConflict: {r.text[:200]}")
        current = body.get("CurrentVersion") if isinstance(body, dict) else None
        agent.seen[key] = current if isinstance(current, int) else None
        if isinstance(current, int):
            observe(agent, key, current)
        return
    if r.status_code != 200:
        agent.seen[key] = None
        return
    answer = _json(r) or {}
    if "version" in answer and answer["version"] != version + 1:
        agent.world.rec.problem(f"{agent.name} PATCH {path} from {version}: answered version {answer['version']}")
    agent.world.ledger.ack(key, Ack(value, version + 1, sent, time.monotonic()))
    agent.seen[key] = version + 1
    observe(agent, key, version + 1)


def edit_shared_dataset(agent: Agent) -> None:
    uuid = agent.rng.choice(agent.world.shared)
    versioned_shared_edit(agent, f"dataset {uuid}", "edit shared dataset", "lookup", f"/datasets/{uuid}")


def edit_shared_project(agent: Agent) -> None:
    uuid = agent.world.shared_project
    versioned_shared_edit(agent, f"project {uuid}", "edit shared project", "tracker read", f"/projects/{uuid}")


def edit_shared_collection(agent: Agent) -> None:
    """The Data Tracker's PATCH has no version: every edit applies (last writer wins)."""
    uuid = agent.world.shared_collection
    value = agent.value()
    sent = time.monotonic()
    r = agent.call("tracker edit (api/v1)", "PATCH", f"/api/v1/collection/{uuid}", json={"description": value})
    if r is not None and r.status_code == 200:
        agent.world.ledger.ack(f"collection {uuid}", Ack(value, None, sent, time.monotonic()))


def lookup(agent: Agent) -> None:
    d = agent.rng.choice(visible(agent))
    how = agent.rng.choice(["ours", "dserver uri", "dserver uuid", "lookup-server"])
    if how == "ours":
        r = agent.call("lookup", "GET", f"/datasets/{d['uuid']}")
        got = (_json(r) or {}) if r is not None and r.status_code == 200 else {}
        found = got.get("uuid") == d["uuid"]
        if found:
            observe(agent, f"dataset {d['uuid']}", int(got["version"]), str(got.get("description") or ""))
    elif how == "dserver uri":
        r = agent.call("lookup (dserver)", "GET", f"/uris/{quote_plus(d['uri'])}")
        found = r is not None and r.status_code == 200 and (_json(r) or {}).get("uri") == d["uri"]
    else:
        path = f"/uuids/{d['uuid']}" if how == "dserver uuid" else f"/dataset/lookup/{d['uuid']}"
        r = agent.call("lookup (dserver)" if how == "dserver uuid" else "lookup (lookup-server)", "GET", path)
        found = r is not None and r.status_code == 200 and d["uri"] in [row.get("uri") for row in _json(r) or []]
    if r is not None and r.status_code == 200 and not found:
        agent.world.rec.problem(f"{agent.name} {how} lookup of {d['uri']}: not in {r.text[:300]}")


def search(agent: Agent) -> None:
    w = agent.world
    bases = [w.shared_base, *w.bases.values()] if agent.role != "registrar" else [w.shared_base, w.bases[agent.name]]
    base = agent.rng.choice(bases)
    how = agent.rng.choice(["text", "base", "dserver", "lookup-server"])
    if how == "text":
        agent.call(
            "search", "GET", "/datasets", params={"q": agent.rng.choice(["soil", "load", "plot"]), "page_size": 20}
        )
    elif how == "base":
        agent.call("search", "GET", "/datasets", params={"base_uri": base, "page_size": 20})
    elif how == "dserver":
        agent.call("search (dserver)", "POST", "/uris", params={"page_size": 20}, json={"free_text": "soil"})
    else:
        agent.call("search (lookup-server)", "POST", "/dataset/search", json={"base_uris": [base]})


def summary(agent: Agent) -> None:
    path, kind = agent.rng.choice(
        [("/datasets/summary", "summary"), ("/me/summary", "summary (dserver)"),
         ("/dataset/summary", "summary (lookup-server)")]
    )  # fmt: skip
    agent.call(kind, "GET", path)


# Data Tracker users: their own orders, by both APIs
def add_order(agent: Agent) -> None:
    r = agent.call("tracker add", "POST", "/api/v1/order", json={"title": f"{agent.name} order {agent.counter}"})
    agent.counter += 1
    if r is None or r.status_code != 200:
        return
    uuid = r.json()["_id"]
    got = agent.call("tracker read", "GET", f"/api/v1/order/{uuid}")
    if got is None or got.status_code != 200:
        return
    order = got.json()["order"]
    key = f"order {uuid}"
    read = tracker_reader(agent.client, "order", uuid)
    agent.world.ledger.track(key, read, int(order["version"]), str(order.get("description") or ""))
    agent.own[key] = int(order["version"])
    agent.last[key] = str(order.get("description") or "")
    agent.own_ids.setdefault("order", []).append(uuid)


def edit_order(agent: Agent) -> None:
    """``PATCH /api/v1/order/{id}``: no version, one writer."""
    ids = agent.own_ids.get("order")
    if not ids:
        return add_order(agent)
    uuid = agent.rng.choice(ids)
    value = agent.value()
    sent = time.monotonic()
    r = agent.call("tracker edit (api/v1)", "PATCH", f"/api/v1/order/{uuid}", json={"description": value})
    if r is not None and r.status_code == 200:
        agent.world.ledger.ack(f"order {uuid}", Ack(value, None, sent, time.monotonic()))
        agent.own[f"order {uuid}"] += 1
        agent.last[f"order {uuid}"] = value
    return None


def edit_order_versioned(agent: Agent) -> None:
    """``PATCH /projects/{id}`` of an own order from the version it holds: never a 409."""
    ids = agent.own_ids.get("order")
    if not ids:
        return add_order(agent)
    uuid = agent.rng.choice(ids)
    key, value = f"order {uuid}", agent.value()
    version = agent.own[key]
    sent = time.monotonic()
    r = agent.call(
        "tracker edit (projects)", "PATCH", f"/projects/{uuid}", json={"description": value, "version": version}
    )
    if r is not None and r.status_code == 200:
        agent.world.ledger.ack(key, Ack(value, version + 1, sent, time.monotonic()))
        agent.own[key] = version + 1
        agent.last[key] = value
    return None


def add_order_dataset(agent: Agent) -> None:
    ids = agent.own_ids.get("order")
    if not ids:
        return add_order(agent)
    uuid = agent.rng.choice(ids)
    body = {"dataset": {"title": f"{agent.name} dataset {agent.counter}"}}
    agent.counter += 1
    r = agent.call("tracker add", "POST", f"/api/v1/order/{uuid}/dataset", json=body)
    if r is not None and r.status_code == 200:
        agent.world.ledger.create(agent.client, f"/api/v1/dataset/{r.json()['_id']}")
    return None


def tracker_read(agent: Agent) -> None:
    ids = agent.own_ids.get("order") or []
    choices = [("", "/api/v1/order"), ("collection", f"/api/v1/collection/{agent.world.shared_collection}")]
    choices.append(("", "/projects"))
    if ids:
        uuid = agent.rng.choice(ids)
        choices += [("order", f"/api/v1/order/{uuid}")] * 2
    entity, path = agent.rng.choice(choices)
    r = agent.call("tracker read", "GET", path)
    if entity and r is not None and r.status_code == 200:
        got = r.json()[entity]
        observe(agent, f"{entity} {got['_id']}", int(got["version"]), str(got.get("description") or ""))


# myMdC: the DAQ adds runs to the proposal and edits them (PUT, no version)
def add_run(agent: Agent) -> None:
    p = agent.world.proposal
    agent.counter += 1
    run = {"run_number": (agent.index + 1) * 100_000 + agent.counter, "experiment_id": p["experiment_id"],
           "begin_at": BEGIN, "first_train": 1}  # fmt: skip
    r = agent.call("mymdc add run", "POST", f"{MYMDC}/runs", json={"run": run}, headers=EMAIL, ok=(201,))
    if r is None or r.status_code != 201:
        return
    made = r.json()
    key = f"run {made['id']}"
    agent.world.ledger.track(key, run_reader(agent.client, made["id"]), None, str(made.get("description") or ""))
    agent.last[key] = str(made.get("description") or "")
    agent.own_ids.setdefault("run", []).append(str(made["id"]))


def edit_run(agent: Agent) -> None:
    ids = agent.own_ids.get("run")
    if not ids:
        return add_run(agent)
    run_id = agent.rng.choice(ids)
    value = agent.value()
    sent = time.monotonic()
    r = agent.call(
        "mymdc edit run", "PUT", f"{MYMDC}/runs/{run_id}", json={"run": {"description": value}}, headers=EMAIL
    )
    if r is not None and r.status_code == 200:
        agent.world.ledger.ack(f"run {run_id}", Ack(value, None, sent, time.monotonic()))
        agent.last[f"run {run_id}"] = value
    return None


def mymdc_read(agent: Agent) -> None:
    """A list of the proposal's runs, the caller, or an own run: holding its last acknowledged
    description (myMdC's runs show no version)."""
    ids = agent.own_ids.get("run") or []
    run_id = agent.rng.choice(ids) if ids and agent.rng.random() < 0.5 else None
    if run_id is None:
        choices = [f"{MYMDC}/proposals/by_number/{agent.world.proposal['number']}/runs", f"{MYMDC}/me"]
        agent.call("mymdc read", "GET", agent.rng.choice(choices), headers=EMAIL)
        return
    r = agent.call("mymdc read", "GET", f"{MYMDC}/runs/{run_id}", headers=EMAIL)
    key = f"run {run_id}"
    if r is None or r.status_code != 200 or key not in agent.last:
        return
    got = str(r.json().get("description") or "")
    if got != agent.last[key]:
        agent.world.rec.problem(f"{agent.name} read {key}: {got!r}, its last edit wrote {agent.last[key]!r} (stale)")


# metadata-submitter: folders (JSON Patch, no version; and /submissions with a version), objects
def add_folder(agent: Agent) -> None:
    body = {"name": f"{agent.name} folder {agent.counter}", "description": "start"}
    agent.counter += 1
    r = agent.call("submitter add", "POST", "/submitter/folders", json=body, ok=(201,))
    if r is None or r.status_code != 201:
        return
    folder = r.json()["folderId"]
    key = f"folder {folder}"
    got = agent.call("submitter read", "GET", f"/submitter/folders/{folder}")
    if got is None or got.status_code != 200:
        return
    version = int(got.json()["version"])
    agent.world.ledger.track(key, folder_reader(agent.client, folder), version, str(got.json().get("description")))
    agent.own[key] = version
    agent.last[key] = str(got.json().get("description"))
    agent.own_ids.setdefault("folder", []).append(folder)


def patch_folder(agent: Agent) -> None:
    ids = agent.own_ids.get("folder")
    if not ids:
        return add_folder(agent)
    folder = agent.rng.choice(ids)
    key, value = f"folder {folder}", agent.value()
    sent = time.monotonic()
    if agent.rng.random() < 0.5:
        ops = [{"op": "replace", "path": "/description", "value": value}]
        r = agent.call("submitter edit (json patch)", "PATCH", f"/submitter/folders/{folder}", json=ops)
        version = None
    else:
        version = agent.own[key] + 1
        body = {"description": value, "version": agent.own[key]}
        r = agent.call("submitter edit (versioned)", "PATCH", f"/submissions/folders/{folder}", json=body)
    if r is not None and r.status_code == 200:
        agent.world.ledger.ack(key, Ack(value, version, sent, time.monotonic()))
        agent.own[key] += 1
        agent.last[key] = value
    return None


def add_object(agent: Agent) -> None:
    ids = agent.own_ids.get("folder")
    if not ids:
        return add_folder(agent)
    alias = f"{agent.name}-study-{agent.counter}"
    agent.counter += 1
    study = {"@alias": alias, "DESCRIPTOR": {"STUDY_TITLE": f"Load study {alias}",
                                            "STUDY_TYPE": {"@existing_study_type": "Metagenomics"}}}  # fmt: skip
    path = "/submitter/objects/study"
    r = agent.call("submitter add", "POST", path, params={"folder": agent.rng.choice(ids)}, json=study, ok=(201,))
    if r is not None and r.status_code == 201:
        agent.world.ledger.create(agent.client, f"{path}/{r.json()['accessionId']}")
    return None


def submitter_read(agent: Agent) -> None:
    ids = agent.own_ids.get("folder") or []
    folder = agent.rng.choice(ids) if ids and agent.rng.random() < 0.7 else None
    r = agent.call("submitter read", "GET", f"/submitter/folders/{folder}" if folder else "/submitter/folders")
    if folder and r is not None and r.status_code == 200:
        observe(agent, f"folder {folder}", int(r.json()["version"]), str(r.json().get("description")))


Op = Callable[[Agent], None]
MIX: dict[str, list[tuple[Op, int]]] = {
    "admin": [(edit_shared_dataset, 25), (edit_shared_project, 15), (edit_shared_collection, 15), (lookup, 15),
              (search, 15), (summary, 10)],
    "registrar": [(register, 25), (edit_own_dataset, 25), (edit_shared_dataset, 15), (lookup, 15), (search, 12),
                  (summary, 8)],
    "reader": [(lookup, 45), (search, 35), (summary, 20)],
    "tracker": [(add_order, 8), (edit_order, 25), (edit_order_versioned, 15), (edit_shared_project, 12),
                (edit_shared_collection, 12), (add_order_dataset, 8), (tracker_read, 20)],
    "mymdc": [(add_run, 15), (edit_run, 45), (mymdc_read, 40)],
    "submitter": [(add_folder, 8), (patch_folder, 42), (add_object, 20), (submitter_read, 30)],
}  # fmt: skip


def drive(agent: Agent, deadline: float | None, crashed: list[str]) -> None:
    ops, weights = zip(*MIX[agent.role], strict=True)
    done = 0
    try:
        while (time.monotonic() < deadline) if deadline is not None else (done < REQUESTS):
            agent.rng.choices(ops, weights)[0](agent)
            done += 1
    except Exception as exc:  # a client that stops early is a finding, not a hang
        crashed.append(f"{agent.name} after {done} operations: {type(exc).__name__}: {exc}")


# -- the check afterwards -------------------------------------------------------------------
def verify(world: World) -> list[str]:
    """Every acknowledged write, read back: the problems found (empty: none lost or stale)."""
    problems: list[str] = []
    for rec in list(world.ledger.records.values()):
        try:
            version, value = rec.read()
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{rec.key}: not readable afterwards ({type(exc).__name__}: {exc})")
            continue
        problems += check_record(rec, version, value)
    for d in world.ledger.registered_snapshot():
        r = world.admin.get(f"/datasets/{d['uuid']}")
        if r.status_code != 200 or d["uri"] not in [x["uri"] for x in r.json().get("replicas", [])]:
            problems.append(f"registration {d['uri']} ({d['how']}): {r.status_code} {r.text[:200]}")
    for who, path in world.ledger.created:
        r = who.get(path)
        if r.status_code != 200:
            problems.append(f"{who.username} added {path}: now {r.status_code} {r.text[:200]}")
    return problems


def searchable(world: World) -> list[str]:
    """Each base URI's datasets, as search finds them once the index has caught up (bounded)."""
    expected: dict[str, set[str]] = {}
    for d in world.datasets():
        expected.setdefault(d["base_uri"], set()).add(d["uuid"])

    def found(base: str) -> set[str]:
        uuids: set[str] = set()
        for page in range(1, 101):  # bounded: 100 rows a page, 10,000 rows at most
            r = world.admin.post("/uris", {"base_uris": [base]}, params={"page": page, "page_size": 100})
            rows = r.json() if r.status_code == 200 else []
            uuids |= {row["uuid"] for row in rows}
            if len(rows) < 100:
                break
        return uuids

    missing: list[str] = []
    deadline = time.monotonic() + CATCH_UP_SECONDS
    for base, wanted in sorted(expected.items()):

        def caught_up(base: str = base, wanted: set[str] = wanted) -> bool:
            return found(base) >= wanted

        wait_for(caught_up, timeout=max(1.0, deadline - time.monotonic()), interval=1.0)
        lacking = wanted - found(base)
        if lacking:
            missing.append(f"{base}: {len(lacking)} of {len(wanted)} not found by search, e.g. {sorted(lacking)[:3]}")
    return missing


def test_mixed_load(stack: LocalStack) -> None:
    world, agents = build_world(stack)
    assert len(agents) == 16
    sampler = RssSampler(stack.processes, RSS_INTERVAL).start()
    crashed: list[str] = []
    deadline = time.monotonic() + DURATION if DURATION else None
    threads = [threading.Thread(target=drive, args=(a, deadline, crashed), name=a.name) for a in agents]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=(DURATION or 600) + 300)
    seconds = time.monotonic() - began
    sampler.stop()
    hung = [t.name for t in threads if t.is_alive()]

    problems = verify(world)
    missing = searchable(world)
    settings = {"seed": SEED, "requests_per_client": None if DURATION else REQUESTS, "duration_seconds": DURATION,
                "rss_interval_seconds": RSS_INTERVAL, "soak": SOAK, "registrations": len(world.ledger.registered),
                "tracked_records": len(world.ledger.records),
                "acknowledged_edits": sum(len(r.acks) for r in world.ledger.records.values())}  # fmt: skip
    report = build_report(world.rec, seconds, len(agents), sampler, problems + missing, settings)
    report["crashed"] = crashed
    write_json(LOAD_JSON, report)
    if SOAK:
        write_json(SOAK_DIR / "report.json", report)
        write_markdown(SOAK_DIR / "report.md", report)
    print_report(report)
    print(f"written: {LOAD_JSON}" + (f", {SOAK_DIR / 'report.md'}, {SOAK_DIR / 'report.json'}" if SOAK else ""))

    assert not hung, f"clients still running: {hung}"
    assert not crashed, crashed
    assert not world.rec.server_errors, world.rec.server_errors[:SHOWN]
    assert not world.rec.failures, world.rec.failures[:SHOWN]
    assert not world.rec.unexpected, world.rec.unexpected[:SHOWN]
    assert not problems, problems[:SHOWN]
    assert not missing, missing
