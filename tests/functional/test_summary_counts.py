"""The summary over the API, from the counters the datasets stream consumer keeps: one dataset
copied to two base URIs is one dataset for whoever sees it, its sizes count per copy, an edit
and a removal move the counts, and an unreachable counters table is a 503 that names nothing."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib.composition import root
from chalicelib.errors import SummaryUnavailable
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.support.data import registration


def summary(api: Api, user: str) -> dict[str, Any]:
    r = api.get("/datasets/summary", user=user)
    assert r.status_code == 200, r.body
    body: dict[str, Any] = r.json_body
    return body


def test_a_dataset_on_two_base_uris_is_one_dataset_for_each_caller(personas: Api) -> None:
    uuid = registration()["uuid"]
    for base, user in ((BUCKET_A, "champion"), (BUCKET_B, "bravo")):
        body = registration(base_uri=base, uuid=uuid, tags=["soil"])
        assert personas.post("/datasets", body, user=user).status_code == 201
    admin = summary(personas, "admin")
    assert admin["number_of_datasets"] == 1
    assert admin["datasets_per_base_uri"] == {BUCKET_A: 1, BUCKET_B: 1}
    assert admin["datasets_per_tag"] == {"soil": 1} and admin["datasets_per_creator"] == {"olssont": 1}
    size = admin["size_in_bytes_per_base_uri"][BUCKET_A]
    assert admin["total_size_in_bytes"] == 2 * size  # stored twice
    reader = summary(personas, "reader")
    assert (reader["number_of_datasets"], reader["base_uris"], reader["total_size_in_bytes"]) == (1, [BUCKET_A], size)
    assert summary(personas, "outsider")["number_of_datasets"] == 0

    # an edit of one copy moves its tag; the other copy keeps its own
    on_b = f"/datasets/{uuid}?base_uri={quote(BUCKET_B, safe='')}"
    edit = {"tags": ["peat"], "version": personas.get(on_b, user="bravo").json_body["version"]}
    assert personas.patch(on_b, edit, user="bravo").status_code == 200
    assert summary(personas, "admin")["datasets_per_tag"] == {"peat": 1, "soil": 1}
    assert summary(personas, "reader")["datasets_per_tag"] == {"soil": 1}

    # removing the copy on A leaves one dataset on B
    uri = quote(f"{BUCKET_A}/{uuid}", safe="")
    assert personas.delete(f"/datasets/{uuid}/replicas?uri={uri}", user="champion").status_code == 200
    admin = summary(personas, "admin")
    assert (admin["number_of_datasets"], admin["base_uris"], admin["tags"]) == (1, [BUCKET_B], ["peat"])
    assert summary(personas, "reader")["number_of_datasets"] == 0


def test_counters_that_cannot_be_read_are_a_503_naming_no_backend(
    personas: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "arn:aws:dynamodb:eu-west-1:123456789012:table/catalogue-summary unreachable"

    def down(*args: Any, **kwargs: Any) -> Any:
        raise SummaryUnavailable(secret)

    monkeypatch.setattr(root().summary_counts.store, "counters", down)
    with caplog.at_level(logging.ERROR, logger="chalicelib.routes._http"):
        for path in ("/datasets/summary", "/me/summary"):
            r = personas.get(path, user="reader")
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            assert r.json_body["Code"] == "ServiceUnavailable"
            assert "123456789012" not in r.body.decode() and "arn:" not in r.body.decode()
    assert "123456789012" in caplog.text  # for the operator
