"""The audit log of facility records (issue 18: ``X-User-Email`` is recorded as the acting
person): every change of a record through the myMdC API, derived from the facility table's
stream, read at ``GET /facility/{kind}/{id}/log`` by whoever may read the record."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.tables import AuditItem
from chalicelib.facility.schema import KINDS
from tests.functional import test_mymdc_api
from tests.functional.conftest import Api
from tests.functional.test_datasets import replay_streams
from tests.functional.test_mymdc_api import DAQ, P, body, create_run

xfel_api = test_mymdc_api.xfel_api  # the fixture: the XFEL test fixtures loaded, a DAQ, a member, an outsider

ME = "me@example.org"
AS_ME = {"X-User-Email": ME}


def log_of(api: Api, kind: str, id: int, user: str) -> list[dict[str, Any]]:
    r = api.get(f"/facility/{kind}/{id}/log", user)
    assert r.status_code == 200, r.body
    entries: list[dict[str, Any]] = body(r)["entries"]
    return entries


def rows(entries: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(e["action"], e["user"], e.get("acting_for")) for e in entries]


def test_a_runs_add_edit_and_delete_name_the_daq_and_the_acting_person(xfel_api: Api) -> None:
    run = create_run(xfel_api)  # as the DAQ, with X-User-Email: me@example.org
    [link] = run["techniques"]
    closed = {"end_at": "2015-06-25T08:30:00.000+02:00", "last_train": 127, "flg_available": 1, "flg_status": 2}
    r = xfel_api.put(f"{P}/runs/{run['id']}", closed, DAQ, headers=AS_ME)
    assert r.status_code == 200, r.body

    entries = log_of(xfel_api, "run", run["id"], DAQ)
    assert rows(entries) == [("add", DAQ, ME), ("edit", DAQ, ME)]
    add, edit = entries
    assert (add["entity_type"], add["entity_id"]) == ("run", str(run["id"]))
    assert add["value"]["run_number"] == 126 and add["value"]["created_by"] == DAQ
    assert edit["value"] == {"end_at": closed["end_at"], "last_train": 127, "flg_status": 2}
    assert log_of(xfel_api, "run", run["id"], "member") == entries  # a member of the proposal reads it
    assert log_of(xfel_api, "run", run["id"], "admin") == entries
    # the run's technique link has its own log
    assert rows(log_of(xfel_api, "runs_technique", link["runs_techniques_id"], DAQ)) == [("add", DAQ, ME)]
    # whoever may not read the run gets 404, as for the run itself
    assert xfel_api.get(f"/facility/run/{run['id']}/log", "outsider").status_code == 404
    assert xfel_api.get(f"{P}/runs/{run['id']}", "outsider").status_code == 404

    r = xfel_api.delete(f"{P}/runs/{run['id']}", DAQ, headers={"X-User-Email": "other@example.org"})
    assert r.status_code == 204, r.body
    gone = log_of(xfel_api, "run", run["id"], "admin")
    assert rows(gone) == [("add", DAQ, ME), ("edit", DAQ, ME), ("delete", DAQ, "other@example.org")]
    assert gone[2]["value"]["last_train"] == 127  # the fields it had
    # the link went with the run (a cascade), logged the same way
    link_log = log_of(xfel_api, "runs_technique", link["runs_techniques_id"], "admin")
    assert rows(link_log) == [("add", DAQ, ME), ("delete", DAQ, "other@example.org")]
    # a record that is gone: its log is the admins' only
    for user in (DAQ, "member", "outsider"):
        assert xfel_api.get(f"/facility/run/{run['id']}/log", user).status_code == 404, user

    # paged as /datasets/{uuid}/log
    first = body(xfel_api.get(f"/facility/run/{run['id']}/log?limit=2", "admin"))
    assert rows(first["entries"]) == rows(gone[:2]) and first["next"]
    rest = body(xfel_api.get(f"/facility/run/{run['id']}/log?limit=2&after={first['next']}", "admin"))
    assert rest["entries"] == gone[2:] and rest["next"] is None
    assert xfel_api.get(f"/facility/run/{run['id']}/log?limit=0", "admin").status_code == 400

    # redelivered streams write nothing twice
    assert replay_streams(xfel_api) > 0
    assert log_of(xfel_api, "run", run["id"], "admin") == gone


def test_reference_data_logs_are_read_by_every_signed_in_user(xfel_api: Api) -> None:
    entries = log_of(xfel_api, "instrument", 1, "outsider")
    assert rows(entries) == [("add", "admin", None)]  # the fixtures, loaded by an admin
    assert xfel_api.get("/facility/instrument/1/log", None).status_code == 401


def test_unknown_kinds_records_and_ids_are_404(xfel_api: Api) -> None:
    for path in ("nonsense/1", "claim:x/0", "counter:run/0", "run/999999", "run/abc", "run/1.5", "run/" + "9" * 39):
        assert xfel_api.get(f"/facility/{path}/log", "admin").status_code == 404, path


def test_claims_and_counters_make_no_entries(xfel_api: Api) -> None:
    create_run(xfel_api)  # takes claims and allocates an id from a counter
    subjects = {item.subject for item in AuditItem.scan()}
    facility = {s for s in subjects if s.startswith("facility#")}
    assert facility  # the fixtures' records and the run
    assert {s.split("#")[1] for s in facility} <= set(KINDS)
    assert not [s for s in subjects if "claim:" in s or "counter:" in s]
