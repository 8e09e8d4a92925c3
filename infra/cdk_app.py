"""The CDK app: one :class:`~infra.stacks.CatalogueStack` for the stage named by context.

Run by the CDK CLI through ``infra/cdk.json`` (``npx cdk deploy -c stage=prod``) or directly,
without the CLI and without AWS credentials (``make synth STAGE=dev``)::

    cd infra && ../.venv/bin/python cdk_app.py -c stage=dev

Run directly, it reads the context of ``infra/cdk.json`` itself and accepts ``-c key=value``
like the CLI. Packaging the Chalice app needs a region (a dummy one is fine: context
``region``) and PyPI access: the first packaging installs ``requirements/runtime.lock`` for
Lambda, hash-checked, into ``build/lambda/`` (:mod:`infra.lambda_bundle`; later ones reuse it).

Named ``cdk_app.py``, not ``app.py``: with ``infra/`` on ``sys.path`` an ``app`` module here
would shadow the Chalice app that ``chalice.cdk`` imports.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402

from infra.stacks import CatalogueStack, StageConfig  # noqa: E402
from infra.stacks.scanners import add_checks  # noqa: E402


def file_context() -> dict[str, Any]:
    """The ``context`` of ``infra/cdk.json`` (the CLI passes it itself; a direct run reads it here)."""
    return dict(json.loads((HERE / "cdk.json").read_text())["context"])


def cli_context(argv: Sequence[str]) -> dict[str, str]:
    """``-c key=value`` / ``--context key=value`` pairs, as the CDK CLI takes them."""
    out: dict[str, str] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("-c", "--context") and args:
            key, sep, value = args.pop(0).partition("=")
            if not sep:
                raise SystemExit(f"context must be key=value, got {key!r}")
            out[key] = value
        else:
            raise SystemExit(f"unknown argument {arg!r} (only -c key=value)")
    return out


def build(app: cdk.App) -> CatalogueStack:
    """Add the stack of the stage named by context ``stage`` to ``app``, with cdk-nag's
    AwsSolutions checks (``app.synth()`` then fails on any finding not acknowledged)."""
    config = StageConfig.from_node(app.node)
    region = os.environ.get("CDK_DEFAULT_REGION") or app.node.try_get_context("region")
    # Chalice needs a region to package (no credentials); any region works offline
    os.environ.setdefault("AWS_DEFAULT_REGION", str(region))
    env = cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=region)
    add_checks(app)
    return CatalogueStack(app, config.stage, config=config, env=env)


def main(argv: Sequence[str]) -> None:
    # chalice.cdk packages into ./chalice.out (one directory of ~30 MB per synth): start afresh
    shutil.rmtree(HERE / "chalice.out", ignore_errors=True)
    under_cli = "CDK_OUTDIR" in os.environ
    if under_cli:
        app = cdk.App()
    else:
        app = cdk.App(context=file_context(), post_cli_context=cli_context(argv), outdir=str(HERE / "cdk.out"))
    stack = build(app)
    assembly = app.synth()
    template = Path(assembly.directory) / stack.template_file
    print(f"synthesized stack {stack.stack_name} (stage {stack.config.stage}): {template}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
