"""When a resolver's "no such name" counts as evidence that a site is gone.

Many networks answer NXDOMAIN for names that exist: an offline machine, an office or family
filter, a resolver that is simply broken. Before tada believes that a reported site's name
does not exist, the same resolver must show that it works, by resolving names that must
exist: the canaries (by default the platform registry's own domains, ``TADA_DNS_CANARIES``
to choose others). One canary that resolves is enough; none, and every NXDOMAIN is "unknown".
The finding is kept for a few minutes, so a big import asks the resolver once, not per link.

A resolver that works may still filter: office and family filters answer NXDOMAIN for the
names they block. So when the canaries resolve, the name's own authoritative nameservers are
asked directly (``tada/clients/dns_authority.py``): only their NXDOMAIN makes the site gone;
their answer means the resolver filters the name, and no answer from them proves nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from tada.clients.dns_authority import AuthorityCheck, Existence
from tada.clients.egress import HostNotFound, ResolutionFailed, Resolver
from tada.domain.states import Verdict

CANARY_TIMEOUT_SECONDS = 5.0
RECHECK_SECONDS = 300.0


class NxdomainEvidence:
    def __init__(
        self,
        resolver: Resolver,
        canaries: Sequence[str],
        *,
        authority: AuthorityCheck | None = None,
        recheck_seconds: float = RECHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._canaries = [name.strip().lower().rstrip(".") for name in canaries if name.strip()]
        self._recheck = recheck_seconds
        self._clock = clock
        self._known: tuple[float, bool] | None = None
        self._lock = asyncio.Lock()
        #: Asks the name's authoritative nameservers (the system's resolver finds them, port 53,
        #: public nameserver addresses only) unless the caller gives another.
        self._authority = authority or AuthorityCheck()

    async def judge(self, host: str) -> tuple[Verdict, str]:
        """The verdict on ``host`` after the resolver said it does not exist: gone only when the
        resolver is shown to work and the name's authoritative nameservers say NXDOMAIN too."""
        if not await self.resolver_works():
            return Verdict.UNKNOWN, "no such host, but the resolver cannot resolve canaries either"
        authority = await self._authority.ask(host)
        if authority.existence is Existence.ABSENT:
            return Verdict.GONE, "host does not exist (NXDOMAIN, confirmed by its authoritative nameservers)"
        if authority.existence is Existence.PRESENT:
            reason = (
                "no such host by the resolver, but its authoritative nameservers answer: resolver filters this name"
            )
            return Verdict.UNKNOWN, reason
        return Verdict.UNKNOWN, f"no such host by the resolver, and {authority.reason}"

    async def resolver_works(self) -> bool:
        """True when at least one canary resolves through the resolver (asked again after a
        few minutes). No canaries configured: nothing shows the resolver works, so False."""
        async with self._lock:
            if self._known is not None and self._clock() - self._known[0] < self._recheck:
                return self._known[1]
            works = await self._any_canary_resolves()
            self._known = (self._clock(), works)
            return works

    async def _any_canary_resolves(self) -> bool:
        """All canaries at once, within one time limit: a resolver that only times out costs
        seconds, not seconds per canary."""

        async def resolves(name: str) -> bool:
            try:
                return bool(await self._resolver(name, 443))
            except (HostNotFound, ResolutionFailed, OSError):
                return False

        tasks = [asyncio.ensure_future(resolves(name)) for name in self._canaries]
        try:
            async with asyncio.timeout(CANARY_TIMEOUT_SECONDS):
                for finished in asyncio.as_completed(tasks):
                    if await finished:
                        return True
        except TimeoutError:
            pass
        finally:
            for task in tasks:
                task.cancel()
        return False
