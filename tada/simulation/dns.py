"""The simulation's DNS server (UDP, 127.0.0.1): the simulated sites' host names,
answered with their hosting provider's address; NXDOMAIN for every other name."""

from __future__ import annotations

import socketserver
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from tada.kit.ports import free_port


class SimulatedDns:
    host = "127.0.0.1"

    def __init__(self, records: dict[str, str]) -> None:
        self.records = {name.lower().rstrip("."): address for name, address in records.items()}  # name -> IPv4
        self.port = 0
        self._server: socketserver.ThreadingUDPServer | None = None

    @property
    def address(self) -> str:
        """The value for TADA_DNS_SERVER."""
        return f"{self.host}:{self.port}"

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        if name not in self.records:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.A:
            response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "A", [self.records[name]]))
        return response.to_wire()  # AAAA and others: no data

    def start(self) -> None:
        state = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                try:
                    sock.sendto(state.answer(data), self.client_address)
                except Exception:  # noqa: BLE001 - a malformed query gets no answer, as from a real server
                    pass

        for _ in range(10):  # free_port() checks TCP; the same number on UDP is free all but always
            try:
                self._server = socketserver.ThreadingUDPServer((self.host, free_port(self.host)), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free UDP port for the simulation's DNS server")
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
