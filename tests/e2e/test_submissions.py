"""Issue 20's "Done when" on the local stack (what README "Submitting metadata" walks through):
an ENA sample XML, every error of an invalid one at once, a JSON study, 100 samples from CSV,
a submission file with its files in a multipart form, publish, and the published study found
by a word of its title in catalogue search; an XML attack refused; an outsider shown nothing."""

from __future__ import annotations

import time
from pathlib import Path

import requests

from infra.local.stack import LocalStack

DATA = Path(__file__).parents[1] / "data" / "ena"


def _session(token: str) -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    s.headers["Authorization"] = f"Bearer {token}"
    return s


def test_the_submission_walkthrough(stack: LocalStack) -> None:
    stack.add_user("submitter")
    stack.add_user("stranger")
    http, stranger = _session(stack.token("submitter")), _session(stack.token("stranger"))
    api = f"{stack.api_url}/submitter"
    xml = {"Content-Type": "application/xml"}

    r = http.post(f"{api}/folders", json={"name": "Fjord sediments", "description": "e2e"}, timeout=10)
    assert r.status_code == 201, r.text
    folder = r.json()["folderId"]
    sample = (DATA / "sample.xml").read_bytes()
    r = http.post(f"{api}/drafts/sample", params={"folder": folder}, data=sample, headers=xml, timeout=10)
    assert r.status_code == 201 and r.json()["accessionId"].startswith("CAT-SAM-"), r.text

    invalid = sample.replace(b"<TAXON_ID>1284369", b"<TAXON_ID>many").replace(b"<SAMPLE alias", b"<SAMPLE x='1' alias")
    r = http.post(f"{api}/drafts/sample", params={"folder": folder}, data=invalid, headers=xml, timeout=10)
    assert r.status_code == 400 and len(r.json()["Errors"]) == 2, r.text

    study = {
        "@alias": "fjord-study",
        "DESCRIPTOR": {
            "STUDY_TITLE": "Benthic microbes of Arctic fjords",
            "STUDY_TYPE": {"@existing_study_type": "Metagenomics"},
        },
    }
    r = http.post(f"{api}/objects/study", params={"folder": folder}, json=study, timeout=10)
    assert r.status_code == 201, r.text
    study_accession = r.json()["accessionId"]

    sheet = "alias,title,taxon_id,scientific_name,depth [m]\n" + "".join(
        f"core-{n},Core {n},410658,sediment metagenome,{n / 10}\n" for n in range(100)
    )
    r = http.post(
        f"{api}/drafts/sample",
        params={"folder": folder},
        data=sheet.encode(),
        headers={"Content-Type": "text/csv"},
        timeout=30,
    )
    assert r.status_code == 201 and len(r.json()) == 100, r.text

    files = {
        "submission": ("submission.xml", (DATA / "submission.xml").read_bytes(), "text/xml"),
        "study": ("study.xml", (DATA / "study.xml").read_bytes(), "text/xml"),
    }
    r = http.post(f"{api}/submit", params={"folder": folder}, files=files, timeout=30)
    assert r.status_code == 200 and [o["schema"] for o in r.json()] == ["study"], r.text

    attack = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><SAMPLE_SET>&e;</SAMPLE_SET>'
    r = http.post(f"{api}/drafts/sample", params={"folder": folder}, data=attack, headers=xml, timeout=10)
    assert r.status_code == 400 and r.json()["Code"] == "InvalidDocument", r.text
    assert stranger.get(f"{api}/folders/{folder}", timeout=10).status_code == 404

    r = http.patch(f"{api}/publish/{folder}", timeout=60)
    assert r.status_code == 200, r.text
    assert len(http.get(f"{api}/folders/{folder}", timeout=10).json()["metadataObjects"]) == 103

    # the search index is fed by the stream (the runner): poll for a bounded time
    found: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not found:
        hits = http.get(f"{stack.api_url}/datasets", params={"q": "fjords"}, timeout=10)
        found = [i["name"] for i in hits.json().get("items", [])]
        if not found:
            time.sleep(0.5)
    assert found == ["fjord-study"], found  # a published object's name is its alias
    entry = http.get(f"{stack.api_url}/datasets/{hits.json()['items'][0]['uuid']}", timeout=10).json()
    assert entry["annotations"]["ena"]["accession"] == study_accession
    assert stranger.get(f"{stack.api_url}/datasets", params={"q": "fjords"}, timeout=10).json()["total"] == 0
