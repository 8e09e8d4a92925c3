"""Projects in the permission model and the acting person in the audit log: the pure rules
(content hash, predicates, audit derivation, index document) and the services over the
in-memory fakes (one read per lookup, writes that name the acting person, memberships)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

import pytest

from chalicelib.catalogue.audit import dataset_changes, user_changes, user_subject
from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.catalogue.entries import visible_entries
from chalicelib.catalogue.index_documents import index_doc
from chalicelib.catalogue.search import SearchQuery
from chalicelib.catalogue.summary_counts import entry_state
from chalicelib.catalogue.summary_store import SummaryCounts
from chalicelib.catalogue.validation import DatasetPatch, Registration, UserFields, parse_registration
from chalicelib.domain import AuditEntry, Dataset, DatasetContent, Manifest, ManifestItem, Replica, User
from chalicelib.errors import Forbidden, NotFound, ValidationError
from chalicelib.identity import permissions as perm
from chalicelib.identity.access import AccessService
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.fakes.summary import InMemorySummaryStore
from tests.support.data import registration

A, B = "s3://bucket-a", "s3://bucket-b"
P = "p002012"
UUID = "8ecd8e05-558a-48e2-b563-0c9ea273e71e"
ADMIN = User("root", is_admin=True)


def content(**kw: object) -> DatasetContent:
    fields: dict[str, object] = {
        "uuid": UUID,
        "name": "soil",
        "creator_username": "olssont",
        "created_at": 1.5,
        "frozen_at": 2.5,
        "readme": "---\nproject: x\n",
        "manifest": Manifest(items={"a": ManifestItem("raw/a.csv", 3, "0" * 32, 1.0)}),
        "annotations": {"k": [1, "v"]},
        "tags": ("b", "a"),
        "description": "d",
        "number_of_items": 1,
        "size_in_bytes": 3,
    }
    fields.update(kw)
    return DatasetContent(**fields)  # type: ignore[arg-type]


def entry(base_uri: str = B, project: str | None = P, **kw: object) -> Dataset:
    replicas = (Replica(f"{base_uri}/{UUID}", base_uri, 3.0, "daq"),)
    return Dataset(content(project=project), replicas, 1, 3.0, 3.0, "daq", base_uri=base_uri, **kw)  # type: ignore[arg-type]


# -- the content hash --------------------------------------------------------------------
def test_the_content_hash_counts_a_project_only_when_set() -> None:
    # the digest the code before projects gave this content: stored hashes stay valid
    assert content().content_hash() == "ba271c5af1d10236253f02a345f0d677a79e5b9050d7b20666f2fe529861c6dd"
    assert content(project=None).content_hash() == content().content_hash()
    assert content(project=P).content_hash() not in (content().content_hash(), content(project="p1").content_hash())
    assert content(project=P).content_hash() == content(project=P).content_hash()


# -- predicates --------------------------------------------------------------------------
def test_members_see_the_registered_entries_of_their_project_and_write_nothing() -> None:
    member = User("member", projects=frozenset({P}))
    in_p, elsewhere, no_project = entry(), entry(project="p9"), entry(project=None)
    assert perm.is_member(member, P) and not perm.is_member(member, None) and not perm.is_member(member, "p9")
    assert perm.may_see(member, in_p)
    assert not perm.may_see(member, elsewhere) and not perm.may_see(member, no_project)
    assert not perm.may_see(User("outsider"), in_p)
    assert not perm.may_see(replace(member, deleted=True), in_p)
    assert not perm.may_see(member, replace(in_p, deleted=True))
    # refused or incomplete uploads stay with the registrars of the base URI
    assert not perm.may_see(member, replace(in_p, status="refused"))
    assert not perm.may_see(member, replace(in_p, status="incomplete"))
    # membership never grants a write or the log
    assert not perm.may_edit(member, in_p) and not perm.may_read_log(member, in_p)
    assert not perm.may_register(member, B) and not perm.may_register_somewhere(member)
    assert perm.may_search_entry(member, B, P) and not perm.may_search_entry(member, B, None)
    assert perm.may_search_entry(User("reader", search_base_uris=frozenset({B})), B, None)


def test_what_a_members_search_and_lookups_cover() -> None:
    member = User("member", search_base_uris=frozenset({A}), projects=frozenset({P}))
    assert perm.searchable_base_uris(member) == frozenset({A})
    assert perm.searchable_projects(member) == frozenset({P})
    assert perm.searchable_projects(ADMIN) == frozenset() and perm.searchable_base_uris(ADMIN) is None
    assert perm.searchable_projects(replace(member, deleted=True)) == frozenset()
    # a project's entries lie under any base URI: every entry of the uuid is read, then filtered
    assert perm.entry_scope(member, None) is None
    assert perm.entry_scope(member, B) == frozenset({B})
    plain = User("reader", search_base_uris=frozenset({A}))
    assert perm.entry_scope(plain, None) == frozenset({A}) and perm.entry_scope(plain, B) == frozenset()


# -- audit and index ---------------------------------------------------------------------
def test_dataset_audit_entries_name_the_acting_person() -> None:
    created = replace(entry(), updated_for="me@example.org")
    (add,) = dataset_changes(None, created)
    assert (add.action, add.actor, add.acting_for) == ("add", "daq", "me@example.org")
    assert add.to_dict()["acting_for"] == "me@example.org"
    assert add.value["updated_for"] == "me@example.org" and add.value["project"] == P
    edited = replace(created, content=replace(created.content, tags=("c",)), version=2, updated_for=None)
    (edit,) = dataset_changes(created, edited)
    assert edit.acting_for is None and "acting_for" not in edit.to_dict()
    gone = replace(created, deleted=True, version=3, updated_for="you@example.org")
    assert [e.acting_for for e in dataset_changes(edited, gone)] == ["you@example.org"]


def test_audit_entry_shows_the_acting_person_only_when_set() -> None:
    e = AuditEntry("x:v1:0", "dataset", UUID, "add", 1.0, "daq", None, "dataset#x")
    assert "acting_for" not in e.to_dict()
    assert replace(e, acting_for="me@example.org").to_dict()["acting_for"] == "me@example.org"


def test_membership_changes_are_in_the_users_log() -> None:
    before = User("member", version=1, projects=frozenset({"p1"}))
    after = replace(before, version=2, projects=frozenset({P}), updated_by="admin")
    rows = [(e.subject, e.entity_type, e.entity_id, e.action, e.value, e.actor) for e in user_changes(before, after)]
    assert rows == [
        (user_subject("member"), "membership", f"member|{P}", "add", {"username": "member", "project": P}, "admin"),
        (user_subject("member"), "membership", "member|p1", "delete", "member|p1", "admin"),
    ]
    removed = replace(after, version=3, deleted=True, projects=frozenset())
    assert [(e.entity_type, e.action) for e in user_changes(after, removed)] == [
        ("user", "delete"),
        ("membership", "delete"),
        ("user", "delete"),  # among admin's actions
    ]
    # a new member's record lists its projects
    (add, membership, action) = user_changes(None, after)
    assert add.value["projects"] == [P] and membership.action == "add" and action.subject == "actions#admin"


def test_the_index_document_carries_the_project() -> None:
    assert index_doc(entry())["project"] == P
    assert index_doc(entry(project=None))["project"] is None


# -- services ----------------------------------------------------------------------------
class CountingRepository(InMemoryRepository):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[Collection[str] | None] = []

    def get_entries(self, uuid: str, base_uris: Collection[str] | None, *, load_blobs: bool = True) -> list[Dataset]:
        self.reads.append(None if base_uris is None else frozenset(base_uris))
        return super().get_entries(uuid, base_uris, load_blobs=load_blobs)


class World:
    def __init__(self) -> None:
        self.repo = CountingRepository()
        self.search = InMemorySearchIndex()
        self.access = AccessService(self.repo)
        self.catalogue = CatalogueService(self.repo, self.search, sleep=lambda _: None)
        self.counts = SummaryCounts(InMemorySummaryStore())
        for b in (A, B):
            self.access.add_base_uri(ADMIN, b, "")
        for name in ("member", "other"):
            self.access.add_user(ADMIN, name, UserFields())

    def user(self, name: str) -> User:
        found = self.repo.get_user(name)
        assert found is not None
        return found

    def index(self) -> None:
        self.search.upsert([index_doc(d) for d in self.repo.iter_datasets()])
        self.counts.apply([entry_state(d) for d in self.repo.iter_datasets()])


def reg(base_uri: str = B, project: str | None = P, **kw: object) -> Registration:
    r = parse_registration(registration(base_uri=base_uri, uuid=UUID, **kw))
    return replace(r, content=replace(r.content, project=project))


@pytest.fixture
def world() -> World:
    return World()


def test_a_members_lookup_is_one_read_and_a_non_member_learns_nothing(world: World) -> None:
    world.catalogue.register(ADMIN, reg(A, project=None))
    world.catalogue.register(ADMIN, reg(B))
    world.access.set_project_members(ADMIN, P, frozenset({"member"}))
    member = world.user("member")
    world.repo.reads.clear()
    found = visible_entries(world.repo, member, UUID, None)
    assert [e.base_uri for e in found] == [B] and world.repo.reads == [None]  # one Query, filtered
    assert world.catalogue.get_dataset(member, UUID)["project"] == P
    with pytest.raises(NotFound):
        world.catalogue.get_dataset(member, UUID, A)  # the entry under A is in no project
    with pytest.raises(NotFound):
        world.catalogue.get_dataset(world.user("other"), UUID)
    with pytest.raises(Forbidden):
        world.catalogue.patch_dataset(
            member, UUID, DatasetPatch(tags=("x",), annotations=None, description=None, version=1)
        )
    with pytest.raises(Forbidden):
        world.catalogue.dataset_log(member, UUID, 10, None)
    world.index()
    assert [i["uuid"] for i in world.catalogue.search(member, SearchQuery(size=10)).items] == [UUID]
    assert world.catalogue.search(world.user("other"), SearchQuery(size=10)).total == 0
    assert world.counts.summary_for(member)["datasets_per_base_uri"] == {B: 1}


def test_every_write_names_the_acting_person(world: World) -> None:
    daq = replace(ADMIN, acting_for="me@example.org")
    created = world.catalogue.register(daq, reg())
    assert created.dataset["updated_for"] == "me@example.org"
    replica = reg(uri=f"{B}/copy/{UUID}")
    added = world.catalogue.register(replace(ADMIN, acting_for="you@example.org"), replica)
    assert added.status == "replica-added" and added.dataset["updated_for"] == "you@example.org"
    patched = world.catalogue.patch_dataset(
        ADMIN, UUID, DatasetPatch(tags=("x",), annotations=None, description=None, version=2)
    )
    assert "updated_for" not in patched  # a write without one clears it
    stored = world.repo.get_dataset(UUID, B)
    assert stored is not None and stored.updated_for is None
    world.catalogue.delete_replica(daq, UUID, f"{B}/copy/{UUID}")
    stored = world.repo.get_dataset(UUID, B)
    assert stored is not None and stored.updated_for == "me@example.org"
    (result,) = world.catalogue.register_many(daq, [reg(A, project=None)])
    stored = world.repo.get_dataset(UUID, A)
    assert result == "created" and stored is not None and stored.updated_for == "me@example.org"


def test_a_registration_without_a_project_keeps_the_entrys(world: World) -> None:
    world.catalogue.register(ADMIN, reg())
    again = reg(project=None)
    assert world.catalogue.holds(again)  # the same content: nothing to write
    assert world.catalogue.register_many(ADMIN, [again]) == ["unchanged"]
    assert world.catalogue.register(ADMIN, again).status == "unchanged"
    edited = world.catalogue.register(ADMIN, reg(project=None, tags=["new"]))
    assert edited.status == "updated" and edited.dataset["project"] == P
    moved = world.catalogue.register(ADMIN, reg(project="p9", tags=["new"]))
    assert moved.status == "updated" and moved.dataset["project"] == "p9"


def test_set_project_members(world: World) -> None:
    world.access.add_user(ADMIN, "third", UserFields())
    world.access.set_project_members(ADMIN, P, frozenset({"member", "other"}))
    world.access.set_project_members(ADMIN, "p9", frozenset({"member"}))
    assert world.user("member").projects == frozenset({P, "p9"}) and world.user("other").projects == {P}
    before = world.user("third").version
    world.access.set_project_members(ADMIN, P, frozenset({"other"}))  # exactly these
    assert world.user("member").projects == frozenset({"p9"}) and world.user("other").projects == {P}
    assert world.user("member").updated_by == "root" and world.user("third").version == before  # unchanged: not written
    with pytest.raises(Forbidden):
        world.access.set_project_members(world.user("member"), P, frozenset())
    with pytest.raises(ValidationError):
        world.access.set_project_members(ADMIN, P, frozenset({"other", "nobody"}))
    assert world.user("other").projects == {P}  # refused before anything changed
    for bad in ("", " p1", "p\n1", "x" * 257):
        with pytest.raises(ValidationError):
            world.access.set_project_members(ADMIN, bad, frozenset())
    world.access.delete_user(ADMIN, "other")
    assert world.repo.get_user("other").projects == frozenset()  # type: ignore[union-attr]


def test_set_project_members_forgets_cached_principals() -> None:
    repo = InMemoryRepository()
    access = AccessService(repo, principal_ttl=60.0, monotonic=lambda: 0.0)
    access.principal("member")
    access.set_project_members(ADMIN, P, frozenset({"member"}))
    assert access.principal("member").projects == frozenset({P})
