"""Auto-registration on the real local stack: datasets written by the real dtool CLI
(dtool-s3 broker) to moto's S3 reach the catalogue through S3 → SQS → the ingest handler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, persona, unique, wait_for


class Dtool:
    """The dtool CLI pointed at the stack's S3 for one bucket."""

    def __init__(self, stack: LocalStack, bucket: str, home: Path) -> None:
        self.bucket = bucket
        self.cwd = home
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_DEFAULT_REGION": "eu-west-1",
            f"DTOOL_S3_ENDPOINT_{bucket}": stack.moto_url,
            f"DTOOL_S3_ACCESS_KEY_ID_{bucket}": "testing",
            f"DTOOL_S3_SECRET_ACCESS_KEY_{bucket}": "testing",
        }
        self.exe = str(Path(sys.executable).parent / "dtool")  # installed beside pytest by the Makefile

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [self.exe, *args], env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, f"dtool {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def local_dataset(self, name: str, files: dict[str, str], readme: str) -> str:
        """A frozen dataset in the work folder, made with the CLI; returns its uuid."""
        self("create", name, str(self.cwd))
        for relpath, text in files.items():
            src = self.cwd / f"src-{relpath.replace('/', '_')}"
            src.write_text(text)
            self("add", "item", str(src), str(self.cwd / name), relpath)
        (self.cwd / "readme.yml").write_text(readme)
        self("readme", "write", str(self.cwd / name), str(self.cwd / "readme.yml"))
        self("freeze", str(self.cwd / name))
        return str(json.loads((self.cwd / name / ".dtool" / "dtool").read_text())["uuid"])


@pytest.fixture(scope="module")
def setup(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> tuple[Client, Dtool]:
    admin = persona(stack, "admin", admin=True)
    bucket = unique("dtool-bucket")
    stack.watch_bucket(bucket)
    assert admin.post("/base-uris", {"base_uri": f"s3://{bucket}"}).status_code == 201
    return admin, Dtool(stack, bucket, tmp_path_factory.mktemp("dtool"))


def status(admin: Client, uuid: str) -> int:
    return admin.get(f"/datasets/{uuid}").status_code


def test_copied_dataset_registers_itself_with_all_its_metadata(setup: tuple[Client, Dtool]) -> None:
    admin, dtool = setup
    readme = "---\nproject: Canopy lidar\ndescription: Leaf-on survey of Wytham Woods\n"
    uuid = dtool.local_dataset("wytham-lidar", {"raw/scan_001.las": "x" * 100, "notes.txt": "ok"}, readme)
    dtool("copy", str(dtool.cwd / "wytham-lidar"), f"s3://{dtool.bucket}")
    assert wait_for(lambda: status(admin, uuid) == 200, timeout=20)
    record = admin.get(f"/datasets/{uuid}").json()
    assert record["name"] == "wytham-lidar"
    assert record["replicas"][0]["uri"] == f"s3://{dtool.bucket}/{uuid}"
    assert record["replicas"][0]["registered_by"] == "s3-ingest"
    assert record["number_of_items"] == 2 and record["size_in_bytes"] == 102
    assert admin.get(f"/datasets/{uuid}/readme").json()["readme"] == readme
    relpaths = sorted(i["relpath"] for i in admin.get(f"/datasets/{uuid}/manifest").json()["items"].values())
    assert relpaths == ["notes.txt", "raw/scan_001.las"]
    assert wait_for(lambda: admin.get(f"/datasets?uuid={uuid}&q=Wytham").json()["total"] == 1)
    # the copy wrote each object once, and each raised an event: one registration, one audit entry
    log = admin.get(f"/datasets/{uuid}/log").json()["entries"]
    assert [(e["action"], e["user"]) for e in log] == [("add", "s3-ingest")]

    dtool("tag", "set", f"s3://{dtool.bucket}/{uuid}", "lidar")
    dtool("annotation", "set", f"s3://{dtool.bucket}/{uuid}", "site", "wytham")
    assert wait_for(lambda: admin.get(f"/datasets/{uuid}").json()["annotations"] == {"site": "wytham"}, timeout=20)
    assert admin.get(f"/datasets/{uuid}/tags").json()["tags"] == ["lidar"]


def test_proto_dataset_waits_for_freeze_and_deletion_removes_the_replica(
    stack: LocalStack, setup: tuple[Client, Dtool]
) -> None:
    admin, dtool = setup
    out = dtool("create", "in-progress", f"s3://{dtool.bucket}")
    uri = next(w for w in out.split() if w.startswith(f"s3://{dtool.bucket}/"))
    uuid = uri.rsplit("/", 1)[-1]
    assert not wait_for(lambda: status(admin, uuid) == 200, timeout=2)  # a proto dataset is not registered
    dtool("freeze", uri)
    assert wait_for(lambda: status(admin, uuid) == 200, timeout=20)

    s3 = stack.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=dtool.bucket, Prefix=uuid)["Contents"]]
    for key in [*keys, f"dtool-{uuid}"]:
        s3.delete_object(Bucket=dtool.bucket, Key=key)
    assert wait_for(lambda: status(admin, uuid) == 404, timeout=20)

    def actions() -> list[tuple[str, str]]:
        return [(e["entity_type"], e["action"]) for e in admin.get(f"/datasets/{uuid}/log").json()["entries"]]

    # the 404 is read from the table; the log entry comes from its stream, maybe a moment later
    wait_for(lambda: len(actions()) >= 2, timeout=20)
    assert actions() == [("dataset", "add"), ("dataset", "delete")]


def test_uploads_outside_registered_base_uris_are_dropped(stack: LocalStack, setup: tuple[Client, Dtool]) -> None:
    admin, _ = setup
    other = unique("unregistered")
    stack.watch_bucket(other)
    dtool = Dtool(stack, other, setup[1].cwd)
    uuid = dtool.local_dataset("stray", {"a.txt": "a"}, "---\n")
    dtool("copy", str(dtool.cwd / "stray"), f"s3://{other}")
    assert not wait_for(lambda: status(admin, uuid) == 200, timeout=3)
