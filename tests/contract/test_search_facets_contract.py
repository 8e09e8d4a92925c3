"""The SearchIndex contract, continued: highlights, facets and the project and type filters.

Run like ``test_search_contract.py`` (kept apart to keep each module short): every test
runs against ``[memory]`` (InMemorySearchIndex) and ``[opensearch]`` (osmem-server).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.catalogue.search import (
    FACET_FIELDS,
    HIGHLIGHT_FRAGMENTS,
    HIGHLIGHTS,
    SUMMARY_BUCKETS,
    Facets,
    SearchIndex,
    SearchQuery,
)
from chalicelib.errors import SearchUnavailable, ValidationError
from tests.contract.test_search_contract import A, B, C, eid, find, uid

DocFactory = Callable[..., dict[str, Any]]  # the ``make_doc`` fixture
NOTHING = dict.fromkeys(FACET_FIELDS, ())


def highlights(index: SearchIndex, text: str, **kw: Any) -> dict[str, dict[str, list[str]]]:
    """The highlights of each hit of ``text``, by entry_id."""
    result = index.search(SearchQuery(text=text, highlight=True, size=100, **kw))
    return {h["entry_id"]: h[HIGHLIGHTS] for h in result.hits}


def markup(snippet: str) -> list[str]:
    """Every tag of an HTML ``snippet``."""
    return re.findall(r"<[^>]*>?", snippet)


class TestHighlights:
    def test_the_words_found_are_marked_per_field(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), name="Ocean survey", description="plankton counts in the OCEAN", readme="x: okapi"),
                make_doc(uid(2), name="ocean plankton"),
                make_doc(uid(3), name="ocean only"),
            ]
        )
        assert highlights(index, "ocean plankton") == {
            eid(1): {
                "name": ["<mark>Ocean</mark> survey"],
                "description": ["<mark>plankton</mark> counts in the <mark>OCEAN</mark>"],
            },
            eid(2): {"name": ["<mark>ocean</mark> <mark>plankton</mark>"]},
        }
        assert highlights(index, "okapi") == {eid(1): {"readme": ["x: <mark>okapi</mark>"]}}

    def test_snippets_are_html_with_only_the_marks_as_tags(self, index: SearchIndex, make_doc: DocFactory) -> None:
        readme = "title: <script>alert('okapi & co')</script>\nnotes: <img src=x onerror=alert(1)> okapi"
        index.upsert([make_doc(uid(1), name='a "b" <i>okapi</i>', readme=readme, readme_text=readme)])
        found = highlights(index, "okapi")[eid(1)]
        assert found["name"] == ["a &quot;b&quot; &lt;i&gt;<mark>okapi</mark>&lt;&#x2F;i&gt;"]
        assert set(found) == {"name", "readme", "readme_text"}
        snippets = [s for field in found.values() for s in field]
        assert all(set(markup(s)) == {"<mark>", "</mark>"} for s in snippets), snippets
        assert any("&lt;script&gt;alert(&#x27;<mark>okapi</mark> &amp; co&#x27;)" in s for s in snippets), snippets

    def test_no_highlights_unless_asked_with_a_text(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), name="okapi")])
        for query in (
            SearchQuery(text="okapi"),
            SearchQuery(highlight=True),
            SearchQuery(text="   ", highlight=True),
            SearchQuery(highlight=True, uuids=(uid(1),)),
        ):
            (hit,) = index.search(query).hits
            assert HIGHLIGHTS not in hit, query
        assert index.search(SearchQuery(text="!!!", highlight=True)).hits == []

    def test_long_fields_give_fragments_the_name_is_whole(self, index: SearchIndex, make_doc: DocFactory) -> None:
        name = "x " * 150 + "okapi"
        description = "filler " * 100 + "okapi " + "filler " * 100 + "okapi " + "filler " * 100
        relpaths = ["raw okapi 1", "plots", "okapi 2", "okapi 3", "data okapi 4", "okapi 5"]
        index.upsert([make_doc(uid(1), name=name, description=description, relpaths=relpaths)])
        found = highlights(index, "okapi")[eid(1)]
        assert found["name"] == ["x " * 150 + "<mark>okapi</mark>"]
        assert 1 <= len(found["description"]) <= HIGHLIGHT_FRAGMENTS
        for snippet in found["description"]:
            assert "<mark>okapi</mark>" in snippet and len(snippet) < len(description) // 2, snippet
        assert len(found["relpaths"]) == HIGHLIGHT_FRAGMENTS
        marked = {p.replace("okapi", "<mark>okapi</mark>") for p in relpaths}
        assert set(found["relpaths"]) <= marked

    def test_highlights_follow_visibility_and_filters(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), base_uri=A, name="okapi here"),
                make_doc(uid(1), base_uri=B, name="okapi there", description="okapi secret"),
            ]
        )
        assert highlights(index, "okapi", allowed_base_uris=frozenset({A})) == {
            eid(1, A): {"name": ["<mark>okapi</mark> here"]}
        }
        assert highlights(index, "okapi secret") == {
            eid(1, B): {"name": ["<mark>okapi</mark> there"], "description": ["<mark>okapi</mark> <mark>secret</mark>"]}
        }


class TestFacets:
    def _docs(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), base_uri=A, creator_username="alice", tags=["x"], name="okapi", type="dtool"),
                make_doc(uid(2), base_uri=B, creator_username="bob", tags=["x", "y"], project="P", type="bag"),
                # one dataset, two entries
                make_doc(
                    uid(3),
                    base_uri=A,
                    creator_username="carol",
                    tags=["y", "y"],
                    project="P",
                    name="okapi",
                    type="dtool",
                ),
                make_doc(uid(3), base_uri=B, creator_username="carol", tags=["y"], project="P", type="dtool"),
                make_doc(uid(4), base_uri=C, creator_username="bob", tags=["z"], project="Q"),
                make_doc(uid(5), base_uri=A, creator_username="dave", tags=["x"], deleted=True, type="bag"),
            ]
        )

    def test_entries_per_value_by_count_then_value(self, index: SearchIndex, make_doc: DocFactory) -> None:
        assert index.facets(SearchQuery()) == Facets(total=0, facets=NOTHING)
        self._docs(index, make_doc)
        assert index.facets(SearchQuery()) == Facets(
            total=5,
            facets={
                "base_uri": ((A, 2), (B, 2), (C, 1)),
                "creator": (("bob", 2), ("carol", 2), ("alice", 1)),
                "tag": (("y", 3), ("x", 2), ("z", 1)),
                "project": (("P", 3), ("Q", 1)),
                "type": (("dtool", 3), ("bag", 1), ("record", 1)),
            },
        )

    def test_a_count_is_the_total_of_the_search_filtered_by_its_value(
        self, index: SearchIndex, make_doc: DocFactory
    ) -> None:
        self._docs(index, make_doc)
        for allowed, projects in ((None, frozenset()), (frozenset({A}), frozenset({"P"}))):
            query = SearchQuery(allowed_base_uris=allowed, allowed_projects=projects)
            facets = index.facets(query)
            assert facets.total == index.search(query).total
            filters = {
                "base_uri": "base_uris",
                "creator": "creators",
                "tag": "tags",
                "project": "projects",
                "type": "types",
            }
            for name, values in facets.facets.items():
                for value, count in values:
                    narrowing: dict[str, Any] = {filters[name]: (value,)}
                    assert index.search(replace(query, **narrowing)).total == count, (name, value)

    def test_every_filter_and_the_text_narrow_the_counts(self, index: SearchIndex, make_doc: DocFactory) -> None:
        self._docs(index, make_doc)
        by_text = index.facets(SearchQuery(text="OKAPI"))
        assert by_text.total == 2 and by_text.facets["base_uri"] == ((A, 2),)
        assert by_text.facets["creator"] == (("alice", 1), ("carol", 1))
        assert index.facets(SearchQuery(base_uris=(B, C))).facets["base_uri"] == ((B, 2), (C, 1))
        assert index.facets(SearchQuery(creators=("bob",))).facets["tag"] == (("x", 1), ("y", 1), ("z", 1))
        assert index.facets(SearchQuery(tags=("x", "y"))).facets["creator"] == (("bob", 1),)
        assert index.facets(SearchQuery(uuids=(uid(3),))).facets["base_uri"] == ((A, 1), (B, 1))
        assert index.facets(SearchQuery(uris=(f"{C}/{uid(4)}",))).facets["project"] == (("Q", 1),)
        projects = index.facets(SearchQuery(projects=("P", "R")))
        assert projects.total == 3 and projects.facets["project"] == (("P", 3),)
        types = index.facets(SearchQuery(types=("bag", "record")))
        assert types.total == 2 and types.facets["type"] == (("bag", 1), ("record", 1))
        assert types.facets["creator"] == (("bob", 2),)
        assert index.facets(SearchQuery(text="unicorn")) == Facets(total=0, facets=NOTHING)
        # sort, paging and highlight play no part
        paged = SearchQuery(sort="name", descending=False, offset=3, size=1, highlight=True, text="okapi")
        assert index.facets(paged) == by_text

    def test_visibility(self, index: SearchIndex, make_doc: DocFactory) -> None:
        self._docs(index, make_doc)
        assert index.facets(SearchQuery(allowed_base_uris=frozenset({A}))) == Facets(
            total=2,
            facets={
                "base_uri": ((A, 2),),
                "creator": (("alice", 1), ("carol", 1)),
                "tag": (("x", 1), ("y", 1)),
                "project": (("P", 1),),
                "type": (("dtool", 2),),
            },
        )
        # a project's members count its entries whatever their base URI, and nothing more
        member = index.facets(SearchQuery(allowed_base_uris=frozenset(), allowed_projects=frozenset({"P"})))
        assert member.total == 3 and member.facets["base_uri"] == ((B, 2), (A, 1))
        assert member.facets["project"] == (("P", 3),)
        # asking for what one may not see counts nothing
        assert index.facets(SearchQuery(allowed_base_uris=frozenset({A}), base_uris=(C,))).total == 0
        assert index.facets(SearchQuery(allowed_base_uris=frozenset({A}), projects=("Q",))).total == 0
        assert index.facets(SearchQuery(allowed_base_uris=frozenset({A}), types=("bag",))).total == 0  # uid(5) deleted
        for nobody in (frozenset(), frozenset({"s3://elsewhere"})):
            assert index.facets(SearchQuery(allowed_base_uris=nobody)) == Facets(total=0, facets=NOTHING)
        assert index.facets(SearchQuery(allowed_base_uris=frozenset(), allowed_projects=frozenset({"R"}))).total == 0

    def test_at_most_size_values(self, index: SearchIndex, make_doc: DocFactory) -> None:
        # tag t<i> on 8 - i entries; "b" and "a" tie with t6 at 2
        docs = [make_doc(uid(i), tags=[f"t{j}" for j in range(8) if j < 8 - i]) for i in range(8)]
        docs += [make_doc(uid(10), tags=["b", "a"]), make_doc(uid(11), tags=["a", "b"])]
        index.upsert(docs)
        tags = index.facets(SearchQuery(), size=8).facets["tag"]
        assert tags == (("t0", 8), ("t1", 7), ("t2", 6), ("t3", 5), ("t4", 4), ("t5", 3), ("a", 2), ("b", 2))
        assert index.facets(SearchQuery(), size=1).facets["tag"] == (("t0", 8),)
        assert index.facets(SearchQuery(), size=1).total == 10
        for bad in (0, -1, SUMMARY_BUCKETS + 1):
            with pytest.raises(ValidationError):
                index.facets(SearchQuery(), size=bad)

    def test_unreachable_backend_raises_search_unavailable(self, unreachable_index: SearchIndex) -> None:
        with pytest.raises(SearchUnavailable):
            unreachable_index.facets(SearchQuery())


def test_project_filter_is_an_or_filter_within_visibility(index: SearchIndex, make_doc: DocFactory) -> None:
    index.upsert(
        [
            make_doc(uid(1), base_uri=A, project="P"),
            make_doc(uid(2), base_uri=B, project="Q"),
            make_doc(uid(3), base_uri=A),
            make_doc(uid(4), base_uri=C, project="P"),
        ]
    )
    assert find(index, projects=("P",)) == [uid(1), uid(4)]
    assert find(index, projects=("P", "Q", "R")) == [uid(1), uid(2), uid(4)]
    assert find(index, projects=("p",)) == []  # keywords are exact
    assert find(index, projects=("P",), allowed_base_uris=frozenset({A})) == [uid(1)]
    assert find(index, projects=("P",), allowed_base_uris=frozenset(), allowed_projects=frozenset({"Q"})) == []
    assert find(index, projects=("Q",), base_uris=(A,)) == []


def test_the_adapter_escapes_markup_a_backend_left_in_a_snippet() -> None:
    # osmem-server and OpenSearch honour "encoder": "html"; a backend that did not must not
    # hand the page a tag (what the encoder already escaped is left as it is)
    from chalicelib.adapters.opensearch import _highlights

    raw = {"highlight": {"readme": ["<script>x</script> <mark>okapi</mark> &amp; it's"], "unknown": ["<b>"]}}
    assert _highlights(raw) == {"readme": ["&lt;script&gt;x&lt;/script&gt; <mark>okapi</mark> &amp; it&#x27;s"]}


def test_type_filter_is_an_or_filter_within_visibility(index: SearchIndex, make_doc: DocFactory) -> None:
    index.upsert(
        [
            make_doc(uid(1), base_uri=A, type="dtool"),
            make_doc(uid(2), base_uri=B, type="folder"),
            make_doc(uid(3), base_uri=A, type="bag"),
            make_doc(uid(4), base_uri=C, type="dtool", project="P"),
        ]
    )
    assert find(index, types=("dtool",)) == [uid(1), uid(4)]
    assert find(index, types=("dtool", "folder", "facility")) == [uid(1), uid(2), uid(4)]
    assert find(index, types=("DTOOL",)) == []  # keywords are exact
    assert find(index, types=("dtool",), allowed_base_uris=frozenset({A})) == [uid(1)]
    assert find(index, types=("dtool",), allowed_base_uris=frozenset(), allowed_projects=frozenset({"P"})) == [uid(4)]
    assert find(index, types=("bag",), base_uris=(B,)) == []
