"""Signing in to the console, over HTTP against the real stack: the session cookie, the CSRF
token of every form, the security headers of every page, lock-out and its audit."""

from __future__ import annotations

import uuid

import pyotp
import pytest

from tada.app.accounts import ADDRESS_LIMIT, MAX_FAILURES, begin_totp, confirm_totp, disable_user
from tests.console.conftest import PASSWORD, csrf_of
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_page_without_a_session_goes_to_the_login_page(console):
    http = console.browser()
    answer = await http.get("/console/")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    deeper = await http.get("/console/2fa")
    assert deeper.headers["location"] == "/console/login?next=/console/2fa"


async def test_signing_in_sets_a_strict_session_cookie_and_opens_the_queue(console):
    name = await console.person()
    http = console.browser()
    login = await http.get("/console/login")
    assert login.status_code == 200
    assert 'name="username"' in login.text and 'name="password"' in login.text
    answer = await console.sign_in(http, name)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = next(
        value for key, value in answer.headers.multi_items() if key == "set-cookie" and "tada_session=" in value
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    queue = await http.get("/console/")
    assert queue.status_code == 200 and name in queue.text


async def test_every_console_response_carries_the_security_headers(console):
    http, _ = await console.signed_in()
    for path in ("/console/login", "/console/", "/console/static/console.css"):
        answer = await http.get(path)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"
    assert (await http.get("/console/")).headers["cache-control"] == "no-store"
    assert "no-store" not in (await http.get("/console/static/console.css")).headers["cache-control"]


async def test_a_post_without_its_csrf_token_is_refused(console):
    http, _ = await console.signed_in()
    refused = await http.post("/console/logout", data={})
    assert refused.status_code == 403 and "expired" in refused.text
    assert (await http.get("/console/")).status_code == 200  # still signed in
    page = await http.get("/console/")
    assert (await http.post("/console/logout", data={"csrf": csrf_of(page.text)})).status_code == 303
    assert (await http.get("/console/")).status_code == 303  # signed out


async def test_a_login_without_the_forms_token_is_refused(console):
    name = await console.person()
    http = console.browser()
    refused = await http.post("/console/login", data={"username": name, "password": PASSWORD, "csrf": "made-up"})
    assert refused.status_code == 403


async def _fresh_address(console) -> None:
    """This module's sign-ins all come from 127.0.0.1: its failures so far are forgotten, so the
    per-address limit (20 in 15 minutes) is not what a test meets."""
    await console.pool.execute("DELETE FROM console_login_failures WHERE address = '127.0.0.1'")


async def test_a_wrong_password_is_refused_and_five_lock_the_account(console):
    await _fresh_address(console)
    name = await console.person()
    http = console.browser()
    for _ in range(4):
        wrong = await console.sign_in(http, name, password="not the password at all")
        assert wrong.status_code == 401 and "Not accepted" in wrong.text
    fifth = await console.sign_in(http, name, password="not the password at all")
    assert fifth.status_code == 401 and "Not accepted" in fifth.text and "tada user unlock" in fifth.text
    locked = await console.sign_in(http, name)  # the right password, too late
    assert locked.status_code == 401 and locked.text == fifth.text
    audit = await console.pool.fetch(
        "SELECT allowed, reason FROM audit_events WHERE action = 'console.login' AND actor_name = $1 ORDER BY id", name
    )
    assert [row["reason"] for row in audit] == ["wrong"] * 4 + ["locked", "locked"]
    assert not any(row["allowed"] for row in audit)
    assert PASSWORD not in (await http.get("/console/login")).text


async def test_the_language_is_chosen_per_person(console):
    http, name = await console.signed_in()
    page = await http.get("/console/")
    assert "Needs me" in page.text and 'lang="en"' in page.text
    changed = await http.post("/console/language", data={"language": "zh-Hant", "csrf": csrf_of(page.text)})
    assert changed.status_code == 303
    page = await http.get("/console/")
    assert "待我處理" in page.text and 'lang="zh-Hant"' in page.text
    other, _ = await console.signed_in()
    assert "Needs me" in (await other.get("/console/")).text


async def test_signing_out_everywhere_ends_every_session_of_that_person(console):
    name = await console.person()
    first, second = console.browser(), console.browser()
    assert (await console.sign_in(first, name)).status_code == 303
    assert (await console.sign_in(second, name)).status_code == 303
    page = await first.get("/console/")
    assert 'action="/console/logout-everywhere"' in page.text
    ended = await first.post("/console/logout-everywhere", data={"csrf": csrf_of(page.text)})
    assert ended.status_code == 303
    assert (await second.get("/console/")).status_code == 303  # the other browser is signed out too
    audit = await console.pool.fetchval(
        "SELECT reason FROM audit_events WHERE action = 'console.logout-everywhere' AND actor_name = $1", name
    )
    assert audit == "2 sessions closed"


async def test_only_the_console_is_let_through_without_a_token(console):
    http = console.browser()
    assert (await http.get("/consolex")).status_code == 401  # not the console: the API's gate answers
    assert (await http.get("/console")).status_code in (307, 308)  # to /console/


async def test_a_name_is_never_shown_back(console):
    await _fresh_address(console)
    http = console.browser()
    refused = await console.sign_in(http, "my-password-typed-in-the-name-box")
    assert refused.status_code == 401 and "my-password-typed-in-the-name-box" not in refused.text
    name = await console.person()
    wrong = await console.sign_in(http, name, password="not the password at all")
    assert name not in wrong.text  # an account's name kept in the form would tell it has one


async def test_every_refusal_of_a_name_password_or_code_looks_the_same(console):
    """An unknown name, a wrong password, a locked account, a disabled one, an enrolled one
    without its code or with a wrong one: the same status, words and page (names cannot be probed);
    the audit still tells ops which it was."""
    await _fresh_address(console)
    http = console.browser()
    locked, disabled, enrolled = await console.person(), await console.person(), await console.person()
    for _ in range(MAX_FAILURES):
        await console.sign_in(http, locked, password="not the password at all")
    await disable_user(console.pool, disabled)
    totp = pyotp.parse_uri(await begin_totp(console.pool, suite_crypto(), enrolled))
    assert await confirm_totp(console.pool, suite_crypto(), enrolled, totp.now())
    wrong_code = "000000" if totp.now() != "000000" else "111111"
    answers = {
        "unknown name": await console.sign_in(http, f"nobody-{uuid.uuid4().hex[:8]}"),
        "wrong password": await console.sign_in(http, await console.person(), password="not the password at all"),
        "locked": await console.sign_in(http, locked),
        "disabled": await console.sign_in(http, disabled),
        "no code": await console.sign_in(http, enrolled),
        "wrong code": await console.sign_in(http, enrolled, otp=wrong_code),
    }
    first = answers["unknown name"]
    assert first.status_code == 401 and "Not accepted" in first.text and "tada user unlock" in first.text
    for what, answer in answers.items():
        assert (answer.status_code, answer.text) == (first.status_code, first.text), what
    reasons = {
        name: await console.pool.fetchval(
            "SELECT reason FROM audit_events WHERE action = 'console.login' AND actor_name = $1 ORDER BY id DESC"
            " LIMIT 1",
            name,
        )  # fmt: skip
        for name in (locked, disabled, enrolled)
    }
    assert reasons == {locked: "locked", disabled: "disabled", enrolled: "otp_wrong"}


async def test_a_refusal_is_in_the_language_of_the_login_page(console):
    await _fresh_address(console)
    http = console.browser()
    english = await http.get("/console/login")
    assert 'href="/console/login?lang=zh-Hant&amp;next=/console/"' in english.text
    form = await http.get("/console/login?lang=zh-Hant")
    assert 'lang="zh-Hant"' in form.text and 'name="lang" value="zh-Hant"' in form.text
    data = {"username": "nobody-at-all", "password": "a guess", "csrf": csrf_of(form.text), "lang": "zh-Hant"}
    refused = await http.post("/console/login", data=data)
    assert refused.status_code == 401 and "未能登入" in refused.text and 'lang="zh-Hant"' in refused.text


async def test_an_address_over_its_limit_has_its_own_answer(console):
    """It is counted before any name is looked up, so it tells nothing of one."""
    await _fresh_address(console)
    http = console.browser()
    for number in range(ADDRESS_LIMIT):
        await console.sign_in(http, f"nobody-{number}-{uuid.uuid4().hex[:6]}")
    limited = await console.sign_in(http, await console.person())
    assert limited.status_code == 429 and "Too many failed sign-ins from this computer" in limited.text
    await _fresh_address(console)
