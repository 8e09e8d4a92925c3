"""The Data Tracker's request bodies (chalicelib.tracker.fields): every rule, both body shapes."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.errors import ValidationError
from chalicelib.tracker import fields as f

U1 = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
U2 = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"
U1_UPPER = U1.upper()
U1_HEX = U1.replace("-", "")
EMAIL_256 = "a@" + "b" * 251 + ".se"
URL_2048 = "https://x.se/" + "p" * 2035


def test_the_limit_values_are_at_their_limits() -> None:
    assert (len(EMAIL_256), len(URL_2048)) == (256, 2048)


def refused(fn: Any, *args: Any, field: str, says: str, **kwargs: Any) -> ValidationError:
    """Call ``fn`` and return the ValidationError it must raise, checking its field and message."""
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    assert info.value.field == field
    assert says in str(info.value), str(info.value)
    return info.value


# --- unwrap --------------------------------------------------------------------------------


def test_unwrap_takes_the_wrapped_entity() -> None:
    assert f.unwrap({"order": {"title": "T"}}, "order") == {"title": "T"}


def test_unwrap_takes_a_flat_body_as_it_is() -> None:
    assert f.unwrap({"title": "T", "description": "d"}, "order") == {"title": "T", "description": "d"}


def test_unwrap_needs_exactly_one_key_and_an_object() -> None:
    assert f.unwrap({"order": {"title": "T"}, "title": "U"}, "order") == {"order": {"title": "T"}, "title": "U"}
    assert f.unwrap({"order": "x"}, "order") == {"order": "x"}
    assert f.unwrap({"dataset": {"title": "T"}}, "order") == {"dataset": {"title": "T"}}
    assert f.unwrap({}, "order") == {}


def test_unwrap_returns_a_copy() -> None:
    inner = {"title": "T"}
    out = f.unwrap({"order": inner}, "order")
    out["x"] = 1
    assert inner == {"title": "T"}


@pytest.mark.parametrize("body", [None, [], "x", 3, True])
def test_unwrap_refuses_a_body_that_is_not_an_object(body: object) -> None:
    refused(f.unwrap, body, "order", field="body", says="must be a JSON object")


# --- title, description ---------------------------------------------------------------------


def test_title_is_stripped() -> None:
    assert f.parse_order({"title": "  An order \n"}, partial=False) == {"title": "An order"}


def test_title_limits() -> None:
    assert f.parse_order({"title": "t" * 256}, partial=False) == {"title": "t" * 256}
    assert f.parse_order({"title": " " + "t" * 256 + " "}, partial=False) == {"title": "t" * 256}
    refused(f.parse_order, {"title": "t" * 257}, partial=False, field="title", says="longer than 256")


@pytest.mark.parametrize("title", ["", "   ", "\n\t"])
def test_title_is_never_empty(title: str) -> None:
    refused(f.parse_order, {"title": title}, partial=False, field="title", says="must not be empty")
    refused(f.parse_order, {"title": title}, partial=True, field="title", says="must not be empty")


@pytest.mark.parametrize("title", [None, 3, ["t"], {"t": "t"}, True])
def test_title_must_be_a_string(title: object) -> None:
    refused(f.parse_order, {"title": title}, partial=True, field="title", says="title must be a string")


def test_title_is_required_on_create_only() -> None:
    refused(f.parse_order, {"description": "d"}, partial=False, field="title", says="missing field: title")
    assert f.parse_order({"description": "d"}, partial=True) == {"description": "d"}
    assert f.parse_order({}, partial=True) == {}


def test_description_is_kept_as_given_up_to_100000_characters() -> None:
    text = " # Heading\n\n*markdown* <b> " + "x" * (100_000 - 27)
    assert len(text) == 100_000
    assert f.parse_order({"title": "T", "description": text}, partial=False)["description"] == text
    assert f.parse_order({"description": ""}, partial=True) == {"description": ""}
    refused(f.parse_order, {"description": text + "x"}, partial=True, field="description", says="longer than 100000")
    refused(f.parse_order, {"description": None}, partial=True, field="description", says="must be a string")


# --- tags -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tags_standard", "tags_user"])
def test_tags_are_a_string_map(name: str) -> None:
    tags = {"k" * 80: "v" * 256, "a b": "", "Ö": "ü"}
    assert f.parse_dataset({name: tags}, partial=True) == {name: tags}
    assert f.parse_dataset({name: {}}, partial=True) == {name: {}}


@pytest.mark.parametrize(
    ("tags", "says"),
    [
        (["a", "b"], "must be an object"),
        ("a", "must be an object"),
        (None, "must be an object"),
        ({"": "v"}, "keys must be 1-80 characters"),
        ({"k" * 81: "v"}, "keys must be 1-80 characters"),
        ({" k": "v"}, "without surrounding whitespace"),
        ({"k\n": "v"}, "without surrounding whitespace"),
        ({"k": "v" * 257}, "at most 256 characters"),
        ({"k": 1}, "must be a string"),
        ({"k": None}, "must be a string"),
        ({"k": ["v"]}, "must be a string"),
    ],
)
def test_bad_tags_are_refused(tags: object, says: str) -> None:
    refused(f.parse_collection, {"tags_user": tags}, partial=True, field="tags_user", says=says)


def test_at_most_100_tags() -> None:
    hundred = {f"k{i}": "v" for i in range(100)}
    assert f.parse_order({"tags_standard": hundred}, partial=True) == {"tags_standard": hundred}
    refused(
        f.parse_order,
        {"tags_standard": {**hundred, "one more": "v"}},
        partial=True,
        field="tags_standard",
        says="more than 100 entries",
    )


# --- cross-references -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "scheme"),
    [
        ("10.1000/xyz123", "doi"),
        ("doi:10.1000/x", "doi"),
        ("DOI:10.1000/x", "doi"),
        ("https://doi.org/10.1000/x", "doi"),
        ("10.123456789/a(b)<c>", "doi"),
        ("https://example.org/a", "url"),
        ("http://example.org", "url"),
        ("https://user@example.org:8443/p?q=1#f", "url"),
        ("https://doi.org/10.1/x", "url"),  # not a DOI, but a web address all the same
        ("ENA:PRJEB1234", "curie"),
        ("pubmed:123456", "curie"),
        ("GEO:GSE1", "curie"),
        ("bioproject:PRJNA1/x:y", "curie"),
    ],
)
def test_recognised_cross_reference_schemes(value: str, scheme: str) -> None:
    assert f.cross_reference_scheme(value) == scheme


@pytest.mark.parametrize(
    "value",
    [
        "10.1/x",  # too few registrant digits
        "10.1234567890/x",  # too many
        "10.1000/",  # no suffix
        "ftp://x",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "file:/etc/passwd",
        "FILE:///etc/passwd",
        "no scheme",
        "noscheme",
        "http://",
        "https:///path",
        "http://:80",
        "http://[::1",  # urlsplit raises on it
        "http://example.org:99999",  # urlsplit's port raises on it
        "http:foo",
        "doi:10.1/x",
        "1abc:x",  # a prefix starts with a letter
        "a" * 41 + ":x",  # and has at most 40 characters
        "ENA:",
        ":x",
        "ENA:PRJEB 1234",
        "https://example.org/a b",
        "ENA:PRJEB1234\n",
        "ENA:PRJ\x00",
    ],
)
def test_unrecognised_cross_references_are_refused(value: str) -> None:
    refused(f.cross_reference_scheme, value, field="cross_references", says="value")


def test_cross_references_are_normalised_and_checked() -> None:
    refs = [{"value": "ENA:PRJEB1234", "title": "ENA"}, {"title": "t" * 256, "value": "10.1000/" + "x" * 1016}]
    out = f.parse_dataset({"cross_references": refs}, partial=True)["cross_references"]
    assert out == [{"title": "ENA", "value": "ENA:PRJEB1234"}, {"title": "t" * 256, "value": "10.1000/" + "x" * 1016}]
    assert [list(r) for r in out] == [["title", "value"], ["title", "value"]]
    assert f.parse_collection({"cross_references": []}, partial=True) == {"cross_references": []}


@pytest.mark.parametrize(
    ("refs", "says"),
    [
        ("ENA:PRJEB1234", "must be a list"),
        ({"title": "t", "value": "ENA:x"}, "must be a list"),
        (None, "must be a list"),
        (["ENA:x"], "cross_references[0] must be an object with exactly the keys title and value"),
        ([{"title": "t"}], "exactly the keys title and value"),
        ([{"title": "t", "value": "ENA:x", "note": "n"}], "exactly the keys title and value"),
        ([{"title": "", "value": "ENA:x"}], "cross_references[0].title must not be empty"),
        ([{"title": "t" * 257, "value": "ENA:x"}], "cross_references[0].title is longer than 256"),
        ([{"title": 1, "value": "ENA:x"}], "cross_references[0].title must be a string"),
        ([{"title": "t", "value": ""}], "cross_references[0].value must not be empty"),
        ([{"title": "t", "value": None}], "cross_references[0].value must be a string"),
        ([{"title": "t", "value": "10.1000/" + "x" * 1017}], "longer than 1024"),
        ([{"title": "t", "value": "ENA:x"}, {"title": "t", "value": "javascript:alert(1)"}], "cross_references[1]"),
    ],
)
def test_bad_cross_references_are_refused(refs: object, says: str) -> None:
    refused(f.parse_dataset, {"cross_references": refs}, partial=True, field="cross_references", says=says)


def test_at_most_100_cross_references() -> None:
    refs = [{"title": "t", "value": f"ENA:PRJEB{i}"} for i in range(100)]
    assert len(f.parse_dataset({"cross_references": refs}, partial=True)["cross_references"]) == 100
    refs.append({"title": "t", "value": "ENA:x"})
    refused(f.parse_dataset, {"cross_references": refs}, partial=True, field="cross_references", says="more than 100")


def test_a_refused_value_is_quoted_briefly() -> None:
    err = refused(f.cross_reference_scheme, "x" * 5000, field="cross_references", says="compact identifier")
    assert len(str(err)) < 250


# --- user lists, organisation, datasets, published --------------------------------------------


@pytest.mark.parametrize("name", ["authors", "generators", "editors"])
def test_user_lists_are_canonical_uuids_without_repeats(name: str) -> None:
    body = {name: [U1_UPPER, U2, U1, "{" + U2 + "}", f"urn:uuid:{U1}", U1_HEX]}
    assert f.parse_order(body, partial=True) == {name: [U1, U2]}
    assert f.parse_order({name: []}, partial=True) == {name: []}


@pytest.mark.parametrize(
    ("users", "says"),
    [
        (U1, "must be a list"),
        (None, "must be a list"),
        (3, "must be a list"),
        ({"a": U1}, "must be a list"),
        ([U1, "not-a-uuid"], "authors[1] must be a UUID"),
        ([3], "authors[0] must be a UUID"),
        ([None], "authors[0] must be a UUID"),
        ([[U1]], "authors[0] must be a UUID"),
        ([" " + U1_HEX[1:]], "must be a UUID"),  # uuid.UUID itself would take it
        (["+" + U1_HEX[1:]], "must be a UUID"),
        ([U1_HEX[:8] + "_" + U1_HEX[9:]], "must be a UUID"),
        ([U1 + " "], "must be a UUID"),
        (["{" + U1], "must be a UUID"),
        (["user@example.org"], "must be a UUID"),
    ],
)
def test_bad_user_lists_are_refused(users: object, says: str) -> None:
    refused(f.parse_order, {"authors": users}, partial=True, field="authors", says=says)


def test_at_most_200_users() -> None:
    many = [f"00000000-0000-4000-8000-{i:012d}" for i in range(201)]
    assert f.parse_order({"editors": many[:200]}, partial=True) == {"editors": many[:200]}
    refused(f.parse_order, {"editors": many}, partial=True, field="editors", says="more than 200")


def test_organisation_is_empty_or_one_user() -> None:
    assert f.parse_order({"organisation": ""}, partial=True) == {"organisation": ""}
    assert f.parse_order({"organisation": U1_UPPER}, partial=True) == {"organisation": U1}
    for bad in ("url@bad.se", [U1], None, 1, " "):
        refused(f.parse_order, {"organisation": bad}, partial=True, field="organisation", says="must be a UUID")


def test_collection_datasets_are_canonical_uuids_without_repeats() -> None:
    assert f.parse_collection({"datasets": [U2, U1_UPPER, U2]}, partial=True) == {"datasets": [U2, U1]}
    many = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1001)]
    assert f.parse_collection({"datasets": many[:1000]}, partial=True) == {"datasets": many[:1000]}
    refused(f.parse_collection, {"datasets": many}, partial=True, field="datasets", says="more than 1000")
    refused(f.parse_collection, {"datasets": U1}, partial=True, field="datasets", says="must be a list")
    refused(f.parse_collection, {"datasets": [U1, "x"]}, partial=True, field="datasets", says="datasets[1] must be")


@pytest.mark.parametrize("parse", [f.parse_dataset, f.parse_collection])
def test_published_is_a_bool(parse: Any) -> None:
    assert parse({"published": True}, partial=True) == {"published": True}
    assert parse({"published": False}, partial=True) == {"published": False}
    bads: tuple[object, ...] = (1, 0, "true", None, [])
    for bad in bads:
        refused(parse, {"published": bad}, partial=True, field="published", says="must be true or false")


def test_orders_are_never_published() -> None:
    refused(f.parse_order, {"published": True}, partial=True, field="published", says="unknown field: 'published'")


# --- whole entities ---------------------------------------------------------------------------

ORDER = {
    "title": "Order",
    "description": "d",
    "authors": [U1],
    "generators": [U2],
    "organisation": U1,
    "editors": [U2, U1],
    "tags_standard": {"k": "v"},
    "tags_user": {"mine": "x"},
}


def test_a_full_order_in_both_shapes() -> None:
    assert f.parse_order(ORDER, partial=False) == ORDER
    assert f.parse_order({"order": ORDER}, partial=False) == ORDER
    assert f.parse_order({"order": {"title": "T"}}, partial=True) == {"title": "T"}


def test_an_empty_wrapper_is_an_empty_entity() -> None:
    assert f.parse_order({"order": {}}, partial=True) == {}
    refused(f.parse_order, {"order": {}}, partial=False, field="title", says="missing field: title")


@pytest.mark.parametrize(
    ("parse", "wrapper"), [(f.parse_order, "order"), (f.parse_dataset, "dataset"), (f.parse_collection, "collection")]
)
@pytest.mark.parametrize("key", ["_id", "id"])
def test_ids_are_set_by_the_catalogue(parse: Any, wrapper: str, key: str) -> None:
    refused(parse, {"title": "T", key: U1}, partial=False, field=key, says=f"{key} is set by the catalogue")
    refused(parse, {wrapper: {key: U1}}, partial=True, field=key, says="is set by the catalogue")


def test_orders_refuse_datasets() -> None:
    refused(
        f.parse_order,
        {"title": "T", "datasets": []},
        partial=False,
        field="datasets",
        says="datasets are added through /order/<id>/dataset/",
    )


def test_prohibited_keys_come_before_unknown_ones_and_fields() -> None:
    refused(f.parse_order, {"title": "", "zzz": 1, "datasets": [], "_id": 1}, partial=True, field="_id", says="_id")
    refused(f.parse_order, {"title": "", "aaa": 1}, partial=True, field="aaa", says="unknown field: 'aaa'")


def test_the_first_bad_field_in_field_order_is_reported() -> None:
    refused(f.parse_order, {"tags_user": [], "authors": "x", "title": 1}, partial=True, field="title", says="title")
    refused(f.parse_order, {"tags_user": [], "authors": "x"}, partial=True, field="authors", says="authors")


@pytest.mark.parametrize(
    ("parse", "key"),
    [
        (f.parse_order, "cross_references"),
        (f.parse_order, "receivers"),
        (f.parse_dataset, "editors"),
        (f.parse_dataset, "datasets"),
        (f.parse_dataset, "order"),
        (f.parse_dataset, "authors"),
        (f.parse_collection, "authors"),
        (f.parse_collection, "tags"),
        (f.parse_collection, "Title"),
    ],
)
def test_unknown_keys_are_named(parse: Any, key: str) -> None:
    refused(parse, {"title": "T", key: "x"}, partial=False, field=key, says=f"unknown field: {key!r}")


def test_an_unknown_key_is_quoted_briefly() -> None:
    err = refused(f.parse_order, {"k" * 5000: 1}, partial=True, field="k" * 100, says="unknown field: 'kkk")
    assert len(str(err)) < 100


def test_two_wrappers_or_a_wrapper_beside_fields_are_read_flat() -> None:
    refused(f.parse_order, {"order": {"title": "T"}, "title": "T"}, partial=True, field="order", says="unknown")
    refused(f.parse_dataset, {"order": {"title": "T"}}, partial=True, field="order", says="unknown field: 'order'")


def test_a_lone_surrogate_is_refused() -> None:
    refused(f.parse_order, {"title": "a\ud800"}, partial=True, field="body", says="valid Unicode")


def test_a_full_dataset_in_both_shapes() -> None:
    ds = {
        "title": "D",
        "description": "",
        "tags_standard": {},
        "tags_user": {"a": "b"},
        "cross_references": [{"title": "paper", "value": "doi:10.1000/x"}],
        "published": True,
    }
    assert f.parse_dataset(ds, partial=False) == ds
    assert f.parse_dataset({"dataset": ds}, partial=False) == ds
    refused(f.parse_dataset, {"dataset": {"description": "d"}}, partial=False, field="title", says="missing")


def test_a_new_dataset_carries_its_order() -> None:
    assert f.parse_new_dataset({"order": U1_UPPER, "title": "D"}) == (U1, {"title": "D"})
    assert f.parse_new_dataset({"dataset": {"order": U1, "title": "D"}}) == (U1, {"title": "D"})
    assert f.parse_new_dataset({"dataset": {"title": "D"}}) == (None, {"title": "D"})
    assert f.parse_new_dataset({"title": "D"}) == (None, {"title": "D"})


def test_a_new_dataset_is_checked_as_on_create() -> None:
    refused(f.parse_new_dataset, {"order": U1}, field="title", says="missing field: title")
    refused(f.parse_new_dataset, {"order": "o-" + U1, "title": "D"}, field="order", says="order must be a UUID")
    refused(f.parse_new_dataset, {"order": None, "title": "D"}, field="order", says="order must be a UUID")
    refused(f.parse_new_dataset, {"order": U1, "title": "D", "_id": U2}, field="_id", says="set by the catalogue")
    refused(f.parse_new_dataset, [], field="body", says="JSON object")
    refused(f.parse_new_dataset, {"order": U1, "dataset": {"title": "D"}}, field="dataset", says="unknown field")


def test_a_full_collection_in_both_shapes() -> None:
    coll = {
        "title": "C",
        "description": "d",
        "tags_standard": {"s": "t"},
        "tags_user": {},
        "cross_references": [{"title": "site", "value": "https://example.org/a"}],
        "editors": [U1],
        "datasets": [U2],
        "published": False,
    }
    assert f.parse_collection(coll, partial=False) == coll
    assert f.parse_collection({"collection": coll}, partial=False) == coll
    refused(f.parse_collection, {"collection": {"editors": []}}, partial=False, field="title", says="missing")


# --- users ------------------------------------------------------------------------------------

USER = {
    "name": "Ada",
    "email": "Ada.L@Example.ORG",
    "contact": "Box 1, Uppsala",
    "affiliation": "SciLifeLab",
    "orcid": "0000-0002-1825-0097",
    "url": "https://example.org/ada",
    "permissions": ["USER_SEARCH", "ORDERS", "ORDERS"],
}
USER_OUT = {**USER, "email": "Ada.L@example.org", "permissions": ["ORDERS", "USER_SEARCH"]}


def test_a_full_user_in_both_shapes() -> None:
    assert f.parse_user(USER, partial=False, own=False) == USER_OUT
    assert f.parse_user({"user": USER}, partial=False, own=False) == USER_OUT


def test_email_is_required_on_create_only() -> None:
    refused(f.parse_user, {"name": "A"}, partial=False, own=False, field="email", says="missing field: email")
    assert f.parse_user({"name": ""}, partial=True, own=False) == {"name": ""}
    assert f.parse_user({}, partial=True, own=True) == {}


@pytest.mark.parametrize(
    ("email", "out"),
    [
        ("a@b.se", "a@b.se"),
        ("First.Last+tag@Sub.Example.ORG", "First.Last+tag@sub.example.org"),
        (EMAIL_256, EMAIL_256),
    ],
)
def test_good_emails(email: str, out: str) -> None:
    assert f.parse_user({"email": email}, partial=True, own=False) == {"email": out}


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("", "must look like"),
        ("a@b", "must look like"),
        ("ab.se", "must look like"),
        ("a@@b.se", "must look like"),
        ("a@b@c.se", "must look like"),
        ("a b@c.se", "must look like"),
        ("a@b.se ", "must look like"),
        ("a\x00@b.se", "must look like"),
        (EMAIL_256.replace("a@", "aa@"), "longer than 256"),
        (None, "must be a string"),
        (["a@b.se"], "must be a string"),
    ],
)
def test_bad_emails(email: object, says: str) -> None:
    refused(f.parse_user, {"email": email}, partial=True, own=False, field="email", says=says)


@pytest.mark.parametrize("orcid", ["0000-0002-1825-0097", "0000-0002-1694-233X", "1111-1111-1111-1115", ""])
def test_good_orcids(orcid: str) -> None:
    assert f.parse_user({"orcid": orcid}, partial=True, own=True) == {"orcid": orcid}


def test_a_lowercase_final_x_is_uppercased() -> None:
    assert f.parse_user({"orcid": "0000-0002-1694-233x"}, partial=True, own=True) == {"orcid": "0000-0002-1694-233X"}


@pytest.mark.parametrize(
    "orcid",
    [
        "1111-1111-1111-1110",
        "0000-0002-1825-0098",
        "0000-0002-1694-2330",
        "0000000218250097",
        "https://orcid.org/0000-0002-1825-0097",
        "0000-0002-1825-009",
        " 0000-0002-1825-0097",
        "x",
        "0" * 5000,
    ],
)
def test_bad_orcids(orcid: str) -> None:
    refused(f.parse_user, {"orcid": orcid}, partial=True, own=True, field="orcid", says="check digit")


def test_orcid_must_be_a_string() -> None:
    refused(f.parse_user, {"orcid": None}, partial=True, own=True, field="orcid", says="must be a string")


@pytest.mark.parametrize("url", ["", "http://a.se", "https://example.org/p?q=1", URL_2048])
def test_good_user_urls(url: str) -> None:
    assert f.parse_user({"url": url}, partial=True, own=True) == {"url": url}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("example.org", "http:// or https://"),
        ("ftp://example.org", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("http://", "http:// or https://"),
        ("https:///x", "http:// or https://"),
        ("https://exa mple.org", "http:// or https://"),
        (" https://example.org", "http:// or https://"),
        (URL_2048 + "p", "longer than 2048"),
        (None, "must be a string"),
    ],
)
def test_bad_user_urls(url: object, says: str) -> None:
    refused(f.parse_user, {"url": url}, partial=True, own=True, field="url", says=says)


def test_free_text_user_fields_and_their_limits() -> None:
    body = {"name": "n" * 256, "contact": "c" * 512, "affiliation": "a" * 256}
    assert f.parse_user(body, partial=True, own=True) == body
    assert f.parse_user({"name": "", "contact": "", "affiliation": ""}, partial=True, own=True) == {
        "name": "",
        "contact": "",
        "affiliation": "",
    }
    for key, limit in (("name", 256), ("contact", 512), ("affiliation", 256)):
        refused(f.parse_user, {key: "x" * (limit + 1)}, partial=True, own=True, field=key, says=f"longer than {limit}")
        refused(f.parse_user, {key: 1}, partial=True, own=True, field=key, says="must be a string")


def test_email_public_is_an_alias_of_contact() -> None:
    assert f.parse_user({"email_public": "pub@x.se"}, partial=True, own=True) == {"contact": "pub@x.se"}
    refused(
        f.parse_user, {"email_public": "c" * 513}, partial=True, own=True, field="email_public", says="longer than 512"
    )
    refused(
        f.parse_user,
        {"email_public": "a", "contact": "b"},
        partial=True,
        own=True,
        field="email_public",
        says="not both",
    )


def test_permissions_are_topics_deduplicated_and_sorted() -> None:
    every = ["USER_SEARCH", "USER_MANAGEMENT", "USER_ADD", "OWNERS_READ", "ORDERS_SPECIAL", "ORDERS", "DATA_MANAGEMENT"]
    assert f.parse_user({"permissions": every * 2}, partial=True, own=False) == {"permissions": sorted(every)}
    assert f.parse_user({"permissions": []}, partial=True, own=False) == {"permissions": []}


@pytest.mark.parametrize(
    ("permissions", "says"),
    [
        (["ORDERS", "DATA_EDIT"], "unknown topic 'DATA_EDIT'"),
        (["orders"], "unknown topic 'orders'"),
        (["ORDERS "], "unknown topic 'ORDERS '"),
        ([1], "must be topic names"),
        ([None], "must be topic names"),
        ("ORDERS", "must be a list"),
        (None, "must be a list"),
        ({"ORDERS": True}, "must be a list"),
        (["ORDERS"] * 101, "more than 100"),
    ],
)
def test_bad_permissions(permissions: object, says: str) -> None:
    refused(f.parse_user, {"permissions": permissions}, partial=True, own=False, field="permissions", says=says)


@pytest.mark.parametrize("own", [False, True])
@pytest.mark.parametrize("key", ["_id", "id", "auth_ids", "api_key", "api_salt"])
def test_user_keys_set_by_the_catalogue(key: str, own: bool) -> None:
    refused(f.parse_user, {"name": "A", key: "x"}, partial=True, own=own, field=key, says=key)
    refused(f.parse_user, {"user": {key: []}}, partial=True, own=own, field=key, says=key)


@pytest.mark.parametrize("key", ["email", "permissions"])
def test_a_user_does_not_change_their_own_email_or_permissions(key: str) -> None:
    body = {"name": "A", "email": "a@b.se", "permissions": ["ORDERS"]}
    refused(f.parse_user, body, partial=True, own=True, field="email", says="changed by a user manager")
    refused(f.parse_user, {key: body[key]}, partial=True, own=True, field=key, says="changed by a user manager")


def test_unknown_user_keys_are_named() -> None:
    refused(f.parse_user, {"username": "ada"}, partial=True, own=False, field="username", says="'username'")
    refused(f.parse_user, {"is_admin": True}, partial=True, own=True, field="is_admin", says="'is_admin'")


# --- API keys -------------------------------------------------------------------------------


def test_an_api_key_name_defaults() -> None:
    assert f.parse_api_key_request(None) == "default"
    assert f.parse_api_key_request({}) == "default"


def test_an_api_key_name() -> None:
    assert f.parse_api_key_request({"name": "laptop"}) == "laptop"
    assert f.parse_api_key_request({"name": " CI runner "}) == "CI runner"
    assert f.parse_api_key_request({"name": "n" * 80}) == "n" * 80
    assert f.parse_api_key_request({"name": "ñame ✓"}) == "ñame ✓"


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"name": ""}, "name", "1-80 printable"),
        ({"name": "   "}, "name", "1-80 printable"),
        ({"name": "n" * 81}, "name", "1-80 printable"),
        ({"name": "a\tb"}, "name", "1-80 printable"),
        ({"name": "a\x00"}, "name", "1-80 printable"),
        ({"name": None}, "name", "must be a string"),
        ({"name": 3}, "name", "must be a string"),
        ({"name": "x", "expires": 1}, "expires", "unknown field: 'expires'"),
        ([], "body", "JSON object"),
        ("laptop", "body", "JSON object"),
    ],
)
def test_bad_api_key_requests(body: object, field: str, says: str) -> None:
    refused(f.parse_api_key_request, body, field=field, says=says)


def test_the_key_presented_at_login() -> None:
    assert f.parse_key_login({"api-user": "u::local", "api-key": "abc.def"}) == "abc.def"
    assert f.parse_key_login({"api-key": "abc.def"}) == "abc.def"
    assert f.parse_key_login({"api-user": None, "api-key": "k"}) == "k"
    assert f.parse_key_login({"key": "abc.def"}) == "abc.def"
    assert f.parse_key_login({"key": "k" * 200}) == "k" * 200


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({}, "api-key", "missing field: api-key"),
        ({"api-user": "u"}, "api-key", "missing field: api-key"),
        ({"api-key": "a", "key": "b"}, "key", "not both"),
        ({"api-key": ""}, "api-key", "must not be empty"),
        ({"key": "k" * 201}, "key", "longer than 200"),
        ({"key": None}, "key", "must be a string"),
        ({"api-key": 12}, "api-key", "must be a string"),
        ({"key": "k", "secret": "s"}, "secret", "unknown field: 'secret'"),
        (None, "body", "JSON object"),
        ("abc.def", "body", "JSON object"),
    ],
)
def test_bad_key_logins(body: object, field: str, says: str) -> None:
    refused(f.parse_key_login, body, field=field, says=says)
