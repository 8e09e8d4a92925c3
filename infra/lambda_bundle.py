"""The Chalice project that is packaged for Lambda: the app, plus ``vendor/`` built from the runtime lock.

``chalice package`` would pip-install ``requirements.txt`` itself: it resolves anew, checks no
hashes on the Lambda-platform wheels it fetches and builds sdists with whatever setuptools the
index serves that day. Instead, :func:`build_vendor` installs exactly ``requirements/runtime.lock``
(hash-checked, ``--no-deps``) for the Lambda platform into a directory, and :func:`staged_project`
hands Chalice a copy of the app whose ``requirements.txt`` names nothing and whose ``vendor/``
is that directory (Chalice copies ``vendor/`` into the zip as it is). The CDK stack and the
benchmark both package through here.

Lambda's python3.11 runtime runs on Amazon Linux 2 (glibc 2.26, x86_64): binary wheels are
taken for manylinux tags up to 2.26; an sdist must build to a pure-Python wheel.

The package carries bytecode (:func:`compile_bytecode`): Lambda's ``/var/task`` is read-only, so
without ``__pycache__`` Python compiles every module it imports again at each cold start
(``bench/cold_start.py``: the import of ``app`` took 654 ms median without, 172 ms with).
"""

from __future__ import annotations

import compileall
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.locks import REPO_ROOT, Pin, normalize, read_pins

RUNTIME_LOCK = REPO_ROOT / "requirements" / "runtime.lock"
BUILD_ROOT = REPO_ROOT / "build" / "lambda"

# The environment markers of the Lambda python3.11 runtime (x86_64), for the lock's markers.
LAMBDA_MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.0",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.11.0",
    "python_version": "3.11",
    "sys_platform": "linux",
    "extra": "",
}
# wheel platform tags that run on Lambda's glibc 2.26 (x86_64), newest first
LAMBDA_PLATFORMS = (
    "manylinux_2_26_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)
_PLATFORM_ARGS = [
    *(arg for tag in LAMBDA_PLATFORMS for arg in ("--platform", tag)),
    *("--implementation", "cp", "--python-version", "3.11", "--abi", "cp311"),
]

# The AWS services the functions call (boto3/pynamodb clients). botocore ships the models of
# ~400 services (~20 MB of the zip's 31 MB unzipped); the others are left out of the package.
# tests/unit/test_lambda_bundle.py checks every client the code makes is named here, and
# tests/infra/test_package.py makes each of these clients from the unpacked zip.
BOTOCORE_SERVICES = ("cognito-idp", "dynamodb", "events", "s3", "secretsmanager", "sqs", "stepfunctions")

# Bump when what build_vendor produces changes for the same lock: the cache is keyed on it.
_FORMAT = "lambda_bundle/3"
# the Lambda runtime chalice packages for (the Python running it): bytecode is per version
LAMBDA_PYTHON = (3, 11)


class BundleError(RuntimeError):
    """The runtime lock cannot be installed for Lambda."""


def lambda_pins(lock: Path = RUNTIME_LOCK) -> list[Pin]:
    """The lock's pins that apply on Lambda (their markers evaluated for the Lambda runtime)."""
    from packaging.markers import Marker

    return [p for p in read_pins(lock) if p.marker is None or Marker(p.marker).evaluate(LAMBDA_MARKERS)]


def build_vendor(lock: Path = RUNTIME_LOCK, build_root: Path = BUILD_ROOT) -> Path:
    """``vendor/`` for the Lambda zip: the lock's pins installed for Lambda, pruned; cached.

    The directory is keyed on the lock's content and this module's format, and made under a
    temporary name then renamed, so concurrent builders (pytest workers) never see half of one.
    """
    build_root.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(_FORMAT.encode() + lock.read_bytes() + ",".join(BOTOCORE_SERVICES).encode()).hexdigest()
    final = build_root / f"vendor-{key[:16]}"
    if final.is_dir():
        return final
    work = Path(tempfile.mkdtemp(prefix=".vendor-", dir=build_root))
    try:
        site = work / "site"
        _install(lambda_pins(lock), work, site)
        prune(site)
        compile_bytecode(site, strict=False)
        try:
            site.rename(final)
        except OSError:
            if not final.is_dir():  # not another builder's: a real failure
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout[-1500:] + done.stderr[-1500:]).strip()
        raise BundleError(f"pip {args[0]} failed ({done.returncode}):\n{tail}")


def _install(pins: list[Pin], work: Path, site: Path) -> None:
    requirements = work / "requirements.txt"
    requirements.write_text("".join(pin.requirement_line() + "\n" for pin in pins), encoding="utf-8")
    files = work / "files"
    # hash-checked: a Lambda-platform wheel where one exists, else the sdist (--no-deps
    # allows --platform without --only-binary); sdist metadata is prepared with the
    # locked setuptools of this virtualenv (--no-build-isolation)
    _pip("download", "--no-deps", "--require-hashes", "--no-build-isolation", *_PLATFORM_ARGS,
         "-r", str(requirements), "-d", str(files))  # fmt: skip
    for sdist in sorted(p for p in files.iterdir() if not p.name.endswith(".whl")):
        _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(files), str(sdist))
        sdist.unlink()
    wheels = sorted(files.glob("*.whl"))
    impure = [w.name for w in wheels if not _installs_on_lambda(w.name)]
    if impure:
        raise BundleError(f"no Lambda wheel for {impure}: an sdist built for this machine only")
    names = {_wheel_name(w.name) for w in wheels}
    if names != {pin.name for pin in pins}:
        raise BundleError(f"downloaded {sorted(names)}, locked {sorted(p.name for p in pins)}")
    _pip("install", "--no-deps", "--no-index", "--no-compile", "--only-binary=:all:", *_PLATFORM_ARGS,
         "--target", str(site), *map(str, wheels))  # fmt: skip


def _wheel_name(filename: str) -> str:
    return normalize(filename.split("-", maxsplit=1)[0])


def _installs_on_lambda(filename: str) -> bool:
    """A wheel file name whose tags include the Lambda platform or no platform at all."""
    platforms = filename.removesuffix(".whl").split("-")[-1].split(".")
    return bool(set(platforms) & {"any", *LAMBDA_PLATFORMS})


def compile_bytecode(root: Path, *, strict: bool = True) -> None:
    """``__pycache__/*.cpython-311.pyc`` for every module below ``root``, as unchecked-hash
    pycs: valid whatever times the zip gives the files (the sources they were compiled from
    are the ones zipped, and nothing edits them after). ``strict``: a module that does not
    compile is an error (our code); otherwise it is left to fail only if imported (vendored
    files that are no Python of this version, e.g. templates, are never imported)."""
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise BundleError(f"bytecode for python{'.'.join(map(str, LAMBDA_PYTHON))} needs that interpreter")
    ok = compileall.compile_dir(
        str(root), quiet=2, workers=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    if strict and not ok:
        raise BundleError(f"a module under {root} does not compile")


def prune(site: Path) -> None:
    """Leave out what the functions never load: console scripts, bytecode, source maps of
    bundled JavaScript (Swagger UI's: ~7 MB), and the botocore and boto3 data of services other
    than :data:`BOTOCORE_SERVICES`."""
    shutil.rmtree(site / "bin", ignore_errors=True)
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)
    for source_map in list(site.rglob("*.js.map")) + list(site.rglob("*.css.map")):
        source_map.unlink()
    for data in (site / "botocore" / "data", site / "boto3" / "data"):
        if not data.is_dir():
            continue
        for service in data.iterdir():
            if service.is_dir() and service.name not in BOTOCORE_SERVICES:
                shutil.rmtree(service)


@contextmanager
def staged_project(repo_root: Path = REPO_ROOT, build_root: Path = BUILD_ROOT) -> Iterator[Path]:
    """A Chalice project directory to package: ``app.py``, ``chalicelib/``, ``.chalice/config.json``,
    an empty ``requirements.txt`` and ``vendor/`` (:func:`build_vendor`). Removed on exit."""
    vendor = build_vendor(repo_root / "requirements" / "runtime.lock", build_root)
    project = Path(tempfile.mkdtemp(prefix="project-", dir=build_root))
    try:
        shutil.copy2(repo_root / "app.py", project / "app.py")
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(repo_root / "chalicelib", project / "chalicelib", ignore=ignore)
        compile_bytecode(project / "chalicelib")
        (project / ".chalice").mkdir()
        shutil.copy2(repo_root / ".chalice" / "config.json", project / ".chalice" / "config.json")
        (project / "requirements.txt").write_text(
            "# nothing for chalice to install: vendor/ holds requirements/runtime.lock (infra/lambda_bundle.py)\n"
        )
        os.symlink(vendor, project / "vendor")  # chalice follows links when it zips vendor/
        yield project
    finally:
        shutil.rmtree(project, ignore_errors=True)
