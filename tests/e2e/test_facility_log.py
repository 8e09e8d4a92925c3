"""The facility records' audit log on the local stack: the runner pumps the facility table's
stream to ``app.on_facility_stream`` as Lambda would (issue 18: the acting person is logged)."""

from __future__ import annotations

import time
from typing import Any

import requests

from chalicelib.composition import Root
from chalicelib.domain import User
from infra.local import xfel
from infra.local.stack import LocalStack, patched_environ

ADMIN = User(username="admin", is_admin=True)
DAQ = "daq-facility-log"
ME = "me@example.org"
RUN = {
    "run_number": 9126,
    "experiment_id": "-1",
    "sample_id": "-1",
    "begin_at": "2014-06-25T08:30:00.000+02:00",
    "first_train": 126,
    "flg_available": "true",
    "flg_status": "1",
}


def test_a_run_created_and_deleted_through_mymdc_is_logged_with_the_acting_person(facility_stack: LocalStack) -> None:
    stack = facility_stack
    session = requests.Session()
    session.trust_env = False
    stack.add_user(DAQ)
    daq = {"Authorization": f"Bearer {stack.token(DAQ)}", "X-User-Email": ME}
    with patched_environ(stack.env):
        root = Root(stack.settings())
        root.access.principal(DAQ)  # its catalogue record, before any request caches it without rights
        xfel.load(root, ADMIN, xfel.test_fixtures(), DAQ)
    r = session.post(f"{stack.api_url}/mymdc/api/runs/", json={"run": RUN}, headers=daq, timeout=10)
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    r = session.delete(f"{stack.api_url}/mymdc/api/runs/{run_id}", headers=daq, timeout=10)
    assert r.status_code == 204, r.text

    admin = {"Authorization": f"Bearer {stack.token('admin')}"}
    deadline = time.monotonic() + 30
    entries: list[dict[str, Any]] = []
    while time.monotonic() < deadline:  # the log follows the records through the stream
        r = session.get(f"{stack.api_url}/facility/run/{run_id}/log", headers=admin, timeout=10)
        entries = r.json().get("entries", []) if r.status_code == 200 else []
        if len(entries) >= 2:
            break
        time.sleep(0.5)
    assert [(e["action"], e["user"], e.get("acting_for")) for e in entries] == [("add", DAQ, ME), ("delete", DAQ, ME)]
    # the run is gone: its log is the admins' only
    assert session.get(f"{stack.api_url}/facility/run/{run_id}/log", headers=daq, timeout=10).status_code == 404
