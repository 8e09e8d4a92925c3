"""The HTTP boundary: authentication, body limits, JSON parsing and the one place where
domain errors become HTTP responses (``{"Code": ..., "Message": ...}``)."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from chalice.app import Blueprint, CORSConfig, Request, Response

from chalicelib.catalogue.validation import parse_base_uri, require_unicode
from chalicelib.composition import Root, root
from chalicelib.config import LOCAL_WEB_ORIGIN
from chalicelib.domain import ANONYMOUS, User
from chalicelib.errors import (
    ArchiveExists,
    AuthenticationError,
    AuthUnavailable,
    CatalogueError,
    Conflict,
    DoisNotConfigured,
    DoisUnavailable,
    Forbidden,
    InvalidDocument,
    InvalidRecord,
    NotAcceptable,
    NotFound,
    PayloadTooLarge,
    SearchUnavailable,
    SignInNotConfigured,
    SignInUnavailable,
    SummaryUnavailable,
    TooManyRequests,
    UpstreamUnavailable,
    ValidationError,
    VersionConflict,
)
from chalicelib.identity.permissions import Gate
from chalicelib.tracker.keys import is_session_token

log = logging.getLogger(__name__)
# the per-request records (log_request): a logger of their own, to raise or silence them alone
request_log = logging.getLogger("catalogue.requests")

STATUS: tuple[tuple[type[CatalogueError], int], ...] = (
    (InvalidRecord, 422),  # before its base class ValidationError
    (ValidationError, 400),
    (AuthenticationError, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (NotAcceptable, 406),
    (Conflict, 409),
    (PayloadTooLarge, 413),
    (TooManyRequests, 429),
    (AuthUnavailable, 503),
    (SearchUnavailable, 503),
    (SignInUnavailable, 503),
    (DoisUnavailable, 503),
    (SummaryUnavailable, 503),
    (UpstreamUnavailable, 502),
)
NO_STORE: dict[str, str | list[str]] = {"Cache-Control": "no-store"}
# A 5xx answer says what is unavailable, never why: the details (hosts, ports, role ARNs,
# account ids of the backends) go to the log only.
GENERIC_5XX: tuple[tuple[type[CatalogueError], str], ...] = (
    (SearchUnavailable, "search is unavailable at the moment; records are safe; try again later"),
    (AuthUnavailable, "tokens cannot be verified at the moment; try again later"),
    # before its base class: the first match wins
    (SignInNotConfigured, "this deployment offers no password sign-in; ask its operators for an access token"),
    (SignInUnavailable, "password sign-in is unavailable at the moment; try again later"),
    (DoisNotConfigured, "DOIs are not configured"),  # before its base class
    (DoisUnavailable, "DOIs cannot be registered at the moment; try again later"),
    (SummaryUnavailable, "the summary is unavailable at the moment; records are safe; try again later"),
    (UpstreamUnavailable, "the upstream repository cannot be read at the moment; try again later"),
)
RETRY_AFTER_SECONDS = "5"
# Browsers may call the API from the web page's origin only, and read the headers clients
# page with: dserver's X-Pagination and X-Sort, our X-Total-* and Link, and
# ETag/Location/Retry-After. (Other clients send no Origin and are not concerned.)
EXPOSED_HEADERS = (
    "X-Pagination", "X-Sort", "X-Total-Count", "X-Total-Pages", "X-Current-Page", "X-Per-Page",
    "Link", "ETag", "Location", "Retry-After",
)  # fmt: skip
# the page of the local stack, when no deployment names one (the CDK stack always does)


def cors_for(web_origin: str | None) -> CORSConfig:
    """CORS for every route, answering the web page's origin (``CATALOGUE_WEB_ORIGIN``) only."""
    return CORSConfig(
        allow_origin=(web_origin or LOCAL_WEB_ORIGIN).rstrip("/"),
        allow_headers=["If-Match"],
        expose_headers=EXPOSED_HEADERS,
        max_age=600,
    )


@dataclass(frozen=True)
class Ctx:
    """What a handler gets: the request, for authenticated routes the catalogue user, and
    the composition root it takes its services from."""

    request: Request
    user: User
    root: Root

    def json(self) -> Any:
        raw = self.request.raw_body
        if not raw:
            raise ValidationError("a JSON body is required", field="body")
        try:
            # NaN and Infinity are not JSON; Python accepts them, OpenSearch would not.
            value = json.loads(raw, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ValidationError("the body is not valid JSON", field="body") from exc
        require_unicode(value)
        return value

    def query(self) -> dict[str, list[str]]:
        params = self.request.query_params
        if not params:
            return {}
        return {k: list(params.getlist(k)) for k in params}

    def query_one(self, name: str) -> str | None:
        values = self.query().get(name, [])
        if len(values) > 1:
            raise ValidationError(f"{name} may be given once", field=name)
        return values[0] if values else None

    def header(self, name: str) -> str | None:
        value: str | None = self.request.headers.get(name)
        return value


def entry_base_uri(ctx: Ctx) -> str | None:
    """``?base_uri=``: the entry of the uuid to read or change (default: the first one the
    caller may see; a uuid registered under several base URIs has one entry under each)."""
    value = ctx.query_one("base_uri")
    return None if value is None else parse_base_uri(value)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def error_response(exc: CatalogueError) -> Response:
    status = next((code for cls, code in STATUS if isinstance(exc, cls)), 500)
    headers = {**NO_STORE, "Content-Type": "application/json"}  # dtool clients parse error bodies too
    if status >= 500:
        log.error("%s (%d): %r", exc.code, status, str(exc))
        message = next((text for cls, text in GENERIC_5XX if isinstance(exc, cls)), "internal error")
        if status == 503:
            headers["Retry-After"] = RETRY_AFTER_SECONDS
        return Response(body={"Code": exc.code, "Message": message}, status_code=status, headers=headers)
    body: dict[str, Any] = {"Code": exc.code, "Message": str(exc)}
    if isinstance(exc, ValidationError) and exc.field:
        body["Field"] = exc.field
    if isinstance(exc, InvalidRecord):
        body["Errors"] = exc.errors
    if isinstance(exc, InvalidDocument):
        body["Errors"] = exc.problems
    if isinstance(exc, VersionConflict) and exc.current_version is not None:
        body["CurrentVersion"] = exc.current_version
    if isinstance(exc, ArchiveExists):
        body["ArchiveId"] = exc.archive_id
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return Response(body=body, status_code=status, headers=headers)


def path_param(value: str) -> str:
    """Path parameters arrive percent-encoded from ``chalice local`` and decoded from API Gateway."""
    return unquote(value) if "%" in value else value


OPTIONAL = "optional"


def endpoint(
    bp: Blueprint, *, auth: bool | str = True, gate: Gate | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Wrap a handler ``fn(ctx, **path_params)``: enforce limits, authenticate, check the
    route's ``gate`` (before the handler reads any input), map errors.

    ``auth``: ``True`` (a valid credential is required), ``False`` (the caller is anonymous),
    or :data:`OPTIONAL` (anonymous without credentials; credentials given must be valid).

    A handler returns a :class:`chalice.Response` or a JSON-serializable value (sent as 200).
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Response:
            request = bp.current_request
            caller: str | None = None  # None until a credential was verified (or none was needed)
            try:
                services = root()
                settings = services.settings
                raw = request.raw_body
                if raw and len(raw) > settings.max_body_bytes:
                    raise PayloadTooLarge(f"the body is larger than {settings.max_body_bytes} bytes")
                if auth is True or (auth == OPTIONAL and _has_credentials(request)):
                    user = _authenticate(services, request)
                else:
                    user = User(username=ANONYMOUS)
                caller = user.username
                if gate is not None and not gate.allows(user):
                    raise Forbidden(gate.refusal)
                result = fn(Ctx(request, user, services), **{k: path_param(v) for k, v in kwargs.items()})
            except CatalogueError as exc:
                response = error_response(exc)
            else:
                if isinstance(result, Response):
                    result.headers = {**_json_type(result.body), **NO_STORE, **(result.headers or {})}
                    response = result
                else:
                    response = Response(body=result, status_code=200, headers={**_json_type(result), **NO_STORE})
            log_request(request, caller, response.status_code)
            return response

        # what the API description (chalicelib/openapi) reads of the route: its credentials
        wrapper.__dict__["route_access"] = RouteAccess(auth, gate)
        return wrapper

    return decorate


@dataclass(frozen=True)
class RouteAccess:
    """Who may call a route, as :func:`endpoint` enforces it: ``auth`` is ``True``, ``False``
    or :data:`OPTIONAL`; ``gate`` the right checked before the request is read."""

    auth: bool | str
    gate: Gate | None


def log_request(request: Request, caller: str | None, status: int) -> None:
    """One record per request (INFO, a JSON object as the message): API Gateway's request id,
    so that it joins the stage's access log, which cannot name the caller (there is no API
    Gateway authorizer), and the caller the app verified (``null``: no valid credential)."""
    context = request.context or {}
    record = {
        "requestId": context.get("requestId"),
        "httpMethod": request.method,
        "resourcePath": context.get("resourcePath"),
        "principal": caller,
        "status": status,
    }
    request_log.info(json.dumps(record, separators=(",", ":")))


def _json_type(body: Any) -> dict[str, str | list[str]]:
    """A JSON body says so (dtool clients refuse a body without it); API Gateway and
    ``chalice local`` would default to it, but only where the body is not text."""
    return {} if isinstance(body, str | bytes) else {"Content-Type": "application/json"}


def _has_credentials(request: Request) -> bool:
    return bool(request.headers.get("authorization") or request.headers.get("x-api-key"))


def source_of(request: Request) -> str:
    """The caller's address as API Gateway (or ``chalice local``) saw it."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def _authenticate(services: Root, request: Request) -> User:
    """The one place credentials are checked: an OIDC access token (``Bearer``), an API key
    (``Authorization: ApiKey <id>.<secret>``, or the Data Tracker's ``X-API-Key`` header), or a
    session a key opened (``Bearer dts.…``)."""
    if "access_token" in (request.query_params or {}) or "token" in (request.query_params or {}):
        raise AuthenticationError("tokens are accepted in the Authorization header only")
    header = request.headers.get("authorization") or ""
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() == "apikey":
        username = services.api_keys.authenticate(credential, source_of(request))
    elif not header and request.headers.get("x-api-key"):
        username = services.api_keys.authenticate(request.headers["x-api-key"].strip(), source_of(request))
    elif scheme.lower() == "bearer" and is_session_token(credential):
        username = services.api_keys.authenticate_session(credential, source_of(request))
    else:
        identity = services.verifier.verify(header or None)
        return services.access.principal(identity.username, identity.auth_id)
    return services.access.principal(username)


def created(body: Any, location: str | None = None) -> Response:
    headers: dict[str, str | list[str]] = {"Location": location} if location else {}
    return Response(body=body, status_code=201, headers=headers)


def created_or_ok(was_created: bool, body: Any, location: str) -> Response:
    """201 with ``Location`` for a PUT that created, 200 for one that replaced."""
    return created(body, location) if was_created else Response(body=body, status_code=200)
