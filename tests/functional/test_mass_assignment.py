"""OWASP API3 (issue 22): no caller sets a property the server owns, on any operation.

Generated from the API description, so that a new operation is covered without changing
this test:

- **declared**: every request body property whose name says the server or an administrator
  owns it (:data:`PROTECTED`) must be one :data:`DECLARED` names, with who may set it and why;
  a new one fails here until it is reviewed.
- **injected**: every operation with a JSON body is called by champion, reader, outsider and
  bravo (none an administrator) with bodies generated from its schema (schemathesis, a fixed
  seed) to which the protected properties it does not declare are added with marked values.
  Whatever the answer (a refusal is fine, a 5xx is not), no answer and nothing stored (every
  table's items, the search index) may carry a marked value under its name, and no caller
  becomes an administrator or gains a permission topic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation

from chalicelib import bootstrap, resources
from chalicelib.composition import install, root
from chalicelib.config import Settings
from chalicelib.domain import User, user_uuid
from infra.local import xfel
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api, add_personas, folder_with_a_draft, running_api
from tests.functional.test_schemathesis import _fuzz, operations, with_password_sign_in
from tests.support.chalice_transport import BASE_URL, session_for
from tests.support.data import registration
from tests.support.dois import install_dois
from tests.support.tokens import TokenMint

# Property names that only the server (or an administrator) decides, and the value each is
# injected with: a value no test data has, so that finding it stored means it was assigned.
INJECTED: dict[str, Any] = {
    "version": 987654,
    "created_at": "1999-09-09T09:09:09Z",
    "updated_at": "1999-09-09T09:09:09Z",
    "registered_at": "1999-09-09T09:09:09Z",
    "status": "mass-assigned",
    "state": "mass-assigned",
    "owner": "mallory-mass-assigned",
    "creator": "mallory-mass-assigned",
    "created_by": "mallory-mass-assigned",
    "registered_by": "mallory-mass-assigned",
    "kind": "bag",  # set by the path an entry came in by (no bag is registered here)
    "is_admin": True,
    "admin": True,
    "permissions": ["USER_MANAGEMENT", "DATA_MANAGEMENT"],
    "topics": ["USER_MANAGEMENT", "DATA_MANAGEMENT"],
    "editors": ["mallory-mass-assigned"],
}
PROTECTED = frozenset(INJECTED)
# checked by value wherever they land (answers and stored items); the booleans and topic lists
# are checked on the personas themselves (an administrator is legitimately an administrator)
MARKED = {k: v for k, v in INJECTED.items() if not isinstance(v, bool) and k not in ("permissions", "topics")}
PERSONAS = ("champion", "reader", "outsider", "bravo", "daq")  # daq: myMdC's registrar

_LOCK = "the optimistic-lock precondition: compared with the stored version, never assigned"
_ADMIN = "an administrators' route (function-level authorization: tests/functional/test_route_walk.py)"
_EDITORS = "who may edit the record: set by its creator and its editors only (tests/functional/test_projects.py)"
# (method, path, property) -> why a caller may send it
DECLARED: dict[tuple[str, str, str], str] = {
    ("PATCH", "/datasets/{uuid}", "version"): _LOCK,
    ("PATCH", "/collections/{uuid}", "version"): _LOCK,
    ("PATCH", "/projects/{uuid}", "version"): _LOCK,
    ("PATCH", "/projects/{uuid}/datasets/{dataset}", "version"): _LOCK,
    ("PATCH", "/submissions/folders/{folder_id}", "version"): _LOCK,
    ("PATCH", "/users/{username}", "version"): _LOCK,
    ("PATCH", "/users/{username}", "is_admin"): _ADMIN,
    ("PUT", "/users/{username}", "is_admin"): _ADMIN,
    ("POST", "/users", "is_admin"): _ADMIN,
    ("POST", "/admin/user/register", "is_admin"): _ADMIN,
    ("PUT", "/users/{username}/topics", "topics"): _ADMIN,
    ("POST", "/api/v1/user", "permissions"): "the Data Tracker's USER_MANAGEMENT topic only",
    ("PATCH", "/api/v1/user/{user_id}", "permissions"): "the Data Tracker's USER_MANAGEMENT topic only",
    # a dtool dataset's own administrative metadata (when it was made), not the catalogue's
    ("POST", "/datasets", "created_at"): "dtool's own metadata: when the dataset was created",
    ("POST", "/dataset/register", "created_at"): "dtool's own metadata: when the dataset was created",
    ("PUT", "/uris/{uri}", "created_at"): "dtool's own metadata: when the dataset was created",
    ("PUT", "/uris/{scheme}/{bucket}/{name}", "created_at"): "dtool's own metadata: when the dataset was created",
    ("POST", "/api/v1/order", "editors"): _EDITORS,
    ("PATCH", "/api/v1/order/{uuid}", "editors"): _EDITORS,
    ("POST", "/api/v1/collection", "editors"): _EDITORS,
    ("PATCH", "/api/v1/collection/{uuid}", "editors"): _EDITORS,
    ("POST", "/projects", "editors"): _EDITORS,
    ("PATCH", "/projects/{uuid}", "editors"): _EDITORS,
    ("POST", "/collections", "editors"): _EDITORS,
    ("PATCH", "/collections/{uuid}", "editors"): _EDITORS,
    ("POST", "/submissions/folders", "editors"): _EDITORS,
    ("PATCH", "/submissions/folders/{folder_id}", "editors"): _EDITORS,
    ("POST", "/submitter/folders", "editors"): _EDITORS,
}
EXAMPLES = int(os.environ.get("CATALOGUE_FUZZ_EXAMPLES") or (25 if os.environ.get("CATALOGUE_SOAK") == "1" else 3))
ASL = (Path(__file__).resolve().parents[2] / resources.ARCHIVE_DEFINITION_FILE).read_text()
REPORT = Path(__file__).resolve().parents[2] / "build" / "test-output" / "mass_assignment.json"


def _json_schema(operation: APIOperation) -> dict[str, Any] | None:
    """The operation's JSON request body schema, references resolved one level at a time."""
    body = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json")
    return None if body is None else dict(body.get("schema", {}))


def declared_properties(schema: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> set[str]:
    """Every property name ``schema`` accepts, at any depth (through refs, arrays, allOf/anyOf/oneOf)."""
    if not isinstance(schema, dict):
        return set()
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return set() if name in seen else declared_properties(components[name], components, seen | {name})
    names = set(schema.get("properties", {}))
    for nested in schema.get("properties", {}).values():
        names |= declared_properties(nested, components, seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            names |= declared_properties(part, components, seen)
    for key in ("items", "additionalProperties"):
        names |= declared_properties(schema.get(key), components, seen)
    return names


def body_operations() -> list[APIOperation]:
    return [op for op in operations() if _json_schema(op) is not None]


def _components() -> dict[str, Any]:
    from chalicelib.openapi.document import load

    return dict(load()["components"]["schemas"])


def test_every_protected_property_a_request_may_carry_is_declared_with_its_reason() -> None:
    components = _components()
    found = {
        (op.method.upper(), op.path, name)
        for op in body_operations()
        for name in declared_properties(_json_schema(op), components) & PROTECTED
    }
    assert found - set(DECLARED) == set(), "review these (who may set them?) and add them to DECLARED"
    assert set(DECLARED) - found == set(), "DECLARED names properties the description no longer has"


def marked_pairs(value: Any, path: str = "") -> Iterator[str]:
    """Where ``value`` (an answer or a stored item, JSON strings decoded) holds a marked value
    under its own name."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            return
    if isinstance(value, dict):
        for key, nested in value.items():
            if key in MARKED and (nested == MARKED[key] or nested == str(MARKED[key])):
                yield f"{path}/{key}"
            yield from marked_pairs(nested, f"{path}/{key}")
    elif isinstance(value, list):
        for i, nested in enumerate(value):
            yield from marked_pairs(nested, f"{path}/{i}")


def _inject(body: Any, undeclared: set[str]) -> Any:
    if isinstance(body, dict):
        return {**body, **{name: INJECTED[name] for name in undeclared}}
    if isinstance(body, list):
        return [_inject(item, undeclared) for item in body]
    return body


def names_a_property(response: Any, names: set[str]) -> bool:
    """Whether a refusal is of one of ``names`` (our ``Field``, myMdC's ``info`` keys, the
    submitter's problems, or the message)."""
    try:
        error = response.json()
    except ValueError:
        return False
    if not isinstance(error, dict):
        return False
    said = json.dumps(error)
    return error.get("Field") in names or any(f"'{n}'" in said or f'\\"{n}\\"' in said for n in names)


def _standing(api: Api) -> dict[str, Any]:
    """What makes each persona powerful: the administrator flag and the permission topics."""
    standing = {}
    for name in PERSONAS:
        user = api.get(f"/users/{name}").json_body
        tracker = api.get(f"/api/v1/user/{user_uuid(name)}").json_body
        standing[name] = (user.get("is_admin"), sorted(tracker.get("user", tracker).get("permissions", [])))
    return standing


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Api, dict[str, str]]]:
    """The personas; champion with the Data Tracker's ORDERS topics and a dataset, a project, a
    project dataset, a collection and a submission folder with a draft of theirs; daq the
    registrar of myMdC's fixture records (metadata_client's own). Yields the API and the
    records' ids by path parameter name."""
    mint = TokenMint()
    settings_ = Settings(stage="test", region="eu-west-1", issuers=(mint.issuer_config(),), inline_cap_bytes=4096)
    with running_api(settings_, mint) as api:
        add_personas(api)
        with_password_sign_in(mint)
        arn = bootstrap.create_archive_state_machine(root(), ASL)  # execution is off in mock_aws
        install(root().rewired(replace(root().settings, archive_state_machine_arn=arn)))
        install_dois()  # the DOI routes do their work rather than answer "not configured"
        assert api.post("/users", {"username": "daq"}).status_code == 201
        xfel.load(root(), User(username="admin", is_admin=True), xfel.test_fixtures(), "daq")
        r = api.patch(f"/api/v1/user/{user_uuid('champion')}", {"permissions": ["ORDERS", "ORDERS_SPECIAL"]})
        assert r.status_code == 200, r.body
        dataset = registration(BUCKET_A)
        assert api.post("/datasets", dataset, user="champion").status_code == 201
        made = api.post("/projects", {"title": "Permafrost cores"}, user="champion")
        assert made.status_code == 201, made.body
        project = made.json_body["_id"]
        made = api.post(f"/projects/{project}/datasets", {"title": "Core 1"}, user="champion")
        collection = api.post("/collections", {"title": "Picks"}, user="champion").json_body["_id"]
        folder, accession = folder_with_a_draft(api)
        assert made.status_code == 201, made.body
        api.sync()
        uuid = str(dataset["uuid"])
        yield (
            api,
            {
                "uuid": uuid,
                "project": project,
                "dataset": made.json_body["_id"],
                "collection": collection,
                "folder_id": folder,
                "accession": accession,
                "uri": f"{BUCKET_A}/{uuid}",
            },
        )


def path_parameters(path: str, persona: str, ids: dict[str, str]) -> dict[str, str]:
    """The world's records for ``path``'s parameters (``{uuid}`` names a different kind of
    record under each prefix); a parameter it does not know keeps its generated value."""
    uuid = ids["uuid"]
    if path.startswith(("/projects", "/api/v1/order")):
        uuid = ids["project"]
    elif path.startswith(("/collections", "/api/v1/collection")):
        uuid = ids["collection"]
    elif path.startswith("/api/v1/dataset"):
        uuid = ids["dataset"]
    return {
        "uuid": uuid,
        "dataset": ids["dataset"],
        "folder_id": ids["folder_id"],
        "accession": ids["accession"],
        "schema": "sample",
        "id": "-1",  # every kind of myMdC fixture record has one (the types: 1)
        "username": persona,
        "user_id": user_uuid(persona),
        "base_uri": quote(BUCKET_A, safe=""),
        "uri": quote_plus(ids["uri"]),
        "scheme": "s3",
        "bucket": BUCKET_A.removeprefix("s3://"),
        "name": uuid,
    }


def in_world(call: Callable[..., None], known: dict[str, str], **bound: Any) -> Callable[[Any], None]:
    """``call(case, **bound)`` for each case, its path parameters those of the world's records."""

    def run(case: Any) -> None:
        case.path_parameters = {k: known.get(k, v) for k, v in (case.path_parameters or {}).items()}
        call(case, **bound)

    return run


def repaired(value: Any, persona: str) -> Any:
    """A generated body made to pass the rules no schema states (``x-refusals``): the world's
    base URI, uris under it, persons who exist, myMdC records that exist; fields that must
    name something of the caller's (a project, an ORCID's check digit) left out. Protected
    properties are added after this."""
    if isinstance(value, list):
        return [repaired(item, persona) for item in value]
    if not isinstance(value, dict):
        return value
    base = BUCKET_B if persona == "bravo" else BUCKET_A
    out: dict[str, Any] = {}
    for key, nested in value.items():
        if key in ("projectId", "orcid", "doiInfo", "annotation_schema", "datasets"):
            continue
        if key == "base_uri":
            out[key] = base
        elif key == "uri" and isinstance(nested, str):
            out[key] = f"{base}/{value.get('uuid', 'x')}"
        elif key in ("editors", "authors", "generators") and isinstance(nested, list):
            out[key] = [user_uuid(persona)]
        elif key == "organisation":
            out[key] = user_uuid(persona)
        elif key.endswith("_type_id"):
            out[key] = 1
        elif key.endswith("_id") and isinstance(nested, (int, str)) and key not in ("user_id",):
            out[key] = -1
        else:
            out[key] = repaired(nested, persona)
    return out


def test_no_caller_assigns_a_property_the_server_owns(world: tuple[Api, dict[str, str]]) -> None:
    api, ids = world
    components = _components()
    before = _standing(api)
    assert not any(admin for admin, _ in before.values()), before
    session, _ = session_for(api)
    reached: dict[str, int] = {}  # answered 2xx: the properties were ignored (checked below)
    refused: dict[str, int] = {}  # refused naming an injected property
    leaks: list[str] = []
    for persona in PERSONAS:
        headers = {"Authorization": f"Bearer {api.mint.access_token(persona)}", "X-User-Email": "me@example.org"}
        for op in body_operations():
            undeclared = set(PROTECTED) - declared_properties(_json_schema(op), components)
            key = f"{op.method.upper()} {op.path}"
            known = path_parameters(op.path, persona, ids)

            def call(case: Any, persona: str, headers: dict[str, str], undeclared: set[str], key: str) -> None:
                if case.media_type not in (None, "application/json"):
                    return
                case.body = _inject(repaired(case.body, persona), undeclared)
                response = case.call(base_url=BASE_URL, session=session, headers=headers)
                assert response.status_code < 500, (key, response.status_code, response.text[:300])
                if response.status_code in (400, 422) and names_a_property(response, undeclared):
                    refused[key] = refused.get(key, 0) + 1
                if 200 <= response.status_code < 300:
                    reached[key] = reached.get(key, 0) + 1
                    if response.content and "json" in response.headers.get("Content-Type", ""):
                        where = list(marked_pairs(response.json()))
                        if where:
                            leaks.append(f"{persona}: {key} answers {where}")

            bound = in_world(call, known, persona=persona, headers=headers, undeclared=undeclared, key=key)
            failures = _fuzz(op, GenerationMode.POSITIVE, bound, max_examples=EXAMPLES)
            assert not failures, failures
    api.sync()
    for name, table in dynamodb_backends[DEFAULT_ACCOUNT_ID][root().settings.region].tables.items():
        for item in table.all_items():
            where = list(marked_pairs(item.to_json()))
            if where:
                leaks.append(f"table {name} stores {where}")
    for doc_id, doc in api.search.docs.items():
        where = list(marked_pairs(doc))
        if where:
            leaks.append(f"index {doc_id} holds {where}")
    assert _standing(api) == before
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps({"examples": EXAMPLES, "reached": reached, "refused": refused}, indent=1, sort_keys=True)
    )
    assert not leaks, "\n".join(leaks)
    # the bodies reached the handlers (stored, or refused for what was injected), not only
    # refusals of something else
    assert len(reached) >= 15 and len(refused) >= 15, (sorted(reached), sorted(refused))
