"""The OpenAPI 3.1 description of every route, read off the routing table.

From each route of the Chalice app: its path and path parameters, its methods, the content
types it accepts, who may call it (the :class:`~chalicelib.routes._http.RouteAccess` that
``endpoint`` attaches: bearer tokens, API keys, OAuth2 client credentials, or anyone), the
success statuses its handler answers with (read from the handler's source: ``created(...)``
→ 201, ``status_code=204`` → 204, ...), its summary and description (the handler's
docstring), its API family (a tag). :mod:`chalicelib.openapi.operations` (the catalogue's
own routes) and :mod:`chalicelib.openapi.compat_operations` (the APIs it stands in for) add
query parameters and the shapes of bodies and answers; every error is the ``Error`` schema.

The description is generated once and committed (``chalicelib/openapi/openapi.json``:
``python -m infra.openapi``); a test fails when it is stale, and the functional
tests check every answer they get against it. The route serving it fills in the server and the
token endpoint of the deployment (:func:`for_deployment`).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalicelib import __version__
from chalicelib.catalogue.validation import EMAIL_PATTERN
from chalicelib.openapi.compat_operations import COMPAT_DOCS
from chalicelib.openapi.operations import DOCS as NATIVE_DOCS
from chalicelib.openapi.operations import PATH_PARAMETERS, TAGS, Doc, tag_of
from chalicelib.openapi.schemas import JSON, SCHEMAS, ref

DOCUMENT = Path(__file__).with_name("openapi.json")
OPENAPI = "3.1.0"
_STATUS = re.compile(r"status_code=(\d{3})(?: if [^\n]*? else (\d{3}))?")
_CALL = re.compile(r"\b(_?[a-z]\w*)\(")
_PARAM = re.compile(r"{(\w+)}")
SECURITY_SCHEMES: JSON = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An OIDC access token (Cognito's; locally the one `make run` prints), "
        "or a session a key opened (`dts.…`).",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key (`<id>.<secret>`; also accepted as `Authorization: ApiKey <id>.<secret>`).",
    },
    "oauth2": {
        "type": "oauth2",
        "description": "OAuth2 client credentials (service principals, e.g. European XFEL's DAQ).",
        "flows": {"clientCredentials": {"tokenUrl": "/oauth2/token", "scopes": {}}},
    },
}
ACTING_FOR: JSON = {
    "name": "X-User-Email",
    "in": "header",
    "required": False,
    "description": "the person a service principal acts for (kept on the records it changes); "
    "refused (400) unless an e-mail address",
    "schema": {"type": "string", "pattern": f"^{EMAIL_PATTERN}$"},
}
TEXT: JSON = {"type": "string"}  # an answer that is not JSON (XML, HTML, CSS, a script): its text
SIGNED_IN: list[JSON] = [{"bearer": []}, {"apiKey": []}, {"oauth2": []}]
DOCS: dict[tuple[str, str], Doc] = {**NATIVE_DOCS, **COMPAT_DOCS}


def _handler(view: Any) -> Any:
    """The handler behind its wrappers (``endpoint``, myMdC's error shape, ...)."""
    return inspect.unwrap(view)


def _source(fn: Any) -> str:
    """The handler's source and that of the functions of its module it calls (one level:
    handlers delegate the answer to a helper, e.g. ``_register``)."""
    source = _own_source(fn)
    if not source:
        return ""
    module = inspect.getmodule(fn)
    helpers = []
    for name in sorted(set(_CALL.findall(source)) - {fn.__name__}):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and helper.__module__ == fn.__module__:
            helpers.append(inspect.getsource(helper))
    return "\n".join([source, *helpers])


def _own_source(fn: Any) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


def success_statuses(view: Any) -> list[int]:
    """The non-error statuses the handler's source answers with (200 when it names none)."""
    source = _source(_handler(view))
    if not source:
        return [200]
    found = {int(code) for pair in _STATUS.findall(source) for code in pair if code and int(code) < 400}
    if "created_or_ok(" in source:
        found |= {200, 201}
    elif "created(" in source:
        found.add(201)
    if "no_content()" in source:
        found.add(204)
    own = _own_source(_handler(view))
    if not found or re.search(r"\n\s+return (?!Response\b|created|no_content)", own):
        found.add(200)  # a plain return (of the handler itself) is answered 200
    return sorted(found)


def _summary(view: Any, method: str, route: str) -> tuple[str, str]:
    doc = (inspect.getdoc(_handler(view)) or "").replace("``", "`")  # reST literals as Markdown
    first, _, rest = doc.partition("\n\n")
    summary = " ".join(first.split()) or f"{method} {route}"
    return summary[:200], rest.strip()


def _security(view: Any) -> tuple[list[JSON], str]:
    access = getattr(view, "route_access", None)
    auth = getattr(access, "auth", True)
    gate = getattr(access, "gate", None)
    needs = f" Needs: {gate.refusal}." if gate is not None else ""
    if auth is False:
        return [], "No credentials needed."
    if auth == "optional":
        return [{}, *SIGNED_IN], "Anonymous callers are answered too; credentials given must be valid." + needs
    return SIGNED_IN, "Signed-in callers only." + needs


def _operation(method: str, route: str, entry: Any, op_ids: set[str]) -> JSON:
    view = entry.view_function
    doc = DOCS.get((method, route), Doc())
    summary, description = _summary(view, method, route)
    security, who = _security(view)
    op_id = re.sub(r"\W+", "_", f"{tag_of(route)}_{_handler(view).__name__}").strip("_")
    if op_id in op_ids:  # one handler serving several routes (e.g. myMdC's kinds)
        op_id = re.sub(r"\W+", "_", f"{method.lower()}_{route}").strip("_")
    op_ids.add(op_id)
    path_schemas = {**PATH_PARAMETERS, **{p.name: p.schema for p in doc.path}}
    parameters: list[JSON] = [
        {"name": name, "in": "path", "required": True, "schema": path_schemas.get(name, {"type": "string"})}
        for name in _PARAM.findall(route)
    ]
    if tag_of(route) == "myMdC":  # every myMdC call may name the person a principal acts for
        parameters.append(ACTING_FOR)
    for p in doc.query:
        schema = {"type": "array", "items": p.schema} if p.repeatable else p.schema
        param: JSON = {"name": p.name, "in": "query", "required": p.required, "description": p.description}
        param["schema"] = schema
        if p.repeatable:
            param |= {"style": "form", "explode": True}
        parameters.append(param)
    responses: JSON = {}
    statuses = success_statuses(view)
    for status in statuses:
        if status == 204:
            responses["204"] = {"description": "done; no body"}
            continue
        # the response schema is the 200/201 answer's, or a lone 202's (an accepted job)
        accepted_only = statuses == [202]
        schema = ref(doc.response) if doc.response and (status in (200, 201) or accepted_only) else {}
        if not doc.media:
            responses[str(status)] = {"description": "done; an empty body"}
            continue
        content = {media: {"schema": _media_schema(media, schema)} for media in doc.media}
        responses[str(status)] = {"description": "OK", "content": content}
    error = "MymdcError" if tag_of(route) == "myMdC" else "Error"
    responses["default"] = {
        "description": "an error (4xx: what was wrong; 5xx: what is unavailable)",
        "content": {"application/json": {"schema": ref(error)}},
    }
    operation: JSON = {
        "operationId": op_id,
        "tags": [tag_of(route)],
        "summary": summary,
        "description": f"{description}\n\n{who}".strip(),
        "security": security,
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = parameters
    if doc.refusals:
        rules = "; ".join(f"`{r.field}`: {r.message}" for r in doc.refusals)
        operation["description"] += f"\n\nAlso refused (400), whatever the schemas allow: {rules}."
        operation["x-refusals"] = [{"field": r.field, "message": r.message} for r in doc.refusals]
    if method in ("POST", "PUT", "PATCH"):
        schema = ref(doc.request) if doc.request else {}
        types = list(getattr(entry, "content_types", None) or ["application/json"])
        # a body the description has a shape for is one the operation needs
        operation["requestBody"] = {"required": bool(doc.request), "content": {t: {"schema": schema} for t in types}}
    return operation


def _media_schema(media: str, schema: JSON) -> JSON:
    """The response schema describes the JSON answer; another JSON type (an export's, e.g.
    ``application/ld+json``) is any JSON, and a type that is not JSON its text."""
    if media == "application/json":
        return schema
    return {} if media.endswith("json") else TEXT


def build(routes: Mapping[str, Mapping[str, Any]]) -> JSON:
    """The description of ``routes`` (a Chalice app's ``routes``)."""
    paths: JSON = {}
    op_ids: set[str] = set()
    for route in sorted(routes):
        for method in sorted(routes[route]):
            paths.setdefault(route, {})[method.lower()] = _operation(method, route, routes[route][method], op_ids)
    used = sorted({t for item in paths.values() for op in item.values() for t in op["tags"]})
    described = {tag: text for _, tag, text in TAGS if text}
    return {
        "openapi": OPENAPI,
        "info": {
            "title": "Research-data catalogue",
            "version": __version__,
            "description": "The catalogue's own API and the APIs of the systems it stands in for "
            "(dserver, dtool-lookup-server 0.18, European XFEL's myMdC, SciLifeLab Data Tracker, CSC "
            'metadata-submitter). Every error answers `{"Code": ..., "Message": ...}`.',
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": t, "description": described.get(t, "")} for t in used],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": SECURITY_SCHEMES},
    }


def render(document: JSON) -> str:
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def load() -> JSON:
    """The committed description."""
    value: JSON = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return value


def for_deployment(document: JSON, base_url: str, token_url: str | None) -> JSON:
    """``document`` with this deployment's server and OAuth2 token endpoint."""
    out = dict(document)
    out["servers"] = [{"url": base_url}]
    components = dict(out["components"])
    schemes = dict(components["securitySchemes"])
    if token_url:
        schemes["oauth2"] = {**schemes["oauth2"], "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {}}}}
    else:  # no client-credentials grant here: neither the scheme nor any requirement of it
        schemes.pop("oauth2", None)
        out["paths"] = {
            path: {
                method: {**op, "security": [s for s in op.get("security", []) if "oauth2" not in s]}
                for method, op in item.items()
            }
            for path, item in out["paths"].items()
        }
    components["securitySchemes"] = schemes
    out["components"] = components
    return out
