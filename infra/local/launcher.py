"""``python -m infra.local.stack`` (``make run``): the demo stack in the foreground until Ctrl-C,
and ``python -m infra.local.stack token USER [--create]``: a fresh access token for a user of
the running demo stack (read from its ``state.json``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import secrets
import signal
import sys
import time
from pathlib import Path
from types import FrameType

import boto3

from infra.local import cognito
from infra.local.cognito import PoolInfo
from infra.local.processes import REPO_ROOT, PortInUse
from infra.local.stack import REGION, LocalStack


class _StopRequested(BaseException):
    """SIGINT/SIGTERM arrived: unwind, stop every process, exit 0."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Ignore further signals while stopping: a second Ctrl-C must not cut the cleanup short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise _StopRequested(signal.Signals(signum).name)


def print_token(work_dir: Path, username: str, *, create: bool = False) -> int:
    """Print a fresh access token for ``username`` of the stack whose state is in ``work_dir``
    (``--create``: a new user of the identity provider first); the exit status (2: no running
    stack, or an unknown user without ``create``)."""
    state_path = work_dir / "state.json"
    if not state_path.exists():
        print(f"no running stack found ({state_path} is missing); start one with `make run`", file=sys.stderr)
        return 2
    state = json.loads(state_path.read_text())
    pool = PoolInfo(**state["pool"])
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    ).client("cognito-idp", endpoint_url=state["moto_url"])
    if username not in state["passwords"]:
        if not create:
            known = ", ".join(sorted(state["passwords"]))
            print(f"unknown user {username!r}; known: {known} (--create makes a new one)", file=sys.stderr)
            return 2
        # a user of the identity provider only: the catalogue makes its record, with no
        # permissions, on the first request (an admin grants them)
        password = "Local-" + secrets.token_urlsafe(18) + "-9a"
        cognito.create_user(client, pool, username, password, f"{username}@example.org")
        state["passwords"][username] = password
        state_path.write_text(json.dumps(state, indent=2))
    print(cognito.access_token(client, pool, username, state["passwords"][username]))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.stack", description="Run the catalogue locally.")
    parser.add_argument("--datasets", type=int, default=20, help="number of demo datasets (default 20)")
    parser.add_argument("--work-dir", type=Path, default=None, help="logs and state (default .local-stack/)")
    sub = parser.add_subparsers(dest="command")
    tok = sub.add_parser("token", help="print a fresh access token for a user of the running stack")
    tok.add_argument("username")
    tok.add_argument("--create", action="store_true", help="create the user in the stack's user pool first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("infra").setLevel(logging.INFO)

    work_dir = args.work_dir or REPO_ROOT / ".local-stack"
    if args.command == "token":
        return print_token(work_dir, args.username, create=args.create)

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    stack: LocalStack | None = None
    try:
        stack = LocalStack(work_dir=work_dir)
        stack.start()
        from infra.local.welcome import banner, setup_demo

        tokens = setup_demo(stack, n=args.datasets)
        (stack.work_dir / "state.json").write_text(json.dumps(stack.state(), indent=2))
        print(banner(stack, tokens), flush=True)
        while True:
            time.sleep(1.0)
            dead = stack.dead_processes()
            if dead:
                for proc in dead:
                    print(
                        f"{proc.name} exited unexpectedly (code {proc.returncode}); log: {proc.log_path}\n"
                        f"{proc.log_tail()}",
                        file=sys.stderr,
                    )
                return 1
    except _StopRequested as stop:
        print(f"\n{stop.args[0]} received, stopping the local stack ...", file=sys.stderr, flush=True)
        return 0
    except PortInUse as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack is not None:
            stack.stop()
            with contextlib.suppress(OSError):
                (stack.work_dir / "state.json").unlink()
