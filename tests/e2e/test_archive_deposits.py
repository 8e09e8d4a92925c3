"""Deposits on the real local stack: a bag uploaded through ``POST /archives`` (a presigned PUT
into the deposit bucket) is registered by the ingest path and archived by the state machine
with no further request; a hostile bag dropped into the deposit bucket becomes an archive
record ``rejected`` with its reasons, and nothing is stored nor any execution started."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
import uuid as uuidlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib import resources
from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, deposits_admin, persona, unique, wait_for
from tests.unit.test_bags import (
    BAGIT_TXT,
    HELLO,
    SECRET,
    make_bag,
    set_oxum,
    sha,
    tar_member,
    write_manifest,
    write_tar,
    write_zip,
    zip_dir,
)

MiB = 1024 * 1024
PAYLOAD = {"a.csv": b"t,v\n1,2\n", "sub dir/b \u00fc.bin": bytes(range(256)) * 20}
FINAL = {"archived", "failed", "rejected"}


# --------------------------------------------------------------------------- helpers


def http() -> requests.Session:
    """For presigned URLs (they point at moto on 127.0.0.1): never through a proxy."""
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def admin(stack: LocalStack) -> Client:
    """The admin, with the deposit bucket watched and registered as a base URI."""
    return deposits_admin(stack)


def zipped(bag: Path, top: str | None = None) -> bytes:
    """A bag folder as a zip with one top-level directory (``top``, default the bag's name)."""
    archive = bag.parent / f"{bag.name}.zip"
    zip_dir(bag, archive, f"{top or bag.name}/")
    return archive.read_bytes()


def archives_of(admin: Client, dataset: str) -> dict[str, Any]:
    r = admin.get("/archives", params={"dataset": dataset})
    assert r.status_code == 200, r.text
    return dict(r.json())


def settled(admin: Client, dataset: str, timeout: float = 60) -> dict[str, Any]:
    """The one archive of ``dataset`` once it has ended (bounded wait)."""

    def ended() -> bool:
        page = archives_of(admin, dataset)
        return page["total"] >= 1 and page["items"][0]["status"] in FINAL

    assert wait_for(ended, timeout=timeout, interval=0.2), archives_of(admin, dataset)
    page = archives_of(admin, dataset)
    assert page["total"] == 1, page
    r = admin.get(f"/archives/{page['items'][0]['id']}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def executions_for(stack: LocalStack, dataset: str) -> list[str]:
    """Names of the main state machine's executions whose input names ``dataset``."""
    sfn = stack.client("stepfunctions")
    arn = stack.env["CATALOGUE_ARCHIVE_STATE_MACHINE_ARN"]
    names = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=arn):
        for execution in page["executions"]:
            described = sfn.describe_execution(executionArn=execution["executionArn"])
            if json.loads(described.get("input") or "{}").get("dataset_uuid") == dataset:
                names.append(execution["name"])
    return names


def keys_under(stack: LocalStack, bucket: str, prefix: str) -> list[str]:
    s3 = stack.client("s3")
    return [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    ]


def ingest_queue_empty(stack: LocalStack) -> bool:
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.settings().ingest_queue)["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(attributes.get(n) == "0" for n in names)


def deposit(admin: Client, tmp_path: Path, filename: str = "run-7.zip") -> tuple[dict[str, Any], bytes]:
    """POST /archives, then the bag uploaded to the presigned URL; returns (the link, the zip)."""
    r = admin.post("/archives", {"filename": filename})
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["method"] == "PUT" and link["uri"].startswith(f"s3://{resources.DEPOSIT_BUCKET}/uploads/")
    assert link["uri"].endswith(f"/{filename}")
    assert link["dataset"] == str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, link["uri"]))
    bag = make_bag(tmp_path, unique("sip"), PAYLOAD, info={"Contact-Name": "Ana", "External-Description": "Run 7"})
    data = zipped(bag, top=filename.removesuffix(".zip"))
    put = http().put(link["upload_url"], data=data, timeout=30)
    assert put.status_code == 200, put.text
    return link, data


# --------------------------------------------------------------------------- 1. a deposit end to end


def test_a_deposit_uploaded_through_the_api_is_registered_and_archived(
    stack: LocalStack, admin: Client, tmp_path: Path
) -> None:
    link, _ = deposit(admin, tmp_path)
    dataset = link["dataset"]

    archive = settled(admin, dataset)
    assert archive["status"] == "archived", archive
    assert archive["dataset"] == dataset and archive["source_uri"] == link["uri"]
    assert archive["requested_by"] == "s3-ingest"  # nobody asked: the deposit archived itself
    assert [(s["name"], s["status"]) for s in archive["steps"]] == [
        (name, "succeeded") for name in ("validate", "build", "store", "verify", "register")
    ]
    assert archive["error"] is None and archive["fixity"]["ok"] is True
    assert archive["aip"]["uri"].startswith(f"s3://{resources.ARCHIVE_BUCKET}/aips/{dataset}/{archive['id']}/")
    assert executions_for(stack, dataset) == [archive["id"]]

    r = admin.get(f"/archives/{archive['id']}/download")
    assert r.status_code == 200, r.text
    download = r.json()
    assert download["status"] == "ready" and download["next"] is None
    files = {f["path"]: f for f in download["files"]}
    assert {f"data/{p}" for p in PAYLOAD} <= set(files)
    assert {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"} <= set(files)
    session = http()

    def fetch(path: str) -> bytes:
        got = session.get(files[path]["url"], timeout=30)
        assert got.status_code == 200, (path, got.status_code, got.text[:300])
        assert len(got.content) == files[path]["size"]
        return got.content

    manifest = fetch("manifest-sha256.txt").decode()
    listed = {path: digest for digest, path in (line.split("  ", 1) for line in manifest.splitlines())}
    assert set(listed) == {f"data/{p}" for p in PAYLOAD}
    for relpath, data in PAYLOAD.items():
        stored = fetch(f"data/{relpath}")
        assert stored == data
        assert listed[f"data/{relpath}"] == hashlib.sha256(stored).hexdigest()

    view = admin.get(f"/datasets/{dataset}")
    assert view.status_code == 200, view.text
    assert view.json()["archival"]["status"] == "archived"


def test_the_same_bytes_deposited_again_are_still_one_archive(stack: LocalStack, admin: Client, tmp_path: Path) -> None:
    link, data = deposit(admin, tmp_path)
    first_put = time.monotonic()
    dataset = link["dataset"]
    assert settled(admin, dataset)["status"] == "archived"
    time.sleep(max(0.0, 1.1 - (time.monotonic() - first_put)))  # another LastModified second

    again = http().put(link["upload_url"], data=data, timeout=30)
    assert again.status_code == 200, again.text
    assert wait_for(lambda: ingest_queue_empty(stack), timeout=30)  # the second upload's event is handled
    grew = wait_for(lambda: archives_of(admin, dataset)["total"] != 1, timeout=3, interval=0.2)
    log = admin.get(f"/datasets/{dataset}/log").json()["entries"]
    assert not grew, (archives_of(admin, dataset)["items"], [(e["entity_type"], e["action"]) for e in log])
    assert archives_of(admin, dataset)["items"][0]["status"] == "archived"
    assert len(executions_for(stack, dataset)) == 1


# --------------------------------------------------------------------------- 2. the hostile SIP matrix


@dataclass(frozen=True)
class Hostile:
    suffix: str
    needle: str  # a word of the refusal, as in tests/unit/test_bags.py
    build: Callable[[Path], bytes]  # a fresh, empty directory → the serialized bag


def _sibling_prefix_escape(tmp: Path) -> bytes:
    # the manifest entry escapes into a sibling whose name starts with the bag's name (bagit 1.9 trap)
    bag = make_bag(tmp, "t3")
    write_manifest(bag, [(sha(HELLO), "data/a.txt"), (sha(SECRET), "data/../../t3evil/x")])
    set_oxum(bag, len(HELLO), 1)
    return zipped(bag)


def _absolute_member(tmp: Path) -> bytes:
    return write_zip(tmp / "abs.zip", [("bag/bagit.txt", BAGIT_TXT.encode()), ("/abs.txt", b"x")])


def _dot_dot_member(tmp: Path) -> bytes:
    archive = tmp / "dotdot.tar"
    write_tar(archive, [tar_member("bag/bagit.txt", data=BAGIT_TXT.encode()), tar_member("bag/../../x", data=b"z")])
    return archive.read_bytes()


def _symlink_member(tmp: Path) -> bytes:
    archive = tmp / "link.tar"
    members = [
        tar_member("bag/bagit.txt", data=BAGIT_TXT.encode()),
        tar_member("bag/data/link", tarfile.SYMTYPE, linkname="/etc/passwd"),
    ]
    write_tar(archive, members)
    return archive.read_bytes()


def _fetch_txt(tmp: Path) -> bytes:
    bag = make_bag(tmp, "t5")
    (bag / "fetch.txt").write_text("http://169.254.169.254/latest/meta-data 10 data/b.txt\n")
    return zipped(bag)


def _md5_only(tmp: Path) -> bytes:
    return zipped(make_bag(tmp, "t8", algorithms=("md5",)))


def _tampered_same_size(tmp: Path) -> bytes:
    bag = make_bag(tmp, "t6")
    (bag / "data" / "a.txt").write_bytes(HELLO.upper())
    return zipped(bag)


def _unlisted_extra(tmp: Path) -> bytes:
    bag = make_bag(tmp, "t7")
    (bag / "data" / "extra.bin").write_bytes(b"x")
    return zipped(bag)


def _zip_bomb(tmp: Path) -> bytes:
    """200 MiB of zeros declared, about 200 KiB uploaded."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("bag/bagit.txt", BAGIT_TXT)
        with zf.open("bag/data/zeros.bin", "w", force_zip64=True) as member:
            chunk = bytes(8 * MiB)
            for _ in range(25):
                member.write(chunk)
    data = buffer.getvalue()
    assert len(data) < 1 * MiB
    return data


def _tar_gz_bomb(tmp: Path) -> bytes:
    archive = tmp / "bomb.tgz"
    members = [tar_member("bag/bagit.txt", data=BAGIT_TXT.encode()), tar_member("bag/data/z", data=bytes(32 * MiB))]
    write_tar(archive, members, "w:gz")
    return archive.read_bytes()


HOSTILE = {
    "sibling-prefix-escape": Hostile(".zip", "'..' path component", _sibling_prefix_escape),
    "absolute-member": Hostile(".zip", "is absolute", _absolute_member),
    "dot-dot-member": Hostile(".tar", "'..' path component", _dot_dot_member),
    "symlink-member": Hostile(".tar", "symbolic link", _symlink_member),
    "fetch-txt": Hostile(".zip", "fetch.txt: present", _fetch_txt),
    "md5-only": Hostile(".zip", "no sha256 or sha512 payload manifest", _md5_only),
    "tampered-same-size": Hostile(".zip", "sha256 validation failed", _tampered_same_size),
    "unlisted-extra-file": Hostile(".zip", "payload file not listed", _unlisted_extra),
    "zip-bomb": Hostile(".zip", "compression ratio", _zip_bomb),
    "tar-gz-bomb": Hostile(".tgz", "compression ratio above 200:1", _tar_gz_bomb),
}


def drop(stack: LocalStack, name: str, data: bytes, suffix: str) -> tuple[str, str]:
    """Upload straight into the deposit bucket under a unique prefix; returns (uri, dataset uuid)."""
    key = f"{unique('hostile')}/{name}{suffix}"
    stack.client("s3").put_object(Bucket=resources.DEPOSIT_BUCKET, Key=key, Body=data)
    uri = f"s3://{resources.DEPOSIT_BUCKET}/{key}"
    return uri, str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, uri))


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_deposit_is_rejected_and_nothing_is_archived(
    stack: LocalStack, admin: Client, tmp_path: Path, case: str
) -> None:
    hostile = HOSTILE[case]
    uri, dataset = drop(stack, case, hostile.build(tmp_path), hostile.suffix)

    archive = settled(admin, dataset, timeout=30)
    assert archive["status"] == "rejected", archive
    assert archive["source_uri"] == uri and archive["failed_step"] == "validate"
    assert archive["error"] and hostile.needle in archive["error"], archive["error"]
    assert archive["aip"] is None
    # nothing stored, nothing staged, no execution
    assert keys_under(stack, resources.ARCHIVE_BUCKET, f"aips/{dataset}/") == []
    assert keys_under(stack, resources.ARCHIVE_BUCKET, f"staging/{archive['id']}/") == []
    assert executions_for(stack, dataset) == []
    # the refused upload is visible to registrars as such, not as a dataset
    record = admin.get(f"/datasets/{dataset}").json()
    assert record["status"] == "refused" and any(hostile.needle in r for r in record["status_reasons"])


# --------------------------------------------------------------------------- 3. permissions


@pytest.fixture
def rejected_archive(stack: LocalStack, admin: Client) -> str:
    """An archive that exists: a deposit that is not an archive at all, rejected."""
    _, dataset = drop(stack, "not-a-bag", b"just some text", ".zip")
    archive = settled(admin, dataset, timeout=30)
    assert archive["status"] == "rejected" and "not a zip, tar" in archive["error"]
    return str(archive["id"])


def test_deposit_permissions_and_bad_requests(stack: LocalStack, admin: Client, rejected_archive: str) -> None:
    reader = persona(stack, unique("depositor"))
    r = reader.post("/archives", {"filename": "run-7.zip"})
    assert r.status_code == 403, r.text
    assert set(r.json()) >= {"Code", "Message"}

    for body in ({"filename": "../x.zip"}, {"filename": "x.exe"}, {"filename": ""}, {"name": "x.zip"}, ["x.zip"]):
        bad = admin.post("/archives", body)
        assert bad.status_code == 400, (body, bad.text)
        assert set(bad.json()) >= {"Code", "Message"}, bad.text

    outsider = persona(stack, unique("outsider"))
    assert admin.get(f"/archives/{rejected_archive}").status_code == 200
    for path in (f"/archives/{rejected_archive}", f"/archives/{rejected_archive}/download"):
        hidden = outsider.get(path)
        assert hidden.status_code == 404, (path, hidden.text)
        assert hidden.json()["Code"] == "NotFound"
    assert outsider.post(f"/archives/{rejected_archive}/retry", {}).status_code == 404
