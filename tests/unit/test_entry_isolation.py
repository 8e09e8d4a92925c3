"""A dataset's content and history belong to the base URIs it lives on (issue 15, finding 1).

Random sequences of registrations, edits, replica removals, S3 uploads (a dtool dataset
with a chosen uuid, as anyone who can write to a wired bucket can make) and archive
requests, by registrars of different base URIs, all aimed at the same few uuids. After
every step, whatever each persona can read (record, README, annotations, tags, log,
search hits, summary) carries only the marks of base URIs it may read, every archive reads
from a replica its requester may register, and a registration answers exactly as it would
for a uuid nobody registered before.

Every value written carries the base URI it was written under (READMEs, annotations, tags
and URIs name it), so a leak shows up as a foreign base URI in what a persona reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.archive.archives import ArchiveService
from chalicelib.catalogue.search import SearchQuery
from chalicelib.catalogue.validation import DatasetPatch, parse_registration
from chalicelib.domain import User
from chalicelib.errors import ArchiveExists, CatalogueError, Forbidden, NotFound
from tests.fakes.archives import InMemoryArchiveRepository
from tests.fakes.workflow import InMemoryWorkflow
from tests.unit.test_ingest import ROOT, DtoolDataset, World, make_world

ALPHA, BETA = "s3://alpha", "s3://beta"
BASES = (ALPHA, BETA)
UUIDS = (
    "6f1c2d3e-0000-4000-8000-00000000000a",
    "6f1c2d3e-0000-4000-8000-00000000000b",
)


def registrar(name: str, base: str) -> User:
    return User(name, search_base_uris=frozenset({base}), register_base_uris=frozenset({base}))


PERSONAS = {
    "reg-a": registrar("reg-a", ALPHA),
    "reg-b": registrar("reg-b", BETA),
    "read-a": User("read-a", search_base_uris=frozenset({ALPHA})),
    "read-b": User("read-b", search_base_uris=frozenset({BETA})),
    "outsider": User("outsider"),
    "admin": ROOT,
}
REGISTRARS = ("reg-a", "reg-b")


def tag_of(base: str) -> str:
    return "t-" + base.removeprefix("s3://")


def readable(user: User) -> set[str]:
    return set(BASES) if user.is_admin else set(user.search_base_uris)


def loggable(user: User) -> set[str]:
    return set(BASES) if user.is_admin else set(user.register_base_uris)


def foreign(text: str, allowed: set[str]) -> list[str]:
    """The base URIs (or their tags) named in ``text`` that are not in ``allowed``."""
    return [b for b in BASES if b not in allowed and (b in text or tag_of(b) in text)]


@dataclass
class Rig:
    world: World
    archives: ArchiveService
    steps: int = 0


def make_rig() -> Rig:
    world = make_world(*BASES)
    archives = ArchiveService(InMemoryArchiveRepository(), world.repo, InMemoryWorkflow(), clock=world.clock)
    return Rig(world, archives)


def body(uuid: str, base: str, n: int) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "base_uri": base,
        "uri": f"{base}/{uuid}",
        "name": f"run-{n}",
        "creator_username": "ana",
        "created_at": 1.0,
        "frozen_at": 2.0,
        "readme": f"written: {n}\nunder: {base}\n",
        "manifest": {"hash_function": "md5sum_hexdigest", "items": {}},
        "annotations": {"under": base},
        "tags": [tag_of(base)],
    }


# -- operations ----------------------------------------------------------------------------
def do_register(rig: Rig, actor: str, uuid: str, n: int) -> None:
    user = PERSONAS[actor]
    (base,) = user.register_base_uris
    before = rig.world.repo.get_dataset(uuid, base)
    result = rig.world.catalogue.register(user, parse_registration(body(uuid, base, n)))
    # the answer depends on the entry under the caller's base URI only: "created" whenever it
    # did not exist, whatever exists under other base URIs (no existence oracle)
    assert (result.status == "created") == (before is None or before.deleted), result.status
    assert not foreign(json.dumps(result.dataset), {base})


def do_patch(rig: Rig, actor: str, uuid: str, n: int) -> None:
    user = PERSONAS[actor]
    (base,) = user.register_base_uris
    try:
        view = rig.world.catalogue.get_dataset(user, uuid, base)
    except NotFound:
        return
    patch = DatasetPatch(version=view["version"], tags=(tag_of(base), f"edit-{n}"), annotations=None, description=None)
    shown = rig.world.catalogue.patch_dataset(user, uuid, patch, base)
    assert not foreign(json.dumps(shown), {base})


def do_patch_default(rig: Rig, actor: str, uuid: str, n: int) -> None:
    """An edit without ``?base_uri=``: it goes to the entry the caller sees first, or is refused."""
    user = PERSONAS[actor]
    try:
        view = rig.world.catalogue.get_dataset(user, uuid)
        rig.world.catalogue.patch_dataset(
            user, uuid, DatasetPatch(version=view["version"], tags=(f"edit-{n}",), annotations=None, description=None)
        )
    except (NotFound, Forbidden):
        return


def do_delete(rig: Rig, actor: str, uuid: str, n: int) -> None:
    user = PERSONAS[actor]
    (base,) = user.register_base_uris
    for target in BASES:  # also tries to remove the other base URI's replica
        try:
            rig.world.catalogue.delete_replica(user, uuid, f"{target}/{uuid}")
        except NotFound:
            continue
        assert target == base, "a replica under another base URI was removed"


def do_upload(rig: Rig, actor: str, uuid: str, n: int) -> None:
    """A dtool dataset with a chosen uuid, copied into the actor's bucket."""
    (base,) = PERSONAS[actor].register_base_uris
    bucket = base.removeprefix("s3://")
    ds = DtoolDataset(
        uuid=uuid,
        readme=f"uploaded: {n}\nunder: {base}\n",
        tags=(tag_of(base),),
        annotations={"under": base},
    )
    ds.put(rig.world.store, bucket)
    rig.world.created(ds.key("dtool"), bucket=bucket)


def do_archive(rig: Rig, actor: str, uuid: str, n: int) -> None:
    user = PERSONAS[actor]
    try:
        archive = rig.archives.request(user, uuid)
    except (NotFound, Forbidden, ArchiveExists):
        return
    except CatalogueError:
        return
    (base,) = user.register_base_uris
    assert archive["source_uri"].startswith(base + "/"), archive
    assert archive["base_uri"] == base


OPERATIONS = {
    "register": do_register,
    "patch": do_patch,
    "patch-default": do_patch_default,
    "delete": do_delete,
    "upload": do_upload,
    "archive": do_archive,
}


# -- what every persona may read -----------------------------------------------------------
def check_reads(rig: Rig) -> None:
    catalogue = rig.world.catalogue
    for name, user in PERSONAS.items():
        allowed, logs = readable(user), loggable(user)
        for uuid in UUIDS:
            try:
                view = catalogue.get_dataset(user, uuid)
            except NotFound:
                live = [e for e in rig.world.repo.get_entries(uuid, allowed) if not e.deleted]
                assert not live, f"{name} cannot see {uuid} although {live[0].entry_id} is live"
                continue
            assert name != "outsider"
            for b in allowed:  # each entry it may see, one by one
                try:
                    one = catalogue.get_dataset(user, uuid, b)
                except NotFound:
                    continue
                assert one["base_uri"] == b and not foreign(json.dumps(one), {b}), (name, one)
            assert not foreign(json.dumps(view), allowed), (name, view)
            assert not foreign(str(catalogue.get_readme(user, uuid)), allowed)
            assert not foreign(json.dumps(catalogue.get_annotations(user, uuid)), allowed)
            assert not foreign(json.dumps(catalogue.get_tags(user, uuid)), allowed)
            try:
                log = catalogue.dataset_log(user, uuid, 100, None)
            except Forbidden:
                assert not logs
            else:
                assert not foreign(json.dumps(log.entries), logs), (name, log.entries)
        hits = catalogue.search(user, SearchQuery(size=100)).items
        assert not foreign(json.dumps(hits), allowed), (name, hits)
        summary = rig.world.repo.counts.summary_for(user)
        assert not foreign(json.dumps(summary), allowed)
        for archive in rig.archives.find(user, None, None, 1, 100).items:
            assert archive["dataset"] in UUIDS
            full = rig.archives.get(user, archive["id"])
            assert not foreign(json.dumps(full), allowed), (name, full)


step = st.tuples(st.sampled_from(sorted(OPERATIONS)), st.sampled_from(REGISTRARS), st.sampled_from(UUIDS))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=12))
def test_what_registrars_of_one_base_uri_do_never_reaches_another(steps: list[tuple[str, str, str]]) -> None:
    rig = make_rig()
    for n, (operation, actor, uuid) in enumerate(steps):
        rig.world.clock.now += 1
        OPERATIONS[operation](rig, actor, uuid, n)
        check_reads(rig)


def test_a_uuid_taken_on_another_base_uri_is_registered_like_a_new_one() -> None:
    """The reproduction of the review: reg-b registers the uuid of reg-a's dataset."""
    rig = make_rig()
    victim, fresh = UUIDS
    do_register(rig, "reg-a", victim, 0)
    taken = rig.world.catalogue.register(PERSONAS["reg-b"], parse_registration(body(victim, BETA, 1)))
    new = rig.world.catalogue.register(PERSONAS["reg-b"], parse_registration(body(fresh, BETA, 1)))
    strip = ("uuid", "uri", "replicas", "registered_at", "updated_at")
    assert (taken.status, taken.created) == (new.status, new.created) == ("created", True)
    assert {k: v for k, v in taken.dataset.items() if k not in strip} == {
        k: v for k, v in new.dataset.items() if k not in strip
    }
    # reg-b's edits, log and archive reach its own entry only
    view = rig.world.catalogue.get_dataset(PERSONAS["reg-b"], victim)
    rig.world.catalogue.patch_dataset(
        PERSONAS["reg-b"],
        victim,
        DatasetPatch(version=view["version"], tags=("x",), annotations=None, description=None),
    )
    assert rig.world.catalogue.get_tags(PERSONAS["reg-a"], victim) == [tag_of(ALPHA)]
    assert "alpha" not in json.dumps(rig.world.catalogue.dataset_log(PERSONAS["reg-b"], victim, 100, None).entries)
    archive = rig.archives.request(PERSONAS["reg-b"], victim)
    assert archive["source_uri"] == f"{BETA}/{victim}"
    check_reads(rig)


def test_an_upload_naming_another_base_uris_uuid_stays_under_its_own_bucket() -> None:
    """A dtool dataset written with the victim's uuid into another wired bucket."""
    rig = make_rig()
    victim = UUIDS[0]
    do_upload(rig, "reg-a", victim, 0)
    before = rig.world.repo.get_dataset(victim, ALPHA)
    do_upload(rig, "reg-b", victim, 1)  # the ingest acts with the rights of s3://beta only
    assert rig.world.repo.get_dataset(victim, ALPHA) == before
    beta = rig.world.repo.get_dataset(victim, BETA)
    assert beta is not None and beta.updated_by == "s3-ingest" and beta.content.readme.endswith(f"under: {BETA}\n")
    assert "beta" not in rig.world.catalogue.get_readme(PERSONAS["read-a"], victim)
    check_reads(rig)
