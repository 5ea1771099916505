"""A case's page in Chromium, against the real stack: a bulk withdraw of five links ticked on the
page sends nothing more for them, an import pasted into the page names its bad line and starts
the good ones, a caseworker is refused a purge while ops reach its confirmation; and the queue, a
case of a dozen links in different states and a link's page pass axe-core (WCAG 2 A/AA), with
their screenshots for the README made when ``TADA_SCREENSHOTS=1``:

    TADA_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_console_case.py -k screenshots

(alone, so that the queue shows only the simulated case's links)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import Page
from temporalio.client import WorkflowExecutionStatus

from tada.app import link_actions
from tada.app.intake import open_case
from tada.domain.access import Action
from tada.domain.states import ResponseOutcome
from tests.console.conftest import PASSWORD, manual_url
from tests.support.browser import axe_violations, describe_violations, sign_in, submit, watch
from tests.support.cli_stack import eventually
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
VIEWPORT = {"width": 1280, "height": 800}


async def _no_axe_violation(page: Page) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{page.url}:\n{describe_violations(violations)}"


async def _states(console, link_ids: list[str]) -> list[str]:
    rows = await console.pool.fetch("SELECT link_id, state FROM links WHERE link_id = ANY($1)", link_ids)
    by_id = {row["link_id"]: row["state"] for row in rows}
    return [by_id.get(link_id) for link_id in link_ids]


async def _all_in(console, link_ids: list[str], state: str, what: str) -> None:
    async def there() -> bool:
        return await _states(console, link_ids) == [state] * len(link_ids)

    await eventually(there, what, 30)


async def _needs(console, link_id: str, needs: str | None) -> None:
    async def there() -> bool:
        return await console.pool.fetchval("SELECT needs FROM links WHERE link_id = $1", link_id) == needs

    await eventually(there, f"{link_id} needing {needs}", 30)


async def _tick_and_do(page: Page, link_ids: list[str], action: str, reason: str = "") -> dict[str, str]:
    """On a case's page: tick ``link_ids``, choose ``action``, send; each link's outcome shown."""
    for link_id in link_ids:
        await page.locator(f"input[name=link][value='{link_id}']").check()
    await page.select_option("#bulk-action", action)
    if reason:
        await page.fill("#bulk-reason", reason)
    await submit(page, page.get_by_role("button", name="Do it"))
    assert await page.locator("h1").inner_text() == "What was done"
    rows = await page.locator("table.outcomes tbody tr").all()
    return {await row.locator("td").nth(0).inner_text(): await row.locator("td").nth(1).inner_text() for row in rows}


async def test_a_bulk_withdraw_of_five_links_sends_nothing_more_for_them(page, console, web, mailbox):
    paths = [f"/browser/five/{n}" for n in range(5)]
    for path in paths:
        web.live(path)
    case_id = await console.open_case()
    link_ids = await console.add_links(case_id, *(web.url(path) for path in paths))
    await _all_in(console, link_ids, "AWAITING_RESPONSE", "the five notices sent")

    seen = watch(page)
    await sign_in(page, console.url, await console.person(), PASSWORD)
    await page.goto(f"{console.url}/console/cases/{case_id}")
    outcomes = await _tick_and_do(page, link_ids, "withdraw", reason="the person asked")
    assert outcomes == dict.fromkeys(link_ids, "done")
    assert "5 done, 0 already closed, 0 not found" in await page.get_by_role("status").inner_text()
    await _no_axe_violation(page)

    await _all_in(console, link_ids, "WITHDRAWN", "the five links withdrawn")

    async def all_finished() -> bool:  # a finished workflow has no timer left: nothing more can be sent
        statuses = [(await console.client.get_workflow_handle(i).describe()).status for i in link_ids]
        return statuses == [WorkflowExecutionStatus.COMPLETED] * 5

    await eventually(all_finished, "the five workflows finished", 30)
    notices = await console.pool.fetchval("SELECT count(*) FROM notices WHERE link_id = ANY($1)", link_ids)
    mails = len(mailbox.messages)
    await asyncio.sleep(1.5)  # past the batch window (1 s): a notice on its way would have gone
    assert await console.pool.fetchval("SELECT count(*) FROM notices WHERE link_id = ANY($1)", link_ids) == notices
    assert len(mailbox.messages) == mails

    await page.goto(f"{console.url}/console/cases/{case_id}")  # and asked again, none is there to act
    assert await _tick_and_do(page, link_ids, "recheck") == dict.fromkeys(link_ids, "closed")
    seen.check(console.url)


async def test_an_import_names_its_bad_line_and_starts_the_good_ones(page, console, web):
    good = [web.url("/browser/import/a"), web.url("/browser/import/b")]
    for path in ("/browser/import/a", "/browser/import/b"):
        web.live(path)
    case_id = await console.open_case()

    seen = watch(page)
    await sign_in(page, console.url, await console.person("ops"), PASSWORD)
    await page.goto(f"{console.url}/console/cases/{case_id}")
    await page.get_by_label("Paste links, one a line").fill(f"{good[0]}\nnot a link at all\n{good[1]}\n")
    await submit(page, page.get_by_role("button", name="Add the links"))
    assert "/imports/" in page.url
    # an unfinished import's page reloads itself until every link has started
    await page.get_by_text("2 new link(s) started").wait_for(timeout=30_000)
    rejected = page.locator("table.rejected tbody tr")
    assert await rejected.count() == 1
    line, said, why = [await cell.inner_text() for cell in await rejected.locator("td").all()]
    assert (line, said) == ("2", "not a link at all") and why
    await _no_axe_violation(page)

    rows = await console.pool.fetch("SELECT link_id, url FROM links WHERE case_id = $1 ORDER BY url", case_id)
    assert [row["url"] for row in rows] == good
    for row in rows:  # each started: its workflow runs
        assert (await console.client.get_workflow_handle(row["link_id"]).describe()).status == (
            WorkflowExecutionStatus.RUNNING
        )
    seen.check(console.url)


async def test_a_caseworker_is_refused_a_purge_and_ops_reach_its_confirmation(browser, console, web):
    web.live("/browser/purge")
    case_id = await console.open_case()
    await console.add_links(case_id, web.url("/browser/purge"))
    caseworker, ops = await browser.new_context(), await browser.new_context()
    try:
        page = await caseworker.new_page()
        seen = watch(page)
        await sign_in(page, console.url, await console.person(), PASSWORD)
        await page.goto(f"{console.url}/console/cases/{case_id}")
        assert await page.get_by_role("link", name="Withdraw this case").count() == 0  # not offered
        refused = await page.goto(f"{console.url}/console/cases/{case_id}/purge")
        assert refused is not None and refused.status == 403
        assert await page.locator("h1").inner_text() == "Not for your role"
        assert await page.locator("form[action$='/purge']").count() == 0
        await _no_axe_violation(page)
        seen.check(console.url)

        page = await ops.new_page()
        seen = watch(page)
        await sign_in(page, console.url, await console.person("ops"), PASSWORD)
        await page.goto(f"{console.url}/console/cases/{case_id}")
        await submit(page, page.get_by_role("link", name="Withdraw this case"))
        await page.fill("#confirm", case_id)
        await submit(page, page.get_by_role("button", name="Withdraw the case"))
        assert "Case withdrawn" in await page.get_by_role("status").inner_text()
        reached = await submit(page, page.get_by_role("link", name="Purge this case's personal data"))
        assert reached is not None and reached.status == 200
        assert await page.locator("h1").inner_text() == f"Purge case {case_id}"
        assert await page.get_by_label(f"Type the case id, {case_id}, to confirm").count() == 1
        assert await page.get_by_role("button", name="Purge the case").count() == 1
        await _no_axe_violation(page)
        seen.check(console.url)
    finally:
        await caseworker.close()
        await ops.close()


async def test_adding_and_withdrawing_links_works_without_javascript(browser, console, web):
    """Every flow works without JavaScript: links pasted and started, then ticked and withdrawn,
    with plain forms and the pages they lead to."""
    paths = ["/browser/nojs/a", "/browser/nojs/b"]
    for path in paths:
        web.live(path)
    case_id = await console.open_case()
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        seen = watch(page)
        await sign_in(page, console.url, await console.person("ops"), PASSWORD)
        await page.goto(f"{console.url}/console/cases/{case_id}")
        await page.get_by_label("Paste links, one a line").fill("\n".join(web.url(path) for path in paths))
        await submit(page, page.get_by_role("button", name="Add the links"))
        await page.get_by_text("2 new link(s) started").wait_for(timeout=30_000)
        link_ids = [row["link_id"] for row in await console.pool.fetch(
            "SELECT link_id FROM links WHERE case_id = $1 ORDER BY url", case_id
        )]  # fmt: skip
        await _all_in(console, link_ids, "AWAITING_RESPONSE", "the notices sent")
        await page.goto(f"{console.url}/console/cases/{case_id}")
        assert await _tick_and_do(page, link_ids, "withdraw") == dict.fromkeys(link_ids, "done")
        await _all_in(console, link_ids, "WITHDRAWN", "the links withdrawn")
        seen.check(console.url)
    finally:
        await context.close()


# --- a simulated case: axe-core and the README's screenshots ---------------------------------------


async def _simulated_case(console, web, manual_site) -> tuple[str, str]:
    """A case of a dozen links on the test platforms, in different states; (its id, the id of a
    link with a long timeline: rejected, then escalated to the host a caseworker gave)."""
    case_id = await open_case(
        console.pool, age=24, minimum_age=16, signpost="-", reference="HK-2026-0417 (helpline)",
        crypto=suite_crypto(),
    )  # fmt: skip
    on_web = [f"/gallery/{n}" for n in (88412, 88413, 90127, 90544, 91002)] + [
        "/album/summer-trip/photo-17", "/share/clip-5531", "/share/clip-5532", "/u/anon1123/post/2291",
    ]  # fmt: skip
    for path in on_web:
        web.live(path)
    manual_site.live("/p/CX8v1kQ")
    manual_site.live("/p/CX8v2mR")
    manual_site.live("/reel/7710934")
    links = await console.add_links(
        case_id,
        *(web.url(path) for path in on_web),
        *(manual_url(manual_site, path) for path in ("/p/CX8v1kQ", "/p/CX8v2mR", "/reel/7710934")),
    )
    awaiting, filings = links[:9], links[9:]
    await _all_in(console, awaiting, "AWAITING_RESPONSE", "the email notices sent")
    for link_id in filings:
        await _needs(console, link_id, "filing")
    acknowledged, paused, rejected, given, removed, withdrawn = awaiting[1:7]
    escalated_too = awaiting[7]
    await link_actions.respond(console.pool, console.client, acknowledged, ResponseOutcome.ACKNOWLEDGED, None)
    await link_actions.bare(console.pool, console.client, paused, Action.LINK_PAUSE)
    for link_id in (rejected, given, escalated_too):
        await link_actions.respond(console.pool, console.client, link_id, ResponseOutcome.REJECTED, None)
        await _needs(console, link_id, "contact")
    await link_actions.escalate(console.pool, console.client, given, "abuse@hosting-company.test", "host")
    web.gone(on_web[5])
    await link_actions.respond(console.pool, console.client, removed, ResponseOutcome.REMOVED, None)
    await link_actions.withdraw(console.pool, console.client, withdrawn, "the person asked to stop")
    await link_actions.bare(console.pool, console.client, filings[0], Action.LINK_FILED)
    await _all_in(console, [removed], "REMOVED", "the removal confirmed")
    await _all_in(console, [withdrawn], "WITHDRAWN", "the link withdrawn")
    await _all_in(console, [filings[0]], "AWAITING_RESPONSE", "the manual filing recorded")

    async def escalated() -> bool:
        return bool(
            await console.pool.fetchval(
                "SELECT count(*) FROM notices WHERE link_id = $1 AND kind = 'escalation_host'", given
            )
        )

    await eventually(escalated, "the escalation sent", 30)
    return case_id, given


async def _look(page: Page, path: str, name: str | None = None) -> None:
    """Open ``path``; axe-core finds nothing against WCAG 2 A/AA; its screenshot when asked for."""
    answer = await page.goto(path)
    assert answer is not None and answer.status == 200, path
    await _no_axe_violation(page)
    # never the content: no image, frame or player, and no address of another site to click
    assert await page.locator("main :is(img, iframe, video, audio, embed, object)").count() == 0, path
    assert await page.locator("a[href^='http'], a[href^='//']").count() == 0, path
    if name and os.environ.get("TADA_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


async def test_the_queue_a_case_and_a_link_pass_axe_and_make_the_readme_screenshots(browser, console, web, manual_site):
    case_id, link_id = await _simulated_case(console, web, manual_site)
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        seen = watch(page)
        await sign_in(page, console.url, await console.person("caseworker", name="mei.chan"), PASSWORD)
        base = console.url
        await _look(page, f"{base}/console/", "queue")
        await _look(page, f"{base}/console/cases")
        await _look(page, f"{base}/console/cases/{case_id}", "case")
        await _look(page, f"{base}/console/links/{link_id}", "link")
        seen.check(console.url)
    finally:
        await context.close()
