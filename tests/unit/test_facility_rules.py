"""The facility domain's pure parts: Rails-like coercion and messages, data files as a
manifest, repository base URIs, who may read and write a proposal."""

from __future__ import annotations

import pytest

from chalicelib.catalogue.validation import parse_base_uri
from chalicelib.domain import User
from chalicelib.errors import InvalidRecord
from chalicelib.facility import permissions as perm
from chalicelib.facility.datasets import manifest_of, parse_files, replica_uri, repository_base_uri
from chalicelib.facility.rules import coerce, fields_for_create, fields_for_update, parse_datetime
from chalicelib.facility.schema import BOOL, DATETIME, INT, KINDS, Field

RUN = KINDS["run"]
GROUP = KINDS["data_group"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("-1", -1), (-1, -1), ("126", 126), (1.0, 1), ("9223372036854775807", 2**63 - 1), ("", None), (None, None)],
)
def test_integers_arrive_as_text_or_numbers(raw: object, expected: object) -> None:
    assert coerce(Field("n", INT), raw) == (expected, [])


@pytest.mark.parametrize("raw", ["abc", True, [1], "1.5", "99999999999999999999"])
def test_what_is_not_an_integer(raw: object) -> None:
    _, problems = coerce(Field("n", INT), raw)
    assert problems and problems[0] in ("is not a number", "is out of range")


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("1", True), (1, True), ("false", False), (0, False)])
def test_flags_as_rails_reads_them(raw: object, expected: bool) -> None:
    assert coerce(Field("flg", BOOL), raw) == (expected, [])


def test_datetimes_keep_their_offset_and_naive_means_utc() -> None:
    assert parse_datetime("2014-06-25T08:30:00.000+02:00") == "2014-06-25T08:30:00.000+02:00"
    assert parse_datetime("2014-06-25T08:30:00Z") == "2014-06-25T08:30:00.000Z"
    assert parse_datetime("2014-06-25T08:30:00") == "2014-06-25T08:30:00.000Z"
    assert coerce(Field("t", DATETIME), "yesterday")[1] == ["is not a valid datetime"]


def test_a_blank_required_number_reports_both_messages() -> None:
    with pytest.raises(InvalidRecord) as caught:
        fields_for_create(RUN, {"run_number": 1, "experiment_id": "-1", "begin_at": "2014-06-25T08:30:00Z",
                                "first_train": None, "runs_techniques_attributes": ""})  # fmt: skip
    assert caught.value.errors == {"first_train": ["can't be blank", "is not a number"]}


def test_defaults_and_blank_text() -> None:
    given = {"run_number": "7", "experiment_id": -1, "begin_at": "2014-06-25T08:30:00Z", "first_train": 1}
    values = fields_for_create(RUN, {**given, "run_alias": None, "unknown": "ignored"})
    assert values["run_alias"] == ""
    assert values["flg_status"] == 1
    assert values["flg_available"] is True
    assert "unknown" not in values


def test_immutable_fields_report_in_declaration_order() -> None:
    stored = fields_for_create(
        GROUP, {"data_group_type_id": 1, "experiment_id": -1, "user_id": -1, "prefix_path": "/a/"}
    )
    with pytest.raises(InvalidRecord) as caught:
        fields_for_update(GROUP, stored, {"prefix_path": "bla_bla", "data_group_type_id": 2, "name": "x" * 61})
    assert list(caught.value.errors.items()) == [
        ("name", ["cannot be updated", "is too long (maximum is 60 characters)"]),
        ("data_group_type_id", ["cannot be updated"]),
        ("prefix_path", ["cannot be updated"]),
    ]
    # sending an immutable field unchanged is fine, a partial update keeps the rest
    kept = fields_for_update(GROUP, stored, {"data_group_type_id": "1", "description": "d"})
    assert kept == {**stored, "description": "d"}


def test_run_number_change_reports_the_folder_and_train_order() -> None:
    stored = fields_for_create(RUN, {"run_number": 126, "experiment_id": -1, "begin_at": "2014-06-25T08:30:00Z",
                                     "first_train": 126})  # fmt: skip
    with pytest.raises(InvalidRecord) as caught:
        fields_for_update(RUN, stored, {"run_number": "x", "last_train": -1})
    assert caught.value.errors["run_number"] == ["cannot be updated", "is not a number"]
    assert caught.value.errors["run_folder"] == ["cannot be updated"]
    assert caught.value.errors["last_train"] == ["must be greater than or equal to 126"]


def test_files_text_in_either_repr_becomes_a_manifest() -> None:
    files = parse_files("[{'filename':'s0000.h5','sequence':11,'relative_path':'r0001/'}]")
    files += parse_files('[{"filename": "b.h5", "relative_path": "", "size": 10, "checksum": "ab"}]')
    manifest = manifest_of(files, 100.0)
    assert sorted(i.relpath for i in manifest.items.values()) == ["b.h5", "r0001/s0000.h5"]
    assert manifest.total_size == 10
    assert manifest.hash_function == "md5sum_hexdigest"
    assert parse_files("__import__('os')") == []
    assert parse_files("[" * 100_000) == []


def test_repository_base_uris_are_valid_base_uris() -> None:
    for identifier in ("XFEL_TESTS_REPO", "XFEL GPFS/OFFLINE", "..", "ä"):
        assert parse_base_uri(repository_base_uri(identifier)) == repository_base_uri(identifier)


def test_proposal_rights() -> None:
    daq = User(username="daq", register_base_uris=frozenset({"file://mymdc/R"}))
    member = User(username="m")
    outsider = User(username="o", register_base_uris=frozenset({"s3://elsewhere"}))
    admin = User(username="a", is_admin=True)
    for who, reads, writes in ((daq, True, True), (member, True, False), (outsider, False, False), (admin, True, True)):
        assert perm.may_read_proposal(who, ["m"], "file://mymdc/R") is reads
        assert perm.may_write_proposal(who, "file://mymdc/R") is writes
    assert perm.may_read_proposal(daq, [], None) is False


def test_s3_repositories_hold_replicas_in_their_data_groups_folders() -> None:
    base = repository_base_uri("XFEL_S3", "s3://bucket/offline/")
    assert base == "s3://bucket/offline"
    assert replica_uri(base, "u-1", "/raw/p000001/r0002/") == "s3://bucket/offline/raw/p000001/r0002"
    assert replica_uri(base, "u-1", "") == "s3://bucket/offline/u-1"
    assert replica_uri("file://mymdc/R", "u-1", "/raw/") == "file://mymdc/R/u-1"
    with pytest.raises(InvalidRecord):
        replica_uri(base, "u-1", "raw/../../other")
    with pytest.raises(InvalidRecord):
        repository_base_uri("X", "s3://bucket//double")
