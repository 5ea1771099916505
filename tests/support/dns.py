"""A real DNS server on loopback (UDP, 127.0.0.1 and a free port unless told, its own event loop in a thread):
authoritative answers (A, AAAA, NS, ...) for the names a test gives it, NXDOMAIN for any
other name, a chosen rcode (REFUSED, SERVFAIL) for some, and silence for names that
should time out. It can also play a parent zone's server: referrals (NS and glue, no
authority) for the zones it delegates. ``start_dns_servers`` starts several on one port,
one loopback address each (127.0.0.2, 127.0.0.3, ...), as a TLD's and a site's servers are
all asked on the same port."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from tada.clients.dns_lookup import egress_resolver
from tada.clients.egress import Resolver
from tada.kit.ports import free_port


@dataclass
class DnsServer:
    port: int = 0
    #: name (no trailing dot) -> {"A": [...], "AAAA": [...]}; a name with {} exists but has no address
    records: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    #: name -> the rcode it is answered with (dns.rcode.REFUSED, dns.rcode.SERVFAIL)
    rcodes: dict[str, dns.rcode.Rcode] = field(default_factory=dict)
    #: zone -> {nameserver name: glue addresses}: names in the zone get a referral
    delegations: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    queries: list[tuple[str, str]] = field(default_factory=list)
    #: the names of the queries that asked for recursion (RD set)
    recursive: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    #: False: answers as a cache would, without the AA flag (referrals never have it)
    authoritative: bool = True

    @property
    def address(self) -> str:
        """The value for TADA_DNS_SERVER."""
        return f"{self.host}:{self.port}"

    def respond(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if query.flags & dns.flags.RD:
            self.recursive.append(name)
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        if zone := self._delegating(name):
            self._refer(response, zone)
            return response.to_wire()
        if self.authoritative:
            response.flags |= dns.flags.AA
        if name in self.rcodes:
            response.set_rcode(self.rcodes[name])
        elif name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif values := self.records[name].get(rdtype):
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", rdtype, values))
        return response.to_wire()

    def _delegating(self, name: str) -> str | None:
        """The delegated zone ``name`` is in (the closest), if any."""
        zones = [zone for zone in self.delegations if name == zone or name.endswith("." + zone)]
        return max(zones, key=len) if zones else None

    def _refer(self, response: dns.message.Message, zone: str) -> None:
        nameservers = self.delegations[zone]
        targets = [ns.rstrip(".") + "." for ns in nameservers]
        response.authority.append(dns.rrset.from_text_list(zone + ".", 60, "IN", "NS", targets))
        for ns, glue in nameservers.items():
            for rdtype in ("A", "AAAA"):
                if values := [a for a in glue if (":" in a) == (rdtype == "AAAA")]:
                    response.additional.append(dns.rrset.from_text_list(ns.rstrip(".") + ".", 60, "IN", rdtype, values))


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, state: DnsServer) -> None:
        self._state = state
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self._transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        answer = self._state.respond(data)
        if answer is not None and self._transport is not None:
            self._transport.sendto(answer, addr)


class RunningDnsServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """``port`` 0: a free one. A port given that cannot be bound raises OSError."""
        self.state = DnsServer(host=host)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        try:
            self._transport = asyncio.run_coroutine_threadsafe(self._bind(port), self._loop).result(timeout=10)
        except BaseException:
            self._close_loop()
            raise

    async def _bind(self, port: int) -> asyncio.DatagramTransport:
        for _ in range(1 if port else 10):  # free_port() checks TCP; the same number on UDP is free all but always
            chosen = port or free_port()
            try:
                transport, _ = await self._loop.create_datagram_endpoint(
                    lambda: _Protocol(self.state), local_addr=(self.state.host, chosen)
                )
            except OSError:
                if port:
                    raise
                continue
            self.state.port = chosen
            return transport
        raise RuntimeError("no free UDP port for the test DNS server")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._transport.close)
        self._close_loop()

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def start_dns_server() -> RunningDnsServer:
    return RunningDnsServer()


def start_dns_servers(hosts: list[str]) -> list[RunningDnsServer]:
    """One server on each loopback address, all on one free port (stop() each)."""
    for _ in range(10):
        first = RunningDnsServer(hosts[0])
        started = [first]
        try:
            started += [RunningDnsServer(host, first.state.port) for host in hosts[1:]]
        except OSError:  # the port is taken on another address: all again on another
            for server in started:
                server.stop()
            continue
        return started
    raise RuntimeError("no UDP port free on every test DNS address")


def resolver_for(server: DnsServer) -> Resolver:
    """The egress resolver hook, answered by this server (as the system's resolver would be):
    the name's addresses, or HostNotFound when it has none."""
    return egress_resolver(server.address, timeout_seconds=2.0)
