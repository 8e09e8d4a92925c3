"""The upstream repository port (InvenioRDM / Zenodo over HTTP) and its SSRF-safe urllib3 adapter.

:class:`Upstream` is what the harvest (:mod:`chalicelib.archive.harvest`) reads records and
files through; :class:`HttpUpstream` implements it. Every request, and every redirect it is
answered with, passes the same rules (:class:`UpstreamPolicy`) before anything is sent:

* the URL: ``https`` (plain ``http`` only for hosts listed for it: the local stand-in), no
  user info, a host[:port] that is *exactly* one of the allow-listed ones; checked before any
  name lookup, so a URL that is not allow-listed never causes a lookup or a connection;
* the addresses: the name is resolved once, and every address it resolves to must be a
  public unicast one (no private, loopback, link-local, multicast, reserved or unspecified
  address, IPv4 or IPv6, IPv4-mapped, NAT64, 6to4 and Teredo forms included); loopback only
  where the configuration allows it (the local stack, never the CDK stack);
* the connection goes to the address checked (no second lookup: DNS rebinding), with the
  name as ``Host`` and as TLS SNI / certificate name;
* no automatic redirects: at most ``max_redirects``, each target checked as above;
* bodies are streamed and the read stops once a cap is passed; timeouts per connect and
  read, and a deadline per request.

The in-memory fake is ``tests.fakes.upstream.InMemoryUpstream``; both pass
``tests/contract/test_upstream_contract.py``. Nothing from urllib3 leaves this module:
callers see :class:`HarvestRefused` (policy, caps), :class:`UpstreamNotFound` (404/410) and
:class:`UpstreamUnavailable` (network, timeouts, 5xx, any other answer).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

MiB = 1024 * 1024
CHUNK_BYTES = 64 * 1024
MAX_URL_CHARS = 2048
USER_AGENT = "research-data-catalogue-harvest/1"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class HarvestRefused(Exception):
    """The URL, an address it resolves to, a redirect or a size is against the policy."""


class UpstreamNotFound(Exception):
    """The upstream repository has no such record or file (404, 410)."""


class UpstreamUnavailable(Exception):
    """The upstream repository could not be read now (network, timeout, 5xx, other answers)."""


@dataclass(frozen=True)
class UpstreamPolicy:
    """Where requests may go. ``hosts``: exact lowercase ``host`` or ``host:port`` entries
    (a bare host means the scheme's default port); ``plain_http_hosts``: entries of ``hosts``
    that may be reached over plain http; ``allow_loopback``: 127.0.0.0/8 and ::1 are allowed
    addresses (the local stack's stand-in only)."""

    hosts: frozenset[str] = frozenset()
    plain_http_hosts: frozenset[str] = frozenset()
    allow_loopback: bool = False
    max_redirects: int = 3
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    request_seconds: float = 60.0  # a whole request, body included


@dataclass(frozen=True)
class Target:
    """A URL that passed the URL rules: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent

    @property
    def authority(self) -> str:
        default = 443 if self.scheme == "https" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.authority}{self.path}"


def check_url(url: str, policy: UpstreamPolicy) -> Target:
    """``url`` as a :class:`Target` if the URL rules allow it (no lookup happens here)."""
    if not isinstance(url, str) or len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        raise HarvestRefused("not a URL this catalogue fetches")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise HarvestRefused("not a URL this catalogue fetches") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise HarvestRefused("only https URLs are fetched")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise HarvestRefused("URLs with user information are not fetched")
    host = (parts.hostname or "").lower()
    if not host or not set(host) <= _HOST_CHARS or host.startswith((".", "-")) or ".." in host:
        raise HarvestRefused("the URL's host is not an allow-listed host")
    default = 443 if scheme == "https" else 80
    target = Target(scheme, host, port if port is not None else default, (parts.path or "/") + _query(parts.query))
    if target.authority not in policy.hosts:
        raise HarvestRefused(f"{target.authority} is not an allow-listed upstream host")
    if scheme == "http" and target.authority not in policy.plain_http_hosts:
        raise HarvestRefused(f"{target.authority} is fetched over https only")
    return target


def _query(query: str) -> str:
    return f"?{query}" if query else ""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(raw: str, policy: UpstreamPolicy) -> str | None:
    """Why a request may not be sent to the address ``raw``, or None."""
    try:
        address: IPAddress = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return f"{raw!r} is not an IP address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(str(embedded), policy)
            if problem is not None:
                return f"{address} stands for {embedded}: {problem}"
        if address.ipv4_mapped is not None:
            return f"{address} is an IPv4-mapped address"
        if address.is_site_local:
            return f"{address} is a site-local address"
    if address.is_loopback:
        return None if policy.allow_loopback else f"{address} is a loopback address"
    for name, flag in (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-global", not address.is_global),
    ):
        if flag:
            return f"{address} is a {name} address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (one lookup)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class Upstream(ABC):
    """An upstream repository's HTTP API, read under a policy.

    MUST refuse (:class:`HarvestRefused`) a URL or redirect the policy does not allow before
    sending anything, and a body over its cap once the cap is passed (never reading it all).
    MUST raise :class:`UpstreamNotFound` for 404/410 and :class:`UpstreamUnavailable` for
    anything else that is not a 200 (after redirects) or that fails on the way.
    """

    @abstractmethod
    def get_json(self, url: str, max_bytes: int) -> Any:
        """The JSON document at ``url`` (at most ``max_bytes``), redirects followed under the policy."""

    @abstractmethod
    def download(self, url: str, sink: Callable[[bytes], None], max_bytes: int) -> int:
        """Stream the body at ``url`` into ``sink``, chunk by chunk; the bytes read. Past
        ``max_bytes`` the read stops with :class:`HarvestRefused` (``sink`` got part of it)."""


class HttpUpstream(Upstream):
    """:class:`Upstream` over urllib3, connecting to the address it checked.

    ``resolve`` (host, port → addresses) and ``clock`` are injected for tests.
    """

    def __init__(
        self,
        policy: UpstreamPolicy,
        *,
        resolve: Resolver = system_resolver,
        clock: Callable[[], float] = time.monotonic,
        ca_certs: str | None = None,
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._clock = clock
        self._ca_certs = ca_certs

    def get_json(self, url: str, max_bytes: int) -> Any:
        chunks: list[bytes] = []
        self.download(url, chunks.append, max_bytes, accept="application/json")
        try:
            return json.loads(b"".join(chunks))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise UpstreamUnavailable(f"{url} did not answer JSON") from exc

    def download(self, url: str, sink: Callable[[bytes], None], max_bytes: int, accept: str = "*/*") -> int:
        import urllib3

        deadline = self._clock() + self.policy.request_seconds
        current = url
        for _ in range(self.policy.max_redirects + 1):
            target = check_url(current, self.policy)
            address = self._address(target)
            pool = self._pool(urllib3, target, address)
            try:
                response = self._send(pool, target, accept)
            except urllib3.exceptions.HTTPError as exc:
                pool.close()
                raise UpstreamUnavailable(f"{target.authority} could not be reached") from exc
            try:
                if response.status in (301, 302, 303, 307, 308):
                    location = response.headers.get("Location")
                    if not location:
                        raise UpstreamUnavailable(f"{target.url} redirected nowhere")
                    current = urljoin(target.url, location)
                    continue
                self._check_status(target, response.status)
                return self._read(urllib3, target, response, sink, max_bytes, deadline)
            finally:
                response.release_conn()
                pool.close()
        raise HarvestRefused(f"{url} redirected more than {self.policy.max_redirects} times")

    def _address(self, target: Target) -> str:
        try:
            addresses = self._resolve(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise UpstreamUnavailable(f"{target.host} could not be resolved") from exc
        if not addresses:
            raise UpstreamUnavailable(f"{target.host} resolved to no address")
        # every address is checked, not only the one used: a name that also resolves to an
        # internal address is refused whatever the order of the answer
        for address in addresses:
            problem = address_problem(address, self.policy)
            if problem is not None:
                raise HarvestRefused(f"{target.host} resolves to a refused address ({problem})")
        return addresses[0]

    def _pool(self, urllib3: Any, target: Target, address: str) -> Any:
        """A one-connection pool to ``address`` (the checked one), for one request."""
        timeout = urllib3.Timeout(connect=self.policy.connect_timeout, read=self.policy.read_timeout)
        if target.scheme == "https":
            # the connection goes to the checked address; the certificate is checked for the name
            return urllib3.HTTPSConnectionPool(
                address,
                target.port,
                timeout=timeout,
                retries=False,
                maxsize=1,
                cert_reqs="CERT_REQUIRED",
                ca_certs=self._ca_certs,
                server_hostname=target.host,
                assert_hostname=target.host,
            )
        return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False, maxsize=1)

    @staticmethod
    def _send(pool: Any, target: Target, accept: str) -> Any:
        headers = {"Host": target.authority, "Accept": accept, "Accept-Encoding": "identity", "User-Agent": USER_AGENT}
        return pool.urlopen(
            "GET",
            target.path,
            headers=headers,
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )

    @staticmethod
    def _check_status(target: Target, status: int) -> None:
        if status in (404, 410):
            raise UpstreamNotFound(f"{target.url}: not found upstream")
        if status != 200:
            raise UpstreamUnavailable(f"{target.url} answered {status}")

    def _read(
        self, urllib3: Any, target: Target, response: Any, sink: Callable[[bytes], None], cap: int, deadline: float
    ) -> int:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise HarvestRefused(f"{target.url} is larger than the cap of {cap} bytes")
        total = 0
        try:
            # read1: whatever one read brings (a slow sender cannot hold a chunk open past the
            # deadline, checked after every read); nothing is decoded (identity was asked for)
            while chunk := response.read1(CHUNK_BYTES, decode_content=False):
                total += len(chunk)
                if total > cap:
                    raise HarvestRefused(f"{target.url} is larger than the cap of {cap} bytes")
                if self._clock() > deadline:
                    raise UpstreamUnavailable(f"{target.url} took longer than {self.policy.request_seconds} s")
                sink(chunk)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise UpstreamUnavailable(f"{target.url}: the answer broke off") from exc
        return total
