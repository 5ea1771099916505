"""A host's addresses (A and AAAA) from DNS, through the system's resolver or the
one named by TADA_DNS_SERVER ("host" or "host:port", "[v6]:port" for IPv6)."""

from __future__ import annotations

import asyncio
import ipaddress

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

from tada.clients.egress import HostNotFound, ResolutionFailed, Resolver


class DnsUnavailable(Exception):
    """No answer from the resolver in time, or it failed (SERVFAIL, refused): worth retrying later."""


def parse_dns_server(value: str) -> tuple[str, int]:
    """``"10.0.0.53"`` -> (``"10.0.0.53"``, 53); ``"127.0.0.1:5353"``; ``"[::1]:5353"``; ``"::1"``."""
    value = value.strip()
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        port = int(rest.removeprefix(":")) if rest else 53
    elif value.count(":") == 1:
        address, port_text = value.split(":")
        port = int(port_text)
    else:
        address, port = value, 53
    ipaddress.ip_address(address)  # a resolver is named by address: ValueError otherwise
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return address, port


class DnsLookup:
    def __init__(self, *, server: str | None = None, timeout_seconds: float = 5.0) -> None:
        self._server = parse_dns_server(server) if server else None  # a bad value fails at start
        self._timeout = timeout_seconds
        self._resolver: dns.asyncresolver.Resolver | None = None

    def _get_resolver(self) -> dns.asyncresolver.Resolver:
        """Made on first use, so a host without /etc/resolv.conf fails lookups (retried), not the worker."""
        if self._resolver is None:
            if self._server:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [dns.nameserver.Do53Nameserver(*self._server)]
            else:
                try:
                    resolver = dns.asyncresolver.Resolver()
                except dns.resolver.NoResolverConfiguration as error:
                    raise DnsUnavailable("no system DNS resolver configured; set TADA_DNS_SERVER") from error
            resolver.lifetime = self._timeout
            resolver.timeout = min(self._timeout, 2.0)  # per try; tried again within the lifetime
            self._resolver = resolver
        return self._resolver

    async def addresses(self, host: str) -> list[str]:
        """IPv4 then IPv6 addresses of ``host``, each once; empty if the name does not exist.

        Raises DnsUnavailable on a timeout or a failing resolver, so the caller can retry.
        """
        try:
            name = dns.name.from_text(host.strip().rstrip(".") + ".")
        except (dns.exception.DNSException, UnicodeError):
            return []  # not a valid DNS name: nothing to resolve
        answers = await asyncio.gather(self._query(name, dns.rdatatype.A), self._query(name, dns.rdatatype.AAAA))
        found: list[str] = []
        for address in (a for answer in answers for a in answer):
            if address not in found:
                found.append(address)
        return found

    async def _query(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> list[str]:
        try:
            answer = await self._get_resolver().resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.YXDOMAIN):
            return []
        except dns.resolver.LifetimeTimeout as error:
            raise DnsUnavailable(f"no DNS answer in time for {name} {rdtype.name}") from error
        except dns.resolver.NoNameservers as error:
            raise DnsUnavailable(f"DNS resolver failed for {name} {rdtype.name}") from error
        if answer.rrset is None:
            return []
        return [rdata.address for rdata in answer.rrset if hasattr(rdata, "address")]


def egress_resolver(server: str, *, timeout_seconds: float = 5.0) -> Resolver:
    """An egress resolver (tada/clients/egress.py) that asks ``server`` ("host" or "host:port")
    instead of the operating system: TADA_DNS_SERVER, for liveness checks as for the host lookup."""
    lookup = DnsLookup(server=server, timeout_seconds=timeout_seconds)

    async def resolve(host: str, port: int) -> list[str]:
        try:
            found = await lookup.addresses(host)
        except DnsUnavailable as error:
            raise ResolutionFailed(str(error)) from error
        if not found:
            raise HostNotFound(host)
        return found

    return resolve
