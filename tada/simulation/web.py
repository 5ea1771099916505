"""The simulated sites' web servers: one small HTTP server per site, each on its own
loopback address (127.0.0.N), serving its pages and taking its report form."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tada.simulation.sites import Site
from tada.simulation.world import World

MAX_FORM_BYTES = 1 << 20


def _handler(world: World, site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: request lines would carry URLs
            pass

        def _send(self, status: int, headers: dict[str, str], body: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            status, headers, body = world.page(site, urlsplit(self.path).path)
            self._send(status, headers, body)

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length", "0") or 0), MAX_FORM_BYTES)
            fields = parse_qs(self.rfile.read(length).decode("utf-8", errors="replace"))
            if urlsplit(self.path).path != "/report":
                self._send(404, {}, "<p>Not found.</p>")
                return
            urls = [u.strip() for value in fields.get("urls", []) for u in value.splitlines() if u.strip()]
            world.notice("form", urls)  # the form does not say which notice it is: the site counts
            self._send(200, {}, "<p>Thank you, your report was received.</p>")

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a client that hung up: nothing to report
        pass


class SiteServers:
    """Start one server per site (binding its loopback address on a free port); ``stop()`` them all."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._servers: list[QuietServer] = []

    def start(self) -> None:
        for site in self._world.plan.sites:
            server = QuietServer((site.address, 0), _handler(self._world, site))
            site.port = server.server_address[1]
            self._servers.append(server)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
