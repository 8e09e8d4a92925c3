"""DataCite's REST API (DOIs): the port and its HTTP adapter.

:class:`DataCite` is what :mod:`chalicelib.catalogue.dois` registers DOIs with;
:class:`DataCiteRest` implements it over an injected ``requests`` session (HTTP Basic auth with
the repository account, whose credentials come from a provider: Secrets Manager in AWS, see
:mod:`chalicelib.adapters.secrets`). The in-memory fake is ``tests.fakes.datacite.InMemoryDataCite``;
both pass ``tests/contract/test_datacite_contract.py`` (the adapter against the local stand-in,
``infra/local/datacite_standin.py``). Nothing of ``requests`` leaves this module: callers see
:class:`DoiRefused` (DataCite's 422 titles), :class:`DoiExists`, :class:`DoiNotFound`,
:class:`DoiAccountRefused` (401/403: the credentials or the prefix) and
:class:`DoiServiceUnavailable` (network, 5xx, 429, after the adapter's own retries).

The calls made (and nothing else):

* ``POST /dois`` ``{"data": {"type": "dois", "attributes": {"doi", ...}}}``: a draft;
* ``PUT /dois/{doi}`` with the attributes and, to change the state, ``"event"``: ``publish``
  (→ findable), ``register`` (draft → registered), ``hide`` (findable → registered);
* ``GET /dois/{doi}``; ``DELETE /dois/{doi}`` (drafts only).
"""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from chalicelib.retries import pause_before

DoiState = Literal["draft", "registered", "findable"]
DoiEvent = Literal["publish", "register", "hide"]
JSON_API = "application/vnd.api+json"
# DataCite's answer to a POST of a DOI that exists (a 422 on the ``doi`` attribute)
TAKEN_TITLE = "This DOI has already been taken"
DEFAULT_ATTEMPTS = 3
TIMEOUT = (3.05, 15.0)  # connect, read (seconds)


class DataCiteError(Exception):
    """Base of what the DataCite port raises."""


class DoiRefused(DataCiteError):
    """DataCite refused the request (422: invalid or missing metadata, a state change it does
    not allow); ``titles`` are its errors' titles, each prefixed with its ``source`` when named."""

    def __init__(self, titles: list[str]) -> None:
        super().__init__("; ".join(titles) or "refused by DataCite")
        self.titles = tuple(titles)


class DoiExists(DataCiteError):
    """A DOI was created that exists already (a retried create whose first answer was lost)."""


class DoiNotFound(DataCiteError):
    """No such DOI (or not one of this account's)."""


class DoiAccountRefused(DataCiteError):
    """DataCite refused the account (401/403: wrong credentials, or a prefix not the account's)."""


class DoiServiceUnavailable(DataCiteError):
    """DataCite cannot be reached or answered 5xx/429: worth another attempt later."""


@dataclass(frozen=True)
class Credentials:
    """The repository account DataCite authenticates (HTTP Basic)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class RegisteredDoi:
    """A DOI as DataCite holds it: its state, landing URL (``None`` until set) and attributes."""

    doi: str
    state: DoiState
    url: str | None
    attributes: Mapping[str, Any]


class DataCite(ABC):
    """One DataCite repository account with its ``prefix``.

    - ``create(doi, attributes)`` MUST make a draft ``doi`` (which must lie under ``prefix``)
      holding ``attributes`` (no metadata is required of a draft); a DOI that exists MUST raise
      :class:`DoiExists`.
    - ``update(doi, attributes, event)`` MUST replace the attributes given and, with an
      ``event``, change the state: ``publish`` (draft or registered → findable), ``register``
      (draft → registered), ``hide`` (findable → registered). Leaving draft MUST refuse
      (:class:`DoiRefused`) a record missing DataCite's mandatory metadata (titles, creators,
      publisher, publicationYear, types.resourceTypeGeneral, url); no event leads back to
      draft. An unknown DOI MUST raise :class:`DoiNotFound`.
    - ``get(doi)`` MUST return the DOI or raise :class:`DoiNotFound`.
    - ``delete(doi)`` MUST delete a draft; any other state MUST raise :class:`DoiRefused`,
      an unknown DOI :class:`DoiNotFound`.
    """

    prefix: str

    @abstractmethod
    def create(self, doi: str, attributes: Mapping[str, Any]) -> RegisteredDoi: ...

    @abstractmethod
    def update(self, doi: str, attributes: Mapping[str, Any], event: DoiEvent | None = None) -> RegisteredDoi: ...

    @abstractmethod
    def get(self, doi: str) -> RegisteredDoi: ...

    @abstractmethod
    def delete(self, doi: str) -> None: ...


def doi_from_json(body: Any) -> RegisteredDoi:
    """A DOI from DataCite's JSON:API answer (``{"data": {"id", "attributes": {...}}}``)."""
    try:
        data = body["data"]
        attributes = dict(data["attributes"])
        state = attributes.get("state")
        doi = str(attributes.get("doi") or data["id"]).lower()
    except (KeyError, TypeError, ValueError) as exc:
        raise DoiServiceUnavailable(f"DataCite answered something that is not a DOI: {exc!r}") from exc
    if state not in ("draft", "registered", "findable"):
        raise DoiServiceUnavailable(f"DataCite answered an unknown state {state!r}")
    url = attributes.get("url")
    return RegisteredDoi(doi, state, str(url) if url else None, attributes)


class CachedCredentials:
    """``load()`` (e.g. a read of Secrets Manager) called on first use and kept for the
    container; read again after :meth:`forget` (DataCite refused the account: the operator may
    have changed the secret since) or after a failed load."""

    def __init__(self, load: Callable[[], Credentials]) -> None:
        self._load = load
        self._lock = threading.Lock()
        self._kept: Credentials | None = None

    def __call__(self) -> Credentials:
        with self._lock:
            if self._kept is None:
                self._kept = self._load()
            return self._kept

    def forget(self) -> None:
        with self._lock:
            self._kept = None


class DataCiteRest(DataCite):
    """DataCite's REST API at ``base_url`` (``https://api.datacite.org``, the test system
    ``https://api.test.datacite.org``, or the local stand-in) through ``session`` (a
    ``requests.Session``). A transient failure (no connection, a timeout, 5xx, 429) is tried
    again up to ``attempts`` times in all after a jittered pause
    (:func:`chalicelib.retries.pause_before`); a POST too: a create whose answer was lost then
    meets :class:`DoiExists`, which its caller reads as "created" after a GET."""

    def __init__(
        self,
        session: Any,
        base_url: str,
        prefix: str,
        credentials: Callable[[], Credentials],
        *,
        attempts: int = DEFAULT_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._session = session
        self._base = base_url.rstrip("/")
        self.prefix = prefix
        self._credentials = credentials
        self._attempts = attempts
        self._sleep = sleep

    def create(self, doi: str, attributes: Mapping[str, Any]) -> RegisteredDoi:
        body = {"data": {"type": "dois", "attributes": {**attributes, "doi": doi}}}
        return doi_from_json(self._call("POST", "/dois", body, expect=201))

    def update(self, doi: str, attributes: Mapping[str, Any], event: DoiEvent | None = None) -> RegisteredDoi:
        sent = {**attributes, "doi": doi, **({"event": event} if event else {})}
        body = {"data": {"id": doi, "type": "dois", "attributes": sent}}
        return doi_from_json(self._call("PUT", self._path(doi), body, expect=200))

    def get(self, doi: str) -> RegisteredDoi:
        return doi_from_json(self._call("GET", self._path(doi), None, expect=200))

    def delete(self, doi: str) -> None:
        self._call("DELETE", self._path(doi), None, expect=204)

    @staticmethod
    def _path(doi: str) -> str:
        return "/dois/" + quote(doi, safe="/")

    def _call(self, method: str, path: str, body: Any, *, expect: int) -> Any:
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(pause_before(attempt))
            try:
                return self._once(method, path, body, expect)
            except DoiServiceUnavailable:
                if attempt == self._attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, path: str, body: Any, expect: int) -> Any:
        import requests  # the runtime has it (opensearch-py's dependency); only this module uses it

        try:
            account = self._credentials()
        except Exception as exc:  # the secret cannot be read: the adapter's callers see DataCite's errors only
            raise DoiServiceUnavailable(f"the DataCite account cannot be read: {type(exc).__name__}") from exc
        headers = {"Accept": JSON_API}
        data = None
        if body is not None:
            headers["Content-Type"] = JSON_API
            data = json.dumps(body).encode()
        try:
            response = self._session.request(
                method,
                self._base + path,
                data=data,
                headers=headers,
                auth=(account.username, account.password),
                timeout=TIMEOUT,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise DoiServiceUnavailable(f"{method} {path}: {type(exc).__name__}") from exc
        status = int(response.status_code)
        if status == expect:
            return None if status == 204 else _json(response.content)
        if status == 429 or status >= 500:
            raise DoiServiceUnavailable(f"{method} {path}: DataCite answered {status}")
        titles = _titles(response.content)
        if status == 404:
            raise DoiNotFound(f"{method} {path}: no such DOI")
        if status in (401, 403):
            if isinstance(self._credentials, CachedCredentials):
                self._credentials.forget()
            raise DoiAccountRefused(f"{method} {path}: DataCite refused the account ({status})")
        if any(TAKEN_TITLE.lower() in t.lower() for t in titles) or status == 409:
            raise DoiExists(f"{method} {path}: the DOI exists")
        raise DoiRefused(titles or [f"DataCite answered {status}"])


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError as exc:
        raise DoiServiceUnavailable("DataCite answered something that is not JSON") from exc


def _titles(content: bytes) -> list[str]:
    """DataCite's error titles (``{"errors": [{"status", "title", "source"}]}``), each as
    ``<source>: <title>`` when it names a source."""
    try:
        errors = json.loads(content).get("errors") or []
        out = []
        for error in errors:
            title = str(error.get("title", "")).strip()
            source = error.get("source")
            source = source.get("pointer") if isinstance(source, Mapping) else source
            out.append(f"{source}: {title}" if source else title)
        return [t for t in out if t]
    except (ValueError, AttributeError, TypeError):
        return []
