"""README "The API description, Swagger UI and the Python client": its Python examples, run
as written against the app in process (their HTTP goes through tests/support/chalice_transport)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from tests.functional.conftest import BUCKET_A, Api
from tests.support.chalice_transport import BASE_URL, session_for
from tests.support.data import registration

README = Path(__file__).parents[2] / "README.md"
SECTION = "## The API description, Swagger UI and the Python client"


def examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_shows_two_examples() -> None:
    assert len(examples()) == 2


def test_the_readme_examples_run(
    personas: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = registration(base_uri=BUCKET_A)
    assert personas.post("/datasets", body, user="champion").status_code == 201
    key = personas.post("/users/me/keys", {"name": "readme"}, user="reader").json_body["key"]
    monkeypatch.setenv("CATALOGUE_URL", BASE_URL)
    monkeypatch.setenv("CATALOGUE_TOKEN", personas.mint.access_token("reader"))
    monkeypatch.setenv("CATALOGUE_KEY", key)
    session = session_for(personas)[0]  # made before Session is replaced by a maker of it
    monkeypatch.setattr(requests, "Session", lambda: session)
    for example in examples():
        exec(compile(example, "README.md", "exec"), {})  # the README's own code
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{body['uuid']} {BUCKET_A} soil-moisture-2024-plot-07 1 ['instrument', 'site']"), out
    assert out[1] == "project: Soil moisture monitoring"
    assert out[2] == "{'record': 1}"  # registered through POST /datasets
    assert out[3] == "[]"
    assert out[4].startswith("404 NotFound no dataset")
    assert out[5] == "reader"
