"""Demo data of the Data Tracker's API (``/api/v1``) for ``make run``: one user per kind of
permission topic, two orders with datasets, a published collection, and an API key for each
of those users (printed by the banner: a key is shown once).

Loaded through the tracker services themselves (the same checks and log as the API), as the
demo operator; loading again keeps what exists and issues new keys.
"""

from __future__ import annotations

from chalicelib.composition import Root
from chalicelib.domain import User
from chalicelib.tracker.records import ORDER

KEY_NAME = "demo"
SOIL_ORDER = "Soil metagenomics, Uppsala 2026"
# persona -> (e-mail address, which is also its username; name; permission topics)
PERSONAS: dict[str, tuple[str, str, list[str]]] = {
    "dm": ("dm@example.org", "Dana Manager", ["DATA_MANAGEMENT"]),
    "orders": ("orders@example.org", "Oskar Orders", ["ORDERS", "ORDERS_SPECIAL"]),
    "users": ("users@example.org", "Ulla Users", ["USER_MANAGEMENT"]),
    "search": ("search@example.org", "Sam Search", ["USER_SEARCH"]),
    "plain": ("plain@example.org", "Pat Plain", []),
}


def load(root: Root, operator: User) -> dict[str, str]:
    """Load the demo (``operator``: an admin); returns each persona's new API key."""
    people = root.tracker.people
    known = {u.email for u in people.live()}
    for email, name, topics in PERSONAS.values():
        if email not in known:
            people.add(operator, {"email": email, "name": name, "affiliation": "SciLifeLab", "permissions": topics})
    # the demo's own first order marks it loaded (other orders may exist beside it)
    if not any(o.fields.get("title") == SOIL_ORDER for o in root.tracker.records.all(ORDER)):
        _records(root)
    keys = {}
    for persona, (email, _, _) in PERSONAS.items():
        for key in root.tracker.keys.list(operator, email):
            if key["name"] == KEY_NAME:
                root.tracker.keys.revoke(operator, email, key["key_id"])
        keys[persona] = root.tracker.keys.create(operator, email, KEY_NAME)[1]
    return keys


def _records(root: Root) -> None:
    t = root.tracker
    orderer = root.access.principal(PERSONAS["orders"][0])
    plain = root.access.principal(PERSONAS["plain"][0])
    soil = t.orders.add(
        orderer,
        {
            "title": SOIL_ORDER,
            "description": "Shotgun sequencing of **24 soil cores**; see the protocol in the lab wiki.",
            "authors": [orderer.id, plain.id],
            "generators": [orderer.id],
            "organisation": orderer.id,
            "editors": [orderer.id, plain.id],
            "tags_standard": {"technique": "shotgun sequencing"},
        },
    )
    reads = t.orders.add_dataset(
        orderer,
        soil,
        {
            "title": "Soil cores 1-12, raw reads",
            "description": "NovaSeq 6000, 2x150 bp.",
            "cross_references": [
                {"title": "ENA project", "value": "ENA:PRJEB1234"},
                {"title": "Protocol", "value": "10.17504/protocols.io.demo"},
            ],
            "published": True,
        },
    )
    t.orders.add_dataset(orderer, soil, {"title": "Soil cores 13-24, raw reads (embargoed)"})
    cryo = t.orders.add(orderer, {"title": "Cryo-EM of apoferritin", "tags_user": {"instrument": "Krios G4"}})
    maps = t.orders.add_dataset(orderer, cryo, {"title": "Apoferritin maps, 1.8 Å", "published": True})
    t.collections.add(
        orderer,
        {
            "title": "Data behind the 2026 soil and structure poster",
            "description": "Everything the poster cites.",
            "datasets": [reads, maps],
            "published": True,
        },
    )
