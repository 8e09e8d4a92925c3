"""The data and personas the dtool-lookup-api tests share (tests/e2e/test_dtool_lookup_api*.py):
datasets on three base URIs, what dservercore 0.22 answers for them
(``../shared/research/dserver.md`` §3), how a client call's outcome is judged, and the
world each test module registers once (:func:`build_world`, behind its ``world`` fixture)."""

from __future__ import annotations

import hashlib
import math
import uuid as uuidlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from infra.local.stack import LocalStack
from tests.e2e.dtool_client import Outcome
from tests.e2e.helpers import enc, persona, total, wait_for
from tests.support.data import registration

ROW_KEYS = (
    "base_uri", "uri", "uuid", "name", "creator_username", "frozen_at", "created_at",
    "number_of_items", "size_in_bytes",
)  # fmt: skip
SUMMARY_KEYS = (
    "number_of_datasets", "total_size_in_bytes", "creator_usernames", "base_uris", "tags",
    "datasets_per_creator", "datasets_per_base_uri", "datasets_per_tag",
    "size_in_bytes_per_creator", "size_in_bytes_per_base_uri", "size_in_bytes_per_tag",
)  # fmt: skip
USER_KEYS = ("username", "is_admin", "search_permissions_on_base_uris", "register_permissions_on_base_uris")
ASC, DESC = 1, -1  # dtool_lookup_api.core.LookupClient.ASCENDING / DESCENDING
T = 1700000100.0  # a frozen_at for datasets that are never registered


# -- the data, and what dserver answers for it ---------------------------------------------
def manifest(files: dict[str, int], frozen: float) -> dict[str, Any]:
    items = {
        hashlib.sha1(relpath.encode()).hexdigest(): {  # dtool's item id: sha1 of the relpath
            "relpath": relpath,
            "size_in_bytes": size,
            "hash": hashlib.md5(relpath.encode()).hexdigest(),
            "utc_timestamp": frozen - 60.0,
        }
        for relpath, size in files.items()
    }
    return {"hash_function": "md5sum_hexdigest", "dtoolcore_version": "3.18.3", "items": items}


def dataset(
    base_uri: str, name: str, creator: str, tags: list[str], frozen: float, files: dict[str, int], **kw: Any
) -> dict[str, Any]:
    """A registration as ``dtoolcore``'s admin metadata has it: float ``frozen_at``/``created_at``."""
    return registration(
        base_uri,
        name=name,
        creator_username=creator,
        tags=sorted(tags),
        frozen_at=frozen,
        created_at=frozen - 3600.5,
        manifest=manifest(files, frozen),
        **kw,
    )


def replica(body: dict[str, Any], base_uri: str) -> dict[str, Any]:
    """The same dataset copied to ``base_uri`` (``dtool cp``): same uuid and content."""
    return {**body, "base_uri": base_uri, "uri": f"{base_uri}/{body['uuid']}"}


def row(body: dict[str, Any]) -> dict[str, Any]:
    """dserver's Dataset row for a registration."""
    items = body["manifest"]["items"].values()
    return {
        "base_uri": body["base_uri"],
        "uri": body["uri"],
        "uuid": body["uuid"],
        "name": body["name"],
        "creator_username": body["creator_username"],
        "frozen_at": float(body["frozen_at"]),
        "created_at": float(body["created_at"]),
        "number_of_items": len(items),
        "size_in_bytes": sum(i["size_in_bytes"] for i in items),
    }


def summary(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """dserver's summary of these datasets (one record per URI)."""
    rows = [(row(b), b["tags"]) for b in bodies]
    per: dict[str, Counter[str]] = {k: Counter() for k in ("dc", "db", "dt", "sc", "sb", "st")}
    for r, tags in rows:
        per["dc"][r["creator_username"]] += 1
        per["db"][r["base_uri"]] += 1
        per["sc"][r["creator_username"]] += r["size_in_bytes"]
        per["sb"][r["base_uri"]] += r["size_in_bytes"]
        for t in tags:
            per["dt"][t] += 1
            per["st"][t] += r["size_in_bytes"]
    return {
        "number_of_datasets": len(rows),
        "total_size_in_bytes": sum(r["size_in_bytes"] for r, _ in rows),
        "creator_usernames": sorted(per["dc"]),
        "base_uris": sorted(per["db"]),
        "tags": sorted(per["dt"]),
        "datasets_per_creator": dict(per["dc"]),
        "datasets_per_base_uri": dict(per["db"]),
        "datasets_per_tag": dict(per["dt"]),
        "size_in_bytes_per_creator": dict(per["sc"]),
        "size_in_bytes_per_base_uri": dict(per["sb"]),
        "size_in_bytes_per_tag": dict(per["st"]),
    }


def smorest(count: int, page: int, page_size: int) -> dict[str, int]:
    """flask-smorest's X-Pagination (dserver.md §3): no ``page`` past the last page."""
    pages = math.ceil(count / page_size)
    out = {"total": count, "total_pages": pages}
    if pages:
        out |= {"first_page": 1, "last_page": pages}
        if page <= pages:
            out["page"] = page
            if page > 1:
                out["previous_page"] = page - 1
            if page < pages:
                out["next_page"] = page + 1
    return out


def sort_rows(rows: list[dict[str, Any]], *keys: tuple[str, int]) -> list[dict[str, Any]]:
    out = list(rows)
    for name, order in reversed(keys):
        out.sort(key=lambda r, n=name: r[n], reverse=order < 0)
    return out


def absent_uri(base_uri: str) -> str:
    return f"{base_uri}/{uuidlib.uuid4()}"


# -- outcomes ----------------------------------------------------------------------------
def ok(o: Outcome) -> Any:
    """The value of a call that raised nothing and logged no warning (such as "Server
    returned no pagination information")."""
    assert o.error is None, str(o)
    assert not o.logs, f"{o.logs}\n{o}"
    return o.value


def refused(o: Outcome, status: int) -> None:
    """A call the server refused with ``status``: the client returns the JSON error as data
    (never a ``{"msg"}``, which would raise ``LookupServerError``)."""
    assert o.error is None, str(o)
    assert isinstance(o.value, dict) and not set(o.value) & {"uri", "username", "base_uri", "msg"}, str(o)
    assert o.status == status, str(o)


def failed_write(o: Outcome, status: int) -> None:
    """A PUT/DELETE the server refused: the client returns False."""
    assert o.error is None and o.value is False, str(o)
    assert o.status == status, str(o)


def unwrap_fails(o: Outcome, key: str, status: int) -> None:
    """get_readme/get_annotations/get_tags index the answer (``["readme"]``): on an error body
    the client raises ``KeyError``, against dserver (403) as against us (404)."""
    assert o.error == f"KeyError: '{key}'", str(o)
    assert o.status == status, str(o)


def deprecated(o: Outcome) -> Any:
    assert any("deprecated" in w for w in o.warnings), str(o)
    return ok(o)


# -- the world -----------------------------------------------------------------------------
@dataclass
class World:
    stack: LocalStack
    s: str  # this run's suffix: names, creators and tags no other test uses
    admin: str
    champion: str  # search and register on A; search on C
    reader: str  # search on A
    outsider: str  # a registered user without permissions
    registrar: str  # search and register on C
    a: str
    b: str  # admin only
    c: str  # the writes' base URI
    word: str  # free text in the readmes of north and south
    north: dict[str, Any]  # on A (and as north_b on B: a replica with the same uuid)
    north_b: dict[str, Any]
    south: dict[str, Any]
    beam: dict[str, Any]
    xfel: dict[str, Any]  # on B
    tokens: dict[str, str]

    @property
    def config(self) -> dict[str, str]:
        return {"DSERVER_URL": self.stack.api_url}

    @property
    def on_a(self) -> list[dict[str, Any]]:
        return [self.north, self.south, self.beam]

    @property
    def on_ab(self) -> list[dict[str, Any]]:
        return [self.north, self.north_b, self.south, self.beam, self.xfel]


def build_world(stack: LocalStack) -> World:
    """Personas, base URIs and datasets for one test module (names carry a fresh suffix)."""
    s = uuidlib.uuid4().hex[:6]
    names = {k: f"dla-{k}-{s}" for k in ("champion", "reader", "outsider", "registrar")}
    admin = persona(stack, "admin", admin=True)
    clients = {k: persona(stack, n) for k, n in names.items()}
    a, b, c = (f"s3://dla-{x}-{s}" for x in "abc")
    for base in (a, b, c):
        assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    perms = {
        a: ([names["champion"], names["reader"]], [names["champion"]]),
        c: ([names["registrar"], names["champion"]], [names["registrar"]]),
    }
    for base, (search, register) in perms.items():
        body = {"users_with_search_permissions": search, "users_with_register_permissions": register}
        r = admin.put(f"/base-uris/{enc(base)}/permissions", body)
        assert r.status_code == 200, r.text
    word = f"zephyr{s}"
    priya, okafor = f"priya-{s}", f"okafor-{s}"
    lidar, north_tag, xray, xfel = (f"{t}-{s}" for t in ("lidar", "north", "xray", "xfel"))
    readme = "---\ndescription: LiDAR {} campaign {}\nowners:\n  - name: Priya\n"
    north = dataset(
        a, f"dla-{s}-lidar-north", priya, [lidar, north_tag], 1700000001.25,
        {"scan/a.laz": 1024, "scan/b.laz": 2048}, readme=readme.format("north", word),
        annotations={"site": "north", "operator": {"name": "Priya", "shifts": [1, 2]}},
    )  # fmt: skip
    south = dataset(
        a, f"dla-{s}-lidar-south", okafor, [lidar], 1700000002.5, {"scan/c.laz": 500},
        readme=readme.format("south", word), annotations={"site": "south"},
    )  # fmt: skip
    beam = dataset(a, f"dla-{s}-beam", priya, [xray], 1700000003.75, {"img/0001.tif": 4096, "img/0002.tif": 4096})
    xfel_body = dataset(b, f"dla-{s}-xfel", okafor, [xfel], 1700000004.125, {"run/0001.h5": 10_000})
    north_b = replica(north, b)
    for client, body in (
        (clients["champion"], north),
        (clients["champion"], south),
        (clients["champion"], beam),
        (admin, xfel_body),
        (admin, north_b),
    ):
        r = client.post("/datasets", body)
        assert r.status_code == 201, r.text
    scope = f"?base_uri={a}&base_uri={b}&page_size=100"
    assert wait_for(lambda: total(admin, scope) == 5, timeout=60), "the datasets did not become searchable"
    tokens = {n: stack.token(n) for n in ("admin", *names.values())}
    return World(
        stack, s, "admin", names["champion"], names["reader"], names["outsider"], names["registrar"],
        a, b, c, word, north, north_b, south, beam, xfel_body, tokens,
    )  # fmt: skip


def register_args(body: dict[str, Any]) -> dict[str, Any]:
    """``register_dataset``'s keyword arguments (all required) for a registration body."""
    r = row(body)
    return {
        **{k: body[k] for k in ("uri", "base_uri", "readme", "manifest", "uuid", "name", "type")},
        **{k: body[k] for k in ("creator_username", "frozen_at", "created_at", "annotations", "tags")},
        "number_of_items": r["number_of_items"],
        "size_in_bytes": r["size_in_bytes"],
    }
