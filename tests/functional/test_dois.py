"""/datasets/{uuid}/doi in process, over moto and the in-memory DataCite (its state rules are
the stand-in's): the personas, the states a DOI goes through as its base URI is published and
withdrawn, its metadata following the record, every change in the dataset's log, and the
answer of a deployment without DataCite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chalicelib.composition import install, root
from tests.fakes.datacite import InMemoryDataCite
from tests.functional.conftest import BUCKET_A, Api, base_uri_path
from tests.functional.test_datasets import register
from tests.support.dois import install_dois


@pytest.fixture
def datacite(personas: Api) -> Iterator[InMemoryDataCite]:
    """The running app with DOIs configured and the in-memory DataCite as its account."""
    current = root()
    yield install_dois()
    install(current)


def doi_path(uuid: str) -> str:
    return f"/datasets/{uuid}/doi"


def set_public(api: Api, public: bool) -> None:
    r = api.patch(f"/base-uris/{base_uri_path(BUCKET_A)}", {"public": public})
    assert r.status_code == 200, r.body


def test_a_doi_goes_draft_registered_findable_hidden_with_the_base_uri(
    personas: Api, datacite: InMemoryDataCite
) -> None:
    uuid = register(personas)["uuid"]
    doi = f"10.5072/{uuid}"
    made = personas.post(doi_path(uuid), None, user="champion")
    assert made.status_code == 201 and made.headers["Location"] == doi_path(uuid)
    assert (made.json_body["doi"], made.json_body["state"]) == (doi, "draft")
    again = personas.post(doi_path(uuid), None, user="champion")
    assert again.status_code == 200 and again.json_body["version"] == made.json_body["version"]
    assert datacite.state_of(doi) == "draft"

    published = personas.post(f"{doi_path(uuid)}/publish", None, user="champion")
    assert published.status_code == 200 and published.json_body["state"] == "registered"  # bucket-a not public
    set_public(personas, True)
    assert datacite.state_of(doi) == "findable"
    assert personas.get(doi_path(uuid), user="reader").json_body["state"] == "findable"
    set_public(personas, False)
    assert datacite.state_of(doi) == "registered"
    assert personas.get(doi_path(uuid), user="champion").json_body["state"] == "registered"

    refused = personas.delete(doi_path(uuid), user="champion")
    assert refused.status_code == 409 and datacite.state_of(doi) == "registered"

    log = personas.get(f"/datasets/{uuid}/log?limit=100", user="champion").json_body["entries"]
    dois = [(e["action"], e["user"]) for e in log if e["entity_type"] == "doi"]
    assert dois == [("draft", "champion"), ("register", "champion"), ("publish", "admin"), ("hide", "admin")]


def test_the_metadata_follows_the_record_and_a_removed_dataset_is_hidden(
    personas: Api, datacite: InMemoryDataCite
) -> None:
    set_public(personas, True)
    uuid = register(personas)["uuid"]
    doi = f"10.5072/{uuid}"
    personas.post(doi_path(uuid), None, user="champion")
    assert personas.post(f"{doi_path(uuid)}/publish", None, user="champion").json_body["state"] == "findable"
    edit = {"description": "Soil moisture at plot 7", "version": 1}
    assert personas.patch(f"/datasets/{uuid}", edit, user="champion").status_code == 200
    descriptions = datacite.get(doi).attributes["descriptions"]
    assert descriptions == [{"description": "Soil moisture at plot 7", "descriptionType": "Abstract"}]
    removed = personas.delete(f"/datasets/{uuid}/replicas?uri=s3://bucket-a/{uuid}", user="champion")
    assert removed.status_code == 200, removed.body
    assert datacite.state_of(doi) == "registered"
    log = personas.get(f"/datasets/{uuid}/log?limit=100", user="admin").json_body["entries"]
    assert [e["action"] for e in log if e["entity_type"] == "doi"] == ["draft", "publish", "update", "hide"]


def test_a_draft_is_deleted(personas: Api, datacite: InMemoryDataCite) -> None:
    uuid = register(personas)["uuid"]
    personas.post(doi_path(uuid), None, user="champion")
    assert personas.delete(doi_path(uuid), user="champion").status_code == 204
    assert datacite.state_of(f"10.5072/{uuid}") is None
    assert personas.get(doi_path(uuid), user="champion").status_code == 404
    log = personas.get(f"/datasets/{uuid}/log?limit=100", user="champion").json_body["entries"]
    assert [e["action"] for e in log if e["entity_type"] == "doi"] == ["draft", "delete"]


def test_readers_read_outsiders_and_anonymous_learn_nothing_and_nothing_changes(
    personas: Api, datacite: InMemoryDataCite
) -> None:
    uuid = register(personas)["uuid"]
    unknown = "0b7c4a55-98e1-4f4e-9d0f-3c55e0d3b1aa"
    for path in (doi_path(uuid), doi_path(unknown)):
        for method in ("GET", "POST", "DELETE"):
            assert personas.call(method, path, "outsider").status_code == 404
            assert personas.call(method, path, "bravo").status_code == 404
            assert personas.call(method, path, None).status_code == 401
        assert personas.call("POST", f"{path}/publish", "outsider").status_code == 404
    assert personas.get(doi_path(uuid), user="reader").status_code == 404  # none yet
    assert personas.post(doi_path(uuid), None, user="reader").status_code == 403
    assert datacite.calls == []
    personas.post(doi_path(uuid), None, user="champion")
    assert personas.get(doi_path(uuid), user="reader").json_body["state"] == "draft"
    for method, path in (("POST", f"{doi_path(uuid)}/publish"), ("DELETE", doi_path(uuid))):
        assert personas.call(method, path, "reader").status_code == 403
        assert personas.call(method, path, "outsider").status_code == 404
    assert datacite.state_of(f"10.5072/{uuid}") == "draft" and len(datacite.calls) == 1


def test_without_datacite_the_routes_answer_503_once_authorized(personas: Api) -> None:
    uuid = register(personas)["uuid"]
    assert personas.post(doi_path(uuid), None, user="outsider").status_code == 404
    assert personas.post(doi_path(uuid), None, user="reader").status_code == 403
    r = personas.post(doi_path(uuid), None, user="champion")
    assert r.status_code == 503 and r.json_body == {"Code": "NotConfigured", "Message": "DOIs are not configured"}
    assert personas.get(doi_path(uuid), user="champion").status_code == 404


def test_the_exports_name_the_doi_once_it_is_registered(personas: Api, datacite: InMemoryDataCite) -> None:
    uuid = register(personas)["uuid"]
    export = f"/datasets/{uuid}/export/datacite+json"
    personas.post(doi_path(uuid), None, user="champion")
    assert "doi" not in personas.get(export, user="reader").json_body  # a draft resolves nowhere
    personas.post(f"{doi_path(uuid)}/publish", None, user="champion")
    assert personas.get(export, user="reader").json_body["doi"] == f"10.5072/{uuid}"


def test_oai_pmh_names_the_doi_of_a_published_dataset(personas: Api, datacite: InMemoryDataCite) -> None:
    set_public(personas, True)
    uuid = register(personas)["uuid"]
    personas.post(doi_path(uuid), None, user="champion")
    personas.post(f"{doi_path(uuid)}/publish", None, user="champion")
    r = personas.get(f"/oai?verb=GetRecord&metadataPrefix=oai_datacite&identifier=oai:catalogue.invalid:{uuid}")
    assert r.status_code == 200
    assert f'<identifier identifierType="DOI">10.5072/{uuid}</identifier>' in r.body.decode(), r.body[:600]
