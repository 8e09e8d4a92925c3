"""POST /harvests in process (chalice.test.Client over mock_aws) with the in-memory upstream:
who may harvest, the answer, its archive, and refusals that deposit nothing. The workflow
itself runs in tests/e2e/test_harvest.py."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib import bootstrap, resources
from chalicelib.composition import install, root
from chalicelib.config import HarvestConfig
from tests.fakes.upstream import InMemoryUpstream, invenio_fake
from tests.functional.conftest import Api, base_uri_path
from tests.functional.test_archives import ASL

DEPOSITS = f"s3://{resources.DEPOSIT_BUCKET}"
BASE = "https://repo.example.org"
SOIL = f"{BASE}/records/7hy2p-4x0c1"


@pytest.fixture
def harvesting(personas: Api) -> tuple[Api, InMemoryUpstream]:
    """The personas, the deposit base URI (bravo may register there), the state machine, and
    an upstream serving the stand-in's demo records at repo.example.org."""
    bootstrap.create_bucket(root(), resources.DEPOSIT_BUCKET)
    assert personas.post("/base-uris", {"base_uri": DEPOSITS}).status_code == 201
    r = personas.put(
        f"/base-uris/{base_uri_path(DEPOSITS)}/permissions",
        {"users_with_search_permissions": ["bravo"], "users_with_register_permissions": ["bravo"]},
    )
    assert r.status_code == 200, r.body
    arn = bootstrap.create_archive_state_machine(root(), ASL)
    settings = replace(
        root().settings, archive_state_machine_arn=arn, harvest=HarvestConfig(hosts=("repo.example.org",))
    )
    upstream = invenio_fake(BASE)
    install(root().rewired(settings, upstream=upstream))
    return personas, upstream


def deposited() -> list[str]:
    s3 = root().aws_client("s3")
    return [o["Key"] for o in s3.list_objects_v2(Bucket=resources.DEPOSIT_BUCKET).get("Contents", [])]


def test_a_record_is_harvested_deposited_and_its_archive_started(harvesting: tuple[Api, InMemoryUpstream]) -> None:
    api, _ = harvesting
    r = api.post("/harvests", {"source": SOIL}, user="bravo")
    assert r.status_code == 202, r.body
    result = json.loads(r.body)
    assert result["files"] == 3 and result["deposit"] == "created" and result["archive"].startswith("ar-")
    assert r.headers["Location"] == f"/archives/{result['archive']}"
    assert deposited() == ["harvests/repo.example.org/7hy2p-4x0c1.zip"]
    archive = json.loads(api.get(f"/archives/{result['archive']}", user="bravo").body)
    assert archive["status"] == "requested" and archive["dataset"] == result["dataset"]
    dataset = json.loads(api.get(f"/datasets/{result['dataset']}", user="bravo").body)
    assert dataset["name"].startswith("Soil moisture") and dataset["base_uri"] == DEPOSITS
    # the same record again: the same archive
    again = api.post("/harvests", {"source": SOIL}, user="admin")
    assert again.status_code == 409 and json.loads(again.body)["ArchiveId"] == result["archive"]


@pytest.mark.parametrize(("user", "status"), [("outsider", 403), ("reader", 403), ("champion", 403), (None, 401)])
def test_who_may_not_harvest_is_refused_whatever_the_body(
    harvesting: tuple[Api, InMemoryUpstream], user: str | None, status: int
) -> None:
    api, upstream = harvesting
    for body in ({"source": SOIL}, {"source": "http://169.254.169.254/"}, {}):
        assert api.post("/harvests", body, user=user).status_code == status
    assert upstream.fetched == [] and deposited() == []


@pytest.mark.parametrize(
    "source",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://127.0.0.1:9200/records/1",
        "https://zenodo.org/records/1",  # a real repository, but not allow-listed here
        "http://repo.example.org/records/7hy2p-4x0c1",  # https only
        "file:///etc/passwd",
        "https://repo.example.org/records/nope-0000",  # allow-listed, no such record
    ],
)
def test_sources_that_cannot_be_harvested_are_400_and_deposit_nothing(
    harvesting: tuple[Api, InMemoryUpstream], source: str
) -> None:
    api, _ = harvesting
    r = api.post("/harvests", {"source": source}, user="admin")
    body = json.loads(r.body)
    assert r.status_code == 400 and body["Field"] == "source" and "the source cannot be harvested" in body["Message"]
    assert deposited() == []


def test_an_unreadable_upstream_is_502_and_says_no_more(harvesting: tuple[Api, InMemoryUpstream]) -> None:
    api, upstream = harvesting
    upstream.add(f"{BASE}/api/records/7hy2p-4x0c1", b"", status=500)
    r = api.post("/harvests", {"source": SOIL}, user="admin")
    assert r.status_code == 502 and "repo.example.org" not in r.body.decode()
    assert deposited() == []
