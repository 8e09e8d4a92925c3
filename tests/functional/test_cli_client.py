"""``catalogue``, the user CLI on the Python client (issue 21), against the app in process:
what it prints, ``--json`` for scripts, its exit codes, the token ``login`` keeps, and folder
uploads (to moto's S3 in process)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import requests
from catalogue_client import cli
from typer.testing import CliRunner

from chalicelib.ingest.layouts import sidecar_uuid
from tests.functional.conftest import BUCKET_A, Api
from tests.functional.test_python_client import Script, make_folder
from tests.functional.test_uploads import deliver_s3_events, watch
from tests.support.chalice_transport import BASE_URL, session_for
from tests.support.data import registration

runner = CliRunner()


@pytest.fixture
def wired(personas: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Api:
    session = session_for(personas)[0]
    monkeypatch.setattr(requests, "Session", lambda: session)
    monkeypatch.setenv("CATALOGUE_URL", BASE_URL)
    monkeypatch.setenv("CATALOGUE_CONFIG", str(tmp_path / "config.json"))
    for name in ("CATALOGUE_TOKEN", "CATALOGUE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return personas


def run(*args: str, token: str | None = None) -> Any:
    options = ["--token", token] if token else []
    return runner.invoke(cli.app, [*options, *args])


def test_search_show_readme_manifest(wired: Api) -> None:
    body = registration(base_uri=BUCKET_A, name="glacier-core-1")
    assert wired.post("/datasets", body, user="champion").status_code == 201
    reader = wired.mint.access_token("reader")
    table = run("search", "glacier", token=reader)
    assert table.exit_code == 0 and body["uuid"] in table.stdout and "1 dataset" in table.stdout, table.output
    lines = run("search", "glacier", "--json", token=reader).stdout.splitlines()
    assert [json.loads(line)["uuid"] for line in lines] == [body["uuid"]]
    assert json.loads(lines[0])["kind"] == "record"
    assert "1 dataset" in run("search", "glacier", "--type", "record", "--type", "bag", token=reader).stdout
    assert "0 datasets" in run("search", "glacier", "--type", "dtool", token=reader).stdout
    assert run("search", "glacier", "--type", "proto", token=reader).exit_code == 2
    shown = run("show", body["uuid"], token=reader)
    assert shown.exit_code == 0 and "glacier-core-1" in shown.stdout and "instrument" in shown.stdout
    assert run("readme", body["uuid"], token=reader).stdout.startswith("---\nproject: Soil moisture")
    assert "raw/probe_01.csv" in run("manifest", body["uuid"], token=reader).stdout
    assert (
        json.loads(run("manifest", body["uuid"], "--json", token=reader).stdout)["hash_function"] == "md5sum_hexdigest"
    )


def test_exit_codes_say_what_went_wrong(wired: Api) -> None:
    body = registration(base_uri=BUCKET_A)
    assert wired.post("/datasets", body, user="champion").status_code == 201
    missing = run("show", body["uuid"], token=wired.mint.access_token("outsider"))
    assert missing.exit_code == 3 and "NotFound" in missing.output
    assert run("search").exit_code == 4  # no credentials
    assert run("search", token="not-a-token").exit_code == 4
    assert run("search", "--limit", "0", token=wired.mint.access_token("reader")).exit_code == 2


def test_tag_and_annotate_at_the_current_version(wired: Api) -> None:
    body = registration(base_uri=BUCKET_A)
    assert wired.post("/datasets", body, user="champion").status_code == 201
    champion = wired.mint.access_token("champion")
    assert run("tag", body["uuid"], "glacier", "2024", token=champion).exit_code == 0
    assert run("tag", body["uuid"], "soil", "--remove", token=champion).exit_code == 0
    assert run("annotate", body["uuid"], "depth_cm", "30", token=champion).exit_code == 0
    assert run("annotate", body["uuid"], "site", "Ny-Alesund", token=champion).exit_code == 0
    record = wired.get(f"/datasets/{body['uuid']}", user="champion").json_body
    assert sorted(record["tags"]) == ["2024", "field", "glacier"]
    assert record["annotations"]["depth_cm"] == 30 and record["annotations"]["site"] == "Ny-Alesund"
    refused = run("tag", body["uuid"], "x", token=wired.mint.access_token("reader"))
    assert refused.exit_code == 4, refused.output


def test_register_from_a_file(wired: Api, tmp_path: Path) -> None:
    path = tmp_path / "reg.json"
    body = registration(base_uri=BUCKET_A)
    path.write_text(json.dumps(body))
    done = run("register", str(path), token=wired.mint.access_token("champion"))
    assert done.exit_code == 0 and json.loads(done.stdout)["status"] == "created", done.output
    path.write_text("{not json")
    assert run("register", str(path), token=wired.mint.access_token("champion")).exit_code == 2


def test_login_keeps_the_token_for_you_only(wired: Api, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token = wired.mint.access_token("reader")
    asked: list[dict[str, Any]] = []
    dumps = json.dumps

    def token_endpoint(url: str, json: dict[str, Any], timeout: float) -> requests.Response:
        asked.append({"url": url, **json})
        response = requests.Response()
        response.status_code = 200 if json["password"] == "right" else 401
        response.headers["Content-Type"] = "application/json"
        answer = {"token": token} if response.status_code == 200 else {"Code": "Unauthorized", "Message": "wrong"}
        response._content = dumps(answer).encode()
        return response

    monkeypatch.setattr(requests, "post", token_endpoint)
    assert run("login", "--username", "reader", "--password", "wrong").exit_code == 4
    done = run("login", "--username", "reader", "--password", "right")
    assert done.exit_code == 0, done.output
    assert asked[-1] == {"url": f"{BASE_URL}/token", "username": "reader", "password": "right"}
    config = tmp_path / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": BASE_URL, "token": token}
    assert run("search").exit_code == 0  # the kept token signs in


def test_archive_follows_each_step_to_its_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def archive(status: str, steps: str) -> tuple[int, dict[str, str], Any]:
        listed = [{"name": n, "status": s} for n, s in (p.split(":") for p in steps.split())]
        return (
            202 if status == "requested" else 200,
            {},
            {"id": "ar-1", "dataset": "u", "status": status, "steps": listed},
        )

    for final, code in (("archived", 0), ("failed", 1)):
        script = Script(
            [
                archive("requested", "verify:pending store:pending"),
                archive("running", "verify:done store:running"),
                archive(final, f"verify:done store:{'done' if final == 'archived' else 'failed'}"),
            ]
        )
        session = requests.Session()
        session.mount("http://", script)
        monkeypatch.setattr(requests, "Session", lambda session=session: session)
        monkeypatch.setattr(cli.Catalogue, "wait_for_archive", _no_sleep(cli.Catalogue.wait_for_archive))
        monkeypatch.setenv("CATALOGUE_CONFIG", str(tmp_path / "none.json"))
        done = run("--url", "http://catalogue.test", "archive", "u", token="t")
        assert done.exit_code == code, done.output
        assert [line.split()[0] for line in done.stdout.splitlines()] == ["running", final]
        assert [a[0] for a in script.asked] == ["POST", "GET", "GET"]


def _no_sleep(wait: Any) -> Any:
    def waiting(self: Any, archive_id: str, **kwargs: Any) -> Any:
        self._sleep = lambda seconds: None
        return wait(self, archive_id, **kwargs)

    return waiting


# -- catalogue upload: the files straight to S3 (moto in process), then the dataset ------------


def _delivering(wait: Any) -> Any:
    """``wait_for_dataset`` with S3's notifications handed to the ingest before each poll (the
    event runner's part) and no pause between polls."""

    def waiting(self: Any, uuid: str, **kwargs: Any) -> Any:
        self._sleep = lambda seconds: None
        return wait(self, uuid, **{**kwargs, "on_poll": deliver_s3_events})

    return waiting


def test_upload_sends_the_folder_and_waits_for_its_dataset(
    wired: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch()
    monkeypatch.setattr(cli.Catalogue, "wait_for_dataset", _delivering(cli.Catalogue.wait_for_dataset))
    folder = make_folder(tmp_path)
    champion = wired.mint.access_token("champion")
    done = run(
        "upload", str(folder), "--base-uri", BUCKET_A, "--name", "soil", "--tag", "b", "--tag", "a", token=champion
    )
    assert done.exit_code == 0, done.output
    uuid = sidecar_uuid(f"{BUCKET_A}/run-7")
    # the uuid alone on stdout, last (the ingest, in process here, prints its metric lines before)
    assert done.stdout.splitlines()[-1] == uuid
    record = wired.get(f"/datasets/{uuid}", user="reader").json_body
    assert (record["name"], record["tags"], record["creator_username"]) == ("soil", ["a", "b"], "champion")
    as_json = run("upload", str(folder), "--base-uri", BUCKET_A, "--as", "runs/run-7b", "--json", token=champion)
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout.splitlines()[-1])
    assert document["uuid"] == sidecar_uuid(f"{BUCKET_A}/runs/run-7b") and document["name"] == "local name"
    taken = run("upload", str(folder), "--base-uri", BUCKET_A, token=champion)
    assert taken.exit_code == 6 and "409 Conflict" in taken.output, taken.output  # the folder is taken


def test_upload_exit_codes(wired: Api, tmp_path: Path) -> None:
    watch()
    folder = make_folder(tmp_path)
    champion = wired.mint.access_token("champion")
    refused = run("upload", str(folder), "--base-uri", BUCKET_A, token=wired.mint.access_token("reader"))
    assert refused.exit_code == 4, refused.output
    (folder / "dataset.yml").write_text("name: x\n")
    assert run("upload", str(folder), "--base-uri", BUCKET_A, token=champion).exit_code == 2
    (folder / "dataset.yml").unlink()
    assert run("upload", str(folder / "a.csv"), "--base-uri", BUCKET_A, token=champion).exit_code == 2
    # no event is delivered here: nothing is registered within the time given
    late = run("upload", str(folder), "--base-uri", BUCKET_A, "--timeout", "0", token=champion)
    assert late.exit_code == 1 and "not registered" in late.output, late.output
    quick = run("upload", str(folder), "--base-uri", BUCKET_A, "--as", "run-8", "--no-wait", token=champion)
    assert quick.exit_code == 0 and quick.stdout.strip() == sidecar_uuid(f"{BUCKET_A}/run-8"), quick.output
