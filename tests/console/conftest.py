"""The console against the real stack: the API's server (tada/api/server.py) on 127.0.0.1 with
the console mounted, a worker, PostgreSQL and the Temporal dev server; people made with
tada/app/accounts.py. ``console.signed_in(name)`` gives an HTTP client with that person's session."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from tada.api.server import ApiRunner
from tada.app.accounts import add_user
from tada.app.intake import add_links, open_case
from tada.domain.intake import ImportRow
from tada.domain.registry import load_registry
from tada.domain.urls import normalise_url
from tada.kit.ports import free_port
from tada.kit.web import serve
from tada.settings import Settings
from tests.support.cli_stack import HOURLY, NOTICE_FROM, registry_toml, stack_settings, worker_running, write_registry
from tests.support.crypto import suite_crypto
from tests.support.link_ids import link_of
from tests.support.web import WebServer

PASSWORD = "correct horse battery staple"
#: The test platform on 127.0.0.1 (email), and one on 127.0.0.2 that takes reports only by hand.
MANUAL_HOST = "127.0.0.2"
MANUAL_WHERE = "the report form of the Manual Platform (signed in as the organisation)"
REGISTRY = registry_toml(HOURLY) + (
    f'\n[[platform]]\nname = "Manual Platform"\ncategory = "social_media"\ndomains = ["{MANUAL_HOST}"]\n'
    f'channel = "manual"\nmanual_instructions = "{MANUAL_WHERE}"\nescalation = "host"\n'
)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    url: str
    settings: Settings
    pool: object
    client: object
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    async def person(self, role: str = "caseworker", *, name: str | None = None) -> str:
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        await add_user(self.pool, name, role, PASSWORD)
        return name

    def browser(self) -> httpx.AsyncClient:
        """A client keeping cookies, as a browser does (no session yet)."""
        http = httpx.AsyncClient(base_url=self.url, timeout=30, follow_redirects=False)
        self.clients.append(http)
        return http

    async def sign_in(
        self, http: httpx.AsyncClient, name: str, password: str = PASSWORD, otp: str = ""
    ) -> httpx.Response:
        form = await http.get("/console/login")
        csrf = csrf_of(form.text)
        return await http.post(
            "/console/login", data={"username": name, "password": password, "otp": otp, "csrf": csrf}
        )

    async def open_case(self) -> str:
        return await open_case(self.pool, age=30, minimum_age=16, signpost="under {minimum_age}", crypto=suite_crypto())

    async def add_links(self, case_id: str, *urls: str) -> list[str]:
        """The links started by the worker, as an import starts them; their ids."""
        rows = [ImportRow(line=n, url=normalise_url(url)) for n, url in enumerate(urls, 1)]
        registry = load_registry(self.settings.platforms)
        await add_links(
            self.pool,
            self.client,
            registry,
            case_id=case_id,
            rows=rows,
            rejected=[],
            task_queue=self.settings.task_queue,
        )
        return [await link_of(self.pool, case_id, url) for url in urls]

    async def signed_in(self, role: str = "caseworker") -> tuple[httpx.AsyncClient, str]:
        name = await self.person(role)
        http = self.browser()
        answer = await self.sign_in(http, name)
        assert answer.status_code == 303, answer.text
        return http, name


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture(scope="module")
def manual_site() -> Iterator[WebServer]:
    """The manual platform's pages, on 127.0.0.2 (``manual_site.url(path)`` is on 127.0.0.1: use ``manual_url``)."""
    state = WebServer()
    server = serve(state.answer, hosts=(MANUAL_HOST,), keep_alive=False)
    state.port = server.port
    yield state
    server.shutdown()


def manual_url(site: WebServer, path: str) -> str:
    return f"http://{MANUAL_HOST}:{site.port}{path}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory) -> AsyncIterator[Console]:
    async with console_running(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory, REGISTRY) as found:
        yield found


@asynccontextmanager
async def console_running(
    dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory, registry: str, name: str = "console"
) -> AsyncIterator[Console]:
    """The API with the console, and a worker, on the platform registry ``registry`` (TOML)."""
    home = tmp_path_factory.mktemp(name)
    settings = stack_settings(
        dev_env, postgres_url, smtp_server[1], write_registry(home, registry), name,
        notice_from=NOTICE_FROM, state_dir=home / ".tada", api_tokens=SecretStr(""), api_host="127.0.0.1",
        api_port=free_port(),
    )  # fmt: skip
    runner = ApiRunner(settings)
    async with worker_running(dev_env.client, db_pool, settings):
        await runner.start()
        found = Console(url=runner.url, settings=settings, pool=db_pool, client=dev_env.client)
        try:
            yield found
        finally:
            for http in found.clients:
                await http.aclose()
            await runner.stop()
