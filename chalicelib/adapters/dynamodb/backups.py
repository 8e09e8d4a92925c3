"""Backups and restores of the catalogue's DynamoDB tables (issue 22): the one adapter of
DynamoDB's backup API, over an injected boto3 ``dynamodb`` client.

What a restore brings back and what it does not (as AWS documents it, and as moto does):

* a restored table has the items and the global secondary indexes of its backup, its key
  schema, billing mode and encryption;
* it has **no stream**, no TTL, no point-in-time recovery, no deletion protection, no tags and
  no alarms: :meth:`TableBackups.restore` sets the stream (the view type the model declares,
  ``NEW_AND_OLD_IMAGES``), TTL (where the model has a ``TTLAttribute``) and point-in-time
  recovery again; the rest is the operator's (see the README's runbook);
* its stream is a **new** stream with a new ARN: whatever consumed the old one (Lambda's event
  source mappings; the local :class:`~infra.local.pump.StreamPump`) must be pointed at
  :attr:`RestoredTable.stream_arn`. A restore writes no stream records, so nothing is audited
  or indexed twice; the search index is rebuilt from the restored datasets table.

Two ways back:

* **on-demand backups** (:meth:`TableBackups.back_up`, :meth:`TableBackups.restore`): a backup
  set is one backup per table, taken together and named ``<table>--<set>``; a restore puts each
  table back under **its own name**, so the damaged table must be deleted first
  (:meth:`TableBackups.delete_tables`). ``catalogue-admin backup`` / ``restore`` use these.
* **point in time** (:meth:`TableBackups.restore_to_point_in_time`, the AWS path after an
  accident nobody backed up for): DynamoDB always restores to a **new** table name. To put it
  back under the name the stack gave the table, back the new table up into a set
  (:meth:`TableBackups.back_up` with ``names``) and restore that set over the damaged table (two
  restores), or point the deployment at the new names. Never delete the damaged table before
  its copy exists: the recovery window lives with the table, and deleting it keeps only a
  snapshot of the moment of deletion (AWS's system backup ``<table>$DeletedTableBackup``).
  moto copies the source table as it is now, whatever the time asked for: the drill exercises
  the calls, not the time travel.

Every wait is bounded (``timeout_seconds``); AWS's error codes never leave this module: they
become :class:`BackupError` and its subclasses, or
:class:`~chalicelib.adapters.errors.TransientError` for throttling and network failures.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pynamodb.models import Model

from chalicelib.adapters.aws import error_code, transient_as
from chalicelib.adapters.dynamodb.tables import ArchiveItem, AuditItem, DatasetItem, FacilityItem, UserItem
from chalicelib.config import Settings

T = TypeVar("T")

SEPARATOR = "--"  # a backup is named <table>--<set>
SET_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")  # DynamoDB allows [a-zA-Z0-9_.-]{3,255} for the whole name
MAX_PAGES = 1000  # ListBackups pages (100 backups each) read at most
DEFAULT_TIMEOUT_SECONDS = 3600.0  # a restore of a large table takes a while in AWS
DEFAULT_POLL_SECONDS = 5.0
_MISSING_TABLE = frozenset({"ResourceNotFoundException", "TableNotFoundException", "SourceTableNotFoundException"})
_TABLE_EXISTS = frozenset({"TableAlreadyExistsException", "TableInUseException"})


class BackupError(Exception):
    """A backup or restore could not be done as asked (not worth retrying as it is)."""


class BackupNotFound(BackupError):
    """No complete backup set of that name (or the backup named is gone)."""


class TableExists(BackupError):
    """The table to restore into exists (or is being created or deleted)."""


class TableNotFound(BackupError):
    """The table to back up, delete or restore from does not exist."""


class TableProtected(BackupError):
    """The table has deletion protection on: turn it off first (a deliberate step)."""


class WaitTimeout(BackupError):
    """A backup, restore or deletion was not done within the bounded wait."""


@dataclass(frozen=True)
class TableSpec:
    """A table as the catalogue makes it, for what a restore must set again."""

    name: str
    stream_view_type: str | None = None  # e.g. NEW_AND_OLD_IMAGES; None: no stream
    ttl_attribute: str | None = None
    point_in_time_recovery: bool = True  # the CDK stack turns it on for every table


def spec_of(model: type[Model], name: str) -> TableSpec:
    """The :class:`TableSpec` of the table ``name`` that stores ``model``: its stream view type
    (``Meta.stream_view_type``) and TTL attribute, read from the model as the CDK stack reads them."""
    ttl = model._ttl_attribute()
    return TableSpec(
        name=name,
        stream_view_type=getattr(model.Meta, "stream_view_type", None),
        ttl_attribute=None if ttl is None else str(ttl.attr_name),
    )


def catalogue_tables(settings: Settings) -> tuple[TableSpec, ...]:
    """The tables a backup set holds, in the order they are restored.

    Access first (it authorizes every request; small), then facility (the Data Tracker's orders
    that project membership derives from, and myMdC's records), datasets (the index is rebuilt
    from it), archives (they refer to datasets) and the audit log (history only read). The
    sign-in attempts table is left out on purpose: its counters are ephemeral (TTL), and an
    empty table is what a restore should give; ``create_resources`` (locally) or the stack make it.
    """
    return (
        spec_of(UserItem, settings.access_table),
        spec_of(FacilityItem, settings.facility_table),
        spec_of(DatasetItem, settings.datasets_table),
        spec_of(ArchiveItem, settings.archives_table),
        spec_of(AuditItem, settings.audit_table),
    )


@dataclass(frozen=True)
class TableBackup:
    """One on-demand backup of a set: ``table`` is the table it restores into (its name at backup)."""

    table: str
    backup_arn: str
    created_at: float  # seconds since the epoch
    size_bytes: int
    status: str  # CREATING, AVAILABLE or DELETED


@dataclass(frozen=True)
class BackupSet:
    """The backups of one ``catalogue-admin backup``: one per table, found again by ``name``."""

    name: str
    backups: tuple[TableBackup, ...]

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(b.table for b in self.backups)

    @property
    def created_at(self) -> float:
        return min((b.created_at for b in self.backups), default=0.0)

    @property
    def size_bytes(self) -> int:
        return sum(b.size_bytes for b in self.backups)

    def backup_of(self, table: str) -> TableBackup | None:
        return next((b for b in self.backups if b.table == table), None)


@dataclass(frozen=True)
class RestoredTable:
    """A table restored and ACTIVE, with its stream, TTL and PITR set again."""

    name: str
    stream_arn: str | None  # the NEW stream: point its consumers here
    item_count: int  # DynamoDB's count (in AWS refreshed about every six hours)
    seconds: float  # from the restore request until the table was ready


def backup_name(table: str, set_name: str) -> str:
    return f"{table}{SEPARATOR}{set_name}"


def new_set_name(now: float | None = None) -> str:
    """A set name from the time: ``20261207T054221Z`` (UTC, sorts by time)."""
    return datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y%m%dT%H%M%SZ")


def check_set_name(set_name: str) -> str:
    if not SET_NAME.fullmatch(set_name):
        raise ValueError(f"a backup set name is 1 to 100 of A-Z a-z 0-9 _ . - (not {set_name!r})")
    return set_name


class TableBackups:
    """Back up, delete and restore tables through a boto3 ``dynamodb`` client.

    Waits poll every ``poll_seconds`` and give up (:class:`WaitTimeout`) after
    ``timeout_seconds`` per wait; ``sleep`` and ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        client: Any,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self._sleep = sleep
        self._clock = clock

    # -- backups ---------------------------------------------------------------------------

    def back_up(
        self, tables: Sequence[str], set_name: str | None = None, *, names: Mapping[str, str] | None = None
    ) -> BackupSet:
        """One on-demand backup of each table, named ``<table>--<set_name>`` (default: the time
        now, :func:`new_set_name`); returns once every backup is AVAILABLE.

        ``names`` maps a table to the name its backup restores into, when that differs (a
        table restored to a point in time under a new name, to be put back under the old one).
        """
        set_name = check_set_name(set_name or new_set_name())
        names = names or {}
        started: list[tuple[str, str]] = []
        for table in tables:
            target = names.get(table, table)
            with self._errors("CreateBackup", table):
                details = self._client.create_backup(TableName=table, BackupName=backup_name(target, set_name))
            started.append((target, str(details["BackupDetails"]["BackupArn"])))
        return BackupSet(set_name, tuple(self._available(target, arn) for target, arn in started))

    def _available(self, table: str, arn: str) -> TableBackup:
        def check() -> TableBackup | None:
            with self._errors("DescribeBackup", table):
                details = self._client.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]
            backup = _backup(table, details)
            if backup.status == "DELETED":
                raise BackupError(f"the backup of {table} was deleted while it was being made")
            return backup if backup.status == "AVAILABLE" else None

        return self._until(f"backup of {table}", check)

    def find(self, set_name: str, tables: Sequence[str]) -> BackupSet:
        """The set ``set_name`` holding an AVAILABLE backup of every one of ``tables``;
        :class:`BackupNotFound` names the tables it lacks."""
        check_set_name(set_name)
        found: dict[str, TableBackup] = {}
        wanted = {backup_name(t, set_name): t for t in tables}
        for summary in self._summaries():
            table = wanted.get(str(summary.get("BackupName", "")))
            if table is None or summary.get("BackupStatus") != "AVAILABLE":
                continue
            backup = _backup(table, summary)
            if table not in found or backup.created_at > found[table].created_at:  # the newest of a name
                found[table] = backup
        missing = [t for t in tables if t not in found]
        if missing:
            raise BackupNotFound(f"backup set {set_name!r} has no available backup of {', '.join(missing)}")
        return BackupSet(set_name, tuple(found[t] for t in tables))

    def sets(self, tables: Sequence[str]) -> list[BackupSet]:
        """Every set with a backup of some of ``tables`` (complete or not), newest first."""
        by_set: dict[str, dict[str, TableBackup]] = {}
        for summary in self._summaries():
            name = str(summary.get("BackupName", ""))
            for table in tables:
                prefix = f"{table}{SEPARATOR}"
                if name.startswith(prefix) and SET_NAME.fullmatch(name[len(prefix) :]):
                    by_set.setdefault(name[len(prefix) :], {})[table] = _backup(table, summary)
        out = [BackupSet(name, tuple(b[t] for t in tables if t in b)) for name, b in by_set.items()]
        return sorted(out, key=lambda s: (s.created_at, s.name), reverse=True)

    def _summaries(self) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {"BackupType": "USER"}
        for _ in range(MAX_PAGES):
            with self._errors("ListBackups", "the account"):
                page = self._client.list_backups(**kwargs)
            yield from page.get("BackupSummaries", [])
            last = page.get("LastEvaluatedBackupArn")
            if not last:
                return
            kwargs["ExclusiveStartBackupArn"] = last

    # -- tables ----------------------------------------------------------------------------

    def existing(self, tables: Sequence[str]) -> list[str]:
        """Those of ``tables`` that exist (in any status)."""
        return [t for t in tables if self._describe(t) is not None]

    def delete_tables(self, tables: Sequence[str]) -> None:
        """Delete those of ``tables`` that exist and wait until they are gone. Nothing is deleted
        when one has deletion protection (:class:`TableProtected`)."""
        present = {t: d for t in tables if (d := self._describe(t)) is not None}
        protected = [t for t, d in present.items() if d.get("DeletionProtectionEnabled")]
        if protected:
            raise TableProtected(f"deletion protection is on for {', '.join(protected)}: turn it off first")
        for table in present:
            with self._errors("DeleteTable", table):
                try:
                    self._client.delete_table(TableName=table)
                except ClientError as exc:
                    if error_code(exc) not in _MISSING_TABLE:  # gone meanwhile: fine
                        raise
        for table in present:
            self._until(f"deletion of {table}", partial(self._gone, table))

    def _gone(self, table: str) -> bool | None:
        return True if self._describe(table) is None else None

    # -- restores --------------------------------------------------------------------------

    def in_the_way(self, backup_set: BackupSet, tables: Sequence[str]) -> list[str]:
        """Those of ``tables`` that exist and were not restored from their backup in ``backup_set``:
        a restore of the set needs them deleted first. A table restored from it (a restore that
        ran out of time, or ended) is not in the way: :meth:`restore` finishes it."""
        present = {t: d for t in tables if (d := self._describe(t)) is not None}
        return [t for t, d in present.items() if not _restored_from(d, backup_set, t)]

    def restore(self, backup_set: BackupSet, specs: Sequence[TableSpec]) -> list[RestoredTable]:
        """Restore each of ``specs`` from its backup in ``backup_set`` under its own name (all
        restores are started, then each is waited for); set its stream, TTL and PITR again.

        A table restored from this very backup already is finished, not restored again (so a
        restore that ran out of time is resumed by asking again); any other table of that name
        stops the restore (:class:`TableExists`) before anything starts.
        """
        backups: dict[str, TableBackup] = {}
        for spec in specs:
            backup = backup_set.backup_of(spec.name)
            if backup is None:
                raise BackupNotFound(f"backup set {backup_set.name!r} has no backup of {spec.name}")
            backups[spec.name] = backup
        present = {s.name: d for s in specs if (d := self._describe(s.name)) is not None}
        blocking = [t for t, d in present.items() if not _restored_from(d, backup_set, t)]
        if blocking:
            raise TableExists(f"{', '.join(blocking)} exist: delete them first (restore puts tables back by name)")
        started: list[tuple[TableSpec, float]] = []
        for spec in specs:
            begun = self._clock()
            if spec.name not in present:
                with self._errors("RestoreTableFromBackup", spec.name):
                    self._client.restore_table_from_backup(
                        TargetTableName=spec.name, BackupArn=backups[spec.name].backup_arn
                    )
            started.append((spec, begun))
        return [self._finish(spec, begun) for spec, begun in started]

    def restore_to_point_in_time(
        self, source: str, target: TableSpec, at: datetime | None = None, *, source_arn: str | None = None
    ) -> RestoredTable:
        """Restore ``source`` as it was at ``at`` (default: the latest restorable time, about
        five minutes ago in AWS) into the **new** table ``target.name``; set its stream, TTL and
        PITR as ``target`` says. ``source_arn`` instead of the name reaches another account's
        table (or one deleted within the PITR window, as AWS allows)."""
        when: dict[str, Any] = {"RestoreDateTime": at} if at is not None else {"UseLatestRestorableTime": True}
        src: dict[str, Any] = {"SourceTableArn": source_arn} if source_arn else {"SourceTableName": source}
        begun = self._clock()
        with self._errors("RestoreTableToPointInTime", target.name):
            self._client.restore_table_to_point_in_time(TargetTableName=target.name, **src, **when)
        return self._finish(target, begun)

    def _finish(self, spec: TableSpec, begun: float) -> RestoredTable:
        self._active(spec.name)
        if spec.stream_view_type:
            self._enable_stream(spec.name, spec.stream_view_type)
        if spec.ttl_attribute:
            self._enable_ttl(spec.name, spec.ttl_attribute)
        if spec.point_in_time_recovery:
            self._enable_pitr(spec.name)
        table = self._active(spec.name)
        return RestoredTable(
            name=spec.name,
            stream_arn=table.get("LatestStreamArn") if spec.stream_view_type else None,
            item_count=int(table.get("ItemCount", 0)),
            seconds=self._clock() - begun,
        )

    def _active(self, table: str) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            described = self._describe(table)
            if described is None or described.get("TableStatus") != "ACTIVE":
                return None  # not visible yet right after a restore request, or CREATING/UPDATING
            indexes = described.get("GlobalSecondaryIndexes", [])
            return described if all(i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes) else None

        return self._until(f"{table} to become ACTIVE", check)

    def _enable_stream(self, table: str, view_type: str) -> None:
        current = (self._describe(table) or {}).get("StreamSpecification") or {}
        if current.get("StreamEnabled") and current.get("StreamViewType") == view_type:
            return
        with self._errors("UpdateTable", table):
            self._client.update_table(
                TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type}
            )
        self._active(table)

    def _enable_ttl(self, table: str, attribute: str) -> None:
        with self._errors("DescribeTimeToLive", table):
            ttl = self._client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName") == attribute:
            return
        with self._errors("UpdateTimeToLive", table):
            self._client.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )

    def _enable_pitr(self, table: str) -> None:
        def attempt() -> bool | None:
            with self._errors("UpdateContinuousBackups", table):
                try:
                    self._client.update_continuous_backups(
                        TableName=table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
                    )
                except ClientError as exc:
                    # AWS refuses for a while after a table is made: "backups are being enabled"
                    if error_code(exc) == "ContinuousBackupsUnavailableException":
                        return None
                    raise
            return True

        self._until(f"point-in-time recovery on {table}", attempt)

    def _describe(self, table: str) -> dict[str, Any] | None:
        with self._errors("DescribeTable", table):
            try:
                return dict(self._client.describe_table(TableName=table)["Table"])
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise

    # -- plumbing --------------------------------------------------------------------------

    def _until(self, what: str, check: Callable[[], T | None]) -> T:
        deadline = self._clock() + self.timeout_seconds
        while True:
            got = check()
            if got is not None:
                return got
            if self._clock() >= deadline:
                raise WaitTimeout(f"waited {self.timeout_seconds:g} s for {what}")
            self._sleep(self.poll_seconds)

    @contextlib.contextmanager
    def _errors(self, operation: str, table: str) -> Iterator[None]:
        """botocore's errors as this module's: transient, missing table, existing table,
        missing backup, deletion protection, anything else."""
        try:
            with transient_as(f"{operation} on {table}"):
                yield
        except ClientError as exc:
            code, message = error_code(exc), str(exc.response.get("Error", {}).get("Message", ""))
            if code in _MISSING_TABLE:
                raise TableNotFound(f"{operation}: no table {table}") from exc
            if code in _TABLE_EXISTS:
                raise TableExists(f"{operation}: {table} exists or is being created or deleted") from exc
            if code == "ResourceInUseException":
                raise BackupError(f"{operation}: {table} is busy (being created, updated or deleted)") from exc
            if code == "BackupNotFoundException":
                raise BackupNotFound(f"{operation} on {table}: the backup is gone") from exc
            if code == "ValidationException" and "protect" in message.lower():
                raise TableProtected(f"{operation}: deletion protection is on for {table}") from exc
            raise BackupError(f"{operation} on {table}: {message or code}") from exc


def _restored_from(described: Mapping[str, Any], backup_set: BackupSet, table: str) -> bool:
    backup = backup_set.backup_of(table)
    source = (described.get("RestoreSummary") or {}).get("SourceBackupArn")
    return backup is not None and source == backup.backup_arn


def _backup(table: str, details: Mapping[str, Any]) -> TableBackup:
    created = details.get("BackupCreationDateTime")
    return TableBackup(
        table=table,
        backup_arn=str(details["BackupArn"]),
        created_at=created.timestamp() if isinstance(created, datetime) else float(created or 0),
        size_bytes=int(details.get("BackupSizeBytes") or 0),
        status=str(details.get("BackupStatus", "")),
    )
