"""A "no such name" is evidence that a site is gone only when the resolver is shown to work
and the name's own authoritative nameservers agree.

On a network whose resolver answers NXDOMAIN for everything (offline machines, some office and
family filters), every reported link used to be REMOVED at once with no notice sent. Now the
resolver must resolve a canary (a name that must exist) first, and then the name's
authoritative nameservers are asked directly: a filter that NXDOMAINs one name is caught
there. Real DNS servers on loopback play the resolver (127.0.0.1), the TLD's server
(127.0.0.2), the site's (127.0.0.3) and a sub-zone's (127.0.0.4); a real web server the site.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from dns.rcode import Rcode

from tada.activities.liveness import LivenessActivities
from tada.clients.dns_authority import MAX_ZONE_DEPTH, TIMEOUT_SECONDS, AuthorityCheck
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy
from tada.clients.host_limiter import HostLimiter
from tada.clients.safe_transport import safe_client
from tada.domain.states import Verdict
from tada.settings import Settings
from tada.worker import dns_canaries
from tests.support.dns import DnsServer, resolver_for, start_dns_server, start_dns_servers
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

CANARIES = ["platform-one.test", "platform-two.test"]
GONE_SITE = "http://gone-site.test/video/1"


@pytest.fixture
def dns():
    server = start_dns_server()
    yield server.state
    server.stop()


@dataclass
class Zones:
    """The authoritative servers, all on one port: ``tld`` for "test", ``site`` for
    "gone-site.test", ``deeper`` for "sub.gone-site.test" (delegated to it only when a test says)."""

    tld: DnsServer
    site: DnsServer
    deeper: DnsServer

    @property
    def port(self) -> int:
        return self.tld.port

    def asked(self) -> list[tuple[str, str]]:
        return self.tld.queries + self.site.queries + self.deeper.queries


@pytest.fixture
def zones(dns):
    """The resolver resolves a canary and names the TLD's nameserver; the TLD delegates the
    site's zone to the site's server (glue 127.0.0.3). The site's records are the test's."""
    servers = start_dns_servers(["127.0.0.2", "127.0.0.3", "127.0.0.4"])
    tld, site, deeper = (server.state for server in servers)
    dns.records["platform-one.test"] = {"A": ["127.0.0.1"]}
    dns.records["test"] = {"NS": ["ns.nic.test."]}
    dns.records["ns.nic.test"] = {"A": ["127.0.0.2"]}
    tld.delegations["gone-site.test"] = {"ns1.gone-site.test": ["127.0.0.3"]}
    yield Zones(tld, site, deeper)
    for server in servers:
        server.stop()


def authority(dns, zones: Zones, **options) -> AuthorityCheck:
    return AuthorityCheck(resolver=dns.address, port=zones.port, **{"allow_private": True, **options})


async def _probe(dns, url: str, check: AuthorityCheck, canaries: list[str] = CANARIES):
    egress = EgressPolicy(allow_private=True, resolver=resolver_for(dns))  # the test site is on 127.0.0.1
    evidence = NxdomainEvidence(egress.resolver, canaries, authority=check)
    async with safe_client(egress, timeout=5) as http:  # as the worker has it: names resolved by the policy
        liveness = LivenessActivities(
            None, http, egress=egress, limiter=HostLimiter(0), max_bytes=4096, nxdomain=evidence
        )
        return await liveness.probe(url, [])


async def test_a_resolver_that_knows_no_name_at_all_is_no_evidence(dns, zones):
    del dns.records["platform-one.test"]
    result = await _probe(dns, GONE_SITE, authority(dns, zones))
    assert result.verdict == Verdict.UNKNOWN  # so the notice goes out, as for any live link
    assert "cannot resolve canaries" in result.reason
    asked = {name for name, _ in dns.queries}
    assert {"gone-site.test", *CANARIES} <= asked
    assert zones.asked() == []  # the resolver's word is worth nothing: nobody else is asked


async def test_a_working_resolver_confirmed_by_the_authoritative_servers_is_believed(dns, zones):
    del dns.records["platform-one.test"]
    dns.records["platform-two.test"] = {"A": ["127.0.0.1"]}  # one canary is enough
    result = await _probe(dns, GONE_SITE, authority(dns, zones))  # the site's server: NXDOMAIN
    assert result.verdict == Verdict.GONE
    assert result.reason == "host does not exist (NXDOMAIN, confirmed by its authoritative nameservers)"
    assert ("gone-site.test", "A") in zones.tld.queries  # referred from the TLD to the site's server
    assert ("gone-site.test", "A") in zones.site.queries
    assert zones.tld.recursive == zones.site.recursive == []  # asked for their own data only


async def test_a_name_its_tld_never_delegated_is_gone(dns, zones):
    del zones.tld.delegations["gone-site.test"]  # the TLD's server: NXDOMAIN, with authority
    result = await _probe(dns, GONE_SITE, authority(dns, zones))
    assert result.verdict == Verdict.GONE
    assert zones.site.queries == []


@pytest.mark.parametrize("records", [{"A": ["127.0.0.1"]}, {}], ids=["with-address", "no-address"])
async def test_a_resolver_that_filters_the_name_is_not_believed(dns, zones, records):
    """The resolver works (a canary resolves) but NXDOMAINs the site, whose own server answers."""
    zones.site.records["gone-site.test"] = records
    result = await _probe(dns, GONE_SITE, authority(dns, zones))
    assert result.verdict == Verdict.UNKNOWN
    assert "resolver filters this name" in result.reason
    assert ("gone-site.test", "NS") not in dns.queries  # the resolver's word on the name is not asked for


async def test_the_closest_zone_the_resolver_names_is_asked_without_the_tld(dns, zones):
    dns.records["gone-site.test"] = {"NS": ["ns1.gone-site.test."]}  # a deleted sub-domain of a zone that exists
    dns.records["ns1.gone-site.test"] = {"A": ["127.0.0.3"]}
    result = await _probe(dns, "http://video.gone-site.test/1", authority(dns, zones))
    assert result.verdict == Verdict.GONE
    assert zones.tld.queries == []
    assert ("video.gone-site.test", "A") in zones.site.queries


async def test_referrals_are_followed_down_and_capped(dns, zones):
    zones.site.delegations["sub.gone-site.test"] = {"ns.sub.gone-site.test": ["127.0.0.4"]}
    zones.deeper.records["video.sub.gone-site.test"] = {"A": ["127.0.0.1"]}
    url = "http://video.sub.gone-site.test/1"
    result = await _probe(dns, url, authority(dns, zones))  # TLD -> site -> sub-zone: two referrals
    assert "resolver filters this name" in result.reason
    capped = await _probe(dns, url, authority(dns, zones, max_referrals=1))
    assert capped.verdict == Verdict.UNKNOWN
    assert "too many referrals" in capped.reason


@pytest.mark.parametrize(
    "failure",
    ["silent", Rcode.REFUSED, Rcode.SERVFAIL, "without-authority"],
    ids=["silent", "refused", "servfail", "without-authority"],
)
async def test_authoritative_servers_that_cannot_be_asked_prove_nothing(dns, zones, failure):
    if failure == "silent":
        zones.site.silent.add("gone-site.test")
    elif failure == "without-authority":  # an NXDOMAIN, but not the zone's own (no AA): a cache's word
        zones.site.authoritative = False
    else:
        zones.site.rcodes["gone-site.test"] = failure
    started = time.monotonic()
    result = await _probe(dns, GONE_SITE, authority(dns, zones))
    assert result.verdict == Verdict.UNKNOWN
    assert "authoritative nameservers cannot be asked" in result.reason
    assert time.monotonic() - started < TIMEOUT_SECONDS + 2  # bounded, even when nobody answers


async def test_no_nameservers_from_the_resolver_proves_nothing(dns, zones):
    del dns.records["test"]
    result = await _probe(dns, GONE_SITE, authority(dns, zones))
    assert result.verdict == Verdict.UNKNOWN
    assert "authoritative nameservers cannot be found" in result.reason
    assert zones.asked() == []


async def test_a_nameserver_at_a_private_address_is_never_asked_in_production(dns, zones):
    """The resolver names a nameserver on 127.0.0.2: with the web targets' egress rules, tada
    sends it nothing (a site's nameserver must not turn tada against the local network)."""
    result = await _probe(dns, GONE_SITE, authority(dns, zones, allow_private=False))
    assert result.verdict == Verdict.UNKNOWN
    assert "not public" in result.reason
    assert zones.asked() == []


async def test_no_canaries_means_no_evidence(dns, zones):
    result = await _probe(dns, GONE_SITE, authority(dns, zones), canaries=[])
    assert result.verdict == Verdict.UNKNOWN
    assert zones.asked() == []


async def test_a_redirect_to_a_name_that_does_not_resolve_is_not_the_site_gone(dns, zones, web):
    dns.records["site.test"] = {"A": ["127.0.0.1"]}
    web.pages["/watch"] = Page(302, location="http://nowhere.test/")  # nowhere.test: NXDOMAIN at the TLD too
    site = web.url("/watch").replace("127.0.0.1", "site.test")
    result = await _probe(dns, site, authority(dns, zones))
    assert result.verdict == Verdict.UNKNOWN
    assert "redirected to a host that does not resolve" in result.reason


async def test_the_finding_is_kept_so_a_big_import_asks_once(dns):
    dns.records["platform-one.test"] = {"A": ["127.0.0.1"]}
    evidence = NxdomainEvidence(resolver_for(dns), CANARIES)
    assert await evidence.resolver_works()
    asked = len(dns.queries)
    del dns.records["platform-one.test"]
    assert await evidence.resolver_works()  # within the recheck time: not asked again
    assert len(dns.queries) == asked
    later = NxdomainEvidence(resolver_for(dns), CANARIES, recheck_seconds=0)
    assert not await later.resolver_works()


async def test_the_workers_canaries_are_the_chosen_names_else_the_registrys():
    assert dns_canaries(Settings(dns_canaries=" a.test, ,b.test ")) == ["a.test", "b.test"]
    default = dns_canaries(Settings())
    assert default and "x.com" in default and not [name for name in default if "*" in name]


async def test_a_name_of_many_labels_costs_the_resolver_a_bounded_number_of_questions(dns, zones):
    host = ".".join(["x"] * 60) + ".gone-site.test"  # as a hostile link may be written
    result = await _probe(dns, f"http://{host}/1", authority(dns, zones))
    assert result.verdict == Verdict.GONE  # the site's server, reached by referral, says NXDOMAIN
    assert len([name for name, rdtype in dns.queries if rdtype == "NS"]) <= MAX_ZONE_DEPTH + 1
