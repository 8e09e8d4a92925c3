"""The search text: free words, prefixes and annotation clauses (chalicelib.catalogue.search_syntax),
and the OpenSearch bodies built from them."""

from __future__ import annotations

import random

import pytest

from chalicelib.adapters.opensearch_queries import annotation_filter, build_query
from chalicelib.catalogue.search import SearchQuery
from chalicelib.catalogue.search_syntax import (
    MAX_ANNOTATION_VALUES,
    MAX_CLAUSES,
    AnnotationClause,
    Word,
    annotation_values,
    free_words,
    parse_search_text,
)
from chalicelib.errors import ValidationError


def clauses(text: str) -> list[AnnotationClause]:
    return list(parse_search_text(text).annotations)


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("annotations.temperature_K>=300", {"gte": 300.0}),
        ("annotations.temperature_K>300", {"gt": 300.0}),
        ("annotations.temperature_K<=300", {"lte": 300.0}),
        ("annotations.temperature_K<-1.5e2", {"lt": -150.0}),
        ("annotations.temperature_K:>=300", {"gte": 300.0}),  # Lucene's spelling
        ("annotations.temperature_K:[250 TO 350]", {"gte": 250.0, "lte": 350.0}),
        ("annotations.temperature_K:{250 TO 350}", {"gt": 250.0, "lt": 350.0}),
        ("annotations.temperature_K:[250 TO 350}", {"gte": 250.0, "lt": 350.0}),
        ("annotations.temperature_K:[250 TO *]", {"gte": 250.0}),
        ("annotations.temperature_K:[* TO .5]", {"lte": 0.5}),
    ],
)
def test_comparisons_and_ranges(text: str, bounds: dict[str, float]) -> None:
    (clause,) = clauses(text)
    assert (clause.key, clause.kind, clause.bounds()) == ("temperature_K", "range", bounds)


def test_equality_on_numbers_and_strings() -> None:
    number, text, quoted, flag = clauses(
        'annotations.n:310 annotations.s=S-1 annotations.q:"a b \\" c" annotations.ok:true'
    )
    assert (number.kind, number.number, number.text) == ("equals", 310.0, "310")
    assert (text.kind, text.number, text.text) == ("equals", None, "S-1")
    assert quoted.text == 'a b " c'
    assert (flag.text, flag.number) == ("true", None)


def test_exists_both_spellings() -> None:
    a, b, c = clauses("annotations.sample_id:* _exists_:annotations.sample_id annotations.sample_id:[* TO *]")
    assert [(x.key, x.kind) for x in (a, b, c)] == [("sample_id", "exists")] * 3


def test_clauses_and_words_are_separated() -> None:
    parsed = parse_search_text("  temp  annotations.temperature_K:[250 TO 350]  sweep annotations.a.b>1 calib* ")
    assert parsed.text == "temp sweep calib*"
    assert [(c.key, c.bounds()) for c in parsed.annotations] == [
        ("temperature_K", {"gte": 250.0, "lte": 350.0}),
        ("a.b", {"gt": 1.0}),  # a nested key by its path
    ]


def test_a_part_without_an_operator_is_a_word() -> None:
    parsed = parse_search_text("annotations.json annotations")
    assert (parsed.text, parsed.annotations) == ("annotations.json annotations", ())


@pytest.mark.parametrize(
    "text",
    [
        "annotations.temperature_K>=abc",
        "annotations.temperature_K>=",
        "annotations.temperature_K!=3",
        "annotations.temperature_K~3",
        "annotations.temperature_K=>3",
        "annotations.temperature_K:",
        "annotations.temperature_K:[1 TO x]",
        "annotations.temperature_K:[1 TO 2",
        "annotations.temperature_K:[1 2]",
        "annotations.temperature_K>=nan",
        "annotations.temperature_K>=1e999",
        "annotations..x:1",
        "annotations.x.:1",
        'annotations.x:"a b',
        "_exists_:name",
        "_exists_:annotations.x:1",
        "annotations.x:" + "v" * 257,
    ],
)
def test_malformed_clauses_are_refused_by_name(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_search_text(text, field="free_text")
    assert exc.value.field == "free_text"
    assert "annotation clause" in str(exc.value)


def test_the_message_names_the_clause() -> None:
    with pytest.raises(ValidationError, match=r"annotations\.temperature_K>=abc.*not a number"):
        parse_search_text("temp annotations.temperature_K>=abc")


def test_at_most_max_clauses() -> None:
    parse_search_text(" ".join(["annotations.a:*"] * MAX_CLAUSES))
    with pytest.raises(ValidationError, match="at most"):
        parse_search_text(" ".join(["annotations.a:*"] * (MAX_CLAUSES + 1)))


def test_free_words() -> None:
    words = list(free_words("temp calib* !!! - a_b* raw/probe* 温度* *"))
    assert words == [
        Word("temp"),
        Word("calib", prefix=True),
        Word("a_b", prefix=True),
        Word("raw/probe", prefix=True),
        Word("温度", prefix=True),
    ]
    assert [w.single for w in words] == [True, True, True, False, False]


def test_annotation_values_of_a_document() -> None:
    values = annotation_values(
        {
            "temperature_K": 310,
            "sample": {"id": "S1", "mass_g": 1.5, "calibrated": True},
            "runs": [1, 2],
            "note": None,
            "empty": [],
            "long": "x" * 300,
            "huge": 10**400,
        }
    )
    assert values == [
        {"key": "temperature_K", "number": 310.0},
        {"key": "sample.id", "text": "S1"},
        {"key": "sample.mass_g", "number": 1.5},
        {"key": "sample.calibrated", "text": "true"},
        {"key": "runs", "number": 1.0},
        {"key": "runs", "number": 2.0},
        {"key": "note"},
        {"key": "empty"},
        {"key": "long"},
        {"key": "huge"},
    ]
    assert len(annotation_values({"many": list(range(5000))})) == MAX_ANNOTATION_VALUES


def test_a_clause_is_one_nested_filter_of_key_and_value() -> None:
    (clause,) = clauses("annotations.temperature_K>=300")
    nested = annotation_filter(clause)["nested"]
    assert nested["path"] == "annotation_values" and nested["ignore_unmapped"] is True
    assert nested["query"] == {
        "bool": {
            "filter": [
                {"term": {"annotation_values.key": "temperature_K"}},
                {"range": {"annotation_values.number": {"gte": 300.0}}},
            ]
        }
    }


def test_clauses_are_filters_next_to_visibility_and_words_each_a_query() -> None:
    parsed = parse_search_text("temp calib* annotations.sample_id:*")
    body = build_query(
        SearchQuery(text=parsed.text, annotations=parsed.annotations, allowed_base_uris=frozenset({"s3://a"}))
    )["bool"]
    assert {"terms": {"base_uris": ["s3://a"]}} in body["filter"]
    assert any("nested" in f for f in body["filter"])
    temp, calib = body["must"]
    assert [next(iter(q)) for q in temp["dis_max"]["queries"]] == ["multi_match", "multi_match"]
    assert temp["dis_max"]["queries"][0]["multi_match"]["boost"] > 1  # whole words rank first
    assert temp["dis_max"]["queries"][1]["multi_match"]["fields"] == [
        "name.prefix",
        "description.prefix",
        "readme.prefix",
    ]
    assert {"prefix": {"relpaths": {"value": "calib"}}} in calib["dis_max"]["queries"]


def test_a_text_of_no_words_matches_nothing() -> None:
    assert build_query(SearchQuery(text="!!! -"))["bool"]["must"] == [{"match_none": {}}]


def test_any_text_is_parsed_or_refused_as_validation_error() -> None:
    rng = random.Random(23)
    pieces = ["annotations.", "_exists_:", "t", "a.b", ":", "=", ">", ">=", "<", "[", "]", "{", "}", " TO ", "*", '"']
    pieces += [" ", "1", "-2.5e3", "x", "\\", "..", "!", "~", "é", "\t"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 12)))
        try:
            parsed = parse_search_text(text)
        except ValidationError as exc:
            assert exc.field == "q"
            assert "annotation clause" in str(exc) or "at most" in str(exc)
            continue
        for clause in parsed.annotations:
            annotation_filter(clause)  # every clause makes a filter
