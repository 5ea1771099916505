"""Whatever a site answers, its liveness check ends in a verdict with a reason.

A page the site controls used to escape the liveness activity (a charset that is no text
encoding, a Location no URL parser accepts), so the activity was retried for ever: the link
never got its notice and not even a withdrawal was processed. And "never media" is decided
by the media type itself, not by a substring of the Content-Type. Real web server on 127.0.0.1.
"""

from __future__ import annotations

import httpx
import pytest

from tada.activities.liveness import LivenessActivities
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy
from tada.clients.host_limiter import HostLimiter
from tada.domain.states import Verdict
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPEN = EgressPolicy(allow_private=True)  # the test site is on 127.0.0.1
MARKER = "this video has been removed"


@pytest.fixture
async def probe(db_pool):
    nxdomain = NxdomainEvidence(OPEN.resolver, [])
    async with httpx.AsyncClient(timeout=5) as http:
        activities = LivenessActivities(
            db_pool, http, egress=OPEN, limiter=HostLimiter(0), max_bytes=4096, nxdomain=nxdomain
        )
        yield activities.probe


@pytest.mark.parametrize("charset", ["base64", "hex", "undefined", "idna", "no-such-codec"])
async def test_a_charset_that_is_no_text_encoding_still_reads_the_page(probe, web, charset):
    web.pages["/p"] = Page(200, f"<html><body>{MARKER}</body></html>", content_type=f"text/html; charset={charset}")
    result = await probe(web.url("/p"), [MARKER])
    assert result.verdict == Verdict.GONE  # read as UTF-8 (what it is), the marker is found


@pytest.mark.parametrize(
    "location",
    [
        "http:\\\\127.0.0.1\\x",
        "jar:http://127.0.0.1/a.jar!/x",
        "http://a..b/x",
        "http://" + "a" * 64 + ".example/x",
        "http://xn--localhost-/x",
        "http://[::1/x",
    ],
)
async def test_a_redirect_nobody_can_follow_is_unknown_not_a_crash(probe, web, location):
    web.pages["/r"] = Page(302, location=location)
    result = await probe(web.url("/r"), [MARKER])
    assert result.verdict == Verdict.UNKNOWN
    assert result.reason and "127.0.0.1" not in result.reason  # a reason, never the address itself


@pytest.mark.parametrize(
    "content_type", ["video/mp4; codecs=html", "image/svg+xml", "application/octet-stream; note=text/html"]
)
async def test_media_is_never_read_whatever_its_parameters_say(probe, web, content_type):
    web.pages["/m"] = Page(200, f"<html><body>{MARKER}</body></html>", content_type=content_type)
    result = await probe(web.url("/m"), [MARKER])
    assert result.verdict == Verdict.LIVE  # not read: the marker inside is never seen


@pytest.mark.parametrize("content_type", ["text/html", "TEXT/HTML; charset=utf-8", "application/xhtml+xml"])
async def test_pages_are_read(probe, web, content_type):
    web.pages["/h"] = Page(200, f"<html><body>{MARKER}</body></html>", content_type=content_type)
    assert (await probe(web.url("/h"), [MARKER])).verdict == Verdict.GONE
