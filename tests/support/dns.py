"""A real DNS server on 127.0.0.1 (UDP, a free port, its own event loop in a thread):
authoritative A/AAAA answers for the names a test gives it, NXDOMAIN for any
other name, and silence for names that should time out."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from tada.clients.dns_lookup import DnsLookup
from tada.clients.egress import HostNotFound, Resolver
from tada.kit.ports import free_port


@dataclass
class DnsServer:
    port: int = 0
    #: name (no trailing dot) -> {"A": [...], "AAAA": [...]}; a name with {} exists but has no address
    records: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)
    queries: list[tuple[str, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The value for TADA_DNS_SERVER."""
        return f"127.0.0.1:{self.port}"

    def respond(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif values := self.records[name].get(rdtype):
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", rdtype, values))
        return response.to_wire()


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
    def __init__(self) -> None:
        self.state = DnsServer()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._transport = asyncio.run_coroutine_threadsafe(self._bind(), self._loop).result(timeout=10)

    async def _bind(self) -> asyncio.DatagramTransport:
        for _ in range(10):  # free_port() checks TCP; the same number on UDP is free all but always
            port = free_port()
            try:
                transport, _ = await self._loop.create_datagram_endpoint(
                    lambda: _Protocol(self.state), local_addr=("127.0.0.1", port)
                )
            except OSError:
                continue
            self.state.port = port
            return transport
        raise RuntimeError("no free UDP port for the test DNS server")

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._transport.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def start_dns_server() -> RunningDnsServer:
    return RunningDnsServer()


def resolver_for(server: DnsServer) -> Resolver:
    """The egress resolver hook, answered by this server (as the system's resolver would be):
    the name's addresses, or HostNotFound when it has none."""
    lookup = DnsLookup(server=server.address, timeout_seconds=2.0)

    async def resolve(host: str, port: int) -> list[str]:
        found = await lookup.addresses(host)
        if not found:
            raise HostNotFound(host)
        return found

    return resolve
