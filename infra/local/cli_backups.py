"""``catalogue-admin backup``, ``backups`` and ``restore``: backup sets of the durable tables and
the restore runbook's first step (README "Restoring from a backup"). Registered on
:data:`infra.local.cli.app` when that module is imported."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.filesize import decimal
from rich.markup import escape
from rich.table import Column, Table

from chalicelib.composition import root
from infra.local.cli import STATE_FILE, StateFile, _setup, app, console

if TYPE_CHECKING:
    from chalicelib.adapters.dynamodb.backups import TableBackups, TableSpec

BACKUP_TIMEOUT = 3600.0
Timeout = Annotated[float, typer.Option(min=0, help="Seconds to wait for each backup, deletion or restore at most.")]


def _table_backups(timeout: float) -> tuple[TableBackups, tuple[TableSpec, ...]]:
    """The backup adapter over the configured DynamoDB and the tables a backup set holds."""
    from chalicelib.adapters.dynamodb.backups import TableBackups, catalogue_tables

    return TableBackups(root().aws_client("dynamodb"), timeout_seconds=timeout), catalogue_tables(root().settings)


@app.command()
def backup(
    name: Annotated[
        str | None, typer.Option("--name", help="The backup set's name (default: the time now, e.g. 20261207T054221Z).")
    ] = None,
    timeout: Timeout = BACKUP_TIMEOUT,
    state_file: StateFile = STATE_FILE,
) -> None:
    """Take an on-demand backup of every durable table (one backup set); print the set's name.

    The sign-in attempts table is not backed up (ephemeral counters); the search index is
    never backed up (it is rebuilt from the datasets table: reindex).
    """
    from chalicelib.adapters.dynamodb.backups import BackupError
    from chalicelib.adapters.errors import TransientError

    _setup(state_file)
    backups, specs = _table_backups(timeout)
    try:
        made = backups.back_up([s.name for s in specs], name)
    except (BackupError, TransientError, ValueError) as exc:
        console.print(f"[red]not backed up:[/red] {escape(str(exc))}")
        raise typer.Exit(code=1) from exc
    table = Table("table", "size", Column("backup ARN", overflow="fold"))
    for b in made.backups:
        table.add_row(b.table, decimal(b.size_bytes), b.backup_arn)
    console.print(table)
    console.print(f"backup set [bold]{made.name}[/bold]: restore it with catalogue-admin restore {made.name}")


@app.command("backups")
def backups_list(state_file: StateFile = STATE_FILE) -> None:
    """List the backup sets, newest first (a set lacking a table cannot be restored)."""
    from chalicelib.adapters.dynamodb.backups import BackupError
    from chalicelib.adapters.errors import TransientError

    _setup(state_file)
    backups, specs = _table_backups(BACKUP_TIMEOUT)
    names = [s.name for s in specs]
    try:
        sets = backups.sets(names)
    except (BackupError, TransientError) as exc:
        console.print(f"[red]not listed:[/red] {escape(str(exc))}")
        raise typer.Exit(code=1) from exc
    table = Table("backup set", "taken (UTC)", "size", "tables")
    for found in sets:
        missing = [n for n in names if n not in found.tables]
        taken = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(found.created_at))
        status = f"[yellow]lacks {', '.join(missing)}[/yellow]" if missing else f"all {len(names)}"
        table.add_row(found.name, taken, decimal(found.size_bytes), status)
    console.print(table)


@app.command()
def restore(
    backup_set: Annotated[str, typer.Argument(metavar="BACKUP-SET", help="A set made by catalogue-admin backup.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Delete the tables that exist first (they are replaced by the backup).")
    ] = False,
    timeout: Timeout = BACKUP_TIMEOUT,
    state_file: StateFile = STATE_FILE,
) -> None:
    """Restore every durable table from a backup set, each under its own name, with its stream,
    TTL and point-in-time recovery set again; exit 1 if it cannot, 2 if a wait runs out.

    Refuses while the tables exist, unless --replace (which deletes them first: the set is
    checked to be complete before anything is deleted). Tables restored from this set already
    are finished, not restored again: after a timeout, run the same command again. Afterwards:
    point the stream consumers at the new streams, reindex, check drift (printed at the end).
    """
    from chalicelib.adapters.dynamodb.backups import BackupError, WaitTimeout
    from chalicelib.adapters.errors import TransientError

    _setup(state_file)
    backups, specs = _table_backups(timeout)
    names = [s.name for s in specs]
    started = time.monotonic()
    try:
        found = backups.find(backup_set, names)
        if replace:
            present = backups.existing(names)
            if present:
                console.print(f"deleting {', '.join(present)}", soft_wrap=True)
                backups.delete_tables(present)
        elif blocking := backups.in_the_way(found, names):
            console.print(
                f"[red]these tables exist:[/red] {', '.join(blocking)}; a restore puts tables back under their "
                "own names: give --replace to delete them first",
                soft_wrap=True,
            )
            raise typer.Exit(code=1)
        console.print(
            f"restoring {len(specs)} tables from backup set {found.name} (in AWS a restore takes minutes to hours; "
            f"waiting up to {timeout:g} s for each step)",
            soft_wrap=True,
        )
        restored = backups.restore(found, specs)
    except WaitTimeout as exc:
        console.print(
            f"[yellow]still going:[/yellow] {escape(str(exc))}; run catalogue-admin restore {backup_set} again "
            "(without --replace) to see it through",
            soft_wrap=True,
        )
        raise typer.Exit(code=2) from exc
    except (BackupError, TransientError, ValueError) as exc:
        console.print(f"[red]not restored:[/red] {escape(str(exc))}")
        raise typer.Exit(code=1) from exc
    table = Table("table", "items (approx.)", "seconds", Column("new stream ARN", overflow="fold"))
    for r in restored:
        table.add_row(r.name, str(r.item_count), f"{r.seconds:.1f}", r.stream_arn or "(no stream)")
    console.print(table)
    console.print(f"restored backup set {found.name} in {time.monotonic() - started:.1f} s. Next:")
    for step in (
        "point every stream consumer at its table's new stream ARN above: in AWS, a new Lambda event source "
        "mapping per stream (starting position TRIM_HORIZON), the functions' role allowed to read it, the old "
        "mapping deleted (see the README's runbook); locally, restart the event runner (python -m "
        "infra.local.runner) with these ARNs in its environment (make run would start moto empty)",
        "catalogue-admin reindex (the search index and the summary counters are rebuilt from the restored "
        "datasets table, never restored)",
        "catalogue-admin drift (expect no drift)",
        "in AWS: deletion protection, tags and alarms on the restored tables, as the stack sets them",
    ):
        console.print(f"  - {step}", soft_wrap=True)
