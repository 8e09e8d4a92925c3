"""A zipped BagIt bag uploaded to a watched bucket becomes a dataset; a hostile one is refused
with reasons visible to the base URI's registrars."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import bagit

from chalicelib.ingest.bags.registration import bag_uuid
from infra.local.stack import LocalStack
from tests.e2e.helpers import persona, unique, wait_for


def zipped_bag(root: Path, files: dict[str, bytes], tamper: bool = False) -> bytes:
    root.mkdir(parents=True)
    for name, data in files.items():
        (root / name).write_bytes(data)
    bagit.make_bag(str(root), {"External-Description": f"Bag {root.name}", "Contact-Name": "Ana"}, checksums=["sha256"])
    if tamper:
        first = sorted((root / "data").iterdir())[0]
        first.write_bytes(b"#" * first.stat().st_size)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                z.write(path, f"{root.name}/{path.relative_to(root)}")
    return out.getvalue()


def test_zipped_bag_upload_registers_and_a_tampered_one_is_refused(stack: LocalStack, tmp_path: Path) -> None:
    admin = persona(stack, "admin", admin=True)
    bucket = unique("bags")
    stack.watch_bucket(bucket)
    assert admin.post("/base-uris", {"base_uri": f"s3://{bucket}"}).status_code == 201
    time.sleep(1.1)  # the handler re-reads base URIs on a miss at most once a second
    s3 = stack.client("s3")
    s3.put_object(Bucket=bucket, Key="deposits/run 7.zip", Body=zipped_bag(tmp_path / "run7", {"a.csv": b"1,2"}))
    scope = f"?base_uri=s3://{bucket}&q=Bag"
    assert wait_for(lambda: admin.get(f"/datasets{scope}").json()["total"] == 1, timeout=20)
    [hit] = admin.get(f"/datasets{scope}").json()["items"]
    assert hit["name"] == "Bag run7" and hit["uri"] == f"s3://{bucket}/deposits/run 7.zip"

    s3.put_object(Bucket=bucket, Key="evil.zip", Body=zipped_bag(tmp_path / "evil", {"b.csv": b"3,4"}, tamper=True))
    # the refusal is recorded on the dataset, with its reasons, for registrars
    uuid = bag_uuid(f"s3://{bucket}/evil.zip")
    assert wait_for(lambda: admin.get(f"/datasets/{uuid}").status_code == 200, timeout=20)
    record = admin.get(f"/datasets/{uuid}").json()
    assert record["status"] == "refused" and any("b.csv" in r for r in record["status_reasons"])
    assert admin.get(f"/datasets?base_uri=s3://{bucket}").json()["total"] == 1  # nothing of it is searchable
