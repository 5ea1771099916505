"""Serving the app with uvicorn: inside another program's event loop (``make run``,
tests) or on its own (``tada api`` / ``tada-api``).

The runner binds the socket itself, so a taken port is a clear PortInUseError,
and leaves the process's signals to its host program: uvicorn's own signal
capture would swallow the Ctrl-C that ``make run`` listens for.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator

import uvicorn

from tada.api.app import create_app
from tada.errors import PortInUseError
from tada.settings import Settings

START_TIMEOUT = 60.0


class ApiStartError(RuntimeError):
    pass


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the host program owns the signals
        yield


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise PortInUseError(port, "HTTP API", host) from None
    sock.set_inheritable(True)
    return sock


class ApiRunner:
    """uvicorn as a task in the running event loop: ``await start()``, later ``await stop()``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)  # malformed tokens: ValueError before anything binds
        # No access log: a request line carries its query string, and a page's query may hold what a
        # person typed (a search, a filter); what people do is in the audit trail, by ids.
        # A client's address is its own, or the one a trusted proxy (TADA_API_TRUSTED_PROXIES) forwards.
        proxies = settings.api_trusted_proxies.strip()
        config = uvicorn.Config(
            self.app, lifespan="on", log_config=None, server_header=False, proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None, host=settings.api_host, port=settings.api_port, access_log=False,
        )  # fmt: skip
        self.server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = self.settings.api_host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.settings.api_port}"

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        """Bind, start serving, and return once requests are answered (ApiStartError if not)."""
        sock = bind(self.settings.api_host, self.settings.api_port)
        self._task = asyncio.create_task(self._serve(sock), name="tada-api")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.server.started:
            if self._task.done():
                await self._task  # raises what stopped it
                raise ApiStartError("the HTTP API stopped while starting")
            if loop.time() > deadline:
                await self.stop()
                raise ApiStartError(f"the HTTP API did not start within {timeout:.0f}s")
            await asyncio.sleep(0.05)

    async def _serve(self, sock: socket.socket) -> None:
        try:
            await self.server.serve(sockets=[sock])
        except SystemExit:  # uvicorn exits when the lifespan fails; here that is an error, not an exit
            error = self.app.state.startup_error
            reason = f"{type(error).__name__}: {error}" if error else "its startup failed"
            raise ApiStartError(f"the HTTP API could not start: {reason}") from None
        finally:
            sock.close()

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(ApiStartError):
                await self._task

    async def wait(self) -> None:
        """Until the server stops (it stops only when told to, or fails)."""
        if self._task is not None:
            await self._task


def main() -> int:
    """``tada api`` / ``tada-api``: serve until Ctrl-C or SIGTERM. Exit 2 on bad configuration."""
    from pydantic import ValidationError

    from tada.adapters.log_setup import configure_logging
    from tada.domain.registry import RegistryError
    from tada.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as error:
        print(f"error: bad setting: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format)
    if not settings.api_tokens.get_secret_value().strip():
        print(
            "error: TADA_API_TOKENS is empty: set it to token:role,... "
            "(roles ops, caseworker, monitor; a monitor token:monitor:NAME)",
            file=sys.stderr,
        )
        return 2

    async def serve() -> None:
        runner = ApiRunner(settings)
        await runner.start()
        docs = f"OpenAPI: {runner.url}/docs" if settings.api_docs else "OpenAPI documents off: TADA_API_DOCS"
        print(f"tada HTTP API on {runner.url} ({docs}); Ctrl-C stops it", file=sys.stderr)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: setattr(runner.server, "should_exit", True))
        await runner.wait()

    try:
        asyncio.run(serve())
    except (ValueError, RegistryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (PortInUseError, ApiStartError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
