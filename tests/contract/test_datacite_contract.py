"""The DataCite contract, run against the in-memory fake and DataCiteRest over HTTP against the
local stand-in (infra/local/datacite_standin.py), which answers as DataCite's REST API does."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from chalicelib.adapters.datacite import (
    Credentials,
    DataCite,
    DataCiteRest,
    DoiAccountRefused,
    DoiExists,
    DoiNotFound,
    DoiRefused,
    DoiServiceUnavailable,
)
from infra.local.datacite_standin import DataCiteStandIn
from tests.fakes.datacite import InMemoryDataCite

PREFIX = "10.5072"


def metadata(**changes: Any) -> dict[str, Any]:
    """A complete DataCite 4.5 record as the catalogue sends it."""
    attributes: dict[str, Any] = {
        "titles": [{"title": "Bodenfeuchte ✓ Lindenberg"}],
        "creators": [{"name": "champion"}],
        "publisher": {"name": "Research-data catalogue (local)"},
        "publicationYear": "2026",
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "dtool"},
        "url": "http://127.0.0.1:8002/#/datasets/x",
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }
    attributes.update(changes)
    return {k: v for k, v in attributes.items() if v is not None}


@pytest.fixture(scope="module")
def standin() -> Iterator[DataCiteStandIn]:
    with DataCiteStandIn(prefix=PREFIX) as running:
        yield running


@pytest.fixture(params=["memory", "standin"])
def datacite(request: pytest.FixtureRequest) -> Iterator[DataCite]:
    if request.param == "memory":
        yield InMemoryDataCite(PREFIX)
        return
    server: DataCiteStandIn = request.getfixturevalue("standin")
    with requests.Session() as session:
        account = Credentials(server.username, server.password)
        yield DataCiteRest(session, server.base_url, PREFIX, lambda: account, sleep=lambda _: None)


def new_doi() -> str:
    return f"{PREFIX}/{uuidlib.uuid4()}"


def test_a_draft_needs_only_its_doi_and_is_read_back(datacite: DataCite) -> None:
    doi = new_doi()
    created = datacite.create(doi, {})
    assert (created.doi, created.state, created.url) == (doi, "draft", None)
    assert datacite.get(doi).state == "draft"


def test_a_draft_keeps_the_metadata_it_was_made_with(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, metadata())
    got = datacite.get(doi)
    assert got.attributes["titles"] == [{"title": "Bodenfeuchte ✓ Lindenberg"}]
    assert got.url == "http://127.0.0.1:8002/#/datasets/x"


def test_creating_a_doi_that_exists_raises_doi_exists(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, {})
    with pytest.raises(DoiExists):
        datacite.create(doi, metadata())
    assert datacite.get(doi).state == "draft"


def test_draft_publish_hide_publish(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, {})
    assert datacite.update(doi, metadata(), "publish").state == "findable"
    assert datacite.update(doi, metadata(), "hide").state == "registered"
    assert datacite.update(doi, metadata(), "publish").state == "findable"
    assert datacite.get(doi).state == "findable"


def test_draft_register_then_publish(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, {})
    assert datacite.update(doi, metadata(), "register").state == "registered"
    assert datacite.update(doi, metadata(), "publish").state == "findable"


def test_an_event_to_the_state_a_doi_is_in_changes_nothing(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, {})
    datacite.update(doi, metadata(), "publish")
    assert datacite.update(doi, metadata(), "publish").state == "findable"
    datacite.update(doi, metadata(), "hide")
    assert datacite.update(doi, metadata(), "hide").state == "registered"
    assert datacite.update(doi, metadata(), "register").state == "registered"


def test_no_event_leads_back_to_draft_nor_hides_a_draft(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, metadata())
    with pytest.raises(DoiRefused):
        datacite.update(doi, metadata(), "hide")
    datacite.update(doi, metadata(), "publish")
    with pytest.raises(DoiRefused):
        datacite.update(doi, metadata(), "register")  # a findable DOI is hidden, not registered
    assert datacite.get(doi).state == "findable"


@pytest.mark.parametrize("missing", ["titles", "creators", "publisher", "publicationYear", "types", "url"])
def test_leaving_draft_without_mandatory_metadata_is_refused(datacite: DataCite, missing: str) -> None:
    doi = new_doi()
    datacite.create(doi, {})
    for event in ("publish", "register"):
        with pytest.raises(DoiRefused) as refused:
            datacite.update(doi, metadata(**{missing: None}), event)
        assert any(missing in title for title in refused.value.titles), refused.value.titles
    assert datacite.get(doi).state == "draft"


def test_metadata_the_schema_refuses_is_refused_when_leaving_draft(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, {})
    with pytest.raises(DoiRefused):
        datacite.update(doi, metadata(types={"resourceTypeGeneral": "Spreadsheet"}), "publish")
    with pytest.raises(DoiRefused):
        datacite.update(doi, metadata(publicationYear=2026.5), "publish")
    assert datacite.get(doi).state == "draft"


def test_metadata_of_a_findable_doi_is_updated_and_checked(datacite: DataCite) -> None:
    doi = new_doi()
    datacite.create(doi, {})
    datacite.update(doi, metadata(), "publish")
    updated = datacite.update(doi, metadata(titles=[{"title": "renamed"}]))
    assert (updated.state, updated.attributes["titles"]) == ("findable", [{"title": "renamed"}])
    with pytest.raises(DoiRefused):
        datacite.update(doi, {"titles": []})
    assert datacite.get(doi).attributes["titles"] == [{"title": "renamed"}]


def test_a_draft_is_deleted_and_nothing_else_is(datacite: DataCite) -> None:
    draft, findable = new_doi(), new_doi()
    datacite.create(draft, {})
    datacite.delete(draft)
    with pytest.raises(DoiNotFound):
        datacite.get(draft)
    with pytest.raises(DoiNotFound):
        datacite.delete(draft)
    datacite.create(findable, {})
    datacite.update(findable, metadata(), "publish")
    with pytest.raises(DoiRefused):
        datacite.delete(findable)
    assert datacite.get(findable).state == "findable"


def test_an_unknown_doi_is_not_found(datacite: DataCite) -> None:
    with pytest.raises(DoiNotFound):
        datacite.get(new_doi())


def test_a_doi_under_another_prefix_is_refused(datacite: DataCite) -> None:
    with pytest.raises(DoiAccountRefused):
        datacite.create(f"10.9999/{uuidlib.uuid4()}", {})


# -- the adapter over HTTP only -------------------------------------------------------------------


def test_wrong_credentials_are_refused(standin: DataCiteStandIn) -> None:
    with requests.Session() as session:
        adapter = DataCiteRest(session, standin.base_url, PREFIX, lambda: Credentials(standin.username, "wrong"))
        with pytest.raises(DoiAccountRefused):
            adapter.create(new_doi(), {})


def test_the_standin_refuses_what_datacite_refuses(standin: DataCiteStandIn) -> None:
    auth = (standin.username, standin.password)
    url = f"{standin.base_url}/dois"
    body = {"data": {"type": "dois", "attributes": {"doi": new_doi()}}}
    assert requests.post(url, json=body, auth=auth, timeout=5).status_code == 415  # not JSON:API
    headers = {"Content-Type": "application/vnd.api+json"}
    assert requests.post(url, data=b"{", headers=headers, auth=auth, timeout=5).status_code == 400
    not_dois = {"data": {"type": "things", "attributes": {}}}
    assert requests.post(url, json=not_dois, headers=headers, auth=auth, timeout=5).status_code == 400
    assert requests.post(url, json=body, headers=headers, timeout=5).status_code == 401
    answer = requests.post(url, json=body, headers=headers, auth=auth, timeout=5)
    assert answer.status_code == 201 and answer.headers["Content-Type"].startswith("application/vnd.api+json")
    doi = body["data"]["attributes"]["doi"]  # type: ignore[index]
    assert requests.get(f"{url}/{doi}", timeout=5).status_code == 404  # a draft is not public
    again = requests.post(url, json=body, headers=headers, auth=auth, timeout=5)
    assert again.status_code == 422
    assert again.json()["errors"] == [{"status": "422", "title": "This DOI has already been taken", "source": "doi"}]


def test_an_unreachable_datacite_is_unavailable_after_the_retries() -> None:
    slept: list[float] = []
    with requests.Session() as session:
        adapter = DataCiteRest(session, "http://127.0.0.1:9", PREFIX, lambda: Credentials("u", "p"), sleep=slept.append)
        with pytest.raises(DoiServiceUnavailable):
            adapter.get(new_doi())
    assert len(slept) == 2  # three attempts
