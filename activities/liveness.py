"""Liveness: is the reported content still up? Reads at most a small slice of HTML
and never downloads media."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import asyncpg
import httpx
import structlog
from temporalio import activity

from tada.adapters.link_urls import LinkUrls
from tada.clients.decoding import AnswerRefused, decoded_chunks
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy, EgressRefused, HostNotFound
from tada.clients.host_limiter import HostLimiter
from tada.clients.safe_transport import ResponseTooLarge
from tada.domain.liveness import classify, is_page, page_text
from tada.domain.models import LivenessRequest, LivenessResult
from tada.domain.states import Verdict
from tada.workflows.activity_contracts import CHECK_LIVENESS, Liveness

log = structlog.get_logger(__name__)

MAX_REDIRECTS = 5
USER_AGENT = "tada-liveness/0.1 (take-down assistance; checks whether reported content is still up)"
#: The first check names itself honestly.
TADA_HEADERS = {"User-Agent": USER_AGENT}
#: The check that confirms a "gone" asks as an ordinary visitor's browser does (a current desktop
#: Chrome on Windows, its usual navigation headers): sites cloak, answering 404 or redirecting
#: home to tada alone while visitors still see the content, so a "gone" is believed only when a
#: request the site cannot tell from a visitor's is told the same. Nothing in it names tada.
#: Accept-Encoding is left to the http client, which asks only for what it decodes within its
#: limits (the safe transport: identity; tada/clients/decoding.py bounds what comes anyway).
#: Keep the version near Chrome's stable release.
VISITOR_HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/143.0.0.0 Safari/537.36"
    ),
    "Accept": (
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,"
        "*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
    ),
    "Accept-Language": "en-US,en;q=0.9",
    "Upgrade-Insecure-Requests": "1",
}


class LivenessActivities(Liveness):
    def __init__(
        self,
        pool: asyncpg.Pool,
        http: httpx.AsyncClient,
        *,
        egress: EgressPolicy,
        limiter: HostLimiter,
        max_bytes: int,
        nxdomain: NxdomainEvidence,
    ) -> None:
        self._urls = LinkUrls(pool)  # read together when checks ask at once
        self._http = http
        #: Checked before every hop; the http client's transport checks again at connect time.
        self._egress = egress
        self._max_bytes = max_bytes
        #: At most so many requests at once to any one host (each redirect hop takes its host's slot).
        self._limiter = limiter
        #: Whether this resolver's "no such name" may count as gone (tada/clients/dns_evidence.py).
        self._nxdomain = nxdomain

    @activity.defn(name=CHECK_LIVENESS)
    async def check(self, request: LivenessRequest) -> LivenessResult:
        url = await self._urls.url_of(request.link_id)
        if url is None:
            return LivenessResult(verdict=Verdict.UNKNOWN, reason="link not in the database")
        result = await self.probe(url, request.removed_markers, confirming=request.confirming)
        log.info(
            "liveness_checked",
            link_id=request.link_id,
            host=urlsplit(url).hostname,
            confirming=request.confirming,
            verdict=result.verdict,
            http_status=result.http_status,
        )
        return result

    async def probe(self, url: str, removed_markers: list[str], *, confirming: bool = False) -> LivenessResult:
        """``confirming``: the second check of a "gone", asked with VISITOR_HEADERS."""
        headers = VISITOR_HEADERS if confirming else TADA_HEADERS
        current = url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                await self._egress.check(current)
                async with (
                    self._limiter.slot(urlsplit(current).hostname),
                    self._http.stream("GET", current, headers=headers) as response,
                ):
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        continue
                    html = await self._read_html_slice(response)
                    verdict, reason = classify(
                        status=response.status_code,
                        original_url=url,
                        final_url=current,
                        html=html,
                        removed_markers=removed_markers,
                    )
                    return LivenessResult(verdict=verdict, reason=reason, http_status=response.status_code)
            return LivenessResult(verdict=Verdict.UNKNOWN, reason="too many redirects")
        except HostNotFound:
            if current != url:  # the site answered, then sent us to a name that does not resolve
                return LivenessResult(verdict=Verdict.UNKNOWN, reason="redirected to a host that does not resolve")
            verdict, reason = await self._nxdomain.judge(urlsplit(url).hostname or "")
            return LivenessResult(verdict=verdict, reason=reason)
        except EgressRefused as refused:
            return LivenessResult(verdict=Verdict.UNKNOWN, reason=f"refused: {refused}")
        except httpx.TimeoutException:
            return LivenessResult(verdict=Verdict.UNKNOWN, reason="timed out")
        except (AnswerRefused, ResponseTooLarge) as refused:  # a bomb, a chain of encodings: not read
            return LivenessResult(verdict=Verdict.UNKNOWN, reason=f"answer refused: {refused}")
        except httpx.HTTPError as error:
            return LivenessResult(verdict=Verdict.UNKNOWN, reason=f"connection failed: {type(error).__name__}")
        except (httpx.InvalidURL, UnicodeError, ValueError) as error:  # what the site sent cannot be followed
            reason = f"unreadable answer from the site: {type(error).__name__}"
            return LivenessResult(verdict=Verdict.UNKNOWN, reason=reason)

    async def _read_html_slice(self, response: httpx.Response) -> str | None:
        """The first few KiB of an HTML or text page; nothing at all of anything else. Decoded
        in bounded steps (tada/clients/decoding.py): a compressed bomb is refused, not read."""
        if not is_page(response.headers.get("content-type", "")):
            return None
        body = bytearray()
        async for chunk in decoded_chunks(response):
            body.extend(chunk)
            if len(body) >= self._max_bytes:
                break
        return page_text(bytes(body[: self._max_bytes]), response.charset_encoding)
