"""OAI-PMH 2.0 (chalicelib.oai): every verb and error, dates, sets, resumption tokens and
deletions, over the in-memory records; every answer is checked against the official XSDs
(tests/data/oai-pmh/, see its SOURCE.md: OAI-PMH.xsd, oai_dc.xsd, oai-identifier.xsd, DataCite's
OAI schema 1.1) and DataCite 4.5's (tests/data/datacite-4.5/), offline."""

from __future__ import annotations

import calendar
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from chalicelib.adapters.dynamodb.tables import DatasetItem
from chalicelib.catalogue.entries import new_entry
from chalicelib.config import ConfigError, OaiConfig
from chalicelib.domain import INCOMPLETE, REFUSED, BaseUri, Dataset, DatasetContent, User
from chalicelib.oai.protocol import (
    OaiError,
    ResumptionToken,
    base_set,
    decode_set_part,
    encode_set_part,
    parse_request,
    project_set,
)
from chalicelib.oai.service import OaiRepository
from tests.fakes.repository import InMemoryRepository

DATA = Path(__file__).resolve().parents[1] / "data"
NS = {
    "o": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dco": "http://schema.datacite.org/oai/oai-1.1/",
    "dc4": "http://datacite.org/schema/kernel-4",
    "id": "http://www.openarchives.org/OAI/2.0/oai-identifier",
}
PUBLIC = "s3://open-data"
ALSO_PUBLIC = "s3://open-mirror"
PRIVATE = "s3://lab-private"
REPO_ID = "catalogue.example.org"
BASE_URL = "https://api.example.org/oai"
T0 = calendar.timegm((2026, 3, 1, 12, 0, 0))
ADMIN = User(username="admin", is_admin=True)


def uuid_n(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def oai_id(n: int) -> str:
    return f"oai:{REPO_ID}:{uuid_n(n)}"


@cache
def schema() -> xmlschema.XMLSchema:
    here = DATA / "oai-pmh"
    s = xmlschema.XMLSchema(str(here / "OAI-PMH.xsd"), allow="local", build=False)
    s.import_schema(NS["oai_dc"], str(here / "oai_dc.xsd"))
    s.import_schema(NS["id"], str(here / "oai-identifier.xsd"))
    s.import_schema(NS["dco"], str(here / "datacite-oai-1.1.xsd"))
    s.import_schema(NS["dc4"], str(DATA / "datacite-4.5" / "metadata.xsd"))
    s.build()
    return s


class World:
    """Records in memory, a clock, and the repository over them (pages of 2)."""

    def __init__(self) -> None:
        self.repo = InMemoryRepository()
        self.now = float(T0 + 10_000)
        for uri, public in ((PUBLIC, True), (ALSO_PUBLIC, True), (PRIVATE, False)):
            self.repo.save_base_uri(
                BaseUri(uri, created_at=T0 - 100, public=public, updated_at=T0 - 100, description=f"{uri} data"), None
            )
        self.oai = OaiRepository(
            self.repo,
            OaiConfig(repository_identifier=REPO_ID, admin_email="oai@example.org", page_size=2, token_seconds=60),
            publisher="Example Lab",
            landing_url=lambda uuid: f"https://catalogue.example.org/#/datasets/{uuid}",
            clock=lambda: self.now,
        )

    def entry(self, n: int, base_uri: str = PUBLIC, at: float = T0, **content: Any) -> Dataset:
        status = content.pop("status", None)
        c = DatasetContent(
            uuid=uuid_n(n),
            name=content.pop("name", f"dataset {n}"),
            creator_username="alice",
            created_at=T0 - 1000,
            frozen_at=T0 - 900,
            tags=("lidar", "forest"),
            description=f"survey number {n}",
            number_of_items=2,
            size_in_bytes=1234,
            **content,
        )
        e = new_entry(ADMIN, c, f"{base_uri}/ds-{n}", base_uri, 1, at)
        if status:
            e = replace(e, status=status)
        self.repo.save_dataset(e, None)
        return e

    def delete(self, e: Dataset, at: float) -> Dataset:
        gone = replace(e, deleted=True, replicas=(), version=e.version + 1, updated_at=at)
        self.repo.save_dataset(gone, e.version)
        return gone

    def ask(self, **params: str | list[str]) -> ET.Element:
        """The answer to ``params`` (``from_`` for ``from``), checked against the XSDs."""
        query = {k.rstrip("_"): v if isinstance(v, list) else [v] for k, v in params.items()}
        body = self.oai.respond(query, BASE_URL)
        schema().validate(body.decode())
        return ET.fromstring(body)


@pytest.fixture
def world() -> World:
    return World()


def error_of(answer: ET.Element) -> str | None:
    error = answer.find("o:error", NS)
    return None if error is None else error.get("code")


def identifiers(answer: ET.Element) -> list[str]:
    return [e.text or "" for e in answer.iterfind(".//o:header/o:identifier", NS)]


def token_of(answer: ET.Element) -> ET.Element | None:
    return answer.find(".//o:resumptionToken", NS)


def harvest(world: World, verb: str = "ListRecords", **params: str) -> Iterator[ET.Element]:
    """Every page of a list, following the tokens."""
    answer = world.ask(verb=verb, **params)
    while True:
        yield answer
        token = token_of(answer)
        if token is None or not token.text:
            return
        answer = world.ask(verb=verb, resumptionToken=token.text)


# -- Identify, ListMetadataFormats, ListSets -----------------------------------------------------


def test_identify_names_the_repository_its_deletions_and_granularity(world: World) -> None:
    world.entry(1, at=T0 + 5)
    world.entry(2, at=T0 + 60)
    answer = world.ask(verb="Identify")
    identify = answer.find("o:Identify", NS)
    assert identify is not None
    fields = {child.tag.split("}")[1]: child.text for child in identify}
    assert fields["repositoryName"] == "Example Lab"
    assert fields["baseURL"] == BASE_URL
    assert fields["protocolVersion"] == "2.0"
    assert fields["adminEmail"] == "oai@example.org"
    assert fields["earliestDatestamp"] == "2026-03-01T12:00:05Z"
    assert fields["deletedRecord"] == "persistent"
    assert fields["granularity"] == "YYYY-MM-DDThh:mm:ssZ"
    assert answer.findtext(".//id:repositoryIdentifier", namespaces=NS) == REPO_ID
    request = answer.find("o:request", NS)
    assert request is not None and request.get("verb") == "Identify" and request.text == BASE_URL
    assert answer.findtext("o:responseDate", namespaces=NS) == "2026-03-01T14:46:40Z"


def test_list_metadata_formats_names_three_and_knows_identifiers(world: World) -> None:
    world.entry(1)
    world.entry(2, base_uri=PRIVATE)
    formats = world.ask(verb="ListMetadataFormats")
    prefixes = [e.text for e in formats.iterfind(".//o:metadataPrefix", NS)]
    assert prefixes == ["oai_dc", "oai_datacite", "datacite"]
    namespaces = [e.text for e in formats.iterfind(".//o:metadataNamespace", NS)]
    assert namespaces == [NS["oai_dc"], NS["dco"], NS["dc4"]]
    assert error_of(world.ask(verb="ListMetadataFormats", identifier=oai_id(1))) is None
    # a private dataset is as unknown as one that never existed
    for unknown in (oai_id(2), oai_id(3), f"oai:other.org:{uuid_n(1)}", f"oai:{REPO_ID}:not-a-uuid"):
        assert error_of(world.ask(verb="ListMetadataFormats", identifier=unknown)) == "idDoesNotExist"


def test_list_sets_names_public_base_uris_and_their_projects_only(world: World) -> None:
    world.entry(1, project="p-7/é")
    world.entry(2, base_uri=PRIVATE, project="secret-project")
    answer = world.ask(verb="ListSets")
    sets = {
        s.findtext("o:setSpec", namespaces=NS): s.findtext("o:setName", namespaces=NS)
        for s in answer.iter(f"{{{NS['o']}}}set")
    }
    assert sets == {
        "base": "Datasets by base URI",
        "project": "Datasets by project",
        "base:s3~3A~2F~2Fopen-data": "s3://open-data: s3://open-data data",
        "base:s3~3A~2F~2Fopen-mirror": "s3://open-mirror: s3://open-mirror data",
        "project:p-7~2F~C3~A9": "Project p-7/é",
    }
    assert error_of(world.ask(verb="ListSets", resumptionToken="abc")) == "badResumptionToken"


@pytest.mark.parametrize("value", ["s3://bucket/a b", "p~1", "ünïcode:/%", "plain-Name_1.(x)*'!"])
def test_set_names_encode_reversibly_in_the_allowed_characters(value: str) -> None:
    part = encode_set_part(value)
    assert decode_set_part(part) == value
    parse_request({"verb": ["ListSets"]})
    assert parse_request({"verb": ["ListIdentifiers"], "metadataPrefix": ["oai_dc"], "set": [f"base:{part}"]})


@pytest.mark.parametrize("part", ["a~", "a~zz", "a~3", "~C3", "a%20"])
def test_a_set_name_not_encoded_here_is_refused(part: str) -> None:
    with pytest.raises(ValueError):
        decode_set_part(part)


# -- ListRecords, ListIdentifiers, GetRecord -----------------------------------------------------


def test_only_registered_entries_under_public_base_uris_are_listed_in_datestamp_order(world: World) -> None:
    world.entry(3, at=T0 + 30)
    world.entry(1, at=T0 + 10)
    world.entry(2, base_uri=ALSO_PUBLIC, at=T0 + 20)
    world.entry(4, base_uri=PRIVATE, at=T0 + 5)
    world.entry(5, at=T0 + 6, status=REFUSED)
    world.entry(6, at=T0 + 7, status=INCOMPLETE)
    pages = list(harvest(world, metadataPrefix="oai_dc"))
    assert [i for p in pages for i in identifiers(p)] == [oai_id(1), oai_id(2), oai_id(3)]
    assert len(pages) == 2
    first, last = token_of(pages[0]), token_of(pages[1])
    assert first is not None and first.text and first.get("cursor") == "0" and first.get("completeListSize") == "3"
    assert first.get("expirationDate") == "2026-03-01T14:47:40Z"
    assert last is not None and not last.text and last.get("cursor") == "2" and last.get("completeListSize") == "3"


def test_a_list_that_fits_one_page_has_no_token(world: World) -> None:
    world.entry(1)
    answer = world.ask(verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert identifiers(answer) == [oai_id(1)] and token_of(answer) is None
    assert answer.find(".//o:metadata", NS) is None


def test_oai_dc_says_what_the_dataset_is(world: World) -> None:
    world.entry(1, name="Lidar <scan> & more", project="p-7")
    answer = world.ask(verb="GetRecord", identifier=oai_id(1), metadataPrefix="oai_dc")
    dc = answer.find(".//oai_dc:dc", NS)
    assert dc is not None
    values = [(e.tag.split("}")[1], e.text) for e in dc]
    assert values == [
        ("title", "Lidar <scan> & more"),
        ("creator", "alice"),
        ("subject", "lidar"),
        ("subject", "forest"),
        ("description", "survey number 1"),
        ("publisher", "Example Lab"),
        ("date", "2026-03-01T11:43:20Z"),
        ("type", "Dataset"),
        ("format", "2 files, 1234 bytes"),
        ("identifier", f"https://catalogue.example.org/#/datasets/{uuid_n(1)}"),
        ("identifier", f"urn:uuid:{uuid_n(1)}"),
    ]
    assert answer.findall(".//o:header/o:setSpec", NS)[0].text == base_set(PUBLIC)
    assert [s.text for s in answer.findall(".//o:header/o:setSpec", NS)] == [base_set(PUBLIC), project_set("p-7")]


def test_oai_datacite_wraps_the_datacite_record_and_datacite_is_the_record(world: World) -> None:
    world.entry(1, name="Forest plots")
    wrapped = world.ask(verb="GetRecord", identifier=oai_id(1), metadataPrefix="oai_datacite")
    assert wrapped.findtext(".//dco:schemaVersion", namespaces=NS) == "4.5"
    assert wrapped.findtext(".//dco:datacentreSymbol", namespaces=NS) == REPO_ID
    assert wrapped.findtext(".//dco:payload/dc4:resource/dc4:titles/dc4:title", namespaces=NS) == "Forest plots"
    bare = world.ask(verb="ListRecords", metadataPrefix="datacite")
    assert bare.findtext(".//o:metadata/dc4:resource/dc4:titles/dc4:title", namespaces=NS) == "Forest plots"


def test_a_dataset_is_deleted_once_no_public_entry_of_it_is_live(world: World) -> None:
    one = world.entry(1, at=T0)
    mirror = world.entry(1, base_uri=ALSO_PUBLIC, at=T0 + 10)
    world.delete(mirror, at=T0 + 20)
    kept = world.ask(verb="GetRecord", identifier=oai_id(1), metadataPrefix="oai_dc")
    header = kept.find(".//o:header", NS)
    assert header is not None and header.get("status") is None
    # the removal of one copy is a change of the record (its sets), dated when it happened
    assert header.findtext("o:datestamp", namespaces=NS) == "2026-03-01T12:00:20Z"
    assert [s.text for s in header.iterfind("o:setSpec", NS)] == [base_set(PUBLIC)]
    world.delete(one, at=T0 + 40)
    for answer in (
        world.ask(verb="GetRecord", identifier=oai_id(1), metadataPrefix="oai_datacite"),
        world.ask(verb="ListRecords", metadataPrefix="oai_dc", from_="2026-03-01T12:00:40Z"),
    ):
        header = answer.find(".//o:header", NS)
        assert header is not None and header.get("status") == "deleted"
        assert header.findtext("o:datestamp", namespaces=NS) == "2026-03-01T12:00:40Z"
        assert answer.find(".//o:metadata", NS) is None
    assert error_of(world.ask(verb="ListRecords", metadataPrefix="oai_dc", from_="2026-03-01T12:00:41Z")) == (
        "noRecordsMatch"
    )


def test_a_private_entry_of_a_public_dataset_is_never_shown(world: World) -> None:
    world.entry(1, at=T0, name="public name")
    world.entry(1, base_uri=PRIVATE, at=T0 + 50, name="private name", project="hidden")
    answer = world.ask(verb="ListRecords", metadataPrefix="oai_dc")
    assert answer.findtext(".//dc:title", namespaces=NS) == "public name"
    assert answer.findtext(".//o:datestamp", namespaces=NS) == "2026-03-01T12:00:00Z"
    assert b"hidden" not in ET.tostring(answer) and b"lab-private" not in ET.tostring(answer)


def test_publishing_a_base_uri_makes_its_entries_new_to_incremental_harvesters(world: World) -> None:
    world.entry(1, base_uri=PRIVATE, at=T0)
    assert error_of(world.ask(verb="ListIdentifiers", metadataPrefix="oai_dc")) == "noRecordsMatch"
    record = world.repo.get_base_uri(PRIVATE)
    assert record is not None
    world.repo.save_base_uri(replace(record, public=True, version=2, updated_at=T0 + 500), 1)
    answer = world.ask(verb="ListIdentifiers", metadataPrefix="oai_dc", from_="2026-03-01T12:08:20Z")
    assert identifiers(answer) == [oai_id(1)]


def test_from_and_until_are_inclusive_at_seconds_and_days(world: World) -> None:
    world.entry(1, at=T0)  # 2026-03-01T12:00:00Z
    world.entry(2, at=T0 + 86_400)  # 2026-03-02T12:00:00Z
    world.entry(3, at=T0 + 2 * 86_400 + 0.9)  # 2026-03-03T12:00:00Z (truncated)

    def listed(**dates: str) -> list[str]:
        answer = world.ask(verb="ListIdentifiers", metadataPrefix="oai_dc", **dates)
        return [i for p in [answer] for i in identifiers(p)] if error_of(answer) is None else []

    assert listed(from_="2026-03-01T12:00:00Z", until="2026-03-01T12:00:00Z") == [oai_id(1)]
    assert listed(from_="2026-03-01T12:00:01Z", until="2026-03-03T12:00:00Z") == [oai_id(2), oai_id(3)]
    assert listed(from_="2026-03-02", until="2026-03-02") == [oai_id(2)]
    assert listed(until="2026-03-01") == [oai_id(1)]
    assert listed(from_="2026-03-04") == []


def test_a_token_keeps_the_arguments_and_the_position(world: World) -> None:
    for n in range(1, 6):
        world.entry(n, at=T0 + n, project="p" if n % 2 else None)
    pages = list(harvest(world, "ListIdentifiers", metadataPrefix="oai_dc", set="project:p"))
    assert [i for p in pages for i in identifiers(p)] == [oai_id(1), oai_id(3), oai_id(5)]
    # a change during the harvest moves the record after the position: it is sent again, later
    first = world.ask(verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = token_of(first)
    assert token is not None and token.text
    e1 = world.repo.get_dataset(uuid_n(1), PUBLIC)
    assert e1 is not None
    world.repo.save_dataset(replace(e1, version=2, updated_at=T0 + 100), 1)
    rest = world.ask(verb="ListIdentifiers", resumptionToken=token.text)
    assert identifiers(rest) == [oai_id(3), oai_id(4)]


def test_an_expired_a_foreign_or_a_changed_token_is_a_bad_resumption_token(world: World) -> None:
    for n in range(1, 4):
        world.entry(n, at=T0 + n)
    token = token_of(world.ask(verb="ListRecords", metadataPrefix="oai_dc"))
    assert token is not None and token.text
    assert error_of(world.ask(verb="ListIdentifiers", resumptionToken=token.text)) == "badResumptionToken"
    for garbage in (
        "%%%",
        "bm90IGpzb24",
        ResumptionToken("ListRecords", {"resumptionToken": "x"}, None, 0, 2**40).encode(),
    ):
        assert error_of(world.ask(verb="ListRecords", resumptionToken=garbage)) == "badResumptionToken"
    bad_args = ResumptionToken("ListRecords", {"metadataPrefix": "oai_dc", "from": "yesterday"}, None, 0, 2**40)
    assert error_of(world.ask(verb="ListRecords", resumptionToken=bad_args.encode())) == "badResumptionToken"
    world.now += 61
    answer = world.ask(verb="ListRecords", resumptionToken=token.text)
    assert error_of(answer) == "badResumptionToken"
    request = answer.find("o:request", NS)
    assert request is not None and request.get("resumptionToken") == token.text


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "badVerb"),
        ({"verb": "Harvest"}, "badVerb"),
        ({"verb": ["Identify", "Identify"]}, "badVerb"),
        ({"verb": "Identify", "metadataPrefix": "oai_dc"}, "badArgument"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": ["oai_dc", "oai_dc"]}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from_": "2026-03-01T12:00Z"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from_": "2026-02-30"}, "badArgument"),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from_": "2026-03-01", "until": "2026-03-02T00:00:00Z"},
            "badArgument",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from_": "2026-03-02", "until": "2026-03-01"},
            "badArgument",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "oai dc"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "base:"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": ""}, "badArgument"),
        ({"verb": "GetRecord", "identifier": oai_id(1)}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({"verb": "GetRecord", "identifier": oai_id(1), "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({"verb": "GetRecord", "identifier": oai_id(9), "metadataPrefix": "oai_dc"}, "idDoesNotExist"),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "base:s3~3A~2F~2Fnowhere"}, "noRecordsMatch"),
        ({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "until": "2020-01-01"}, "noRecordsMatch"),
    ],
)
def test_each_error_has_its_code_and_bad_requests_are_echoed_without_arguments(
    world: World, params: dict[str, Any], code: str
) -> None:
    world.entry(1)
    answer = world.ask(**params)
    assert error_of(answer) == code
    request = answer.find("o:request", NS)
    assert request is not None and request.text == BASE_URL
    if code in ("badVerb", "badArgument"):
        assert request.attrib == {}
    else:
        assert request.get("verb") == params["verb"]


def test_an_empty_repository_answers_identify_and_no_records(world: World) -> None:
    assert world.ask(verb="Identify").findtext(".//o:earliestDatestamp", namespaces=NS) == "2026-03-01T14:46:40Z"
    assert error_of(world.ask(verb="ListRecords", metadataPrefix="oai_dc")) == "noRecordsMatch"
    assert error_of(world.ask(verb="ListSets")) is None


def test_characters_xml_cannot_carry_are_replaced(world: World) -> None:
    world.entry(1, name="bell\x07 and \ufffe")
    answer = world.ask(verb="ListRecords", metadataPrefix="oai_dc")
    assert answer.findtext(".//dc:title", namespaces=NS) == "bell\ufffd and \ufffd"


# -- what makes it hold -----------------------------------------------------------------------


def test_tombstones_are_never_expired_so_deletions_are_persistent() -> None:
    """Identify says ``deletedRecord`` ``persistent``: that holds only while nothing removes
    tombstones. A TTL on the datasets table (or a purge) would need ``transient``."""
    assert DatasetItem._ttl_attribute() is None


def test_the_settings_refuse_values_the_protocol_cannot_carry() -> None:
    assert OaiConfig.from_env({}) == OaiConfig()
    assert OaiConfig.from_env({"CATALOGUE_OAI_PAGE_SIZE": "5"}).page_size == 5
    for env in (
        {"CATALOGUE_OAI_REPOSITORY_IDENTIFIER": "localhost"},
        {"CATALOGUE_OAI_REPOSITORY_IDENTIFIER": "1bad.example.org"},
        {"CATALOGUE_OAI_ADMIN_EMAIL": "nobody"},
        {"CATALOGUE_OAI_PAGE_SIZE": "0"},
        {"CATALOGUE_OAI_TOKEN_SECONDS": "-1"},
    ):
        with pytest.raises(ConfigError):
            OaiConfig.from_env(env)


def test_parse_request_refuses_what_the_protocol_refuses() -> None:
    with pytest.raises(OaiError) as caught:
        parse_request({"verb": ["ListSets"], "set": ["x"]})
    assert caught.value.code == "badArgument"
    request = parse_request({"verb": ["ListRecords"], "metadataPrefix": ["oai_dc"], "until": ["2026-03-01"]})
    assert request.until == T0 + 12 * 3600 - 1
