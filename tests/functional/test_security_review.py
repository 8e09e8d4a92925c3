"""Regression tests of issue 15's security review: each reproduction must fail now.

Findings 5-9 here (leaky 5xx bodies, odd numbers, stage failing open, forged log lines,
system actor names); the others are tested beside the code they concern.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.catalogue.index_maintenance import drift, reindex
from chalicelib.composition import root
from chalicelib.config import ConfigError, Settings
from chalicelib.errors import SearchUnavailable
from tests.functional.conftest import Api
from tests.support.data import registration

LEAKY = (
    "search backend: search failed: ConnectionError(<urllib3.connection.HTTPConnection>: "
    "Failed to establish a new connection to vpc-catalogue.eu-west-1.es.amazonaws.com:443) "
    "User: arn:aws:sts::123456789012:assumed-role/catalogue-lambda is not authorized"
)


# --- finding 5: internals in error bodies --------------------------------------------------


def test_a_503_says_what_is_unavailable_and_nothing_about_the_backend(
    personas: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise SearchUnavailable(LEAKY)

    monkeypatch.setattr(root().search, "search", down)
    with caplog.at_level(logging.ERROR, logger="chalicelib.routes._http"):
        r = personas.get("/datasets?q=x", user="reader")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    body = r.json_body
    assert body["Code"] == "SearchUnavailable"
    text = r.body.decode()
    for secret in ("amazonaws.com", "443", "arn:", "123456789012", "ConnectionError"):
        assert secret not in text
    assert "123456789012" in caplog.text  # the details are in the log, for the operator


# --- finding 6: 500s on odd numbers --------------------------------------------------------

# "²" and "٣" pass str.isdigit; int("²") raises, int("٣") is 3
ODD = ["²", "٣", "1²", "-1", "+1", " 1", "1.0", "0x1", "1_0", "9" * 12, ""]


def test_search_paging_with_odd_numbers_is_400(personas: Api) -> None:
    for param in ("page", "page_size"):
        for value in ODD:
            r = personas.get(f"/datasets?{param}={value}", user="reader")
            assert (r.status_code, r.json_body["Field"]) == (400, param), (param, value, r.body)


def test_log_limit_and_archive_paging_with_odd_numbers_are_400(personas: Api) -> None:
    body = registration(base_uri="s3://bucket-a")
    assert personas.post("/datasets", body, user="champion").status_code == 201
    for value in [v for v in ODD if v]:  # an empty value means the default here
        r = personas.get(f"/datasets/{body['uuid']}/log?limit={value}", user="champion")
        assert (r.status_code, r.json_body["Field"]) == (400, "limit"), (value, r.body)
        for param in ("page", "page_size"):
            r = personas.get(f"/archives?{param}={value}")
            assert (r.status_code, r.json_body["Field"]) == (400, param), (param, value, r.body)


def test_if_match_with_odd_numbers_is_400(personas: Api) -> None:
    body = registration(base_uri="s3://bucket-a")
    assert personas.post("/datasets", body, user="champion").status_code == 201
    for if_match in ['"²"', '"٣"', 'W/"1²"', '"1e3"', '""']:
        headers = {"If-Match": if_match}
        r = personas.patch(f"/datasets/{body['uuid']}", {"tags": ["x"]}, user="champion", headers=headers)
        assert (r.status_code, r.json_body["Field"]) == (400, "If-Match"), (if_match, r.body)
    assert personas.get(f"/datasets/{body['uuid']}/tags", user="champion").json_body["tags"] == sorted(body["tags"])


def test_a_deeply_nested_cursor_is_400(personas: Api) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 1500 + b"]" * 1500).decode().rstrip("=")
    r = personas.get(f"/datasets?after={cursor}", user="reader")
    assert (r.status_code, r.json_body["Field"]) == (400, "after")
    body = registration(base_uri="s3://bucket-a")
    assert personas.post("/datasets", body, user="champion").status_code == 201
    r = personas.get(f"/datasets/{body['uuid']}/log?after={cursor}", user="champion")
    assert (r.status_code, r.json_body["Field"]) == (400, "after")


# --- finding 7: the stage fails open -------------------------------------------------------


@pytest.mark.parametrize("env", [{}, {"CATALOGUE_STAGE": ""}, {"CATALOGUE_STAGE": "  "}])
def test_settings_refuse_a_missing_stage(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="CATALOGUE_STAGE"):
        Settings.from_env(env)


def test_no_default_stage_is_the_local_one() -> None:
    assert Settings().stage != "local"
    assert Settings.from_env({"CATALOGUE_STAGE": "dev"}).stage == "dev"


# --- finding 9: system actors are not for users --------------------------------------------


@pytest.mark.parametrize("name", ["system", "System", "s3-ingest", "archive-worker", "anonymous", "bad name", "a:b"])
def test_a_token_for_a_reserved_or_malformed_username_is_refused(api: Api, name: str) -> None:
    token = api.mint.access_token(name)
    r = api.get("/users/me", user=None, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert r.json_body["Code"] == "Unauthorized"
    assert name not in [u["username"] for u in api.get("/users?page_size=100").json_body]  # nobody was created


@pytest.mark.parametrize("name", ["system", "SYSTEM", "s3-ingest", "archive-worker", "anonymous"])
def test_admins_cannot_create_a_user_with_a_system_name(api: Api, name: str) -> None:
    r = api.post("/users", {"username": name})
    assert (r.status_code, r.json_body["Field"]) == (400, "username")


# --- finding 2: one record stalls indexing for everyone -----------------------------------

DEEP_README = "[" * 400 + "]" * 400  # ~800 bytes; PyYAML's composer recursed until RecursionError


def _found(api: Api, uuid: str) -> bool:
    return api.get(f"/datasets?uuid={uuid}").json_body["total"] == 1


def test_a_readme_that_breaks_the_yaml_parser_is_still_indexed_and_nothing_stalls(personas: Api) -> None:
    deep = registration(base_uri="s3://bucket-a", readme=DEEP_README)
    assert personas.post("/datasets", deep, user="champion").status_code == 201
    normal = registration(base_uri="s3://bucket-a")
    assert personas.post("/datasets", normal, user="champion").status_code == 201
    assert _found(personas, deep["uuid"]) and _found(personas, normal["uuid"])


@pytest.mark.parametrize(
    "raw",
    [
        b'{"annotations": {"\\ud800": 1}}',
        b'{"annotations": {"k": "a\\udfffb"}}',
        b'{"tags": ["\\ud83d"]}',
        b'{"readme": "x\\ud800"}',
    ],
)
def test_lone_surrogates_are_refused_at_the_json_boundary(personas: Api, raw: bytes) -> None:
    body = registration(base_uri="s3://bucket-a")
    text = json.dumps({k: v for k, v in body.items() if k not in ("annotations", "tags", "readme")})
    extra = raw.decode()[1:-1]
    r = personas.post("/datasets", None, user="champion", raw=(text[:-1] + ", " + extra + "}").encode())
    assert r.status_code == 400, r.body
    assert r.json_body["Field"] == "body" and "surrogate" in r.json_body["Message"]
    assert personas.get(f"/datasets/{body['uuid']}").status_code == 404
    # edits too
    assert personas.post("/datasets", body, user="champion").status_code == 201
    r = personas.patch(f"/datasets/{body['uuid']}", None, user="champion", raw=b'{"version": 1, "tags": ["\\ud800"]}')
    assert (r.status_code, r.json_body["Field"]) == (400, "body")


def _poison(api: Api, base_uri: str = "s3://bucket-a") -> str:
    """The entry id of a record that cannot be indexed, written behind the API's back (as an older release,
    a restore or a bug could have): an annotation key with a lone surrogate."""
    body = registration(base_uri=base_uri)
    assert api.post("/datasets", body, user="champion").status_code == 201
    repo = root().repo
    stored = repo.get_dataset(body["uuid"], base_uri)
    assert stored is not None
    bad = replace(stored, content=replace(stored.content, annotations={"\ud800": 1}), version=stored.version + 1)
    repo.save_dataset(bad, stored.version)
    return stored.entry_id


def test_a_record_that_cannot_be_indexed_is_recorded_and_the_stream_moves_on(
    personas: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    poisoned = _poison(personas)
    personas.sync()  # used to raise UnicodeEncodeError for ever (the shard stalled)
    normal = registration(base_uri="s3://bucket-a")
    assert personas.post("/datasets", normal, user="champion").status_code == 201
    assert _found(personas, normal["uuid"])
    report = drift(root().repo, root().search)
    assert [u for u, _, _ in report.stale] == [poisoned]
    assert "UnicodeEncodeError" in report.reasons[poisoned] or "not serializable" in report.reasons[poisoned]
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"IndexFailures"' in line]
    assert metrics and metrics[-1]["IndexFailures"] == 1 and metrics[-1]["Stage"] == "test"


def test_reindex_with_a_poisoned_record_never_empties_the_index(personas: Api) -> None:
    good = [registration(base_uri="s3://bucket-a") for _ in range(2)]
    for body in good:
        assert personas.post("/datasets", body, user="champion").status_code == 201
    poisoned = _poison(personas)
    search = root().search
    report = reindex(root().repo, search)
    assert [u for u, _, _ in report.failed] == [poisoned]
    assert all(_found(personas, body["uuid"]) for body in good)

    # a rebuild that fails on the way: tests/contract/test_search_contract.py (both backends)
