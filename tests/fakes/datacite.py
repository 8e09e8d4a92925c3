"""An in-memory :class:`~chalicelib.adapters.datacite.DataCite` (tests only), with DataCite's
state rules (the local stand-in's :class:`~infra.local.datacite_standin.DoiRegistry`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.adapters.datacite import (
    TAKEN_TITLE,
    DataCite,
    DoiAccountRefused,
    DoiEvent,
    DoiExists,
    DoiNotFound,
    DoiRefused,
    DoiServiceUnavailable,
    RegisteredDoi,
    doi_from_json,
)
from infra.local.datacite_standin import LOCAL_PREFIX, DoiRegistry, Refusal


class InMemoryDataCite(DataCite):
    """DataCite for one account of ``prefix``.

    ``unavailable=True`` makes every call raise :class:`DoiServiceUnavailable` (nothing
    happens); ``lose_answers=n`` lets the next ``n`` calls happen and then raises
    :class:`DoiServiceUnavailable` as if the answer were lost on the way. ``calls`` lists
    ``(method, doi, event)`` of what reached "DataCite".
    """

    def __init__(self, prefix: str = LOCAL_PREFIX) -> None:
        self.prefix = prefix
        self.registry = DoiRegistry(prefix)
        self.unavailable = False
        self.lose_answers = 0
        self.calls: list[tuple[str, str, str | None]] = []

    def state_of(self, doi: str) -> str | None:
        return self.registry.state_of(doi)

    def create(self, doi: str, attributes: Mapping[str, Any]) -> RegisteredDoi:
        body = {"data": {"type": "dois", "attributes": {**attributes, "doi": doi}}}
        return self._run("POST", doi, None, lambda: self.registry.create(body))

    def update(self, doi: str, attributes: Mapping[str, Any], event: DoiEvent | None = None) -> RegisteredDoi:
        sent = {**attributes, "doi": doi, **({"event": event} if event else {})}
        body = {"data": {"id": doi, "type": "dois", "attributes": sent}}
        return self._run("PUT", doi, event, lambda: self.registry.update(doi, body))

    def get(self, doi: str) -> RegisteredDoi:
        return self._run("GET", doi, None, lambda: self.registry.get(doi, authenticated=True))

    def delete(self, doi: str) -> None:
        def run() -> dict[str, Any]:
            self.registry.delete(doi)
            return {}

        self._run("DELETE", doi, None, run)

    def _run(self, method: str, doi: str, event: str | None, call: Any) -> Any:
        if self.unavailable:
            raise DoiServiceUnavailable("the fake DataCite is unavailable")
        self.calls.append((method, doi, event))
        try:
            answer = call()
        except Refusal as exc:
            raise _error(exc) from None
        if self.lose_answers:
            self.lose_answers -= 1
            raise DoiServiceUnavailable("the answer was lost")
        return doi_from_json(answer) if answer else None


def _error(exc: Refusal) -> Exception:
    titles = [f"{e['source']}: {e['title']}" if e.get("source") else e["title"] for e in exc.errors]
    if exc.status == 404:
        return DoiNotFound(titles[0])
    if exc.status in (401, 403):
        return DoiAccountRefused(titles[0])
    if any(TAKEN_TITLE in t for t in titles):
        return DoiExists(titles[0])
    return DoiRefused(titles)
