"""The upstream adapter's rules, without a network: URLs, addresses, and that a refused name or
address is refused before any connection (the resolver is injected; sockets are guarded)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.adapters.upstream import (
    HarvestRefused,
    HttpUpstream,
    UpstreamPolicy,
    UpstreamUnavailable,
    address_problem,
    check_url,
)
from chalicelib.config import ConfigError, HarvestConfig

POLICY = UpstreamPolicy(hosts=frozenset({"zenodo.org", "repo.example.org:8443", "127.0.0.1:8123"}))
LOCAL = UpstreamPolicy(
    hosts=frozenset({"127.0.0.1:8123"}), plain_http_hosts=frozenset({"127.0.0.1:8123"}), allow_loopback=True
)

REFUSED_ADDRESSES = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "127.1.2.3",
    "169.254.169.254",  # the instance metadata service
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "fd00:ec2::254",  # the instance metadata service over IPv6
    "fec0::1",  # site-local
    "ff02::1",
    "ff0e::1",  # global-scope multicast
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:8.8.8.8",  # IPv4-mapped: never, whatever it maps
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2001:db8::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "not-an-address",
]


class Connected(AssertionError):
    pass


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        seen.append(repr(args[1:]))
        raise Connected("a connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield seen


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_internal_addresses_are_refused(address: str) -> None:
    assert address_problem(address, POLICY) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "188.185.124.26", "2606:4700::1111", "2002:808:808::1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(address, POLICY) is None


def test_loopback_only_where_allowed_and_nothing_else_internal() -> None:
    assert address_problem("127.0.0.1", LOCAL) is None and address_problem("::1", LOCAL) is None
    for address in ("10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fd00:ec2::254", "0.0.0.0"):
        assert address_problem(address, LOCAL) is not None, address


@pytest.mark.parametrize(
    ("url", "authority"),
    [
        ("https://zenodo.org/api/records/1", "zenodo.org"),
        ("https://ZENODO.org:443/api/records/1", "zenodo.org"),
        ("https://repo.example.org:8443/x?y=1", "repo.example.org:8443"),
    ],
)
def test_allow_listed_urls_pass(url: str, authority: str) -> None:
    assert check_url(url, POLICY).authority == authority


@pytest.mark.parametrize(
    "url",
    [
        "http://zenodo.org/api/records/1",  # plain http for a host not listed for it
        "https://zenodo.org:8443/",  # another port
        "https://repo.example.org/",  # the default port is not the listed one
        "https://sub.zenodo.org/",
        "https://zenodo.org.evil.example/",
        "https://user@zenodo.org/",
        "https://zenodo.org@169.254.169.254/",
        "http://user@127.0.0.1@zenodo.org/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://127.0.0.1:8123/",  # listed, but not for plain http
        "http://0x7f000001/",
        "http://2130706433/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "s3://169.254.169.254/x",
        "https://zenodo.org/a b",
        "https://zenodo.org:99999/",
        "",
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(HarvestRefused):
        check_url(url, POLICY)


def test_a_name_resolving_to_an_internal_address_is_refused_before_connecting(no_sockets: list[str]) -> None:
    for answer in (["10.0.0.1"], ["188.185.124.26", "169.254.169.254"], ["::ffff:127.0.0.1"]):

        def resolve(host: str, port: int, answer: list[str] = answer) -> list[str]:
            return answer

        upstream = HttpUpstream(POLICY, resolve=resolve)
        with pytest.raises(HarvestRefused, match="refused address"):
            upstream.get_json("https://zenodo.org/api/records/1", 1000)
    assert no_sockets == []


def test_urls_not_allow_listed_cause_no_lookup(no_sockets: list[str]) -> None:
    looked_up: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["8.8.8.8"]

    upstream = HttpUpstream(POLICY, resolve=resolve)
    for url in ("http://169.254.169.254/", "https://evil.example/", "http://localhost:5000/moto-api/reset"):
        with pytest.raises(HarvestRefused):
            upstream.download(url, lambda chunk: None, 10)
    assert looked_up == [] and no_sockets == []


def test_a_name_that_does_not_resolve_is_unavailable(no_sockets: list[str]) -> None:
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror("no such name")

    with pytest.raises(UpstreamUnavailable):
        HttpUpstream(POLICY, resolve=fail).get_json("https://zenodo.org/api/records/1", 1000)


def test_the_configuration_never_allows_plain_http_to_a_host_not_listed() -> None:
    env = {"CATALOGUE_HARVEST_HOSTS": "zenodo.org", "CATALOGUE_HARVEST_PLAIN_HTTP_HOSTS": "127.0.0.1:8123"}
    with pytest.raises(ConfigError):
        HarvestConfig.from_env(env)
    assert HarvestConfig.from_env({}).hosts == () and not HarvestConfig.from_env({}).allow_loopback
