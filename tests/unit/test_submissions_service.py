"""The submission service's rules (issue 20, unit tier): who may touch a folder (a truth
table), publishing cut short and finished, aliases that collide despite the check, edits
without a version that lost a race done again on the newer record (issue 22, T2), and no
input that makes the document readers raise anything but InvalidDocument."""

from __future__ import annotations

import contextlib
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.adapters.dynamodb.facility import FacilityRecord
from chalicelib.domain import ANONYMOUS, DatasetContent, User
from chalicelib.errors import Conflict, InvalidDocument, ValidationError, VersionConflict
from chalicelib.retries import MAX_WRITE_ATTEMPTS
from chalicelib.submissions import records as rec
from chalicelib.submissions.ena_schemas import EnaSchemas, read_xml
from chalicelib.submissions.records import FOLDER, OPEN, PUBLISHED, PUBLISHING, SubmissionRecords
from chalicelib.submissions.service import NewObject, Submissions
from chalicelib.submissions.types import TYPES
from tests.fakes.facility import InMemoryFacilityStore, RacingStore
from tests.fakes.repository import InMemoryRepository

DATA = Path(__file__).parents[1] / "data" / "ena"
ALICE, BOB, EVE = User(username="alice"), User(username="bob"), User(username="eve")
ADMIN, NOBODY = User(username="root", is_admin=True), User(username=ANONYMOUS)
SCHEMAS = EnaSchemas()


class Catalogue:
    """Records what publishing hands the catalogue; fails the first ``failures`` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[str, list[DatasetContent], str, frozenset[str] | None]] = []

    def __call__(self, actor: User, contents: Any, project: str, members: frozenset[str] | None) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the catalogue went away")
        self.calls.append((actor.username, list(contents), project, members))


def service(
    catalogue: Catalogue | None = None, store: InMemoryFacilityStore | None = None, sleeps: list[float] | None = None
) -> tuple[Submissions, SubmissionRecords]:
    records = SubmissionRecords(store or InMemoryFacilityStore())
    users = {"alice", "bob", "eve"}
    sleep = (sleeps if sleeps is not None else []).append
    submissions = Submissions(
        records, SCHEMAS, catalogue or Catalogue(), users.__contains__, InMemoryRepository(), sleep=sleep
    )
    return submissions, records


def objects(name: str) -> list[NewObject]:
    type_, found = SCHEMAS.objects_from_xml((DATA / f"{name}.xml").read_bytes())
    return [NewObject(type_, o, "XML") for o in found]


def folder_record(state: str, owner: str = "alice", editors: tuple[str, ...] = ("bob",)) -> FacilityRecord:
    fields = {"owner": owner, "editors": list(editors), "state": state}
    return FacilityRecord(kind=rec.FOLDER, id=1, uuid="0" * 32, version=1, fields=fields)


@pytest.mark.parametrize(
    ("user", "state", "read", "change", "manage"),
    [
        (ALICE, OPEN, True, True, True),
        (BOB, OPEN, True, True, False),
        (ADMIN, OPEN, True, False, False),
        (EVE, OPEN, False, False, False),
        (NOBODY, OPEN, False, False, False),
        (ALICE, PUBLISHING, True, False, False),
        (ALICE, PUBLISHED, True, False, False),
        (BOB, PUBLISHED, True, False, False),
        (ADMIN, PUBLISHED, True, False, False),
        (EVE, PUBLISHED, False, False, False),
        (NOBODY, PUBLISHED, False, False, False),
    ],
)
def test_who_may_touch_a_folder(user: User, state: str, read: bool, change: bool, manage: bool) -> None:
    folder = folder_record(state)
    assert (rec.may_read(user, folder), rec.may_change(user, folder), rec.may_manage(user, folder)) == (
        read,
        change,
        manage,
    )
    # an anonymous caller is never a member, even of a folder whose owner is named so
    assert not rec.is_member(NOBODY, folder_record(OPEN, owner=ANONYMOUS))


def test_a_publication_cut_short_is_finished_by_publishing_again() -> None:
    catalogue = Catalogue(failures=1)
    submissions, _records = service(catalogue)
    folder = submissions.create_folder(ALICE, {"name": "Glacier"})["folderId"]
    submissions.add(ALICE, folder, objects("study") + objects("sample"), draft=True)
    with pytest.raises(RuntimeError):
        submissions.publish(ALICE, folder)
    # read-only from the first step on, though not yet published
    cut = submissions.folder(ALICE, folder)
    assert cut["state"] == PUBLISHING and cut["published"] is False
    with pytest.raises(Conflict):
        submissions.add(ALICE, folder, objects("dac"), draft=True)
    done = submissions.publish(ALICE, folder)
    assert done["published"] is True and done["drafts"] == [] and len(done["metadataObjects"]) == 2
    ((actor, contents, project, members),) = catalogue.calls
    assert actor == "system" and project == f"submission:{folder}" and members == {"alice"}
    assert sorted(c.tags[1] for c in contents) == ["sample", "study"]
    with pytest.raises(Conflict):
        submissions.publish(ALICE, folder)


def test_aliases_that_collided_despite_the_check_stop_the_publication() -> None:
    """Two requests adding the same alias at once both pass the check; publishing finds it."""
    submissions, records = service()
    folder = submissions.create_folder(ALICE, {"name": "Race"})["folderId"]
    (study,) = objects("study")
    for _ in range(2):  # as two concurrent adds would, past the alias check
        records.create_object(
            ALICE, study.type, folder, {"content": dict(study.content), "draft": True}, records.new_id(study.type)
        )
    with pytest.raises(InvalidDocument) as caught:
        submissions.publish(ALICE, folder)
    assert "alias 'glacier-microbes' is also CAT-STU-0000001's" in caught.value.problems[0]["message"]
    assert submissions.folder(ALICE, folder)["state"] == OPEN


def test_a_folder_in_a_project_is_published_into_it() -> None:
    catalogue = Catalogue()
    submissions, _ = service(catalogue)
    member = User(username="alice", projects=frozenset({"order-1"}))
    with pytest.raises(ValidationError):
        submissions.create_folder(ALICE, {"name": "x", "projectId": "order-1"})  # not a member
    folder = submissions.create_folder(member, {"name": "x", "projectId": "order-1"})["folderId"]
    submissions.add(member, folder, objects("study"), draft=False)
    submissions.publish(member, folder)
    ((_, _, project, members),) = catalogue.calls
    assert project == "order-1" and members is None  # the order's members are the order's


def test_an_editor_is_one_of_the_users() -> None:
    submissions, _ = service()
    with pytest.raises(ValidationError, match="no user 'mallory'"):
        submissions.create_folder(ALICE, {"name": "x", "editors": ["mallory"]})
    with pytest.raises(ValidationError, match="unknown field"):
        submissions.create_folder(ALICE, {"name": "x", "owner": "eve"})


# -- edits without a version, under a race (issue 22, T2) -------------------------------------
def racing() -> tuple[Submissions, SubmissionRecords, RacingStore, list[float]]:
    store, sleeps = RacingStore(), list[float]()
    submissions, records = service(store=store, sleeps=sleeps)
    return submissions, records, store, sleeps


def folder_key(records: SubmissionRecords, folder_id: str) -> int:
    found = records.find_folder(folder_id)
    assert found is not None
    return found.id


def object_key(accession: str) -> tuple[str, int]:
    parsed = rec.parse_accession(accession)
    assert parsed is not None
    return rec.object_kind(parsed[0]), parsed[1]


def test_a_folder_edit_without_a_version_that_lost_a_race_lands_on_the_newer_folder() -> None:
    submissions, records, store, sleeps = racing()
    folder = submissions.create_folder(ALICE, {"name": "Glacier", "description": "start"})["folderId"]
    key = folder_key(records, folder)
    store.rivals = iter([lambda: store.bump(FOLDER, key, name="Renamed")])
    got = submissions.update_folder(ALICE, folder, {"description": "mine"})
    assert (got["name"], got["description"], got["version"]) == ("Renamed", "mine", 3)
    assert store.saves == 2 and len(sleeps) == 1 and 0 <= sleeps[0] <= 0.005


def test_a_folder_edit_refused_on_the_newer_folder_is_answered_as_refused() -> None:
    """Published meanwhile: the answer a published folder gets, not a version conflict."""
    submissions, records, store, _ = racing()
    folder = submissions.create_folder(ALICE, {"name": "Glacier"})["folderId"]
    key = folder_key(records, folder)
    store.rivals = iter([lambda: store.bump(FOLDER, key, state=PUBLISHED)])
    with pytest.raises(Conflict, match="published") as caught:
        submissions.update_folder(ALICE, folder, {"description": "mine"})
    assert not isinstance(caught.value, VersionConflict) and store.saves == 1


def test_an_object_patch_without_a_version_is_merged_into_the_newer_object() -> None:
    submissions, _, store, _ = racing()
    folder = submissions.create_folder(ALICE, {"name": "Glacier"})["folderId"]
    (added,) = submissions.add(ALICE, folder, objects("study"), draft=True)
    accession, study = added["accessionId"], TYPES["study"]
    kind, id = object_key(accession)
    stored = store.get(kind, id)
    assert stored is not None
    theirs = {**stored.fields["content"], "@center_name": "Rival"}
    store.rivals = iter([lambda: store.bump(kind, id, content=theirs)])
    got = submissions.patch(ALICE, study, accession, {"@broker_name": "Mine"}, draft=True)
    assert (got["@center_name"], got["@broker_name"], got["version"]) == ("Rival", "Mine", 3)
    assert store.saves == 2


def test_a_replacement_whose_alias_was_taken_meanwhile_is_invalid() -> None:
    """The alias check runs again on the folder as it is when the save is tried again."""
    submissions, records, store, _ = racing()
    folder = submissions.create_folder(ALICE, {"name": "Glacier"})["folderId"]
    (study,) = objects("study")
    (added,) = submissions.add(ALICE, folder, [study], draft=True)
    accession = added["accessionId"]
    renamed = NewObject(study.type, {**study.content, "@alias": "renamed"}, "JSON")

    def rival() -> None:  # another request adds an object named so, and touches this one
        fields = {"content": dict(renamed.content), "alias": "renamed", "draft": True}
        records.create_object(BOB, study.type, folder, fields, records.new_id(study.type))
        store.bump(*object_key(accession), title="touched")

    store.rivals = iter([rival])
    with pytest.raises(InvalidDocument) as caught:
        submissions.replace(ALICE, study.type, accession, renamed, draft=None)
    assert "alias 'renamed' is CAT-STU-0000002's already" in caught.value.problems[0]["message"]
    assert store.saves == 1


def test_an_edit_without_a_version_gives_up_after_a_bounded_number_of_attempts() -> None:
    submissions, records, store, sleeps = racing()
    folder = submissions.create_folder(ALICE, {"name": "Glacier"})["folderId"]
    key = folder_key(records, folder)
    store.rivals = itertools.repeat(lambda: store.bump(FOLDER, key, name="Theirs"))
    with pytest.raises(VersionConflict, match="keeps changing") as caught:
        submissions.update_folder(ALICE, folder, {"description": "mine"})
    assert caught.value.current_version is None
    assert store.saves == MAX_WRITE_ATTEMPTS and len(sleeps) == MAX_WRITE_ATTEMPTS - 1
    assert all(0 <= s <= 0.005 * 2 ** min(n, 6) for n, s in enumerate(sleeps))


def test_a_folder_edit_at_a_stale_version_is_a_conflict_at_once() -> None:
    submissions, records, store, sleeps = racing()
    folder = submissions.create_folder(ALICE, {"name": "Glacier"})["folderId"]
    key = folder_key(records, folder)
    store.bump(FOLDER, key, name="Theirs")
    with pytest.raises(VersionConflict) as caught:  # stale when read: nothing saved
        submissions.update_folder(ALICE, folder, {"description": "mine"}, expected_version=1)
    assert caught.value.current_version == 2 and store.saves == 0
    store.rivals = iter([lambda: store.bump(FOLDER, key, name="Again")])
    with pytest.raises(VersionConflict):  # current when read, overtaken before the save: not retried
        submissions.update_folder(ALICE, folder, {"description": "mine"}, expected_version=2)
    assert store.saves == 1 and sleeps == []
    got = submissions.folder(ALICE, folder)
    assert (got["name"], got["description"], got["version"]) == ("Again", "", 3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_no_bytes_make_the_xml_reader_raise_anything_else(data: bytes) -> None:
    with contextlib.suppress(InvalidDocument):
        read_xml(data)


@pytest.mark.parametrize("encoding", ["TF-8", "UTF-32", "x-mac-japanese"])
def test_an_unknown_or_multibyte_encoding_is_refused_as_invalid(encoding: str) -> None:
    # found by the mangling test below: expat raises LookupError/ValueError for these
    with pytest.raises(InvalidDocument) as caught:
        read_xml(f'<?xml version="1.0" encoding="{encoding}"?><SAMPLE_SET/>'.encode())
    assert "unsupported encoding" in json.dumps(caught.value.problems)


VALID_SAMPLE = (DATA / "sample.xml").read_bytes()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(VALID_SAMPLE) - 1), st.integers(1, 40), st.binary(max_size=40))
def test_no_mangled_sample_makes_the_schemas_raise_anything_else(at: int, cut: int, insert: bytes) -> None:
    mangled = VALID_SAMPLE[:at] + insert + VALID_SAMPLE[at + cut :]
    with contextlib.suppress(InvalidDocument):
        SCHEMAS.objects_from_xml(mangled)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["@alias", "TITLE", "SAMPLE_NAME", "TAXON_ID", "$", "x"]), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(TYPES)), JSON_VALUES)
def test_no_json_makes_the_schemas_raise_anything_else(name: str, document: Any) -> None:
    try:
        stored = SCHEMAS.object_from_json(TYPES[name], document)
    except InvalidDocument:
        return
    assert json.loads(json.dumps(stored)) == stored  # what is stored is plain JSON
