"""The export service over the in-memory repository (what a caller is shown, authorize then
validate) and content negotiation (:func:`chalicelib.exports.formats.negotiate`)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.catalogue.entries import new_entry
from chalicelib.domain import INCOMPLETE, REFUSED, Dataset, DatasetContent, Manifest, ManifestItem, User
from chalicelib.errors import NotAcceptable, NotFound
from chalicelib.exports.formats import FORMATS, format_named, names, negotiate
from chalicelib.exports.service import ExportService
from tests.fakes.dois import InMemoryDoiStore
from tests.fakes.repository import InMemoryRepository

UUID = "5d1e1f2a-6b7c-4d8e-9f00-112233445566"
A, B = "s3://bucket-a", "s3://bucket-b"
ADMIN = User(username="root", is_admin=True)
READER = User(username="reader", search_base_uris=frozenset({A}))
BOTH = User(username="both", search_base_uris=frozenset({A, B}))
REGISTRAR = User(username="registrar", register_base_uris=frozenset({A}))
OUTSIDER = User(username="outsider", search_base_uris=frozenset({"s3://elsewhere"}))
MEMBER = User(username="member", projects=frozenset({"p-7"}))


def entry(
    base_uri: str, *, at: float, status: str = "registered", project: str | None = None, **content: object
) -> Dataset:
    manifest = Manifest(items={"i1": ManifestItem("a.csv", 3, "0" * 32, 1.0)})
    c = DatasetContent(UUID, "run-1", "ana", 1.0, 2.0, manifest=manifest, project=project, kind="dtool", **content)  # type: ignore[arg-type]
    made = new_entry(ADMIN, c, f"{base_uri}/{UUID}", base_uri, 1, at)
    return replace(made, status=status, status_reasons=("the reason it was refused",) if status != "registered" else ())


def service(*entries: Dataset, doi: str | None = None) -> ExportService:
    repo = InMemoryRepository()
    for e in entries:
        repo.save_dataset(e, None)
    return ExportService(
        repo, landing_url=lambda uuid: f"https://page.example/#/datasets/{uuid}", publisher="Lab", doi_of=lambda _e: doi
    )


def test_the_export_is_the_callers_record_with_only_the_replicas_it_lists() -> None:
    exports = service(entry(A, at=10.0), entry(B, at=20.0))
    assert exports.view(READER, UUID, None, ()).replicas == (f"{A}/{UUID}",)
    assert exports.view(BOTH, UUID, None, ()).replicas == (f"{A}/{UUID}", f"{B}/{UUID}")
    assert exports.view(BOTH, UUID, B, ()).replicas == (f"{B}/{UUID}",)
    export = exports.export(READER, UUID, "schema.org")
    assert export.media_type == "application/ld+json"
    assert [d["contentUrl"] for d in export.body["distribution"]] == [f"{A}/{UUID}"]
    assert export.body["url"] == f"https://page.example/#/datasets/{UUID}"


def test_a_projects_member_sees_its_entries_under_any_base_uri() -> None:
    exports = service(entry("s3://anywhere", at=1.0, project="p-7"))
    assert exports.view(MEMBER, UUID, None, ()).replicas == (f"s3://anywhere/{UUID}",)


@pytest.mark.parametrize("name", ["datacite+json", "nope", ""])
def test_whoever_may_not_see_the_dataset_gets_the_same_not_found_whatever_the_format(name: str) -> None:
    exports = service(entry(A, at=1.0))
    for user in (OUTSIDER, User(username="anonymous"), MEMBER):
        with pytest.raises(NotFound) as caught:
            exports.export(user, UUID, name)
        assert str(caught.value) == f"no dataset {UUID}"
    with pytest.raises(NotFound) as unknown:
        service().export(ADMIN, UUID, name)
    assert str(unknown.value) == f"no dataset {UUID}"


def test_an_unknown_format_is_not_found_naming_the_formats_once_the_dataset_is_seen() -> None:
    with pytest.raises(NotFound) as caught:
        service(entry(A, at=1.0)).export(READER, UUID, "bibtex")
    assert "bibtex" in str(caught.value) and all(n in str(caught.value) for n in names())


@pytest.mark.parametrize("status", [REFUSED, INCOMPLETE])
def test_a_refused_or_incomplete_upload_has_no_export(status: str) -> None:
    exports = service(entry(A, at=1.0, status=status))
    for user in (REGISTRAR, ADMIN):
        with pytest.raises(NotFound):
            exports.export(user, UUID, "datacite+json")
    # beside a registered entry, the registered one is exported and no reason reaches it
    exports = service(entry(A, at=1.0, status=status), entry(B, at=2.0))
    body = exports.export(ADMIN, UUID, "datacite+xml").body
    assert b"reason" not in body and f"{B}/{UUID}".encode() not in body
    assert exports.view(ADMIN, UUID, None, ()).base_uri == B


def test_the_doi_given_reaches_the_view() -> None:
    export = service(entry(A, at=1.0), doi="10.1234/abc").export(READER, UUID, "datacite+json")
    assert export.body["doi"] == "10.1234/abc"


def test_negotiation_finds_not_found_before_not_acceptable() -> None:
    exports = service(entry(A, at=1.0))
    with pytest.raises(NotFound):
        exports.negotiated(OUTSIDER, UUID, "text/csv", None)
    with pytest.raises(NotAcceptable):
        exports.negotiated(READER, UUID, "text/csv", None)
    assert exports.negotiated(READER, UUID, "*/*", None) is None
    export = exports.negotiated(READER, UUID, "application/vnd.datacite.datacite+json", None)
    assert export is not None and json.dumps(export.body)


# -- negotiation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "application/json",
        "Application/JSON; charset=utf-8",
        "*/*",
        "application/*",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",  # a browser
        "application/ld+json;q=0.5, application/json",
        "application/vnd.datacite.datacite+json;q=0.9, */*",  # exact and wildcard at equal q: exact wins
    ],
)
def test_the_record_is_served_to_what_asks_for_json_or_anything(accept: str | None) -> None:
    assert negotiate(accept) is None


@pytest.mark.parametrize(
    ("accept", "name"),
    [
        ("application/vnd.datacite.datacite+json", "datacite+json"),
        ("application/vnd.datacite.datacite+xml", "datacite+xml"),
        ("application/ld+json", "schema.org"),
        ("application/vnd.schemaorg.ld+json", "schema.org"),
        ("text/html, application/vnd.datacite.datacite+xml;q=0.8", "datacite+xml"),
        ("application/json;q=0.1, application/ld+json", "schema.org"),
        ("*/*;q=0.5, application/vnd.datacite.datacite+json", "datacite+json"),
        ("application/vnd.datacite.datacite+json;q=0.9, */*;q=0.9", "datacite+json"),
        ("application/json;q=0, application/ld+json;q=0.2", "schema.org"),
    ],
)
def test_an_export_is_served_to_what_names_its_media_type(accept: str, name: str) -> None:
    chosen = negotiate(accept)
    assert chosen is not None and chosen.name == name


@pytest.mark.parametrize(
    "accept",
    [
        "text/csv",
        "text/html",
        "application/xml",
        "application/json;q=0",
        "application/ld+json;q=0",
        "*/*;q=0",
        "garbage",
        "application/json;q=high",
        "application/json;q=2",
        "application/json;q=nan",
        "*/json",
        ";;;,,,",
    ],
)
def test_an_accept_that_allows_nothing_served_is_not_acceptable(accept: str) -> None:
    with pytest.raises(NotAcceptable) as caught:
        negotiate(accept)
    assert "application/json" in str(caught.value) and "application/ld+json" in str(caught.value)


def test_every_format_is_found_by_its_name_and_negotiated_by_its_media_type() -> None:
    assert len(set(names())) == len(FORMATS)
    for fmt in FORMATS:
        assert format_named(fmt.name) is fmt
        if fmt.accepts:
            assert fmt.accepts[0] == fmt.media_type
            chosen = negotiate(fmt.media_type)
            assert chosen is not None and chosen.media_type == fmt.media_type
    assert format_named("DataCite+JSON") is None


def test_the_settings_name_the_page_and_the_publisher_the_root_builds_exports_with() -> None:
    from chalicelib.composition import Root
    from chalicelib.config import Settings

    env = {"CATALOGUE_STAGE": "t", "CATALOGUE_WEB_ORIGIN": " https://page.example/ ", "CATALOGUE_PUBLISHER": " Lab X "}
    settings = Settings.from_env(env)
    assert (settings.web_origin, settings.publisher) == ("https://page.example", "Lab X")
    assert Settings.from_env({"CATALOGUE_STAGE": "t"}).publisher == "Research data catalogue"
    repo = InMemoryRepository()
    repo.save_dataset(entry(A, at=1.0), None)
    body = Root(settings, repo=repo, doi_store=InMemoryDoiStore()).exports.export(READER, UUID, "datacite+json").body
    assert body["url"] == f"https://page.example/#/datasets/{UUID}"
    assert body["publisher"] == {"name": "Lab X"}


def test_a_profile_in_accept_picks_the_format_accepting_that_profile_else_the_bare_type() -> None:
    from chalicelib.exports.formats import ExportFormat

    crate = 'application/ld+json;profile="https://w3id.org/ro/crate/1.1"'
    plain = ExportFormat("plain", "application/ld+json", lambda v: {}, "JSON-LD", accepts=("application/ld+json",))
    profiled = ExportFormat("crate", crate, lambda v: {}, "RO-Crate", accepts=(crate,))
    by_url = ExportFormat("by-url", 'application/ld+json;profile="https://example.org/p"', lambda v: {}, "by URL")
    formats = (plain, profiled, by_url)
    assert negotiate('application/ld+json; profile="https://w3id.org/ro/crate/1.1"', formats) is profiled
    assert negotiate("application/ld+json;profile=https://w3id.org/ro/crate/1.1;q=0.5", formats) is profiled
    assert negotiate('application/ld+json;profile="https://example.org/p"', formats) is plain  # a hint only
    assert negotiate("application/ld+json", formats) is plain
    assert negotiate('application/json;profile="https://example.org/p"', formats) is None
    with pytest.raises(NotAcceptable):
        negotiate(crate, (by_url,))
