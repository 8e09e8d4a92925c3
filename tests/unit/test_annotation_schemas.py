"""Site-defined annotation schemas (chalicelib.catalogue.annotation_schemas): the predicates,
registration and versions, what makes a schema acceptable, the check of annotations with its
caching, the orders' declaration field, and the check wired into the catalogue service."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.adapters.dynamodb.facility import FacilityRecord, uuid_record_id
from chalicelib.catalogue import annotation_schemas as s
from chalicelib.catalogue.annotation_schemas import AnnotationSchemas
from chalicelib.catalogue.datasets import CatalogueService
from chalicelib.catalogue.validation import DatasetPatch, parse_registration
from chalicelib.domain import ANONYMOUS, User
from chalicelib.errors import Forbidden, InvalidDocument, NotFound, ValidationError
from chalicelib.identity.access import AccessService
from chalicelib.tracker import fields
from tests.fakes.facility import InMemoryFacilityStore
from tests.fakes.repository import InMemoryRepository
from tests.fakes.search import InMemorySearchIndex
from tests.support.data import registration

ADMIN = User(username="admin", is_admin=True)
ALICE = User(username="alice", register_base_uris=frozenset({"s3://bucket-a"}))
SOIL_V1 = {
    "type": "object",
    "required": ["instrument"],
    "properties": {"instrument": {"type": "string"}, "depth_cm": {"type": "number", "minimum": 0}},
}
SOIL_V2 = {**SOIL_V1, "required": ["instrument", "site"]}


class CountingStore(InMemoryFacilityStore):
    """Counts the reads (``get``, ``all``) per kind."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    def get(self, kind: str, id: int) -> FacilityRecord | None:
        self.reads[kind] += 1
        return super().get(kind, id)

    def all(self, kind: str) -> list[FacilityRecord]:
        self.reads[kind] += 1
        return super().all(kind)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def service(
    store: InMemoryFacilityStore | None = None, projects: dict[str, str] | None = None, clock: Clock | None = None
) -> AnnotationSchemas:
    calls = projects if projects is not None else {}
    return AnnotationSchemas(
        store or InMemoryFacilityStore(),
        project_declaration=calls.get,
        clock=clock or Clock(),
    )


def problems(exc: pytest.ExceptionInfo[InvalidDocument]) -> dict[str, str]:
    return {p["path"]: p["message"] for p in exc.value.problems}


# -- predicates --------------------------------------------------------------------------------
def test_only_admins_may_register_and_every_signed_in_user_may_read() -> None:
    assert s.may_register_schemas(ADMIN)
    assert not s.may_register_schemas(ALICE)
    assert not s.may_register_schemas(replace(ADMIN, deleted=True))
    assert s.may_read_schemas(ALICE) and s.may_read_schemas(ADMIN)
    assert not s.may_read_schemas(User(username=ANONYMOUS))
    assert not s.may_read_schemas(replace(ALICE, deleted=True))


# -- registering and reading -------------------------------------------------------------------
def test_each_registration_of_a_name_is_its_next_version_and_versions_never_change() -> None:
    schemas = service()
    first = schemas.register(ADMIN, "soil", "soil probes", SOIL_V1)
    second = schemas.register(ADMIN, "soil", "soil probes, with their site", SOIL_V2)
    assert (first.version, second.version) == (1, 2)
    assert schemas.get(ALICE, "soil").version == 2
    assert schemas.get(ALICE, "soil", 1).schema == SOIL_V1
    assert schemas.get(ALICE, "soil", 2).schema == SOIL_V2
    assert schemas.get(ALICE, "soil", 1).registered_by == "admin"
    assert schemas.list(ALICE) == [{"name": "soil", "latest_version": 2, "description": "soil probes, with their site"}]
    with pytest.raises(NotFound):
        schemas.get(ALICE, "soil", 3)
    with pytest.raises(NotFound):
        schemas.get(ALICE, "Not A Name")
    with pytest.raises(Forbidden):
        schemas.get(User(username=ANONYMOUS), "soil")


def test_a_version_taken_meanwhile_is_skipped_and_the_head_never_goes_back() -> None:
    store = InMemoryFacilityStore()
    schemas = service(store)
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    # another container created version 2 but stopped before advancing the head
    uuid = s.version_uuid("soil", 2)
    taken = {"name": "soil", "version": 2, "description": "", "schema": SOIL_V2}
    store.create(FacilityRecord(kind=s.KIND, id=uuid_record_id(uuid), uuid=uuid, version=1, fields=taken))
    assert schemas.register(ADMIN, "soil", "third", SOIL_V1).version == 3
    assert schemas.get(ALICE, "soil").version == 3
    assert schemas.get(ALICE, "soil", 2).schema == SOIL_V2  # kept as it was


def test_only_admins_register_and_nothing_is_stored_otherwise() -> None:
    store = InMemoryFacilityStore()
    with pytest.raises(Forbidden):
        service(store).register(ALICE, "soil", "", SOIL_V1)
    assert store.all(s.KIND) == [] and store.all(s.HEAD_KIND) == []


@pytest.mark.parametrize("name", ["", "Soil", "1soil", "soil/1", "s" * 65, "soil moisture"])
def test_a_name_must_match_its_pattern(name: str) -> None:
    with pytest.raises(ValidationError):
        service().register(ADMIN, name, "", SOIL_V1)


@pytest.mark.parametrize(
    ("schema", "path", "says"),
    [
        ([], "/schema", "is a JSON object"),
        ({"type": "nonsense"}, "/schema/type", "is not valid"),
        ({"properties": {"a": {"minimum": "zero"}}}, "/schema/properties/a/minimum", "is not of type"),
        ({"$ref": "https://example.org/remote.json"}, "/schema/$ref", "remote references are never followed"),
        ({"$ref": "other.json#/x"}, "/schema/$ref", "remote references"),
        ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "/schema/properties/a/$ref", "does not resolve"),
        ({"items": {"$ref": "#nowhere"}}, "/schema/items/$ref", "does not resolve"),
        ({"$defs": {"x": {"$id": "https://example.org/x"}}}, "/schema/$defs/x/$id", "at the root only"),
        ({"$schema": "http://json-schema.org/draft-07/schema#"}, "/schema/$schema", "Draft 2020-12"),
        ({"description": "x" * (64 * 1024)}, "/schema", "bytes serialized"),
    ],
)
def test_a_schema_that_is_not_acceptable_is_refused_with_its_problems(schema: Any, path: str, says: str) -> None:
    store = InMemoryFacilityStore()
    with pytest.raises(InvalidDocument) as exc:
        service(store).register(ADMIN, "soil", "", schema)
    assert path in problems(exc), exc.value.problems
    assert says in problems(exc)[path]
    assert store.all(s.KIND) == [] and store.all(s.HEAD_KIND) == []


def test_references_inside_the_schema_are_accepted_and_followed() -> None:
    schema = {
        "$schema": s.DRAFT_2020_12,
        "$defs": {"depth": {"type": "number", "minimum": 0}, "probe": {"$anchor": "probe", "type": "string"}},
        "properties": {
            "depth_cm": {"$ref": "#/$defs/depth"},
            "probe": {"$ref": "#probe"},
            "nested": {"type": "array", "items": {"$ref": "#"}},
            # a "$ref" key as data (a const) or as a property name is no reference
            "kind": {"const": {"$ref": "https://example.org/not-a-ref"}},
            "$ref": {"type": "string"},
        },
    }
    schemas = service()
    assert schemas.register(ADMIN, "soil", "", schema).version == 1
    with pytest.raises(InvalidDocument) as exc:
        schemas.check({"annotation_schema": "soil", "depth_cm": -1, "probe": 3, "nested": [{"depth_cm": "deep"}]})
    assert set(problems(exc)) == {"/annotations/depth_cm", "/annotations/probe", "/annotations/nested/0/depth_cm"}


# -- checking annotations ----------------------------------------------------------------------
def test_nothing_declared_reads_nothing() -> None:
    store = CountingStore()
    schemas = service(store)
    schemas.check({"instrument": 5})
    schemas.check_entry({"instrument": 5}, None)
    assert sum(store.reads.values()) == 0


def test_a_dataset_declaring_a_version_is_checked_against_it_with_every_problem_named() -> None:
    schemas = service()
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    schemas.register(ADMIN, "soil", "", SOIL_V2)
    schemas.check({"annotation_schema": "soil/1", "instrument": "TDR-100", "depth_cm": 10})
    with pytest.raises(InvalidDocument) as exc:
        schemas.check({"annotation_schema": "soil/1", "instrument": 5, "depth_cm": -1})
    found = problems(exc)
    assert set(found) == {"/annotations/instrument", "/annotations/depth_cm"}
    assert all("(annotation schema soil/1)" in m for m in found.values())
    assert "2 problems" in str(exc.value)


def test_a_bare_name_is_its_latest_version_at_each_check() -> None:
    schemas = service()
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    schemas.check({"annotation_schema": "soil", "instrument": "TDR-100"})
    schemas.register(ADMIN, "soil", "", SOIL_V2)
    with pytest.raises(InvalidDocument) as exc:
        schemas.check({"annotation_schema": "soil", "instrument": "TDR-100"})
    assert problems(exc) == {"/annotations": "'site' is a required property (annotation schema soil/2)"}


def test_the_latest_version_seen_by_another_container_is_read_again_after_the_ttl() -> None:
    store, clock = InMemoryFacilityStore(), Clock()
    here, there = service(store, clock=clock), service(store, clock=clock)
    here.register(ADMIN, "soil", "", SOIL_V1)
    there.check({"annotation_schema": "soil", "instrument": "x"})  # soil/1, kept
    here.register(ADMIN, "soil", "", SOIL_V2)
    there.check({"annotation_schema": "soil", "instrument": "x"})  # still soil/1 within the TTL
    clock.now += s.LATEST_TTL_SECONDS
    with pytest.raises(InvalidDocument):
        there.check({"annotation_schema": "soil", "instrument": "x"})


@pytest.mark.parametrize(
    ("declared", "says"),
    [
        ("nope", "no annotation schema nope is registered"),
        ("soil/9", "no annotation schema soil/9 is registered"),
        ("Soil", 'must name an annotation schema: "name" or "name/version"'),
        (7, 'must name an annotation schema: "name" or "name/version"'),
        (None, 'must name an annotation schema: "name" or "name/version"'),
    ],
)
def test_an_unknown_or_malformed_declaration_is_itself_a_problem(declared: object, says: str) -> None:
    schemas = service()
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    with pytest.raises(InvalidDocument) as exc:
        schemas.check({"annotation_schema": declared, "instrument": "TDR-100"})
    assert problems(exc) == {"/annotations/annotation_schema": says}


def test_the_declaration_is_not_part_of_the_document_checked() -> None:
    schemas = service()
    schemas.register(ADMIN, "strict", "", {**SOIL_V1, "additionalProperties": False})
    schemas.check({"annotation_schema": "strict/1", "instrument": "TDR-100"})
    with pytest.raises(InvalidDocument):
        schemas.check({"annotation_schema": "strict/1", "instrument": "TDR-100", "extra": 1})


def test_a_version_is_read_once_and_kept() -> None:
    store = CountingStore()
    schemas = service(store)
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    other = service(store)  # another container: nothing kept yet
    store.reads.clear()
    for _ in range(5):
        other.check({"annotation_schema": "soil/1", "instrument": "TDR-100"})
    assert store.reads == Counter({s.KIND: 1})


def test_a_projects_schema_and_the_datasets_own_are_both_checked() -> None:
    schemas = service(projects={"order-1": "soil/1"})
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    schemas.register(ADMIN, "probe", "", {"type": "object", "required": ["probe_id"]})
    schemas.check_entry({"instrument": "TDR-100"}, "order-1")
    schemas.check_entry({"instrument": 5}, "order-2")  # a project declaring nothing
    with pytest.raises(InvalidDocument) as exc:
        schemas.check_entry({"annotation_schema": "probe/1", "instrument": 5}, "order-1")
    assert problems(exc) == {
        "/annotations/instrument": "5 is not of type 'string' (annotation schema soil/1)",
        "/annotations": "'probe_id' is a required property (annotation schema probe/1)",
    }


def test_a_projects_declaration_is_kept_for_the_ttl_unless_forgotten() -> None:
    clock, declared = Clock(), {"order-1": "soil/1"}
    calls: list[str] = []

    def declaration(project: str) -> str | None:
        calls.append(project)
        return declared.get(project)

    schemas = AnnotationSchemas(InMemoryFacilityStore(), project_declaration=declaration, clock=clock)
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    for _ in range(3):
        schemas.check_entry({"instrument": "x"}, "order-1")
    assert calls == ["order-1"]
    del declared["order-1"]
    schemas.forget_project("order-1")
    schemas.check_entry({"instrument": 5}, "order-1")  # read again: it declares nothing now
    assert calls == ["order-1", "order-1"]
    declared["order-1"] = "soil/1"
    schemas.check_entry({"instrument": 5}, "order-1")  # kept: within the TTL
    clock.now += s.LATEST_TTL_SECONDS
    with pytest.raises(InvalidDocument):
        schemas.check_entry({"instrument": 5}, "order-1")


def test_what_a_project_may_declare() -> None:
    schemas = service()
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    for ok in ("", "soil", "soil/1"):
        schemas.require_declarable(ok)
    for bad in ("nope", "soil/2", "Soil", "soil/0"):
        with pytest.raises(ValidationError) as exc:
            schemas.require_declarable(bad)
        assert exc.value.field == "annotation_schema"


def test_an_orders_field_is_a_declaration_or_empty() -> None:
    assert fields.parse_order({"annotation_schema": "soil/1"}, partial=True) == {"annotation_schema": "soil/1"}
    assert fields.parse_order({"annotation_schema": ""}, partial=True) == {"annotation_schema": ""}
    for bad in ("Soil", 1, None, "soil/x"):
        with pytest.raises(ValidationError) as exc:
            fields.parse_order({"annotation_schema": bad}, partial=True)
        assert exc.value.field == "annotation_schema"


def test_a_registration_body_is_parsed_before_the_service_sees_it() -> None:
    new = s.parse_new_schema({"name": "soil", "schema": SOIL_V1})
    assert (new.name, new.description, new.schema) == ("soil", "", SOIL_V1)
    for body, field in (
        ({"schema": {}}, "name"),
        ({"name": "soil"}, "schema"),
        ({"name": "soil", "schema": {}, "description": 3}, "description"),
        ({"name": "soil", "schema": {}, "colour": "red"}, "colour"),
    ):
        with pytest.raises(ValidationError) as exc:
            s.parse_new_schema(body)
        assert exc.value.field == field, body


# -- wired into the catalogue ------------------------------------------------------------------
def catalogue(schemas: AnnotationSchemas, repo: InMemoryRepository) -> CatalogueService:
    return CatalogueService(repo, InMemorySearchIndex(), check_annotations=schemas.check_entry)


def test_the_catalogue_checks_every_registration_and_edit_and_stores_nothing_that_breaks() -> None:
    schemas = service()
    schemas.register(ADMIN, "soil", "", SOIL_V1)
    repo = InMemoryRepository()
    AccessService(repo).ensure_base_uri(ADMIN, "s3://bucket-a", "")
    service_ = catalogue(schemas, repo)
    good = parse_registration(registration(annotations={"annotation_schema": "soil/1", "instrument": "TDR-100"}))
    bad = parse_registration(registration(annotations={"annotation_schema": "soil/1", "instrument": 5}))
    with pytest.raises(InvalidDocument):
        service_.register(ADMIN, bad)
    assert repo.get_dataset(bad.content.uuid, bad.base_uri) is None
    assert [r for r in service_.register_many(ADMIN, [bad]) if isinstance(r, InvalidDocument)]
    assert repo.get_dataset(bad.content.uuid, bad.base_uri) is None
    assert service_.register(ADMIN, good).status == "created"
    patch = DatasetPatch(tags=None, annotations={"annotation_schema": "soil/1"}, description=None, version=1)
    with pytest.raises(InvalidDocument):
        service_.patch_dataset(ADMIN, good.content.uuid, patch)
    stored = repo.get_dataset(good.content.uuid, good.base_uri)
    assert stored is not None and stored.version == 1
    assert stored.content.annotations == {"annotation_schema": "soil/1", "instrument": "TDR-100"}
