"""A local stand-in of DataCite's REST API (DOIs), for ``make run`` and tests.

It implements exactly the calls :class:`chalicelib.adapters.datacite.DataCiteRest` makes, as
DataCite answers them:

* ``POST /dois`` (JSON:API, ``Content-Type: application/vnd.api+json``): a draft (or, with
  ``"event"``, a DOI leaving draft at once); ``"doi"`` or ``"prefix"`` (+ ``"suffix"``) under
  the account's prefix (another prefix: 403); an existing DOI: 422 ``This DOI has already been
  taken`` on ``doi``. 201.
* ``PUT /dois/{doi}``: replaces the attributes sent and applies ``"event"``; as DataCite, a PUT
  of a DOI that does not exist creates it. 200.
* ``GET /dois/{doi}``: the DOI (drafts and registered DOIs to the account only, findable ones
  to anyone); 404 otherwise.
* ``DELETE /dois/{doi}``: drafts only (204); any other state 405.

DataCite's state machine: draft → findable (``publish``), draft → registered (``register``),
findable → registered (``hide``), registered → findable (``publish``); nothing leads back to
draft; an event to the state a DOI is in changes nothing. A DOI leaving (or out of) draft must
hold the mandatory metadata (titles, creators, publisher, publicationYear,
types.resourceTypeGeneral, url) and validate against DataCite's JSON Schema 4.5 (the
``datacite`` package's), else 422 with one ``{"status", "title", "source"}`` per problem.
Every request needs the account's HTTP Basic credentials (401 otherwise) but a GET of a
findable DOI. Errors are JSON:API ``{"errors": [...]}``. It binds 127.0.0.1 only;
:meth:`DataCiteStandIn.stop` stops it.

:class:`DoiRegistry` is the state machine alone (the in-memory fake of the port,
``tests/fakes/datacite.py``, is one too).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from infra.local.serving import HOST, ServedInThread

LOCAL_PREFIX = "10.5072"  # DataCite's former test prefix: never resolvable
LOCAL_USERNAME = "LOCAL.CATALOGUE"
LOCAL_PASSWORD = "local-datacite-password"  # a stand-in account, on loopback only
JSON_API = "application/vnd.api+json"
STATES = ("draft", "registered", "findable")
EVENTS = ("publish", "register", "hide")
# event → {state before: state after}; a state absent from the map refuses the event
TRANSITIONS: dict[str, dict[str, str]] = {
    "publish": {"draft": "findable", "registered": "findable", "findable": "findable"},
    "register": {"draft": "registered", "registered": "registered"},
    "hide": {"findable": "registered", "registered": "registered"},
}
MANDATORY = ("titles", "creators", "publisher", "publicationYear", "types", "url")
# what the API computes, never takes
READ_ONLY = ("state", "created", "updated", "registered", "published", "isActive")
_DOI = re.compile(r"^10\.\d{4,9}/[^\s]+$")
SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
# the secret of ``make run``'s account in moto's Secrets Manager (as the CDK stack's in AWS)
LOCAL_SECRET = "catalogue-datacite-local"


class Refusal(Exception):
    """What DataCite answers instead: ``status`` and its JSON:API errors."""

    def __init__(self, status: int, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


def refusal(status: int, title: str, source: str | None = None) -> Refusal:
    error = {"status": str(status), "title": title}
    if source:
        error["source"] = source
    return Refusal(status, [error])


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StoredDoi:
    doi: str
    state: str
    attributes: dict[str, Any]
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)

    def json(self) -> dict[str, Any]:
        prefix, _, suffix = self.doi.partition("/")
        attributes = {
            **self.attributes,
            "doi": self.doi,
            "prefix": prefix,
            "suffix": suffix,
            "state": self.state,
            "url": self.attributes.get("url"),
            "created": self.created,
            "updated": self.updated,
        }
        return {"data": {"id": self.doi, "type": "dois", "attributes": attributes}}


def metadata_problems(attributes: Mapping[str, Any]) -> list[dict[str, str]]:
    """Why DataCite would refuse ``attributes`` for a registered or findable DOI (none: valid)."""
    problems: list[dict[str, str]] = []
    for name in MANDATORY:
        if not attributes.get(name):
            problems.append({"status": "422", "title": f"{name} can't be blank", "source": name})
    types = attributes.get("types")
    if isinstance(types, Mapping) and not types.get("resourceTypeGeneral"):
        problems.append({"status": "422", "title": "resourceTypeGeneral can't be blank", "source": "types"})
    url = attributes.get("url")
    if url and not (isinstance(url, str) and re.match(r"^https?://[^\s/]+", url)):
        problems.append({"status": "422", "title": "Url is not a valid URL", "source": "url"})
    from datacite.schema45 import validator  # the dev lock's; the stand-in is not shipped

    document = {k: v for k, v in attributes.items() if k not in ("event",)}
    document.setdefault("schemaVersion", SCHEMA_VERSION)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "data"
        problems.append({"status": "422", "title": error.message[:300], "source": where})
    return problems


class DoiRegistry:
    """DataCite's DOIs of one account (``prefix``), thread-safe. Each method takes and returns
    JSON:API documents as the REST API does, and raises :class:`Refusal` where it refuses."""

    def __init__(self, prefix: str = LOCAL_PREFIX) -> None:
        self.prefix = prefix
        self.dois: dict[str, StoredDoi] = {}
        self._lock = threading.Lock()

    def create(self, body: Any) -> dict[str, Any]:
        attributes = _attributes(body)
        doi = attributes.get("doi")
        if not doi and attributes.get("prefix"):
            if not attributes.get("suffix"):
                raise refusal(422, "A suffix is required (random DOIs are not made here)", "suffix")
            doi = f"{attributes['prefix']}/{attributes['suffix']}"
        if not isinstance(doi, str) or not _DOI.match(doi):
            raise refusal(422, "Doi is invalid", "doi")
        doi = doi.lower()
        self._check_prefix(doi)
        event = _event(attributes)
        with self._lock:
            if doi in self.dois:
                raise refusal(422, "This DOI has already been taken", "doi")
            stored = StoredDoi(doi, "draft", _kept(attributes))
            if event:
                stored.state = self._next(stored, event)
            self.dois[doi] = stored
            return stored.json()

    def update(self, doi: str, body: Any) -> dict[str, Any]:
        doi = doi.lower()
        attributes = _attributes(body)
        sent = attributes.get("doi")
        if sent and str(sent).lower() != doi:
            raise refusal(422, "The DOI in the body is not the DOI of the URL", "doi")
        event = _event(attributes)
        with self._lock:
            stored = self.dois.get(doi)
            if stored is None:  # DataCite creates a DOI PUT before it exists
                if not _DOI.match(doi):
                    raise refusal(422, "Doi is invalid", "doi")
                self._check_prefix(doi)
                stored = StoredDoi(doi, "draft", {})
            merged = {**stored.attributes, **_kept(attributes)}
            candidate = StoredDoi(doi, stored.state, merged, stored.created)
            state = self._next(candidate, event) if event else stored.state
            if state != "draft":
                problems = metadata_problems(merged)
                if problems:
                    raise Refusal(422, problems)
            candidate.state = state
            self.dois[doi] = candidate
            return candidate.json()

    def get(self, doi: str, *, authenticated: bool) -> dict[str, Any]:
        with self._lock:
            stored = self.dois.get(doi.lower())
            if stored is None or (not authenticated and stored.state != "findable"):
                raise refusal(404, "The resource you are looking for doesn't exist.")
            return stored.json()

    def delete(self, doi: str) -> None:
        with self._lock:
            stored = self.dois.get(doi.lower())
            if stored is None:
                raise refusal(404, "The resource you are looking for doesn't exist.")
            if stored.state != "draft":
                raise refusal(405, "Method not allowed")
            del self.dois[doi.lower()]

    def state_of(self, doi: str) -> str | None:
        with self._lock:
            stored = self.dois.get(doi.lower())
            return None if stored is None else stored.state

    def _check_prefix(self, doi: str) -> None:
        if doi.partition("/")[0] != self.prefix.lower():
            raise refusal(403, "You are not authorized to access this resource.")

    def _next(self, stored: StoredDoi, event: str) -> str:
        after = TRANSITIONS[event].get(stored.state)
        if after is None:
            raise refusal(422, f"Can't {event} a DOI in state {stored.state}", "event")
        if after != "draft":
            problems = metadata_problems(stored.attributes)
            if problems:
                raise Refusal(422, problems)
        return after


def _attributes(body: Any) -> dict[str, Any]:
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping) or data.get("type") != "dois" or not isinstance(data.get("attributes"), Mapping):
        raise refusal(400, "You need to provide a payload following the JSONAPI spec")
    return dict(data["attributes"])


def _event(attributes: Mapping[str, Any]) -> str | None:
    event = attributes.get("event")
    if event is None:
        return None
    if event not in EVENTS:
        raise refusal(422, f"Event {event!r} is not one of publish, register, hide", "event")
    return str(event)


def _kept(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k not in (*READ_ONLY, "event", "prefix", "suffix")}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: DataCiteStandIn


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        standin = self.server.standin
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        standin.requests.append((method, path))
        try:
            status, body = standin.answer(method, path, self.headers.get("Authorization"), self._type(), raw)
        except Refusal as exc:
            status, body = exc.status, {"errors": exc.errors}
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", f"{JSON_API}; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="DataCite stand-in"')
        self.end_headers()
        self.wfile.write(payload)

    def _type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


class DataCiteStandIn:
    """The stand-in server for one account (``username``/``password``, ``prefix``); ``port=0``
    lets the OS pick (``base_url`` tells which)."""

    def __init__(
        self,
        *,
        prefix: str = LOCAL_PREFIX,
        username: str = LOCAL_USERNAME,
        password: str = LOCAL_PASSWORD,
        port: int = 0,
    ) -> None:
        self.registry = DoiRegistry(prefix)
        self.username, self.password = username, password
        self.requests: list[tuple[str, str]] = []
        self._served: ServedInThread[_Server] = ServedInThread("the DataCite stand-in", "", port)

    @property
    def prefix(self) -> str:
        return self.registry.prefix

    @property
    def port(self) -> int:
        return self._served.port

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def credentials(self) -> dict[str, str]:
        """The account as the catalogue's secret holds it."""
        return {"username": self.username, "password": self.password}

    @property
    def environment(self) -> dict[str, str]:
        """The catalogue settings that register DOIs here (the account read from :data:`LOCAL_SECRET`)."""
        return {
            "CATALOGUE_DATACITE_URL": self.base_url,
            "CATALOGUE_DATACITE_PREFIX": self.prefix,
            "CATALOGUE_DATACITE_SECRET_ID": LOCAL_SECRET,
        }

    def doi(self, doi: str) -> dict[str, Any] | None:
        """The DOI as DataCite's GET answers it to the account (``None``: there is none)."""
        try:
            return self.registry.get(doi, authenticated=True)
        except Refusal:
            return None

    def start(self) -> DataCiteStandIn:
        self._served.bind(_Server, _Handler).standin = self
        self._served.serve("datacite-standin")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._served.stop(timeout)

    def __enter__(self) -> DataCiteStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the API ---------------------------------------------------------------------------
    def answer(
        self, method: str, path: str, authorization: str | None, content_type: str, raw: bytes
    ) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if not parts or parts[0] != "dois":
            raise refusal(404, "The resource you are looking for doesn't exist.")
        doi = "/".join(parts[1:])
        authenticated = self._authenticated(authorization)
        if authorization is not None and not authenticated:
            raise refusal(401, "Bad credentials.")
        if method == "GET" and doi:
            return 200, self.registry.get(doi, authenticated=authenticated)
        if not authenticated:
            raise refusal(401, "Bad credentials.")
        if method in ("POST", "PUT"):
            if content_type != JSON_API:
                raise refusal(415, "The content type is not application/vnd.api+json")
            try:
                body = json.loads(raw)
            except ValueError:
                raise refusal(400, "The request body is not valid JSON") from None
            if method == "POST" and not doi:
                return 201, self.registry.create(body)
            if method == "PUT" and doi:
                return 200, self.registry.update(doi, body)
        if method == "DELETE" and doi:
            self.registry.delete(doi)
            return 204, None
        raise refusal(405, "Method not allowed")

    def _authenticated(self, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, _, password = decoded.partition(":")
        return (username, password) == (self.username, self.password)


def start_local(secrets: Any, port: int = 0) -> DataCiteStandIn:
    """``make run``'s DataCite: the stand-in started on 127.0.0.1 and its account written to
    :data:`LOCAL_SECRET` through ``secrets`` (a boto3 ``secretsmanager`` client on the stack's
    moto), where the app reads it as it reads the CDK stack's secret in AWS."""
    standin = DataCiteStandIn(port=port).start()
    value = json.dumps(standin.credentials)
    try:
        secrets.create_secret(Name=LOCAL_SECRET, SecretString=value)
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=LOCAL_SECRET, SecretString=value)
    return standin
