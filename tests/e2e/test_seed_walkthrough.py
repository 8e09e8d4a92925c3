"""The dtool-lookup-server README's curl walkthrough ("The dtool lookup server API", in
``../shared/seeds/dtool-lookup-server.txt``), run with curl against the real local stack.

The command lines are the README's, character for character, with three changes:

- the server is the stack's API instead of ``http://localhost:5000``;
- ``TOKEN=$(flask user token …)`` is a token of the stack's user pool, and the README's own
  ``HEADER="Authorization: Bearer $TOKEN"`` line sets the header;
- ``$HEADER`` (lookup, register) and ``$DATASET_INFO`` (register) are quoted where the README
  leaves them bare: unquoted, any POSIX shell splits them at their spaces and curl gets
  ``-H Authorization:`` plus ``Bearer`` and the token as two more URLs, or a body of ``{``.

(The seed is a scrape of the README that lost the command lines' last lines, the URLs; they
are as in the README, which the walkthrough's section titles also name.)

What the README's CLI preamble did with ``flask`` (add the base URI ``s3://dtool-demo``, the
users ``olssont`` and ``overlord``, olssont's permissions, and index the bucket) is done by
the admin through the same 0.18 API, and the "index" by registering three datasets with the
README's register command: its own ``DATASET_INFO`` and two more shaped as its search and
list results show. Each answer is checked against what the README shows: the keys, and the
values our data determines. Where our answers differ from the README's (it shows 0.17
shapes), the check says so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from infra.local.stack import LocalStack
from tests.e2e.helpers import wait_for

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="the walkthrough runs curl in bash"
)

README_SERVER = "http://localhost:5000"
DEMO = "s3://dtool-demo"
UUID = "8ecd8e05-558a-48e2-b563-0c9ea273e71e"  # Escherichia-coli-ref-genome
HYPOCOTYL = "ba92a5fa-d3b4-4f10-bcb9-947f62e652db"  # hypocotyl3, the "microscopy" hit
READS = "faa44606-cb86-4877-b9ea-643a3777e021"  # Escherichia-coli-reads-ERR022075

# -- the README's commands ------------------------------------------------------------------
SET_HEADER = 'HEADER="Authorization: Bearer $TOKEN"'
LOOKUP = 'curl -H "$HEADER" http://localhost:5000/dataset/lookup/$UUID'
SUMMARY = 'curl -H "$HEADER" http://localhost:5000/dataset/summary'
LIST = 'curl -H "$HEADER" http://localhost:5000/dataset/list'
SEARCH = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d '{"free_text": "microscopy"}'  \\
    http://localhost:5000/dataset/search"""
README = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d  \\
    '{"uri": "s3://dtool-demo/ba92a5fa-d3b4-4f10-bcb9-947f62e652db"}'  \\
    http://localhost:5000/dataset/readme"""
ANNOTATIONS = README.replace("/dataset/readme", "/dataset/annotations")
MANIFEST = README.replace("/dataset/readme", "/dataset/manifest")
USER_INFO = 'curl -H "$HEADER" http://localhost:5000/user/info/olssont'
DATASET_INFO = """DATASET_INFO='{
  "annotations": {},
  "base_uri": "s3://dtool-demo",
  "created_at": 1537802877.62,
  "creator_username": "olssont",
  "dtoolcore_version": "3.7.0",
  "frozen_at": 1537916653.7,
  "name": "Escherichia-coli-ref-genome",
  "readme": {
    "accession_id": "U00096.3",
    "description": "U00096.3 genome with Bowtie2 indices",
    "index_build_cmd": "bowtie2-build U00096.3.fasta reference",
    "index_builder": "bowtie2-build version 2.3.3",
    "link": "https://www.ebi.ac.uk/ena/data/view/U00096.3",
    "organism": "Escherichia coli str. K-12 substr. MG1655"
  },
  "type": "dataset",
  "uri": "s3://dtool-demo/8ecd8e05-558a-48e2-b563-0c9ea273e71e",
  "uuid": "8ecd8e05-558a-48e2-b563-0c9ea273e71e"
}'"""
REGISTER = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d "$DATASET_INFO"  \\
    http://localhost:5000/dataset/register"""
USER_LIST = 'curl -H "$HEADER" http://localhost:5000/admin/user/list'
USER_REGISTER = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d '[{"username": "admin", "is_admin": true}, {"username": "joe"}]'  \\
    http://localhost:5000/admin/user/register"""
BASE_URI_REGISTER = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d '{"base_uri": "s3://another-bucket"}'  \\
    http://localhost:5000/admin/base_uri/register"""
BASE_URI_LIST = 'curl -H "$HEADER" http://localhost:5000/admin/base_uri/list'
UPDATE_PERMISSIONS = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d '{
      "base_uri": "s3://another-bucket",
      "users_with_register_permissions": [
        "olssont"
      ],
      "users_with_search_permissions": [
        "olssont"
      ]
    }'  \\
    http://localhost:5000/admin/permission/update_on_base_uri"""
CLEAR_PERMISSIONS = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d '{
      "base_uri": "s3://another-bucket",
      "users_with_register_permissions": [],
      "users_with_search_permissions": []}'  \\
    http://localhost:5000/admin/permission/update_on_base_uri"""
PERMISSION_INFO = """curl -H "$HEADER" -H "Content-Type: application/json"  \\
    -X POST -d '{"base_uri": "s3://another-bucket"}'  \\
    http://localhost:5000/admin/permission/info"""
CONFIG_INFO = 'curl -H "$HEADER" http://localhost:5000/config/info'
# the README's "more complex query" (a body only; it is sent with the search command)
COMPLEX_QUERY = """{
    "base_uris": ["s3://snow-white"],
    "creator_usernames": ["grumpy", "dopey"],
    "free_text": "apples",
    "tags": ["fruit", "veg"]
}"""

# -- the README's CLI preamble, through the API (as overlord) ---------------------------------
SETUP = [
    # flask base_uri add s3://dtool-demo
    """curl -H "$HEADER" -H "Content-Type: application/json" -X POST -d '{"base_uri": "s3://dtool-demo"}' \\
    http://localhost:5000/admin/base_uri/register""",
    # flask user add olssont
    """curl -H "$HEADER" -H "Content-Type: application/json" -X POST -d '[{"username": "olssont"}]' \\
    http://localhost:5000/admin/user/register""",
    # flask user search_permission / register_permission olssont s3://dtool-demo
    """curl -H "$HEADER" -H "Content-Type: application/json" -X POST -d '{"base_uri": "s3://dtool-demo",
    "users_with_search_permissions": ["olssont"], "users_with_register_permissions": ["olssont"]}' \\
    http://localhost:5000/admin/permission/update_on_base_uri""",
]
# two more datasets of s3://dtool-demo for "flask base_uri index", as the README's results show them
HYPOCOTYL_INFO: dict[str, Any] = {
    "annotations": {"stain": "propidium iodide"},
    "base_uri": DEMO,
    "created_at": "1530803916.74",
    "creator_username": "olssont",
    "dtoolcore_version": "3.3.0",
    "frozen_at": "1536749825.85",
    "name": "hypocotyl3",
    "readme": "---\ndescription: confocal microscopy of Arabidopsis hypocotyl cells\nstain: propidium iodide\n",
    "manifest": {
        "dtoolcore_version": "3.3.0",
        "hash_function": "md5sum_hexdigest",
        "items": {
            "4c2a": {
                "hash": "1" * 32,
                "relpath": "stack/z001.tif",
                "size_in_bytes": 4096,
                "utc_timestamp": 1530800000.0,
            },
            "9f1e": {
                "hash": "2" * 32,
                "relpath": "stack/z002.tif",
                "size_in_bytes": 4096,
                "utc_timestamp": 1530800001.0,
            },
        },
    },
    "tags": ["arabidopsis", "confocal"],
    "type": "dataset",
    "uri": f"{DEMO}/{HYPOCOTYL}",
    "uuid": HYPOCOTYL,
}
READS_INFO: dict[str, Any] = {
    "annotations": {},
    "base_uri": DEMO,
    "creator_username": "olssont",
    "frozen_at": 1537916700.1,
    "name": "Escherichia-coli-reads-ERR022075",
    "readme": "---\ndescription: Escherichia coli reads, ENA run ERR022075\n",
    "tags": ["sequencing"],
    "type": "dataset",
    "uri": f"{DEMO}/{READS}",
    "uuid": READS,
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: Any


class Shell:
    """Runs the README's lines in bash, with the stack's API for the README's server."""

    def __init__(self, stack: LocalStack, work: Path) -> None:
        self.stack = stack
        self.dump = work / "headers.txt"

    def run(self, user: str, *lines: str, **env: str) -> Answer:
        # every curl also dumps the response headers, talks to 127.0.0.1 directly and gives up
        # after 30 s; the command lines themselves are unchanged
        prelude = (
            'curl() { command curl --silent --show-error --noproxy "*" --max-time 30 --dump-header "$DUMP" "$@"; }'
        )
        script = "\n".join([prelude, SET_HEADER, *lines]).replace(README_SERVER, self.stack.api_url)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.dump.parent),
            "DUMP": str(self.dump),
            "TOKEN": self.stack.token(user),  # TOKEN=$(flask user token <user>)
            **env,
        }
        done = subprocess.run(
            ["bash", "-c", script], env=environment, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, (lines, done.stderr)
        status_line, *header_lines = self.dump.read_text().strip().splitlines()
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = Answer(int(status_line.split()[1]), headers, json.loads(done.stdout) if done.stdout else None)
        assert headers.get("content-type") == "application/json", (lines, headers)  # what aiohttp insists on
        assert not (isinstance(answer.body, dict) and "msg" in answer.body), answer.body  # 0.7 raises on "msg"
        return answer


@pytest.fixture(scope="module")
def sh(stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Shell:
    """The README's setup: overlord (admin) and olssont (data champion on s3://dtool-demo),
    and three datasets of s3://dtool-demo, searchable."""
    stack.add_user("overlord", admin=True)  # flask user add --is_admin overlord
    stack.add_user("olssont")
    shell = Shell(stack, tmp_path_factory.mktemp("seed-walkthrough"))
    for line in SETUP:
        assert shell.run("overlord", line).status == 201
    assert shell.run("olssont", DATASET_INFO, REGISTER).status == 201
    for info in (HYPOCOTYL_INFO, READS_INFO):
        assert shell.run("olssont", REGISTER, DATASET_INFO=json.dumps(info)).status == 201
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {stack.token('olssont')}"

    def indexed() -> bool:
        r = session.get(f"{stack.api_url}/dataset/summary", timeout=10)
        return r.status_code == 200 and r.json()["number_of_datasets"] == 3

    assert wait_for(indexed), "the three datasets did not become searchable"
    return shell


def test_standard_user_usage(sh: Shell) -> None:
    # Looking up URIs based on a dataset's UUID
    lookup = sh.run("olssont", LOOKUP, UUID=UUID)
    assert lookup.status == 200
    assert [{k: r[k] for k in ("base_uri", "name", "uri", "uuid")} for r in lookup.body] == [
        {
            "base_uri": "s3://dtool-demo",
            "name": "Escherichia-coli-ref-genome",
            "uri": "s3://dtool-demo/8ecd8e05-558a-48e2-b563-0c9ea273e71e",
            "uuid": "8ecd8e05-558a-48e2-b563-0c9ea273e71e",
        }
    ]
    assert json.loads(lookup.headers["x-pagination"])["total"] == 1

    # Summary information about datasets ("along the lines of": the keys, and our counts)
    summary = sh.run("olssont", SUMMARY)
    assert summary.status == 200
    assert {k: summary.body[k] for k in ("number_of_datasets", "creator_usernames", "base_uris")} == {
        "number_of_datasets": 3,
        "creator_usernames": ["olssont"],
        "base_uris": ["s3://dtool-demo"],
    }
    assert summary.body["datasets_per_creator"] == {"olssont": 3}
    assert summary.body["datasets_per_base_uri"] == {"s3://dtool-demo": 3}
    assert summary.body["tags"] == ["arabidopsis", "confocal", "sequencing"]
    assert summary.body["datasets_per_tag"] == {"arabidopsis": 1, "confocal": 1, "sequencing": 1}

    # Listing all datasets
    listed = sh.run("olssont", LIST)
    assert listed.status == 200
    rows = {r["uuid"]: r for r in listed.body}
    assert set(rows) == {UUID, HYPOCOTYL, READS}
    assert {k: rows[UUID][k] for k in ("base_uri", "name", "uri")} == {
        "base_uri": "s3://dtool-demo",
        "name": "Escherichia-coli-ref-genome",
        "uri": "s3://dtool-demo/8ecd8e05-558a-48e2-b563-0c9ea273e71e",
    }
    assert {k: rows[READS][k] for k in ("base_uri", "name", "uri")} == {
        "base_uri": "s3://dtool-demo",
        "name": "Escherichia-coli-reads-ERR022075",
        "uri": "s3://dtool-demo/faa44606-cb86-4877-b9ea-643a3777e021",
    }

    # Searching for specific datasets
    search = sh.run("olssont", SEARCH)
    assert search.status == 200 and len(search.body) == 1
    hit = search.body[0]
    # the README shows 0.17's stored document: timestamps as strings and dtoolcore_version
    # at the top; 0.18 and we send float timestamps, and dtoolcore_version is the manifest's
    assert {k: hit[k] for k in ("base_uri", "creator_username", "name", "type", "uri", "uuid")} == {
        "base_uri": "s3://dtool-demo",
        "creator_username": "olssont",
        "name": "hypocotyl3",
        "type": "dataset",
        "uri": "s3://dtool-demo/ba92a5fa-d3b4-4f10-bcb9-947f62e652db",
        "uuid": "ba92a5fa-d3b4-4f10-bcb9-947f62e652db",
    }
    assert (hit["created_at"], hit["frozen_at"]) == (float("1530803916.74"), float("1536749825.85"))
    # the more complex query: nothing of s3://snow-white is ours; the same query over our data finds hypocotyl3
    complex_search = SEARCH.replace("""'{"free_text": "microscopy"}'""", '"$QUERY"')
    assert sh.run("olssont", complex_search, QUERY=COMPLEX_QUERY).body == []
    ours = {
        "base_uris": ["s3://dtool-demo"],
        "creator_usernames": ["grumpy", "olssont"],
        "free_text": "microscopy",
        "tags": ["arabidopsis", "confocal"],
    }
    assert [r["name"] for r in sh.run("olssont", complex_search, QUERY=json.dumps(ours)).body] == ["hypocotyl3"]

    # Accessing a dataset's readme, annotations and manifest
    readme = sh.run("olssont", README)
    assert readme.status == 200 and readme.body == HYPOCOTYL_INFO["readme"]  # a JSON string
    annotations = sh.run("olssont", ANNOTATIONS)
    assert annotations.status == 200 and annotations.body == {"stain": "propidium iodide"}
    manifest = sh.run("olssont", MANIFEST)
    assert manifest.status == 200 and manifest.body == HYPOCOTYL_INFO["manifest"]

    # Getting information about one's own permissions
    info = sh.run("olssont", USER_INFO)
    assert info.status == 200
    assert {
        k: info.body[k]
        for k in ("is_admin", "register_permissions_on_base_uris", "search_permissions_on_base_uris", "username")
    } == {
        "is_admin": False,
        "register_permissions_on_base_uris": ["s3://dtool-demo"],
        "search_permissions_on_base_uris": ["s3://dtool-demo"],
        "username": "olssont",
    }


def test_data_champion_registers_a_dataset(sh: Shell) -> None:
    # the README's DATASET_INFO (registered once already by the "index"): 201 {"uri"} again
    registered = sh.run("olssont", DATASET_INFO, REGISTER)
    assert registered.status == 201
    assert registered.body == {"uri": "s3://dtool-demo/8ecd8e05-558a-48e2-b563-0c9ea273e71e"}
    readme = sh.run("olssont", README.replace(HYPOCOTYL, UUID)).body
    assert yaml.safe_load(readme)["accession_id"] == "U00096.3"  # the README mapping, kept as YAML
    # not on a base URI olssont may register on (0.18: 401; ours 403, JSON like every error)
    elsewhere = DATASET_INFO.replace("s3://dtool-demo", "s3://not-olssonts")
    refused = sh.run("olssont", elsewhere, REGISTER)
    assert refused.status == 403 and set(refused.body) >= {"Code", "Message"}


def test_admin_user_usage(sh: Shell) -> None:
    # Listing registered users (the README's command; then a page large enough for everyone)
    users = sh.run("overlord", USER_LIST)
    assert users.status == 200 and "x-pagination" in users.headers
    assert all({"username", "is_admin", "search_permissions_on_base_uris"} <= set(u) for u in users.body)
    everyone = {u["username"]: u for u in sh.run("overlord", USER_LIST + "?page_size=100").body}
    keys = ("is_admin", "register_permissions_on_base_uris", "search_permissions_on_base_uris", "username")
    assert {k: everyone["olssont"][k] for k in keys} == {
        "is_admin": False,
        "register_permissions_on_base_uris": ["s3://dtool-demo"],
        "search_permissions_on_base_uris": ["s3://dtool-demo"],
        "username": "olssont",
    }
    assert {k: everyone["overlord"][k] for k in keys} == {
        "is_admin": True,
        "register_permissions_on_base_uris": [],
        "search_permissions_on_base_uris": [],
        "username": "overlord",
    }
    # olssont is no admin: the admin routes answer 403 JSON (0.18: 404)
    forbidden = sh.run("olssont", USER_LIST)
    assert forbidden.status == 403 and set(forbidden.body) >= {"Code", "Message"}

    # Registering users (admin exists already: skipped)
    batch = sh.run("overlord", USER_REGISTER)
    assert batch.status == 201 and batch.body == {"registered": ["joe"], "skipped": ["admin"]}

    # Registering a base URI, listing base URIs
    assert sh.run("overlord", BASE_URI_REGISTER).status == 201
    bases = sh.run("overlord", BASE_URI_LIST)
    assert bases.status == 200 and "x-pagination" in bases.headers
    every_base = {b["base_uri"]: b for b in sh.run("overlord", BASE_URI_LIST + "?page_size=100").body}
    perms = ("base_uri", "users_with_register_permissions", "users_with_search_permissions")
    assert {k: every_base["s3://dtool-demo"][k] for k in perms} == {
        "base_uri": "s3://dtool-demo",
        "users_with_register_permissions": ["olssont"],
        "users_with_search_permissions": ["olssont"],
    }
    assert {k: every_base["s3://another-bucket"][k] for k in perms} == {
        "base_uri": "s3://another-bucket",
        "users_with_register_permissions": [],
        "users_with_search_permissions": [],
    }

    # Updating the permissions on a base URI, then clearing them
    updated = sh.run("overlord", UPDATE_PERMISSIONS)
    assert updated.status == 201 and updated.body["users_with_search_permissions"] == ["olssont"]
    assert sh.run("olssont", USER_INFO).body["search_permissions_on_base_uris"] == [
        "s3://another-bucket",
        "s3://dtool-demo",
    ]
    assert sh.run("overlord", CLEAR_PERMISSIONS).status == 201

    # Getting information about the permissions on a base URI
    info = sh.run("overlord", PERMISSION_INFO)
    assert info.status == 200
    assert {k: info.body[k] for k in perms} == {
        "base_uri": "s3://another-bucket",
        "users_with_register_permissions": [],
        "users_with_search_permissions": [],
    }

    # Querying server configuration: ours, flat, with its version (no Flask or JWT settings)
    config = sh.run("overlord", CONFIG_INFO)
    assert config.status == 200 and isinstance(config.body, dict) and "version" in config.body
