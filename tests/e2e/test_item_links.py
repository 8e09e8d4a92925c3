"""File links over the local stack: a reader who may search a dataset's base URI gets a
presigned link that downloads the file from S3 (the moto server); whoever may not gets 404."""

from __future__ import annotations

import requests

from infra.local.stack import LocalStack
from tests.e2e.helpers import enc, persona, sidecar_dataset


def test_a_reader_downloads_a_file_through_its_link_and_an_outsider_gets_404(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    reader = persona(stack, "link-reader")
    outsider = persona(stack, "link-outsider")
    bucket, uuid = sidecar_dataset(stack, admin, {"raw/a.txt": b"alpha\n", "raw/b.csv": b"x,y\n1,2\n"}, "links-e2e")
    granted = admin.put(
        f"/base-uris/{enc(f's3://{bucket}')}/permissions",
        {"users_with_search_permissions": ["link-reader"], "users_with_register_permissions": []},
    )
    assert granted.status_code == 200, granted.text
    manifest = reader.get(f"/datasets/{uuid}/manifest").json()
    items = {item["relpath"]: item_id for item_id, item in manifest["items"].items()}
    link = reader.get(f"/datasets/{uuid}/items/{items['raw/b.csv']}/url")
    assert link.status_code == 200, link.text
    download = requests.get(link.json()["url"], timeout=10)
    assert download.status_code == 200 and download.content == b"x,y\n1,2\n"
    assert "b.csv" in download.headers.get("Content-Disposition", "")
    refused = outsider.get(f"/datasets/{uuid}/items/{items['raw/b.csv']}/url")
    unknown = reader.get(f"/datasets/{uuid}/items/{'0' * 40}/url")
    assert refused.status_code == unknown.status_code == 404
