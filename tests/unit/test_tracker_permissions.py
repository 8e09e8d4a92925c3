"""The Data Tracker's authorization predicates as one truth table: persona x action x ownership.

Where a cell differs from the original Data Tracker (commit A of docs/research/data-tracker.md,
its truth table in §4.2), the comment above the row cites the original's cell.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import NamedTuple

import pytest

from chalicelib.domain import ANONYMOUS, SYSTEM_ACTOR, User
from chalicelib.tracker import permissions as perm
from chalicelib.tracker import topics as t


def persona(username: str, *held: str, is_admin: bool = False, deleted: bool = False) -> User:
    return User(username=username, topics=frozenset(held), is_admin=is_admin, deleted=deleted)


# the column order of TABLE's cells
PERSONAS: dict[str, User] = {
    "anon": persona(ANONYMOUS),
    "plain": persona("plain"),
    "ord": persona("ord", t.ORDERS),
    "spec": persona("spec", t.ORDERS_SPECIAL),
    "own": persona("own", t.OWNERS_READ),
    "add": persona("add", t.USER_ADD),
    "srch": persona("srch", t.USER_SEARCH),
    "um": persona("um", t.USER_MANAGEMENT),
    "dm": persona("dm", t.DATA_MANAGEMENT),
    "admin": persona("root", is_admin=True),
    # removed, although it was an admin holding every topic: it keeps none of it
    "gone": persona("gone", *t.TOPICS, is_admin=True, deleted=True),
}
OTHER = persona("other")


class Facts(NamedTuple):
    editor: bool = False  # the persona is in the entity's editors (a dataset: its order's)
    self: bool = False  # the target user is the persona
    published: bool = False
    flag: bool = False  # may_add_user: the body sets topics; may_add_to_collection: dataset readable


OWNERSHIP: dict[str, Facts] = {
    "-": Facts(),
    "editor": Facts(editor=True),
    "non-editor": Facts(editor=False),
    "self": Facts(self=True),
    "other": Facts(self=False),
    "editor/published": Facts(editor=True, published=True),
    "editor/unpublished": Facts(editor=True, published=False),
    "non-editor/published": Facts(editor=False, published=True),
    "non-editor/unpublished": Facts(editor=False, published=False),
    "no-topics": Facts(flag=False),
    "sets-topics": Facts(flag=True),
    "readable": Facts(flag=True),
    "unreadable": Facts(flag=False),
}
KINDS: dict[str, tuple[str, ...]] = {
    "none": ("-",),
    "editor": ("editor", "non-editor"),
    "self": ("self", "other"),
    "published": ("editor/published", "editor/unpublished", "non-editor/published", "non-editor/unpublished"),
    "topics": ("no-topics", "sets-topics"),
    "readable": ("readable", "unreadable"),
}


def editors(user: User, f: Facts) -> frozenset[str]:
    return frozenset({OTHER.id, user.id} if f.editor else {OTHER.id})


def target(user: User, f: Facts) -> str:
    return user.username if f.self else OTHER.username


def target_id(user: User, f: Facts) -> str:
    return user.id if f.self else OTHER.id


Call = Callable[[User, Facts], object]
# action -> (the ownership facts it depends on, how it is called)
ACTIONS: dict[str, tuple[str, Call]] = {
    "is_signed_in": ("none", lambda u, f: perm.is_signed_in(u)),
    "is_editor": ("editor", lambda u, f: perm.is_editor(u, editors(u, f))),
    "may_list_orders": ("none", lambda u, f: perm.may_list_orders(u)),
    "sees_all_orders": ("none", lambda u, f: perm.sees_all_orders(u)),
    "may_add_order": ("none", lambda u, f: perm.may_add_order(u)),
    "may_read_order": ("editor", lambda u, f: perm.may_read_order(u, editors(u, f))),
    "may_edit_order": ("editor", lambda u, f: perm.may_edit_order(u, editors(u, f))),
    "may_read_users_orders": ("self", lambda u, f: perm.may_read_users_orders(u, target_id(u, f))),
    "may_read_dataset": ("published", lambda u, f: perm.may_read_dataset(u, editors(u, f), f.published)),
    "may_edit_dataset": ("editor", lambda u, f: perm.may_edit_dataset(u, editors(u, f))),
    "may_add_dataset": ("editor", lambda u, f: perm.may_add_dataset(u, editors(u, f))),
    "may_see_hidden_dataset_fields": ("editor", lambda u, f: perm.may_see_hidden_dataset_fields(u, editors(u, f))),
    "may_add_collection": ("none", lambda u, f: perm.may_add_collection(u)),
    "may_read_collection": ("published", lambda u, f: perm.may_read_collection(u, editors(u, f), f.published)),
    "may_edit_collection": ("editor", lambda u, f: perm.may_edit_collection(u, editors(u, f))),
    "may_see_collection_editors": ("editor", lambda u, f: perm.may_see_collection_editors(u, editors(u, f))),
    "may_add_to_collection": ("readable", lambda u, f: perm.may_add_to_collection(u, f.flag)),
    "user_view": ("self", lambda u, f: perm.user_view(u, target(u, f))),
    "may_list_users": ("none", lambda u, f: perm.may_list_users(u)),
    "list_view": ("none", lambda u, f: perm.list_view(u)),
    "may_add_user": ("topics", lambda u, f: perm.may_add_user(u, f.flag)),
    "may_manage_user": ("self", lambda u, f: perm.may_manage_user(u, target(u, f))),
    "may_edit_own_profile": ("none", lambda u, f: perm.may_edit_own_profile(u)),
    "may_set_topics": ("none", lambda u, f: perm.may_set_topics(u)),
    "may_read_user_log": ("self", lambda u, f: perm.may_read_user_log(u, target(u, f))),
    "may_read_user_actions": ("self", lambda u, f: perm.may_read_user_actions(u, target(u, f))),
    "may_manage_keys": ("self", lambda u, f: perm.may_manage_keys(u, target(u, f))),
}

CELL: dict[str, object] = {"Y": True, ".": False, "F": "full", "L": "limited", "-": None}

# fmt: off
TABLE: list[tuple[str, str, str]] = [
    # action                         ownership                  anon plain ord spec own add srch um dm admin gone
    ("is_signed_in",                 "-",                       ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("is_editor",                    "editor",                  ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("is_editor",                    "non-editor",              ".   .     .   .    .   .   .    .  .  .     ."),
    # orders
    ("may_list_orders",              "-",                       ".   .     Y   .    .   .   .    .  Y  Y     ."),
    ("sees_all_orders",              "-",                       ".   .     .   .    .   .   .    .  Y  Y     ."),
    # original: ORD 200, ORD+E 200, DM 200 ("add order"; ORDERS_SPECIAL was never code)
    ("may_add_order",                "-",                       ".   .     .   Y    .   .   .    .  .  Y     ."),
    ("may_read_order",               "editor",                  ".   .     Y   .    .   .   .    .  Y  Y     ."),
    ("may_read_order",               "non-editor",              ".   .     .   .    .   .   .    .  Y  Y     ."),
    ("may_edit_order",               "editor",                  ".   .     Y   .    .   .   .    .  Y  Y     ."),
    ("may_edit_order",               "non-editor",              ".   .     .   .    .   .   .    .  Y  Y     ."),
    ("may_read_users_orders",        "self",                    ".   .     Y   .    .   .   .    .  Y  Y     ."),
    # original: OWN 403 ("other users' orders": /order/user/<uid>/ sits behind the ORDERS gate)
    ("may_read_users_orders",        "other",                   ".   .     .   .    Y   .   .    .  Y  Y     ."),
    # datasets; original: every cell 200 ("list / read dataset": nothing is ever unpublished)
    ("may_read_dataset",             "editor/published",        "Y   Y     Y   Y    Y   Y   Y    Y  Y  Y     Y"),
    ("may_read_dataset",             "non-editor/published",    "Y   Y     Y   Y    Y   Y   Y    Y  Y  Y     Y"),
    ("may_read_dataset",             "editor/unpublished",      ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_read_dataset",             "non-editor/unpublished",  ".   .     .   .    .   .   .    .  Y  Y     ."),
    ("may_edit_dataset",             "editor",                  ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_edit_dataset",             "non-editor",              ".   .     .   .    .   .   .    .  Y  Y     ."),
    # original A's POST /dataset/ (no ORDERS gate): plain+E 200; ours is S/H's order route
    ("may_add_dataset",              "editor",                  ".   .     Y   .    .   .   .    .  Y  Y     ."),
    ("may_add_dataset",              "non-editor",              ".   .     .   .    .   .   .    .  Y  Y     ."),
    ("may_see_hidden_dataset_fields", "editor",                 ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_see_hidden_dataset_fields", "non-editor",             ".   .     .   .    .   .   .    .  Y  Y     ."),
    # collections
    ("may_add_collection",           "-",                       ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    # original: every cell 200 ("list / read collection": nothing is ever unpublished)
    ("may_read_collection",          "editor/published",        "Y   Y     Y   Y    Y   Y   Y    Y  Y  Y     Y"),
    ("may_read_collection",          "non-editor/published",    "Y   Y     Y   Y    Y   Y   Y    Y  Y  Y     Y"),
    ("may_read_collection",          "editor/unpublished",      ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_read_collection",          "non-editor/unpublished",  ".   .     .   .    .   .   .    .  Y  Y     ."),
    ("may_edit_collection",          "editor",                  ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_edit_collection",          "non-editor",              ".   .     .   .    .   .   .    .  Y  Y     ."),
    # original: GET /collection/ (the list) shows every collection's editors to anyone
    ("may_see_collection_editors",   "editor",                  ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_see_collection_editors",   "non-editor",              ".   .     .   .    .   .   .    .  Y  Y     ."),
    # original: any existing dataset may be put in a collection (the check was removed in 4380edf)
    ("may_add_to_collection",        "readable",                ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_add_to_collection",        "unreadable",              ".   .     .   .    .   .   .    .  .  .     ."),
    # users
    ("user_view",                    "self",                    "-   F     F   F    F   F   F    F  F  F     -"),
    # original ("read user by id"): ORD 403, SRCH 403, DM 403; only the list showed SRCH the limited fields
    ("user_view",                    "other",                   "-   -     L   -    -   -   L    F  L  F     -"),
    # original ("list users"): DM 403 (one-level expansion); ours is transitive
    ("may_list_users",               "-",                       ".   .     Y   .    .   .   Y    Y  Y  Y     ."),
    ("list_view",                    "-",                       "L   L     L   L    L   L   L    F  L  F     L"),
    # original ("add user (no permissions)"): DM 403 (one-level expansion)
    ("may_add_user",                 "no-topics",               ".   .     Y   .    .   Y   .    Y  Y  Y     ."),
    ("may_add_user",                 "sets-topics",             ".   .     .   .    .   .   .    Y  .  Y     ."),
    ("may_manage_user",              "self",                    ".   .     .   .    .   .   .    Y  .  Y     ."),
    ("may_manage_user",              "other",                   ".   .     .   .    .   .   .    Y  .  Y     ."),
    ("may_edit_own_profile",         "-",                       ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_set_topics",               "-",                       ".   .     .   .    .   .   .    Y  .  Y     ."),
    ("may_read_user_log",            "self",                    ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_read_user_log",            "other",                   ".   .     .   .    .   .   .    Y  .  Y     ."),
    ("may_read_user_actions",        "self",                    ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_read_user_actions",        "other",                   ".   .     .   .    .   .   .    Y  .  Y     ."),
    # original: POST /user/<own uuid>/apikey/ needed USER_MANAGEMENT (only /user/me/apikey/ was open to all)
    ("may_manage_keys",              "self",                    ".   Y     Y   Y    Y   Y   Y    Y  Y  Y     ."),
    ("may_manage_keys",              "other",                   ".   .     .   .    .   .   .    Y  .  Y     ."),
]
# fmt: on


def expand_table() -> list[tuple[str, str, str, object]]:
    """TABLE as rows of (action, persona, ownership, expected)."""
    rows = []
    for action, ownership, cells in TABLE:
        marks = cells.split()
        assert len(marks) == len(PERSONAS), (action, ownership)
        rows += [(action, name, ownership, CELL[mark]) for name, mark in zip(PERSONAS, marks, strict=True)]
    return rows


ROWS = expand_table()


@pytest.mark.parametrize(("action", "who", "ownership", "expected"), ROWS, ids=["-".join(r[:3]) for r in ROWS])
def test_truth_table(action: str, who: str, ownership: str, expected: object) -> None:
    _, call = ACTIONS[action]
    assert call(PERSONAS[who], OWNERSHIP[ownership]) == expected


def test_table_covers_every_predicate_and_every_ownership_once() -> None:
    public = {
        name
        for name, fn in inspect.getmembers(perm, inspect.isfunction)
        if fn.__module__ == perm.__name__ and not name.startswith("_")
    }
    assert public == set(ACTIONS)
    pairs = [(action, ownership) for action, ownership, _ in TABLE]
    assert len(pairs) == len(set(pairs))
    for action, (kind, _) in ACTIONS.items():
        assert {o for a, o in pairs if a == action} == set(KINDS[kind]), action
    assert len(ROWS) == len(pairs) * 11


def test_anonymous_with_topics_or_admin_flag_still_holds_nothing() -> None:
    anon = persona(ANONYMOUS, *t.TOPICS, is_admin=True)
    everyone = frozenset({anon.id, OTHER.id})
    assert not perm.is_signed_in(anon)
    assert not perm.is_editor(anon, everyone)
    assert not perm.may_list_orders(anon)
    assert not perm.may_add_order(anon)
    assert not perm.may_edit_dataset(anon, everyone)
    assert not perm.may_read_dataset(anon, everyone, published=False)
    assert perm.may_read_collection(anon, everyone, published=True)
    assert perm.user_view(anon, ANONYMOUS) is None
    assert not perm.may_manage_keys(anon, ANONYMOUS)
    assert not perm.may_set_topics(anon)


def test_editors_are_matched_by_uuid_not_username() -> None:
    plain = PERSONAS["plain"]
    assert not perm.is_editor(plain, ["plain"])
    assert perm.is_editor(plain, [plain.id])
    assert not perm.may_edit_collection(plain, ["plain"])


def test_reserved_names_are_no_one_else_s_self() -> None:
    # a signed-in user named like the target is "self"; the anonymous caller never is, and a
    # system actor is just another user to a manager
    assert perm.may_manage_keys(PERSONAS["um"], SYSTEM_ACTOR)
    assert not perm.may_manage_keys(PERSONAS["plain"], SYSTEM_ACTOR)
    assert not perm.may_read_user_log(PERSONAS["anon"], ANONYMOUS)


def test_public_fields() -> None:
    dataset = ("_id", "title", "description", "tags_standard", "tags_user", "cross_references")
    user = ("_id", "affiliation", "contact", "name", "orcid", "url")
    assert dataset == perm.PUBLIC_DATASET_FIELDS
    assert (*dataset, "datasets") == perm.PUBLIC_COLLECTION_FIELDS
    assert user == perm.PUBLIC_USER_FIELDS
    assert (*user, "email", "auth_ids", "permissions") == perm.FULL_USER_FIELDS


def test_expansion_table_matches_the_seed() -> None:
    assert dict(t.COVERS) == {
        t.DATA_MANAGEMENT: {t.DATA_MANAGEMENT, t.ORDERS, t.OWNERS_READ, t.USER_ADD, t.USER_SEARCH},
        t.ORDERS: {t.ORDERS, t.USER_ADD, t.USER_SEARCH},
        t.USER_MANAGEMENT: {t.USER_MANAGEMENT, t.USER_ADD, t.USER_SEARCH},
        t.ORDERS_SPECIAL: {t.ORDERS_SPECIAL},
        t.OWNERS_READ: {t.OWNERS_READ},
        t.USER_ADD: {t.USER_ADD},
        t.USER_SEARCH: {t.USER_SEARCH},
    }
    assert t.expand([t.ORDERS_SPECIAL, t.OWNERS_READ]) == {t.ORDERS_SPECIAL, t.OWNERS_READ}


def test_an_unknown_held_topic_covers_nothing() -> None:
    assert t.expand(["ORDERS_SELF"]) == frozenset()
    assert t.expand(["ORDERS_SELF", t.USER_ADD]) == {t.USER_ADD}
    stale = persona("stale", "ORDERS_SELF")
    assert not any(t.holds(stale, topic) for topic in t.TOPICS)
    assert not t.holds(stale, "ORDERS_SELF")
    assert not perm.may_list_orders(stale)
