"""The SearchIndex contract (chalicelib.catalogue.search), run against every implementation.

Each test runs twice: ``[memory]`` (InMemorySearchIndex) and ``[opensearch]``
(OpenSearchIndex on osmem-server). A behaviour pinned here is one the service may rely on.

A document is an entry: a uuid on one base URI (``entry_id`` ``f"{uuid}@{base_uri}"``); the
same uuid on two base URIs is two documents. Highlights, facets and the project filter are
pinned in ``test_search_facets_contract.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.catalogue.search import SORT_KEYS, Facets, SearchIndex, SearchQuery, SearchResult
from chalicelib.errors import SearchUnavailable, ValidationError

DocFactory = Callable[..., dict[str, Any]]  # the ``make_doc`` fixture
BASE_TIME = 1_700_000_000.0  # the builder's default for every timestamp
A, B, C = "s3://bucket-a", "s3://bucket-b", "s3://bucket-c"
MAX_PAGES = 20  # bound for every cursor loop


def uid(i: int) -> str:
    """Deterministic uuids whose string order is their number order."""
    return f"{i:08x}-0000-4000-8000-000000000000"


def eid(i: int, base_uri: str = "s3://bucket-a") -> str:
    """The entry_id of ``uid(i)`` on ``base_uri``."""
    return f"{uid(i)}@{base_uri}"


def uuids(result: SearchResult) -> list[str]:
    return [h["uuid"] for h in result.hits]


def entries(result: SearchResult) -> list[str]:
    return [h["entry_id"] for h in result.hits]


def find(index: SearchIndex, text: str = "", **kw: Any) -> list[str]:
    return sorted(uuids(index.search(SearchQuery(text=text, size=100, **kw))))


def sort_docs(docs: list[dict[str, Any]], sort: str, descending: bool) -> list[str]:
    """The entry_ids of ``docs`` in the expected order."""
    field = SORT_KEYS[sort]
    return [d["entry_id"] for d in sorted(docs, key=lambda d: (d[field], d["entry_id"]), reverse=descending)]


def sortable_docs(make_doc: DocFactory, n: int) -> list[dict[str, Any]]:
    """``n`` entries whose sort keys have many ties (so the entry_id tie-break matters); every
    uuid is on up to three base URIs (so entries of one uuid tie too)."""
    names = ["alpha", "Beta", "beta", "Zed", "éclair", "alpha 2", "10 things"]
    return [
        make_doc(
            uid(i // 3),
            base_uri=(A, B, C)[i % 3],
            name=names[(i * 5) % len(names)],
            created_at=BASE_TIME + (i * 7) % 4,
            frozen_at=BASE_TIME + 0.5 * ((i * 3) % 5),
            registered_at=BASE_TIME + (i % 3) * 86400.25,
            updated_at=BASE_TIME + ((i * 11) % 6) / 10,
        )
        for i in range(n)
    ]


class TestSearchContract:
    # -- free text ---------------------------------------------------------------------
    def test_text_matches_every_text_field(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), name="Zebra crossing"),
                make_doc(uid(2), description="measurements of a giraffe"),
                make_doc(uid(3), readme="description: okapi field notes\nproject: x"),
                make_doc(uid(4), readme_text="tapir project"),
                make_doc(uid(5), annotations_text="species narwhal"),
                make_doc(uid(6), relpaths=["raw/run1/walrus.txt", "plots/summary.png"]),
            ]
        )
        assert find(index, "zebra") == [uid(1)]
        assert find(index, "GIRAFFE") == [uid(2)]
        assert find(index, "Okapi") == [uid(3)]
        assert find(index, "tapir") == [uid(4)]
        assert find(index, "narwhal") == [uid(5)]
        assert find(index, "run1") == [uid(6)]
        assert find(index, "summary.png") == [uid(6)]
        assert find(index, "unicorn") == []

    def test_all_words_required_across_fields(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), name="ocean survey", description="plankton counts"),
                make_doc(uid(2), name="ocean survey"),
                make_doc(uid(3), description="plankton"),
            ]
        )
        assert find(index, "ocean plankton") == [uid(1)]
        assert find(index, "  Ocean   SURVEY ") == [uid(1), uid(2)]
        assert find(index, "ocean unicorn") == []

    def test_blank_text_matches_all_and_wordless_text_matches_nothing(
        self, index: SearchIndex, make_doc: DocFactory
    ) -> None:
        index.upsert([make_doc(uid(1)), make_doc(uid(2))])
        assert find(index, "") == [uid(1), uid(2)]
        assert find(index, "   ") == [uid(1), uid(2)]
        assert find(index, "!!! ---") == []

    def test_stored_only_fields_are_not_searched(self, index: SearchIndex, make_doc: DocFactory) -> None:
        doc = make_doc(
            uid(1),
            annotations={"secret": {"nested": ["hidden-word", 3]}},
            replicas=[{"base_uri": A, "uri": f"{A}/{uid(1)}", "extra": {"deep": "replicaword"}}],
        )
        index.upsert([doc])
        assert find(index, "hidden") == []
        assert find(index, "replicaword") == []
        # ... but they come back verbatim in hits.
        (hit,) = index.search(SearchQuery()).hits
        assert hit == doc

    # -- versions ----------------------------------------------------------------------
    def test_external_versions_never_regress(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), version=2, name="two")])
        index.upsert([make_doc(uid(1), version=1, name="one")])  # older: ignored
        index.upsert([make_doc(uid(1), version=2, name="two again")])  # equal: ignored
        assert [h["name"] for h in index.search(SearchQuery()).hits] == ["two"]
        assert list(index.versions()) == [(eid(1), 2)]
        index.upsert([make_doc(uid(1), version=3, name="three")])  # newer: replaces
        assert [h["name"] for h in index.search(SearchQuery()).hits] == ["three"]
        assert find(index, "two") == []
        assert list(index.versions()) == [(eid(1), 3)]

    def test_out_of_order_versions_in_one_batch(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), version=v, name=f"v{v}") for v in (1, 4, 2, 3)])
        assert [h["name"] for h in index.search(SearchQuery()).hits] == ["v4"]
        assert list(index.versions()) == [(eid(1), 4)]

    def test_repeated_upsert_is_idempotent(self, index: SearchIndex, make_doc: DocFactory) -> None:
        docs = [make_doc(uid(i), version=i + 1, tags=["t"]) for i in range(5)]
        index.upsert(docs)
        first = index.search(SearchQuery(sort="name", descending=False))
        index.upsert(docs)
        index.upsert(list(reversed(docs)))
        assert index.search(SearchQuery(sort="name", descending=False)) == first
        assert first.total == 5
        facets = index.facets(SearchQuery()).facets  # repeats add no entry to the counts either
        assert (facets["base_uri"], facets["creator"], facets["tag"]) == (((A, 5),), (("alice", 5),), (("t", 5),))
        assert list(index.versions()) == [(eid(i), i + 1) for i in range(5)]

    def test_unknown_document_key_is_refused_but_batch_goes_on(self, index: SearchIndex, make_doc: DocFactory) -> None:
        bad = {**make_doc(uid(1)), "not_a_field": "x"}
        [rejected] = index.upsert([bad, make_doc(uid(2))])
        assert (rejected.uuid, rejected.version, rejected.entry_id) == (uid(1), 1, eid(1))
        assert find(index) == [uid(2)]

    def test_a_document_that_is_not_valid_unicode_is_refused_alone(
        self, index: SearchIndex, make_doc: DocFactory
    ) -> None:
        bad = make_doc(uid(1), name="lone \ud800 surrogate")
        [rejected] = index.upsert([make_doc(uid(2)), bad, make_doc(uid(3))])
        assert (rejected.uuid, rejected.entry_id) == (uid(1), eid(1)) and rejected.reason
        assert find(index) == [uid(2), uid(3)]

    # -- rebuild ------------------------------------------------------------------------
    def test_rebuild_serves_exactly_the_new_documents(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1)), make_doc(uid(2))])
        written, rejected = index.rebuild(iter([make_doc(uid(3)), make_doc(uid(4), name="bad \udfff")]))
        assert (written, [(r.uuid, r.entry_id) for r in rejected]) == (1, [(uid(4), eid(4))])
        assert find(index) == [uid(3)]
        index.upsert([make_doc(uid(5))])  # writes go to the new index
        assert find(index) == [uid(3), uid(5)]
        assert index.rebuild(iter([make_doc(uid(6))])) == (1, [])  # and it can be rebuilt again
        assert find(index) == [uid(6)]

    def test_a_rebuild_that_fails_on_the_way_leaves_the_served_index(
        self, index: SearchIndex, make_doc: DocFactory
    ) -> None:
        index.upsert([make_doc(uid(1)), make_doc(uid(2))])

        def docs() -> Iterator[dict[str, Any]]:
            yield make_doc(uid(3))
            raise RuntimeError("the table read failed")

        with pytest.raises(RuntimeError):
            index.rebuild(docs())
        assert find(index) == [uid(1), uid(2)]
        index.upsert([make_doc(uid(4))])
        assert find(index) == [uid(1), uid(2), uid(4)]

    # -- tombstones --------------------------------------------------------------------
    def test_tombstone_hidden_from_search_and_facets_but_listed(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), name="gone", tags=["t1"]), make_doc(uid(2), name="kept", tags=["t2"])])
        index.upsert([make_doc(uid(1), version=2, name="gone", tags=["t1"], deleted=True)])
        index.upsert([make_doc(uid(1), version=1, name="gone", tags=["t1"])])  # late older version
        assert find(index) == [uid(2)]
        assert find(index, "gone") == []
        assert find(index, uuids=(uid(1),)) == []
        assert index.search(SearchQuery()).total == 1
        facets = index.facets(SearchQuery())  # the tombstone's tag t1 and its entry are not counted
        assert (facets.total, facets.facets["base_uri"], facets.facets["tag"]) == (1, ((A, 1),), (("t2", 1),))
        assert list(index.versions()) == [(eid(1), 2), (eid(2), 1)]
        index.upsert([make_doc(uid(1), version=3, name="back")])  # a newer live version revives it
        assert find(index, "back") == [uid(1)]

    # -- visibility --------------------------------------------------------------------
    def _visibility_docs(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), base_uris=[A], creator_username="alice", tags=["x"]),
                make_doc(uid(2), base_uris=[B], creator_username="bob", tags=["x", "y"]),
                # one dataset, two entries
                make_doc(uid(3), base_uri=A, creator_username="carol", tags=["y"]),
                make_doc(uid(3), base_uri=B, creator_username="carol", tags=["y"]),
                make_doc(uid(4), base_uris=[C], creator_username="bob", tags=["z"]),
            ]
        )

    def test_visibility_filters_hits_and_totals(self, index: SearchIndex, make_doc: DocFactory) -> None:
        self._visibility_docs(index, make_doc)
        result = index.search(SearchQuery(allowed_base_uris=frozenset({A}), size=100))
        assert sorted(uuids(result)) == [uid(1), uid(3)]
        assert result.total == 2
        assert all(A in h["base_uris"] for h in result.hits)
        assert find(index, allowed_base_uris=frozenset({A, C})) == [uid(1), uid(3), uid(4)]
        assert find(index, allowed_base_uris=frozenset({"s3://elsewhere"})) == []
        assert find(index, allowed_base_uris=None) == [uid(1), uid(2), uid(3), uid(3), uid(4)]
        # Asking for a base URI outside the allowed set yields nothing, never a leak (not even
        # the allowed entry of a uuid that is also on the asked base URI).
        assert find(index, allowed_base_uris=frozenset({A}), base_uris=(B,)) == []
        assert find(index, allowed_base_uris=frozenset({A}), base_uris=(C,)) == []
        # Free text cannot widen visibility.
        assert find(index, "bucket-b", allowed_base_uris=frozenset({A})) == []

    def test_empty_allowed_set_sees_nothing(self, index: SearchIndex, make_doc: DocFactory) -> None:
        self._visibility_docs(index, make_doc)
        result = index.search(SearchQuery(allowed_base_uris=frozenset()))
        assert result == SearchResult(hits=[], total=0, next_after=None)
        assert index.facets(SearchQuery(allowed_base_uris=frozenset())) == Facets(total=0)

    # -- projects: their members see their entries whatever the base URI ----------------
    def _project_docs(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), base_uri=A, tags=["a"]),
                make_doc(uid(2), base_uri=C, project="P", tags=["p"]),
                make_doc(uid(3), base_uri=C, project="Q", tags=["q"], creator_username="bob"),
                make_doc(uid(4), base_uri=C, tags=["none"]),  # under C, in no project
                # one dataset of P, two entries: one under A, one under B
                make_doc(uid(5), base_uri=A, project="P", tags=["p"]),
                make_doc(uid(5), base_uri=B, project="P", tags=["p"]),
                make_doc(uid(6), base_uri=B, project="P", deleted=True),  # a tombstone stays hidden
            ]
        )

    def test_project_members_see_their_projects_entries(self, index: SearchIndex, make_doc: DocFactory) -> None:
        self._project_docs(index, make_doc)
        p = frozenset({"P"})
        assert find(index, allowed_base_uris=frozenset({A}), allowed_projects=p) == [uid(1), uid(2), uid(5), uid(5)]
        result = index.search(SearchQuery(allowed_base_uris=frozenset(), allowed_projects=p, size=100))
        assert sorted(entries(result)) == [eid(2, C), eid(5, A), eid(5, B)] and result.total == 3
        assert {h["project"] for h in result.hits} == {"P"}
        assert find(index, allowed_base_uris=frozenset(), allowed_projects=frozenset({"P", "Q"})) == [
            uid(2),
            uid(3),
            uid(5),
            uid(5),
        ]
        # a project outside the caller's shows nothing more; admins (None) see everything anyway
        assert find(index, allowed_base_uris=frozenset(), allowed_projects=frozenset({"R"})) == []
        assert find(index, allowed_base_uris=None, allowed_projects=frozenset({"R"})) == [
            uid(1),
            uid(2),
            uid(3),
            uid(4),
            uid(5),
            uid(5),
        ]
        # filters narrow what the projects show, never widen it
        assert find(index, allowed_base_uris=frozenset(), allowed_projects=p, base_uris=(C,)) == [uid(2)]
        assert find(index, allowed_base_uris=frozenset(), allowed_projects=p, tags=("q",)) == []
        assert find(index, allowed_base_uris=frozenset(), allowed_projects=p, uuids=(uid(3), uid(4))) == []

    # -- filters -----------------------------------------------------------------------
    def test_filters_or_within_and_across(self, index: SearchIndex, make_doc: DocFactory) -> None:
        self._visibility_docs(index, make_doc)
        assert find(index, base_uris=(A,)) == [uid(1), uid(3)]
        assert find(index, base_uris=(B, C)) == [uid(2), uid(3), uid(4)]
        assert find(index, creators=("bob",)) == [uid(2), uid(4)]
        assert find(index, creators=("alice", "carol")) == [uid(1), uid(3), uid(3)]
        assert find(index, creators=("Alice",)) == []  # keywords are exact
        assert find(index, tags=("x",)) == [uid(1), uid(2)]
        assert find(index, tags=("x", "y")) == [uid(2)]  # AND
        assert find(index, tags=("x", "z")) == []
        assert find(index, uuids=(uid(1), uid(4), uid(9))) == [uid(1), uid(4)]
        assert find(index, uuids=(uid(3),)) == [uid(3), uid(3)]  # every entry of the uuid
        assert find(index, uuids=(uid(3),), base_uris=(B,)) == [uid(3)]
        assert find(index, base_uris=(B,), creators=("bob",), tags=("y",)) == [uid(2)]
        assert find(index, base_uris=(A, C), creators=("bob", "carol")) == [uid(3), uid(4)]

    # -- sorting -----------------------------------------------------------------------
    @pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
    @pytest.mark.parametrize("sort", sorted(SORT_KEYS))
    def test_sort_with_entry_id_tie_break(
        self, index: SearchIndex, make_doc: DocFactory, sort: str, descending: bool
    ) -> None:
        docs = sortable_docs(make_doc, 21)
        index.upsert(docs)
        result = index.search(SearchQuery(sort=sort, descending=descending, size=50))
        assert entries(result) == sort_docs(docs, sort, descending)
        reverse = index.search(SearchQuery(sort=sort, descending=not descending, size=50))
        assert entries(reverse) == list(reversed(entries(result)))

    def test_further_sort_keys_after_the_first(self, index: SearchIndex, make_doc: DocFactory) -> None:
        docs = sortable_docs(make_doc, 21)
        index.upsert(docs)
        query = SearchQuery(sort="name", descending=False, then_by=(("frozen", True), ("base_uri", False)), size=50)
        expected = sorted(docs, key=lambda d: d["entry_id"])  # the tie-break follows the first key
        expected.sort(key=lambda d: d["base_uris"][0])
        expected.sort(key=lambda d: d["frozen_at"], reverse=True)
        expected.sort(key=lambda d: d["name"])
        assert entries(index.search(query)) == [d["entry_id"] for d in expected]
        with pytest.raises(ValidationError):
            index.search(SearchQuery(sort="name", then_by=(("size", False),)))
        with pytest.raises(ValidationError):  # a cursor holds one sort value
            index.search(SearchQuery(sort="name", then_by=(("uuid", False),), after=["alpha", eid(1)]))

    def test_a_multi_valued_sort_key_sorts_by_its_smallest_or_largest(
        self, index: SearchIndex, make_doc: DocFactory
    ) -> None:
        index.upsert(
            [
                make_doc(uid(1), uris=[f"{A}/m", f"{A}/b"]),
                make_doc(uid(2), uris=[f"{A}/c"]),
                make_doc(uid(3), uris=[f"{A}/a", f"{A}/z"]),
            ]
        )
        assert uuids(index.search(SearchQuery(sort="uri", descending=False))) == [uid(3), uid(1), uid(2)]
        assert uuids(index.search(SearchQuery(sort="uri", descending=True))) == [uid(3), uid(1), uid(2)]
        page = index.search(SearchQuery(sort="uri", descending=False, size=1))
        assert page.next_after == [f"{A}/a", eid(3)]
        assert uuids(index.search(SearchQuery(sort="uri", descending=False, after=page.next_after))) == [uid(1), uid(2)]

    def test_uri_filter(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), uris=[f"{A}/one", f"{A}/copy"]),
                make_doc(uid(2), uris=[f"{A}/two"]),
                make_doc(uid(3), base_uri=B),
            ]
        )
        assert find(index, uris=(f"{A}/copy",)) == [uid(1)]
        assert find(index, uris=(f"{A}/two", f"{B}/{uid(3)}", f"{A}/none")) == [uid(2), uid(3)]
        assert find(index, uris=(f"{A}/two",), allowed_base_uris=frozenset({B})) == []
        assert find(index, uris=(f"{A}/tw",)) == []  # exact, not a prefix

    def test_name_sort_is_by_code_point(self, index: SearchIndex, make_doc: DocFactory) -> None:
        names = ["beta", "Zed", "alpha", "Alpha", "éclair", "10 things"]
        index.upsert([make_doc(uid(i), name=n) for i, n in enumerate(names)])
        hits = index.search(SearchQuery(sort="name", descending=False)).hits
        assert [h["name"] for h in hits] == ["10 things", "Alpha", "Zed", "alpha", "beta", "éclair"]

    # -- pagination --------------------------------------------------------------------
    def test_offset_pagination_covers_everything_once(self, index: SearchIndex, make_doc: DocFactory) -> None:
        docs = sortable_docs(make_doc, 35)
        index.upsert(docs)
        expected = sort_docs(docs, "registered", True)
        seen: list[str] = []
        for offset in range(0, 40, 10):
            page = index.search(SearchQuery(offset=offset, size=10))
            assert page.total == 35
            seen += entries(page)
        assert seen == expected
        assert len(set(seen)) == 35
        assert index.search(SearchQuery(offset=40, size=10)) == SearchResult([], 35, None)

    @pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
    @pytest.mark.parametrize("sort", sorted(SORT_KEYS))
    def test_after_pagination_covers_everything_once(
        self, index: SearchIndex, make_doc: DocFactory, sort: str, descending: bool
    ) -> None:
        docs = sortable_docs(make_doc, 35)
        index.upsert(docs)
        expected = sort_docs(docs, sort, descending)
        seen: list[str] = []
        after: list[Any] | None = None
        for _ in range(MAX_PAGES):
            offset = 0 if after is None else 7  # offset is ignored once a cursor is given
            page = index.search(SearchQuery(sort=sort, descending=descending, size=10, offset=offset, after=after))
            assert page.total == 35
            seen += entries(page)
            if page.next_after is None:
                assert len(page.hits) < 10
                break
            assert len(page.hits) == 10
            after = json.loads(json.dumps(page.next_after))  # the service round-trips it through JSON
        else:
            pytest.fail("cursor pagination did not end")
        assert seen == expected
        assert len(set(seen)) == 35

    def test_after_pagination_with_filters(self, index: SearchIndex, make_doc: DocFactory) -> None:
        docs = [
            make_doc(uid(i), tags=["even" if i % 2 == 0 else "odd"], base_uris=[A if i < 20 else B]) for i in range(30)
        ]
        index.upsert(docs)
        seen: list[str] = []
        after: list[Any] | None = None
        for _ in range(MAX_PAGES):
            query = SearchQuery(
                allowed_base_uris=frozenset({A}), tags=("even",), size=4, sort="created", descending=False, after=after
            )
            page = index.search(query)
            assert page.total == 10
            seen += uuids(page)
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == [uid(i) for i in range(0, 20, 2)]

    def test_exactly_full_last_page_then_empty(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(i)) for i in range(10)])
        first = index.search(SearchQuery(size=10, sort="name", descending=False))
        assert first.next_after is not None
        last = index.search(SearchQuery(size=10, sort="name", descending=False, after=first.next_after))
        assert last == SearchResult(hits=[], total=10, next_after=None)

    def test_malformed_queries_are_validation_errors(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1))])
        for bad in [
            SearchQuery(sort="size"),
            SearchQuery(offset=9_995, size=10),
            SearchQuery(offset=-1),
            SearchQuery(sort="name", after=[1.5, uid(1)]),
            SearchQuery(sort="created", after=["x", uid(1)]),
            SearchQuery(sort="created", after=[BASE_TIME]),
            SearchQuery(sort="created", after=[BASE_TIME, uid(1), "extra"]),
            SearchQuery(sort="created", after=[True, uid(1)]),
        ]:
            with pytest.raises(ValidationError):
                index.search(bad)
        # The largest window that is allowed works.
        assert index.search(SearchQuery(offset=9_990, size=10)).hits == []

    # -- versions ----------------------------------------------------------------------
    def test_versions_lists_everything(self, index: SearchIndex, make_doc: DocFactory, backend: str) -> None:
        n = 1_100 if backend == "opensearch" else 30  # > one page of 1,000 on OpenSearch
        # two entries per uuid, in entry_id order; the page boundary (999 | 1000) falls between
        # the two entries of uid(500)
        docs = [
            make_doc(uid((i + 1) // 2), base_uri=(A, B)[(i + 1) % 2], version=1 + i % 7, deleted=i % 10 == 0)
            for i in range(n)
        ]
        index.upsert(docs)
        assert list(index.versions()) == [(d["entry_id"], d["version"]) for d in docs]
        assert index.search(SearchQuery(size=0)).total == n - n // 10

    # -- entries: one uuid on several base URIs ---------------------------------------
    def test_two_entries_of_a_uuid_are_two_documents_versioned_apart(
        self, index: SearchIndex, make_doc: DocFactory
    ) -> None:
        index.upsert([make_doc(uid(1), base_uri=A, version=5, name="a5"), make_doc(uid(1), base_uri=B, name="b1")])
        index.upsert([make_doc(uid(1), base_uri=B, version=3, name="b3")])  # lower than A's 5: still newer for B
        index.upsert([make_doc(uid(1), base_uri=A, version=4, name="a4")])  # older for A: ignored
        index.upsert([make_doc(uid(1), base_uri=B, version=2, name="b2")])  # older for B: ignored
        result = index.search(SearchQuery(sort="name", descending=False))
        assert [(h["entry_id"], h["name"]) for h in result.hits] == [(eid(1, A), "a5"), (eid(1, B), "b3")]
        assert result.total == 2
        assert [h["base_uris"] for h in result.hits] == [[A], [B]]
        assert find(index, uuids=(uid(1),)) == [uid(1), uid(1)]
        assert list(index.versions()) == [(eid(1, A), 5), (eid(1, B), 3)]

    def test_a_reader_of_one_base_uri_sees_only_that_entry(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), base_uri=A, name="public", readme="species: okapi"),
                make_doc(uid(1), base_uri=B, name="private", readme="species: narwhal", tags=["secret"]),
            ]
        )
        only_a = frozenset({A})
        result = index.search(SearchQuery(allowed_base_uris=only_a))
        assert (entries(result), result.total) == ([eid(1, A)], 1)
        assert result.hits[0]["readme"] == "species: okapi" and result.hits[0]["tags"] == []
        assert find(index, "okapi", allowed_base_uris=only_a) == [uid(1)]
        assert find(index, "narwhal", allowed_base_uris=only_a) == []  # only in B's README
        assert find(index, "private", allowed_base_uris=only_a) == []
        assert find(index, tags=("secret",), allowed_base_uris=only_a) == []
        assert find(index, uuids=(uid(1),), allowed_base_uris=only_a) == [uid(1)]
        assert entries(index.search(SearchQuery(text="narwhal", allowed_base_uris=frozenset({B})))) == [eid(1, B)]
        # The words of two entries never combine into a match.
        assert find(index, "okapi narwhal") == []
        # nor are B's values counted for a reader of A (its tag "secret", its base URI)
        facets = index.facets(SearchQuery(allowed_base_uris=only_a))
        assert (facets.total, facets.facets["base_uri"], facets.facets["tag"]) == (1, ((A, 1),), ())

    def test_tombstoning_one_entry_leaves_the_other(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), base_uri=A, name="okapi"), make_doc(uid(1), base_uri=B, name="narwhal")])
        index.upsert([make_doc(uid(1), base_uri=A, version=2, name="okapi", deleted=True)])
        assert entries(index.search(SearchQuery())) == [eid(1, B)]
        assert find(index, "okapi") == []
        assert find(index, "narwhal") == [uid(1)]
        assert find(index, allowed_base_uris=frozenset({A})) == []
        facets = index.facets(SearchQuery())
        assert (facets.total, facets.facets["base_uri"]) == (1, ((B, 1),))
        assert list(index.versions()) == [(eid(1, A), 2), (eid(1, B), 1)]

    @pytest.mark.parametrize("descending", [False, True], ids=["asc", "desc"])
    def test_after_pagination_over_entries_that_tie_on_everything_but_entry_id(
        self, index: SearchIndex, make_doc: DocFactory, descending: bool
    ) -> None:
        bases = [A, B, C, "s3://bucket-a/nested", "s3://bücket"]
        docs = [make_doc(uid(i), base_uri=b) for i in range(7) for b in bases]  # same name and timestamps
        index.upsert(docs)
        for sort in ("name", "created"):
            seen: list[str] = []
            after: list[Any] | None = None
            for _ in range(MAX_PAGES):
                query = SearchQuery(sort=sort, descending=descending, size=4, after=after)
                page = index.search(query)
                seen += entries(page)
                if page.next_after is None:
                    break
                assert page.next_after[1] == seen[-1]
                after = json.loads(json.dumps(page.next_after))
            assert seen == sorted((d["entry_id"] for d in docs), reverse=descending)

    def test_an_entry_on_a_long_base_uri(self, index: SearchIndex, make_doc: DocFactory) -> None:
        # An entry_id longer than OpenSearch's 512-byte _id limit (and one that differs only at its end).
        long_a, long_b = "s3://" + "ä" * 1018 + "a", "s3://" + "ä" * 1018 + "b"
        index.upsert([make_doc(uid(1), base_uri=long_a, name="one"), make_doc(uid(1), base_uri=long_b, name="two")])
        index.upsert([make_doc(uid(1), base_uri=long_a, version=2, name="three")])
        assert list(index.versions()) == [(f"{uid(1)}@{long_a}", 2), (f"{uid(1)}@{long_b}", 1)]
        assert [h["name"] for h in index.search(SearchQuery(allowed_base_uris=frozenset({long_a}))).hits] == ["three"]
        assert index.facets(SearchQuery()).facets["base_uri"] == ((long_a, 1), (long_b, 1))

    def test_a_document_that_does_not_name_one_entry_is_refused(self, index: SearchIndex, make_doc: DocFactory) -> None:
        missing = make_doc(uid(1))
        del missing["entry_id"]
        bad = [
            missing,
            make_doc(uid(2), entry_id=eid(2, B)),  # base_uris say A
            make_doc(uid(3), base_uris=[A, B]),  # one entry cannot be on two base URIs
            make_doc(uid(4), base_uris=[]),
            make_doc(uid(5), entry_id=eid(6)),  # another uuid
        ]
        rejected = index.upsert([*bad, make_doc(uid(7))])
        assert [(r.uuid, r.entry_id, r.version) for r in rejected] == [
            (uid(1), eid(1), 1),
            (uid(2), eid(2, B), 1),
            (uid(3), eid(3, A), 1),
            (uid(4), f"{uid(4)}@", 1),
            (uid(5), eid(6), 1),
        ]
        assert all(r.reason for r in rejected)
        assert list(index.versions()) == [(eid(7), 1)]

    # -- lifecycle and availability ----------------------------------------------------
    def test_ensure_and_drop_are_idempotent(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1))])
        index.ensure_index()
        assert find(index) == [uid(1)]
        index.drop_index()
        index.drop_index()
        with pytest.raises(SearchUnavailable):
            index.search(SearchQuery())
        index.ensure_index()
        index.ensure_index()
        assert find(index) == []

    def test_upsert_recreates_a_vanished_index_with_its_mapping(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.drop_index()
        index.upsert([make_doc(uid(2), name="b"), make_doc(uid(1), name="a")])
        # Sorting by name needs the explicit mapping (an auto-created index has no name.raw).
        assert uuids(index.search(SearchQuery(sort="name", descending=False))) == [uid(1), uid(2)]
        # ... and so do terms aggregations (an auto-created index would map keywords as text, which
        # OpenSearch does not aggregate).
        assert index.facets(SearchQuery()).facets["creator"] == (("alice", 2),)

    def test_an_index_made_before_the_project_field_takes_it(
        self, index: SearchIndex, make_doc: DocFactory, backend: str
    ) -> None:
        if backend == "memory":
            pytest.skip("the fake has no mapping")
        from chalicelib.adapters.opensearch import MAPPING, SETTINGS, OpenSearchIndex

        assert isinstance(index, OpenSearchIndex)
        index.drop_index()
        older = {**MAPPING, "properties": {k: v for k, v in MAPPING["properties"].items() if k != "project"}}
        client = index._client  # an index as an older release made it
        body = {"settings": SETTINGS, "mappings": older, "aliases": {index.index: {}}}
        client.indices.create(index=f"{index.index}-v1", body=body)
        # a new container's adapter (the stream handler after a deploy) writes documents with the field
        fresh = OpenSearchIndex(client, index.index, refresh="wait_for")
        assert fresh.upsert([make_doc(uid(1), project="P"), make_doc(uid(2))]) == []
        assert find(fresh, allowed_base_uris=frozenset(), allowed_projects=frozenset({"P"})) == [uid(1)]

    def test_ping(self, index: SearchIndex) -> None:
        assert index.ping() is True

    def test_unreachable_backend_raises_search_unavailable(
        self, unreachable_index: SearchIndex, make_doc: DocFactory
    ) -> None:
        idx = unreachable_index
        assert idx.ping() is False
        calls: dict[str, Any] = {
            "ensure_index": idx.ensure_index,
            "drop_index": idx.drop_index,
            "upsert": lambda: idx.upsert([make_doc(uid(1))]),
            "search": lambda: idx.search(SearchQuery(text="x", tags=("t",))),
            "versions": idx.versions,  # raises on the call, not only when iterated
        }
        for name, call in calls.items():
            with pytest.raises(SearchUnavailable):
                call()
                pytest.fail(f"{name} did not raise")
