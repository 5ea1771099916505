"""What keeps the console safe, in Chromium against the real stack: a POST without its CSRF
token is refused; text from people (a case's reference, a caseworker's note) holding markup is
shown as text, with no dialog and no request it could make; every page visited carries a strict
Content-Security-Policy and asks nothing of any other origin; and axe-core finds no WCAG 2 A/AA
violation on any page a person reaches."""

from __future__ import annotations

import pytest

from tada.app.intake import open_case
from tests.console.conftest import PASSWORD
from tests.support.browser import axe_violations, describe_violations, sign_in, submit, watch
from tests.support.cli_stack import eventually
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HOSTILE = f"{SCRIPT} {IMG}"


async def _awaiting(console, link_id: str) -> None:
    async def there() -> bool:
        return await console.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == (
            "AWAITING_RESPONSE"
        )

    await eventually(there, f"{link_id} awaiting a response", 30)


async def test_a_post_without_its_csrf_token_is_refused(page, console):
    seen = watch(page)
    await sign_in(page, console.url, await console.person(), PASSWORD)
    # a request carrying the session cookie but no token
    bare = await page.request.post(f"{console.url}/console/logout", form={"nothing": "here"})
    assert bare.status == 403 and "This form has expired" in await bare.text()
    forged = await page.request.post(f"{console.url}/console/logout", form={"csrf": "made-up"})
    assert forged.status == 403
    # the page's own form, its hidden token taken out before it is sent
    await page.goto(f"{console.url}/console/")
    form = page.locator("form[action='/console/language']")
    await form.locator("input[name=csrf]").evaluate("field => field.remove()")
    await page.select_option("#language-choice", "zh-Hant")
    refused = await submit(page, form.locator("button"))
    assert refused is not None and refused.status == 403
    assert await page.locator("h1").inner_text() == "This form has expired"
    await page.goto(f"{console.url}/console/")
    assert await page.locator("h1").inner_text() == "Needs me"  # still signed in, still in English
    seen.check(console.url)


async def test_markup_in_a_reference_and_a_note_is_shown_as_text_and_does_nothing(page, console, web):
    case_id = await open_case(
        console.pool, age=30, minimum_age=16, signpost="-", reference=HOSTILE, crypto=suite_crypto()
    )
    web.live("/browser/hostile")
    [link_id] = await console.add_links(case_id, web.url("/browser/hostile"))
    await _awaiting(console, link_id)

    seen = watch(page)
    await sign_in(page, console.url, await console.person(), PASSWORD)
    await page.goto(f"{console.url}/console/links/{link_id}")
    await page.select_option("#respond-outcome", "acknowledged")
    await page.fill("#respond-note", HOSTILE)
    await submit(page, page.get_by_role("button", name="Record the reply"))
    assert "The platform's reply is recorded" in await page.get_by_role("status").inner_text()

    async def noted() -> bool:
        await page.reload()
        return await page.locator("pre.text", has_text=SCRIPT).count() > 0

    await eventually(noted, "the note in the timeline", 30)
    note = page.locator("dl.details pre.text", has_text=SCRIPT).first
    assert await note.inner_text() == HOSTILE  # the note, as typed
    await page.locator("details.notice-text summary").first.click()  # the notice's text, shown
    notice = page.locator("details.notice-text pre.text").first
    assert HOSTILE in await notice.inner_text()  # the reference in the notice's text, as text

    await page.goto(f"{console.url}/console/cases/{case_id}")
    assert await page.locator("dt:text-is('Reference') + dd").inner_text() == HOSTILE
    await page.goto(f"{console.url}/console/cases")
    assert await page.locator("table.cases td", has_text=SCRIPT).first.inner_text() == HOSTILE

    for path in (f"/console/links/{link_id}", f"/console/cases/{case_id}", "/console/cases"):
        await page.goto(f"{console.url}{path}")
        assert await page.locator("main img").count() == 0, path  # no element made of the text
        assert await page.locator("main script").count() == 0, path
    assert not [url for url in seen.requests if url.split("?")[0].endswith("/x")]
    seen.check(console.url)  # no dialog, nothing asked of another origin


async def test_the_other_pages_have_their_policy_ask_only_the_console_and_pass_axe(browser, console, web):
    """The pages no other test here checks with axe-core (tests/browser/test_console_case.py checks
    the queue, the cases, a case, a link, the import, bulk and confirmation pages): the login
    page, the report, setting up a second factor, a link that does not exist, and what ops see of
    a case (adding links), opening one and withdrawing one."""
    case_id = await console.open_case()
    found: dict[str, str] = {}
    for role, pages in (
        ("caseworker", {"report": "/console/report", "2fa": "/console/2fa", "no such link": "/console/links/TD-X"}),
        ("ops", {"case": f"/console/cases/{case_id}", "new case": "/console/cases/new",
                 "withdraw": f"/console/cases/{case_id}/withdraw"}),
    ):  # fmt: skip
        context = await browser.new_context()
        try:
            page = await context.new_page()
            seen = watch(page)
            if role == "caseworker":
                await page.goto(f"{console.url}/console/login")
                found["login"] = describe_violations(await axe_violations(page))
            await sign_in(page, console.url, await console.person(role), PASSWORD)
            for name, path in pages.items():
                answer = await page.goto(f"{console.url}{path}")
                assert answer is not None and answer.status == (404 if name == "no such link" else 200), path
                found[f"{name} ({role})"] = describe_violations(await axe_violations(page))
            seen.check(console.url)
        finally:
            await context.close()
    failing = {name: said for name, said in found.items() if said}
    assert not failing, "\n".join(f"{name}:\n{said}" for name, said in failing.items())
