"""What ``make run`` adds to a started local stack: demo users, datasets and facility
records, and the banner that tells a new user how to reach each client's API.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import requests

from chalicelib import resources
from chalicelib.composition import Root
from chalicelib.domain import User
from infra.local import tracker_demo, xfel
from infra.local.stack import DTOOL_USER, LOG, LocalStack, patched_environ

DEMO_OPERATOR = User(username="cli:make-run", is_admin=True)


def _api(session: requests.Session, method: str, url: str, token: str, ok: tuple[int, ...], **kw: Any) -> Any:
    resp = session.request(method, url, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kw)
    if resp.status_code not in ok:
        raise RuntimeError(f"{method} {url} answered {resp.status_code}: {resp.text[:2000]}")
    return resp.json() if resp.content else None


def search_count(payload: Any) -> int:
    """How many datasets a ``GET /datasets`` answer reports (list, or an object with a total or hits)."""
    if isinstance(payload, list):
        return len(payload)
    if isinstance(payload, dict):
        total = payload.get("total")
        if isinstance(total, dict):  # OpenSearch style {"value": n}
            total = total.get("value")
        if isinstance(total, int):
            return total
        for key in ("hits", "items", "datasets", "results"):
            if isinstance(payload.get(key), list):
                return len(payload[key])
    return 0


# who signs in to the web page in the demo: searches and registers (uploads, archives) in the demo bucket
WEB_USER = "researcher"


def setup_demo(stack: LocalStack, n: int = 20) -> dict[str, str]:
    """Users ``admin``, ``reader``, :data:`WEB_USER` and :data:`DTOOL_USER` (who signs in
    with a password through ``POST /token``), the demo bucket as a base URI, ``n`` demo
    datasets; returns the tokens of admin and reader."""
    from infra.local.demo import demo_datasets, demo_folders, load_demo

    stack.add_user("admin", admin=True)
    stack.add_user("reader")
    stack.add_user(DTOOL_USER)
    stack.add_user(WEB_USER)
    admin = stack.token("admin")
    base_uri = f"s3://{resources.DEMO_BUCKET}"
    stack.watch_bucket(resources.DEMO_BUCKET)  # uploads there register themselves

    session = requests.Session()
    session.trust_env = False  # never send loopback calls through a proxy
    api = stack.api_url
    new_base_uri = {"base_uri": base_uri, "description": "Demo datasets of the local stack"}
    _api(session, "POST", f"{api}/base-uris", admin, (201, 409), json=new_base_uri)
    reader = {
        "username": "reader",
        "is_admin": False,
        "display_name": "Demo Reader",
        "email": "reader@example.org",
        "orcid": "",
    }
    _api(session, "POST", f"{api}/users", admin, (201, 409), json=reader)
    dtool_user = {**reader, "username": DTOOL_USER, "display_name": "Demo dtool user", "email": "dtool@example.org"}
    _api(session, "POST", f"{api}/users", admin, (201, 409), json=dtool_user)
    web_user = {**reader, "username": WEB_USER, "display_name": "Demo Researcher", "email": "researcher@example.org"}
    _api(session, "POST", f"{api}/users", admin, (201, 409), json=web_user)
    permissions = {
        "users_with_search_permissions": ["admin", "reader", DTOOL_USER, WEB_USER],
        "users_with_register_permissions": ["admin", WEB_USER],
    }
    quoted = urllib.parse.quote(base_uri, safe="")
    _api(session, "PUT", f"{api}/base-uris/{quoted}/permissions", admin, (200,), json=permissions)
    # published: harvesters see the demo datasets at /oai at once (README "OAI-PMH")
    _api(session, "PATCH", f"{api}/base-uris/{quoted}", admin, (200,), json={"public": True})
    datasets = demo_datasets(base_uri, n=n)
    load_demo(api, admin, datasets)
    s3 = stack.client("s3")
    uploaded = demo_folders()
    for key, data in uploaded:  # these register themselves (S3 events → ingest) and can be archived
        s3.put_object(Bucket=resources.DEMO_BUCKET, Key=key, Body=data)
    expected = len(datasets) + sum(1 for key, _ in uploaded if key.endswith("/dataset.json"))
    # deposits: a bag uploaded here (or through POST /archives) is registered, then archived
    stack.watch_bucket(resources.DEPOSIT_BUCKET)
    deposits = {"base_uri": f"s3://{resources.DEPOSIT_BUCKET}", "description": "Deposited SIPs (archived on arrival)"}
    _api(session, "POST", f"{api}/base-uris", admin, (201, 409), json=deposits)

    # facility records (myMdC): the demo proposal's data groups are datasets too
    with patched_environ(stack.env):
        facility_root = Root(stack.settings())
        xfel.load(facility_root, DEMO_OPERATOR, xfel.demo_fixtures(), stack.xfel_client.username)
        # the web page's demo user is a member of the demo proposal: it sees its runs and data
        facility_root.facility.set_members(DEMO_OPERATOR, xfel.DEMO_PROPOSAL, [WEB_USER])
    expected += sum(1 for kind, _, _ in xfel.demo_fixtures() if kind == "data_group_repository")

    # the Data Tracker's demo (/api/v1): its users, orders, a published collection, their keys
    with patched_environ(stack.env):
        services = Root(stack.settings())
        tracker_keys = tracker_demo.load(services, services.access.principal("admin"))

    deadline = time.monotonic() + 30
    seen = 0
    while True:
        seen = search_count(_api(session, "GET", f"{api}/datasets", admin, (200,), params={"page_size": "100"}))
        if seen >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if seen < expected:
        runner_log = stack.work_dir / "runner.log"
        LOG.warning("only %d of %d demo datasets are searchable after 30 s (see %s)", seen, expected, runner_log)
    return {"admin": admin, "reader": stack.token("reader"), **{f"tracker:{k}": v for k, v in tracker_keys.items()}}


def banner(stack: LocalStack, tokens: Mapping[str, str]) -> str:
    from chalicelib.ingest.layouts import sidecar_uuid

    api = stack.api_url
    archivable = sidecar_uuid(f"s3://{resources.DEMO_BUCKET}/uploads/soil-moisture-plot-01")
    lines = [
        "",
        "=" * 78,
        f" Catalogue local stack is up in {stack.timings.get('total', 0):.1f} s",
        "=" * 78,
        f" Web page     {stack.web_url}   sign in as {WEB_USER!r}, password {_password(stack, WEB_USER)!r}",
        f" API          {api}   (Swagger UI: {api}/docs, OpenAPI: {api}/openapi.json)",
        f" moto (AWS)   {stack.moto_url}      OpenSearch (osmem)  {stack.opensearch_url}",
        f" Cognito pool {stack.pool.pool_id}  client {stack.pool.client_id}",
        f" logs         {stack.work_dir}/",
        "",
        " Access tokens (valid one hour; new one: python -m infra.local.stack token admin):",
        "",
        f"export ADMIN_TOKEN='{tokens['admin']}'",
        "",
        f"export READER_TOKEN='{tokens['reader']}'",
        "",
        " Try:",
        f"curl -s {api}/health",
        f"curl -s -H \"Authorization: Bearer $ADMIN_TOKEN\" '{api}/datasets?q=apoferritin'",
        f"curl -s -H \"Authorization: Bearer $READER_TOKEN\" '{api}/datasets?q=lidar'",
        f"curl -s -H \"Authorization: Bearer $ADMIN_TOKEN\" '{api}/datasets?q=soil&page_size=5'",
        f"curl -s -G -H \"Authorization: Bearer $READER_TOKEN\" '{api}/datasets'"
        " --data-urlencode 'q=xfel annotations.temperature_K>=300'",
        f"curl -s '{api}/oai?verb=ListRecords&metadataPrefix=oai_dc'   # OAI-PMH: the demo bucket is public",
        "",
        *dtool_lines(stack),
        "",
        *xfel_lines(stack),
        "",
        *tracker_lines(stack, tokens),
        "",
        *submitter_lines(stack),
        "",
        " Archive a demo dataset uploaded to S3 (each step shown as it runs), then look at it:",
        f'.venv/bin/catalogue-admin --as "$USER" archive {archivable}',
        f"curl -s -H \"Authorization: Bearer $ADMIN_TOKEN\" '{api}/archives?dataset={archivable}'",
        "",
        *harvest_lines(stack),
        "",
        *doi_lines(stack),
        "",
        " Press Ctrl-C to stop every process of the stack.",
        "=" * 78,
        "",
    ]
    return "\n".join(lines)


def doi_lines(stack: LocalStack) -> list[str]:
    """A DOI of a demo dataset against the DataCite stand-in: draft, findable (the demo bucket is
    public), hidden once the bucket is withdrawn (README "DOIs (DataCite)")."""
    if stack.datacite is None:
        return []
    from infra.local.demo import demo_datasets

    base_uri = f"s3://{resources.DEMO_BUCKET}"
    uuid = demo_datasets(base_uri, n=1)[0]["uuid"]
    doi, bucket = f"{stack.api_url}/datasets/{uuid}/doi", urllib.parse.quote(base_uri, safe="")
    auth = '-H "Authorization: Bearer $ADMIN_TOKEN"'
    return [
        f" DOIs at the DataCite stand-in ({stack.datacite.base_url}, prefix {stack.datacite.prefix}):",
        f"curl -s -X POST {auth} {doi}            # a draft",
        f"curl -s -X POST {auth} {doi}/publish    # findable: the demo bucket is public",
        f"curl -s -X PATCH {auth} -H 'Content-Type: application/json' -d '{{\"public\": false}}' "
        f"{stack.api_url}/base-uris/{bucket}",
        f"curl -s {auth} {doi}                    # registered (hidden) once the bucket is withdrawn",
        f"curl -s -u {stack.datacite.username}:{stack.datacite.password} "
        f"{stack.datacite.base_url}/dois/{stack.datacite.prefix}/{uuid}   # as DataCite holds it",
    ]


def harvest_lines(stack: LocalStack) -> list[str]:
    """POST /harvests against the local InvenioRDM stand-in (its records: 7hy2p-4x0c1, ka3f9-qq2m8)."""
    if stack.invenio is None:
        return []
    record = stack.invenio.record_url("7hy2p-4x0c1")
    return [
        f" Harvest a record of the InvenioRDM stand-in ({stack.invenio.base_url}) into the archive:",
        f"curl -s -X POST -H \"Authorization: Bearer $ADMIN_TOKEN\" -H 'Content-Type: application/json' "
        f'-d \'{{"source": "{record}"}}\' {stack.api_url}/harvests',
        f'curl -s -H "Authorization: Bearer $ADMIN_TOKEN" {stack.api_url}/archives/<the answer\'s archive>',
    ]


def _password(stack: LocalStack, username: str) -> str:
    try:
        return stack.password(username)
    except KeyError:
        return "(no such demo user)"


def dtool_lines(stack: LocalStack) -> list[str]:
    """The banner's lines for dtool clients: the token endpoint, the config keys that name
    it, and the demo user's credentials (when :data:`DTOOL_USER` exists)."""
    token_url = f"{stack.api_url}/token"
    try:
        password = stack.password(DTOOL_USER)
    except KeyError:
        return []
    return [
        f" dtool clients: user {DTOOL_USER!r}, password {password!r}, token endpoint {token_url}",
        f"   DSERVER_URL={stack.api_url}  DSERVER_TOKEN_GENERATOR_URL={token_url}   (dtool-lookup-api 0.10)",
        f"   DTOOL_LOOKUP_SERVER_URL={stack.api_url}  DTOOL_LOOKUP_SERVER_TOKEN_GENERATOR_URL={token_url}   (0.7)",
        f"   with _USERNAME={DTOOL_USER} and _PASSWORD as above; or by hand:",
        f"curl -s -X POST {token_url} -H 'Content-Type: application/json' "
        f"""-d '{{"username": "{DTOOL_USER}", "password": "{password}"}}'""",
    ]


def xfel_lines(stack: LocalStack) -> list[str]:
    """The banner's lines for European XFEL's metadata_client: the export lines it needs
    (README "Facility data (XFEL)" shows the calls)."""
    creds = stack.xfel_client
    return [
        " European XFEL's metadata_client (myMdC API; README: Facility data (XFEL)):",
        f"export XFEL_CLIENT_ID='{creds.client_id}'",
        f"export XFEL_CLIENT_SECRET='{creds.client_secret}'",
        f"export XFEL_TOKEN_URL='{creds.token_url}'",
        f"export XFEL_API_URL='{stack.api_url}/mymdc/api/'",
        f"export XFEL_PROPOSAL='{xfel.DEMO_PROPOSAL}' XFEL_RUN='{xfel.DEMO_RUNS}'"
        f" XFEL_REPOSITORY='{xfel.OFFLINE_REPOSITORY}' XFEL_INSTRUMENT='{xfel.DEMO_INSTRUMENT}'",
        "export OAUTHLIB_INSECURE_TRANSPORT=1   # the client refuses plain http otherwise",
    ]


def tracker_lines(stack: LocalStack, tokens: Mapping[str, str]) -> list[str]:
    """The banner's lines for the Data Tracker's API: its base, and an API key per demo user
    (shown here once; README "Orders, collections and keys (Data Tracker)" has the tour)."""
    keys = " ".join(f"DT_{p.upper()}_KEY='{tokens.get(f'tracker:{p}', '')}'" for p in tracker_demo.PERSONAS)
    return [
        " SciLifeLab Data Tracker (/api/v1): API keys of its demo users (dm, orders, users, search, plain):",
        f"export DT_API='{stack.api_url}/api/v1' {keys}",
        'curl -s "$DT_API/dataset"      # anyone: the published datasets',
        'curl -s -H "Authorization: ApiKey $DT_ORDERS_KEY" "$DT_API/order"',
    ]


def submitter_lines(stack: LocalStack) -> list[str]:
    """The banner's lines for CSC metadata-submitter's API (README "Submitting metadata")."""
    return [
        ' CSC metadata-submitter (/submitter; README "Submitting metadata" has the walkthrough):',
        f"export SUBMITTER='{stack.api_url}/submitter'",
        'curl -s -H "Authorization: Bearer $READER_TOKEN" "$SUBMITTER/schemas"',
    ]
