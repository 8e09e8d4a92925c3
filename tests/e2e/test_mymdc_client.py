"""European XFEL's own client, metadata_client 4.2.2, against the local stack (issue 18):
the seed's tour, and the client's own ``metadata_client_test.py``, run unmodified."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.composition import Root
from chalicelib.domain import User
from infra.local import xfel
from infra.local.stack import LocalStack, patched_environ
from tests.e2e.helpers import persona, wait_for

ROOT = Path(__file__).resolve().parents[2]
ADMIN = User(username="admin", is_admin=True)
EMAIL = "daq-operator@example.org"
CLIENT_TESTS_TIMEOUT = 300
S3_REPOSITORY = (
    "repository",
    21,
    {"name": "XFEL S3 offline", "identifier": "XFEL_S3_OFFLINE", "mount_point": "s3://xfel-offline"},
)
FILES = {
    "r0001/RAW-R0001-AGIPD00-S00000.h5": b"\x89HDF\r\n" + b"\x00" * 4000,
    "r0001/RAW-R0001-DA01-S00000.h5": b"da01",
}


@pytest.fixture(scope="module")
def xfel_stack(facility_stack: LocalStack) -> Iterator[LocalStack]:
    stack = facility_stack
    with patched_environ(stack.env):
        xfel.load(Root(stack.settings()), ADMIN, [*xfel.test_fixtures(), S3_REPOSITORY], stack.xfel_client.username)
    # the app caches a principal and its rights for a few seconds (README: Security model):
    # wait until the DAQ's requests see its new rights
    creds = stack.xfel_client
    token = requests.post(
        creds.token_url,
        auth=(creds.client_id, creds.client_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    ).json()["access_token"]
    wanted = {"file://mymdc/XFEL_TESTS_REPO", "s3://xfel-offline"}

    def granted() -> bool:
        me = requests.get(f"{stack.api_url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        return wanted <= set(me["register_permissions_on_base_uris"])

    assert wait_for(granted, timeout=30)
    yield stack


@pytest.fixture
def client(xfel_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Any:
    from metadata_client import MetadataClient

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    creds = xfel_stack.xfel_client
    return MetadataClient(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        token_url=creds.token_url,
        refresh_url=creds.token_url,
        auth_url=creds.token_url,
        scope="",
        user_email=EMAIL,
        base_api_url=f"{xfel_stack.api_url}/mymdc/api/",
    )


def test_seed_tour(client: Any, xfel_stack: LocalStack) -> None:
    types = client.get_all_data_group_types()
    assert types["success"], types
    assert [t["identifier"] for t in types["data"]] == ["RAW", "CAL", "PROC", "REDU", "SIM", "UNK"]
    assert types["pagination"]["X-Total-Count"] == "6"

    one = client.get_all_xfel_instruments(page=1, page_size=1)
    assert one["success"] and len(one["data"]) == 1
    assert one["pagination"]["X-Total-Pages"] == one["pagination"]["X-Total-Count"] == "2"
    assert client.get_active_proposal_by_instrument(1)["data"]["number"] == 900061

    runs = client.get_proposal_runs(0, page=1, page_size=5)
    assert runs["success"], runs
    assert [r["run_number"] for r in runs["data"]["runs"]] == [1, 2]
    samples = client.get_proposal_samples(0, page=1, page_size=50)
    assert samples["data"][0]["name"] == "TestSample DO NOT DELETE!"

    registered = client.register_run_replica("000000", 1, xfel.OFFLINE_REPOSITORY)
    assert registered["success"], registered
    assert registered["data"] == [{"data_group_id": "-1", "repository_id": "11", "flg_available": "true"}]

    with patched_environ(xfel_stack.env):
        uuid = Root(xfel_stack.settings()).facility.record("data_group", -1).uuid  # type: ignore[union-attr]
    admin = {"Authorization": f"Bearer {xfel_stack.token('admin')}"}
    dataset = requests.get(f"{xfel_stack.api_url}/datasets/{uuid}", headers=admin, timeout=10).json()
    uri = f"file://mymdc/{xfel.OFFLINE_REPOSITORY}/{uuid}"
    assert uri in [r["uri"] for r in dataset["replicas"]]
    deadline = time.monotonic() + 30
    while True:  # the index follows the records through the stream (bounded wait)
        found = requests.get(
            f"{xfel_stack.api_url}/datasets",
            params={"uuid": uuid, "base_uri": f"file://mymdc/{xfel.OFFLINE_REPOSITORY}"},
            headers=admin,
            timeout=10,
        ).json()
        if any(d["uuid"] == uuid for d in found["items"]):
            break
        assert time.monotonic() < deadline, found
        time.sleep(0.5)

    unregistered = client.unregister_run_replica("000000", 1, xfel.OFFLINE_REPOSITORY)
    assert unregistered["success"], unregistered
    assert unregistered["data"][0]["flg_available"] == "false"
    dataset = requests.get(f"{xfel_stack.api_url}/datasets/{uuid}", headers=admin, timeout=10).json()
    assert uri not in [r["uri"] for r in dataset["replicas"]]


def test_the_clients_own_tests_pass(xfel_stack: LocalStack, tmp_path: Path) -> None:
    """``metadata_client/tests/metadata_client_test.py``, unmodified, in its own pytest."""
    creds = xfel_stack.xfel_client
    env = {
        **os.environ,
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
        "PYTHONPATH": str(ROOT),
        "MYMDC_BASE_API_URL": f"{xfel_stack.api_url}/mymdc/api/",
        "MYMDC_CLIENT_ID": creds.client_id,
        "MYMDC_CLIENT_SECRET": creds.client_secret,
        "MYMDC_TOKEN_URL": creds.token_url,
        "MYMDC_USER_EMAIL": EMAIL,
    }
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
         "-p", "tests.e2e.mymdc_secrets", "-p", "no:cacheprovider", "-q",
         "--pyargs", "metadata_client.tests.metadata_client_test"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=CLIENT_TESTS_TIMEOUT, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "30 passed" in result.stdout, result.stdout[-2000:]


def test_a_data_group_in_an_s3_repository_is_archived_like_any_dataset(client: Any, xfel_stack: LocalStack) -> None:
    """Registered through metadata_client (run, data group, files, replica), archived
    through the catalogue: the archive reads the files where the repository keeps them."""
    s3 = xfel_stack.client("s3")
    s3.create_bucket(Bucket="xfel-offline", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    prefix = "raw/p900061/"
    for relpath, data in FILES.items():
        s3.put_object(Bucket="xfel-offline", Key=prefix + relpath, Body=data)

    run = {"run_number": 1, "begin_at": "2026-12-06T10:00:00.000+01:00", "first_train": 1}
    group = {"data_group_type_id": 1, "creator_id": -1, "prefix_path": prefix}
    registered = client.register_run(-2, "", run, group)
    assert registered["success"], registered
    ids = registered["data"]
    files = [
        {"filename": relpath.split("/")[1], "relative_path": "r0001/", "size": len(data),
         "checksum": hashlib.md5(data).hexdigest()}
        for relpath, data in FILES.items()
    ]  # fmt: skip
    added = client.register_run_data(-2, "", ids["run_id"], ids["data_group_id"], {}, files)
    assert added["success"], added
    replica = client.register_run_replica("900061", 1, "XFEL_S3_OFFLINE")
    assert replica["success"], replica

    with patched_environ(xfel_stack.env):
        uuid = Root(xfel_stack.settings()).facility.record("data_group", int(ids["data_group_id"])).uuid  # type: ignore[union-attr]
    admin = persona(xfel_stack, "admin", admin=True)
    dataset = admin.get(f"/datasets/{uuid}").json()
    assert "s3://xfel-offline/raw/p900061" in [r["uri"] for r in dataset["replicas"]]
    r = admin.post(f"/datasets/{uuid}/archive", {})
    assert r.status_code == 202, r.text
    archive_id = r.json()["id"]
    final = {"archived", "failed", "rejected"}
    assert wait_for(lambda: admin.get(f"/archives/{archive_id}").json()["status"] in final, timeout=60)
    archive = admin.get(f"/archives/{archive_id}").json()
    assert archive["status"] == "archived", archive
    assert archive["fixity"]["ok"] is True
    # the AIP holds exactly the data group's files, byte for byte
    bucket, _, aip = archive["aip"]["uri"].removeprefix("s3://").partition("/")
    aip = aip.rstrip("/") + "/"
    manifest = s3.get_object(Bucket=bucket, Key=aip + "manifest-sha256.txt")["Body"].read().decode()
    assert sorted(line.split("  ", 1)[1] for line in manifest.splitlines()) == sorted(f"data/{p}" for p in FILES)
    for relpath, data in FILES.items():
        assert s3.get_object(Bucket=bucket, Key=f"{aip}data/{relpath}")["Body"].read() == data
