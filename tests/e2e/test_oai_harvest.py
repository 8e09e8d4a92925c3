"""OAI-PMH over the local stack with a real harvester (Sickle 0.7, from PyPI), as README
"OAI-PMH" tells a new user: an admin publishes a base URI, datasets are registered under it, a
harvest lists them all (over several pages: the local stack pages by 5), in ``oai_dc`` and
``oai_datacite``; one dataset is deleted, and an incremental harvest from the first harvest's
``responseDate`` sees that deletion and nothing else."""

from __future__ import annotations

import calendar
import time
from typing import Any

from sickle import Sickle
from sickle.oaiexceptions import NoRecordsMatch

from chalicelib.oai.protocol import base_set
from infra.local.stack import LocalStack
from tests.e2e.helpers import enc, persona, unique, wait_for
from tests.support.data import registration

DATASETS = 7  # two pages of 5
OAI = "{http://www.openarchives.org/OAI/2.0/}"
# a loopback API must never be reached through an HTTP(S)_PROXY of the environment
NO_PROXY: dict[str, Any] = {"http": None, "https": None}


def harvest(sickle: Sickle, **params: str) -> tuple[list[Any], list[Any], str]:
    """Every record of a ListRecords (Sickle follows the resumption tokens): the records, the
    pages as answered, and the first page's ``responseDate``."""
    listing = sickle.ListRecords(**params)
    pages = [listing.oai_response]
    response_date = listing.oai_response.xml.findtext(f"{OAI}responseDate")
    records = []
    for record in listing:
        if listing.oai_response is not pages[-1]:
            pages.append(listing.oai_response)
        records.append(record)
    return records, pages, response_date


def test_a_harvester_lists_every_public_record_then_sees_a_deletion_incrementally(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    base = f"s3://{unique('oai')}"
    hidden = f"s3://{unique('oai-private')}"
    for uri in (base, hidden):
        assert admin.post("/base-uris", {"base_uri": uri}).status_code == 201
    assert admin.patch(f"/base-uris/{enc(base)}", {"public": True}).status_code == 200
    bodies = [registration(base, name=f"oai-harvest-{n}") for n in range(DATASETS)]
    private = registration(hidden, name="never-harvested")
    for body in [*bodies, private]:
        assert admin.post("/datasets", body).status_code == 201
    # datestamps are whole seconds: once the second of the last registration is over, the
    # first harvest's responseDate is later than every datestamp it lists
    last = time.time()
    assert wait_for(lambda: time.time() >= int(last) + 1, timeout=5)

    sickle = Sickle(f"{stack.api_url}/oai", timeout=30, max_retries=0, proxies=NO_PROXY)
    identify = sickle.Identify()
    assert identify.deletedRecord == "persistent" and identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    ours = {f"oai:{identify.repositoryIdentifier}:{b['uuid']}": b for b in bodies}

    everything, _, _ = harvest(sickle, metadataPrefix="oai_dc")
    assert set(ours) <= {r.header.identifier for r in everything}
    assert private["uuid"] not in {r.header.identifier.rsplit(":", 1)[1] for r in everything}

    records, pages, since = harvest(sickle, metadataPrefix="oai_dc", set=base_set(base))
    assert len(pages) == 2
    assert sorted(r.header.identifier for r in records) == sorted(ours)
    assert {r.metadata["title"][0] for r in records} == {b["name"] for b in bodies}
    assert not any(r.deleted for r in records)
    datacite, _, _ = harvest(sickle, metadataPrefix="oai_datacite", set=base_set(base))
    assert {r.metadata["title"][0] for r in datacite} == {b["name"] for b in bodies}

    gone = bodies[3]
    r = admin.call("DELETE", f"/datasets/{gone['uuid']}/replicas", params={"uri": gone["uri"]})
    assert r.status_code == 200 and r.json()["dataset_deleted"] is True

    changed, _, _ = harvest(sickle, metadataPrefix="oai_dc", set=base_set(base), **{"from": since})
    gone_id = f"oai:{identify.repositoryIdentifier}:{gone['uuid']}"
    assert [(c.header.identifier, c.deleted) for c in changed] == [(gone_id, True)]
    # and a harvest from the second after this answer finds nothing new
    now = sickle.harvest(verb="Identify").xml.findtext(f"{OAI}responseDate")
    try:
        after, _, _ = harvest(sickle, metadataPrefix="oai_dc", set=base_set(base), **{"from": next_second(now)})
    except NoRecordsMatch:
        after = []
    assert after == []


def next_second(stamp: str) -> str:
    seconds = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) + 1
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def test_make_runs_banner_shows_the_oai_listing_of_the_published_demo_bucket(stack: LocalStack) -> None:
    from infra.local.welcome import banner

    text = banner(stack, {"admin": "admin-token", "reader": "reader-token"})
    assert f"curl -s '{stack.api_url}/oai?verb=ListRecords&metadataPrefix=oai_dc'" in text
