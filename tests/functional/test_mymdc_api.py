"""The myMdC API (issue 18) in process: what metadata_client 4.2.2 sends and reads
(``docs/research/mymdc-client.md``), over the fixture data its own tests expect, with personas."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.composition import root
from chalicelib.domain import User
from infra.local import xfel
from tests.functional.conftest import Api

P = "/mymdc/api"
ADMIN = User(username="admin", is_admin=True)
DAQ = "daq"
TECH_RUN = {
    "run_number": 126,
    "run_alias": "",
    "experiment_id": "-1",
    "sample_id": "-1",
    "begin_at": "2014-06-25T08:30:00.000+02:00",
    "end_at": "",
    "first_train": 126,
    "last_train": "",
    "flg_available": "true",
    "flg_status": "1",
    "original_format": "",
    "system_msg": "",
    "description": "",
    "runs_techniques_attributes": [{"technique_id": -1}],
}


def body(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


@pytest.fixture
def xfel_api(api: Api) -> Api:
    """The client tests' fixtures, a DAQ principal with rights on the repositories, a member
    of proposal 0 and an outsider."""
    for name in (DAQ, "member", "outsider"):
        assert api.post("/users", {"username": name}).status_code == 201
    xfel.load(root(), ADMIN, xfel.test_fixtures(), DAQ)
    root().facility.set_members(ADMIN, -1, ["member"])
    api.sync()
    return api


def create_run(api: Api, number: int = 126, user: str = DAQ) -> dict[str, Any]:
    r = api.post(
        f"{P}/runs/", {"run": {**TECH_RUN, "run_number": number}}, user, headers={"X-User-Email": "me@example.org"}
    )
    assert r.status_code == 201, r.body
    return dict(body(r))


def create_group(api: Api, run_id: int, user: str = DAQ) -> dict[str, Any]:
    group = {
        "name": "",
        "language": "en",
        "doi": None,
        "data_group_type_id": "1",
        "experiment_id": -1,
        "user_id": "-1",
        "prefix_path": "/webstorage/XFEL/raw/SPB/2016_01/p0008/e0001/",
        "flg_available": "true",
        "flg_writing": "false",
        "flg_public": "false",
        "format": "",
        "data_passport": "",
        "removed_at": "",
        "description": "",
        "runs_data_groups_attributes": [{"run_id": run_id}],
    }
    r = api.post(f"{P}/data_groups/", {"data_group": group}, user)
    assert r.status_code == 201, r.body
    return dict(body(r))


def test_data_group_types_page_with_headers(xfel_api: Api) -> None:
    r = xfel_api.get(f"{P}/data_group_types/?page=1&page_size=1", DAQ)
    assert r.status_code == 200
    [raw] = body(r)
    shown = {k: raw[k] for k in ("id", "name", "identifier", "flg_available", "description")}
    assert shown == {"id": 1, "name": "Raw", "identifier": "RAW", "flg_available": True, "description": ""}
    assert r.headers["X-Total-Count"] == "6"
    assert r.headers["X-Total-Pages"] == "6"
    assert r.headers["X-Count-Per-Page"] == "1"
    assert r.headers["X-Current-Page"] == "1"


def test_proposal_by_number_double_slash_and_daq_info(xfel_api: Api) -> None:
    r = xfel_api.get(f"{P}/proposals//by_number/0", DAQ)
    assert r.status_code == 200, r.body
    assert body(r)["id"] == -1
    info = body(xfel_api.get(f"{P}/proposals//by_number_daq_info/900061", DAQ))
    assert info["id"] == -2
    assert info["instrument_identifier"] == "SPB"
    assert info["proposal_folder"] == "p900061"
    assert info["def_proposal_path"] == "/gpfs/exfel/exp/SPB/200030/p900061/raw"
    assert info["local_contact_id"] is None
    assert info["abstract"] == ""
    missing = xfel_api.get(f"{P}/proposals//by_number/-99", DAQ)
    assert missing.status_code == 404
    assert body(missing)["info"] == "Proposal number -99 not found"


def test_proposal_runs_view(xfel_api: Api) -> None:
    r = xfel_api.get(f"{P}/proposals/by_number/0/runs?page=1&page_size=100", DAQ)
    assert r.status_code == 200, r.body
    data = body(r)
    assert data["proposal"]["id"] == -1
    assert [run["id"] for run in data["runs"]] == [-1, -2]
    first = data["runs"][0]
    assert (first["run_number"], first["flg_status"], first["flg_run_quality"]) == (1, 2, 1)
    assert first["num_files"] == 1
    assert first["repositories"] == {
        "XFEL_TESTS_REPO": {"name": "XFEL Tests Repository", "mount_point": "/webstorage/XFEL", "data_groups": 1}
    }
    second = body(xfel_api.get(f"{P}/proposals/by_number/0/runs?page=2&page_size=1", DAQ))
    assert [run["id"] for run in second["runs"]] == [-2]


def test_empty_page_is_an_empty_list(xfel_api: Api) -> None:
    r = xfel_api.get(f"{P}/samples/?proposal_id=-1&page=100&page_size=3", DAQ)
    assert r.status_code == 200
    assert r.body == b"[]"


def test_active_proposal(xfel_api: Api) -> None:
    assert body(xfel_api.get(f"{P}/instruments/1/active_proposal", DAQ))["number"] == 900061
    r = xfel_api.get(f"{P}/instruments/-2/active_proposal", DAQ)
    assert r.status_code == 404
    assert body(r) == {"info": "Resource not found!"}  # the whole body: the client's tests compare it


def test_run_validation_messages(xfel_api: Api) -> None:
    r = xfel_api.post(f"{P}/runs/", {"run": {**TECH_RUN, "run_number": 125, "first_train": None}}, DAQ)
    assert r.status_code == 422
    assert body(r)["info"] == {"first_train": ["can't be blank", "is not a number"]}
    run = create_run(xfel_api)
    assert [t["id"] for t in run["techniques"]] == [-1]
    assert run["run_folder"] == "r0126"
    again = xfel_api.post(f"{P}/runs/", {"run": {**TECH_RUN}}, DAQ)
    assert again.status_code == 422
    assert body(again) == {
        "info": {
            "experiment_id": ["has already been taken"],
            "run_number": ["must be unique per proposal", "has already been taken"],
        }
    }
    closing = {"run_number": 1234, "end_at": "2015-06-25T08:30:00.000+02:00", "last_train": -1, "flg_available": 1,
               "flg_status": 1, "run_id": str(run["id"]), "experiment_id": -1, "sample_id": -1}  # fmt: skip
    bad = body(xfel_api.put(f"{P}/runs/{run['id']}", closing, DAQ))["info"]
    assert bad["run_number"] == ["cannot be updated"]
    assert bad["run_folder"] == ["cannot be updated"]
    assert bad["last_train"] == ["must be greater than or equal to 126"]
    closed = {"end_at": "2015-06-25T08:30:00.000+02:00", "last_train": 127, "flg_available": 1, "flg_status": 2,
              "runs_techniques_attributes": [{"technique_id": -2}]}  # fmt: skip
    r = xfel_api.put(f"{P}/runs/{run['id']}", closed, DAQ)
    assert r.status_code == 200, r.body
    assert [t["id"] for t in body(r)["techniques"]] == [-1, -2]
    assert body(r)["last_train"] == 127


def test_data_group_rules(xfel_api: Api) -> None:
    run = create_run(xfel_api)
    r = xfel_api.post(f"{P}/data_groups/", {"data_group": {"data_group_type_id": 1, "experiment_id": -1,
                                                           "user_id": -1, "prefix_path": None}}, DAQ)  # fmt: skip
    assert body(r)["info"] == {"prefix_path": ["can't be blank", "is too short (minimum is 2 characters)"]}
    group = create_group(xfel_api, run["id"])
    assert group["doi"] == f"xfel.mdc.dg.{group['id']}"
    flat = {"data_group_type_id": 2, "creator_id": -999, "name": "just a new name", "prefix_path": "bla_bla"}
    r = xfel_api.put(f"{P}/data_groups/{group['id']}", flat, DAQ)
    assert r.status_code == 422
    assert list(body(r)["info"].items()) == [
        ("name", ["cannot be updated"]),
        ("data_group_type_id", ["cannot be updated"]),
        ("prefix_path", ["cannot be updated"]),
    ]
    r = xfel_api.put(f"{P}/data_groups/{group['id']}", {"data_group_type_id": 1, "creator_id": -1}, DAQ)
    assert r.status_code == 200, r.body
    short = {"data_file": {"data_group_id": group["id"], "files": "[{'filename':'1','relative_path':'1'}]"}}
    assert body(xfel_api.post(f"{P}/data_files/", short, DAQ))["info"] == {
        "files": ["is too short (minimum is 40 characters)"]
    }
    ids = body(xfel_api.get(f"{P}/runs/all_raw_data_groups_ids?run_number=126&proposal_number=000000", DAQ))
    assert ids == [group["id"]]


def test_replica_is_a_catalogue_replica(xfel_api: Api) -> None:
    run = create_run(xfel_api)
    group = create_group(xfel_api, run["id"])
    files = "[{'filename':'s0000.h5','sequence':11,'relative_path':'r0001/'}]"
    r = xfel_api.post(f"{P}/data_files/", {"data_file": {"data_group_id": str(group["id"]), "files": files}}, DAQ)
    assert r.status_code == 201, r.body
    assert body(r)["files"] == files
    rows = xfel_api.get(f"{P}/data_groups_repositories/?data_group_id={group['id']}&repository_id=11", DAQ)
    assert rows.body == b"[]"
    new = {"data_group_repository": {"data_group_id": group["id"], "repository_id": 11, "flg_available": "true"}}
    r = xfel_api.post(f"{P}/data_groups_repositories/", new, DAQ)
    assert r.status_code == 201, r.body
    row = body(r)
    assert row["flg_available"] is True
    uuid = root().facility.record("data_group", group["id"]).uuid  # type: ignore[union-attr]
    dataset = body(xfel_api.get(f"/datasets/{uuid}", "admin"))
    assert "file://mymdc/XFEL_GPFS_OFFLINE_RAW_CC/" + uuid in [rep["uri"] for rep in dataset["replicas"]]
    manifest = body(xfel_api.get(f"/datasets/{uuid}/manifest", "admin"))
    assert [i["relpath"] for i in manifest["items"].values()] == ["r0001/s0000.h5"]
    r = xfel_api.put(
        f"{P}/data_groups_repositories/{row['id']}", {"data_group_repository": {"flg_available": "false"}}, DAQ
    )
    assert r.status_code == 200, r.body
    assert body(r)["flg_available"] is False
    assert xfel_api.get(f"/datasets/{uuid}", "admin").status_code == 404
    file_id = body(xfel_api.get(f"{P}/data_files/?data_group_id={group['id']}", DAQ))[0]["id"]
    for path in (f"data_files/{file_id}", f"runs/{run['id']}", f"data_groups/{group['id']}"):
        r = xfel_api.delete(f"{P}/{path}", DAQ)
        assert r.status_code == 204, (path, r.body)
        assert r.body == b""


def test_outsider_sees_no_proposal_run_or_sample(xfel_api: Api) -> None:
    for path in ("proposals//by_number/0", "proposals/-1", "runs/-1", "samples/-1", "experiments/-1",
                 "data_groups/-1", "proposals/by_number/0/runs"):  # fmt: skip
        r = xfel_api.get(f"{P}/{path}", "outsider")
        assert r.status_code == 404, path
    assert xfel_api.get(f"{P}/samples/?proposal_id=-1", "outsider").body == b"[]"
    assert xfel_api.get(f"{P}/runs/?run_number=1", "outsider").body == b"[]"
    assert xfel_api.post(f"{P}/runs/", {"run": TECH_RUN}, "outsider").status_code == 403
    # reference data is public to signed-in users
    assert xfel_api.get(f"{P}/instruments/1", "outsider").status_code == 200
    assert xfel_api.get(f"{P}/data_group_types/", None).status_code == 401


def test_member_reads_but_does_not_write(xfel_api: Api) -> None:
    assert xfel_api.get(f"{P}/proposals//by_number/0", "member").status_code == 200
    assert body(xfel_api.get(f"{P}/samples/?proposal_id=-1", "member"))[0]["id"] == -1
    assert xfel_api.post(f"{P}/runs/", {"run": TECH_RUN}, "member").status_code == 403
    # another proposal (900061) is not the member's
    assert xfel_api.get(f"{P}/proposals//by_number/900061", "member").status_code == 404


def test_bad_user_email_header(xfel_api: Api) -> None:
    r = xfel_api.get(f"{P}/data_group_types/", DAQ, headers={"X-User-Email": "xxxxxxxxxxxxxx"})
    assert r.status_code == 400
    assert body(r)["info"] == "Incorrect request header: 'X-User-Email'!"


def test_demo_data_loads_and_is_idempotent(api: Api) -> None:
    assert api.post("/users", {"username": DAQ}).status_code == 201
    first = xfel.load(root(), ADMIN, xfel.demo_fixtures(), DAQ)
    assert first["run"] == 5
    assert xfel.load(root(), ADMIN, xfel.demo_fixtures(), DAQ) == {}
    api.sync()
    assert body(api.get(f"{P}/instruments/{xfel.DEMO_INSTRUMENT}/active_proposal", DAQ))["number"] == xfel.DEMO_PROPOSAL
    runs = body(api.get(f"{P}/proposals/by_number/{xfel.DEMO_PROPOSAL}/runs", DAQ))["runs"]
    assert [r["num_files"] for r in runs] == [3, 3, 3]
    assert sorted(runs[0]["repositories"]) == [xfel.OFFLINE_REPOSITORY, xfel.TEST_REPOSITORY]
    assert list(runs[2]["repositories"]) == [xfel.TEST_REPOSITORY]


def test_a_replica_removed_through_the_catalogue_api_is_unavailable_in_mymdc(xfel_api: Api) -> None:
    group = root().facility.record("data_group", -1)
    assert group is not None
    uri = f"file://mymdc/{xfel.TEST_REPOSITORY}/{group.uuid}"
    row = body(xfel_api.get(f"{P}/data_groups_repositories/-1", DAQ))
    assert row["flg_available"] is True
    r = xfel_api.delete(f"/datasets/{group.uuid}/replicas?uri={uri}", DAQ)
    assert r.status_code == 200, r.body
    assert body(xfel_api.get(f"{P}/data_groups_repositories/-1", DAQ))["flg_available"] is False
    runs = body(xfel_api.get(f"{P}/proposals/by_number/0/runs", DAQ))["runs"]
    assert runs[0]["repositories"] == {}
    # and back through myMdC: one record, seen by both APIs
    r = xfel_api.put(f"{P}/data_groups_repositories/-1", {"flg_available": True}, DAQ)
    assert r.status_code == 200, r.body
    assert uri in [rep["uri"] for rep in body(xfel_api.get(f"/datasets/{group.uuid}", DAQ))["replicas"]]


def test_members_search_their_proposals_data_and_no_other(xfel_api: Api) -> None:
    group = root().facility.record("data_group", -1)
    assert group is not None
    assert xfel_api.get(f"/datasets/{group.uuid}", "member").status_code == 200
    hits = body(xfel_api.get("/datasets?tag=p000000", "member"))["items"]
    assert [h["uuid"] for h in hits] == [group.uuid]
    assert [h["kind"] for h in hits] == ["facility"]
    assert body(xfel_api.get("/datasets/facets?tag=p000000", "member"))["facets"]["type"] == [
        {"value": "facility", "count": 1}
    ]
    assert xfel_api.get(f"/datasets/{group.uuid}", "outsider").status_code == 404
    assert body(xfel_api.get("/datasets?tag=p000000", "outsider"))["items"] == []
    # membership is the proposal's: removing the member removes their view of the data
    root().facility.set_members(ADMIN, -1, [])
    xfel_api.sync()
    assert xfel_api.get(f"/datasets/{group.uuid}", "member").status_code == 404
    assert xfel_api.get(f"{P}/proposals//by_number/0", "member").status_code == 404


def test_the_acting_person_is_in_the_datasets_audit_log(xfel_api: Api) -> None:
    new = {"data_group_repository": {"data_group_id": -1, "repository_id": 11, "flg_available": "true"}}
    r = xfel_api.post(f"{P}/data_groups_repositories/", new, DAQ, headers={"X-User-Email": "me@example.org"})
    assert r.status_code == 201, r.body
    group = root().facility.record("data_group", -1)
    assert group is not None
    base_uri = f"file://mymdc/{xfel.OFFLINE_REPOSITORY}"
    log = body(xfel_api.get(f"/datasets/{group.uuid}/log?base_uri={base_uri}", DAQ))
    entries = log["entries"] if isinstance(log, dict) else log
    assert any(e.get("user") == DAQ and e.get("acting_for") == "me@example.org" for e in entries), entries


def test_proposals_are_projects_beside_the_orders(xfel_api: Api) -> None:
    """GET /projects lists the proposals a caller may read (as a member, or as an admin) beside
    the Data Tracker's orders, each with its kind; outsiders see neither."""
    api = xfel_api
    proposal = root().facility.record("proposal", -1)
    assert proposal is not None
    listed = body(api.get("/projects", "member"))["items"]
    assert [(p["kind"], p["_id"], p["number"]) for p in listed] == [("proposal", proposal.uuid, 0)]
    assert body(api.get(f"/projects/{proposal.uuid}", "member"))["title"] == proposal.fields["title"]
    assert body(api.get("/projects", "outsider"))["items"] == []
    assert api.get(f"/projects/{proposal.uuid}", "outsider").status_code == 404
    made = api.post("/projects", {"title": "An order beside it"}, "admin")
    assert made.status_code == 201, made.body
    kinds = [p["kind"] for p in body(api.get("/projects", "admin"))["items"]]
    assert kinds[0] == "order" and "proposal" in kinds
    assert body(api.get("/projects?q=order", "admin"))["total"] == 1


def test_paging_and_ids_take_ascii_digits_only(xfel_api: Api) -> None:
    """A page that is no whole number is the default, as kaminari reads it: "²" too, which
    str.isdigit() takes and int() refuses (it was a 500; found by schemathesis); an id in
    another script's digits names no record."""
    r = xfel_api.get(f"{P}/data_group_types/?page=%C2%B2&page_size=%C2%B2", DAQ)
    assert r.status_code == 200, r.body
    assert r.headers["X-Current-Page"] == "1" and r.headers["X-Count-Per-Page"] == "100"
    assert xfel_api.get(f"{P}/data_group_types/%D9%A1", DAQ).status_code == 404  # ARABIC-INDIC DIGIT ONE
    assert xfel_api.get(f"{P}/data_group_types/1", DAQ).status_code == 200
