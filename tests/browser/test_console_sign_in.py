"""Signing in to the console in Chromium, against the real stack: the right password reaches
"Needs me", a wrong one is refused and five lock the account (with the same answer: names cannot
be probed), a second factor set up at /console/2fa is asked for at the next sign-in, with
TADA_CONSOLE_REQUIRE_2FA a person without one is sent to set it up before anything else, and the
language is each person's own."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import pytest_asyncio

from tada.app.intake import open_case
from tada.kit.ports import free_port
from tests.console.conftest import PASSWORD
from tests.support.browser import axe_violations, console_serving, describe_violations, sign_in, submit, watch
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_the_right_password_reaches_needs_me(page, console):
    seen = watch(page)
    name = await console.person()
    answer = await sign_in(page, console.url, name, PASSWORD)
    assert answer is not None and answer.status == 200
    assert page.url == f"{console.url}/console/"
    assert await page.locator("h1").inner_text() == "Needs me"
    assert name in await page.locator("header").inner_text()
    seen.check(console.url)


async def test_signing_in_needs_only_the_keyboard(page, console):
    name = await console.person()
    await page.goto(f"{console.url}/console/login")
    for _ in range(5):  # past the skip link, to the first field
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "username":
            break
    assert await page.evaluate("document.activeElement.id") == "username"
    await page.keyboard.type(name)
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "password"
    await page.keyboard.type(PASSWORD)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert await page.locator("h1").inner_text() == "Needs me"


async def test_a_wrong_password_is_refused_and_five_lock_the_account(page, console):
    seen = watch(page)
    name = await console.person()
    first = await sign_in(page, console.url, name, "not the password at all")
    assert first is not None and first.status == 401
    refusal = await page.get_by_role("alert").inner_text()
    assert refusal.startswith("Not accepted") and "tada user unlock" in refusal
    for _ in range(3):
        await sign_in(page, console.url, name, "not the password at all")
    fifth = await sign_in(page, console.url, name, "not the password at all")
    assert fifth is not None and fifth.status == 401
    locked = await sign_in(page, console.url, name, PASSWORD)  # locked now: the right password, the same answer
    assert locked is not None and locked.status == 401
    assert await page.get_by_role("alert").inner_text() == refusal  # a lock-out does not tell a name has an account
    assert page.url == f"{console.url}/console/login"  # still outside
    seen.check(console.url)


def _code(secret: str, ahead: int = 0) -> str:
    """The code an authenticator app shows for ``secret``, ``ahead`` 30-second steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * ahead)


async def _set_up_second_factor(page) -> str:
    """On /console/2fa: read the key shown, confirm it with its code; the key."""
    secret = (await page.locator("#totp-secret").inner_text()).replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{16,}", secret), secret
    await page.fill("#code", _code(secret))
    await submit(page, page.get_by_role("button", name="Confirm"))
    return secret


async def test_a_second_factor_is_set_up_and_then_asked_for(page, console):
    seen = watch(page)
    name = await console.person()
    await sign_in(page, console.url, name, PASSWORD)
    await page.goto(f"{console.url}/console/2fa")
    secret = await _set_up_second_factor(page)
    assert page.url == f"{console.url}/console/"
    await submit(page, page.get_by_role("button", name="Sign out", exact=True))
    assert page.url == f"{console.url}/console/login"

    without = await sign_in(page, console.url, name, PASSWORD)
    assert without is not None and without.status == 401
    assert "code from your authenticator app" in await page.get_by_role("alert").inner_text()
    # the step after the one used to confirm: a code never works twice
    with_code = await sign_in(page, console.url, name, PASSWORD, otp=_code(secret, ahead=1))
    assert with_code is not None and with_code.status == 200
    assert page.url == f"{console.url}/console/"
    assert await page.locator("h1").inner_text() == "Needs me"
    seen.check(console.url)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def strict_url(dev_env, db_pool, console_settings):
    """A copy of the console with TADA_CONSOLE_REQUIRE_2FA on."""
    strict = console_settings.model_copy(
        update={
            "console_require_2fa": True,
            "api_port": free_port(),
            "task_queue": f"{console_settings.task_queue}-2fa",
        }
    )
    async with console_serving(dev_env.client, db_pool, strict) as url:
        yield url


async def test_with_2fa_required_a_person_without_one_sets_it_up_first(page, console, strict_url):
    seen = watch(page)
    name = await console.person()
    await sign_in(page, strict_url, name, PASSWORD)
    assert page.url == f"{strict_url}/console/2fa"
    assert "asks everyone to sign in with a code" in await page.locator("main").inner_text()
    case_id = await open_case(console.pool, age=30, minimum_age=16, signpost="-", crypto=suite_crypto())
    for elsewhere in ("/console/", "/console/cases", f"/console/cases/{case_id}"):
        await page.goto(f"{strict_url}{elsewhere}")
        assert page.url == f"{strict_url}/console/2fa", elsewhere
    await _set_up_second_factor(page)
    assert page.url == f"{strict_url}/console/"
    assert await page.locator("h1").inner_text() == "Needs me"
    seen.check(strict_url)


async def test_the_language_switch_is_each_persons_own(browser, console):
    first, second = await browser.new_context(), await browser.new_context()
    try:
        page, other = await first.new_page(), await second.new_page()
        seen = watch(page)
        await sign_in(page, console.url, await console.person(), PASSWORD)
        await sign_in(other, console.url, await console.person(), PASSWORD)

        await page.select_option("#language-choice", "zh-Hant")
        await submit(page, page.locator("form[action='/console/language'] button"))
        assert await page.locator("h1").inner_text() == "待我處理"
        assert await page.locator("html").get_attribute("lang") == "zh-Hant"
        violations = await axe_violations(page)
        assert not violations, describe_violations(violations)
        await page.goto(f"{console.url}/console/cases")  # every page, not just the one switched on
        assert await page.locator("html").get_attribute("lang") == "zh-Hant"

        await other.reload()
        assert await other.locator("h1").inner_text() == "Needs me"  # the other person's stays English

        await page.select_option("#language-choice", "en")
        await submit(page, page.locator("form[action='/console/language'] button"))
        assert await page.locator("h1").inner_text() == "Needs me"
        assert await page.locator("html").get_attribute("lang") == "en"
        seen.check(console.url)
    finally:
        await first.close()
        await second.close()
