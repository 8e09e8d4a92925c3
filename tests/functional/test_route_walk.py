"""Every route, walked by callers who may not act on it, with well-formed and malformed
input: the answer never depends on what they send (authenticate, authorize, then validate).

The routes come from the app's own routing table, so a new route is walked without
changing this test; one the table below does not know fails until it is added to it.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from chalicelib.domain import user_uuid
from tests.functional.conftest import BUCKET_A, Api, folder_with_a_draft
from tests.functional.test_datasets import register
from tests.support.data import registration

# Bodies a caller might send: none, not JSON, an empty object, junk fields, a JSON array,
# and one well-formed body per route kind (filled in per route below).
BODIES: dict[str, bytes] = {
    "none": b"",
    "malformed": b"{",
    "empty": b"{}",
    "junk": b'{"nonsense": [1, 2, {"x": null}]}',
    "array": b"[]",
}
# (method, route) -> the status any authenticated user gets (routes open to every user)
OPEN = {
    ("GET", "/config"): 200,
    ("GET", "/users/me"): 200,
    ("GET", "/datasets"): 200,
    ("GET", "/datasets/summary"): 200,
    ("GET", "/datasets/facets"): 200,
    ("GET", "/archives"): 200,
    # the dserver-compatible routes (chalicelib/routes/dserver.py): what is not visible is not there
    ("GET", "/config/info"): 200,
    ("GET", "/me"): 200,
    ("GET", "/me/summary"): 200,
    ("GET", "/uuids/{uuid}"): 200,
    ("GET", "/uris"): 200,
    # the dtool-lookup-server 0.18 routes (chalicelib/routes/lookup_server.py), likewise
    ("GET", "/dataset/lookup/{uuid}"): 200,
    ("GET", "/dataset/list"): 200,
    ("GET", "/dataset/summary"): 200,
    # the site-defined annotation schemas (chalicelib/routes/annotation_schemas.py): none here
    ("GET", "/annotation-schemas"): 200,
}
# open searches whose body says what to search: validated for every user
OPEN_SEARCHES = {("POST", "/uris"), ("POST", "/dataset/search")}
# 0.18's reads of a dataset named by the body's {"uri"}: the body is validated for every
# user (400), then the dataset is there for a reader of bucket-a (200) and absent for others (404)
URI_BODY_READS = {("POST", "/dataset/readme"), ("POST", "/dataset/manifest"), ("POST", "/dataset/annotations")}
# dserver's reads of a dataset by its URI (one encoded segment, or scheme/bucket/name)
DSERVER_READS = ("/uris/", "/readmes/", "/manifests/", "/annotations/", "/tags/")
# European XFEL's myMdC routes (chalicelib/routes/mymdc.py), walked with no facility records:
# lists are empty for everyone, a record or proposal is not found, three reads need a query
MYMDC = "/mymdc/api"
MYMDC_NEEDS_QUERY = {"/runs/runs_by_proposal", "/runs/all_raw_data_groups_ids", "/data_files/search_data_files"}
# our own read of a facility record's audit log (chalicelib/routes/facility_log.py): with no
# facility records, run 1 is not there for anyone (gone records' logs are the admins' only)
FACILITY_LOG = ("GET", "/facility/{kind}/{id}/log")


def mymdc_expectation(method: str, route: str, caller: str) -> int | None:
    """What ``caller`` gets whatever it sends, or ``None`` for bravo creating a record in a
    proposal (a registrar: its body names the proposal, so it is validated)."""
    from chalicelib.facility.schema import BY_PATH

    path = route.removeprefix(MYMDC)
    if method == "GET":
        if path in MYMDC_NEEDS_QUERY:
            return 400
        if path == "/me" or path.count("/") == 1:
            return 200
        return 404
    if caller != "bravo":
        return 403  # only registrars pass the gate of a write
    kind = BY_PATH[path.split("/")[1]]
    if method == "POST":
        return None if kind.in_proposal else 403
    return 404  # PUT or DELETE of a record that is not there


# public: no token needed (POST /token is how a client gets one: tests/functional/test_token_endpoint.py;
# POST /api/v1/login/apikey exchanges an API key for a session: tests/functional/test_tracker_api.py)
NO_AUTH = {
    ("GET", "/health"),
    ("GET", "/openapi.json"),  # the API description and Swagger UI: tests/functional/test_api_docs.py
    ("GET", "/docs"),
    ("GET", "/docs/{asset}"),
    ("GET", "/config/versions"),
    ("GET", "/oai"),  # OAI-PMH for harvesters, public records only: tests/functional/test_oai.py
    ("POST", "/oai"),
    ("POST", "/token"),
    ("POST", "/api/v1/login/apikey"),
    ("GET", "/api/v1/login/apikey"),
}
# SciLifeLab Data Tracker's routes (chalicelib/routes/tracker_api.py, tracker_users.py), walked
# with no orders, datasets or collections, by callers without permission topics
V1 = "/api/v1"
TRACKER_OPEN = {
    ("GET", V1),
    ("GET", f"{V1}/login"),
    ("GET", f"{V1}/login/oidc"),  # the sign-in services: none here
    ("GET", f"{V1}/logout"),
    ("POST", f"{V1}/logout"),
    ("GET", f"{V1}/dataset"),  # published ones: none here
    ("GET", f"{V1}/collection"),
    ("GET", f"{V1}/collection/user"),
    ("GET", f"{V1}/user/me"),
    ("GET", f"{V1}/user/me/log"),
    ("GET", f"{V1}/user/me/actions"),
    ("GET", f"{V1}/user/me/collections"),
    ("GET", "/users/me/keys"),
    ("GET", "/collections"),
    ("GET", "/projects"),  # none: no orders without ORDERS, no proposals here
}
# what every signed-in user may do to their own things: the body is validated
TRACKER_OWN_WRITES = {
    ("POST", f"{V1}/collection"),
    ("PATCH", f"{V1}/user/me"),
    ("POST", f"{V1}/user/me/apikey"),
    ("POST", "/users/me/keys"),
    ("POST", "/collections"),
    ("PATCH", "/users/me"),
}
# (method, route) -> what a caller without topics gets: 403 where a topic is the gate, 404
# where the record (an order, dataset, collection, another user, one of one's keys) is not theirs
TRACKER_REFUSED = {
    ("POST", f"{V1}/order/{{uuid}}/dataset"): 404,
    ("GET", f"{V1}/dataset/{{uuid}}"): 404,
    ("PATCH", f"{V1}/dataset/{{uuid}}"): 404,
    ("DELETE", f"{V1}/dataset/{{uuid}}"): 404,
    ("GET", f"{V1}/dataset/{{uuid}}/log"): 404,
    ("GET", f"{V1}/collection/{{uuid}}"): 404,
    ("PATCH", f"{V1}/collection/{{uuid}}"): 404,
    ("DELETE", f"{V1}/collection/{{uuid}}"): 404,
    ("GET", f"{V1}/collection/{{uuid}}/log"): 404,
    ("GET", f"{V1}/user/{{user_id}}"): 404,
    ("GET", f"{V1}/login/oidc/{{name}}/login"): 404,  # no sign-in service of that name
    ("GET", f"{V1}/login/oidc/{{name}}/authorize"): 404,
    # the same records in our own API style (chalicelib/routes/projects.py)
    ("GET", "/projects/{uuid}"): 404,
    ("POST", "/projects/{uuid}/datasets"): 404,
    ("GET", "/projects/{uuid}/datasets/{dataset}"): 404,
    ("PATCH", "/projects/{uuid}/datasets/{dataset}"): 404,
    ("DELETE", "/projects/{uuid}/datasets/{dataset}"): 404,
    ("GET", "/projects/{uuid}/datasets/{dataset}/log"): 404,
    ("GET", "/collections/{uuid}"): 404,
    ("PATCH", "/collections/{uuid}"): 404,
    ("DELETE", "/collections/{uuid}"): 404,
    ("GET", "/collections/{uuid}/log"): 404,
    ("GET", "/projects/{uuid}/export/{format}"): 404,  # exports of what one may see (README "Exports")
    ("GET", "/collections/{uuid}/export/{format}"): 404,
}
TRACKER_NATIVE = ("/projects", "/collections")
# metadata submissions (chalicelib/routes/submitter.py, submissions.py), walked with champion's
# folder holding one sample draft: the schemas and the caller's own (empty) lists are open
SUBMITTER = "/submitter"
SUBMISSIONS_OPEN = {
    ("GET", f"{SUBMITTER}/schemas"),
    ("GET", f"{SUBMITTER}/schemas/{{schema}}"),
    ("GET", f"{SUBMITTER}/folders"),
    ("GET", f"{SUBMITTER}/objects/{{schema}}"),
    ("GET", f"{SUBMITTER}/drafts/{{schema}}"),
    ("GET", "/submissions/schemas"),
    ("GET", "/submissions/schemas/{schema}"),
    ("GET", "/submissions/folders"),
}
# a new folder of one's own: the body is validated
SUBMISSIONS_OWN_WRITES = {("POST", f"{SUBMITTER}/folders"), ("POST", "/submissions/folders")}
# the folder is named by ?folder=, which the walk does not send: 400 for everyone
SUBMISSIONS_NEED_FOLDER = {
    ("POST", f"{SUBMITTER}/objects/{{schema}}"),
    ("POST", f"{SUBMITTER}/drafts/{{schema}}"),
}
# validation only, storing nothing: every body is validated (an object that is one, but not a
# valid sample, is answered 200 with its problems)
SUBMISSIONS_VALIDATE = {("POST", "/submissions/validate/{schema}")}
# the submitter's form routes take multipart/form-data only: every JSON (or empty) body is 415
SUBMITTER_FORMS = {("POST", f"{SUBMITTER}/submit"), ("POST", f"{SUBMITTER}/validate")}


def good_bodies(uuid: str) -> dict[tuple[str, str], Any]:
    """A well-formed body for each route that takes one."""
    return {
        ("POST", "/datasets"): registration(base_uri=BUCKET_A),
        ("PATCH", "/datasets/{uuid}"): {"version": 1, "tags": ["x"]},
        ("POST", "/archives"): {"filename": "run-7.zip"},
        ("POST", "/uploads"): {"base_uri": BUCKET_A, "folder": "run-7"},
        ("POST", "/users"): {"username": "newcomer"},
        ("PATCH", "/users/{username}"): {"display_name": "C", "version": 1},
        ("POST", "/base-uris"): {"base_uri": "s3://new-bucket"},
        ("PUT", "/uris/{uri}"): registration(base_uri=BUCKET_A, uuid=uuid),
        ("PUT", "/uris/{scheme}/{bucket}/{name}"): registration(base_uri=BUCKET_A, uuid=uuid),
        ("POST", "/uris"): {"free_text": "x"},
        ("POST", "/dataset/search"): {"free_text": "x"},
        ("POST", "/dataset/register"): registration(base_uri=BUCKET_A, uuid=uuid),
        ("POST", "/dataset/readme"): {"uri": f"{BUCKET_A}/{uuid}"},
        ("POST", "/dataset/manifest"): {"uri": f"{BUCKET_A}/{uuid}"},
        ("POST", "/dataset/annotations"): {"uri": f"{BUCKET_A}/{uuid}"},
        ("POST", "/admin/user/register"): [{"username": "newcomer", "is_admin": True}],
        ("POST", "/admin/base_uri/register"): {"base_uri": "s3://new-bucket"},
        ("POST", "/admin/permission/info"): {"base_uri": BUCKET_A},
        ("POST", "/admin/permission/update_on_base_uri"): {
            "base_uri": BUCKET_A,
            "users_with_search_permissions": ["outsider"],
            "users_with_register_permissions": ["outsider"],
        },
        ("PUT", "/users/{username}"): {"is_admin": True},
        ("PUT", "/base-uris/{base_uri}"): {
            "users_with_search_permissions": ["outsider"],
            "users_with_register_permissions": ["outsider"],
        },
        ("PUT", "/base-uris/{base_uri}/permissions"): {
            "users_with_search_permissions": ["outsider"],
            "users_with_register_permissions": ["outsider"],
        },
    }


def routes() -> list[tuple[str, str]]:
    import app as app_module

    return sorted((method, path) for path, entries in app_module.app.routes.items() for method in entries)


@pytest.mark.parametrize("caller", ["outsider", "reader", "bravo"])
def test_a_caller_who_may_not_act_gets_the_same_answer_whatever_it_sends(personas: Api, caller: str) -> None:
    """outsider: no rights; reader: search on bucket-a only; bravo: registrar of bucket-b.
    None may change anything of champion's dataset on bucket-a, nor administer."""
    uuid = register(personas)["uuid"]
    folder, accession = folder_with_a_draft(personas)
    values = {
        "uuid": uuid,
        "base_uri": quote(BUCKET_A, safe=""),
        "username": "champion",
        "archive_id": "ar-" + "0" * 24,
        "uri": quote_plus(f"{BUCKET_A}/{uuid}"),
        "scheme": "s3",
        "bucket": BUCKET_A.removeprefix("s3://"),
        "name": uuid,
        "id": "1",
        "kind": "run",
        "number": "0",
        "run_number": "1",
        "blank": "",
        "user_id": user_uuid("champion"),
        "key_id": "0123456789abcdef",
        "dataset": uuid,
        "version": "1",
        "schema": "sample",
        "folder_id": folder,
        "accession": accession,
        "format": "datacite+json",  # GET /datasets/{uuid}/export/{format}: an export reader may read
    }
    good = good_bodies(uuid)
    seen = []
    for method, route in routes():
        if (method, route) in NO_AUTH:
            continue
        path = route.format(**values)
        bodies = dict(BODIES)
        if (method, route) in good:
            bodies["well-formed"] = json.dumps(good[method, route]).encode()
        answers = {name: personas.call(method, path, caller, raw=raw).status_code for name, raw in bodies.items()}
        seen.append((method, route))
        if (method, route) in OPEN:
            assert set(answers.values()) == {OPEN[method, route]}, (method, route, answers)
            continue
        if (method, route) in OPEN_SEARCHES:
            assert answers["well-formed"] == answers["none"] == answers["empty"] == 200, (method, route, answers)
            assert answers["malformed"] == answers["junk"] == answers["array"] == 400, (method, route, answers)
            continue
        if (method, route) in URI_BODY_READS:
            assert answers["well-formed"] == (200 if caller == "reader" else 404), (method, route, answers)
            assert {answers[name] for name in BODIES} == {400}, (method, route, answers)
            continue
        if (method, route) in TRACKER_OPEN:
            assert set(answers.values()) == {200}, (method, route, answers)
            continue
        if (method, route) in TRACKER_OWN_WRITES:
            assert answers["malformed"] == answers["array"] == 400, (method, route, answers)
            continue
        if route.startswith(V1) or route.startswith(TRACKER_NATIVE):
            expected = TRACKER_REFUSED.get((method, route), 403)
            assert set(answers.values()) == {expected}, (caller, method, route, answers)
            continue
        if (method, route) in SUBMISSIONS_OPEN:
            assert set(answers.values()) == {200}, (method, route, answers)
            continue
        if (method, route) in SUBMISSIONS_OWN_WRITES:
            assert set(answers.values()) == {400}, (method, route, answers)  # no body names a folder
            continue
        if (method, route) in SUBMISSIONS_NEED_FOLDER:
            assert set(answers.values()) == {400}, (method, route, answers)
            continue
        if (method, route) in SUBMITTER_FORMS:
            assert set(answers.values()) == {415}, (method, route, answers)
            continue
        if (method, route) in SUBMISSIONS_VALIDATE:
            assert answers["none"] == answers["malformed"] == answers["array"] == 400, (method, route, answers)
            continue
        if (method, route) == ("GET", f"{SUBMITTER}/users/{{user_id}}"):
            assert set(answers.values()) == {403}, (method, route, answers)  # only /users/current
            continue
        if route.startswith("/users/{username}/keys"):
            # champion's keys: theirs and user managers' only
            assert set(answers.values()) == {403}, (caller, method, route, answers)
            continue
        if (method, route) == ("DELETE", "/users/me/keys/{key_id}"):
            assert set(answers.values()) == {404}, (caller, method, route, answers)
            continue
        if (method, route) == FACILITY_LOG:
            assert set(answers.values()) == {404}, (caller, method, route, answers)
            continue
        if route.startswith(MYMDC):
            expected = mymdc_expectation(method, route, caller)
            if expected is None:
                assert answers["malformed"] == 400 and answers["empty"] == 422, (method, route, answers)
            else:
                assert set(answers.values()) == {expected}, (caller, method, route, answers)
            continue
        if caller == "reader" and method == "GET" and route.startswith(DSERVER_READS):
            assert set(answers.values()) == {200}, (method, route, answers)  # reader may read bucket-a
            continue
        if (method, route) == ("GET", "/datasets/{uuid}/items/{id}/url"):
            # champion's dataset is a record (no files to link) and has no item "1": 404 for all
            assert set(answers.values()) == {404}, (caller, method, route, answers)
            continue
        if caller == "reader" and method == "GET" and route.startswith("/datasets/{uuid}"):
            # reader may read champion's dataset (search permission on bucket-a)
            if route == "/datasets/{uuid}/log":
                assert set(answers.values()) == {403}, (method, route, answers)
            elif route == "/datasets/{uuid}/doi":
                assert set(answers.values()) == {404}, (method, route, answers)  # it has no DOI
            else:
                assert set(answers.values()) == {200}, (method, route, answers)
            continue
        if caller == "bravo" and (method, route) in (
            ("POST", "/datasets"),
            ("PUT", "/uris/{uri}"),
            ("PUT", "/uris/{scheme}/{bucket}/{name}"),
            ("POST", "/dataset/register"),
            ("POST", "/uploads"),
        ):
            # bravo registers (on bucket-b): what it sends decides where, so it is validated;
            # the well-formed body names bucket-a, where it may not register
            assert answers["well-formed"] == 403 and answers["malformed"] == 400, answers
            continue
        assert len(set(answers.values())) == 1, (caller, method, route, answers)
        assert set(answers.values()) <= {403, 404}, (caller, method, route, answers)
    assert len(seen) >= 25, seen  # the walk covered the routing table
    # and nothing changed: champion's dataset is as registered, no user or base URI was added
    record = personas.get(f"/datasets/{uuid}").json_body
    assert record["version"] == 1
    assert "newcomer" not in [u["username"] for u in personas.get("/users?page_size=100").json_body]
    assert "s3://new-bucket" not in [b["base_uri"] for b in personas.get("/base-uris?page_size=100").json_body]
    held = personas.get(f"/submissions/folders/{folder}", user="champion").json_body
    assert held["version"] == 1 and len(held["drafts"]) == 1 and not held["published"]
    permissions = personas.get(f"/base-uris/{quote(BUCKET_A, safe='')}").json_body
    assert permissions["users_with_search_permissions"] == ["champion", "reader"]
    assert permissions["users_with_register_permissions"] == ["champion"]
