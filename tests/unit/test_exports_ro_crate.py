"""RO-Crate 1.1 metadata of a dataset: it validates with the RO-Crate validator (roc-validator)
at REQUIRED severity, loads back with ro-crate-py, and says what the view says.

The validator resolves the crate's ``@context`` (``https://w3id.org/ro/crate/1.1/context``)
over HTTP; offline it expands nothing and passes *any* crate. These tests therefore validate
the document with that context replaced by the very document the URL names, vendored in
``tests/data/ro-crate/`` (see its SOURCE.md): the same JSON-LD, without the network.
``test_a_crate_without_a_name_fails_validation`` shows the checks then bite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib.exports import ro_crate
from chalicelib.exports.ro_crate import MAX_FILES, NO_LICENCE, RO_CRATE_PROFILE, ro_crate_metadata
from chalicelib.exports.view import ExportItem
from tests.support.export_views import UUID, sample_view

CONTEXT_FILE = Path(__file__).resolve().parents[1] / "data" / "ro-crate" / "context-1.1.jsonld"


def _offline(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with the RO-Crate 1.1 context URL replaced by the vendored context itself."""
    context = json.loads(CONTEXT_FILE.read_text())["@context"]
    named = document["@context"]
    parts = named if isinstance(named, list) else [named]
    assert parts[0] == f"{RO_CRATE_PROFILE}/context"
    return {**document, "@context": [context, *parts[1:]]}


def validation_issues(document: dict[str, Any], folder: Path, *, metadata_only: bool = True) -> list[str]:
    """The validator's REQUIRED issues with ``document`` as ``folder``'s ro-crate-metadata.json;
    ``metadata_only``: the document alone (an export carries no files), else the folder as a
    whole crate (its data entities must be files in it)."""
    from rocrate_validator import models, services

    (folder / "ro-crate-metadata.json").write_text(json.dumps(_offline(document)))
    settings = models.ValidationSettings(
        rocrate_uri=str(folder),
        profile_identifier="ro-crate-1.1",
        requirement_severity=models.Severity.REQUIRED,
        offline=True,
        metadata_only=metadata_only,
    )
    result = services.validate(settings)
    issues = [f"{issue.severity.name}: {issue.message}" for issue in result.get_issues()]
    assert result.passed() == (not issues)
    return issues


def _entity(document: dict[str, Any], entity_id: str) -> dict[str, Any]:
    found = [e for e in document["@graph"] if e["@id"] == entity_id]
    assert len(found) == 1, entity_id
    return found[0]


def test_the_crate_validates_at_required_severity(tmp_path: Path) -> None:
    assert validation_issues(ro_crate_metadata(sample_view()), tmp_path) == []


def test_beside_the_datasets_files_the_folder_is_a_valid_crate(tmp_path: Path) -> None:
    view = sample_view()
    document = ro_crate_metadata(view)
    assert any("payload" in issue for issue in validation_issues(document, tmp_path, metadata_only=False))
    for item in view.items:  # a copy of the dataset's files (sizes only: content is not checked)
        path = tmp_path / item.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * item.size_in_bytes)
    assert validation_issues(document, tmp_path, metadata_only=False) == []


def test_a_crate_without_a_name_fails_validation(tmp_path: Path) -> None:
    document = ro_crate_metadata(sample_view())
    del _entity(document, "./")["name"]
    assert any("`name`" in issue for issue in validation_issues(document, tmp_path))


def test_a_crate_without_a_licence_fails_validation(tmp_path: Path) -> None:
    # why the crate always says something about its licence (see the module doc)
    document = ro_crate_metadata(sample_view())
    del _entity(document, "./")["license"]
    assert any("`license`" in issue for issue in validation_issues(document, tmp_path))


def test_the_root_dataset_says_what_the_view_says() -> None:
    document = ro_crate_metadata(sample_view())
    descriptor = _entity(document, "ro-crate-metadata.json")
    assert descriptor["conformsTo"] == {"@id": RO_CRATE_PROFILE}
    assert descriptor["about"] == {"@id": "./"}
    root = _entity(document, "./")
    assert root["@type"] == "Dataset"
    assert root["name"] == "soil-moisture-2024"
    assert root["description"] == "Soil moisture & temperature <TDR-100>, 2024 season"
    assert root["datePublished"] == "2024-05-01T10:40:00Z"
    assert root["identifier"] == f"urn:uuid:{UUID}"
    assert root["keywords"] == ["soil", "moisture"]
    assert root["license"] == NO_LICENCE
    assert _entity(document, root["creator"]["@id"]) == {"@id": "#creator", "@type": "Person", "name": "alice"}
    assert root["author"] == root["creator"]
    assert _entity(document, root["publisher"]["@id"]) == {
        "@id": "#publisher",
        "@type": "Organization",
        "name": "Example Research Data Catalogue",
        "url": "https://catalogue.example.org/",
    }
    assert {p["@id"] for p in root["hasPart"]} == {"data/plot%201.csv", "README.txt"}
    csv = _entity(document, "data/plot%201.csv")
    assert csv == {"@id": "data/plot%201.csv", "@type": "File", "contentSize": "2048", "encodingFormat": "text/csv"}
    # dtool's md5 hashes have no schema.org property: not claimed as anything else
    assert "sha256" not in csv and document["@context"] == f"{RO_CRATE_PROFILE}/context"


def test_a_doi_and_a_licence_url_are_used(tmp_path: Path) -> None:
    view = sample_view(doi="10.1234/abcd", annotations={"license": "https://creativecommons.org/licenses/by/4.0/"})
    document = ro_crate_metadata(view)
    root = _entity(document, "./")
    assert root["identifier"] == "https://doi.org/10.1234/abcd"
    assert root["license"] == {"@id": "https://creativecommons.org/licenses/by/4.0/"}
    assert _entity(document, "https://creativecommons.org/licenses/by/4.0/")["@type"] == "CreativeWork"
    assert validation_issues(document, tmp_path) == []


def test_sha256_hashes_are_kept_with_their_term(tmp_path: Path) -> None:
    items = tuple(ExportItem(i.id, i.relpath, i.size_in_bytes, "ab" * 32) for i in sample_view().items)
    document = ro_crate_metadata(sample_view(hash_function="sha256", items=items))
    assert _entity(document, "README.txt")["sha256"] == "ab" * 32
    assert document["@context"] == [f"{RO_CRATE_PROFILE}/context", ro_crate.SHA256_TERM]
    assert validation_issues(document, tmp_path) == []


def test_it_loads_back_with_ro_crate_py(tmp_path: Path) -> None:
    from rocrate.rocrate import ROCrate

    (tmp_path / "ro-crate-metadata.json").write_text(json.dumps(ro_crate_metadata(sample_view())))
    crate = ROCrate(tmp_path)
    assert crate.name == "soil-moisture-2024"
    assert sorted(e.id for e in crate.data_entities) == ["README.txt", "data/plot%201.csv"]


def test_a_description_is_always_given() -> None:
    root = _entity(ro_crate_metadata(sample_view(description="")), "./")
    assert root["description"] == "soil-moisture-2024"


@pytest.mark.parametrize("extra", [0, 1])
def test_files_are_listed_up_to_the_cap(extra: int) -> None:
    items = tuple(
        ExportItem(id=f"{n:040d}", relpath=f"f{n}.bin", size_in_bytes=1, hash="") for n in range(MAX_FILES + extra)
    )
    root = _entity(ro_crate_metadata(sample_view(items=items)), "./")
    assert len(root.get("hasPart", [])) == (MAX_FILES if extra == 0 else 0)
    assert root["description"].endswith("not listed here)") == bool(extra)


def test_a_licence_in_words_is_kept_in_words() -> None:
    for words in ("CC-BY-4.0", "https://example.org/terms of use"):
        root = _entity(ro_crate_metadata(sample_view(annotations={"licence": words})), "./")
        assert root["license"] == words
