"""A real RDAP service on 127.0.0.1: the IANA bootstrap files (RFC 9224) pointing at
itself, and several registries under their own paths (``arin/registry/``,
``ripe/``, ``verisign/``) answering ``ip/<address>`` and ``tada/domain/<name>``
(RFC 9082) with the records a test puts in. A registry asked about an address
another one holds redirects there, as ARIN does; rate limits answer 429 with
Retry-After a set number of times, then the record."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from tada.kit.web import LoopbackWeb, Request, Response, serve

JSON = dict[str, Any]


@dataclass
class RdapServer:
    port: int = 0
    #: registry path -> the address blocks and TLDs the bootstrap gives it
    address_blocks: dict[str, list[str]] = field(default_factory=dict)
    tlds: dict[str, list[str]] = field(default_factory=dict)
    #: network (CIDR) -> (registry path, record); domain name -> (registry path, record)
    networks: dict[str, tuple[str, JSON]] = field(default_factory=dict)
    domains: dict[str, tuple[str, JSON]] = field(default_factory=dict)
    #: queried value (address or domain) -> how many more 429 answers to give
    throttle: dict[str, int] = field(default_factory=dict)
    retry_after: str | None = "1"
    hits: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def bootstrap_url(self) -> str:
        return self.base_url + "bootstrap/"

    def registry_url(self, registry: str) -> str:
        return self.base_url + registry

    def queries(self, kind: str) -> list[str]:
        """The values asked about, e.g. ``queries("ip")`` -> ["23.94.10.5", ...]."""
        return [path.rsplit(f"/{kind}/", 1)[1] for path in self.hits if f"/{kind}/" in path]

    def bootstrap(self, file_name: str) -> JSON | None:
        if file_name == "dns.json":
            entries = self.tlds
        elif file_name in ("ipv4.json", "ipv6.json"):
            version = 4 if file_name == "ipv4.json" else 6
            entries = {
                registry: [b for b in blocks if ipaddress.ip_network(b).version == version]
                for registry, blocks in self.address_blocks.items()
            }
        else:
            return None
        return {
            "version": "1.0",
            "publication": "2026-11-01T00:00:00Z",
            "description": f"RDAP bootstrap file for {file_name[:-5]} (local test copy)",
            "services": [[blocks, [self.registry_url(registry)]] for registry, blocks in entries.items() if blocks],
        }

    def answer(self, path: str) -> tuple[int, JSON | None, dict[str, str]]:
        for kind in ("ip", "domain"):
            left, marker, value = path.rpartition(f"/{kind}/")
            if marker and left and value:
                registry = left.lstrip("/") + "/"
                break
        else:
            return 400, {"errorCode": 400, "title": "Bad Request"}, {}
        value = value.lower()
        found = self._network_of(value) if kind == "ip" else self.domains.get(value.rstrip("."))
        if found is None:
            return 404, {"errorCode": 404, "title": "Not Found", "description": [f"{value} not found"]}, {}
        if self.throttle.get(value, 0) > 0:
            self.throttle[value] -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
            return 429, {"errorCode": 429, "title": "Too Many Requests"}, headers
        owner, record = found
        if owner != registry:
            return 301, None, {"Location": f"{self.registry_url(owner)}{kind}/{value}"}
        return 200, record, {}

    def _network_of(self, value: str) -> tuple[str, JSON] | None:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return None
        matches = [
            (ipaddress.ip_network(cidr), entry)
            for cidr, entry in self.networks.items()
            if ipaddress.ip_network(cidr).version == address.version and address in ipaddress.ip_network(cidr)
        ]
        return max(matches, key=lambda m: m[0].prefixlen)[1] if matches else None

    def respond(self, request: Request) -> Response:
        path = request.path
        self.hits.append(path)
        if path.startswith("/bootstrap/"):
            data = self.bootstrap(path.removeprefix("/bootstrap/"))
            status, headers = (200, {}) if data else (404, {})
        else:
            status, data, headers = self.answer(path)
        body = json.dumps(data).encode() if data is not None else b""
        return Response(status, body, "application/rdap+json", headers)


def start_rdap_server() -> tuple[RdapServer, LoopbackWeb]:
    state = RdapServer()
    server = serve(state.respond, keep_alive=False)
    state.port = server.port
    return state, server
