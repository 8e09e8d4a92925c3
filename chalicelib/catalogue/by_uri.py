"""Datasets named by URI, as dtool's servers name them (dserver's ``/uris/{uri}``,
``/readmes/{uri}``…, dtool-lookup-server 0.18's ``POST /dataset/readme {"uri"}``).

The catalogue keys entries by (uuid, base URI), so a URI is first turned into its uuid:
dtool URIs end with it (``s3://bucket/<uuid>``), which costs no read; a URI that does not
(a sidecar folder, a bag) is looked up in the search index among the entries the caller
may search, and the entry found is then read from the table, where its replica must be
(the index only proposes, the table decides). Every read goes through
:class:`~chalicelib.catalogue.datasets.CatalogueService`: the same permission checks as
the catalogue's own routes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from chalicelib.catalogue.datasets import BlobLink, CatalogueService, RegisterResult
from chalicelib.catalogue.search import SearchQuery
from chalicelib.catalogue.validation import Registration, parse_uuid
from chalicelib.domain import Dataset, JSONObject, User
from chalicelib.errors import NotFound, ValidationError

T = TypeVar("T")
MAX_INDEX_CANDIDATES = 10  # entries holding one URI: one per base URI at most, in practice one


class DatasetsByUri:
    def __init__(self, catalogue: CatalogueService) -> None:
        self._catalogue = catalogue

    def _uuids(self, user: User, uri: str) -> Iterator[str]:
        """Candidate uuids of ``uri``: its last segment when that is a uuid, then the
        uuids of the entries the search index lists with that replica."""
        tried: set[str] = set()
        try:
            last = parse_uuid(uri.rstrip("/").rsplit("/", 1)[-1])
        except ValidationError:
            pass  # not a dtool URI: the index proposes
        else:
            tried.add(last)
            yield last
        query = SearchQuery(uris=(uri,), size=MAX_INDEX_CANDIDATES, sort="registered", descending=False)
        for item in self._catalogue.search(user, query).items:
            if item["uuid"] not in tried:
                tried.add(item["uuid"])
                yield item["uuid"]

    def _first(self, user: User, uri: str, read: Callable[[str], T]) -> T:
        for uuid in self._uuids(user, uri):
            try:
                return read(uuid)
            except NotFound:
                continue
        raise NotFound(f"no dataset {uri}")

    def entry(self, user: User, uri: str) -> Dataset:
        """The entry holding the replica ``uri`` (without its large parts)."""
        return self._first(user, uri, lambda uuid: self._catalogue.entry_at(user, uuid, uri))

    def readme(self, user: User, uri: str) -> str | BlobLink:
        return self._first(user, uri, lambda uuid: self._catalogue.get_readme(user, uuid, uri=uri))

    def manifest(self, user: User, uri: str) -> JSONObject | BlobLink:
        return self._first(user, uri, lambda uuid: self._catalogue.get_manifest(user, uuid, uri=uri))

    def annotations(self, user: User, uri: str) -> JSONObject:
        return self._first(user, uri, lambda uuid: self._catalogue.get_annotations(user, uuid, uri=uri))

    def tags(self, user: User, uri: str) -> list[str]:
        return self._first(user, uri, lambda uuid: self._catalogue.get_tags(user, uuid, uri=uri))

    def register(self, user: User, uri: str, reg: Registration) -> RegisterResult:
        """Register ``reg`` at ``uri`` (the URI in the path must be the one in the body)."""
        if reg.uri != uri:
            raise ValidationError("the URI in the path is not the body's uri", field="uri")
        return self._catalogue.register(user, reg)

    def delete(self, user: User, uri: str) -> JSONObject:
        """Remove the replica ``uri`` (the dataset, when it was its last replica)."""
        return self._first(user, uri, lambda uuid: self._catalogue.delete_replica(user, uuid, uri))
