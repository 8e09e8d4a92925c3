"""Input parsing: every failure names its field."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.catalogue.validation import (
    orcid_checksum_ok,
    parse_annotations,
    parse_base_uri,
    parse_patch,
    parse_registration,
    parse_search,
    parse_tags,
    parse_username,
)
from chalicelib.errors import ValidationError
from tests.support.data import registration


def test_registration_accepts_dtool_shapes() -> None:
    reg = parse_registration(registration(frozen_at="1536238185.88", dtoolcore_version="3.18.2"))
    assert reg.content.frozen_at == 1536238185.88
    assert reg.content.number_of_items == 2 and reg.content.size_in_bytes == 3072
    assert reg.content.tags == ("field", "soil")


def test_registration_without_created_at_uses_frozen_at() -> None:
    body = registration()
    del body["created_at"]
    assert parse_registration(body).content.created_at == 1700000000.5


@pytest.mark.parametrize(
    "value",
    ["s3://b", "s3://bucket/prefix/deeper", "file:///data/store", "smb://server/share"],
)
def test_good_base_uris(value: str) -> None:
    assert parse_base_uri(value) == value


@pytest.mark.parametrize(
    "value",
    [
        *("http://x", "s3://b/", "s3://", "s3://b/../c", "S3://b", "s3://b?x", "s3://b c", "s3://b/%2F", 5, None),
        # control characters and white space, also those Python's \s and JSON Schema's differ on
        *("s3://b\x1c", "s3://b\x00", "s3://b\x85c", "s3://b\u2028", "s3://b\xa0", "s3://b\t"),
    ],
)
def test_bad_base_uris(value: object) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_base_uri(value)
    assert exc.value.field == "base_uri"


def test_patch_needs_version_and_agreeing_if_match() -> None:
    assert parse_patch({"tags": []}, '"3"').version == 3
    assert parse_patch({"tags": [], "version": 3}, 'W/"3"').version == 3
    with pytest.raises(ValidationError):
        parse_patch({"tags": [], "version": 2}, '"3"')
    with pytest.raises(ValidationError):
        parse_patch({"tags": []}, "abc")


def test_search_defaults_and_repeats() -> None:
    p = parse_search({}, 512)
    assert (p.offset, p.size, p.sort, p.descending) == (0, 10, "registered", True)
    assert p.allowed_base_uris == frozenset()  # covers nothing until the service sets the caller's
    p = parse_search({"tag": ["a", "b"], "creator": ["x", "y"], "sort": ["name"]}, 512)
    assert p.tags == ("a", "b") and p.creators == ("x", "y") and not p.descending
    with pytest.raises(ValidationError) as exc:
        parse_search({"page": ["1", "2"]}, 512)
    assert exc.value.field == "page"
    with pytest.raises(ValidationError):
        parse_search({"page": ["101"], "page_size": ["100"]}, 512)
    assert parse_search({"page": ["100"], "page_size": ["100"]}, 512).offset == 9900


@pytest.mark.parametrize(
    "parse",
    [
        lambda: parse_username("alice\n"),
        lambda: parse_base_uri("s3://bucket\n"),
        lambda: parse_tags(["raw\n"]),
        lambda: parse_annotations({"site\n": 1}),
    ],
    ids=["username", "base_uri", "tag", "annotation-name"],
)
def test_a_trailing_newline_is_refused(parse: Callable[[], object]) -> None:
    # ``re.match`` with ``$`` accepts one trailing "\n"; the parsers match the whole value
    with pytest.raises(ValidationError):
        parse()


def test_readme_as_a_mapping_is_stored_as_yaml() -> None:
    reg = parse_registration(registration(readme={"project": "lidar", "owners": ["ann"]}))
    assert reg.content.readme == "project: lidar\nowners:\n- ann\n"
    with pytest.raises(ValidationError):
        parse_registration(registration(readme=["not", "a", "mapping"]))


@pytest.mark.parametrize(
    ("orcid", "valid"),
    [
        ("0000-0002-1825-0097", True),  # ORCID's own example
        ("0000-0001-5109-3700", True),
        ("0000-0002-1694-233X", True),  # X is the check digit 10
        ("0000-0002-1825-0098", False),
        ("0000-0002-1694-2330", False),
    ],
)
def test_orcid_check_digit(orcid: str, valid: bool) -> None:
    assert orcid_checksum_ok(orcid) is valid
