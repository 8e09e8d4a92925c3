"""The Upstream contract, run against the in-memory fake and HttpUpstream on the local
InvenioRDM stand-in (infra/local/invenio_standin.py, on 127.0.0.1, stopped by each test).

Both serve the stand-in's demo records; the real adapter reaches the stand-in through its
allow-list entry ``127.0.0.1:<port>`` (plain http and loopback allowed, as on the local stack).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from chalicelib.adapters.upstream import (
    HarvestRefused,
    HttpUpstream,
    Upstream,
    UpstreamNotFound,
    UpstreamPolicy,
    UpstreamUnavailable,
    system_resolver,
)
from infra.local.invenio_standin import InvenioStandIn, demo_records
from tests.fakes.upstream import invenio_fake

SOIL = "7hy2p-4x0c1"
METADATA_SERVICE = "http://169.254.169.254/latest/meta-data/"


@dataclass
class UpstreamUnderTest:
    upstream: Upstream
    base_url: str

    def api(self, record_id: str) -> str:
        return f"{self.base_url}/api/records/{record_id}"


def _policy(authority: str, max_redirects: int = 3) -> UpstreamPolicy:
    hosts = frozenset({authority})
    return UpstreamPolicy(hosts=hosts, plain_http_hosts=hosts, allow_loopback=True, max_redirects=max_redirects)


@pytest.fixture(params=["memory", "standin"])
def under_test(request: pytest.FixtureRequest) -> Iterator[UpstreamUnderTest]:
    redirects = {"/away": METADATA_SERVICE, "/loop": "/loop", "/hop": "/api/records/" + SOIL}
    if request.param == "memory":
        base = "http://127.0.0.1:8123"
        fake = invenio_fake(base, policy=_policy("127.0.0.1:8123", max_redirects=3))
        for path, location in redirects.items():
            fake.add_redirect(base + path, location)
        yield UpstreamUnderTest(fake, base)
        return
    with InvenioStandIn(redirects=redirects) as standin:
        yield UpstreamUnderTest(HttpUpstream(_policy(standin.authority, max_redirects=3)), standin.base_url)


def test_a_record_and_its_file_listing(under_test: UpstreamUnderTest) -> None:
    record = under_test.upstream.get_json(under_test.api(SOIL), 100_000)
    assert record["id"] == SOIL and record["metadata"]["title"].startswith("Soil moisture")
    assert record["pids"]["doi"]["identifier"] == "10.5072/zenodo.7001"
    listing = under_test.upstream.get_json(under_test.api(SOIL) + "/files", 100_000)
    keys = [e["key"] for e in listing["entries"]]
    assert keys == sorted(demo_records()[SOIL].files)
    assert all(e["checksum"].startswith("md5:") for e in listing["entries"])


def test_file_content_follows_the_redirect_to_the_same_host(under_test: UpstreamUnderTest) -> None:
    chunks: list[bytes] = []
    expected = demo_records()[SOIL].files["moisture.csv"]
    size = under_test.upstream.download(under_test.api(SOIL) + "/files/moisture.csv/content", chunks.append, 10_000)
    assert size == len(expected) and b"".join(chunks) == expected
    assert hashlib.md5(b"".join(chunks), usedforsecurity=False).hexdigest() in str(
        under_test.upstream.get_json(under_test.api(SOIL) + "/files", 100_000)
    )
    hop = under_test.upstream.get_json(under_test.base_url + "/hop", 100_000)
    assert hop["id"] == SOIL


def test_unknown_records_and_files_are_not_found(under_test: UpstreamUnderTest) -> None:
    for url in (under_test.api("nope-0000"), under_test.api(SOIL) + "/files/nope.txt/content"):
        with pytest.raises(UpstreamNotFound):
            under_test.upstream.download(url, lambda chunk: None, 10_000)


def test_a_body_over_its_cap_is_refused_while_streaming(under_test: UpstreamUnderTest) -> None:
    chunks: list[bytes] = []
    with pytest.raises(HarvestRefused, match="cap"):
        under_test.upstream.download(under_test.api(SOIL) + "/files/moisture.csv/content", chunks.append, 10)
    assert sum(len(c) for c in chunks) <= 10
    with pytest.raises(HarvestRefused, match="cap"):
        under_test.upstream.get_json(under_test.api(SOIL), 50)


def test_a_redirect_elsewhere_is_refused(under_test: UpstreamUnderTest) -> None:
    with pytest.raises(HarvestRefused, match="allow-listed"):
        under_test.upstream.get_json(under_test.base_url + "/away", 10_000)


def test_redirects_are_counted(under_test: UpstreamUnderTest) -> None:
    with pytest.raises(HarvestRefused, match="redirected more than 3 times"):
        under_test.upstream.get_json(under_test.base_url + "/loop", 10_000)


def test_hosts_not_allow_listed_are_refused(under_test: UpstreamUnderTest) -> None:
    other_port = under_test.api(SOIL).replace("127.0.0.1:", "127.0.0.1:1")  # another port, another host
    for url in (METADATA_SERVICE, "https://zenodo.org/api/records/1", other_port):
        with pytest.raises(HarvestRefused):
            under_test.upstream.get_json(url, 10_000)


# -- the real adapter only: addresses (the fake resolves no names) -----------------------------
def test_a_redirect_to_an_allow_listed_name_with_an_internal_address_is_refused() -> None:
    """``internal.example`` is allow-listed (an operator's mistake, or a rebinding name) but
    resolves to a private address: the redirect to it is refused before connecting."""
    with InvenioStandIn(redirects={"/inside": "http://internal.example/secret"}) as standin:
        hosts = frozenset({standin.authority, "internal.example"})
        policy = UpstreamPolicy(hosts=hosts, plain_http_hosts=hosts, allow_loopback=True)

        def resolve(host: str, port: int) -> list[str]:
            return ["10.20.30.40"] if host == "internal.example" else system_resolver(host, port)

        with pytest.raises(HarvestRefused, match=r"10\.20\.30\.40"):
            HttpUpstream(policy, resolve=resolve).get_json(standin.base_url + "/inside", 10_000)
        assert standin.requests == ["/inside"]


def test_without_allow_loopback_the_stand_in_itself_is_refused() -> None:
    with InvenioStandIn() as standin:
        policy = UpstreamPolicy(hosts=frozenset({standin.authority}), plain_http_hosts=frozenset({standin.authority}))
        with pytest.raises(HarvestRefused, match="loopback"):
            HttpUpstream(policy).get_json(f"{standin.base_url}/api/records/{SOIL}", 10_000)
        assert standin.requests == []


def test_a_request_past_its_deadline_is_unavailable() -> None:
    ticks = iter(range(0, 100_000, 100))  # every reading of the clock: 100 s later
    with InvenioStandIn() as standin:
        upstream = HttpUpstream(_policy(standin.authority), clock=lambda: float(next(ticks)))
        with pytest.raises(UpstreamUnavailable, match="longer than"):
            upstream.get_json(f"{standin.base_url}/api/records/{SOIL}", 100_000)
