"""``catalogue-admin archive`` and ``catalogue-admin fixity`` over the in-memory rig (no AWS): the fake
workflow runs the five steps as soon as an execution starts."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chalicelib.archive.steps import aip_prefix
from chalicelib.composition import Root
from chalicelib.config import Settings
from infra.local import cli
from tests.fakes.workflow import InMemoryWorkflow
from tests.unit.test_archive_steps import ARCHIVE_BUCKET, BUCKET, Rig
from tests.unit.test_ingest import DtoolDataset

runner = CliRunner()


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Rig:
    rig = Rig()

    def start(name: str, payload: dict[str, Any]) -> bool:
        started = InMemoryWorkflow.start(rig.workflow, name, payload)
        if started:
            rig.run(payload["archive_id"])
        return started

    monkeypatch.setattr(rig.workflow, "start", start)

    def rig_root(settings: Settings) -> Root:
        """What the CLI installs: the rig's services instead of AWS ones."""
        return Root(
            replace(settings, archive_bucket=ARCHIVE_BUCKET),
            archives=rig.service,
            archive_records=rig.archives,
            repo=rig.world.repo,
            objects=rig.world.store,
        )

    monkeypatch.setattr(cli, "Root", rig_root)
    monkeypatch.setattr(cli, "STATE_FILE", tmp_path / "absent.json")
    return rig


def _invoke(tmp_path: Path, *args: str) -> Any:
    # no state file: _setup never reads a running stack's settings
    return runner.invoke(
        cli.app, ["--as", "alice", *args, "--state", str(tmp_path / "absent.json")], env={"CATALOGUE_STAGE": "test"}
    )


def _registered(rig: Rig) -> DtoolDataset:
    ds = DtoolDataset()
    ds.put(rig.world.store)
    assert rig.world.created(ds.key("dtool")).status == "created"
    return ds


def test_archive_follows_the_steps_to_the_aip(rig: Rig, tmp_path: Path) -> None:
    ds = _registered(rig)
    result = _invoke(tmp_path, "archive", ds.uuid)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("requested archive ar-")
    assert [line.split()[:2] for line in lines[1:6]] == [
        [step, "succeeded"] for step in ("validate", "build", "store", "verify", "register")
    ]
    assert "attempts 1" in lines[1]
    [archive] = rig.archives.for_dataset(ds.uuid)
    assert archive.requested_by == "cli:alice"
    assert lines[6].startswith(f"archived s3://{ARCHIVE_BUCKET}/{aip_prefix(archive)}")

    again = _invoke(tmp_path, "archive", ds.uuid, "--no-wait")
    assert again.exit_code == 0 and f"archived already (or being archived): {archive.archive_id}" in again.output


def test_archive_of_damaged_source_exits_1_naming_the_step(rig: Rig, tmp_path: Path) -> None:
    ds = _registered(rig)
    rig.world.store.put(BUCKET, ds.key(f"data/{hashlib.sha1(b'notes.txt').hexdigest()}"), b"KO")
    result = _invoke(tmp_path, "archive", ds.uuid)
    assert result.exit_code == 1, result.output
    assert "rejected at step build" in result.output and "notes.txt" in result.output


def test_archive_times_out_with_exit_2(rig: Rig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rig.workflow, "start", partial(InMemoryWorkflow.start, rig.workflow))  # never runs
    ds = _registered(rig)
    result = _invoke(tmp_path, "archive", ds.uuid, "--timeout", "0")
    assert result.exit_code == 2 and "still requested after 0 s" in result.output


def test_archive_of_an_unknown_dataset_fails(rig: Rig, tmp_path: Path) -> None:
    result = _invoke(tmp_path, "archive", "0f0e5a43-2d5b-4c1e-9a57-1b6ee5c54a66")
    assert result.exit_code == 1 and "NotFound" in result.output


def test_fixity_reports_a_damaged_aip_with_exit_1(rig: Rig, tmp_path: Path) -> None:
    ds = _registered(rig)
    assert _invoke(tmp_path, "archive", ds.uuid).exit_code == 0
    clean = _invoke(tmp_path, "fixity", "--fraction", "1")
    assert clean.exit_code == 0, clean.output
    assert "1 AIPs audited (8 files re-hashed), 0 damaged, 0 skipped, 0 not due" in clean.output
    [archive] = rig.archives.for_dataset(ds.uuid)
    rig.world.store.put(ARCHIVE_BUCKET, aip_prefix(archive) + "data/[x].txt", b"smuggled")
    damaged = _invoke(tmp_path, "fixity", "--fraction", "0")
    assert damaged.exit_code == 1
    assert f"damaged {archive.archive_id}" in damaged.output and "'data/[x].txt': unexpected object" in damaged.output
    assert rig.archives.for_dataset(ds.uuid)[0].status == "fixity_failed"


def test_commands_that_act_as_an_admin_need_the_operator_named(rig: Rig, tmp_path: Path) -> None:
    ds = _registered(rig)
    unnamed = runner.invoke(
        cli.app, ["archive", ds.uuid, "--state", str(tmp_path / "absent.json")], env={"CATALOGUE_STAGE": "test"}
    )
    assert unnamed.exit_code == 2 and "--as" in unnamed.output
    reserved = _invoke_as(tmp_path, "system", "archive", ds.uuid)
    assert reserved.exit_code == 2 and "reserved" in reserved.output
    assert rig.archives.for_dataset(ds.uuid) == []


def test_a_missing_stage_is_a_clear_error(rig: Rig, tmp_path: Path) -> None:
    result = runner.invoke(
        cli.app, ["--as", "alice", "drift", "--state", str(tmp_path / "absent.json")], env={"CATALOGUE_STAGE": ""}
    )
    assert result.exit_code == 2 and "CATALOGUE_STAGE" in result.output


def _invoke_as(tmp_path: Path, operator: str, *args: str) -> Any:
    return runner.invoke(
        cli.app, ["--as", operator, *args, "--state", str(tmp_path / "absent.json")], env={"CATALOGUE_STAGE": "test"}
    )
