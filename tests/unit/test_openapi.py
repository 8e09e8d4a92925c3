"""The API description (issue 21, unit tier): committed and fresh, a valid OpenAPI 3.1
document, every route of the app in it with who may call it as ``endpoint`` enforces it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from chalicelib.catalogue.validation import parse_base_uri
from chalicelib.errors import ValidationError
from chalicelib.openapi.compat_operations import COMPAT_DOCS
from chalicelib.openapi.compat_schemas import COMPAT_SCHEMAS, DTOOL_SCHEMAS
from chalicelib.openapi.compat_schemas_mymdc import MYMDC_SCHEMAS
from chalicelib.openapi.compat_schemas_submissions import SUBMISSION_SCHEMAS
from chalicelib.openapi.compat_schemas_tracker import TRACKER_SCHEMAS
from chalicelib.openapi.document import DOCUMENT, for_deployment, load, success_statuses
from chalicelib.openapi.operations import DOCS as NATIVE_DOCS
from chalicelib.openapi.request_schemas import BASE_URI
from chalicelib.openapi.schemas import NATIVE_SCHEMAS
from chalicelib.openapi.shapes import sort_pattern
from chalicelib.routes._http import OPTIONAL
from chalicelib.routes._smorest import parse_sort
from infra.openapi import generate


@pytest.fixture(scope="module")
def routes() -> Any:
    generate()  # sets what app.py needs to import
    import app as app_module

    return app_module.app.routes


def test_the_committed_description_is_fresh_and_valid() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == generate(), "stale: run python -m infra.openapi"
    validate(load())  # OpenAPI 3.1: raises on any violation


def test_every_route_is_described_with_who_may_call_it(routes: Any) -> None:
    paths = load()["paths"]
    described = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    actual = {(m, p) for p, entries in routes.items() for m in entries}
    assert described == actual
    for path, entries in routes.items():
        for method, entry in entries.items():
            operation = paths[path][method.lower()]
            auth = entry.view_function.route_access.auth
            schemes = [next(iter(s), None) for s in operation["security"]]
            if auth is False:
                assert schemes == [], (method, path)
            elif auth == OPTIONAL:
                assert schemes == [None, "bearer", "apiKey", "oauth2"], (method, path)
            else:
                assert schemes == ["bearer", "apiKey", "oauth2"], (method, path)
            error = "MymdcError" if path.startswith("/mymdc/api/") else "Error"  # myMdC's own shape
            assert operation["responses"]["default"]["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{error}"
            }


def test_success_statuses_are_read_from_the_handlers() -> None:
    def plain() -> dict[str, str]:
        return {}

    def made() -> Any:
        return created({}, "/x")  # noqa: F821 (read, never run)

    def gone() -> Any:
        return no_content()  # noqa: F821

    def either(flag: bool) -> Any:
        if flag:
            return Response(body="", status_code=204)  # noqa: F821
        return {}

    assert success_statuses(plain) == [200]
    assert success_statuses(made) == [201]
    assert success_statuses(gone) == [204]
    assert success_statuses(either) == [200, 204]


def test_a_deployment_names_its_server_and_token_endpoint() -> None:
    document = for_deployment(load(), "/api", "https://auth.example.org/oauth2/token")
    assert document["servers"] == [{"url": "/api"}]
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "https://auth.example.org/oauth2/token"
    without = for_deployment(load(), "/", None)
    assert "oauth2" not in without["components"]["securitySchemes"]
    validate(without)  # no operation names the scheme that is gone
    assert load()["servers"] == [{"url": "/"}]  # the committed document is left as it was


def test_every_described_operation_is_a_route(routes: Any) -> None:
    """The native and compatibility descriptions name real routes, each once."""
    actual = {(m, p) for p, entries in routes.items() for m in entries}
    assert not set(NATIVE_DOCS) & set(COMPAT_DOCS)
    assert set(NATIVE_DOCS) | set(COMPAT_DOCS) <= actual
    assert not set(NATIVE_SCHEMAS) & set(COMPAT_SCHEMAS), "a compatibility schema hides a native one"
    parts = (DTOOL_SCHEMAS, MYMDC_SCHEMAS, TRACKER_SCHEMAS, SUBMISSION_SCHEMAS)
    assert sum(map(len, parts)) == len(COMPAT_SCHEMAS), "two compatibility modules name the same schema"
    schemas = load()["components"]["schemas"]
    for doc in (*NATIVE_DOCS.values(), *COMPAT_DOCS.values()):
        assert doc.request is None or doc.request in schemas, doc
        assert doc.response is None or doc.response in schemas, doc


COMPAT_TAGS = {"dserver", "dtool-lookup-server 0.18", "myMdC", "Data Tracker", "metadata-submitter"}
# compatibility routes that answer no JSON record or list, or take no JSON body
NO_ANSWER = {("GET", "/api/v1/logout")}
NO_BODY = {("POST", "/api/v1/logout"), ("PATCH", "/submitter/publish/{folder_id}")}


def _schema(content: Any) -> Any:
    return (content or {}).get("application/json", {}).get("schema")


def test_the_compatibility_apis_main_routes_have_schemas() -> None:
    """Every GET of a compatibility API answered 200 says its shape, and so does every write
    that takes JSON (what is left: empty answers, XML, CSV and multipart bodies)."""
    for path, item in load()["paths"].items():
        for method, operation in item.items():
            key = (method.upper(), path)
            if operation["tags"][0] not in COMPAT_TAGS:
                continue
            ok = operation["responses"].get("200")
            if method == "get" and ok is not None and key not in NO_ANSWER:
                assert _schema(ok.get("content")), key
            body = (operation.get("requestBody") or {}).get("content") or {}
            if set(body) == {"application/json"} and key not in NO_BODY:
                assert _schema(body), key


def _with_examples(schema: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    """Every (pointer, subschema) of ``schema`` that has ``examples``, following the keywords
    that hold subschemas (a property named "examples" is not the keyword)."""
    if not isinstance(schema, dict):
        return
    if "examples" in schema:
        yield pointer, schema
    for keyword in ("items", "additionalProperties", "not"):
        yield from _with_examples(schema.get(keyword), f"{pointer}/{keyword}")
    for keyword in ("properties", "patternProperties"):
        for name, sub in (schema.get(keyword) or {}).items():
            yield from _with_examples(sub, f"{pointer}/{keyword}/{name}")
    for keyword in ("allOf", "anyOf", "oneOf", "prefixItems"):
        for i, sub in enumerate(schema.get(keyword) or []):
            yield from _with_examples(sub, f"{pointer}/{keyword}/{i}")


def test_every_example_is_valid_against_its_schema() -> None:
    components = load()["components"]
    found = [
        (pointer, schema)
        for name, schema in components["schemas"].items()
        for pointer, schema in _with_examples(schema, f"#/components/schemas/{name}")
    ]
    named = {pointer.rsplit("/", 1)[-1] for pointer, _ in found if pointer.count("/") == 3}
    assert {"DatasetSummary", "Dataset", "DatasetPage", "User", "BaseUri", "Archive", "Log", "Folder"} <= named
    assert {"SubmittedObject", "AnnotationSchema", "Registration", "UploadForm", "Summary", "Manifest"} <= named
    for pointer, schema in found:
        validator = Draft202012Validator(
            {"$ref": pointer, "components": components}, format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for example in schema["examples"]:
            problems = [f"{e.message} at {'/'.join(map(str, e.absolute_path))}" for e in validator.iter_errors(example)]
            assert not problems, (pointer, problems)


def test_an_example_that_breaks_its_schema_is_caught() -> None:
    components = load()["components"]
    validator = Draft202012Validator({"$ref": "#/components/schemas/Dataset", "components": components})
    example = dict(components["schemas"]["Dataset"]["examples"][0])
    assert validator.is_valid(example)
    del example["uuid"]  # required by DatasetSummary, through allOf
    assert not validator.is_valid(example)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" +-,_abcdeimnrsu\t", max_size=30))
def test_the_sort_pattern_says_what_parse_sort_takes(raw: str) -> None:
    fields = ("username", "is_admin")
    try:
        parse_sort(raw, fields, "username")
        taken = True
    except ValidationError:
        taken = False
    assert taken == bool(re.fullmatch(sort_pattern(fields), raw)), raw


@pytest.mark.parametrize("raw", ["username", "-username", "+is_admin", " username", "-is_admin,username"])
def test_parse_sort_takes_a_prefixed_comma_list(raw: str) -> None:
    assert parse_sort(raw, ("username", "is_admin"), "username")


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.builds(lambda s, rest: f"{s}://{rest}", st.sampled_from(["s3", "file", "S3", "http"]), st.text(max_size=30)),
        st.builds(lambda rest: f"s3://{rest}", st.text(alphabet="ab./ \x1c\x85\u2028%?#-", max_size=12)),
    )
)
def test_the_base_uri_schema_says_what_parse_base_uri_takes(value: str) -> None:
    try:
        parse_base_uri(value)
        taken = True
    except ValidationError:
        taken = False
    described = re.fullmatch(BASE_URI["pattern"], value) is not None and len(value) <= BASE_URI["maxLength"]
    assert taken == described, value
