"""``catalogue-admin``: operator commands (reindex, drift, backup and restore, users, base URIs, archives,
local tokens).

The commands act directly on the catalogue's tables and index, as an operator, through
the same service functions as the API; changes are audited as ``cli:<name>``, the name given
with ``--as`` or ``CATALOGUE_OPERATOR``. Settings come from the environment, or from the
running local stack's ``.local-stack/state.json``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from chalicelib import jobs
from chalicelib.catalogue.validation import UserFields, parse_base_uri, parse_username
from chalicelib.composition import Root, install, root
from chalicelib.config import ConfigError, Settings
from chalicelib.domain import OPERATOR_PREFIX, User
from chalicelib.errors import ArchiveExists, CatalogueError

STATE_FILE = Path(".local-stack") / "state.json"

app = typer.Typer(help="Operate the research-data catalogue.", no_args_is_help=True, add_completion=False)
users_app = typer.Typer(help="Catalogue users and their permissions.", no_args_is_help=True)
base_uris_app = typer.Typer(help="Base URIs datasets may be registered under.", no_args_is_help=True)
dlq_app = typer.Typer(help="The ingest dead-letter queue: uploads that could not be registered.", no_args_is_help=True)
app.add_typer(users_app, name="user")
app.add_typer(base_uris_app, name="base-uri")
app.add_typer(dlq_app, name="dlq")
xfel_app = typer.Typer(help="Facility records (European XFEL's myMdC API).", no_args_is_help=True)
app.add_typer(xfel_app, name="xfel")
console = Console()

StateFile = Annotated[Path, typer.Option("--state", help="State file of a running local stack.")]


def _load_env(state_file: Path) -> dict[str, str]:
    env = dict(os.environ)
    if "CATALOGUE_OPENSEARCH_URL" not in env and state_file.exists():
        env.update(json.loads(state_file.read_text()).get("env", {}))
    return env


def _setup(state_file: Path) -> dict[str, str]:
    env = _load_env(state_file)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ACCOUNT_ID_ENDPOINT_MODE"):
        if key in env:
            os.environ[key] = env[key]
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        console.print(f"[red]configuration:[/red] {escape(str(exc))}")
        raise typer.Exit(code=2) from exc
    install(Root(settings))
    return env


@app.callback()
def _options(
    ctx: typer.Context,
    operator: Annotated[
        str | None,
        typer.Option(
            "--as",
            envvar="CATALOGUE_OPERATOR",
            help="Who you are: changes are audited as cli:NAME (required by commands that act as an admin).",
        ),
    ] = None,
) -> None:
    ctx.obj = operator


def _operator(ctx: typer.Context) -> User:
    """The operator named by ``--as`` / ``CATALOGUE_OPERATOR``, as an admin ``cli:<name>``: the
    audit log must say who acted, so the name is never guessed (e.g. from ``$USER``)."""
    name = ctx.find_root().obj
    if not name:
        raise typer.BadParameter(
            "name yourself with --as NAME (before the command) or CATALOGUE_OPERATOR=NAME: "
            "the audit log records cli:NAME",
            param_hint="--as",
        )
    try:
        return User(username=f"{OPERATOR_PREFIX}{parse_username(name, '--as')}", is_admin=True)
    except CatalogueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as") from exc


def _fail(exc: CatalogueError) -> typer.Exit:
    console.print(f"[red]{exc.code}:[/red] {exc}")
    return typer.Exit(code=1)


@app.command()
def reindex(state_file: StateFile = STATE_FILE) -> None:
    """Rebuild the search index and the summary's counters from DynamoDB (the truth), each into
    a new generation, then switch to it.

    What is served stays as it is until the new one is complete; datasets that cannot
    be indexed are listed (exit 1) and the rest are served. A counters rebuild that stopped
    half-way is taken over.
    """
    from chalicelib.catalogue.index_maintenance import reindex as run_reindex
    from chalicelib.catalogue.summary_store import rebuild_counts

    _setup(state_file)
    with Progress(
        TextColumn("reindexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("reindex", total=None)
        report = run_reindex(root().repo, root().search, progress=lambda n: progress.advance(task, n))
    console.print(f"indexed {report.written} datasets ({report.caught_up} written again after the switch)")
    counted = rebuild_counts(root().repo.iter_datasets, root().summary_counts, takeover=True)
    console.print(f"summary counters: {counted.entries} entries counted into generation {counted.generation}")
    for entry, version, reason in report.failed:
        console.print(f"[red]not indexed[/red] {escape(entry)} v{version}: {escape(reason)}")
    if report.failed:
        raise typer.Exit(code=1)


@app.command()
def drift(state_file: StateFile = STATE_FILE) -> None:
    """List dataset entries whose index document is missing, stale or orphaned, and summary
    counters that disagree with the datasets table; exit 1 if any."""
    from chalicelib.catalogue.index_maintenance import drift as run_drift
    from chalicelib.catalogue.summary_store import counts_drift

    _setup(state_file)
    counts = counts_drift(root().repo.iter_datasets(), root().summary_counts.store)
    for where, counter, want, have in counts.differences:
        console.print(f"summary counter {escape(where)} {escape(counter)}: {have}, the datasets table says {want}")
    report = run_drift(root().repo, root().search)
    entry = Column("entry (uuid@base URI)", no_wrap=True, min_width=36)
    table = Table(entry, "problem", "db version", "index version", "why")
    for u in report.missing:
        table.add_row(u, "missing", "", "", escape(report.reasons.get(u, "")))
    for u, have, indexed in report.stale:
        table.add_row(u, "stale", str(have), str(indexed), escape(report.reasons.get(u, "")))
    for u in report.orphaned:
        table.add_row(u, "orphaned", "", "", "")
    if report.clean and counts.clean:
        console.print(f"no drift ({report.checked} datasets checked)")
        return
    if not counts.clean:
        console.print(f"{len(counts.differences)} summary counters differ: run `catalogue-admin reindex`")
    if report.missing or report.stale or report.orphaned:
        console.print(table)
    console.print(f"{len(report.missing)} missing, {len(report.stale)} stale, {len(report.orphaned)} orphaned")
    if report.mapping_outdated:
        console.print("the served index was made by an older mapping: run `catalogue-admin reindex`")
    raise typer.Exit(code=1)


@users_app.command("add")
def user_add(
    ctx: typer.Context,
    username: str,
    admin: Annotated[bool, typer.Option("--admin", help="Make the user an admin.")] = False,
    display_name: str = "",
    email: str = "",
    orcid: str = "",
    state_file: StateFile = STATE_FILE,
) -> None:
    """Add a user."""
    _setup(state_file)
    try:
        fields = UserFields(is_admin=admin, display_name=display_name, email=email, orcid=orcid)
        user = root().access.add_user(_operator(ctx), parse_username(username), fields)
    except CatalogueError as exc:
        raise _fail(exc) from exc
    console.print_json(data=user)


@users_app.command("list")
def user_list(ctx: typer.Context, state_file: StateFile = STATE_FILE) -> None:
    """List users with their permissions."""
    _setup(state_file)
    table = Table("username", "admin", "search", "register")
    for u in root().access.list_users(_operator(ctx)):
        table.add_row(
            u["username"],
            "yes" if u["is_admin"] else "",
            "\n".join(u["search_permissions_on_base_uris"]),
            "\n".join(u["register_permissions_on_base_uris"]),
        )
    console.print(table)


@users_app.command("grant")
def user_grant(
    ctx: typer.Context,
    username: str,
    base_uri: str,
    search: Annotated[bool, typer.Option("--search", help="Grant (or revoke) search.")] = False,
    register: Annotated[bool, typer.Option("--register", help="Grant (or revoke) register.")] = False,
    revoke: Annotated[bool, typer.Option("--revoke", help="Revoke instead of grant.")] = False,
    state_file: StateFile = STATE_FILE,
) -> None:
    """Grant (or with --revoke, remove) search and/or register permission on a base URI."""
    if not (search or register):
        console.print("[red]say --search and/or --register[/red]")
        raise typer.Exit(code=2)
    _setup(state_file)
    service = root().access
    operator = _operator(ctx)
    try:
        name, uri = parse_username(username), parse_base_uri(base_uri)
        info: dict[str, Any] = service.get_base_uri(operator, uri)
        searchers = set(info["users_with_search_permissions"])
        registrars = set(info["users_with_register_permissions"])
        for wanted, group in ((search, searchers), (register, registrars)):
            if wanted:
                if revoke:
                    group.discard(name)
                else:
                    group.add(name)
        result = service.set_permissions(operator, uri, frozenset(searchers), frozenset(registrars))
    except CatalogueError as exc:
        raise _fail(exc) from exc
    console.print_json(data=result)


@base_uris_app.command("add")
def base_uri_add(ctx: typer.Context, base_uri: str, description: str = "", state_file: StateFile = STATE_FILE) -> None:
    """Register a base URI (e.g. s3://bucket or s3://bucket/prefix)."""
    _setup(state_file)
    try:
        result = root().access.add_base_uri(_operator(ctx), parse_base_uri(base_uri), description)
    except CatalogueError as exc:
        raise _fail(exc) from exc
    console.print_json(data=result)


@base_uris_app.command("list")
def base_uri_list(ctx: typer.Context, state_file: StateFile = STATE_FILE) -> None:
    """List base URIs with who may search and register there."""
    _setup(state_file)
    table = Table("base URI", "search", "register", "description")
    for b in root().access.list_base_uris(_operator(ctx)):
        table.add_row(
            b["base_uri"],
            "\n".join(b["users_with_search_permissions"]),
            "\n".join(b["users_with_register_permissions"]),
            b["description"],
        )
    console.print(table)


@app.command("index")
def index_command(
    location: Annotated[str, typer.Argument(help="s3://bucket or s3://bucket/prefix")],
    concurrency: int = 8,
    state_file: StateFile = STATE_FILE,
) -> None:
    """Register every dataset already stored under an S3 location (dtool, bags, sidecar folders)."""
    from chalicelib.ingest.ingestion import index_prefix

    _setup(state_file)
    if not location.startswith("s3://"):
        console.print("[red]give an s3://bucket[/prefix] location[/red]")
        raise typer.Exit(code=2)
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    ingest = root().ingest
    started = time.monotonic()
    with Progress(
        TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("index", total=None)
        report = index_prefix(
            ingest,
            ingest.store,
            bucket,
            prefix,
            concurrency=concurrency,
            progress=lambda _: progress.advance(task),
        )
    elapsed = time.monotonic() - started
    done = sum(report.outcomes.values())
    console.print(", ".join(f"{n} {status}" for status, n in sorted(report.outcomes.items())) or "nothing found")
    console.print(f"{done} datasets in {elapsed:.1f} s ({done / elapsed if elapsed else 0:.0f}/s)")
    for problem in report.problems:
        console.print(f"[yellow]{problem.status}[/yellow] {problem.uri}: {problem.reason}")


@app.command()
def reconcile(state_file: StateFile = STATE_FILE) -> None:
    """Compare every S3 base URI with the catalogue: register what events missed, report what is gone."""
    _setup(state_file)
    report = jobs.run_reconcile(root())
    for findings in report["base_uris"]:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(findings["outcomes"].items())) or "nothing found"
        console.print(f"{findings['base_uri']}: {counts}; {findings['checked_replicas']} replicas checked")
        for missing in findings["missing_replicas"]:
            console.print(f"  [yellow]gone[/yellow] {missing['uri']} ({missing['uuid']})")
        for problem in findings["problems"]:
            console.print(f"  [yellow]{problem['status']}[/yellow] {problem['uri']}: {problem['reason']}")


@dlq_app.command("list")
def dlq_list(limit: int = 100, state_file: StateFile = STATE_FILE) -> None:
    """Show the messages that failed maxReceiveCount times, with the objects they name."""
    from chalicelib.ingest.dlq import list_dead_letters

    _setup(state_file)
    letters = list_dead_letters(root().ingest_dead_letters, limit)
    table = Table("message", "receives", "objects")
    for letter in letters:
        table.add_row(letter.message_id, str(letter.receive_count), "\n".join(letter.keys) or letter.body[:80])
    console.print(table)
    console.print(f"{len(letters)} dead letters")


@dlq_app.command("redrive")
def dlq_redrive(state_file: StateFile = STATE_FILE) -> None:
    """Send every dead letter back to the ingest queue for another try."""
    from chalicelib.ingest.dlq import redrive

    _setup(state_file)
    moved = redrive(root().ingest_dead_letters, root().ingest_queue)
    console.print(f"moved {moved} messages back to the ingest queue")


POLL_SECONDS = 0.5
_STEP_COLOURS = {"succeeded": "green", "failed": "red", "running": "yellow"}


@app.command("archive")
def archive_command(
    ctx: typer.Context,
    uuid: str,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the steps until the archive ends.")] = True,
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to follow it at most.")] = 300.0,
    state_file: StateFile = STATE_FILE,
) -> None:
    """Archive the current content of a registered dataset; exit 1 if it fails, 2 on timeout."""
    _setup(state_file)
    archives, operator = root().archives, _operator(ctx)
    try:
        archive_id = str(archives.request(operator, uuid)["id"])
        console.print(f"requested archive {archive_id}")
    except ArchiveExists as exc:
        archive_id = exc.archive_id
        console.print(f"this content is archived already (or being archived): {archive_id}", soft_wrap=True)
    except CatalogueError as exc:
        raise _fail(exc) from exc
    if wait:
        raise typer.Exit(code=_follow_archive(lambda: archives.get(operator, archive_id), timeout))


def _follow_archive(get: Callable[[], Mapping[str, Any]], timeout: float) -> int:
    """Print each step as its state changes until the archive ends: 0 archived, 1 ended
    otherwise, 2 still going after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    shown: dict[str, tuple[str, int]] = {}
    while True:
        archive = get()
        for step in archive["steps"]:
            seen = (step["status"], step["attempts"])
            if step["status"] == "pending" or shown.get(step["name"]) == seen:
                continue
            shown[step["name"]] = seen
            took = f"{step['ended_at'] - step['started_at']:.1f} s" if step["ended_at"] and step["started_at"] else ""
            colour = _STEP_COLOURS.get(step["status"], "white")
            console.print(
                f"{step['name']:<9} [{colour}]{step['status']:<10}[/{colour}] attempts {step['attempts']}  {took}"
            )
        status = archive["status"]
        if status == "archived":
            found = archive["aip"]
            console.print(
                f"[green]archived[/green] {escape(found['uri'])}  {decimal(found['size_in_bytes'])}", soft_wrap=True
            )
            return 0
        if status in ("failed", "rejected", "fixity_failed"):
            console.print(
                f"[red]{status}[/red] at step {archive['failed_step'] or '-'}: {escape(archive['error'] or '')}",
                soft_wrap=True,
            )
            return 1
        if time.monotonic() >= deadline:
            console.print(f"[yellow]still {status} after {timeout:g} s[/yellow]: {archive['id']}")
            return 2
        time.sleep(POLL_SECONDS)


@app.command()
def fixity(
    fraction: Annotated[
        float | None, typer.Option(min=0, max=1, help="Share of each AIP's payload files to re-hash.")
    ] = None,
    period_days: Annotated[int, typer.Option(min=1, help="Audit every AIP once in this many runs.")] = 30,
    state_file: StateFile = STATE_FILE,
) -> None:
    """Run the fixity audit once (the AIPs checked longest ago first); exit 1 if one is damaged."""
    _setup(state_file)
    report = jobs.run_fixity_audit(root(), fraction, period_days, metrics=lambda _: None)
    for failed in report["failed"]:
        console.print(f"[red]damaged[/red] {failed['id']} (dataset {failed['dataset']})")
        for mismatch in failed["mismatches"]:
            console.print(f"  {escape(mismatch)}", soft_wrap=True)  # bag paths may hold [markup]
    for skipped in report["skipped"]:
        console.print(f"[yellow]skipped[/yellow] {skipped['id']}: {escape(skipped['reason'])}", soft_wrap=True)
    console.print(
        f"{report['checked']} AIPs audited ({report['files_checked']} files re-hashed), "
        f"{len(report['failed'])} damaged, {len(report['skipped'])} skipped, {report['not_due']} not due"
    )
    if report["failed"]:
        raise typer.Exit(code=1)


@xfel_app.command("load")
def xfel_load(
    ctx: typer.Context,
    fixtures: Annotated[
        str, typer.Option("--set", help="tests: what metadata_client's own tests expect; demo: those and a proposal.")
    ] = "tests",
    daq: Annotated[str, typer.Option("--daq", help="The DAQ principal granted register on the repositories.")] = (
        "xfel-daq"
    ),
    state_file: StateFile = STATE_FILE,
) -> None:
    """Load facility records (idempotent: records whose ids exist are kept)."""
    from infra.local import xfel

    if fixtures not in ("tests", "demo"):
        raise typer.BadParameter("tests or demo", param_hint="--set")
    _setup(state_file)
    try:
        records = xfel.test_fixtures() if fixtures == "tests" else xfel.demo_fixtures()
        created = xfel.load(root(), _operator(ctx), records, parse_username(daq, "--daq"))
    except CatalogueError as exc:
        raise _fail(exc) from exc
    console.print_json(data={"created": created})


@app.command("dois-reconcile")
def dois_reconcile(state_file: StateFile = STATE_FILE) -> None:
    """Send every DOI whose DataCite state or metadata lags its dataset (what runs hourly in
    AWS, after DataCite could not be reached); exit 1 if DataCite still refused or failed some."""
    from chalicelib.jobs import run_doi_reconcile

    _setup(state_file)
    counts = run_doi_reconcile(root())
    console.print(f"checked {counts['checked']} DOIs: sent {counts['sent']}, failed {counts['failed']}")
    if counts["failed"]:
        raise typer.Exit(code=1)


@app.command()
def token(username: str, state_file: StateFile = STATE_FILE) -> None:
    """Print an access token for a user of the running local stack (local stage only)."""
    from infra.local.launcher import print_token

    raise typer.Exit(code=print_token(state_file.parent, username))


def main() -> None:
    app()


# the backup, backups and restore commands register themselves on ``app``
from infra.local import cli_backups  # noqa: E402,F401
