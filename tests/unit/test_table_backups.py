"""The table backup adapter (:mod:`chalicelib.adapters.dynamodb.backups`): over moto for what it
does, over stub clients for what moto never answers (a backup still CREATING, PITR refused right
after a restore, throttling, a restore that never ends)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from chalicelib.adapters.dynamodb import tables
from chalicelib.adapters.dynamodb.backups import (
    BackupError,
    BackupNotFound,
    BackupSet,
    TableBackup,
    TableBackups,
    TableExists,
    TableNotFound,
    TableProtected,
    TableSpec,
    WaitTimeout,
    backup_name,
    catalogue_tables,
    new_set_name,
    spec_of,
)
from chalicelib.adapters.errors import TransientError
from chalicelib.config import Settings

STREAMED = TableSpec("drill-streamed", stream_view_type="NEW_AND_OLD_IMAGES")
EXPIRING = TableSpec("drill-expiring", ttl_attribute="expires_at")


def make_table(ddb: Any, spec: TableSpec, items: int = 3, **extra: Any) -> None:
    stream = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": spec.stream_view_type}}
    by_g = {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}
    ddb.create_table(
        TableName=spec.name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "g")],
        GlobalSecondaryIndexes=[{**by_g, "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
        **(stream if spec.stream_view_type else {}),
        **extra,
    )
    for i in range(items):
        ddb.put_item(TableName=spec.name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}})


@pytest.fixture
def ddb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name="eu-west-1")


def test_the_catalogue_tables_are_read_from_the_models() -> None:
    settings = Settings(stage="test")
    specs = {s.name: s for s in catalogue_tables(settings)}
    assert list(specs) == [
        settings.access_table,
        settings.facility_table,
        settings.datasets_table,
        settings.archives_table,
        settings.audit_table,
    ]
    streamed = {n for n, s in specs.items() if s.stream_view_type == "NEW_AND_OLD_IMAGES"}
    assert streamed == {settings.datasets_table, settings.access_table, settings.facility_table}
    assert settings.sign_in_attempts_table not in specs  # ephemeral: never restored
    assert all(s.point_in_time_recovery and s.ttl_attribute is None for s in specs.values())
    assert spec_of(tables.AttemptItem, "x").ttl_attribute == "expires_at"


def test_back_up_delete_and_restore_under_the_same_names(ddb: Any) -> None:
    for spec in (STREAMED, EXPIRING):
        make_table(ddb, spec)
    old_stream = ddb.describe_table(TableName=STREAMED.name)["Table"]["LatestStreamArn"]
    backups = TableBackups(ddb, poll_seconds=0)

    made = backups.back_up([STREAMED.name, EXPIRING.name], "drill-1")
    assert made.tables == (STREAMED.name, EXPIRING.name) and made.size_bytes > 0
    ddb.put_item(TableName=STREAMED.name, Item={"pk": {"S": "after the backup"}, "g": {"S": "x"}})
    found = backups.find("drill-1", [STREAMED.name, EXPIRING.name])
    assert [b.backup_arn for b in found.backups] == [b.backup_arn for b in made.backups]
    assert [s.name for s in backups.sets([STREAMED.name, EXPIRING.name])] == ["drill-1"]

    with pytest.raises(TableExists):
        backups.restore(found, [STREAMED, EXPIRING])
    backups.delete_tables([STREAMED.name, EXPIRING.name])
    assert backups.existing([STREAMED.name, EXPIRING.name]) == []

    restored = {r.name: r for r in backups.restore(found, [STREAMED, EXPIRING])}
    assert {n: r.item_count for n, r in restored.items()} == {STREAMED.name: 3, EXPIRING.name: 3}  # as backed up
    assert restored[STREAMED.name].stream_arn not in (None, old_stream)
    assert restored[EXPIRING.name].stream_arn is None
    streamed = ddb.describe_table(TableName=STREAMED.name)["Table"]
    assert streamed["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert streamed["LatestStreamArn"] == restored[STREAMED.name].stream_arn
    assert [i["IndexName"] for i in streamed["GlobalSecondaryIndexes"]] == ["by-g"]
    ttl = ddb.describe_time_to_live(TableName=EXPIRING.name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    for name in restored:
        pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_a_restore_that_ran_out_of_time_is_finished_when_asked_again(ddb: Any) -> None:
    make_table(ddb, STREAMED)
    backups = TableBackups(ddb, poll_seconds=0)
    made = backups.back_up([STREAMED.name], "resume-1")
    backups.delete_tables([STREAMED.name])
    # the first run started the restore and gave up waiting: the table exists, without its stream
    ddb.restore_table_from_backup(TargetTableName=STREAMED.name, BackupArn=made.backups[0].backup_arn)
    assert backups.in_the_way(made, [STREAMED.name]) == []
    [done] = backups.restore(made, [STREAMED])
    assert done.item_count == 3 and done.stream_arn
    # a table of that name made otherwise is in the way
    other = backups.back_up([STREAMED.name], "resume-2")
    assert backups.in_the_way(other, [STREAMED.name]) == [STREAMED.name]
    with pytest.raises(TableExists):
        backups.restore(other, [STREAMED])


def test_an_incomplete_or_unknown_set_is_not_found(ddb: Any) -> None:
    make_table(ddb, STREAMED)
    backups = TableBackups(ddb, poll_seconds=0)
    backups.back_up([STREAMED.name], "only-one")
    with pytest.raises(BackupNotFound, match=EXPIRING.name):
        backups.find("only-one", [STREAMED.name, EXPIRING.name])
    with pytest.raises(BackupNotFound):
        backups.find("never-made", [STREAMED.name])
    with pytest.raises(ValueError):
        backups.find("no spaces", [STREAMED.name])
    with pytest.raises(TableNotFound):
        backups.back_up([EXPIRING.name], "missing-table")


def test_a_protected_table_is_never_deleted(ddb: Any) -> None:
    make_table(ddb, STREAMED)
    make_table(ddb, EXPIRING, DeletionProtectionEnabled=True)
    with pytest.raises(TableProtected, match=EXPIRING.name):
        TableBackups(ddb, poll_seconds=0).delete_tables([STREAMED.name, EXPIRING.name])
    assert TableBackups(ddb).existing([STREAMED.name, EXPIRING.name]) == [STREAMED.name, EXPIRING.name]


def test_point_in_time_restore_goes_to_a_new_name_and_back_through_a_set(ddb: Any) -> None:
    make_table(ddb, STREAMED)
    ddb.update_continuous_backups(
        TableName=STREAMED.name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    backups = TableBackups(ddb, poll_seconds=0)
    staging = TableSpec(f"{STREAMED.name}-pitr", point_in_time_recovery=False)  # a copy to check, no stream
    copy = backups.restore_to_point_in_time(STREAMED.name, staging)
    assert copy.item_count == 3 and copy.stream_arn is None
    # back under the stack's name: a set of the copy, named for the table it replaces
    rehomed = backups.back_up([staging.name], "pitr-1", names={staging.name: STREAMED.name})
    assert rehomed.tables == (STREAMED.name,)
    backups.delete_tables([STREAMED.name, staging.name])
    [back] = backups.restore(backups.find("pitr-1", [STREAMED.name]), [STREAMED])
    assert back.item_count == 3 and back.stream_arn


def test_set_names_sort_by_time() -> None:
    assert new_set_name(0) == "19700101T000000Z"
    assert backup_name("catalogue-datasets", "19700101T000000Z") == "catalogue-datasets--19700101T000000Z"


# -- stub clients: what moto never answers ------------------------------------------------


def client_error(code: str, status: int = 400, message: str = "") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Stub:
    """Answers from ``script`` (operation -> list of answers, the last repeated); an exception
    answer is raised. ``calls`` records the operations."""

    def __init__(self, **script: list[Any]) -> None:
        self.script = script
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def call(**_kwargs: Any) -> Any:
            self.calls.append(name)
            answers = self.script[name]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


STATUSES = ("CREATING", "AVAILABLE")


def backup_details(status: str) -> dict[str, Any]:
    return {"BackupArn": "arn:b", "BackupStatus": status, "BackupSizeBytes": 10, "BackupCreationDateTime": 1.0}


def test_a_backup_is_waited_for_until_available() -> None:
    clock = Clock()
    stub = Stub(
        create_backup=[{"BackupDetails": backup_details("CREATING")}],
        describe_backup=[
            {"BackupDescription": {"BackupDetails": backup_details(s)}} for s in ("CREATING", "AVAILABLE")
        ],
    )
    made = TableBackups(stub, poll_seconds=5, sleep=clock.sleep, clock=clock).back_up(["t-1"], "s")
    assert made.backups[0].status == "AVAILABLE" and clock.now == 5


def test_waits_are_bounded() -> None:
    clock = Clock()
    never_active = [client_error("ResourceNotFoundException"), {"Table": {"TableStatus": "CREATING"}}]
    stub = Stub(describe_table=never_active, restore_table_from_backup=[{}])
    backups = TableBackups(stub, timeout_seconds=60, poll_seconds=10, sleep=clock.sleep, clock=clock)
    one = BackupSet("s", (TableBackup("t-1", "arn:b", 1.0, 10, "AVAILABLE"),))
    with pytest.raises(WaitTimeout, match="t-1 to become ACTIVE"):
        backups.restore(one, [TableSpec("t-1")])
    assert clock.now == 60


def test_pitr_is_retried_while_aws_says_backups_are_being_enabled() -> None:
    clock = Clock()
    active = {"Table": {"TableStatus": "ACTIVE", "ItemCount": 0}}
    stub = Stub(
        describe_table=[active],
        update_continuous_backups=[client_error("ContinuousBackupsUnavailableException"), {}],
        restore_table_to_point_in_time=[{}],
    )
    backups = TableBackups(stub, poll_seconds=5, sleep=clock.sleep, clock=clock)
    restored = backups.restore_to_point_in_time("src-table", TableSpec("new-table"))
    assert restored.stream_arn is None and stub.calls.count("update_continuous_backups") == 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("ThrottlingException"), TransientError),
        (client_error("InternalServerError", 500), TransientError),
        (client_error("TableAlreadyExistsException"), TableExists),
        (client_error("BackupNotFoundException"), BackupNotFound),
        (client_error("SourceTableNotFoundException"), TableNotFound),
        (client_error("PointInTimeRecoveryUnavailableException"), BackupError),
        (client_error("InvalidRestoreTimeException"), BackupError),
    ],
)
def test_aws_errors_never_leave_the_adapter(error: ClientError, expected: type[Exception]) -> None:
    stub = Stub(restore_table_to_point_in_time=[error])
    with pytest.raises(expected) as caught:
        TableBackups(stub).restore_to_point_in_time("src-table", TableSpec("new-table"))
    assert not isinstance(caught.value, ClientError)


def test_deletion_protection_refused_by_aws_is_named() -> None:
    message = "Resource cannot be deleted as it is currently protected against manual deletion."
    stub = Stub(
        describe_table=[{"Table": {"TableStatus": "ACTIVE"}}],
        delete_table=[client_error("ValidationException", message=message)],
    )
    with pytest.raises(TableProtected):
        TableBackups(stub).delete_tables(["t-1"])
