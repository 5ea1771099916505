"""The HTTP API inside ``make run``: uvicorn as a task next to the worker."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from tada.api.server import ApiRunner
from tada.kit.api_tokens import LOCAL_MONITOR, describe_tokens, local_api_tokens
from tada.kit.banner import show_path
from tada.settings import Settings


@dataclass
class LocalApi:
    runner: ApiRunner
    banner: str  # where it listens
    tokens: str  # which tokens work, for the banner
    console: str  # the caseworkers' console

    async def stop(self) -> None:
        await self.runner.stop()


async def start_local_api(settings: Settings) -> LocalApi:
    """Start the API (PortInUseError when its port is taken). Without TADA_API_TOKENS the
    local stack's own tokens are used, and shown: this is a developer's machine; so are the
    OpenAPI documents, unless TADA_API_DOCS says otherwise."""
    if "api_docs" not in settings.model_fields_set:
        settings = settings.model_copy(update={"api_docs": True})
    configured = settings.api_tokens.get_secret_value().strip()
    if configured:
        tokens = "from TADA_API_TOKENS"
    else:
        text, path = local_api_tokens(settings.state_dir)
        settings = settings.model_copy(update={"api_tokens": SecretStr(text)})
        shown = "  ".join(f"{role} [bold]{token}[/]" for role, token in describe_tokens(text))
        tokens = (
            f"{shown}  [dim](kept in {show_path(path)}; the monitor reports on cases opened with "
            f"--monitor {LOCAL_MONITOR}; set TADA_API_TOKENS to choose your own)[/]"
        )
    runner = ApiRunner(settings)
    await runner.start()
    docs = f"OpenAPI: {runner.url}/docs" if settings.api_docs else "OpenAPI off: TADA_API_DOCS"
    banner = f"{runner.url}  [dim]({docs}; POST /v1/cases/CASE/reposts)[/]"
    return LocalApi(runner=runner, banner=banner, tokens=tokens, console=f"{runner.url}/console/")
