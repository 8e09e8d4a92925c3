"""Authorization of the Data Tracker as pure predicates: no I/O, no store access.

The caller looks the facts up and passes them in: an entity's ``editors`` as a collection of
user uuids (:attr:`chalicelib.domain.User.id`; for a dataset, the editors of **its order**)
and whether the entity is ``published``. Every predicate answers for one ``User``:

- the anonymous caller (username :data:`chalicelib.domain.ANONYMOUS`) holds no topic, is the
  editor of nothing and may only read published datasets and collections;
- a removed user (``deleted``) is treated exactly like the anonymous caller;
- an admin holds every topic (:func:`chalicelib.tracker.topics.holds`), so is treated like a
  DATA_MANAGEMENT holder everywhere (and may also add orders and manage users);
- topics cover other topics transitively (:mod:`chalicelib.tracker.topics`).

These rules follow issue 19, which departs from the original Data Tracker on purpose
(``docs/research/data-tracker.md`` §4.2): adding an order needs ORDERS_SPECIAL, datasets and
collections are public only once published, a collection may hold only datasets its editor
may read, USER_SEARCH shows the limited user fields to others, and a user manages their own
API key and reads their own log without USER_MANAGEMENT.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

from chalicelib.domain import ANONYMOUS, User
from chalicelib.tracker import topics as t

UserView = Literal["full", "limited"]

# The fields shown to callers that may read an entity but are neither its editors nor
# DATA_MANAGEMENT (the seed's "Public" column); the others (a dataset's ``order`` and
# ``editors``, a collection's ``editors``) are Hidden.
PUBLIC_DATASET_FIELDS: tuple[str, ...] = (
    "_id",
    "title",
    "description",
    "tags_standard",
    "tags_user",
    "cross_references",
)
PUBLIC_COLLECTION_FIELDS: tuple[str, ...] = (*PUBLIC_DATASET_FIELDS, "datasets")
# The "limited" user view. The original also showed ``email`` to USER_SEARCH holders; the
# seed marks it Hidden, so it is only in the full view.
PUBLIC_USER_FIELDS: tuple[str, ...] = ("_id", "affiliation", "contact", "name", "orcid", "url")
FULL_USER_FIELDS: tuple[str, ...] = (*PUBLIC_USER_FIELDS, "email", "auth_ids", "permissions")


def is_signed_in(user: User) -> bool:
    """Whether ``user`` is a signed-in, not removed user (anything but the anonymous caller)."""
    return user.username != ANONYMOUS and not user.deleted


def _has(user: User, topic: str) -> bool:
    # topics.holds alone would let an anonymous User built with topics (or is_admin) through
    return is_signed_in(user) and t.holds(user, topic)


def _is_self(user: User, username: str) -> bool:
    return is_signed_in(user) and user.username == username


def is_editor(user: User, editors: Collection[str]) -> bool:
    """Whether ``user`` is listed (by uuid) in ``editors``; the anonymous caller never is."""
    return is_signed_in(user) and user.id in editors


def _manages_data(user: User) -> bool:
    return _has(user, t.DATA_MANAGEMENT)


# --- orders: every order route needs ORDERS (the original's blueprint gate) ---------------


def may_list_orders(user: User) -> bool:
    """``GET /order/``: ORDERS; the list holds the orders :func:`sees_all_orders` allows."""
    return _has(user, t.ORDERS)


def sees_all_orders(user: User) -> bool:
    """Whether the order list holds every order (DATA_MANAGEMENT), not only those the caller edits."""
    return _manages_data(user)


def may_add_order(user: User) -> bool:
    """``POST /order/``: ORDERS_SPECIAL, the seed's special right (neither ORDERS nor
    DATA_MANAGEMENT includes it)."""
    return _has(user, t.ORDERS_SPECIAL)


def may_edit_order(user: User, editors: Collection[str]) -> bool:
    """Edit, delete, read the log of an order with ``editors``: DATA_MANAGEMENT, or ORDERS and
    being one of its editors."""
    return _manages_data(user) or (_has(user, t.ORDERS) and is_editor(user, editors))


def may_read_order(user: User, editors: Collection[str]) -> bool:
    """Read an order: the same as :func:`may_edit_order` (orders are never public)."""
    return may_edit_order(user, editors)


def may_read_users_orders(user: User, owner_id: str) -> bool:
    """List the orders of the user with uuid ``owner_id``: one's own with ORDERS, anyone
    else's with OWNERS_READ (which DATA_MANAGEMENT includes)."""
    if is_signed_in(user) and user.id == owner_id:
        return _has(user, t.ORDERS)
    return _has(user, t.OWNERS_READ)


# --- datasets: ``order_editors`` are the editors of the dataset's (only) order ------------


def may_read_dataset(user: User, order_editors: Collection[str], published: bool) -> bool:
    """Read a dataset: anyone once published; before, DATA_MANAGEMENT or an editor of its order
    (no topic needed)."""
    return published or _manages_data(user) or is_editor(user, order_editors)


def may_edit_dataset(user: User, order_editors: Collection[str]) -> bool:
    """Edit, delete, publish a dataset, read its log: DATA_MANAGEMENT or an editor of its order
    (no topic needed)."""
    return _manages_data(user) or is_editor(user, order_editors)


def may_add_dataset(user: User, order_editors: Collection[str]) -> bool:
    """``POST /order/<uuid>/dataset/``: whoever may edit the order (so ORDERS is needed)."""
    return may_edit_order(user, order_editors)


def may_see_hidden_dataset_fields(user: User, order_editors: Collection[str]) -> bool:
    """Whether a dataset shows its Hidden fields (``order``, ``editors``) beside
    :data:`PUBLIC_DATASET_FIELDS`: DATA_MANAGEMENT or an editor of its order."""
    return may_edit_dataset(user, order_editors)


# --- collections --------------------------------------------------------------------------


def may_add_collection(user: User) -> bool:
    """``POST /collection/``: any signed-in user."""
    return is_signed_in(user)


def may_read_collection(user: User, editors: Collection[str], published: bool) -> bool:
    """Read a collection: anyone once published; before, DATA_MANAGEMENT or an editor."""
    return published or _manages_data(user) or is_editor(user, editors)


def may_edit_collection(user: User, editors: Collection[str]) -> bool:
    """Edit, delete, publish a collection, read its log: DATA_MANAGEMENT or an editor."""
    return _manages_data(user) or is_editor(user, editors)


def may_see_collection_editors(user: User, editors: Collection[str]) -> bool:
    """Whether a collection shows its Hidden ``editors`` beside :data:`PUBLIC_COLLECTION_FIELDS`."""
    return may_edit_collection(user, editors)


def may_add_to_collection(user: User, dataset_readable: bool) -> bool:
    """Whether ``user`` may put a dataset in a collection (on create or edit), given
    ``dataset_readable`` = :func:`may_read_dataset` for that user and dataset: a collection
    holds only datasets its editor may read. Whether ``user`` may edit the collection is
    :func:`may_edit_collection`'s question, not this one's."""
    return is_signed_in(user) and dataset_readable


# --- users --------------------------------------------------------------------------------


def user_view(viewer: User, target_username: str) -> UserView | None:
    """How ``viewer`` sees the user ``target_username``: ``"full"`` (:data:`FULL_USER_FIELDS`)
    for themself or with USER_MANAGEMENT, ``"limited"`` (:data:`PUBLIC_USER_FIELDS`) with
    USER_SEARCH, else ``None`` (not at all)."""
    if _is_self(viewer, target_username) or _has(viewer, t.USER_MANAGEMENT):
        return "full"
    if _has(viewer, t.USER_SEARCH):
        return "limited"
    return None


def may_list_users(user: User) -> bool:
    """``GET /user/``: USER_SEARCH (which ORDERS, USER_MANAGEMENT and DATA_MANAGEMENT include)."""
    return _has(user, t.USER_SEARCH)


def list_view(user: User) -> UserView:
    """The view of each user in the user list: ``"full"`` with USER_MANAGEMENT, else
    ``"limited"``. Meaningful only where :func:`may_list_users` holds."""
    return "full" if _has(user, t.USER_MANAGEMENT) else "limited"


def may_add_user(user: User, sets_topics: bool) -> bool:
    """``POST /user/``: USER_ADD; a body that sets ``permissions`` (``sets_topics``) also needs
    USER_MANAGEMENT."""
    return _has(user, t.USER_ADD) and (not sets_topics or may_set_topics(user))


def may_manage_user(user: User, target_username: str) -> bool:
    """Read in full, edit, delete any user, set their topics: USER_MANAGEMENT. The rule is the
    same whoever ``target_username`` is (the manager themself included)."""
    return _has(user, t.USER_MANAGEMENT)


def may_edit_own_profile(user: User) -> bool:
    """``PATCH /user/me/`` (profile fields only, never topics): any signed-in user."""
    return is_signed_in(user)


def may_set_topics(user: User) -> bool:
    """Grant or remove permission topics, on anyone, oneself included: USER_MANAGEMENT."""
    return _has(user, t.USER_MANAGEMENT)


def may_read_user_log(user: User, target_username: str) -> bool:
    """Read the log of changes to the user ``target_username``: themself or USER_MANAGEMENT."""
    return _is_self(user, target_username) or _has(user, t.USER_MANAGEMENT)


def may_read_user_actions(user: User, target_username: str) -> bool:
    """Read what the user ``target_username`` did (their actions): as :func:`may_read_user_log`."""
    return may_read_user_log(user, target_username)


def may_manage_keys(user: User, owner_username: str) -> bool:
    """Issue or replace the API key of ``owner_username``: themself or USER_MANAGEMENT."""
    return _is_self(user, owner_username) or _has(user, t.USER_MANAGEMENT)
