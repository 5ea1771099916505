"""``tada codec-server`` and ``tada api``: the servers the CLI runs until Ctrl-C.

Two typer apps, so that ``tada --help`` keeps listing each where it always has."""

from __future__ import annotations

from typing import Annotated

import typer

from tada.cli.output import Output
from tada.cli.runtime import CliError, Session, needs, run
from tada.domain.access import Action
from tada.servers.codec import build_server

codec_app = typer.Typer()
api_app = typer.Typer()


@codec_app.command("codec-server")
@needs(Action.SERVE)
def codec_server(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option("--port", help="Port (default TADA_CODEC_PORT, 8235).")] = None,
) -> None:
    """Serve the payload codec for the Temporal Web UI (POST …/encode, …/decode); TADA_CODEC_TOKEN required."""
    out = Output(False)

    async def command(session: Session) -> None:
        server = build_server(session.settings, host, port)
        endpoint = f"http://{host}:{server.config.port}"
        out.err.print(f"codec server on {endpoint} for the Web UI at {session.settings.codec_cors_origin}")
        out.err.print(f"Web UI codec endpoint: {endpoint}/<TADA_CODEC_TOKEN>; Ctrl-C stops it")
        try:
            await server.serve()
        except SystemExit:  # uvicorn's way of saying it could not start (it logged why)
            pass
        if not server.started:
            raise CliError(f"the codec server could not listen on {host}:{server.config.port}")

    run(out, command, Action.SERVE)


@api_app.command("api")
@needs(Action.SERVE)  # declared; the API itself checks every request's token (TADA_API_TOKENS)
def api_serve() -> None:
    """Serve the HTTP API for monitors and caseworker tools (TADA_API_HOST:TADA_API_PORT) until Ctrl-C."""
    from tada.api.server import main as serve_api  # FastAPI and uvicorn: only here

    raise typer.Exit(serve_api())
