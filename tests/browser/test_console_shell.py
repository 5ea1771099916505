"""The chain of the browser tests end to end: the distribution's Chromium, driven by
Playwright, opens the console's login page served by the real app on the real stack; the page
has its form and its Content-Security-Policy, Chromium refuses nothing under that policy, and
axe-core finds nothing against WCAG 2 A/AA."""

from __future__ import annotations

import pytest
from playwright.async_api import ConsoleMessage

from tests.support.browser import axe_violations, describe_violations

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_login_page_opens_in_chromium_with_its_form_csp_and_no_axe_violations(page, console_url):
    refused: list[str] = []  # what Chromium refused under the page's policy (an inline script, a style...)

    def note_refusal(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", note_refusal)
    response = await page.goto(f"{console_url}/console/login")
    assert response is not None and response.status == 200, response and await response.text()

    form = page.locator("form")
    assert await form.count() >= 1
    assert await form.locator("[name=username]").count() == 1
    assert await form.locator("[name=password]").count() == 1
    assert await form.locator("[name=password]").get_attribute("type") == "password"

    csp = await response.header_value("content-security-policy")
    assert csp is not None and "default-src 'self'" in csp, csp

    assert not refused, refused

    violations = await axe_violations(page)
    assert not violations, describe_violations(violations)


async def test_axe_reports_what_a_page_gets_wrong(page):
    """axe_violations is no empty check: a page without a title, a language, a label or an alt
    text has exactly those WCAG 2 A violations."""
    await page.set_content('<form><input name="username"><img src="data:,"></form>')
    violations = await axe_violations(page)
    assert {violation["id"] for violation in violations} == {"document-title", "html-has-lang", "label", "image-alt"}
