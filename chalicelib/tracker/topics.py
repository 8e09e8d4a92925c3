"""Permission topics of the Data Tracker (the seed's "Permissions"), expanded in one table.

A user holds a set of topics (:attr:`chalicelib.domain.User.topics`); a topic covers the
topics the table lists under it, **transitively** (the seed's "Includes": DATA_MANAGEMENT
includes ORDERS, which includes USER_ADD and USER_SEARCH, so DATA_MANAGEMENT covers those
too). The original Data Tracker expanded one level only (its DATA_MANAGEMENT users got 403
on the user list); the seed's wording and issue 19 read it as inclusion, which is transitive.
Catalogue admins (``is_admin``) hold every topic.

``ORDERS_SPECIAL`` is the seed's "special permission to add" orders: ORDERS lets its holder
edit the orders they are an editor of; adding a new order needs ORDERS_SPECIAL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from chalicelib.domain import User

DATA_MANAGEMENT = "DATA_MANAGEMENT"
ORDERS = "ORDERS"
ORDERS_SPECIAL = "ORDERS_SPECIAL"
OWNERS_READ = "OWNERS_READ"
USER_ADD = "USER_ADD"
USER_SEARCH = "USER_SEARCH"
USER_MANAGEMENT = "USER_MANAGEMENT"

# topic -> the topics it includes directly (the seed's table)
INCLUDES: Mapping[str, frozenset[str]] = {
    DATA_MANAGEMENT: frozenset({ORDERS, OWNERS_READ}),
    ORDERS: frozenset({USER_ADD, USER_SEARCH}),
    ORDERS_SPECIAL: frozenset(),
    OWNERS_READ: frozenset(),
    USER_ADD: frozenset(),
    USER_SEARCH: frozenset(),
    USER_MANAGEMENT: frozenset({USER_ADD, USER_SEARCH}),
}
TOPICS: frozenset[str] = frozenset(INCLUDES)


def _closure(topic: str) -> frozenset[str]:
    seen: set[str] = set()
    todo = [topic]
    while todo:  # bounded: at most len(TOPICS) topics are ever added
        t = todo.pop()
        if t not in seen:
            seen.add(t)
            todo.extend(INCLUDES[t])
    return frozenset(seen)


# topic -> every topic it covers, itself included: the expansion table
COVERS: Mapping[str, frozenset[str]] = {t: _closure(t) for t in TOPICS}


def expand(held: Iterable[str]) -> frozenset[str]:
    """Every topic the held ones cover; names that are not topics cover nothing."""
    out: set[str] = set()
    for t in held:
        out |= COVERS.get(t, frozenset())
    return frozenset(out)


def holds(user: User, topic: str) -> bool:
    """Whether ``user`` has ``topic``: an admin has every one, a removed user none."""
    if user.deleted:
        return False
    return user.is_admin or topic in expand(user.topics)
