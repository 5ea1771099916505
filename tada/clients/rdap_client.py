"""RDAP queries for an IP address or a domain, at the server the IANA bootstrap names.

whoisit picks the server and builds the query URL (RFC 9224, RFC 9082); the
request itself goes through our httpx client, because its answer is needed in
full: the Retry-After of a 429 and the server that finally answered after a
redirect (ARIN sends queries for other regions' addresses on to their RIR).

A registry's rate limit (429) is waited out a few times here, honouring
Retry-After; if it persists the caller gets RdapRateLimited, to retry later,
never an empty answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
import structlog
from whoisit.bootstrap import BaseBootstrap
from whoisit.errors import WhoisItError
from whoisit.query import QueryBuilder

from tada.clients.decoding import AnswerRefused
from tada.clients.rdap_bootstrap import BootstrapUnavailable, load_bootstrap
from tada.clients.safe_transport import read_limited

log = structlog.get_logger(__name__)

ACCEPT = "application/rdap+json, application/json;q=0.9"
USER_AGENT = "tada-rdap/0.1 (take-down assistance; looks up abuse contacts)"
#: An RDAP answer larger than this is not read (real ones are a few KiB); decoded bytes count.
MAX_RDAP_BYTES = 1024 * 1024


class RdapUnavailable(Exception):
    """The RDAP server (or the bootstrap) could not be reached or failed: worth retrying later."""


class RdapRateLimited(RdapUnavailable):
    def __init__(self, server: str, retry_after: float) -> None:
        super().__init__(f"RDAP server {server} still rate-limits after retries")
        self.server = server
        self.retry_after = retry_after


@dataclass(frozen=True)
class RdapAnswer:
    server: str  # base URL of the server that answered, e.g. "https://rdap.db.ripe.net/"
    data: dict


class RdapClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        bootstrap_source: str | None = None,
        allow_http: bool = False,
        timeout_seconds: float = 15.0,
        max_attempts: int = 4,
        max_wait_seconds: float = 10.0,
        bootstrap_max_age_seconds: float = 86400.0,
    ) -> None:
        self._http = http
        self._source = bootstrap_source
        self._allow_http = allow_http
        self._timeout = timeout_seconds
        self._max_attempts = max(1, max_attempts)
        self._max_wait = max_wait_seconds
        self._max_age = bootstrap_max_age_seconds
        self._builder: QueryBuilder | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def ip(self, address: str) -> RdapAnswer | None:
        """The RDAP network object holding ``address``; None if no server covers it or it has no record."""
        return await self._query("ip", address)

    async def domain(self, name: str) -> RdapAnswer | None:
        """The RDAP domain object of ``name``; None if its TLD has no RDAP server or it has no record."""
        return await self._query("domain", name)

    async def _query(self, kind: str, value: str) -> RdapAnswer | None:
        builder = await self._query_builder()
        try:
            _, url, exact = builder.build(query_type=kind, query_value=value)
        except WhoisItError as error:  # no RDAP service for this TLD, or not a queryable value
            log.info("rdap_no_service", kind=kind, value=value, reason=type(error).__name__)
            return None
        if kind == "ip" and not exact:  # not in the bootstrap: whoisit would guess a RIR on the internet
            log.info("rdap_no_service", kind=kind, value=value, reason="not in bootstrap")
            return None
        return await self._get(url, kind)

    async def _get(self, url: str, kind: str) -> RdapAnswer | None:
        server = _server_of(url, kind)
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._http.stream(
                    "GET",
                    url,
                    headers={"Accept": ACCEPT, "User-Agent": USER_AGENT},
                    timeout=self._timeout,
                    follow_redirects=True,
                ) as response:
                    body = await read_limited(response, MAX_RDAP_BYTES) if response.status_code == 200 else b""
            except AnswerRefused as refused:  # a compressed bomb, a chain of encodings: never read whole
                raise RdapUnavailable(f"RDAP server {server} sent an answer refused: {refused}") from refused
            except httpx.HTTPError as error:
                raise RdapUnavailable(f"RDAP server {server} not reachable: {type(error).__name__}") from error
            server = _server_of(str(response.url), kind)
            if response.status_code == 429:
                wait = retry_after(response.headers.get("Retry-After"), default=2.0 ** (attempt - 1))
                log.info("rdap_rate_limited", rdap_server=server, attempt=attempt, retry_after=wait)
                if attempt == self._max_attempts or wait > self._max_wait:
                    raise RdapRateLimited(server, wait)
                await asyncio.sleep(wait)
                continue
            if response.status_code == 404:
                return None
            if response.status_code >= 500:
                raise RdapUnavailable(f"RDAP server {server} failed with HTTP {response.status_code}")
            if response.status_code != 200:
                log.warning("rdap_refused", rdap_server=server, http_status=response.status_code)
                return None
            try:
                data = json.loads(body)
            except ValueError as error:
                raise RdapUnavailable(f"RDAP server {server} sent something other than JSON") from error
            return RdapAnswer(server, data) if isinstance(data, dict) else None
        raise AssertionError("unreachable")

    async def _query_builder(self) -> QueryBuilder:
        async with self._lock:
            stale = time.monotonic() - self._loaded_at > self._max_age
            if self._builder is None or stale:
                try:
                    bootstrap: BaseBootstrap = await load_bootstrap(
                        self._source, self._http, allow_http=self._allow_http
                    )
                except BootstrapUnavailable as error:
                    if self._builder is None:
                        raise RdapUnavailable(str(error)) from error
                    log.warning("rdap_bootstrap_refresh_failed", error=type(error).__name__)
                else:
                    self._builder = QueryBuilder(bootstrap)
                self._loaded_at = time.monotonic()
            return self._builder


def retry_after(value: str | None, *, default: float) -> float:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), never negative."""
    if not value:
        return default
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return default


def _server_of(url: str, kind: str) -> str:
    """``https://rdap.arin.net/registry/ip/1.2.3.4`` -> ``https://rdap.arin.net/registry/``."""
    marker = f"/{kind}/"
    index = url.rfind(marker)
    return url[: index + 1] if index >= 0 else url
