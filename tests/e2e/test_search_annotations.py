"""Partial words and annotation clauses on the real local stack (OpenSearch: osmem-server)."""

from __future__ import annotations

from urllib.parse import quote

from infra.local.stack import LocalStack
from tests.e2e.helpers import Client, enc, persona, total, unique, wait_for
from tests.support.data import registration


def names(client: Client, base_uri: str, q: str) -> list[str]:
    r = client.get(f"/datasets?base_uri={quote(base_uri)}&page_size=100&q={quote(q)}")
    assert r.status_code == 200, r.text
    return sorted(item["name"] for item in r.json()["items"])


def test_annotation_ranges_and_word_beginnings(stack: LocalStack) -> None:
    admin = persona(stack, "admin", admin=True)
    reader, outsider = persona(stack, unique("reader")), persona(stack, unique("outsider"))
    base = f"s3://{unique('e2e-search')}"
    assert admin.post("/base-uris", {"base_uri": base}).status_code == 201
    r = admin.put(
        f"/base-uris/{enc(base)}/permissions",
        {"users_with_search_permissions": [reader.username], "users_with_register_permissions": []},
    )
    assert r.status_code == 200, r.text
    for name, kelvin in (("temperature-sweep-hot", 310), ("temperature-sweep-cold", 280)):
        body = registration(base, name=name, annotations={"temperature_K": kelvin, "sample_id": name[-4:]})
        assert admin.post("/datasets", body).status_code == 201
    assert wait_for(lambda: total(admin, f"?base_uri={quote(base)}") == 2), "datasets did not become searchable"

    assert names(reader, base, "annotations.temperature_K>=300") == ["temperature-sweep-hot"]
    assert names(reader, base, "annotations.temperature_K:[250 TO 300]") == ["temperature-sweep-cold"]
    assert names(reader, base, "temp swe annotations.sample_id:*") == [
        "temperature-sweep-cold",
        "temperature-sweep-hot",
    ]
    assert names(outsider, base, "annotations.temperature_K>=300") == []
    bad = reader.get(f"/datasets?q={quote('annotations.temperature_K>=warm')}")
    assert bad.status_code == 400 and "annotations.temperature_K>=warm" in bad.json()["Message"]
