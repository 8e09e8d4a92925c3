"""What goes into the Lambda zip: the lock's pins for the Lambda platform, pruned to what the code calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra import lambda_bundle
from infra.lambda_bundle import BOTOCORE_SERVICES, lambda_pins, prune

REPO = Path(__file__).resolve().parents[2]
# Root.aws_client(service) and the adapters' make_client(service, ...) it calls
PASS_ON = ("chalicelib/composition.py", "chalicelib/adapters/aws.py")


def _client_services(root: Path) -> dict[str, str]:
    """Every literal service name the code makes a client for: ``….client("s3")`` or
    ``aws_client("s3")``, with where it was seen."""
    found: dict[str, str] = {}
    for path in [root / "app.py", *sorted((root / "chalicelib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            first = node.args[0]
            if name in {"client", "aws_client", "resource"}:
                where = f"{path.relative_to(root)}:{node.lineno}"
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    # a computed service name is fine only inside the helpers that pass it on
                    assert where.startswith(PASS_ON), f"{where}: name the service literally"
                    continue
                found[first.value] = where
    return found


def test_the_package_keeps_the_model_of_every_service_the_code_calls() -> None:
    used = _client_services(REPO)
    assert used, "the scan found no clients: has the way clients are made changed?"
    missing = {service: where for service, where in used.items() if service not in BOTOCORE_SERVICES}
    assert not missing, f"add to infra.lambda_bundle.BOTOCORE_SERVICES: {missing}"
    # pynamodb makes the dynamodb client itself
    assert set(BOTOCORE_SERVICES) == {*used, "dynamodb"}


def test_lambda_pins_evaluate_markers_for_the_lambda_runtime(tmp_path: Path) -> None:
    lock = tmp_path / "runtime.lock"
    lock.write_text(
        "colorama==0.4.6 ; sys_platform == 'win32' \\\n    --hash=sha256:aa\n"
        "numpy==2.4.6 ; python_full_version < '3.12' \\\n    --hash=sha256:bb\n"
        "numpy==2.5.5 ; python_full_version >= '3.12' \\\n    --hash=sha256:cc\n"
        "six==1.17.0 \\\n    --hash=sha256:dd\n"
    )
    assert [(p.name, p.version) for p in lambda_pins(lock)] == [("numpy", "2.4.6"), ("six", "1.17.0")]


@pytest.mark.parametrize(
    ("filename", "ok"),
    [
        ("six-1.17.0-py2.py3-none-any.whl", True),
        ("PyYAML-6.0.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", True),
        ("charset_normalizer-3.5.3-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.whl", True),
        ("PyYAML-6.0.3-cp311-cp311-manylinux_2_28_x86_64.whl", False),  # glibc newer than Lambda's 2.26
        ("bagit-1.9.0-cp311-cp311-linux_x86_64.whl", False),  # an sdist built for this machine
        ("numpy-2.4.6-cp311-cp311-macosx_14_0_arm64.whl", False),
    ],
)
def test_only_wheels_for_the_lambda_platform_are_accepted(filename: str, ok: bool) -> None:
    assert lambda_bundle._installs_on_lambda(filename) is ok


def test_prune_drops_scripts_bytecode_and_other_services_models(tmp_path: Path) -> None:
    for rel in [
        "bin/jp.py",
        "botocore/__pycache__/x.cpython-311.pyc",
        "botocore/data/endpoints.json",
        "botocore/data/s3/2006-03-01/service-2.json.gz",
        "botocore/data/ec2/2016-11-15/service-2.json.gz",
        "boto3/data/ec2/2016-11-15/resources-1.json",
        "boto3/data/s3/2006-03-01/resources-1.json",
        "yaml/__init__.py",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    prune(tmp_path)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == [
        "boto3/data/s3/2006-03-01/resources-1.json",
        "botocore/data/endpoints.json",
        "botocore/data/s3/2006-03-01/service-2.json.gz",
        "yaml/__init__.py",
    ]
