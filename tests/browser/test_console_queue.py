""" "Needs me" in Chromium, against the real stack: a manual filing waits with where to file, the
URL as text and the notice to paste, and "I filed it" clears it; a link waiting for its host's
contact escalates to the one a caseworker types in (the event in PostgreSQL, the notice at the
suite's SMTP server)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from tada.app.link_actions import respond
from tada.domain.states import ResponseOutcome
from tests.console.conftest import MANUAL_WHERE, PASSWORD, manual_url
from tests.support.browser import sign_in, submit, watch
from tests.support.cli_stack import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

HOST_CONTACT = "abuse@hosting-company.test"
_CLIPBOARD_HOLDS = "async text => (await navigator.clipboard.readText()) === text"


async def _needs(console, link_id: str, needs: str | None, timeout: float = 30) -> None:
    async def there() -> bool:
        return await console.pool.fetchval("SELECT needs FROM links WHERE link_id = $1", link_id) == needs

    await eventually(there, f"{link_id} needing {needs}", timeout)


def _item(page: Page, link_id: str):
    """The queue's item for ``link_id``."""
    return page.locator("li.need").filter(has=page.locator(f"a[href='/console/links/{link_id}']"))


async def test_a_manual_filing_waits_on_the_queue_and_i_filed_it_clears_it(page, console, manual_site):
    manual_site.live("/browser/manual")
    url = manual_url(manual_site, "/browser/manual")
    [link_id] = await console.add_links(await console.open_case(), url)
    await _needs(console, link_id, "filing", timeout=60)

    seen = watch(page)
    await sign_in(page, console.url, await console.person(), PASSWORD)
    item = _item(page, link_id)
    assert await item.count() == 1
    assert await item.locator("h2").inner_text() == "File a report by hand · Manual Platform"
    text = await item.inner_text()
    assert MANUAL_WHERE in text
    assert await item.locator("code.url").inner_text() == url  # the URL as text to copy...
    assert await page.locator(f"[href*='{url}'], [src*='{url}']").count() == 0  # ...never a link
    await item.locator("summary").click()  # the notice to paste, behind its disclosure
    notice_text = await item.locator("pre.notice-text").inner_text()
    assert url in notice_text
    # the Copy buttons put the URL and the notice text on the clipboard, to paste into the platform's form
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.url)
    for button, copied in (
        (item.locator("code.url + button.copy"), url),
        (item.locator("details button.copy"), notice_text),
    ):
        await button.click()
        await page.wait_for_function(_CLIPBOARD_HOLDS, arg=copied.strip(), timeout=5_000)
    count = int(await page.locator("nav .count").inner_text())
    assert count >= 1

    await submit(page, item.get_by_role("button", name="I filed it"))
    assert page.url == f"{console.url}/console/?done=filed"
    assert "Recorded as filed" in await page.get_by_role("status").inner_text()
    await _needs(console, link_id, None)
    await page.reload()
    assert await _item(page, link_id).count() == 0
    assert int(await page.locator("nav .count").inner_text()) == count - 1
    notice = await console.pool.fetchrow(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'notice' ORDER BY event_id DESC LIMIT 1", link_id
    )
    assert notice["detail"]["channel"] == "manual"
    seen.check(console.url)


async def test_supplying_the_hosts_contact_escalates_the_link(page, console, web, mailbox):
    web.live("/browser/escalate")
    [link_id] = await console.add_links(await console.open_case(), web.url("/browser/escalate"))
    await _needs(console, link_id, None)  # its notice sent by email, nothing waits
    await eventually(lambda: _state(console, link_id, "AWAITING_RESPONSE"), "the notice sent", 30)
    # the platform rejects it: the escalation goes to the host, whose contact no registry knows (127.0.0.1)
    await respond(console.pool, console.client, link_id, ResponseOutcome.REJECTED)
    await _needs(console, link_id, "contact")
    mailbox.messages.clear()

    seen = watch(page)
    await sign_in(page, console.url, await console.person(), PASSWORD)
    item = _item(page, link_id)
    assert "Give a contact to escalate to" in await item.locator("h2").inner_text()
    assert await item.locator("select[name=kind]").input_value() == "host"
    await item.get_by_label("Contact's email").fill(HOST_CONTACT)
    await submit(page, item.get_by_role("button", name="Escalate"))
    assert page.url == f"{console.url}/console/?done=escalate"
    assert "Contact given" in await page.get_by_role("status").inner_text()

    escalated = await eventually(lambda: _event(console, link_id, "caseworker", action="escalate"), "its event", 30)
    assert escalated["kind"] == "host"
    notice = await eventually(lambda: _event(console, link_id, "notice", kind="escalation_host"), "its notice", 30)
    assert notice["recipient"] == HOST_CONTACT
    mail = await eventually(lambda: _mail_to(mailbox, HOST_CONTACT), "the notice at the SMTP server", 30)
    assert mail["X-Tada-Notice-Kind"] == "escalation_host"
    await _needs(console, link_id, None)
    seen.check(console.url)


async def _state(console, link_id: str, state: str) -> bool:
    return await console.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == state


async def _event(console, link_id: str, event_kind: str, **detail: str) -> dict | None:
    """The link's first event of ``event_kind`` whose details include ``detail``."""
    rows = await console.pool.fetch(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = $2 ORDER BY event_id", link_id, event_kind
    )
    return next((r["detail"] for r in rows if all(r["detail"].get(k) == v for k, v in detail.items())), None)


async def _mail_to(mailbox, address: str):
    found = mailbox.for_recipient(address)
    return found[0] if found else None
