"""The catalogue's API from Python: requests with credentials, timeouts and retries, lists as
iterators over every page, answers as typed models, errors as exceptions with the catalogue's
``Code`` and ``Message``.

>>> catalogue = Catalogue("http://127.0.0.1:8000", BearerToken(token))  # doctest: +SKIP
>>> [d.name for d in catalogue.search("soil", page_size=50)]  # doctest: +SKIP
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypedDict, Unpack
from urllib.parse import quote, urljoin

import requests

from catalogue_client.auth import Auth
from catalogue_client.errors import CatalogueError, NotFound, Unavailable, error_for
from catalogue_client.models import Archive, Dataset, DatasetRecord, UploadStart, User
from catalogue_client.uploads import Progress, upload

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# a method whose retry cannot apply a change twice (PUT/PATCH/DELETE name their target; a
# versioned PATCH fails with 409 rather than apply twice); POSTs are retried only when the
# request never reached the catalogue (a connection error)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})


class Catalogue:
    """A client of one catalogue at ``base_url`` with ``auth`` (:mod:`catalogue_client.auth`).

    ``timeout``: seconds to connect and to read; ``retries``: how many times a 429, a 5xx or a
    connection error is tried again (``Retry-After`` honoured, otherwise exponential backoff
    with jitter, at most ``max_backoff`` seconds).
    """

    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.auth = auth
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        self._sleep = sleep

    # -- transport -----------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: Any = None, json: Any = None, data: Any = None) -> Any:
        """The parsed answer of ``method path`` (JSON, text, or ``None`` for no body)."""
        return self._body(self._send(method, urljoin(self.base_url, path.lstrip("/")), params, json, data))

    def _send(self, method: str, url: str, params: Any, json: Any, data: Any) -> requests.Response:
        renewed = False
        attempt = 0
        while True:
            headers = self.auth.headers() if self.auth else {}
            try:
                response = self.session.request(
                    method, url, params=params, json=json, data=data, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                # a POST that timed out may have been applied: only a refused connection is retried
                retry = method in IDEMPOTENT or isinstance(exc, requests.ConnectionError)
                if attempt >= self.retries or not retry:
                    raise Unavailable(0, "Unreachable", f"{method} {url}: {exc}") from exc
                self._wait(attempt, None)
                attempt += 1
                continue
            if response.status_code == 401 and not renewed and self.auth is not None and self.auth.renew():
                renewed = True
                continue
            retryable = response.status_code == 429 or (response.status_code >= 500 and method in IDEMPOTENT)
            if response.status_code in RETRIED_STATUSES and retryable and attempt < self.retries:
                self._wait(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            if response.status_code >= 400:
                raise error_for(response.status_code, self._body(response))
            return response

    def backoff_wait(self, attempt: int) -> None:
        """Sleep before retry ``attempt`` (from 0) of something else (a file POST to S3)."""
        self._wait(attempt, None)

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        if retry_after is not None and retry_after.strip().isdigit():
            delay = float(retry_after)
        else:
            delay = (
                self.backoff * (2**attempt) * (0.5 + random.random() / 2)
            )  # jitter: clients retrying together spread out
        self._sleep(min(delay, self.max_backoff))

    @staticmethod
    def _body(response: requests.Response) -> Any:
        if not response.content:
            return None
        if "json" in response.headers.get("Content-Type", ""):
            try:
                return response.json()
            except ValueError:
                return response.text
        return response.text

    def pages(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, following its ``Link: rel="next"`` to the end."""
        url: str | None = urljoin(self.base_url, path.lstrip("/"))
        query: Any = dict(params or {})
        seen = 0
        while url is not None and seen < 100_000:  # bounded: a list never pages forever
            response = self._send("GET", url, query, None, None)
            body = self._body(response)
            items = body.get("items", []) if isinstance(body, dict) else body
            yield from items
            seen += 1
            following = response.links.get("next", {}).get("url")
            url = urljoin(url, following) if following and items else None
            query = None  # the next link carries the parameters

    # -- datasets ------------------------------------------------------------------------
    def search(self, q: str | None = None, *, page_size: int = 100, **filters: Unpack[Filters]) -> Iterator[Dataset]:
        """The datasets you may see that match, as many as there are."""
        params = {**_filters(q, filters), "page_size": page_size}
        return (Dataset.from_json(item) for item in self.pages("/datasets", params))

    def facets(self, q: str | None = None, **filters: Unpack[Filters]) -> dict[str, dict[str, int]]:
        """How many of the datasets this search finds have each base URI, creator, tag,
        project and type: ``{facet: {value: count}}``, the most frequent first."""
        answer = self.request("GET", "/datasets/facets", params=_filters(q, filters))
        return {name: {v["value"]: int(v["count"]) for v in values} for name, values in answer["facets"].items()}

    def summary(self, **filters: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.request("GET", "/datasets/summary", params=filters)
        return answer

    def dataset(self, uuid: str, base_uri: str | None = None) -> DatasetRecord:
        params = {"base_uri": base_uri} if base_uri else None
        return DatasetRecord.from_json(self.request("GET", f"/datasets/{quote(uuid)}", params=params))

    def readme(self, uuid: str) -> str:
        return str(self._part(uuid, "readme").get("readme", ""))

    def manifest(self, uuid: str) -> dict[str, Any]:
        return self._part(uuid, "manifest")

    def annotations(self, uuid: str) -> dict[str, Any]:
        value = self._part(uuid, "annotations").get("annotations", {})
        return value if isinstance(value, dict) else {}

    def _part(self, uuid: str, part: str) -> dict[str, Any]:
        """A part of a dataset; a large one is read through the short-lived link the
        catalogue answers with (303; requests follows it, without the credentials)."""
        response = self._send("GET", urljoin(self.base_url, f"datasets/{quote(uuid)}/{part}"), None, None, None)
        body = self._body(response)
        if response.history:  # the part itself, from where the link pointed
            if part == "readme":
                return {"readme": body if isinstance(body, str) else response.text}
            return body if isinstance(body, dict) else response.json()
        return body if isinstance(body, dict) else {}

    def register(self, registration: Mapping[str, Any]) -> dict[str, Any]:
        """Register (or update) a dataset's entry under its base URI: ``{"status": ...}``."""
        answer: dict[str, Any] = self.request("POST", "/datasets", json=dict(registration))
        return answer

    def update(self, uuid: str, version: int, **fields: Any) -> DatasetRecord:
        """Change a dataset's tags, annotations or description at ``version`` (409 Conflict,
        with ``current_version``, when it changed meanwhile)."""
        return DatasetRecord.from_json(
            self.request("PATCH", f"/datasets/{quote(uuid)}", json={"version": version, **fields})
        )

    def wait_for_dataset(
        self,
        uuid: str,
        *,
        timeout: float = 120.0,
        poll: float = 2.0,
        on_poll: Callable[[], object] | None = None,
    ) -> DatasetRecord | None:
        """Poll ``GET /datasets/{uuid}`` until it answers (a folder just uploaded is registered
        and indexed within seconds); ``None`` after ``timeout`` seconds of 404s."""
        deadline = time.monotonic() + timeout
        while True:
            if on_poll is not None:
                on_poll()
            try:
                return self.dataset(uuid)
            except NotFound:
                if time.monotonic() >= deadline:
                    return None
            self._sleep(poll)

    # -- uploads -------------------------------------------------------------------------
    def start_upload(self, base_uri: str, folder: str) -> UploadStart:
        """A presigned POST form for the new folder ``folder`` under ``base_uri`` (register
        permission there; 409 Conflict when the folder holds files already)."""
        answer = self.request("POST", "/uploads", json={"base_uri": base_uri, "folder": folder})
        return UploadStart.from_json(answer)

    def upload_folder(
        self,
        path: str | Path,
        base_uri: str,
        folder: str | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: tuple[str, ...] | list[str] = (),
        readme: str | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> str:
        """Upload the local folder ``path`` to S3 as ``folder`` (default: its own name) under
        ``base_uri``, and return the uuid of the dataset it becomes.

        Every regular file is POSTed straight to S3 (symbolic links are skipped), then the
        sidecar ``dataset.json`` LAST: the folder's own ``dataset.json`` with ``name``,
        ``description``, ``tags`` and ``readme`` over it, ``creator`` you unless it names one.
        A file POST is tried again on a connection error or a 5xx. The dataset shows at
        :meth:`dataset` once the catalogue has read the sidecar (:meth:`wait_for_dataset`).
        ``catalogue_client.uploads.UploadRefused`` (a ValueError) before anything is sent when
        the folder cannot be uploaded as it is.
        """
        local = Path(path)
        fields = {"name": name, "description": description, "tags": sorted(set(tags)) or None, "readme": readme}
        form = upload(self, local, base_uri, folder or local.resolve().name, fields, progress)
        return form.uuid

    # -- archival ------------------------------------------------------------------------
    def archive(self, uuid: str) -> Archive:
        return Archive.from_json(self.request("POST", f"/datasets/{quote(uuid)}/archive"))

    def archive_status(self, archive_id: str) -> Archive:
        return Archive.from_json(self.request("GET", f"/archives/{quote(archive_id)}"))

    def wait_for_archive(
        self,
        archive_id: str,
        *,
        timeout: float = 600.0,
        poll: float = 2.0,
        on_change: Callable[[Archive], None] | None = None,
    ) -> Archive:
        """Poll until the archival is finished (or ``timeout``: the last state)."""
        deadline = time.monotonic() + timeout
        last: Archive | None = None
        while True:
            state = self.archive_status(archive_id)
            if on_change is not None and state != last:
                on_change(state)
            last = state
            if state.finished or time.monotonic() >= deadline:
                return state
            self._sleep(poll)

    # -- users ---------------------------------------------------------------------------
    def me(self) -> User:
        return User.from_json(self.request("GET", "/users/me"))


class Filters(TypedDict, total=False):
    """What a search or its facets may be narrowed by (all must hold)."""

    base_uri: str | None
    creator: str | None
    tags: tuple[str, ...]  # every one of them
    project: str | None
    kinds: tuple[str, ...]  # any one of them (dtool, folder, bag, facility, submission, record)


def _filters(q: str | None, filters: Filters) -> dict[str, Any]:
    """The query parameters of a search or its facets."""
    params: dict[str, Any] = {} if q is None else {"q": q}
    for key in ("base_uri", "creator", "project"):
        if (value := filters.get(key)) is not None:
            params[key] = value
    if tags := filters.get("tags"):
        params["tag"] = list(tags)
    if kinds := filters.get("kinds"):
        params["type"] = list(kinds)
    return params


__all__ = ["Catalogue", "CatalogueError"]
