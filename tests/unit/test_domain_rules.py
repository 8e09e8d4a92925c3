"""Pure domain rules: permissions, audit derivation, index documents, README parsing."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.catalogue.audit import base_uri_changes, dataset_changes, user_changes
from chalicelib.catalogue.index_documents import index_doc, parse_readme
from chalicelib.domain import BaseUri, Dataset, DatasetContent, Manifest, ManifestItem, Replica, User
from chalicelib.identity import permissions as perm

A, B = "s3://bucket-a", "s3://bucket-b"


def dataset(base_uri: str, version: int = 1, deleted: bool = False) -> Dataset:
    """The entry of one uuid under ``base_uri``, with one replica there."""
    content = DatasetContent(
        uuid="8ecd8e05-558a-48e2-b563-0c9ea273e71e",
        name="lidar",
        creator_username="alice",
        created_at=1.0,
        frozen_at=2.0,
        readme="project: canopy\nsite:\n  name: Wytham Woods\n",
        manifest=Manifest(items={"x": ManifestItem("raw/scan_001.las", 10, "h", 1.0)}),
        annotations={"instrument": {"model": "VZ-400"}},
        tags=("lidar",),
    )
    replicas = (Replica(f"{base_uri}/{content.uuid}", base_uri, 3.0, "champion"),)
    return Dataset(content, replicas, version, 3.0, 3.0, "champion", deleted, base_uri=base_uri)


def test_permission_predicates() -> None:
    reader = User("reader", search_base_uris=frozenset({A}))
    champion = User("champion", search_base_uris=frozenset({A}), register_base_uris=frozenset({A}))
    admin = User("root", is_admin=True)
    d, elsewhere = dataset(A), dataset(B)
    assert perm.may_see(reader, d) and not perm.may_edit(reader, d) and not perm.may_read_log(reader, d)
    # the same uuid under another base URI is another entry: no right on A reaches it
    assert not any(check(u, elsewhere) for u in (reader, champion) for check in (perm.may_see, perm.may_edit))
    assert not perm.may_read_log(champion, elsewhere)
    assert perm.may_edit(champion, d) and perm.may_read_log(champion, d)
    assert perm.may_see(admin, d) and perm.searchable_base_uris(admin) is None
    assert perm.searchable_base_uris(reader) == frozenset({A})
    assert not perm.may_see(User("outsider"), d)
    assert not perm.may_see(admin, replace(d, deleted=True))
    # register without search does not show the dataset
    assert not perm.may_see(User("writer", register_base_uris=frozenset({A})), d)
    # ... but its refused or incomplete uploads are shown to its registrars only
    refused = replace(d, status="refused")
    assert perm.may_see(User("writer", register_base_uris=frozenset({A})), refused)
    assert not perm.may_see(reader, refused)
    assert perm.readable_base_uris(champion) == frozenset({A}) and perm.readable_base_uris(admin) is None
    assert perm.entry_scope(champion, None) == frozenset({A}) and perm.entry_scope(champion, A) == frozenset({A})
    assert perm.entry_scope(champion, B) == frozenset()  # an entry it may not read is never read
    assert perm.entry_scope(admin, None) is None and perm.entry_scope(admin, B) == frozenset({B})
    assert not perm.is_admin(replace(admin, deleted=True))


def test_dataset_audit_entries() -> None:
    created = dataset(A)
    [add] = dataset_changes(None, created)
    assert (add.entity_type, add.action, add.actor, add.subject) == (
        "dataset",
        "add",
        "champion",
        f"dataset#{created.uuid}@{A}",
    )
    assert add.value["readme"] == created.content.readme
    two = replace(
        created,
        replicas=(*created.replicas, Replica(f"{A}/copy/u", A, 4.0, "bravo")),
        version=2,
        updated_by="bravo",
    )
    [rep] = dataset_changes(created, two)
    assert (rep.entity_type, rep.entity_id, rep.action, rep.actor) == ("replica", f"{A}/copy/u", "add", "bravo")
    # the same uuid's entry under B has its own log and its own entry ids
    [other] = dataset_changes(None, dataset(B))
    assert other.subject == f"dataset#{created.uuid}@{B}" and other.entry_id != add.entry_id
    edited = replace(two, content=replace(two.content, tags=("x",)), version=3)
    assert [e.action for e in dataset_changes(two, edited)] == ["edit"]
    tomb = replace(edited, replicas=(), deleted=True, version=4)
    assert [(e.entity_type, e.action, e.value) for e in dataset_changes(edited, tomb)] == [
        ("dataset", "delete", created.uuid)
    ]
    assert dataset_changes(edited, edited) == []  # nothing changed: nothing to audit
    # ids are deterministic, so a redelivered record writes the same ids
    assert [e.entry_id for e in dataset_changes(None, created)] == [add.entry_id]


def test_user_and_permission_audit_entries() -> None:
    u1 = User("reader", created_at=1.0, version=1, updated_by="system", updated_at=1.0)
    assert [(e.entity_type, e.action, e.actor) for e in user_changes(None, u1)] == [("user", "add", "system")]
    u2 = replace(u1, search_base_uris=frozenset({A}), version=2, updated_by="admin", updated_at=2.0)
    [grant] = user_changes(u1, u2)
    assert (grant.entity_type, grant.entity_id, grant.action, grant.subject) == (
        "permission",
        f"reader|{A}|search",
        "add",
        f"base_uri#{A}",
    )
    u3 = replace(u2, deleted=True, search_base_uris=frozenset(), version=3)
    assert [(e.entity_type, e.action, e.subject) for e in user_changes(u2, u3)] == [
        ("user", "delete", "user#reader"),
        ("permission", "delete", f"base_uri#{A}"),
        ("user", "delete", "actions#admin"),  # what admin did, for GET /api/v1/user/me/actions
    ]


def test_base_uri_audit_entries() -> None:
    b1 = BaseUri(A, 1.0, version=1, updated_by="admin", updated_at=1.0)
    assert [e.action for e in base_uri_changes(None, b1)] == ["add"]
    assert base_uri_changes(b1, replace(b1, version=2)) == []
    assert [e.action for e in base_uri_changes(b1, replace(b1, description="d", version=2))] == ["edit"]


def test_index_doc_fields() -> None:
    doc = index_doc(dataset(A, version=7))
    assert doc["version"] == 7 and doc["deleted"] is False
    assert doc["base_uris"] == [A] and doc["entry_id"] == f"{doc['uuid']}@{A}"
    assert "Wytham Woods" in doc["readme_text"] and "VZ-400" in doc["annotations_text"]
    assert doc["relpaths"] == ["raw/scan_001.las", "raw scan 001 las"]
    assert index_doc(replace(dataset(A), replicas=()))["deleted"] is True


def test_readme_parsing_refuses_aliases_and_junk() -> None:
    assert parse_readme("a: 1") == {"a": 1}
    bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    assert parse_readme(bomb) is None
    assert parse_readme("key: [unclosed") is None
    assert parse_readme("!!python/object/apply:os.system ['true']") is None
    assert parse_readme("x" * 300_000) is None
