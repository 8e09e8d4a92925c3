"""T9 resource caps (issue 22): this module is the evidence that every cap of the API holds.

Each cap is refused one past its value with the right 4xx JSON error (``{"Code", "Message"}``;
myMdC's ``{"info"}``) and NOTHING stored: every DynamoDB table, every S3 object and the search
index read the same after the refusal as before (no record, no new version, no audit entry).
Exactly the cap is accepted wherever that is cheap to build. Values are imported, never copied:

- request body: ``Settings.max_body_bytes`` (1 MiB) → 413 ``PayloadTooLarge`` on a JSON route of
  every family (catalogue, dserver, dtool-lookup-server, myMdC, Data Tracker, /projects,
  metadata-submitter, /submissions, /annotation-schemas, /archives, /uploads); a registration of
  exactly the cap is accepted (manifest items have no cap of their own: the body bounds them);
- a record larger than the record store holds (the facility store's ``MAX_BODY_BYTES``, 384 KiB
  as stored, every field within its own cap) → 413; it was a 500 (DynamoDB's 400 KB items);
- nesting: ``MAX_ANNOTATION_DEPTH`` (20), JSON documents' ``MAX_DEPTH`` (64: annotation
  schemas, submitted objects), XML ``MAX_XML_DEPTH`` (32);
- queries: ``max_query_chars`` (512; dtool's ``free_text`` too), the Data Tracker's
  ``MAX_QUERY_CHARS`` (256), ``MAX_FILTER_VALUES`` and dtool's ``MAX_VALUES`` (50), the filters'
  total length (8 * ``max_query_chars``), ``MAX_TAG_FILTERS`` (20), ``MAX_CURSOR_CHARS`` (8192),
  log paging (``MAX_LOG_PAGE`` 100, ``MAX_LOG_CURSOR_CHARS`` 512);
- page sizes of every paged family (100; the Data Tracker's ``TRACKER_PAGE_SIZE`` 1000; myMdC's
  ``MAX_PAGE_SIZE`` 500 and metadata-submitter's ``MAX_PER_PAGE`` 1000 clamp, as the originals
  do) and ``page * page_size`` ≤ ``MAX_RESULT_WINDOW`` (10,000);
- lists: ``MAX_TAGS`` (100), ``MAX_PERMISSION_USERS`` (1000), ``MAX_USERS_PER_REGISTRATION``
  (1000), ``MAX_LIST_USERS`` (200: authors, generators, editors), ``MAX_COLLECTION_DATASETS``
  (1000), ``MAX_CROSS_REFERENCES`` (100), ``MAX_TAG_ENTRIES`` (100), ``MAX_EDITORS`` (50),
  ``MAX_OBJECTS_PER_REQUEST`` (1000), ``MAX_PARTS`` (50), ``MAX_KEYS_PER_USER`` (20: 409),
  ``MAX_SCHEMA_BYTES`` (64 KiB), ``MAX_DESCRIPTION_CHARS`` (4096);
- documents: ``MAX_XML_BYTES`` (1 MiB), ``MAX_XML_ELEMENTS`` (100,000), ``MAX_VALUE_CHARS``
  (64 Ki), ``MAX_OBJECT_BYTES`` (256 KiB), CSV ``MAX_ROWS`` (1000; not built at the cap: 1000
  samples are slow) and ``MAX_COLUMNS`` (200), ``MAX_README_CHARS`` (10 MiB, beyond the body cap;
  a README sent as a mapping is refused as soon as its YAML passes it);
- uploads: ``MAX_FOLDER_CHARS`` (128; the form states S3's ``max_bytes`` in its policy),
  deposits' ``MAX_DEPOSIT_NAME_CHARS`` (200).

One world (moto, the personas) serves the whole module (about 10 s): every refusal leaves it as it was.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote_plus

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends

from chalicelib import bootstrap, resources
from chalicelib.adapters.dynamodb.facility import MAX_BODY_BYTES
from chalicelib.archive.archives import MAX_DEPOSIT_NAME_CHARS
from chalicelib.archive.archives import MAX_PAGE_SIZE as ARCHIVES_PAGE_SIZE
from chalicelib.catalogue.annotation_schemas import MAX_DESCRIPTION_CHARS, MAX_SCHEMA_BYTES
from chalicelib.catalogue.cursors import encode_cursor
from chalicelib.catalogue.uploads import MAX_FOLDER_CHARS
from chalicelib.catalogue.validation import (
    MAX_ANNOTATION_DEPTH,
    MAX_CURSOR_CHARS,
    MAX_FILTER_VALUES,
    MAX_PAGE_SIZE,
    MAX_PERMISSION_USERS,
    MAX_README_CHARS,
    MAX_RESULT_WINDOW,
    MAX_TAGS,
)
from chalicelib.composition import install, root
from chalicelib.config import Settings
from chalicelib.domain import user_uuid
from chalicelib.json_documents import MAX_DEPTH
from chalicelib.routes._dtool import MAX_VALUES
from chalicelib.routes._multipart import MAX_PARTS
from chalicelib.routes._smorest import MAX_PAGE_SIZE as DTOOL_PAGE_SIZE
from chalicelib.routes.datasets import MAX_LOG_CURSOR_CHARS, MAX_LOG_PAGE
from chalicelib.routes.lookup_server import MAX_USERS_PER_REGISTRATION
from chalicelib.routes.mymdc import MAX_PAGE_SIZE as MYMDC_PAGE_SIZE
from chalicelib.routes.submitter import MAX_PER_PAGE
from chalicelib.routes.tracker_api import MAX_TAG_FILTERS, TRACKER_PAGE_SIZE
from chalicelib.submissions.csv_samples import MAX_COLUMNS, MAX_ROWS
from chalicelib.submissions.ena_schemas import (
    MAX_OBJECT_BYTES,
    MAX_VALUE_CHARS,
    MAX_XML_BYTES,
    MAX_XML_DEPTH,
    MAX_XML_ELEMENTS,
)
from chalicelib.submissions.service import MAX_EDITORS, MAX_OBJECTS_PER_REQUEST
from chalicelib.tracker.api_keys import MAX_KEYS_PER_USER
from chalicelib.tracker.fields import (
    MAX_COLLECTION_DATASETS,
    MAX_CROSS_REFERENCES,
    MAX_DESCRIPTION,
    MAX_LIST_USERS,
    MAX_TAG_ENTRIES,
)
from chalicelib.tracker.search import MAX_QUERY_CHARS as TRACKER_QUERY_CHARS
from tests.functional.conftest import BUCKET_A, Api, add_personas, base_uri_path, running_api
from tests.functional.test_submissions_api import form, sample_sheet
from tests.support.data import registration
from tests.support.tokens import TokenMint

V1, MYMDC, S = "/api/v1", "/mymdc/api", "/submitter"
XML, CSV = {"Content-Type": "application/xml"}, {"Content-Type": "text/csv"}
SAMPLE = {"SAMPLE_NAME": {"TAXON_ID": 410658, "SCIENTIFIC_NAME": "soil metagenome"}}


@pytest.fixture(scope="module")
def world() -> Iterator[Api]:
    """The personas; ``orderer`` (ORDERS, ORDERS_SPECIAL), ``alice`` and ``bob`` (submitters),
    ``keyholder``; bucket-a exists; the deposit base URI is registered."""
    mint = TokenMint()
    settings = Settings(stage="test", region="eu-west-1", issuers=(mint.issuer_config(),), inline_cap_bytes=4096)
    with running_api(settings, mint) as api:
        add_personas(api)
        for name in ("orderer", "alice", "bob", "keyholder"):
            assert api.post("/users", {"username": name, "email": f"{name}@example.org"}).status_code == 201
        r = api.patch(f"{V1}/user/{user_uuid('orderer')}", {"permissions": ["ORDERS", "ORDERS_SPECIAL"]})
        assert r.status_code == 200, r.body
        bootstrap.watch_bucket(root(), BUCKET_A.removeprefix("s3://"))
        assert api.post("/base-uris", {"base_uri": f"s3://{resources.DEPOSIT_BUCKET}"}).status_code == 201
        yield api


@pytest.fixture(scope="module")
def seed(world: Api) -> str:
    """A dataset of bucket-a (champion registers there) to edit and read the log of."""
    body = registration()
    assert world.post("/datasets", body, user="champion").status_code == 201
    return str(body["uuid"])


# -- the check: the right 4xx, nothing stored ------------------------------------------------
def stored(api: Api) -> dict[str, Any]:
    """Everything the catalogue holds: every table's items, every object, the search index. Read
    from moto's memory: through the SDK, these snapshots took most of the module's time."""
    state: dict[str, Any] = {}
    for name, table in dynamodb_backends[DEFAULT_ACCOUNT_ID][root().settings.region].tables.items():
        state[name] = sorted(json.dumps(i.to_json(), sort_keys=True, default=repr) for i in table.all_items())
    for name, bucket in s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets.items():
        state[f"s3://{name}"] = sorted((key, obj.etag) for key, obj in bucket.keys.items())
    assert state[root().settings.access_table], "moto's memory is not where this test looks (no users)"
    state["index"] = json.dumps(api.search.docs, sort_keys=True, default=repr)
    return state


def refused(
    api: Api,
    method: str,
    path: str,
    user: str = "admin",
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    status: int = 400,
    code: str = "BadRequest",
    field: str | None = None,
    says: str | None = None,
) -> dict[str, Any]:
    """``method path`` is refused with ``status`` and a JSON error, and changes nothing."""
    api.get("/users/me", user=user)  # a caller's first request records its sign-in: settled first
    before = stored(api)
    r = api.call(method, path, user, body, headers=headers, raw=raw)
    assert r.status_code == status, (r.status_code, r.body[:300])
    error = json.loads(r.body)
    if path.startswith(MYMDC):
        assert set(error) == {"info"} and error["info"], error  # myMdC's error shape
    else:
        assert error["Code"] == code and error["Message"], error
    if field is not None:
        assert error.get("Field") == field, error
    if says is not None:
        assert says in json.dumps(error), error
    assert stored(api) == before, "a refused request stored something"
    return dict(error)


def ok(api: Api, method: str, path: str, user: str = "admin", body: Any = None, **kw: Any) -> Any:
    r = api.call(method, path, user, body, **kw)
    assert r.status_code in (200, 201), (r.status_code, r.body[:300])
    return r


def nested(levels: int, leaf: Any = "leaf", key: str = "n") -> Any:
    """``levels`` objects, each the only value of the one around it."""
    for _ in range(levels):
        leaf = {key: leaf}
    return leaf


def many(path: str, name: str, count: int, value: str = "v{}") -> str:
    return path + "?" + "&".join(f"{name}={value.format(i)}" for i in range(count))


# -- request body -----------------------------------------------------------------------------
BODY_ROUTES = [
    ("catalogue", "POST", "/datasets", "champion"),
    ("dserver", "PUT", f"/uris/{quote_plus(BUCKET_A + '/x')}", "champion"),
    ("lookup-server", "POST", "/dataset/register", "champion"),
    ("mymdc", "POST", f"{MYMDC}/runs/", "admin"),
    ("data-tracker", "POST", f"{V1}/order", "orderer"),
    ("projects", "POST", "/projects", "orderer"),
    ("submitter", "POST", f"{S}/folders", "alice"),
    ("submissions", "POST", "/submissions/folders", "alice"),
    ("annotation-schemas", "POST", "/annotation-schemas", "admin"),
    ("archives", "POST", "/archives", "admin"),
    ("uploads", "POST", "/uploads", "champion"),
]


def json_of_size(size: int) -> bytes:
    return b'{"x":"' + b"a" * (size - 8) + b'"}'


@pytest.mark.parametrize(("method", "path", "user"), [r[1:] for r in BODY_ROUTES], ids=[r[0] for r in BODY_ROUTES])
def test_body_cap(world: Api, method: str, path: str, user: str) -> None:
    cap = root().settings.max_body_bytes
    refused(world, method, path, user, raw=json_of_size(cap + 1), status=413, code="PayloadTooLarge")
    r = world.call(method, path, user, raw=json_of_size(cap))  # read whole, then refused for what it holds
    assert 400 <= r.status_code < 500 and r.status_code != 413, r.body[:200]


def test_a_registration_of_exactly_the_body_cap_is_accepted(world: Api) -> None:
    """Manifest items have no cap of their own: the body bounds them (and the README, whose own
    ``MAX_README_CHARS`` lies beyond the body cap)."""
    cap = root().settings.max_body_bytes
    assert cap < MAX_README_CHARS
    items = {
        f"i{n:05d}": {"relpath": f"raw/{n:05d}.csv", "size_in_bytes": 1, "hash": "0" * 32} for n in range(cap // 150)
    }
    body = registration(readme="", manifest={"items": items})
    size = len(json.dumps(body).encode())
    body["readme"] = "r" * (cap - size)
    raw = json.dumps(body).encode()
    assert len(raw) == cap
    assert ok(world, "POST", "/datasets", "champion", raw=raw).status_code == 201
    assert world.get(f"/datasets/{body['uuid']}", user="reader").json_body["number_of_items"] == len(items)
    over = dict(body, uuid=body["uuid"][:-4] + "ffff", readme=body["readme"] + "r")
    over["uri"] = f"{BUCKET_A}/{over['uuid']}"
    refused(world, "POST", "/datasets", "champion", over, status=413, code="PayloadTooLarge")


def test_a_readme_mapping_whose_yaml_passes_the_readme_cap_is_refused(world: Api) -> None:
    """YAML indents every level: nested lists of empty strings grow ~100 times as YAML. The
    text is refused as soon as it passes the cap, not after hundreds of MB were built."""
    deep: Any = [""] * (MAX_README_CHARS // 100)
    for _ in range(100):
        deep = [deep]
    body = registration(readme={"a": deep})
    assert len(json.dumps(body)) < root().settings.max_body_bytes
    refused(world, "POST", "/datasets", "champion", body, field="readme", says=str(MAX_README_CHARS))


TOO_LARGE: list[tuple[str, str, Callable[[str], Any], str]] = [  # a record of a character at its field's cap
    (f"{V1}/order", "orderer", lambda c: {"title": "t", "description": c * MAX_DESCRIPTION}, "\x01"),
    (f"{S}/folders", "alice", lambda c: {"name": "n", "doiInfo": {"title": c * 60_000}}, "\U0001f600"),
]


@pytest.mark.parametrize(("path", "user", "record", "char"), TOO_LARGE, ids=["tracker-description", "submitter-doi"])
def test_a_record_too_large_to_store_is_413_not_500(world: Api, path: str, user: str, record: Any, char: str) -> None:
    """Every field within its own cap, the record as stored (JSON: ``\\u0001`` is 6 bytes, an
    emoji 12) over the record store's ``MAX_BODY_BYTES``: DynamoDB's item limit answered 500.
    The same record of ASCII letters is stored."""
    assert len(json.dumps(record(char)).encode()) < root().settings.max_body_bytes
    refused(world, "POST", path, user, record(char), status=413, code="PayloadTooLarge", says=str(MAX_BODY_BYTES))
    ok(world, "POST", path, user, record("a"))


# -- nesting ---------------------------------------------------------------------------------
def test_annotation_depth(world: Api, seed: str) -> None:
    deepest = nested(MAX_ANNOTATION_DEPTH - 1)  # the annotations object is the first level, the leaf the last
    over = nested(MAX_ANNOTATION_DEPTH)
    refused(world, "POST", "/datasets", "champion", registration(annotations=over), field="annotations")
    ok(world, "POST", "/datasets", "champion", registration(annotations=deepest))
    version = world.get(f"/datasets/{seed}").json_body["version"]
    path = f"/datasets/{seed}"
    refused(world, "PATCH", path, "champion", {"annotations": over, "version": version}, field="annotations")
    patched = ok(world, "PATCH", path, "champion", {"annotations": deepest, "version": version}).json_body
    assert patched["version"] == version + 1


def test_annotation_schema_depth(world: Api) -> None:
    def schema(levels: int) -> dict[str, Any]:  # {"not": {"not": ... {}}}: one level per "not"
        return {"name": f"deep-{levels}", "schema": nested(levels, {}, "not")}

    refused(world, "POST", "/annotation-schemas", "admin", schema(MAX_DEPTH + 1), code="InvalidDocument", says="deeper")
    ok(world, "POST", "/annotation-schemas", "admin", schema(MAX_DEPTH))


def test_submitted_json_depth(world: Api) -> None:
    folder = ok(world, "POST", "/submissions/folders", "alice", {"name": "deep"}).json_body["folderId"]
    document = {**SAMPLE, "TITLE": nested(MAX_DEPTH)}
    path = f"/submissions/folders/{folder}/objects/sample"
    refused(world, "POST", path, "alice", document, code="InvalidDocument", says=f"deeper than {MAX_DEPTH}")


# -- queries ---------------------------------------------------------------------------------
QUERY_CHARS = Settings().max_query_chars
QUERIES = [
    ("catalogue-search-q", "GET", "/datasets?q={}", None, QUERY_CHARS, "q"),
    ("catalogue-facets-q", "GET", "/datasets/facets?q={}", None, QUERY_CHARS, "q"),
    ("dserver-get-free_text", "GET", "/uris?free_text={}", None, QUERY_CHARS, "free_text"),
    ("dserver-post-free_text", "POST", "/uris", "free_text", QUERY_CHARS, "free_text"),
    ("lookup-search-free_text", "POST", "/dataset/search", "free_text", QUERY_CHARS, "free_text"),
    ("tracker-q", "GET", f"{V1}/order?q={{}}", None, TRACKER_QUERY_CHARS, "q"),
    ("projects-q", "GET", "/projects?q={}", None, TRACKER_QUERY_CHARS, "q"),
]


@pytest.mark.parametrize(
    ("method", "path", "key", "cap", "field"), [q[1:] for q in QUERIES], ids=[q[0] for q in QUERIES]
)
def test_query_length(world: Api, method: str, path: str, key: str | None, cap: int, field: str) -> None:
    assert root().settings.max_query_chars == QUERY_CHARS
    user = "orderer" if path.startswith(V1) else "reader"

    def request(n: int) -> tuple[str, Any]:
        return (path.format("a" * n), None) if key is None else (path, {key: "a" * n})

    url, body = request(cap)
    ok(world, method, url, user, body)
    url, body = request(cap + 1)
    refused(world, method, url, user, body, field=field)


FILTERS = [
    ("catalogue-tag", "GET", "/datasets", "tag", MAX_FILTER_VALUES, "tag"),
    ("catalogue-facets-creator", "GET", "/datasets/facets", "creator", MAX_FILTER_VALUES, "creator"),
    ("dserver-get-creator_usernames", "GET", "/uris", "creator_usernames", MAX_VALUES, "creator_usernames"),
    ("dserver-post-tags", "POST", "/uris", "tags", MAX_VALUES, "tags"),
    ("lookup-search-base_uris", "POST", "/dataset/search", "base_uris", MAX_VALUES, "base_uris"),
    ("tracker-tag", "GET", f"{V1}/order", "tag", MAX_TAG_FILTERS, "tag"),
]


@pytest.mark.parametrize(
    ("method", "path", "name", "cap", "field"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS]
)
def test_repeated_filter_values(world: Api, method: str, path: str, name: str, cap: int, field: str) -> None:
    user = "orderer" if path.startswith(V1) else "reader"

    def request(n: int) -> tuple[str, Any]:
        values = [f"{BUCKET_A}/v{i}" if name == "base_uris" else f"v{i}" for i in range(n)]
        return (many(path, name, n), None) if method == "GET" else (path, {name: values})

    url, body = request(cap)
    ok(world, method, url, user, body)
    url, body = request(cap + 1)
    refused(world, method, url, user, body, field=field)


def test_filter_values_total_length(world: Api) -> None:
    total = 8 * root().settings.max_query_chars
    width = 128  # any width dividing the total in fewer than MAX_FILTER_VALUES values
    assert total % width == 0 and total // width < MAX_FILTER_VALUES
    at_cap = many("/datasets", "creator", total // width, f"{{:0{width}d}}")
    ok(world, "GET", at_cap, "reader")
    over = at_cap + "&creator=x"
    refused(world, "GET", over, "reader", field="creator", says="too long")


def test_cursor_length(world: Api) -> None:
    cursor = encode_cursor([0, "x" * (MAX_CURSOR_CHARS * 3 // 4 - len('[0,""]'))])
    assert len(cursor) == MAX_CURSOR_CHARS
    assert ok(world, "GET", f"/datasets?after={cursor}", "reader").json_body["items"] == []
    refused(world, "GET", f"/datasets?after={cursor}A", "reader", field="after", says="too long")


def test_log_paging(world: Api, seed: str) -> None:
    log = f"/datasets/{seed}/log"
    cursor = encode_cursor(["z" * (MAX_LOG_CURSOR_CHARS * 3 // 4 - len('[""]'))])  # past every entry
    assert len(cursor) == MAX_LOG_CURSOR_CHARS
    assert ok(world, "GET", f"{log}?limit={MAX_LOG_PAGE}&after={cursor}", "champion").json_body["entries"] == []
    refused(world, "GET", f"{log}?limit={MAX_LOG_PAGE + 1}", "champion", field="limit")
    refused(world, "GET", f"{log}?after={cursor}A", "champion", field="after", says="too long")


# -- page sizes ------------------------------------------------------------------------------
PAGED = [
    ("catalogue-search", "GET", "/datasets", MAX_PAGE_SIZE),
    ("users", "GET", "/users", DTOOL_PAGE_SIZE),
    ("base-uris", "GET", "/base-uris", DTOOL_PAGE_SIZE),
    ("archives", "GET", "/archives", ARCHIVES_PAGE_SIZE),
    ("projects", "GET", "/projects", DTOOL_PAGE_SIZE),
    ("collections", "GET", "/collections", DTOOL_PAGE_SIZE),
    ("api-keys", "GET", "/users/me/keys", DTOOL_PAGE_SIZE),
    ("submissions-folders", "GET", "/submissions/folders", DTOOL_PAGE_SIZE),
    ("dserver-uris-get", "GET", "/uris", DTOOL_PAGE_SIZE),
    ("dserver-uris-post", "POST", "/uris", DTOOL_PAGE_SIZE),
    ("dserver-uuids", "GET", "/uuids/00000000-0000-4000-8000-000000000000", DTOOL_PAGE_SIZE),
    ("lookup-list", "GET", "/dataset/list", DTOOL_PAGE_SIZE),
    ("lookup-search", "POST", "/dataset/search", DTOOL_PAGE_SIZE),
    ("lookup-users", "GET", "/admin/user/list", DTOOL_PAGE_SIZE),
    ("lookup-base-uris", "GET", "/admin/base_uri/list", DTOOL_PAGE_SIZE),
    ("tracker-orders", "GET", f"{V1}/order", TRACKER_PAGE_SIZE),
    ("tracker-datasets", "GET", f"{V1}/dataset", TRACKER_PAGE_SIZE),
    ("tracker-collections", "GET", f"{V1}/collection", TRACKER_PAGE_SIZE),
    ("tracker-users", "GET", f"{V1}/user", TRACKER_PAGE_SIZE),
]


@pytest.mark.parametrize(("method", "path", "cap"), [p[1:] for p in PAGED], ids=[p[0] for p in PAGED])
def test_page_size(world: Api, method: str, path: str, cap: int) -> None:
    body: dict[str, Any] | None = {} if method == "POST" else None
    ok(world, method, f"{path}?page_size={cap}", "admin", body)
    refused(world, method, f"{path}?page_size={cap + 1}", "admin", body, field="page_size")


def test_page_size_clamps_of_mymdc_and_metadata_submitter(world: Api) -> None:
    """As kaminari and metadata-submitter do: more than the most is the most, not an error."""
    r = ok(world, "GET", f"{MYMDC}/runs/?page_size={MYMDC_PAGE_SIZE + 1}")
    assert r.headers["X-Count-Per-Page"] == str(MYMDC_PAGE_SIZE)
    r = ok(world, "GET", f"{S}/folders?per_page={MAX_PER_PAGE + 1}", "alice")
    assert r.json_body["page"]["size"] == MAX_PER_PAGE


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/datasets"), ("GET", "/uris"), ("POST", "/uris"), ("GET", "/dataset/list"), ("POST", "/dataset/search")],
    ids=["catalogue-search", "dserver-get", "dserver-post", "lookup-list", "lookup-search"],
)
def test_result_window(world: Api, method: str, path: str) -> None:
    size = MAX_PAGE_SIZE if path == "/datasets" else DTOOL_PAGE_SIZE
    last = MAX_RESULT_WINDOW // size
    body: dict[str, Any] | None = {} if method == "POST" else None
    ok(world, method, f"{path}?page={last}&page_size={size}", "reader", body)
    refused(world, method, f"{path}?page={last + 1}&page_size={size}", "reader", body, field="page")


# -- lists -----------------------------------------------------------------------------------
def test_tags_per_dataset(world: Api, seed: str) -> None:
    tags = [f"t{i}" for i in range(MAX_TAGS + 1)]
    refused(world, "POST", "/datasets", "champion", registration(tags=tags), field="tags")
    ok(world, "POST", "/datasets", "champion", registration(tags=tags[:MAX_TAGS]))
    path = f"/datasets/{seed}"
    version = world.get(path).json_body["version"]
    refused(world, "PATCH", path, "champion", {"tags": tags, "version": version}, field="tags")
    before = stored(world)
    ok(world, "PATCH", path, "champion", {"tags": tags[:MAX_TAGS], "version": version})
    assert stored(world) != before  # the check of the refusals sees a write


def test_users_per_permission_list(world: Api) -> None:
    search, register = ["champion", "reader"], ["champion"]
    path = f"/base-uris/{base_uri_path(BUCKET_A)}/permissions"
    padded = search + ["reader"] * (MAX_PERMISSION_USERS - len(search))  # the same two users, at the cap
    at_cap = {"users_with_search_permissions": padded, "users_with_register_permissions": register}
    ok(world, "PUT", path, "admin", at_cap)
    over = dict(at_cap, users_with_search_permissions=[*padded, "reader"])
    refused(world, "PUT", path, "admin", over, field="users_with_search_permissions")
    lookup = {"base_uri": BUCKET_A, **over}
    refused(
        world, "POST", "/admin/permission/update_on_base_uri", "admin", lookup, field="users_with_search_permissions"
    )


def test_users_per_lookup_server_registration(world: Api) -> None:
    body = [{"username": f"u{i}"} for i in range(MAX_USERS_PER_REGISTRATION + 1)]
    refused(world, "POST", "/admin/user/register", "admin", body, field="body")


@pytest.mark.parametrize("field", ["authors", "generators", "editors"])
def test_users_per_order_list(world: Api, field: str) -> None:
    me = user_uuid("orderer")
    over = {"title": f"too many {field}", field: [me] * (MAX_LIST_USERS + 1)}
    refused(world, "POST", f"{V1}/order", "orderer", over, field=field)
    order = ok(world, "POST", f"{V1}/order", "orderer", {"title": "at the cap", field: [me] * MAX_LIST_USERS})
    refused(world, "PATCH", f"{V1}/order/{order.json_body['_id']}", "orderer", over, field=field)


def test_datasets_per_collection_cross_references_and_tag_maps(world: Api) -> None:
    order = ok(world, "POST", f"{V1}/order", "orderer", {"title": "collections"}).json_body["_id"]
    dataset = ok(world, "POST", f"{V1}/order/{order}/dataset", "orderer", {"title": "run"}).json_body["_id"]
    c = {"title": "c", "datasets": [dataset] * (MAX_COLLECTION_DATASETS + 1)}
    refused(world, "POST", f"{V1}/collection", "orderer", c, field="datasets")
    ok(world, "POST", f"{V1}/collection", "orderer", dict(c, datasets=[dataset] * MAX_COLLECTION_DATASETS))
    refs = [{"title": f"ENA {i}", "value": f"ENA:PRJEB{i}"} for i in range(MAX_CROSS_REFERENCES + 1)]
    path = f"{V1}/dataset/{dataset}"
    refused(world, "PATCH", path, "orderer", {"cross_references": refs}, field="cross_references")
    ok(world, "PATCH", path, "orderer", {"cross_references": refs[:MAX_CROSS_REFERENCES]})
    tags = {f"k{i}": "v" for i in range(MAX_TAG_ENTRIES + 1)}
    refused(world, "PATCH", path, "orderer", {"tags_standard": tags}, field="tags_standard")
    ok(world, "PATCH", path, "orderer", {"tags_standard": dict(list(tags.items())[:MAX_TAG_ENTRIES])})


def test_folder_editors_objects_and_form_parts(world: Api) -> None:
    over = {"name": "editors", "editors": ["bob"] * (MAX_EDITORS + 1)}
    refused(world, "POST", f"{S}/folders", "alice", over, field="editors")
    folder = ok(world, "POST", f"{S}/folders", "alice", dict(over, editors=["bob"] * MAX_EDITORS)).json_body
    assert folder["folderId"]
    path = f"/submissions/folders/{folder['folderId']}/objects/sample"
    refused(world, "POST", path, "alice", [SAMPLE] * (MAX_OBJECTS_PER_REQUEST + 1), field="body")
    headers, body = form([("sample", f"s{i}.xml", b"<SAMPLE_SET/>") for i in range(MAX_PARTS + 1)])
    refused(world, "POST", f"{S}/drafts/sample?folder={folder['folderId']}", "alice", raw=body, headers=headers)


def test_api_keys_per_user(world: Api) -> None:
    for i in range(MAX_KEYS_PER_USER):
        ok(world, "POST", "/users/me/keys", "keyholder", {"name": f"key {i}"})
    refused(world, "POST", "/users/me/keys", "keyholder", {"name": "one more"}, status=409, code="Conflict")
    assert world.get("/users/me/keys", user="keyholder").json_body["total"] == MAX_KEYS_PER_USER


def test_annotation_schema_size_and_description(world: Api) -> None:
    def of_size(name: str, size: int) -> dict[str, Any]:
        schema = {"type": "object", "description": ""}
        schema["description"] = "d" * (size - len(json.dumps(schema, separators=(",", ":"))))
        return {"name": name, "schema": schema}

    refused(world, "POST", "/annotation-schemas", "admin", of_size("big", MAX_SCHEMA_BYTES + 1), code="InvalidDocument")
    ok(world, "POST", "/annotation-schemas", "admin", of_size("big", MAX_SCHEMA_BYTES))
    described = {"name": "described", "description": "d" * (MAX_DESCRIPTION_CHARS + 1), "schema": {}}
    refused(world, "POST", "/annotation-schemas", "admin", described, field="description")
    ok(world, "POST", "/annotation-schemas", "admin", dict(described, description="d" * MAX_DESCRIPTION_CHARS))


# -- XML and CSV -----------------------------------------------------------------------------
def document(inner: bytes) -> bytes:
    """An XML file that is no sample set: one within the caps is read whole, then refused for its root."""
    return b"<DOC>" + inner + b"</DOC>"


NOT_A_SAMPLE = "the root element must be SAMPLE_SET or SAMPLE"


XML_CAPS: list[tuple[str, Callable[[int], bytes], int, str]] = [  # a file of n levels, elements, characters
    ("depth", lambda n: document(b"<a>" * (n - 1) + b"</a>" * (n - 1)), MAX_XML_DEPTH, "deeper than"),
    ("elements", lambda n: document(b"<a/>" * (n - 1)), MAX_XML_ELEMENTS, f"more than {MAX_XML_ELEMENTS}"),
    ("attribute", lambda n: document(b'<a b="' + b"x" * n + b'"/>'), MAX_VALUE_CHARS, "attribute value"),
    ("text", lambda n: document(b"<a>" + b"x" * n + b"</a>"), MAX_VALUE_CHARS, "element's text"),
]


@pytest.mark.parametrize(("xml", "cap", "says"), [x[1:] for x in XML_CAPS], ids=[x[0] for x in XML_CAPS])
def test_xml_caps(world: Api, xml: Callable[[int], bytes], cap: int, says: str) -> None:
    """One past the cap is refused by the cap; exactly the cap is read whole (and refused for
    its root element only)."""
    folder = ok(world, "POST", "/submissions/folders", "alice", {"name": "xml"}).json_body["folderId"]
    path = f"/submissions/folders/{folder}/objects/sample"
    refused(world, "POST", path, "alice", raw=xml(cap + 1), headers=XML, code="InvalidDocument", says=says)
    checked = ok(world, "POST", "/submissions/validate/sample", "alice", raw=xml(cap), headers=XML).json_body
    assert checked["errors"] == [{"path": "/DOC", "message": NOT_A_SAMPLE}], checked


def test_xml_size(world: Api) -> None:
    """At the default settings the body cap (no larger than ``MAX_XML_BYTES``) answers first;
    with a larger body cap, the XML cap itself refuses the file."""
    folder = ok(world, "POST", "/submissions/folders", "alice", {"name": "xml size"}).json_body["folderId"]
    path = f"/submissions/folders/{folder}/objects/sample"
    big = document(b"") + b"\n" * (MAX_XML_BYTES + 1 - len(document(b"")))  # white space after the root
    assert len(big) == MAX_XML_BYTES + 1 and root().settings.max_body_bytes <= MAX_XML_BYTES
    refused(world, "POST", path, "alice", raw=big, headers=XML, status=413, code="PayloadTooLarge")
    original = root()
    install(original.rewired(replace(original.settings, max_body_bytes=2 * MAX_XML_BYTES)))
    try:
        refused(world, "POST", path, "alice", raw=big, headers=XML, code="InvalidDocument", says="larger than")
        at_cap = big[:-1]
        checked = ok(world, "POST", "/submissions/validate/sample", "alice", raw=at_cap, headers=XML).json_body
        assert checked["errors"] == [{"path": "/DOC", "message": NOT_A_SAMPLE}], checked
    finally:
        install(original)


def test_stored_object_size(world: Api) -> None:
    folder = ok(world, "POST", "/submissions/folders", "alice", {"name": "big sample"}).json_body["folderId"]
    value = "v" * MAX_VALUE_CHARS
    attributes = [{"TAG": f"t{i}", "VALUE": value} for i in range(MAX_OBJECT_BYTES // MAX_VALUE_CHARS + 1)]
    document = {**SAMPLE, "SAMPLE_ATTRIBUTES": {"SAMPLE_ATTRIBUTE": attributes}}
    path = f"/submissions/folders/{folder}/objects/sample"
    refused(world, "POST", path, "alice", document, code="InvalidDocument", says=f"at most {MAX_OBJECT_BYTES}")


def test_csv_sample_sheet_rows_and_columns(world: Api) -> None:
    folder = ok(world, "POST", "/submissions/folders", "alice", {"name": "csv"}).json_body["folderId"]
    path = f"{S}/drafts/sample?folder={folder}"
    rows = sample_sheet(MAX_ROWS + 1)
    refused(world, "POST", path, "alice", raw=rows, headers=CSV, code="InvalidDocument", says=f"row {MAX_ROWS + 2}")

    def sheet(columns: int) -> bytes:  # four named columns, the others sample attributes
        header = ["alias", "title", "taxon_id", "scientific_name", *(f"c{i}" for i in range(columns - 4))]
        row = [f"s{columns}", "t", "410658", "soil metagenome", *["v"] * (columns - 4)]
        return f"{','.join(header)}\n{','.join(row)}\n".encode()

    over = sheet(MAX_COLUMNS + 1)
    refused(world, "POST", path, "alice", raw=over, headers=CSV, code="InvalidDocument", says="columns")
    ok(world, "POST", path, "alice", raw=sheet(MAX_COLUMNS), headers=CSV)


# -- uploads and deposits --------------------------------------------------------------------
def test_upload_folder_length_and_the_forms_size_limit(world: Api) -> None:
    refused(world, "POST", "/uploads", "champion", {"base_uri": BUCKET_A, "folder": "f" * (MAX_FOLDER_CHARS + 1)})
    upload = ok(world, "POST", "/uploads", "champion", {"base_uri": BUCKET_A, "folder": "f" * MAX_FOLDER_CHARS})
    answer = upload.json_body
    assert answer["max_bytes"] == root().settings.upload_max_bytes  # S3 enforces it: the form says so
    policy = json.loads(base64.b64decode(answer["fields"]["policy"]))
    ranges = [c for c in policy["conditions"] if isinstance(c, list) and c[0] == "content-length-range"]
    assert [r[2] for r in ranges] == [answer["max_bytes"]], policy


def test_deposit_file_name_length(world: Api) -> None:
    name = "a" * (MAX_DEPOSIT_NAME_CHARS - len(".zip")) + ".zip"
    refused(world, "POST", "/archives", "admin", {"filename": "a" + name}, field="filename")
    assert ok(world, "POST", "/archives", "admin", {"filename": name}).json_body["uri"].endswith("/" + name)
