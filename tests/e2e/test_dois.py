"""DOIs over the local stack, as README "DOIs (DataCite)" tells a new user: a draft, published
under a base URI that is not public (registered), findable once an admin publishes the base
URI, hidden again when it is withdrawn; each state checked at the DataCite stand-in, which
the app reaches over HTTP with the account it read from moto's Secrets Manager."""

from __future__ import annotations

from infra.local.stack import LocalStack
from tests.e2e.helpers import catalogue_cli, enc, persona, unique, wait_for
from tests.support.data import registration


def test_a_doi_goes_draft_findable_hidden_against_the_standin(stack: LocalStack) -> None:
    assert stack.datacite is not None
    admin = persona(stack, "admin", admin=True)
    base_uri = f"s3://{unique('dois')}"
    assert admin.post("/base-uris", {"base_uri": base_uri}).status_code == 201
    body = registration(base_uri=base_uri, name="soil-moisture-doi")
    assert admin.post("/datasets", body).status_code == 201
    uuid = body["uuid"]
    doi = f"{stack.datacite.prefix}/{uuid}"

    made = admin.post(f"/datasets/{uuid}/doi", None)
    assert made.status_code == 201, made.text
    assert made.json()["doi"] == doi and stack.datacite.registry.state_of(doi) == "draft"

    published = admin.post(f"/datasets/{uuid}/doi/publish", None)
    assert published.status_code == 200 and published.json()["state"] == "registered"  # not public yet

    assert admin.patch(f"/base-uris/{enc(base_uri)}", {"public": True}).status_code == 200
    assert wait_for(lambda: stack.datacite is not None and stack.datacite.registry.state_of(doi) == "findable", 60)
    held = stack.datacite.doi(doi)
    assert held is not None
    attributes = held["data"]["attributes"]
    assert attributes["titles"] == [{"title": "soil-moisture-doi"}]
    assert attributes["url"].endswith(f"/#/datasets/{uuid}")

    assert admin.patch(f"/base-uris/{enc(base_uri)}", {"public": False}).status_code == 200
    assert wait_for(lambda: stack.datacite is not None and stack.datacite.registry.state_of(doi) == "registered", 60)
    assert admin.get(f"/datasets/{uuid}/doi").json()["state"] == "registered"

    def logged() -> list[str]:
        entries = admin.get(f"/datasets/{uuid}/log?limit=100").json()["entries"]
        return [e["action"] for e in entries if e["entity_type"] == "doi"]

    assert wait_for(lambda: logged() == ["draft", "register", "publish", "hide"], 30), logged()

    # the operator's reconcile (hourly in AWS): everything is in step, so nothing is sent
    done = catalogue_cli(stack, "dois-reconcile")
    assert done.returncode == 0 and "sent 0, failed 0" in done.stdout, done.stdout + done.stderr


def test_the_welcome_text_shows_the_doi_calls_and_the_standin_s_account(stack: LocalStack) -> None:
    import re

    import requests

    from infra.local.welcome import doi_lines

    assert stack.datacite is not None
    lines = doi_lines(stack)
    urls = [url for line in lines for url in re.findall(r"http://\S+", line)]
    doi_routes = [u for u in urls if u.startswith(stack.api_url)]
    assert any(u.endswith("/doi") for u in doi_routes) and any(u.endswith("/doi/publish") for u in doi_routes)
    [standin] = [line for line in lines if " -u " in line]
    user, _, password = standin.split(" -u ", 1)[1].split()[0].partition(":")
    [at_datacite] = [u for u in urls if u.startswith(stack.datacite.base_url + "/dois/")]
    answer = requests.get(at_datacite, auth=(user, password), timeout=10)  # the demo DOI is not made yet
    assert answer.status_code == 404 and answer.json()["errors"][0]["status"] == "404"
    assert requests.get(at_datacite, auth=(user, "wrong"), timeout=10).status_code == 401
