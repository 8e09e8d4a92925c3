"""The project's lock files: which human-edited list each one is made from, how, and whether it is fresh.

Every environment the project builds installs from a lock with hashes and ``--no-deps``, so
nothing is resolved at install time (README: Dependencies):

- ``requirements/build.lock``: pip, setuptools, setuptools-scm, wheel; installed first, so the
  sdists of the later installs build with ``--no-build-isolation`` from locked tools;
- ``requirements/runtime.lock``: what goes into the Lambda zip (:mod:`infra.lambda_bundle`);
- ``requirements/dev.lock``: ``make run``, ``make test``, ``make synth``, ``make bench``;
- ``bench/peer.lock``: the benchmark's dtool-lookup-server in its own virtualenv;
- ``bench/dserver.lock``: the benchmark's dservercore 0.22 in its own virtualenv;
- ``requirements/scan.lock``: checkov in ``.venv-scan`` (``make test`` scans the templates).

``python -m infra.locks compile`` (``make lock``) regenerates them with ``uv pip compile
--generate-hashes``, each constrained by the locks it must agree with, and writes a digest of
its inputs into the lock's header. ``python -m infra.locks check`` (``make test``) recomputes
the digests and fails with a one-line hint when a list changed but its lock was not made anew.

Stdlib only: ``check`` runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "3.11"  # the Lambda runtime and pyproject's requires-python
DIGEST_PREFIX = "# inputs-sha256: "
# opensearch-py 3 depends on its gRPC transport; the catalogue speaks HTTP only.
# tests/infra/test_package.py checks the app runs without these.
NEVER_INSTALLED = ("opensearch-protobufs", "grpcio", "protobuf")
# Bump when the way locks are compiled changes: every lock then reads as stale.
_FORMAT = "infra.locks/1"


@dataclass(frozen=True)
class LockSpec:
    """One lock: the list it is compiled from and the locks whose pins it must repeat."""

    source: str  # path of the human-edited list, relative to the repository
    lock: str
    constraints: tuple[str, ...] = ()
    omit: tuple[str, ...] = field(default=NEVER_INSTALLED)

    def uv_args(self) -> list[str]:
        args = [self.source, "-o", self.lock, "--generate-hashes", "--universal"]
        args += ["--python-version", PYTHON_VERSION, "--custom-compile-command", "make lock", "--quiet"]
        for constraint in self.constraints:
            args += ["-c", constraint]
        for name in self.omit:
            args += ["--no-emit-package", name]
        return args


# in dependency order: a lock is compiled after the locks that constrain it
LOCKS: tuple[LockSpec, ...] = (
    LockSpec("requirements/build.in", "requirements/build.lock", omit=()),
    LockSpec("requirements/runtime.in", "requirements/runtime.lock", ("requirements/build.lock",)),
    LockSpec("requirements/dev.in", "requirements/dev.lock", ("requirements/build.lock", "requirements/runtime.lock")),
    LockSpec("bench/peer.in", "bench/peer.lock", ("requirements/build.lock",), omit=()),
    LockSpec("bench/dserver.in", "bench/dserver.lock", ("requirements/build.lock",), omit=()),
    # checkov alone (its pins clash with the dev set): installed into .venv-scan
    LockSpec("requirements/scan.in", "requirements/scan.lock", omit=()),
)

_INCLUDE = re.compile(r"^\s*(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)")


@dataclass(frozen=True)
class Pin:
    """One locked distribution: ``name==version`` (name normalized), its marker and hashes."""

    name: str
    version: str
    marker: str | None
    hashes: tuple[str, ...]

    def requirement_line(self) -> str:
        """The pin as a hash-checked requirement, without its marker (already evaluated)."""
        return " ".join([f"{self.name}=={self.version}", *(f"--hash={h}" for h in self.hashes)])


_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]*))?"
)
_HASH = re.compile(r"--hash=(\S+)")


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(lock: Path) -> list[Pin]:
    """The pins of a lock written by ``uv pip compile --generate-hashes`` (one ``name==version``
    per requirement, continued by ``--hash`` lines)."""
    pins: list[Pin] = []
    for block in re.split(r"\n(?=[^\s#])", lock.read_text(encoding="utf-8")):
        match = _PIN.match(block)
        if match is None:
            continue
        marker = (match.group("marker") or "").strip() or None
        hashes = tuple(_HASH.findall(block))
        pins.append(Pin(normalize(match.group("name")), match.group("version"), marker, hashes))
    return pins


def included_files(path: Path) -> Iterator[Path]:
    """``path`` and every file it pulls in with ``-r``/``-c``, depth first, each once."""
    seen: set[Path] = set()

    def walk(p: Path) -> Iterator[Path]:
        p = p.resolve()
        if p in seen:
            return
        seen.add(p)
        yield p
        for line in p.read_text(encoding="utf-8").splitlines():
            match = _INCLUDE.match(line)
            if match:
                yield from walk(p.parent / match.group(1))

    yield from walk(path)


def inputs_digest(spec: LockSpec, root: Path = REPO_ROOT) -> str:
    """SHA-256 over everything a lock is made from: the requirements of the list and of what it
    includes (not their comments), the locks that constrain it, and how it is compiled. Any
    change to one of them makes the lock stale."""
    h = hashlib.sha256(_FORMAT.encode())
    h.update("\0".join(spec.uv_args()).encode())
    for path in included_files(root / spec.source):
        h.update(b"\0" + path.relative_to(root.resolve()).as_posix().encode() + b"\0" + _requirements_only(path))
    for constraint in spec.constraints:
        path = root / constraint
        h.update(b"\0" + constraint.encode() + b"\0" + (path.read_bytes() if path.exists() else b"(missing)"))
    return h.hexdigest()


def _requirements_only(path: Path) -> bytes:
    """A list without its comments and blank lines: editing a comment needs no new lock."""
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in path.read_text(encoding="utf-8").splitlines())
    return "\n".join(line for line in lines if line).encode()


def recorded_digest(lock: Path) -> str | None:
    if not lock.exists():
        return None
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line.removeprefix(DIGEST_PREFIX).strip()
    return None


def stale(root: Path = REPO_ROOT, locks: Sequence[LockSpec] = LOCKS) -> list[LockSpec]:
    """The locks whose recorded digest no longer matches their inputs."""
    return [spec for spec in locks if recorded_digest(root / spec.lock) != inputs_digest(spec, root)]


def stale_hint(spec: LockSpec) -> str:
    return f"{spec.lock} is older than {spec.source} (or what it includes): run `make lock` and commit both"


def compile_locks(
    uv: Sequence[str], *, upgrade: Sequence[str] = (), root: Path = REPO_ROOT, locks: Sequence[LockSpec] = LOCKS
) -> None:
    """Regenerate every lock with ``uv pip compile`` and record its inputs' digest.

    uv keeps the versions already in a lock unless the list asks otherwise; ``upgrade`` is
    passed on (``--upgrade`` or ``--upgrade-package NAME``) to move on purpose.
    """
    for spec in locks:
        subprocess.run([*uv, "pip", "compile", *spec.uv_args(), *upgrade], cwd=root, check=True)
        lock = root / spec.lock
        lines = [ln for ln in lock.read_text(encoding="utf-8").splitlines() if not ln.startswith(DIGEST_PREFIX)]
        # after uv's own header (the comment block it starts with)
        at = next((i for i, ln in enumerate(lines) if not ln.startswith("#")), len(lines))
        lines.insert(at, f"{DIGEST_PREFIX}{inputs_digest(spec, root)}")
        lock.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _uv() -> list[str]:
    here = Path(sys.executable).parent / "uv"
    found = str(here) if here.exists() else shutil.which("uv")
    if found is None:
        raise SystemExit("uv is not installed: run `make install` first (it comes from requirements/dev.lock)")
    return [found]


def main(argv: Sequence[str]) -> int:
    usage = "usage: python -m infra.locks check | compile [--upgrade | --upgrade-package NAME ...]"
    if not argv or argv[0] not in {"check", "compile"}:
        print(usage, file=sys.stderr)
        return 2
    if argv[0] == "check":
        problems = stale()
        for spec in problems:
            print(f"locks: {stale_hint(spec)}", file=sys.stderr)
        return 1 if problems else 0
    compile_locks(_uv(), upgrade=list(argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
