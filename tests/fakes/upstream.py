"""An in-memory :class:`~chalicelib.adapters.upstream.Upstream` (tests only).

It serves what it was given, keyed by URL, under the same URL rules as the real adapter
(:func:`~chalicelib.adapters.upstream.check_url`: allow-list, https, no user info; each
redirect checked again). It resolves no names, so the address rules are the real adapter's
alone (tests/unit/test_upstream.py). :func:`invenio_fake` fills one with InvenioRDM records
the way the local stand-in (``infra.local.invenio_standin``) serves them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urljoin

from chalicelib.adapters.upstream import (
    HarvestRefused,
    Upstream,
    UpstreamNotFound,
    UpstreamPolicy,
    UpstreamUnavailable,
    check_url,
)
from infra.local.invenio_standin import StandInRecord, demo_records, files_json, record_json

Page = tuple[int, bytes, dict[str, str]]


class InMemoryUpstream(Upstream):
    """``pages``: URL → (status, body, headers). ``fetched``: the URLs asked for, in order."""

    def __init__(self, policy: UpstreamPolicy, chunk_bytes: int = 7) -> None:
        self.policy = policy
        self.pages: dict[str, Page] = {}
        self.fetched: list[str] = []
        self._chunk = chunk_bytes

    def add(self, url: str, body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.pages[check_url(url, UpstreamPolicy(hosts=_any_host(url), plain_http_hosts=_any_host(url))).url] = (
            status,
            body,
            headers or {},
        )

    def add_json(self, url: str, doc: Any) -> None:
        self.add(url, json.dumps(doc).encode())

    def add_redirect(self, url: str, location: str, status: int = 302) -> None:
        self.add(url, b"", status, {"Location": location})

    def get_json(self, url: str, max_bytes: int) -> Any:
        chunks: list[bytes] = []
        self.download(url, chunks.append, max_bytes)
        try:
            return json.loads(b"".join(chunks))
        except ValueError as exc:
            raise UpstreamUnavailable(f"{url} did not answer JSON") from exc

    def download(self, url: str, sink: Callable[[bytes], None], max_bytes: int) -> int:
        current = url
        for _ in range(self.policy.max_redirects + 1):
            target = check_url(current, self.policy)
            self.fetched.append(target.url)
            status, body, headers = self.pages.get(target.url, (404, b"{}", {}))
            if status in (301, 302, 303, 307, 308):
                current = urljoin(target.url, headers["Location"])
                continue
            if status in (404, 410):
                raise UpstreamNotFound(f"{target.url}: not found upstream")
            if status != 200:
                raise UpstreamUnavailable(f"{target.url} answered {status}")
            total = 0
            for start in range(0, len(body), self._chunk):
                chunk = body[start : start + self._chunk]
                total += len(chunk)
                if total > max_bytes:
                    raise HarvestRefused(f"{target.url} is larger than the cap of {max_bytes} bytes")
                sink(chunk)
            return total
        raise HarvestRefused(f"{url} redirected more than {self.policy.max_redirects} times")


def _any_host(url: str) -> frozenset[str]:
    """The URL's own authority (to normalize a URL the fake is given, whatever the policy)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return frozenset({host, f"{host}:{parts.port}"} if parts.port else {host})


def invenio_fake(
    base_url: str = "https://repo.example.org",
    records: Iterable[StandInRecord] | None = None,
    policy: UpstreamPolicy | None = None,
) -> InMemoryUpstream:
    """A fake serving ``records`` (default: the stand-in's demo records) under ``base_url`` as
    the stand-in does: record, file listing, content redirected to ``/files/{id}/{key}``."""
    authority = base_url.split("://", 1)[1]
    fake = InMemoryUpstream(
        policy
        or UpstreamPolicy(
            hosts=frozenset({authority}),
            plain_http_hosts=frozenset({authority}) if base_url.startswith("http:") else frozenset(),
        )
    )
    for record in demo_records().values() if records is None else records:
        api = f"{base_url}/api/records/{record.record_id}"
        fake.add_json(api, record_json(record, base_url))
        fake.add_json(f"{api}/files", files_json(record, base_url))
        for key, content in record.files.items():
            fake.add_redirect(f"{api}/files/{quote(key)}/content", f"{base_url}/files/{record.record_id}/{quote(key)}")
            fake.add(f"{base_url}/files/{record.record_id}/{quote(key)}", content)
    return fake
