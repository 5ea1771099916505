"""The simulation's RDAP service (HTTP, 127.0.0.1): an IANA-style bootstrap that sends
every query here, the hosting providers' networks with their abuse contacts, and one
registrar for every simulated domain (RFC 9083 shapes, as tada's lookup reads them)."""

from __future__ import annotations

import ipaddress
import json

from tada.kit.web import LoopbackWeb, Request, Response
from tada.simulation.sites import REGISTRAR, Provider


def _entity(handle: str, roles: list[str], name: str, email: str | None = None, entities: list | None = None) -> dict:
    card = [["version", {}, "text", "4.0"], ["fn", {}, "text", name], ["kind", {}, "text", "org"]]
    if email:
        card.append(["email", {}, "text", email])
    record = {"objectClassName": "entity", "handle": handle, "roles": roles, "vcardArray": ["vcard", card]}
    if entities:
        record["entities"] = entities
    return record


class SimulatedRdap:
    host = "127.0.0.1"

    def __init__(self, providers: list[Provider]) -> None:
        self.providers = providers
        self.port = 0
        self.base_url = ""  # http://127.0.0.1:PORT/, once started
        self.queries: list[str] = []
        self._server: LoopbackWeb | None = None

    @property
    def bootstrap_url(self) -> str:
        """The value for TADA_RDAP_BOOTSTRAP (with TADA_RDAP_ALLOW_HTTP)."""
        return self.base_url + "bootstrap/"

    def bootstrap(self, name: str) -> dict | None:
        blocks = {
            "dns.json": ["test"],
            "ipv4.json": [p.network for p in self.providers],
            "ipv6.json": ["2001:db8::/32"],  # whoisit wants every registry to list something
        }.get(name)
        if blocks is None:
            return None
        services = [[blocks, [self.base_url + "rdap/"]]] if blocks else []
        return {
            "version": "1.0",
            "publication": "2026-01-01T00:00:00Z",
            "description": "simulation",
            "services": services,
        }

    def answer(self, path: str) -> tuple[int, dict]:
        self.queries.append(path)
        if path.startswith("/bootstrap/"):
            data = self.bootstrap(path.removeprefix("/bootstrap/"))
            return (200, data) if data else (404, {"errorCode": 404})
        if path.startswith("/rdap/ip/"):
            value = path.removeprefix("/rdap/ip/").split("/")[0]
            for provider in self.providers:
                try:
                    if ipaddress.ip_address(value) in ipaddress.ip_network(provider.network):
                        return 200, self._network(provider)
                except ValueError:
                    break
            return 404, {"errorCode": 404, "title": "Not Found"}
        if path.startswith("/rdap/domain/"):
            name = path.removeprefix("/rdap/domain/").lower().rstrip(".")
            if name.endswith(".test"):
                return 200, self._domain(name)
        return 404, {"errorCode": 404, "title": "Not Found"}

    def _network(self, provider: Provider) -> dict:
        network = ipaddress.ip_network(provider.network)
        abuse = _entity(f"ABUSE-{provider.domain}", ["abuse"], f"{provider.name} abuse desk", provider.abuse_email)
        registrant = _entity(f"ORG-{provider.domain}", ["registrant"], provider.name, entities=[abuse])
        return {
            "rdapConformance": ["rdap_level_0"],
            "objectClassName": "ip network",
            "handle": f"NET-{provider.domain}",
            "startAddress": str(network.network_address),
            "endAddress": str(network.broadcast_address),
            "ipVersion": "v4",
            "name": provider.name,
            "entities": [registrant],
        }

    def _domain(self, name: str) -> dict:
        abuse = _entity("REGISTRAR-ABUSE", ["abuse"], "Registrar abuse desk", REGISTRAR.abuse_email)
        registrar = _entity("9999", ["registrar"], REGISTRAR.name, entities=[abuse])
        return {
            "rdapConformance": ["rdap_level_0"],
            "objectClassName": "domain",
            "ldhName": name,
            "entities": [registrar],
        }

    def respond(self, request: Request) -> Response:
        status, data = self.answer(request.path)
        return Response(status, json.dumps(data), "application/rdap+json")

    def start(self) -> None:
        self._server = LoopbackWeb(self.respond, [self.host], keep_alive=False)
        self._server.start()
        self.port = self._server.port
        self.base_url = self._server.url("/")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
