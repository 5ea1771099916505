"""Liveness: is the reported content still up? Reads at most a small slice of HTML
and never downloads media."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import asyncpg
import httpx
import structlog
from temporalio import activity

from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy, EgressRefused, HostNotFound
from tada.clients.host_limiter import HostLimiter
from tada.domain.liveness import classify, is_page, page_text
from tada.domain.models import LivenessRequest, LivenessResult
from tada.domain.states import Verdict
from tada.workflows.activity_contracts import CHECK_LIVENESS, Liveness

log = structlog.get_logger(__name__)

MAX_REDIRECTS = 5
USER_AGENT = "tada-liveness/0.1 (take-down assistance; checks whether reported content is still up)"


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
        self._pool = pool
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
        url = await self._pool.fetchval("SELECT url FROM links WHERE link_id = $1", request.link_id)
        if url is None:
            return LivenessResult(verdict=Verdict.UNKNOWN, reason="link not in the database")
        result = await self.probe(url, request.removed_markers)
        log.info(
            "liveness_checked",
            link_id=request.link_id,
            host=urlsplit(url).hostname,
            verdict=result.verdict,
            http_status=result.http_status,
        )
        return result

    async def probe(self, url: str, removed_markers: list[str]) -> LivenessResult:
        current = url
        try:
            for _ in range(MAX_REDIRECTS + 1):
                await self._egress.check(current)
                async with (
                    self._limiter.slot(urlsplit(current).hostname),
                    self._http.stream("GET", current, headers={"User-Agent": USER_AGENT}) as response,
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
        except httpx.HTTPError as error:
            return LivenessResult(verdict=Verdict.UNKNOWN, reason=f"connection failed: {type(error).__name__}")
        except (httpx.InvalidURL, UnicodeError, ValueError) as error:  # what the site sent cannot be followed
            reason = f"unreadable answer from the site: {type(error).__name__}"
            return LivenessResult(verdict=Verdict.UNKNOWN, reason=reason)

    async def _read_html_slice(self, response: httpx.Response) -> str | None:
        """The first few KiB of an HTML or text page; nothing at all of anything else."""
        if not is_page(response.headers.get("content-type", "")):
            return None
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) >= self._max_bytes:
                break
        return page_text(bytes(body[: self._max_bytes]), response.charset_encoding)
