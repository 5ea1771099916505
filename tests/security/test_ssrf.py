"""SSRF: hostile targets are refused by the egress layer before anything connects.

Every row is tried at each layer: the early URL check (``EgressPolicy.check``),
the connect-time check of the network backend, a real request through the
safe transport, and the liveness probe. A recording backend stands under the
transport: it fails the test if anything outside 127.0.0.0/8 is ever dialled,
and the refused rows must not dial at all. Names resolve through a fake DNS,
so no query leaves the machine either.
"""

from __future__ import annotations

import httpx
import pytest

from tada.activities.liveness import LivenessActivities
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy, EgressRefused
from tada.clients.host_limiter import HostLimiter
from tada.clients.safe_transport import GuardedBackend, safe_client
from tada.domain.states import Verdict
from tests.security.egress_support import FakeDns, RecordingBackend

pytestmark = pytest.mark.asyncio(loop_scope="session")

DNS = {
    "internal.test": ["10.0.0.5"],
    "loop.test": ["127.0.0.1"],
    "meta.test": ["169.254.169.254"],
    "v6loop.test": ["::1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::a00:5"],
    "mixed.test": ["93.184.216.34", "10.0.0.5"],  # one private answer among public ones
    "localhost": ["127.0.0.1"],
}

#: (url, why) — every one must be refused with allow_private=False.
HOSTILE = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.0.0.1:8080/admin", "loopback, other port"),
    ("https://127.0.0.1/", "loopback over TLS"),
    ("http://[::1]/", "IPv6 loopback"),
    ("http://10.0.0.1/", "private 10/8"),
    ("http://10.255.255.254/", "private 10/8, top"),
    ("http://172.16.0.1/", "private 172.16/12"),
    ("http://172.31.255.1/", "private 172.16/12, top"),
    ("http://192.168.1.1/", "private 192.168/16"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata, link-local"),
    ("http://100.64.0.1/", "shared address space 100.64/10"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://2130706433/", "decimal 127.0.0.1"),
    ("http://0177.0.0.1/", "octal 127.0.0.1"),
    ("http://0x7f000001/", "hex 127.0.0.1"),
    ("http://0x7f.0.0.1/", "dotted hex"),
    ("http://0x7f.1/", "short hex"),
    ("http://127.1/", "short dotted"),
    ("http://127.0.0.1./", "trailing dot"),
    ("http://3232235777/", "decimal 192.168.1.1"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped loopback"),
    ("http://[::ffff:7f00:1]/", "IPv4-mapped loopback, hex"),
    ("http://[::ffff:a9fe:a9fe]/", "IPv4-mapped metadata"),
    ("http://[::7f00:1]/", "IPv4-compatible loopback"),
    ("http://[64:ff9b::7f00:1]/", "NAT64 of loopback"),
    ("http://[64:ff9b::a00:1]/", "NAT64 of 10.0.0.1"),
    ("http://[2002:7f00:1::]/", "6to4 of loopback"),
    ("http://[fe80::1]/", "IPv6 link-local"),
    ("http://[fc00::1]/", "IPv6 unique local"),
    ("http://[fd12:3456::1]/", "IPv6 unique local, fd"),
    ("http://[fec0::1]/", "IPv6 site-local"),
    ("http://[ff02::1]/", "IPv6 multicast"),
    ("http://[::]/", "IPv6 unspecified"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250/", "multicast SSDP"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://192.0.2.1/", "documentation"),
    ("http://internal.test/", "name resolving to 10.0.0.5"),
    ("http://loop.test/", "name resolving to 127.0.0.1"),
    ("http://meta.test/", "name resolving to the metadata address"),
    ("http://v6loop.test/", "name resolving to ::1"),
    ("http://mapped.test/", "name resolving to IPv4-mapped loopback"),
    ("http://nat64.test/", "name resolving to NAT64 of a private address"),
    ("http://mixed.test/", "name with one private address among public ones"),
    ("http://localhost/", "localhost"),
]

#: Refused by their spelling alone (never resolved).
MALFORMED = [
    ("ftp://example.com/file", "not http(s)"),
    ("file:///etc/passwd", "file scheme"),
    ("gopher://127.0.0.1:70/", "gopher"),
    ("dict://127.0.0.1:11211/", "dict"),
    ("javascript:alert(1)", "javascript"),
    ("http://user:secret@example.com/", "credentials"),
    ("http://user@example.com/", "user name"),
    ("http:///path", "no host"),
]


#: No canaries: a "no such name" here is never evidence (these tests are about refusals).
UNPROVEN = NxdomainEvidence(FakeDns({}), [])


def policy(**changes) -> EgressPolicy:
    return EgressPolicy(allow_private=False, resolver=FakeDns(DNS), **changes)


@pytest.mark.parametrize(("url", "why"), HOSTILE + MALFORMED, ids=[w for _, w in HOSTILE + MALFORMED])
async def test_the_early_check_refuses(url, why):
    with pytest.raises(EgressRefused):
        await policy().check(url)


@pytest.mark.parametrize(("url", "why"), HOSTILE, ids=[w for _, w in HOSTILE])
async def test_the_connect_time_check_refuses_before_dialling(url, why):
    host = httpx.URL(url).host if "0177" not in url else "0177.0.0.1"  # httpx will not parse octal
    recorder = RecordingBackend()
    with pytest.raises(EgressRefused):
        await GuardedBackend(policy(), recorder).connect_tcp(host, 80, timeout=2)
    assert recorder.connects == []


@pytest.mark.parametrize(("url", "why"), HOSTILE + MALFORMED, ids=[w for _, w in HOSTILE + MALFORMED])
async def test_a_request_through_the_transport_is_refused(url, why):
    recorder = RecordingBackend()
    async with safe_client(policy(), timeout=2, backend=recorder) as http:
        # httpx itself refuses a few spellings (octal, no host) before any transport sees them
        with pytest.raises((EgressRefused, httpx.InvalidURL, httpx.UnsupportedProtocol)):
            await http.get(url)
    assert recorder.connects == []


@pytest.mark.parametrize(("url", "why"), HOSTILE + MALFORMED, ids=[w for _, w in HOSTILE + MALFORMED])
async def test_the_liveness_probe_refuses(url, why):
    recorder = RecordingBackend()
    async with safe_client(policy(), timeout=2, backend=recorder) as http:
        result = await LivenessActivities(
            None, http, egress=policy(), limiter=HostLimiter(0), max_bytes=65536, nxdomain=UNPROVEN
        ).probe(url, [])
    assert result.verdict == Verdict.UNKNOWN
    assert result.reason.startswith("refused"), result.reason
    assert recorder.connects == []


async def test_a_redirect_to_loopback_is_refused(web):
    """The first hop is a 'public' name (test-only exemption pointing it at the local server);
    its redirect to http://127.0.0.1/ is checked again and refused before anything connects."""
    web.redirect("/start", web.url("/secret"))
    web.live("/secret", "<p>internal admin page</p>")
    dns = FakeDns({"public.test": ["127.0.0.1"]})
    allowed_once = EgressPolicy(resolver=dns, exempt_hosts=frozenset({"public.test"}))
    first_hop = f"http://public.test:{web.port}/start"

    recorder = RecordingBackend()
    async with safe_client(allowed_once, timeout=5, backend=recorder) as http:
        result = await LivenessActivities(
            None, http, egress=allowed_once, limiter=HostLimiter(0), max_bytes=65536, nxdomain=UNPROVEN
        ).probe(first_hop, [])
        assert result.verdict == Verdict.UNKNOWN and "refused" in result.reason
        with pytest.raises(EgressRefused):  # the transport alone, following redirects itself
            await http.get(first_hop, follow_redirects=True)
    assert web.hits == {"/start": 2}
    assert recorder.connects == [("127.0.0.1", web.port)] * 2


@pytest.mark.parametrize(
    "target",
    [
        "http://2130706433:{port}/secret",
        "http://localhost:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://loop.test:{port}/secret",
        "file:///etc/passwd",
        "http://u:p@127.0.0.1:{port}/secret",
    ],
)
async def test_every_redirect_hop_is_checked(web, target):
    web.redirect("/hop", target.format(port=web.port))
    web.live("/secret")
    dns = FakeDns({**DNS, "public.test": ["127.0.0.1"]})
    allowed_once = EgressPolicy(resolver=dns, exempt_hosts=frozenset({"public.test"}))
    recorder = RecordingBackend()
    async with safe_client(allowed_once, timeout=5, backend=recorder) as http:
        result = await LivenessActivities(
            None, http, egress=allowed_once, limiter=HostLimiter(0), max_bytes=65536, nxdomain=UNPROVEN
        ).probe(f"http://public.test:{web.port}/hop", [])
    assert result.verdict == Verdict.UNKNOWN and "refused" in result.reason
    assert "/secret" not in web.hits


async def test_dns_rebinding_is_refused_at_connect_time(web):
    """The name answers 'public' to the early check and 127.0.0.1 at connect time: the transport
    resolves once more, validates that answer and refuses; the public answer is never dialled."""
    web.live("/rebind")
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    dns = FakeDns({"rebind.test": lambda: next(answers)})
    strict = EgressPolicy(resolver=dns)
    url = f"http://rebind.test:{web.port}/rebind"
    recorder = RecordingBackend()
    async with safe_client(strict, timeout=5, backend=recorder) as http:
        result = await LivenessActivities(
            None, http, egress=strict, limiter=HostLimiter(0), max_bytes=65536, nxdomain=UNPROVEN
        ).probe(url, [])
    assert dns.queries == ["rebind.test", "rebind.test"]
    assert result.verdict == Verdict.UNKNOWN and "refused" in result.reason
    assert recorder.connects == [] and web.hits == {}


async def test_the_connection_goes_to_the_validated_address_not_the_name(web):
    web.live("/pinned")
    dns = FakeDns({"pinned.test": ["127.0.0.1"]})
    pinned = EgressPolicy(resolver=dns, exempt_hosts=frozenset({"pinned.test"}))
    recorder = RecordingBackend()
    async with safe_client(pinned, timeout=5, backend=recorder) as http:
        response = await http.get(f"http://pinned.test:{web.port}/pinned")
    assert response.status_code == 200
    assert recorder.connects == [("127.0.0.1", web.port)]  # the address, never the name
    assert dns.queries == ["pinned.test"]  # resolved once


async def test_allow_private_lets_local_targets_through_but_not_bad_spellings(web):
    web.live("/ok")
    local = EgressPolicy(allow_private=True)
    recorder = RecordingBackend()
    async with safe_client(local, timeout=5, backend=recorder) as http:
        assert (await http.get(web.url("/ok"))).status_code == 200
        for url in (f"http://2130706433:{web.port}/ok", f"http://u:p@127.0.0.1:{web.port}/ok"):
            with pytest.raises(EgressRefused):
                await http.get(url)
    assert web.hits == {"/ok": 1}


async def test_public_addresses_are_not_refused():
    from tada.domain.addresses import refusal

    for address in (
        "93.184.216.34",
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700::1111",
        "2001:4860:4860::8888",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ):
        assert refusal(address) is None, address
