"""The SearchIndex contract for partial words, prefixes and annotation clauses, run against the
in-memory fake ``[memory]`` and OpenSearchIndex on osmem-server ``[opensearch]``; and (OpenSearch
only) an index made by the previous mapping, migrated by ``catalogue-admin reindex``."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.catalogue.index_documents import index_doc
from chalicelib.catalogue.index_maintenance import drift, reindex
from chalicelib.catalogue.search import HIGHLIGHTS, SearchIndex, SearchQuery
from chalicelib.catalogue.search_syntax import annotation_values, parse_search_text
from tests.contract.test_repository_contract import make_dataset
from tests.contract.test_search_contract import A, B, DocFactory, find, uid
from tests.fakes.repository import InMemoryRepository


def search(index: SearchIndex, text: str, **kw: Any) -> list[str]:
    """The uuids ``text`` (words and annotation clauses, as a user types them) finds."""
    parsed = parse_search_text(text)
    return find(index, parsed.text, annotations=parsed.annotations, **kw)


def annotated(make_doc: DocFactory, i: int, annotations: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return make_doc(uid(i), annotations=annotations, annotation_values=annotation_values(annotations), **kw)


class TestPartialWords:
    def test_a_word_is_found_by_its_beginning_in_names_descriptions_and_readmes(
        self, index: SearchIndex, make_doc: DocFactory
    ) -> None:
        index.upsert(
            [
                make_doc(uid(1), name="temperature-sweep"),
                make_doc(uid(2), description="Calibration of the TDR probes"),
                make_doc(uid(3), readme="---\nsample: Basalt\n"),
                make_doc(uid(4), name="cold run"),
            ]
        )
        assert search(index, "temp") == [uid(1)]
        assert search(index, "sweep") == [uid(1)]
        assert search(index, "TEMPERAT") == [uid(1)]
        assert search(index, "calib") == [uid(2)]
        assert search(index, "bas") == [uid(3)]
        assert search(index, "temp sw") == [uid(1)]  # every word, each by its beginning
        assert search(index, "temp cold") == []
        assert search(index, "emperature") == []  # beginnings, not any part of a word

    def test_whole_words_keep_their_and_semantics_across_fields(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), name="soil", relpaths=["raw/probe_01.csv", "raw probe 01 csv"]),
                make_doc(uid(2), name="soil"),
            ]
        )
        assert search(index, "soil probe") == [uid(1)]  # whole words: in any text field
        assert search(index, "soil prob") == []  # a beginning: in name, description, README only
        assert search(index, "soil prob*") == [uid(1)]  # an explicit prefix: in every text field

    def test_an_explicit_prefix(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                make_doc(uid(1), annotations_text="instrument calibrated-TDR"),
                make_doc(uid(2), name="calibration"),
                make_doc(uid(3), name="recalibrated"),
            ]
        )
        assert search(index, "calib*") == [uid(1), uid(2)]
        assert search(index, "CALIB*") == [uid(1), uid(2)]
        assert search(index, "calib") == [uid(2)]

    def test_highlights_mark_whole_words_and_explicit_prefixes(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), name="temperature-sweep", description="calibration run")])
        marked = lambda text: index.search(SearchQuery(text=text, highlight=True)).hits[0][HIGHLIGHTS]  # noqa: E731
        assert marked("calib*") == {"description": ["<mark>calibration</mark> run"]}
        assert marked("temperature") == {"name": ["<mark>temperature</mark>-sweep"]}
        assert marked("temp") == {}  # found by its beginning, not marked

    def test_beginnings_of_2_to_20_characters(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), name="abcdefghijklmnopqrstuvwxyz"), make_doc(uid(2), name="t")])
        assert search(index, "ab") == [uid(1)]
        assert search(index, "abcdefghijklmnopqrst") == [uid(1)]  # 20
        assert search(index, "abcdefghijklmnopqrstu") == []  # 21: a whole word or an explicit prefix
        assert search(index, "abcdefghijklmnopqrstu*") == [uid(1)]
        assert search(index, "abcdefghijklmnopqrstuvwxyz") == [uid(1)]
        assert search(index, "a") == []  # one character: whole words only
        assert search(index, "t") == [uid(2)]

    def test_words_without_letters_or_digits(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert([make_doc(uid(1), name="temperature")])
        assert search(index, "!!!") == []
        assert search(index, "temp !!!") == [uid(1)]


class TestAnnotationClauses:
    @pytest.fixture
    def docs(self, index: SearchIndex, make_doc: DocFactory) -> SearchIndex:
        index.upsert(
            [
                annotated(make_doc, 1, {"temperature_K": 310, "sample_id": "S-1", "calibrated": True}),
                annotated(make_doc, 2, {"temperature_K": 280.5, "pressure_Pa": 310}),
                annotated(make_doc, 3, {"temperature_K": "310", "sample": {"id": "s-1", "mass_g": 2}}),
                annotated(make_doc, 4, {"runs": [250, 350], "note": None}),
                make_doc(uid(5), name="no annotations"),
            ]
        )
        return index

    def test_comparisons(self, docs: SearchIndex) -> None:
        assert search(docs, "annotations.temperature_K>=300") == [uid(1)]  # "310" is a string: no number
        assert search(docs, "annotations.temperature_K>310") == []
        assert search(docs, "annotations.temperature_K<300") == [uid(2)]
        assert search(docs, "annotations.temperature_K<=280.5") == [uid(2)]
        assert search(docs, "annotations.pressure_Pa>=300") == [uid(2)]  # per key: 310 of another key is not it

    def test_ranges(self, docs: SearchIndex) -> None:
        assert search(docs, "annotations.temperature_K:[250 TO 350]") == [uid(1), uid(2)]
        assert search(docs, "annotations.temperature_K:{280.5 TO 310]") == [uid(1)]
        assert search(docs, "annotations.temperature_K:[* TO 300}") == [uid(2)]
        # any value of a list is a value of the key; two clauses on one key may hold for different values
        assert search(docs, "annotations.runs>300") == [uid(4)]
        assert search(docs, "annotations.runs:[260 TO 340]") == []
        assert search(docs, "annotations.runs>300 annotations.runs<300") == [uid(4)]

    def test_equality(self, docs: SearchIndex) -> None:
        assert search(docs, "annotations.temperature_K:310") == [uid(1), uid(3)]  # the number and the string
        assert search(docs, "annotations.temperature_K=310.0") == [uid(1)]
        assert search(docs, "annotations.sample_id:S-1") == [uid(1)]
        assert search(docs, "annotations.sample_id:s-1") == []  # strings: exact, case-sensitive
        assert search(docs, "annotations.sample.id:s-1") == [uid(3)]  # a nested value by its path
        assert search(docs, "annotations.calibrated:true") == [uid(1)]

    def test_exists(self, docs: SearchIndex) -> None:
        assert search(docs, "annotations.sample_id:*") == [uid(1)]
        assert search(docs, "_exists_:annotations.temperature_K") == [uid(1), uid(2), uid(3)]
        assert search(docs, "_exists_:annotations.note") == [uid(4)]  # set, even to null
        assert search(docs, "_exists_:annotations.sample.mass_g") == [uid(3)]
        assert search(docs, "_exists_:annotations.nothing") == []

    def test_clauses_combine_with_words_filters_and_each_other(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                annotated(make_doc, 1, {"temperature_K": 310}, name="temperature-sweep", tags=["t"]),
                annotated(make_doc, 2, {"temperature_K": 320}, name="cold run", tags=["t"]),
                annotated(make_doc, 3, {"temperature_K": 330, "sample_id": "x"}, name="temperature-sweep"),
            ]
        )
        assert search(index, "temp annotations.temperature_K>=300") == [uid(1), uid(3)]
        assert search(index, "annotations.temperature_K>=300", tags=("t",)) == [uid(1), uid(2)]
        assert search(index, "annotations.temperature_K>=300 annotations.sample_id:*") == [uid(3)]
        assert search(index, "annotations.temperature_K>=300 annotations.temperature_K<315") == [uid(1)]

    def test_visibility_applies_to_clauses(self, index: SearchIndex, make_doc: DocFactory) -> None:
        index.upsert(
            [
                annotated(make_doc, 1, {"temperature_K": 310}, base_uri=A),
                annotated(make_doc, 2, {"temperature_K": 310}, base_uri=B),
                annotated(make_doc, 3, {"temperature_K": 310}, base_uri=B, project="P"),
                annotated(make_doc, 4, {"temperature_K": 310}, base_uri=A, deleted=True),
            ]
        )
        assert search(index, "annotations.temperature_K>=300", allowed_base_uris=frozenset({A})) == [uid(1)]
        assert search(index, "annotations.temperature_K:*", allowed_base_uris=frozenset()) == []
        seen = search(index, "annotations.temperature_K>=300", allowed_base_uris=frozenset(), allowed_projects={"P"})
        assert seen == [uid(3)]
        parsed = parse_search_text("annotations.temperature_K>=300")
        facets = index.facets(SearchQuery(annotations=parsed.annotations, allowed_base_uris=frozenset({A})))
        assert facets.total == 1 and facets.facets["base_uri"] == ((A, 1),)


class TestMappingMigration:
    """An index made by the previous release (no ``.prefix`` subfields, no ``annotation_values``,
    no ``_meta``) keeps serving and taking documents after the deploy, and ``catalogue-admin
    reindex`` moves it to the current mapping."""

    # MAPPING as the release before partial words and annotation clauses made it
    OLD_TEXT: dict[str, Any] = {"type": "text"}

    def old_mapping(self) -> dict[str, Any]:
        from chalicelib.adapters.opensearch import MAPPING

        properties = copy.deepcopy(MAPPING["properties"])
        del properties["annotation_values"]
        properties["name"] = {"type": "text", "fields": {"raw": {"type": "keyword"}}}
        properties["description"] = properties["readme"] = self.OLD_TEXT
        return {"dynamic": "strict", "properties": properties}

    def test_an_old_index_is_migrated_by_reindex(self, index: SearchIndex, backend: str) -> None:
        if backend == "memory":
            pytest.skip("the fake has no mapping (its flag is tested in tests/functional/test_search_more.py)")
        from chalicelib.adapters.opensearch import OpenSearchIndex

        assert isinstance(index, OpenSearchIndex)
        index.drop_index()
        client = index._client
        client.indices.create(
            index=f"{index.index}-v1", body={"mappings": self.old_mapping(), "aliases": {index.index: {}}}
        )
        repo = InMemoryRepository()
        hot = make_dataset(uid(1), name="temperature-sweep", annotations={"temperature_K": 310})
        cold = make_dataset(uid(2), name="temperature-cold", annotations={"temperature_K": 280})
        for d in (hot, cold):
            repo.save_dataset(d, None)
        old = {k: v for k, v in index_doc(hot).items() if k != "annotation_values"}  # the old release's document
        client.index(index=index.index, id="old", body=old, refresh=True)

        # after the deploy: a new container's adapter writes a document of the new shape
        fresh = OpenSearchIndex(client, index.index, refresh="wait_for")
        assert fresh.mapping_outdated() is True
        assert fresh.upsert([index_doc(cold)]) == []  # annotation_values was added to the served index
        assert search(fresh, "temperature") == [uid(1), uid(2)]
        assert search(fresh, "temp") == []  # no .prefix subfields yet
        assert search(fresh, "annotations.temperature_K<300") == [uid(2)]
        assert search(fresh, "annotations.temperature_K>=300") == []  # written before the field existed
        assert not drift(repo, fresh).clean  # the operator is told

        report = reindex(repo, fresh)  # catalogue-admin reindex
        assert (report.written, report.failed) == (2, [])
        assert fresh.mapping_outdated() is False
        assert search(fresh, "temp") == [uid(1), uid(2)]
        assert search(fresh, "annotations.temperature_K>=300") == [uid(1)]
        assert search(fresh, "annotations.temperature_K:[250 TO 350]") == [uid(1), uid(2)]
        assert drift(repo, fresh).clean
        behind = list(client.indices.get_alias(name=index.index))
        assert len(behind) == 1 and behind[0] != f"{index.index}-v1"  # a new index behind the alias
