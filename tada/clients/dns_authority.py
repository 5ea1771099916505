"""Asking a name's authoritative nameservers directly, past the configured resolver.

A resolver that answers NXDOMAIN for a name may be filtering it (office and family filters
block adult sites by name). So before tada believes a "no such name", it asks the servers
that own the name, without trusting the resolver's answer for the name itself:

1. the resolver is asked only for the nameservers of the name's parent zones (all at once,
   ``MAX_ZONE_DEPTH`` labels deep at most); the closest enclosing zone it gives nameservers
   for (typically the TLD; the root at worst) is where the walk starts;
2. those servers are asked directly, without recursion, for the name's A record; a referral
   (NS and glue for a zone below) is followed down, at most ``max_referrals`` times, until
   a server answers with authority;
3. an authoritative NXDOMAIN means the name does not exist; an authoritative answer or an
   empty NOERROR means it does (NXDOMAIN is about the name, not a record type, so one type
   decides).

Every nameserver address must pass the egress rules of web targets (``domain.addresses``):
a site's nameserver never makes tada send a packet to a private or loopback address, unless
private targets are allowed (tests, local demos). Bounded: the whole walk within
``timeout_seconds``; each zone's servers asked at once, at most ``max_servers`` of them.
Reasons name no host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from enum import Enum

import dns.asyncquery
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

from tada.clients.dns_lookup import parse_dns_server
from tada.domain.addresses import refusal

TIMEOUT_SECONDS = 4.0
QUERY_TIMEOUT_SECONDS = 1.5
MAX_REFERRALS = 5
MAX_SERVERS = 4
#: The resolver is asked about parent zones this many labels deep at most (a name of a hundred
#: labels costs as many questions as one of ten); a zone deeper still is reached by referrals.
MAX_ZONE_DEPTH = 8


class Existence(Enum):
    ABSENT = "absent"  # an authoritative NXDOMAIN
    PRESENT = "present"  # an authoritative answer or empty NOERROR for the name
    UNKNOWN = "unknown"  # no authoritative server could be found or asked


@dataclass(frozen=True)
class Authority:
    """What the name's authoritative nameservers say; ``reason`` says why when UNKNOWN."""

    existence: Existence
    reason: str = ""


@dataclass(frozen=True)
class _Referral:
    zone: dns.name.Name
    glue: list[str]
    nameservers: list[dns.name.Name]


class AuthorityCheck:
    def __init__(
        self,
        *,
        resolver: str | None = None,
        port: int = 53,
        allow_private: bool = False,
        timeout_seconds: float = TIMEOUT_SECONDS,
        query_timeout_seconds: float = QUERY_TIMEOUT_SECONDS,
        max_referrals: int = MAX_REFERRALS,
        max_servers: int = MAX_SERVERS,
    ) -> None:
        """``resolver``: the recursive resolver asked for parent zones' nameservers ("host" or
        "host:port"; None: the system's). ``port``: where authoritative servers are asked (53;
        tests run theirs on a free port)."""
        self._resolver_address = parse_dns_server(resolver) if resolver else None  # bad value: fails now
        self._port = port
        self._allow_private = allow_private
        self._timeout = timeout_seconds
        self._query_timeout = query_timeout_seconds
        self._max_referrals = max_referrals
        self._max_servers = max_servers
        self._resolver: dns.asyncresolver.Resolver | None = None

    async def ask(self, host: str) -> Authority:
        try:
            name = dns.name.from_text(host.strip().rstrip(".") + ".")
        except (dns.exception.DNSException, UnicodeError):
            return Authority(Existence.UNKNOWN, "the host is not a DNS name its nameservers could be asked about")
        try:
            async with asyncio.timeout(self._timeout):
                return await self._walk(name)
        except TimeoutError:
            return Authority(Existence.UNKNOWN, "its authoritative nameservers could not be asked in time")
        except dns.resolver.NoResolverConfiguration:
            return Authority(Existence.UNKNOWN, "no DNS resolver configured to find its authoritative nameservers")

    async def _walk(self, name: dns.name.Name) -> Authority:
        zone, servers, why = await self._closest_zone(name)
        for _ in range(self._max_referrals + 1):
            if not servers:
                return Authority(Existence.UNKNOWN, f"its authoritative nameservers cannot be found ({why})")
            reply = await self._ask_any(servers, name, zone)
            if reply is None:
                why = "no answer, refused or failed"
                return Authority(Existence.UNKNOWN, f"its authoritative nameservers cannot be asked ({why})")
            if isinstance(reply, Existence):
                return Authority(reply)
            zone = reply.zone
            servers, why = await self._servers(reply.nameservers, reply.glue)
        return Authority(Existence.UNKNOWN, "its authoritative nameservers cannot be reached (too many referrals)")

    # -- where to start: the resolver's nameservers for the closest parent zone ---------------

    async def _closest_zone(self, name: dns.name.Name) -> tuple[dns.name.Name, list[str], str]:
        parents = []
        candidate = name
        while candidate != dns.name.root:
            candidate = candidate.parent()
            if len(candidate.labels) - 1 <= MAX_ZONE_DEPTH:  # the root is one (empty) label
                parents.append(candidate)
        found = await asyncio.gather(*(self._nameservers_of(zone) for zone in parents))
        why = "the resolver names no nameservers for any parent zone"
        for zone, nameservers in zip(parents, found):  # the closest first
            if nameservers:
                servers, why = await self._servers(nameservers, [])
                if servers:
                    return zone, servers, why
        return dns.name.root, [], why

    async def _nameservers_of(self, zone: dns.name.Name) -> list[dns.name.Name]:
        try:
            answer = await self._ask_resolver(zone, dns.rdatatype.NS)
        except (dns.exception.DNSException, OSError):
            return []
        if answer.rrset is None or answer.rrset.name != zone:  # reached through a CNAME: not a zone
            return []
        return [rdata.target for rdata in answer.rrset]

    async def _servers(self, nameservers: list[dns.name.Name], glue: list[str]) -> tuple[list[str], str]:
        """Addresses to ask: the glue, else the nameservers' addresses from the resolver; only
        public ones unless private targets are allowed. The reason is for when none is left."""
        found = glue
        if not found:
            lookups: list[Awaitable[list[str]]] = [
                self._addresses_of(ns, rdtype)
                for ns in nameservers[: self._max_servers]
                for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
            ]
            found = [address for addresses in await asyncio.gather(*lookups) for address in addresses]
        if not found:
            return [], "the nameservers' addresses do not resolve"
        allowed = [address for address in _unique(found) if self._allow_private or refusal(address) is None]
        if not allowed:
            return [], "the nameservers' addresses are not public"
        allowed.sort(key=lambda address: ":" in address)  # IPv4 first: more often reachable
        return allowed[: self._max_servers], ""

    async def _addresses_of(self, host: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> list[str]:
        try:
            answer = await self._ask_resolver(host, rdtype)
        except (dns.exception.DNSException, OSError):
            return []
        return [rdata.address for rdata in answer.rrset or []]

    async def _ask_resolver(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.resolver.Answer:
        return await self._get_resolver().resolve(name, rdtype, raise_on_no_answer=False, search=False)

    def _get_resolver(self) -> dns.asyncresolver.Resolver:
        """Made on first use: a host without /etc/resolv.conf gets "unknown", not a failed worker."""
        if self._resolver is None:
            if self._resolver_address:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [dns.nameserver.Do53Nameserver(*self._resolver_address)]
            else:
                resolver = dns.asyncresolver.Resolver()
            resolver.lifetime = self._timeout / 2
            resolver.timeout = min(self._timeout / 2, 2.0)
            self._resolver = resolver
        return self._resolver

    # -- asking the zone's own servers --------------------------------------------------------

    async def _ask_any(
        self, servers: list[str], name: dns.name.Name, zone: dns.name.Name
    ) -> Existence | _Referral | None:
        """All of the zone's servers at once; the first reply that means something wins.
        None: every one timed out, refused, failed or answered without authority."""

        async def one(address: str) -> Existence | _Referral | None:
            query = dns.message.make_query(name, dns.rdatatype.A)
            query.flags &= ~dns.flags.RD  # non-recursive: the server's own data, never its cache
            try:
                reply, _ = await dns.asyncquery.udp_with_fallback(
                    query, address, timeout=self._query_timeout, port=self._port
                )
            except (dns.exception.DNSException, OSError, ValueError):
                return None
            return _read(reply, name, zone)

        tasks = [asyncio.ensure_future(one(address)) for address in servers]
        try:
            for finished in asyncio.as_completed(tasks):
                result = await finished
                if result is not None:
                    return result
        finally:
            for task in tasks:
                task.cancel()
        return None


def _read(reply: dns.message.Message, name: dns.name.Name, zone: dns.name.Name) -> Existence | _Referral | None:
    """What one server's reply says about ``name``, asked as a server of ``zone``."""
    authoritative = bool(reply.flags & dns.flags.AA)
    if reply.rcode() == dns.rcode.NXDOMAIN:
        return Existence.ABSENT if authoritative else None
    if reply.rcode() != dns.rcode.NOERROR:
        return None  # SERVFAIL, REFUSED, ...: this server cannot be asked
    if authoritative:
        return Existence.PRESENT  # an answer, a CNAME, or the name with no A record: it exists
    for rrset in reply.authority:
        child = rrset.name
        if rrset.rdtype == dns.rdatatype.NS and name.is_subdomain(child) and child.is_subdomain(zone) and child != zone:
            nameservers = [rdata.target for rdata in rrset]
            glue = [
                rdata.address
                for glue_set in reply.additional
                if glue_set.name in nameservers  # glue for the referred nameservers, within this zone only
                and glue_set.name.is_subdomain(zone)
                and glue_set.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                for rdata in glue_set
            ]
            return _Referral(child, glue, nameservers)
    return None  # no authority and no referral downwards: a lame server


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
