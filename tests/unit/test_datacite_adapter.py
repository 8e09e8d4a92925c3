"""DataCiteRest's own behaviour over a scripted session (what the stand-in cannot show): retries
of 5xx, 429 and network failures, what it sends, the account read once and read again after a
refusal, and errors that never carry requests' types."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from chalicelib.adapters.datacite import (
    JSON_API,
    CachedCredentials,
    Credentials,
    DataCiteRest,
    DoiAccountRefused,
    DoiRefused,
    DoiServiceUnavailable,
)
from chalicelib.adapters.secrets import SecretNotFound

DOI = "10.5072/1c10766c-4a1a-4bd5-a09b-1d0ab0ad3c4f"
ANSWER = {"data": {"id": DOI, "type": "dois", "attributes": {"doi": DOI, "state": "draft", "url": None}}}


class Reply:
    def __init__(self, status: int, body: Any = None) -> None:
        self.status_code = status
        self.content = b"" if body is None else json.dumps(body).encode()


class Session:
    """Answers from ``script`` in order (an exception is raised); keeps every request."""

    def __init__(self, *script: Reply | Exception) -> None:
        self.script = list(script)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kw: Any) -> Reply:
        self.sent.append({"method": method, "url": url, **kw})
        answer = self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def adapter(session: Session, credentials: Any = None, slept: list[float] | None = None) -> DataCiteRest:
    sleep = (slept if slept is not None else []).append
    account = credentials or (lambda: Credentials("LAB.CAT", "s3cret"))
    return DataCiteRest(session, "https://api.test.datacite.org/", "10.5072", account, sleep=sleep)


def test_a_create_is_sent_as_json_api_with_basic_auth_and_no_redirects() -> None:
    session = Session(Reply(201, ANSWER))
    created = adapter(session).create(DOI, {"titles": [{"title": "t"}]})
    assert (created.doi, created.state) == (DOI, "draft")
    [sent] = session.sent
    assert (sent["method"], sent["url"]) == ("POST", "https://api.test.datacite.org/dois")
    assert sent["headers"] == {"Accept": JSON_API, "Content-Type": JSON_API}
    assert sent["auth"] == ("LAB.CAT", "s3cret") and sent["allow_redirects"] is False and sent["timeout"]
    body = json.loads(sent["data"])
    assert body == {"data": {"type": "dois", "attributes": {"titles": [{"title": "t"}], "doi": DOI}}}


def test_an_update_names_the_doi_in_the_path_and_the_event_in_the_attributes() -> None:
    session = Session(Reply(200, ANSWER))
    adapter(session).update(DOI, {"url": "https://x.example/"}, "publish")
    [sent] = session.sent
    assert (sent["method"], sent["url"]) == ("PUT", f"https://api.test.datacite.org/dois/{DOI}")
    assert json.loads(sent["data"])["data"]["attributes"] == {
        "url": "https://x.example/",
        "doi": DOI,
        "event": "publish",
    }


def test_5xx_429_and_network_failures_are_tried_again_then_unavailable() -> None:
    slept: list[float] = []
    session = Session(Reply(503), requests.ConnectionError("reset"), Reply(200, ANSWER))
    assert adapter(session, slept=slept).get(DOI).state == "draft"
    assert len(session.sent) == 3 and len(slept) == 2
    with pytest.raises(DoiServiceUnavailable) as failed:
        adapter(Session(Reply(429), Reply(500), requests.Timeout("slow"))).get(DOI)
    assert not isinstance(failed.value, requests.RequestException)  # the port's error, never requests'


def test_a_refusal_is_not_tried_again_and_names_datacite_s_titles() -> None:
    errors = {"errors": [{"status": "422", "title": "can't be blank", "source": "titles"}]}
    session = Session(Reply(422, errors))
    with pytest.raises(DoiRefused) as refused:
        adapter(session).update(DOI, {}, "publish")
    assert refused.value.titles == ("titles: can't be blank",) and len(session.sent) == 1


def test_the_account_is_read_once_and_again_after_datacite_refuses_it() -> None:
    reads: list[int] = []

    def load() -> Credentials:
        reads.append(1)
        return Credentials("LAB.CAT", f"pw{len(reads)}")

    credentials = CachedCredentials(load)
    session = Session(Reply(200, ANSWER), Reply(200, ANSWER), Reply(401), Reply(200, ANSWER))
    rest = adapter(session, credentials)
    rest.get(DOI)
    rest.get(DOI)
    assert len(reads) == 1
    with pytest.raises(DoiAccountRefused):
        rest.get(DOI)
    rest.get(DOI)
    assert len(reads) == 2 and session.sent[-1]["auth"] == ("LAB.CAT", "pw2")


def test_an_account_that_cannot_be_read_is_unavailable_and_read_again_next_time() -> None:
    attempts: list[int] = []

    def load() -> Credentials:
        attempts.append(1)
        raise SecretNotFound("no secret 'catalogue/datacite'")

    with pytest.raises(DoiServiceUnavailable):
        adapter(Session(), CachedCredentials(load)).get(DOI)
    assert len(attempts) == 3  # each attempt reads it again: a failed read is not kept
