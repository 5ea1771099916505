"""The liveness probe against a real local HTTP server."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tada.activities.liveness import USER_AGENT, LivenessActivities
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy
from tada.clients.host_limiter import HostLimiter
from tada.clients.safe_transport import safe_client
from tada.domain.models import LivenessRequest
from tada.domain.states import Verdict
from tada.kit.web import Request, Response, serve
from tests.support.web import Page

OPEN = EgressPolicy(allow_private=True)  # the test sites are on 127.0.0.1
#: No canaries: a "no such name" is never evidence here (tests/activities/test_dns_evidence.py has those).
UNPROVEN = NxdomainEvidence(OPEN.resolver, [])

pytestmark = pytest.mark.asyncio(loop_scope="session")

MARKERS = ["This content has been removed"]


@pytest.fixture
async def probe(db_pool):
    async with httpx.AsyncClient(timeout=5) as http:
        yield LivenessActivities(
            db_pool, http, egress=OPEN, limiter=HostLimiter(0), max_bytes=4096, nxdomain=UNPROVEN
        ).probe


@pytest.mark.parametrize(
    ("page", "verdict"),
    [
        (Page(200, "<html>a video page</html>"), Verdict.LIVE),
        (Page(404), Verdict.GONE),
        (Page(410), Verdict.GONE),
        (Page(451), Verdict.GONE),
        (Page(200, "<p>This content has been removed by the site</p>"), Verdict.GONE),
        (Page(500), Verdict.UNKNOWN),
        (Page(503, "<title>Just a moment...</title>"), Verdict.UNKNOWN),
        (Page(200, "<title>Just a moment...</title> cf-browser-verification"), Verdict.UNKNOWN),
        (Page(403), Verdict.UNKNOWN),
        (Page(429), Verdict.UNKNOWN),
    ],
)
async def test_verdict_for_each_kind_of_page(probe, web, page, verdict):
    web.pages["/p"] = page
    result = await probe(web.url("/p"), MARKERS)
    assert result.verdict == verdict, result.reason


async def test_redirect_to_the_home_page_means_gone(probe, web):
    web.redirect("/video/123", web.url("/"))
    web.live("/")
    result = await probe(web.url("/video/123"), MARKERS)
    assert result.verdict == Verdict.GONE
    assert "home page" in result.reason


async def test_redirect_to_another_page_is_followed(probe, web):
    web.redirect("/old", web.url("/new"))
    web.live("/new")
    assert (await probe(web.url("/old"), MARKERS)).verdict == Verdict.LIVE
    assert web.hits == {"/old": 1, "/new": 1}


async def test_media_is_never_read(probe, web):
    body = "x" * 200_000
    web.pages["/image.jpg"] = Page(200, body, content_type="image/jpeg")
    result = await probe(web.url("/image.jpg"), ["x"])  # the marker would match if the body were read
    assert result.verdict == Verdict.LIVE


async def test_only_a_slice_of_html_is_read(probe, web):
    web.live("/long", "<html>" + "a" * 100_000 + MARKERS[0] + "</html>")
    assert (await probe(web.url("/long"), MARKERS)).verdict == Verdict.LIVE  # marker past the slice


async def test_a_host_that_does_not_exist_is_not_gone_on_a_resolver_that_proves_nothing(probe):
    # No canaries here: "no such name" alone is no evidence. When the resolver resolves a canary it
    # is (tests/activities/test_dns_evidence.py, against a real DNS server).
    result = await probe("http://no-such-host.invalid/x", MARKERS)
    assert result.verdict == Verdict.UNKNOWN and "canaries" in result.reason


async def test_nothing_listening_is_unknown_not_gone(probe):
    result = await probe("http://127.0.0.1:9/x", MARKERS)
    assert result.verdict == Verdict.UNKNOWN


async def test_private_targets_are_refused_unless_allowed(db_pool, web):
    web.live("/p")
    async with httpx.AsyncClient(timeout=5) as http:
        strict = LivenessActivities(
            db_pool, http, egress=EgressPolicy(), limiter=HostLimiter(0), max_bytes=65536, nxdomain=UNPROVEN
        )
        result = await strict.probe(web.url("/p"), MARKERS)
    assert result.verdict == Verdict.UNKNOWN
    assert "refused" in result.reason
    assert web.hits == {}


@pytest.mark.parametrize("per_host", [3, 0])
async def test_the_per_host_limit_holds_against_one_slow_host(db_pool, web, per_host):
    """Twelve checks of one host at once: with a limit of 3 the server sees exactly 3 at a time;
    with none (0) it sees more."""
    web.pages["/slow"] = Page(200, "<html>a video page</html>", delay=0.2)
    async with httpx.AsyncClient(timeout=5, limits=httpx.Limits(max_connections=50)) as http:
        limited = LivenessActivities(
            db_pool, http, egress=OPEN, limiter=HostLimiter(per_host), max_bytes=65536, nxdomain=UNPROVEN
        )
        results = await asyncio.gather(*(limited.probe(web.url("/slow"), MARKERS) for _ in range(12)))
    assert [r.verdict for r in results] == [Verdict.LIVE] * 12
    if per_host:
        assert web.peak_in_flight == per_host
    else:
        assert web.peak_in_flight > 3


async def test_the_confirming_check_cannot_be_told_from_a_visitor(db_pool):
    """A site that cloaks: 404 to anything that names tada, the page to a browser. The first
    check (honest: tada's User-Agent) says gone; the confirming one asks as a visitor would
    and sees the page, so the "gone" is not confirmed."""
    seen: list[dict[str, str]] = []

    def cloaking(request: Request) -> Response:
        seen.append(request.headers)
        if any("tada" in value.lower() for value in request.headers.values()):
            return Response(404, "<html>not found</html>")
        return Response(200, "<html>a video page</html>")

    site = serve(cloaking, keep_alive=False)
    link_id, case_id = f"cloak-{uuid.uuid4().hex[:8]}", f"case-{uuid.uuid4().hex[:8]}"
    await db_pool.execute("INSERT INTO cases (case_id) VALUES ($1)", case_id)
    await db_pool.execute(
        "INSERT INTO links (link_id, case_id, url, host, platform, category) VALUES ($1, $2, $3, $4, $5, $6)",
        link_id, case_id, site.url("/video/1"), "127.0.0.1", "test", "other",
    )  # fmt: skip
    try:
        async with safe_client(OPEN, timeout=5) as http:  # the worker's client, with its headers
            liveness = LivenessActivities(
                db_pool, http, egress=OPEN, limiter=HostLimiter(0), max_bytes=4096, nxdomain=UNPROVEN
            )
            first = await liveness.check(LivenessRequest(link_id=link_id, removed_markers=MARKERS))
            confirming = await liveness.check(
                LivenessRequest(link_id=link_id, removed_markers=MARKERS, confirming=True)
            )
    finally:
        site.stop()
    assert first.verdict == Verdict.GONE and seen[0]["user-agent"] == USER_AGENT  # tada names itself first
    assert confirming.verdict == Verdict.LIVE
    visitor = seen[1]
    assert visitor["user-agent"].startswith("Mozilla/5.0 ") and "Chrome/" in visitor["user-agent"]
    assert visitor["accept"].startswith("text/html") and visitor["accept-language"]
    assert not [name for name, value in visitor.items() if "tada" in f"{name} {value}".lower()]
