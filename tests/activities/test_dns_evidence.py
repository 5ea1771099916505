"""A "no such name" is evidence that a site is gone only when the resolver is shown to work.

On a network whose resolver answers NXDOMAIN for everything (offline machines, some office and
family filters), every reported link used to be REMOVED at once with no notice sent. Now the
resolver must resolve a canary (a name that must exist) first. A real DNS server on 127.0.0.1
plays the resolver, and a real web server the site.
"""

from __future__ import annotations

import pytest

from tada.activities.liveness import LivenessActivities
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy
from tada.clients.host_limiter import HostLimiter
from tada.clients.safe_transport import safe_client
from tada.domain.states import Verdict
from tada.settings import Settings
from tada.worker import dns_canaries
from tests.support.dns import resolver_for, start_dns_server
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

CANARIES = ["platform-one.test", "platform-two.test"]


@pytest.fixture
def dns():
    server = start_dns_server()
    yield server.state
    server.stop()


async def _probe(dns, url: str, canaries: list[str] = CANARIES):
    egress = EgressPolicy(allow_private=True, resolver=resolver_for(dns))  # the test site is on 127.0.0.1
    evidence = NxdomainEvidence(egress.resolver, canaries)
    async with safe_client(egress, timeout=5) as http:  # as the worker has it: names resolved by the policy
        liveness = LivenessActivities(
            None, http, egress=egress, limiter=HostLimiter(0), max_bytes=4096, nxdomain=evidence
        )
        return await liveness.probe(url, [])


async def test_a_resolver_that_knows_no_name_at_all_is_no_evidence(dns):
    result = await _probe(dns, "http://gone-site.test/video/1")
    assert result.verdict == Verdict.UNKNOWN  # so the notice goes out, as for any live link
    assert "cannot resolve canaries" in result.reason
    asked = {name for name, _ in dns.queries}
    assert {"gone-site.test", *CANARIES} <= asked


async def test_a_resolver_that_resolves_a_canary_is_believed(dns):
    dns.records["platform-two.test"] = {"A": ["127.0.0.1"]}  # one canary is enough
    result = await _probe(dns, "http://gone-site.test/video/1")
    assert result.verdict == Verdict.GONE
    assert "NXDOMAIN" in result.reason


async def test_no_canaries_means_no_evidence(dns):
    result = await _probe(dns, "http://gone-site.test/video/1", canaries=[])
    assert result.verdict == Verdict.UNKNOWN


async def test_a_redirect_to_a_name_that_does_not_resolve_is_not_the_site_gone(dns, web):
    dns.records["platform-one.test"] = {"A": ["127.0.0.1"]}
    dns.records["site.test"] = {"A": ["127.0.0.1"]}
    web.pages["/watch"] = Page(302, location="http://nowhere.test/")
    site = web.url("/watch").replace("127.0.0.1", "site.test")
    result = await _probe(dns, site)
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
