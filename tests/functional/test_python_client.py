"""The Python client (client/, issue 21) against the app in process: pages followed to the
end, typed answers, errors carrying the catalogue's Code and Message, API keys; and its
transport rules against scripted answers: retries with backoff on 429/5xx/connection errors
(Retry-After honoured, POSTs not repeated), OAuth2 client credentials cached and renewed; and
folder uploads, their files POSTed to S3 (moto in process) and the folder registered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests
from catalogue_client import (
    ApiKey,
    BearerToken,
    Catalogue,
    CatalogueError,
    ClientCredentials,
    Conflict,
    Forbidden,
    NotFound,
    Progress,
    RateLimited,
    Unauthorized,
    Unavailable,
    UploadRefused,
)
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from chalicelib.composition import root
from chalicelib.ingest.layouts import sidecar_uuid
from tests.functional.conftest import BUCKET_A, Api
from tests.functional.test_uploads import BUCKET, deliver_s3_events, watch
from tests.support.chalice_transport import BASE_URL, session_for
from tests.support.data import registration


def client_for(api: Api, user: str | None) -> Catalogue:
    session, _ = session_for(api)
    auth = BearerToken(api.mint.access_token(user)) if user else None
    return Catalogue(BASE_URL, auth, session=session, sleep=lambda s: None)


def test_search_follows_every_page_and_answers_typed_datasets(personas: Api) -> None:
    uuids = set()
    for n in range(7):
        body = registration(base_uri=BUCKET_A, name=f"glacier-core-{n}")
        assert personas.post("/datasets", body, user="champion").status_code == 201
        uuids.add(body["uuid"])
    catalogue = client_for(personas, "reader")
    found = list(catalogue.search("glacier", page_size=2))
    assert {d.uuid for d in found} == uuids and len(found) == 7
    assert all(d.base_uri == BUCKET_A and d.name.startswith("glacier-core-") for d in found)
    record = catalogue.dataset(found[0].uuid)
    assert record.version == 1 and record.annotations["instrument"] == "TDR-100"
    assert "Soil moisture" in catalogue.readme(found[0].uuid)
    assert catalogue.manifest(found[0].uuid)["hash_function"] == "md5sum_hexdigest"
    assert catalogue.me().search_base_uris == (BUCKET_A,)
    assert list(client_for(personas, "outsider").search("glacier")) == []


def test_search_and_facets_by_type_and_project(personas: Api) -> None:
    record = registration(base_uri=BUCKET_A, name="moraine-record")
    assert personas.post("/datasets", record, user="champion").status_code == 201
    dtool = registration(base_uri=BUCKET_A, name="moraine-dtool")
    assert personas.put(f"/uris/{quote_plus(dtool['uri'])}", dtool, user="champion").status_code == 201
    personas.sync()
    catalogue = client_for(personas, "reader")
    assert {(d.name, d.kind) for d in catalogue.search("moraine")} == {
        ("moraine-record", "record"),
        ("moraine-dtool", "dtool"),
    }
    assert [d.uuid for d in catalogue.search("moraine", kinds=("dtool",))] == [dtool["uuid"]]
    assert catalogue.dataset(dtool["uuid"]).kind == "dtool"
    facets = catalogue.facets("moraine")
    assert facets["type"] == {"dtool": 1, "record": 1} and facets["base_uri"] == {BUCKET_A: 2}
    assert catalogue.facets("moraine", kinds=("bag",))["type"] == {}
    assert list(catalogue.search("moraine", project="nobody's")) == []
    assert client_for(personas, "outsider").facets("moraine")["type"] == {}


def test_errors_carry_the_catalogues_code_and_message(personas: Api) -> None:
    body = registration(base_uri=BUCKET_A)
    assert personas.post("/datasets", body, user="champion").status_code == 201
    champion = client_for(personas, "champion")
    champion.update(body["uuid"], 1, tags=["one"])
    with pytest.raises(Conflict) as stale:
        champion.update(body["uuid"], 1, tags=["two"])
    assert stale.value.code == "VersionConflict" and stale.value.current_version == 2
    with pytest.raises(NotFound) as missing:
        client_for(personas, "outsider").dataset(body["uuid"])
    assert missing.value.status == 404 and missing.value.message.startswith("no dataset")
    with pytest.raises(Forbidden):
        client_for(personas, "reader").register(registration(base_uri=BUCKET_A))
    with pytest.raises(Unauthorized):
        list(client_for(personas, None).search())


def test_an_api_key_signs_in(personas: Api) -> None:
    made = personas.post("/users/me/keys", {"name": "laptop"}, user="reader")
    assert made.status_code == 201, made.body
    session, _ = session_for(personas)
    catalogue = Catalogue(BASE_URL, ApiKey(made.json_body["key"]), session=session)
    assert catalogue.me().username == "reader"


# -- the transport, against scripted answers -------------------------------------------------
Answer = tuple[int, dict[str, str], Any] | Exception


class Script(BaseAdapter):
    """Answers requests from a list, records what was asked."""

    def __init__(self, answers: list[Answer]) -> None:
        super().__init__()
        self.answers = answers
        self.asked: list[tuple[str, str, str | None]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.asked.append((str(request.method), str(request.url), request.headers.get("Authorization")))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, headers, body = answer
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **headers})
        response._content = json.dumps(body).encode()
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        return None


def scripted(answers: list[Answer], auth: Any = None) -> tuple[Catalogue, Script, list[float]]:
    script = Script(answers)
    session = requests.Session()
    session.mount("http://", script)
    sleeps: list[float] = []
    catalogue = Catalogue(
        "http://catalogue.test", auth or BearerToken("t"), session=session, sleep=sleeps.append, retries=3
    )
    return catalogue, script, sleeps


ME = (200, {}, {"username": "reader"})
BUSY = (503, {"Retry-After": "5"}, {"Code": "SearchUnavailable", "Message": "try again later"})


def test_a_busy_catalogue_is_asked_again_after_retry_after() -> None:
    catalogue, script, sleeps = scripted(
        [BUSY, (429, {"Retry-After": "2"}, {"Code": "TooManyRequests", "Message": "slow"}), ME]
    )
    assert catalogue.me().username == "reader"
    assert sleeps == [5.0, 2.0] and len(script.asked) == 3


def test_retries_end_and_say_why() -> None:
    catalogue, _, sleeps = scripted([BUSY] * 4)
    with pytest.raises(Unavailable) as caught:
        catalogue.me()
    assert caught.value.code == "SearchUnavailable" and len(sleeps) == 3
    limited, _, _ = scripted([(429, {}, {"Code": "TooManyRequests", "Message": "slow"})] * 4)
    with pytest.raises(RateLimited):
        limited.me()


def test_backoff_grows_without_retry_after_and_connection_errors_are_retried() -> None:
    catalogue, _, sleeps = scripted([requests.ConnectionError("refused"), (502, {}, {}), (504, {}, {}), ME])
    assert catalogue.me().username == "reader"
    assert len(sleeps) == 3 and sleeps[0] < sleeps[1] < sleeps[2] <= 20.0


def test_a_post_is_not_repeated_after_the_catalogue_answered() -> None:
    catalogue, script, sleeps = scripted([(503, {}, {"Code": "X", "Message": "down"})])
    with pytest.raises(Unavailable):
        catalogue.register({"uuid": "x"})
    assert len(script.asked) == 1 and sleeps == []


def test_client_credentials_are_cached_and_renewed() -> None:
    now = [0.0]
    tokens = Script(
        [(200, {}, {"access_token": "one", "expires_in": 100}), (200, {}, {"access_token": "two", "expires_in": 100})]
    )
    token_session = requests.Session()
    token_session.mount("http://", tokens)
    auth = ClientCredentials(
        "http://idp.test/oauth2/token", "daq", "secret", session=token_session, clock=lambda: now[0]
    )
    catalogue, script, _ = scripted([ME, ME, (401, {}, {"Code": "Unauthorized", "Message": "expired"}), ME], auth=auth)
    catalogue.me()
    now[0] = 50.0
    catalogue.me()  # still valid (more than the margin left): no new token
    assert [a[2] for a in script.asked] == ["Bearer one", "Bearer one"] and len(tokens.asked) == 1
    catalogue.me()  # a 401: the token is fetched again and the request repeated once
    assert [a[2] for a in script.asked][2:] == ["Bearer one", "Bearer two"] and len(tokens.asked) == 2
    refused = ClientCredentials("http://idp.test/t", "daq", "wrong", session=_refusing(), clock=lambda: 0.0)
    with pytest.raises(Unauthorized):
        refused.headers()


def _refusing() -> requests.Session:
    session = requests.Session()
    session.mount("http://", Script([(401, {}, {"error": "invalid_client"})]))
    return session


# -- folder uploads: the files straight to S3 (moto in process), the sidecar last --------------


def make_folder(root: Path) -> Path:
    """A folder with three files, a sidecar of its own, and links that are not followed."""
    folder = root / "run-7"
    (folder / "raw" / "deep").mkdir(parents=True)
    (folder / "a.csv").write_text("t,moisture\n0,0.31\n")
    (folder / "raw" / "b.csv").write_text("t,moisture\n0,0.29\n")
    (folder / "raw" / "deep" / "c.bin").write_bytes(bytes(range(256)) * 40)
    (folder / "dataset.json").write_text(json.dumps({"name": "local name", "annotations": {"site": "Ny-Alesund"}}))
    (folder / "link.csv").symlink_to(folder / "a.csv")
    (folder / "linked").symlink_to(folder / "raw", target_is_directory=True)
    return folder


def test_upload_folder_posts_every_file_then_the_sidecar_and_it_becomes_a_dataset(
    personas: Api, tmp_path: Path
) -> None:
    watch()
    folder = make_folder(tmp_path)
    session, transport = session_for(personas)
    token = BearerToken(personas.mint.access_token("champion"))
    catalogue = Catalogue(BASE_URL, token, session=session, sleep=lambda seconds: None)
    states: list[Progress] = []
    uuid = catalogue.upload_folder(folder, BUCKET_A, name="soil-run-7", tags=["soil"], progress=states.append)
    assert uuid == sidecar_uuid(f"{BUCKET_A}/run-7")  # the folder's own name by default
    assert transport.requests == [("POST", "/uploads")]  # the files went to S3, not to the catalogue
    posted = [s.current for s in states if s.current]
    assert list(dict.fromkeys(posted)) == ["a.csv", "raw/b.csv", "raw/deep/c.bin", "dataset.json"]  # sidecar last
    last = states[-1]
    assert (last.files_done, last.files_total) == (4, 4) and last.bytes_done == last.bytes_total > 10240
    listed = root().aws_client("s3").list_objects_v2(Bucket=BUCKET, Prefix="run-7/")["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "run-7/a.csv",
        "run-7/dataset.json",
        "run-7/raw/b.csv",
        "run-7/raw/deep/c.bin",
    ]
    record = catalogue.wait_for_dataset(uuid, timeout=5, on_poll=deliver_s3_events)
    assert record is not None and record.raw.get("status", "registered") == "registered", record
    assert (record.name, record.creator_username, record.tags) == ("soil-run-7", "champion", ("soil",))
    assert record.annotations["site"] == "Ny-Alesund"  # the folder's own sidecar, the options over it
    items = catalogue.manifest(uuid)["items"].values()
    assert sorted(i["relpath"] for i in items) == ["a.csv", "raw/b.csv", "raw/deep/c.bin"]
    with pytest.raises(Conflict):  # the folder holds files now
        catalogue.upload_folder(folder, BUCKET_A)


def test_an_upload_that_cannot_be_made_sends_nothing(personas: Api, tmp_path: Path) -> None:
    watch()
    folder = make_folder(tmp_path)
    session, transport = session_for(personas)
    catalogue = Catalogue(BASE_URL, BearerToken(personas.mint.access_token("champion")), session=session)
    (folder / "dataset.yaml").write_text("name: two sidecars\n")
    with pytest.raises(UploadRefused, match=r"dataset\.yaml"):
        catalogue.upload_folder(folder, BUCKET_A)
    with pytest.raises(UploadRefused, match="not a folder"):
        catalogue.upload_folder(folder / "a.csv", BUCKET_A)
    assert transport.requests == []
    (folder / "dataset.yaml").unlink()
    with pytest.raises(Forbidden):
        client_for(personas, "reader").upload_folder(folder, BUCKET_A)
    with pytest.raises(CatalogueError) as refused:
        catalogue.upload_folder(folder, BUCKET_A, "no spaces allowed")
    assert refused.value.status == 400 and refused.value.field == "folder"
    assert "Contents" not in root().aws_client("s3").list_objects_v2(Bucket=BUCKET)


class Reading(Script):
    """A script that reads each streamed body, as a server would."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body: Any = request.body
        if hasattr(body, "read"):
            b"".join(iter(lambda: body.read(65536), b""))
        return super().send(request, **kwargs)


FORM = {
    "base_uri": "s3://bucket-a",
    "folder": "run-7",
    "uri": "s3://bucket-a/run-7",
    "uuid": "0b9f5e53-3e49-5c5b-8b8a-c3b9d1f0a001",
    "sidecar": "dataset.json",
    "creator": "champion",
    "url": "http://s3.test/bucket-a",
    "fields": {"policy": "p", "signature": "s"},
    "key_prefix": "run-7/",
    "expires_in": 3600,
    "max_bytes": 1000,
}
S3_DOWN: Answer = (503, {}, "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
EXPIRED: Answer = (
    403,
    {},
    "<Error><Code>AccessDenied</Code><Message>Invalid according to Policy: Policy expired.</Message>",
)


def test_a_file_post_is_repeated_after_a_connection_error_or_a_5xx_but_not_after_a_refusal(tmp_path: Path) -> None:
    folder = tmp_path / "run-7"
    folder.mkdir()
    (folder / "a.csv").write_bytes(b"x" * 100)
    script = Reading([(200, {}, FORM), requests.ConnectionError("reset"), S3_DOWN, (204, {}, None), (204, {}, None)])
    session = requests.Session()
    session.mount("http://", script)
    sleeps: list[float] = []
    catalogue = Catalogue("http://catalogue.test", BearerToken("t"), session=session, sleep=sleeps.append, retries=3)
    states: list[Progress] = []
    assert catalogue.upload_folder(folder, "s3://bucket-a", progress=states.append) == FORM["uuid"]
    assert [(m, u) for m, u, _ in script.asked] == [("POST", "http://catalogue.test/uploads")] + [
        ("POST", "http://s3.test/bucket-a")
    ] * 4
    assert [a[2] for a in script.asked[1:]] == [None] * 4  # the catalogue's token never goes to S3
    assert len(sleeps) == 2
    assert all(0 <= s.bytes_done <= s.bytes_total for s in states) and states[-1].bytes_done == states[-1].bytes_total
    # a refusal (an expired form) is not repeated; a file larger than the form takes is not sent
    expired, _, _ = scripted([(200, {}, FORM), EXPIRED])
    with pytest.raises(Forbidden) as refused:
        expired.upload_folder(folder, "s3://bucket-a")
    assert refused.value.code == "AccessDenied" and "a.csv" in refused.value.message
    (folder / "big.bin").write_bytes(b"x" * 1001)
    too_large, started_only, _ = scripted([(200, {}, FORM)])
    with pytest.raises(UploadRefused, match=r"big\.bin"):
        too_large.upload_folder(folder, "s3://bucket-a")
    assert len(started_only.asked) == 1
