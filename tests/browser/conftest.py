"""The console in a real browser: the distribution's Chromium driven by Playwright (one browser
for the session, a fresh context for each test), the console served by the real app against the
suite's PostgreSQL, SMTP and Temporal dev server, and axe-core on the pages
(tests/support/browser.py)."""

from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import async_playwright

from tada.kit.ports import free_port
from tada.settings import Settings
from tests.console.conftest import REGISTRY, Console
from tests.console.conftest import manual_site as manual_site  # the manual platform's pages, on 127.0.0.2
from tests.support.browser import LAUNCH, ChromiumMissing, console_serving, ensure_chromium
from tests.support.cli_stack import NOTICE_FROM, stack_settings, write_registry


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of the distribution's Chromium, installed first when missing. Where it cannot be
    installed the test fails (never skips), saying how to install it."""
    try:
        return str(ensure_chromium())
    except ChromiumMissing as error:
        pytest.fail(str(error), pytrace=False)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(chromium):
    """One headless Chromium for the whole session."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**{**LAUNCH, "executable_path": chromium})
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser):
    """A page in a fresh browser context (no cookies or storage from another test)."""
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture(scope="session")
def console_settings(dev_env, postgres_url, smtp_server, tmp_path_factory) -> Settings:
    """The console server's settings: the suite's PostgreSQL, SMTP and Temporal dev server, a task
    queue of its own, the registry of the console's HTTP tests (the test platform on 127.0.0.1 by
    email, every step an hour away, and a manual one on 127.0.0.2), a free port on 127.0.0.1."""
    home = tmp_path_factory.mktemp("console")
    return stack_settings(
        dev_env,
        postgres_url,
        smtp_server[1],
        write_registry(home, REGISTRY),
        "console",
        notice_from=NOTICE_FROM,
        state_dir=home / ".tada",
        api_host="127.0.0.1",
        api_port=free_port(),
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def console_url(dev_env, db_pool, console_settings):
    """The base URL (``http://127.0.0.1:PORT``) of the real app serving the console with
    ``console_settings``, and its worker running, for the session. A module that needs other
    settings serves its own with tests.support.browser.console_serving."""
    async with console_serving(dev_env.client, db_pool, console_settings) as url:
        yield url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def console(dev_env, db_pool, console_settings, console_url) -> Console:
    """The console of ``console_url`` as the HTTP tests know it (tests/console/conftest.py):
    ``await console.person(role)`` makes a person (password ``PASSWORD``), ``open_case()`` and
    ``add_links(case, *urls)`` start links through the worker."""
    return Console(url=console_url, settings=console_settings, pool=db_pool, client=dev_env.client)
