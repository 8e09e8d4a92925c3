"""Projects (a facility proposal is the catalogue's project): its members see its registered
datasets whatever their base URI, and nothing more; and the acting person a service
principal names is kept in the audit log (functional tier)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote_plus

from chalicelib.catalogue.validation import Registration, parse_registration
from chalicelib.composition import root
from chalicelib.domain import User
from tests.functional.conftest import BUCKET_A, BUCKET_B, Api
from tests.support.data import registration

PROJECT = "p002012"


def admin() -> User:
    return root().access.principal("admin")


def project_registration(base_uri: str = BUCKET_B, project: str | None = PROJECT, **kw: object) -> Registration:
    """A registration as a service makes it: clients cannot name a project."""
    reg = parse_registration(registration(base_uri=base_uri, **kw))  # type: ignore[arg-type]
    return replace(reg, content=replace(reg.content, project=project))


def with_member(api: Api, *members: str) -> Api:
    """``member`` (no permission anywhere) and the given users as the members of PROJECT."""
    assert api.post("/users", {"username": "member"}).status_code == 201
    root().access.set_project_members(admin(), PROJECT, frozenset({"member", *members}))
    api.sync()
    return api


def registered(api: Api, reg: Registration, user: User | None = None) -> str:
    root().catalogue.register(user or admin(), reg)
    api.sync()
    return reg.content.uuid


def test_a_member_sees_the_projects_dataset_whatever_its_base_uri(personas: Api) -> None:
    api = with_member(personas)
    uuid = registered(api, project_registration())
    got = api.get(f"/datasets/{uuid}", user="member")
    assert got.status_code == 200, got.body
    assert got.json_body["project"] == PROJECT and got.json_body["base_uri"] == BUCKET_B
    assert api.get(f"/datasets/{uuid}/readme", user="member").status_code == 200
    assert api.get(f"/datasets/{uuid}/manifest", user="member").status_code == 200
    # not a member, and no right on bucket-b: nothing, exactly as for an unknown uuid
    for user in ("outsider", "reader", "champion"):
        assert api.get(f"/datasets/{uuid}", user=user).status_code == 404, user
        assert api.get(f"/datasets/{uuid}/readme", user=user).status_code == 404, user
    # bravo may search bucket-b: sees it as always
    assert api.get(f"/datasets/{uuid}", user="bravo").status_code == 200


def test_a_member_finds_the_projects_dataset_in_search_summary_and_dtool_listings(personas: Api) -> None:
    api = with_member(personas)
    uuid = registered(api, project_registration())
    other = registered(api, project_registration(project=None))  # bucket-b, no project
    hits = api.get("/datasets", user="member").json_body
    assert [(h["uuid"], h["project"]) for h in hits["items"]] == [(uuid, PROJECT)] and hits["total"] == 1
    assert api.get(f"/datasets?uuid={other}", user="member").json_body["total"] == 0
    assert api.get("/datasets", user="outsider").json_body["total"] == 0
    assert uuid not in [h["uuid"] for h in api.get("/datasets", user="reader").json_body["items"]]
    summary = api.get("/datasets/summary", user="member").json_body
    assert summary["number_of_datasets"] == 1 and summary["datasets_per_base_uri"] == {BUCKET_B: 1}
    assert api.get("/datasets/summary", user="outsider").json_body["number_of_datasets"] == 0
    # dserver's listing and lookup by URI
    rows = api.get("/uris", user="member").json_body
    assert [r["uuid"] for r in rows] == [uuid]
    assert api.get("/uris", user="outsider").json_body == []
    uri = f"{BUCKET_B}/{uuid}"
    assert api.get(f"/uris/{quote_plus(uri)}", user="member").status_code == 200
    assert api.get(f"/uris/{quote_plus(uri)}", user="outsider").status_code == 404
    assert api.get(f"/uuids/{uuid}", user="member").json_body[0]["uri"] == uri


def test_membership_grants_no_write(personas: Api) -> None:
    api = with_member(personas, "reader")
    uuid = registered(api, project_registration())
    # reader: search on bucket-a, member of the project; member: member only
    for user in ("member", "reader"):
        assert api.post("/datasets", registration(base_uri=BUCKET_B, uuid=uuid), user=user).status_code == 403
        patch = api.patch(f"/datasets/{uuid}", {"tags": ["x"]}, user=user, headers={"If-Match": '"1"'})
        assert patch.status_code == 403, (user, patch.body)
        gone = api.delete(f"/datasets/{uuid}/replicas?uri={quote_plus(f'{BUCKET_B}/{uuid}')}", user=user)
        assert gone.status_code == 403, (user, gone.body)
        assert api.get(f"/datasets/{uuid}/log", user=user).status_code == 403
        assert api.put(f"/uris/{quote_plus(f'{BUCKET_B}/{uuid}')}", registration(), user=user).status_code == 403
    assert api.get(f"/datasets/{uuid}", user="member").json_body["version"] == 1


def test_a_refused_upload_of_a_project_is_not_shown_to_its_members(personas: Api) -> None:
    api = with_member(personas)
    reg = project_registration()
    root().catalogue.record_problem(admin(), reg, "refused", ("hostile",))
    api.sync()
    assert api.get(f"/datasets/{reg.content.uuid}", user="member").status_code == 404


def test_clients_cannot_name_a_project(personas: Api) -> None:
    r = personas.post("/datasets", registration(project=PROJECT), user="champion")
    assert r.status_code == 400 and r.json_body["Code"] == "BadRequest", r.body
    assert "project" in r.json_body["Message"]


def test_a_client_registration_keeps_the_entrys_project(personas: Api) -> None:
    api = with_member(personas)
    uuid = registered(api, project_registration(base_uri=BUCKET_A))
    body = registration(uuid=uuid, tags=["revised"])  # champion edits it as a dtool client
    r = api.post("/datasets", body, user="champion")
    assert r.status_code == 200 and r.json_body["status"] == "updated" and r.json_body["dataset"]["project"] == PROJECT
    assert api.get(f"/datasets/{uuid}", user="member").json_body["tags"] == ["revised"]


def test_membership_is_set_by_admins_audited_and_removed(personas: Api) -> None:
    api = with_member(personas)
    uuid = registered(api, project_registration())
    assert api.get("/users/member").json_body["projects"] == [PROJECT]
    assert api.get("/users/me", user="member").json_body["projects"] == [PROJECT]
    log = api.get("/users/member/log?limit=100").json_body["entries"]
    memberships = [(e["action"], e["user"], e["value"]) for e in log if e["entity_type"] == "membership"]
    assert memberships == [("add", "admin", {"username": "member", "project": PROJECT})]
    root().access.set_project_members(admin(), PROJECT, frozenset())
    api.sync()
    assert api.get(f"/datasets/{uuid}", user="member").status_code == 404
    assert api.get("/datasets", user="member").json_body["total"] == 0
    log = api.get("/users/member/log?limit=100").json_body["entries"]
    assert [(e["entity_type"], e["action"]) for e in log][-1] == ("membership", "delete")


def test_the_acting_person_is_in_the_datasets_log(personas: Api) -> None:
    reg = project_registration(base_uri=BUCKET_A, project=None)
    service = replace(admin(), acting_for="me@example.org")
    uuid = registered(personas, reg, service)
    log = personas.get(f"/datasets/{uuid}/log", user="champion").json_body["entries"]
    assert [(e["action"], e["user"], e["acting_for"]) for e in log] == [("add", "admin", "me@example.org")]
    assert personas.get(f"/datasets/{uuid}").json_body["updated_for"] == "me@example.org"
    # a later write without an acting person: its entry names none
    body = registration(uuid=uuid, tags=["revised"])
    assert personas.post("/datasets", body, user="champion").status_code == 200
    log = personas.get(f"/datasets/{uuid}/log", user="champion").json_body["entries"]
    assert [(e["action"], e["user"], e.get("acting_for")) for e in log] == [
        ("add", "admin", "me@example.org"),
        ("edit", "champion", None),
    ]
    assert "acting_for" not in log[1] and "updated_for" not in personas.get(f"/datasets/{uuid}").json_body
