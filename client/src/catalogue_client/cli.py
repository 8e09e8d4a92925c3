"""``catalogue``: the catalogue from a terminal, through :class:`~catalogue_client.Catalogue`.

Where to and as whom: ``--url``/``CATALOGUE_URL``, ``--token``/``CATALOGUE_TOKEN`` or
``CATALOGUE_API_KEY``, else what ``catalogue login`` saved in the configuration file
(``CATALOGUE_CONFIG``, default ``~/.config/catalogue/config.json``, readable by you only).

Exit codes: 0 done; 1 the work failed (e.g. the archival); 2 bad usage; 3 not found;
4 not signed in or not allowed; 5 the catalogue is unavailable; 6 any other refusal.
``--json`` prints what the API answered, one JSON document per line, for scripts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import requests
import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Column, Table

from catalogue_client.auth import ApiKey, Auth, BearerToken
from catalogue_client.client import Catalogue
from catalogue_client.errors import CatalogueError, Forbidden, NotFound, Unauthorized, Unavailable, error_for
from catalogue_client.models import Archive, Kind
from catalogue_client.uploads import Progress as UploadProgress
from catalogue_client.uploads import UploadRefused

app = typer.Typer(
    help="Search, read, tag and archive datasets of a research-data catalogue.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)
EXIT_FAILED, EXIT_NOT_FOUND, EXIT_AUTH, EXIT_UNAVAILABLE, EXIT_REFUSED = 1, 3, 4, 5, 6
DEFAULT_URL = "http://127.0.0.1:8000"

Json = Annotated[bool, typer.Option("--json", help="Print the API's answer as JSON (one document per line).")]


def config_path() -> Path:
    return Path(os.environ.get("CATALOGUE_CONFIG") or Path.home() / ".config" / "catalogue" / "config.json")


def _saved() -> dict[str, Any]:
    path = config_path()
    try:
        value = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _save(values: dict[str, Any]) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a token: yours only
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(values, out, indent=1)
    return path


@app.callback()
def main_options(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="The catalogue's URL (env CATALOGUE_URL).")] = None,
    token: Annotated[
        str | None, typer.Option(help="An access token (env CATALOGUE_TOKEN; or CATALOGUE_API_KEY).")
    ] = None,
) -> None:
    """Where to and as whom, for the command that follows (kept in the command's context)."""
    saved = _saved()
    auth: Auth | None = None
    bearer = token or os.environ.get("CATALOGUE_TOKEN")
    key = os.environ.get("CATALOGUE_API_KEY")
    if bearer:
        auth = BearerToken(bearer)
    elif key:
        auth = ApiKey(key)
    elif saved.get("token"):
        auth = BearerToken(str(saved["token"]))
    elif saved.get("api_key"):
        auth = ApiKey(str(saved["api_key"]))
    ctx.obj = Catalogue(url or os.environ.get("CATALOGUE_URL") or saved.get("url") or DEFAULT_URL, auth)


def client(ctx: typer.Context) -> Catalogue:
    catalogue: Catalogue = ctx.obj
    return catalogue


def _emit(value: Any) -> None:
    sys.stdout.write(json.dumps(value, sort_keys=True) + "\n")


def fail(exc: CatalogueError) -> typer.Exit:
    errors.print(f"[red]{exc.status or ''} {exc.code}[/red]: {exc.message}", highlight=False)
    if isinstance(exc, NotFound):
        return typer.Exit(EXIT_NOT_FOUND)
    if isinstance(exc, Unauthorized | Forbidden):
        return typer.Exit(EXIT_AUTH)
    if isinstance(exc, Unavailable):
        return typer.Exit(EXIT_UNAVAILABLE)
    return typer.Exit(EXIT_REFUSED)


@app.command()
def login(
    ctx: typer.Context,
    username: Annotated[str, typer.Option(prompt=True, help="Your username.")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, help="Your password.")],
) -> None:
    """Sign in with a username and password (the catalogue's POST /token) and keep the token
    in the configuration file."""
    try:
        url = f"{client(ctx).base_url}token"
        r = requests.post(url, json={"username": username, "password": password}, timeout=30)
    except requests.RequestException as exc:
        raise fail(Unavailable(0, "Unreachable", str(exc))) from None
    body = r.json() if "json" in r.headers.get("Content-Type", "") else r.text
    if r.status_code != 200 or not isinstance(body, dict) or "token" not in body:
        raise fail(error_for(r.status_code, body))
    base = client(ctx).base_url.rstrip("/")
    path = _save({**_saved(), "url": base, "token": body["token"]})
    console.print(f"signed in to {base} as {username}; the token is kept in {path}")


@app.command()
def search(
    ctx: typer.Context,
    words: Annotated[str | None, typer.Argument(help="Words to look for (query-string syntax).")] = None,
    base_uri: Annotated[str | None, typer.Option(help="Only under this base URI.")] = None,
    creator: Annotated[str | None, typer.Option(help="Only of this creator.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Only with this tag (repeat for several).")] = None,
    project: Annotated[str | None, typer.Option(help="Only of this project.")] = None,
    kind: Annotated[
        list[Kind] | None,
        typer.Option("--type", help="Only of this type (repeat for any of several)."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    as_json: Json = False,
) -> None:
    """The datasets you may see that match."""
    found = []
    try:
        for dataset in client(ctx).search(
            words,
            base_uri=base_uri,
            creator=creator,
            tags=tuple(tag or ()),
            project=project,
            kinds=tuple(k.value for k in kind or ()),
            page_size=min(limit, 100),
        ):
            found.append(dataset)
            if len(found) >= limit:
                break
    except CatalogueError as exc:
        raise fail(exc) from None
    if as_json:
        for dataset in found:
            _emit(dataset.raw)
        return
    table = Table("name", "type", "base URI", "creator", "tags")
    table.columns.insert(0, Column("uuid", no_wrap=True, min_width=36))  # whole: to be copied
    for d in found:
        table.add_row(d.uuid, d.name, d.kind, d.base_uri, d.creator_username, ", ".join(d.tags))
    console.print(table)
    console.print(f"{len(found)} dataset{'s' if len(found) != 1 else ''}")


@app.command()
def show(ctx: typer.Context, uuid: str, as_json: Json = False) -> None:
    """A dataset's record: name, replicas, tags, annotations, version."""
    try:
        record = client(ctx).dataset(uuid)
    except CatalogueError as exc:
        raise fail(exc) from None
    if as_json:
        _emit(record.raw)
        return
    console.print(f"[bold]{record.name}[/bold]  {record.uuid}  (version {record.version})")
    for replica in record.raw.get("replicas", []):
        console.print(f"  replica: {replica.get('uri')}")
    console.print(f"  tags: {', '.join(record.tags) or '-'}")
    for key, value in sorted(record.annotations.items()):
        console.print(f"  {key}: {json.dumps(value)}")


@app.command()
def readme(ctx: typer.Context, uuid: str) -> None:
    """A dataset's README."""
    try:
        sys.stdout.write(client(ctx).readme(uuid))
    except CatalogueError as exc:
        raise fail(exc) from None


@app.command()
def manifest(ctx: typer.Context, uuid: str, as_json: Json = False) -> None:
    """A dataset's files."""
    try:
        value = client(ctx).manifest(uuid)
    except CatalogueError as exc:
        raise fail(exc) from None
    if as_json:
        _emit(value)
        return
    table = Table("path", "bytes", "hash")
    items = value.get("items", {})
    for item in sorted(items.values(), key=lambda i: str(i.get("relpath"))):
        table.add_row(str(item.get("relpath")), str(item.get("size_in_bytes")), str(item.get("hash")))
    console.print(table)


@app.command()
def register(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A registration (JSON).")],
) -> None:
    """Register a dataset's entry from a JSON file (uuid, base_uri, uri, name, readme, manifest, ...)."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        errors.print(f"{path}: not JSON ({exc})")
        raise typer.Exit(2) from None
    try:
        _emit(client(ctx).register(body))
    except CatalogueError as exc:
        raise fail(exc) from None


def _edit(ctx: typer.Context, uuid: str, change: Any) -> None:
    """Apply ``change(record) -> fields`` at the record's version; once more when it moved."""
    catalogue = client(ctx)
    try:
        for _ in range(3):
            record = catalogue.dataset(uuid)
            try:
                updated = catalogue.update(uuid, record.version, **change(record))
            except CatalogueError as exc:
                if exc.code == "VersionConflict":
                    continue
                raise
            console.print(f"{uuid}: version {updated.version}")
            return
    except CatalogueError as exc:
        raise fail(exc) from None
    errors.print(f"{uuid} keeps changing; try again")
    raise typer.Exit(EXIT_FAILED)


@app.command()
def tag(
    ctx: typer.Context,
    uuid: str,
    tags: Annotated[list[str], typer.Argument(help="Tags to add.")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove them instead.")] = False,
) -> None:
    """Add tags to a dataset (or remove them)."""

    def change(record: Any) -> dict[str, Any]:
        now = set(record.tags)
        return {"tags": sorted(now - set(tags) if remove else now | set(tags))}

    _edit(ctx, uuid, change)


@app.command()
def annotate(
    ctx: typer.Context, uuid: str, key: str, value: Annotated[str, typer.Argument(help="JSON, or plain text.")]
) -> None:
    """Set one annotation of a dataset (the value is read as JSON when it is JSON)."""
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    _edit(ctx, uuid, lambda record: {"annotations": {**record.annotations, key: parsed}})


@app.command()
def archive(
    ctx: typer.Context,
    uuid: str,
    wait: Annotated[bool, typer.Option(help="Follow each step until the archive is done.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to follow it.")] = 900.0,
    as_json: Json = False,
) -> None:
    """Archive a dataset (SIP → AIP in cold storage) and follow its steps: exit 0 once archived,
    1 when it failed."""
    catalogue = client(ctx)
    try:
        started = catalogue.archive(uuid)
        if not wait:
            if as_json:
                _emit(started.raw)
            else:
                console.print(f"archive {started.id}: {started.status}")
            return

        def show_steps(state_now: Archive) -> None:
            if as_json:
                _emit(state_now.raw)
                return
            steps = "  ".join(f"{s.name}:{s.status}" for s in state_now.steps)
            console.print(f"{state_now.status:<9} {steps}", highlight=False)

        final = catalogue.wait_for_archive(started.id, timeout=timeout, on_change=show_steps)
    except CatalogueError as exc:
        raise fail(exc) from None
    if final.status != "archived":
        raise typer.Exit(EXIT_FAILED)


@app.command()
def upload(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="The local folder to upload.")],
    base_uri: Annotated[str, typer.Option(help="The S3 base URI to upload to (register permission there).")],
    as_name: Annotated[
        str | None, typer.Option("--as", help="The folder's name under the base URI (default: its own name).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The dataset's name (default: the folder's).")] = None,
    description: Annotated[str | None, typer.Option(help="The dataset's description.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeat for several).")] = None,
    wait: Annotated[bool, typer.Option(help="Wait until the catalogue has registered the dataset.")] = True,
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for it.")] = 120.0,
    as_json: Json = False,
) -> None:
    """Upload a folder straight to S3 (its files, then its dataset.json) and wait until it is a
    dataset; prints its uuid (--json: its record). Exit 1 when it is not registered in time or
    its sidecar was refused."""
    catalogue = client(ctx)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    try:
        # on stderr: stdout is the uuid (or the record) only, for scripts
        with Progress(*columns, console=errors, transient=True) as bar:
            task = bar.add_task("files 0/?", total=None)

            def show(state: UploadProgress) -> None:
                description = f"files {state.files_done}/{state.files_total}"
                bar.update(task, completed=state.bytes_done, total=state.bytes_total, description=description)

            uuid = catalogue.upload_folder(
                folder, base_uri, as_name, name=name, description=description, tags=tuple(tag or ()), progress=show
            )
        errors.print(f"uploaded {folder} to {base_uri}: dataset {uuid}", highlight=False)
        if not wait:
            _print_uuid(uuid, {"uuid": uuid} if as_json else None)
            return
        with errors.status("indexing"):
            record = catalogue.wait_for_dataset(uuid, timeout=timeout)
    except UploadRefused as exc:
        errors.print(f"[red]cannot upload[/red]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    except CatalogueError as exc:
        raise fail(exc) from None
    if record is None:
        errors.print(f"{uuid} is not registered after {timeout:g} s; see later: catalogue show {uuid}")
        raise typer.Exit(EXIT_FAILED)
    status = record.raw.get("status", "registered")
    if status != "registered":  # the sidecar was refused (shown to registrars only)
        reasons = "; ".join(str(r) for r in record.raw.get("status_reasons", []))
        errors.print(f"[red]{uuid} {status}[/red]: {reasons}", highlight=False)
        raise typer.Exit(EXIT_FAILED)
    _print_uuid(uuid, record.raw if as_json else None)


def _print_uuid(uuid: str, document: dict[str, Any] | None) -> None:
    """The uuid alone on stdout, or ``document`` as JSON (``--json``)."""
    if document is not None:
        _emit(document)
    else:
        console.print(uuid, highlight=False, soft_wrap=True)


def main() -> None:
    app()
