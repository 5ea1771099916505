"""The simulated sites' web server: the kit's loopback server on every site's own
address (127.0.0.N, one port), serving each site's pages and taking its report form."""

from __future__ import annotations

from tada.kit.web import LoopbackWeb, Request, Response
from tada.simulation.world import World


class SiteServers:
    """``start()`` binds every site's loopback address (and tells each site its port); ``stop()``."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._sites = {site.address: site for site in world.plan.sites}
        self._server = LoopbackWeb(self.answer, list(self._sites))

    def answer(self, request: Request) -> Response:
        site = self._sites[request.host]
        if request.method != "POST":
            # tada's confirming check asks as a visitor's browser would; its first check says who it is
            confirming = not request.headers.get("user-agent", "").startswith("tada-")
            status, headers, body = self._world.page(site, request.path, confirming=confirming)
            return Response(status, body, headers=headers)
        if request.path != "/report":
            return Response(404, "<p>Not found.</p>")
        fields = request.form()
        urls = [u.strip() for value in fields.get("urls", []) for u in value.splitlines() if u.strip()]
        self._world.notice("form", urls)  # the form does not say which notice it is: the site counts
        return Response(200, "<p>Thank you, your report was received.</p>")

    def start(self) -> None:
        self._server.start()
        for site in self._sites.values():
            site.port = self._server.port

    def stop(self) -> None:
        self._server.stop()
