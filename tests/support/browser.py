"""What a browser test of the console needs: the distribution's Chromium (installed when it is
missing), the console served by the real app on 127.0.0.1, and axe-core's verdict on a page.

Playwright's own browser download cannot work here, so Playwright always launches
``/usr/bin/chromium`` (headless, without the sandbox: the suite runs as root). axe-core comes
bundled in ``axe-playwright-python``; it is injected into the page under test and asked only
for the WCAG 2 A and AA rules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Dialog, Locator, Page
from playwright.async_api import Response as PlaywrightResponse
from temporalio.client import Client

from tada.api.server import ApiRunner
from tada.settings import Settings
from tests.support.cli_stack import worker_running

CHROMIUM = Path("/usr/bin/chromium")
#: How Playwright launches it: the distribution's build, headless; no sandbox for root.
LAUNCH = {"executable_path": str(CHROMIUM), "args": ["--no-sandbox"], "headless": True}

HOW_TO_INSTALL = (
    "the browser tests need Chromium at /usr/bin/chromium, from the distribution: as root run "
    "`apt-get update && apt-get install -y chromium` (Debian; on Ubuntu the `chromium` package is a snap: "
    "install one that puts the browser at /usr/bin/chromium, or link it there)"
)
#: A fresh machine downloads about 150 MB; dpkg's lock may be held by another install for a while.
INSTALL_TIMEOUT = 900
_APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"]

WCAG_2_AA = ["wcag2a", "wcag2aa"]
_AXE = Axe()


class ChromiumMissing(RuntimeError):
    """Chromium is not there and could not be installed; the message says how to install it."""


def _apt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        [*_APT, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=INSTALL_TIMEOUT
    )


def ensure_chromium() -> Path:
    """``/usr/bin/chromium``, installed from the distribution first when missing (``apt-get
    install``, and ``apt-get update`` then a second try only when the first fails).
    ChromiumMissing, saying how to install it, when it is missing and cannot be installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    if shutil.which("apt-get") is None:
        raise ChromiumMissing(f"{HOW_TO_INSTALL}; this machine has no apt-get")
    if os.geteuid() != 0:
        raise ChromiumMissing(f"{HOW_TO_INSTALL}; these tests do not run as root, so they cannot install it")
    try:
        install = _apt("install", "chromium")
        if install.returncode != 0:
            update = _apt("update")
            install = _apt("install", "chromium") if update.returncode == 0 else update
    except subprocess.TimeoutExpired as error:
        raise ChromiumMissing(f"{HOW_TO_INSTALL}; `{' '.join(error.cmd)}` took over {INSTALL_TIMEOUT}s") from None
    if install.returncode != 0 or not CHROMIUM.exists():
        said = (install.stderr or install.stdout).strip().splitlines()[-5:]
        raise ChromiumMissing(f"{HOW_TO_INSTALL}; `{' '.join(install.args)}` failed: " + " / ".join(said))
    return CHROMIUM


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of the WCAG 2 A and AA rules on ``page`` as it is now (axe's own
    dicts: ``id``, ``impact``, ``help``, ``nodes``...); empty when the page passes."""
    options = {"runOnly": {"type": "tag", "values": WCAG_2_AA}, "resultTypes": ["violations"]}
    results = await _AXE.run(page, options=options)
    return list(results.response["violations"])


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line a violation and one a node it found, for an assertion's message."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation.get('impact')}): {violation['help']}")
        lines.extend(
            f"    {', '.join(map(str, node['target']))}: {node.get('html', '')}" for node in violation["nodes"]
        )
    return "\n".join(lines)


@asynccontextmanager
async def console_serving(client: Client, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[str]:
    """The real app (``create_app(settings)``, as ``tada api`` and ``make run`` serve it) on
    ``settings.api_host``/``api_port`` in this event loop, with the worker of ``settings``
    running, for the block; yields the base URL. A startup failure raises ApiStartError naming
    its cause."""
    runner = ApiRunner(settings)
    async with worker_running(client, pool, settings):
        await runner.start()
        try:
            yield runner.url
        finally:
            await runner.stop()


@dataclass
class Seen:
    """What a page did while a test drove it: every request's URL, every response under
    ``/console/`` with its headers, and every dialog (alert, confirm...) it opened."""

    requests: list[str] = field(default_factory=list)
    responses: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def check(self, *origins: str) -> None:
        """Nothing asked of any origin but ``origins`` (the console's), a strict
        Content-Security-Policy on every console response, and no dialog."""
        foreign = [url for url in self.requests if not any(url.startswith(origin + "/") for origin in origins)]
        assert not foreign, f"requests to another origin than {origins}: {foreign}"
        assert self.responses, "no console response was seen"
        for url, headers in self.responses:
            csp = headers.get("content-security-policy", "")
            assert "default-src 'self'" in csp and "unsafe-inline" not in csp, f"{url}: CSP {csp!r}"
        assert not self.dialogs, f"the page opened dialogs: {self.dialogs}"


def watch(page: Page) -> Seen:
    """Start recording what ``page`` asks for, what the console answers and the dialogs it opens
    (each dismissed)."""
    seen = Seen()

    def on_response(response: PlaywrightResponse) -> None:
        if urlsplit(response.url).path.startswith("/console/"):
            seen.responses.append((response.url, response.headers))

    async def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("response", on_response)
    page.on("dialog", on_dialog)
    return seen


async def submit(page: Page, button: Locator) -> PlaywrightResponse | None:
    """Click a form's submit ``button`` and wait for the page it leads to; that page's response."""
    async with page.expect_navigation() as navigation:
        await button.click()
    return await navigation.value


async def sign_in(page: Page, base: str, name: str, password: str, otp: str = "") -> PlaywrightResponse | None:
    """Fill in and send the login form at ``base``; the response of the page it leads to."""
    await page.goto(f"{base}/console/login")
    await page.fill("#username", name)
    await page.fill("#password", password)
    if otp:
        await page.fill("#otp", otp)
    return await submit(page, page.locator("main form button[type=submit]"))
