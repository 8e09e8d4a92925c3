"""The layering rules of the code base, read from the import statements (no import runs).

- boto3 and botocore are imported only inside ``chalicelib/adapters`` (issue 16);
- production code never imports a fake (``tests``);
- the composition root is imported only by what sits above the services: ``app.py``, the
  HTTP layer, the jobs and the local tooling (``bootstrap``); never by a service or adapter.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = sorted([REPO / "app.py", *(REPO / "chalicelib").rglob("*.py")])
MAY_IMPORT_THE_ROOT = {"app.py", "chalicelib/jobs.py", "chalicelib/bootstrap.py", "chalicelib/routes/_http.py"}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_the_production_tree_is_found() -> None:
    assert len(PRODUCTION) > 50 and (REPO / "chalicelib/adapters/s3.py") in PRODUCTION


def test_aws_sdks_are_imported_only_by_the_adapters() -> None:
    offenders = {
        rel(p): sorted(m for m in imports_of(p) if m.split(".")[0] in {"boto3", "botocore"})
        for p in PRODUCTION
        if not rel(p).startswith("chalicelib/adapters/")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_production_code_never_imports_a_fake() -> None:
    offenders = {rel(p) for p in PRODUCTION if any(m.split(".")[0] == "tests" for m in imports_of(p))}
    assert offenders == set()


def test_only_the_top_layer_imports_the_composition_root() -> None:
    importers = {rel(p) for p in PRODUCTION if "chalicelib.composition" in imports_of(p)}
    assert importers - MAY_IMPORT_THE_ROOT == set()
    assert "app.py" in importers  # the rule reads real imports
