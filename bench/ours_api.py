"""Our local stack's API made ready for the bench: its users, base URIs, tokens and totals.

Shared by ``run.py`` (the whole ``make bench``) and ``scale.py`` (which also runs alone).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import requests
from workload import BASE_URI, Ours

from infra.local.processes import free_port
from infra.local.stack import LocalStack

UPLOAD_BUCKET = "bench-uploads"
USER = "bench"
ADMIN = "benchadmin"


def free_ports(count: int) -> list[int]:
    """``count`` distinct free 127.0.0.1 ports (fewer only if the OS keeps repeating itself)."""
    ports: set[int] = set()
    for _ in range(50):
        ports.add(free_port())
        if len(ports) == count:
            break
    return sorted(ports)


def _admin_call(session: requests.Session, method: str, url: str, ok: tuple[int, ...], **kw: Any) -> None:
    resp = session.request(method, url, timeout=30, **kw)
    if resp.status_code not in ok:
        raise RuntimeError(f"{method} {url} answered {resp.status_code}: {resp.text[:500]}")


def setup_ours(stack: LocalStack) -> Ours:
    """Admin and the bench user; base URIs for the shared datasets and the upload bucket."""
    stack.add_user(ADMIN, admin=True)
    stack.add_user(USER)
    stack.watch_bucket(UPLOAD_BUCKET)
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {stack.token(ADMIN)}"
    api = stack.api_url
    _admin_call(session, "POST", f"{api}/users", (201, 409), json={"username": USER})
    for base in (BASE_URI, f"s3://{UPLOAD_BUCKET}"):
        _admin_call(session, "POST", f"{api}/base-uris", (201, 409), json={"base_uri": base})
        perms = {"users_with_search_permissions": [USER], "users_with_register_permissions": [USER]}
        quoted = urllib.parse.quote(base, safe="")
        _admin_call(session, "PUT", f"{api}/base-uris/{quoted}/permissions", (200,), json=perms)
    session.close()
    return Ours(api, stack.token(USER))


def refresh_token(stack: LocalStack, *clients: Ours) -> None:
    """Cognito access tokens last an hour; a long run takes a fresh one per phase."""
    token = stack.token(USER)
    for client in clients:
        client.token = token
        client.session.headers["Authorization"] = f"Bearer {token}"


def our_total(ours: Ours, base_uri: str = BASE_URI) -> int:
    """Datasets search finds under ``base_uri`` (what the index has caught up with)."""
    params: dict[str, str] = {"base_uri": base_uri, "page_size": "1"}
    resp = ours.session.get(f"{ours.url}/datasets", params=params, timeout=60)
    resp.raise_for_status()
    return int(resp.json()["total"])
