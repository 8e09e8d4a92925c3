"""Synthesize the CDK app once per stage per test session, offline, and share the result.

Synthesis packages the Chalice app (10-20 s each), so it runs once per stage and the cloud
assembly is kept in a directory every pytest-xdist worker of the session shares (a file lock
makes the second worker wait for the first and reuse its output).

Before synthesis, ``app`` and ``chalicelib*`` leave ``sys.modules`` and every ``CATALOGUE_*``
variable leaves the environment, so the test suite's values (fake stream ARNs, ``local``)
cannot reach the template; the modules, environment, ``sys.path`` and working directory are
restored afterwards, so the tests that run next in the same worker see what they saw before.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.stacks.accepted import render as render_intrinsic

REGION = "eu-west-1"  # a dummy region: packaging needs one, nothing is called
# prod is synthesized with the optional features switched on by context (as `-c` would)
STAGE_CONTEXT: dict[str, dict[str, Any]] = {
    "dev": {},
    "prod": {
        "data_buckets": '["lab-instrument-data"]',
        "object_lock": "true",
        "object_lock_retention_days": "3650",
        "alarm_email": "ops@example.org",
        "sign_in_callback_url": "https://api.example.org/api/v1/login/oidc/cognito/authorize",
    },
}


@dataclass(frozen=True)
class Synth:
    stage: str
    outdir: Path

    @property
    def template(self) -> dict[str, Any]:
        return dict(json.loads((self.outdir / f"{self.stage}.template.json").read_text()))

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}

    def logical_id(self, type_: str, prefix: str) -> str:
        [found] = [k for k in self.resources(type_) if k.startswith(prefix)]
        return found

    def function_zip(self) -> Path:
        """The Lambda deployment package (the asset chalice.cdk built), as staged in cdk.out."""
        manifest = json.loads((self.outdir / f"{self.stage}.assets.json").read_text())
        zips = [a["source"]["path"] for a in manifest["files"].values() if a["source"]["path"].endswith(".zip")]
        # the web page's BucketDeployment brings its own (the AWS CLI layer): ours holds app.py
        [path] = [p for p in zips if "app.py" in zipfile.ZipFile(self.outdir / p).namelist()]
        return self.outdir / path


def _is_app_module(name: str) -> bool:
    return name in {"app", "chalicelib"} or name.startswith("chalicelib.")


@contextmanager
def isolated_process_state(workdir: Path) -> Iterator[None]:
    saved_modules = {k: sys.modules.pop(k) for k in list(sys.modules) if _is_app_module(k)}
    saved_env, saved_path, saved_cwd = dict(os.environ), list(sys.path), os.getcwd()
    try:
        for key in list(os.environ):
            if key.startswith(("CATALOGUE_", "AWS_", "CDK_")):
                del os.environ[key]  # no credentials, no profile, no test values
        os.environ["AWS_DEFAULT_REGION"] = REGION
        os.chdir(workdir)  # chalice.cdk writes ./chalice.out
        yield
    finally:
        for key in [k for k in sys.modules if _is_app_module(k)]:
            del sys.modules[key]
        sys.modules.update(saved_modules)
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_path
        os.chdir(saved_cwd)


def synthesize(stage: str, workdir: Path) -> Path:
    """Synthesize ``stage`` into ``workdir/cdk.out`` the way ``make synth`` does; return the outdir."""
    outdir = workdir / "cdk.out"
    with isolated_process_state(workdir):
        import aws_cdk as cdk

        from infra import cdk_app

        context = {**cdk_app.file_context(), "stage": stage, **STAGE_CONTEXT[stage]}
        app = cdk.App(context=context, outdir=str(outdir))
        cdk_app.build(app)
        app.synth()
    return outdir


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "cdk-synth"
    root.mkdir(exist_ok=True)
    return root


def _synth_once(root: Path, stage: str) -> Synth:
    workdir = root / stage
    with (root / f"{stage}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = workdir / "done"
        if not done.exists():
            workdir.mkdir(exist_ok=True)
            synthesize(stage, workdir)
            done.touch()
    return Synth(stage, workdir / "cdk.out")


@pytest.fixture(scope="session")
def dev(synth_root: Path) -> Synth:
    return _synth_once(synth_root, "dev")


@pytest.fixture(scope="session")
def prod(synth_root: Path) -> Synth:
    return _synth_once(synth_root, "prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def synth(request: pytest.FixtureRequest) -> Synth:
    return request.getfixturevalue(str(request.param))


def render(value: Any) -> Any:
    """A template value with intrinsics rendered readably, as cdk-nag prints them
    (:func:`infra.stacks.accepted.render`: ``<Logical.Attr>``, ``<AWS::Region>``), inside
    lists and mappings too."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if not isinstance(value, dict):
        return value
    [(key, arg)] = value.items() if len(value) == 1 else [("", None)]
    if key in {"Ref", "Fn::GetAtt", "Fn::Join"} or (key == "Fn::Sub" and isinstance(arg, str)):
        return render_intrinsic(value)
    return {k: render(v) for k, v in value.items()}


def iam_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(logical id of the policy or role, statement) for every identity-based IAM statement."""
    out: list[tuple[str, dict[str, Any]]] = []
    for logical_id, res in template["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Policy":
            out.extend((logical_id, s) for s in props["PolicyDocument"]["Statement"])
        if res["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                out.extend((logical_id, s) for s in policy["PolicyDocument"]["Statement"])
    return out


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
