"""One case's page (``/console/cases/{case}``), over HTTP against the real stack: its facts and
links (sorted and filtered by query, a URL never in an ``href``), bulk actions on real link
workflows with every link's outcome and audit, adding links with a bad line named, and
withdrawing and purging the case (ops only, after typing its id)."""

from __future__ import annotations

import asyncio
import re

import pytest
from temporalio.client import WorkflowExecutionStatus

from tada.app.intake import ImportOutcome, add_links, open_case
from tada.console.case_jobs import ImportJob, keep
from tada.domain.intake import Rejection, parse_url_args
from tada.domain.registry import load_registry
from tests.console.conftest import csrf_of
from tests.support.cli_stack import eventually
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

_HREF = re.compile(r'href="([^"]*)"')


async def a_case(console, reference: str | None = None) -> str:
    return await open_case(
        console.pool, age=30, minimum_age=16, signpost="under {minimum_age}", reference=reference,
        crypto=suite_crypto(),
    )  # fmt: skip


async def started(console, web, case_id: str, *paths: str) -> list[str]:
    """Links of ``case_id`` at ``paths`` on the suite's web server, their workflows started."""
    for path in paths:
        web.live(path)
    parsed = parse_url_args([web.url(path) for path in paths])
    registry = load_registry(console.settings.platforms)
    await add_links(
        console.pool, console.client, registry, case_id=case_id, rows=parsed.rows, rejected=[],
        task_queue=console.settings.task_queue,
    )  # fmt: skip
    rows = await console.pool.fetch("SELECT link_id, url FROM links WHERE case_id = $1 ORDER BY url", case_id)
    by_url = {row["url"]: row["link_id"] for row in rows}
    return [by_url[row.url] for row in parsed.rows]


def outcomes(html: str) -> dict[str, str]:
    """Link id -> outcome, from the bulk action's result page."""
    found = re.findall(r'(?:<a href="/console/links/[^"]+">|<code>)([^<]+)</(?:a|code)></td>\s*<td>([^<]+)</td>', html)
    return {link_id: outcome.strip() for link_id, outcome in found}


async def bulk(http, case_id: str, action: str, link_ids: list[str], **extra: str):
    page = await http.get(f"/console/cases/{case_id}")
    data = {"csrf": csrf_of(page.text), "action": action, "link": link_ids, **extra}
    sent = await http.post(f"/console/cases/{case_id}/links", data=data)
    assert sent.status_code == 303, sent.text
    return await http.get(sent.headers["location"])


async def test_the_case_page_shows_facts_and_links_never_a_url_as_a_link(console, web):
    http, _ = await console.signed_in("caseworker")
    case_id = await a_case(console, "intake 12")
    link_ids = await started(console, web, case_id, "/page/b", "/page/a")
    page = await http.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    assert "intake 12" in page.text and case_id in page.text and "0 of 2 removed" in page.text
    for link_id in link_ids:
        assert f'href="/console/links/{link_id}"' in page.text
        assert f'name="link" value="{link_id}"' in page.text
        assert f'<code class="url" id="url-{link_id}">' in page.text
        assert f'class="copy" data-copy="url-{link_id}"' in page.text  # its copy button
    for path in ("/page/a", "/page/b"):
        url = web.url(path)
        assert f">{url}</code>" in page.text  # shown as text, with a copy button
        assert not [href for href in _HREF.findall(page.text) if "127.0.0.1" in href or url in href]
    for sort in ("state", "-host", "next", "notices", "platform", "category", "nonsense"):
        assert (await http.get(f"/console/cases/{case_id}", params={"sort": sort})).status_code == 200
    first, last = sorted(link_ids)  # added in one statement: by id after the time
    reversed_ = await http.get(f"/console/cases/{case_id}", params={"sort": "-added"})
    assert reversed_.text.index(last) < reversed_.text.index(first) and page.text.index(first) < page.text.index(last)
    by_state = await http.get(f"/console/cases/{case_id}", params={"sort": "-state"})
    assert 'aria-sort="descending"' in by_state.text and "sort=state" in by_state.text  # its header turns it again
    none = await http.get(f"/console/cases/{case_id}", params={"state": "REMOVED"})
    assert "No link matches" in none.text and link_ids[0] not in none.text
    some = await http.get(f"/console/cases/{case_id}", params={"platform": "Test Platform"})
    assert all(link_id in some.text for link_id in link_ids)
    assert (await http.get("/console/cases/TD-NOSUCH99")).status_code == 404


async def test_a_bulk_pause_gives_every_links_outcome_and_is_audited(console, web):
    http, name = await console.signed_in("caseworker")
    case_id = await a_case(console)
    link_ids = await started(console, web, case_id, "/pause/1", "/pause/2")
    pasted = "https://example.test/not-an-id"
    done = await bulk(http, case_id, "pause", [*link_ids, f"{case_id}-not-a-link", pasted])
    assert outcomes(done.text) == {
        link_ids[0]: "done", link_ids[1]: "done", f"{case_id}-not-a-link": "not found", pasted: "not found",
    }  # fmt: skip
    assert not [href for href in _HREF.findall(done.text) if "example.test" in href]
    audit = await console.pool.fetch(
        "SELECT target, reason FROM audit_events WHERE action = 'link.pause' AND actor_name = $1 ORDER BY id", name
    )
    assert {row["target"]: row["reason"] for row in audit} == {
        link_ids[0]: "console bulk: done", link_ids[1]: "console bulk: done",
        f"{case_id}-not-a-link": "console bulk: not found", case_id: "console bulk: not found",
    }  # fmt: skip
    resumed = await bulk(http, case_id, "resume", [], every="shown", platform="Test Platform")
    assert outcomes(resumed.text) == dict.fromkeys(link_ids, "done")  # every link shown, none ticked
    nothing = await http.post(
        f"/console/cases/{case_id}/links",
        data={"csrf": csrf_of(done.text), "action": "resume", "every": "shown", "state": "REMOVED"},
    )
    assert nothing.status_code == 422  # no link shown in that state: nothing to do
    ops, _ = await console.signed_in("ops")  # ops withdraw and import, but pausing is casework
    page = await ops.get(f"/console/cases/{case_id}")
    assert 'value="pause"' not in page.text and 'value="withdraw"' in page.text
    refused = await ops.post(
        f"/console/cases/{case_id}/links", data={"csrf": csrf_of(page.text), "action": "pause", "link": link_ids}
    )
    assert refused.status_code == 403


async def test_a_bulk_withdraw_of_five_links_sends_nothing_more_for_them(console, web, mailbox):
    http, _ = await console.signed_in("caseworker")
    case_id = await a_case(console)
    link_ids = await started(console, web, case_id, *(f"/five/{n}" for n in range(5)))
    done = await bulk(http, case_id, "withdraw", link_ids, reason="the person asked")
    assert outcomes(done.text) == dict.fromkeys(link_ids, "done")

    async def all_withdrawn() -> bool:
        states = await console.pool.fetch("SELECT state FROM links WHERE link_id = ANY($1)", link_ids)
        return [row["state"] for row in states] == ["WITHDRAWN"] * 5

    await eventually(all_withdrawn, "the five links to be withdrawn", 30)

    async def all_finished() -> bool:  # a finished workflow has no timer left: nothing more can be sent
        handles = [console.client.get_workflow_handle(link_id) for link_id in link_ids]
        statuses = [(await handle.describe()).status for handle in handles]
        return statuses == [WorkflowExecutionStatus.COMPLETED] * 5

    await eventually(all_finished, "the five workflows to finish", 30)
    urls = [web.url(f"/five/{n}") for n in range(5)]

    def mails_about_them() -> int:  # the module's other links may still be sending to the same mailbox
        return sum(any(url in str(message) for url in urls) for message in mailbox.messages)

    notices = await console.pool.fetchval("SELECT count(*) FROM notices WHERE link_id = ANY($1)", link_ids)
    mails = mails_about_them()
    await asyncio.sleep(2.5)  # past the batch window, a recheck's or a follow-up's turn would have come
    assert await console.pool.fetchval("SELECT count(*) FROM notices WHERE link_id = ANY($1)", link_ids) == notices
    assert mails_about_them() == mails
    again = await bulk(http, case_id, "withdraw", link_ids)
    assert outcomes(again.text) == dict.fromkeys(link_ids, "closed")


async def test_an_escalation_needs_a_good_address_and_a_kind(console, web):
    http, _ = await console.signed_in("caseworker")
    case_id = await a_case(console)
    link_ids = await started(console, web, case_id, "/escalate/1")
    page = await http.get(f"/console/cases/{case_id}")
    csrf = csrf_of(page.text)
    bad = await http.post(
        f"/console/cases/{case_id}/links",
        data={"csrf": csrf, "action": "escalate", "link": link_ids, "to": "not an address", "kind": "host"},
    )
    assert bad.status_code == 422 and "not an email address" in bad.text
    done = await bulk(http, case_id, "escalate", link_ids, to="abuse@host.test", kind="admin")
    assert outcomes(done.text) == {link_ids[0]: "done"}


async def test_an_import_names_each_bad_line_and_starts_the_good_ones(console, web):
    http, name = await console.signed_in("ops")
    case_id = await a_case(console)
    for path in ("/import/a", "/import/b", "/csv/a"):
        web.live(path)
    page = await http.get(f"/console/cases/{case_id}")
    assert 'name="urls"' in page.text and 'type="file"' in page.text
    csrf = csrf_of(page.text)
    pasted = f"{web.url('/import/a')}\r\nnot a link at all\r\n{web.url('/import/b')}\r\n"
    sent = await http.post(f"/console/cases/{case_id}/import", data={"csrf": csrf, "urls": pasted})
    assert sent.status_code == 303
    result = await http.get(sent.headers["location"])
    assert result.status_code == 200
    assert re.search(r"<td>2</td><td><code class=\"url\">not a link at all</code></td><td>[^<]+</td>", result.text)
    assert "2 new link(s) started" in result.text
    rows = await console.pool.fetch("SELECT link_id FROM links WHERE case_id = $1", case_id)
    assert len(rows) == 2
    for row in rows:
        await console.client.get_workflow_handle(row["link_id"]).describe()  # its workflow exists
    csv = f"note,url\nfirst,{web.url('/csv/a')}\nsecond,\n".encode()
    uploaded = await http.post(
        f"/console/cases/{case_id}/import", data={"csrf": csrf}, files={"file": ("links.csv", csv, "text/csv")}
    )
    shown = await http.get(uploaded.headers["location"])
    assert "1 new link(s) started" in shown.text and "no URL in the url column" in shown.text
    assert await console.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 3
    audit = await console.pool.fetch(
        "SELECT reason FROM audit_events WHERE action = 'links.import' AND actor_name = $1 AND target = $2",
        name, case_id,
    )  # fmt: skip
    assert len(audit) == 2
    caseworker, _ = await console.signed_in("caseworker")
    theirs = await caseworker.get(f"/console/cases/{case_id}")
    assert 'name="urls"' not in theirs.text
    refused = await caseworker.post(
        f"/console/cases/{case_id}/import", data={"csrf": csrf_of(theirs.text), "urls": web.url("/import/c")}
    )
    assert refused.status_code == 403
    assert await console.pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'links.import' AND target = $1 AND NOT allowed", case_id
    ) == 1  # fmt: skip


async def test_a_caseworker_is_refused_a_purge_and_ops_withdraw_then_purge(console, web):
    caseworker, name = await console.signed_in("caseworker")
    case_id = await a_case(console, "to be purged")
    await started(console, web, case_id, "/purge/a")
    page = await caseworker.get(f"/console/cases/{case_id}")
    assert f"/console/cases/{case_id}/purge" not in page.text
    assert (await caseworker.get(f"/console/cases/{case_id}/purge")).status_code == 403
    refused = await caseworker.post(
        f"/console/cases/{case_id}/purge", data={"csrf": csrf_of(page.text), "confirm": case_id}
    )
    assert refused.status_code == 403 and "Not for your role" in refused.text
    assert (await caseworker.get(f"/console/cases/{case_id}/withdraw")).status_code == 403
    assert await console.pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'case.purge' AND actor_name = $1 AND NOT allowed", name
    ) == 2  # fmt: skip

    ops, ops_name = await console.signed_in("ops")
    form = await ops.get(f"/console/cases/{case_id}/purge")
    assert form.status_code == 200 and "Withdraw it first" in form.text  # still open
    withdraw = await ops.get(f"/console/cases/{case_id}/withdraw")
    csrf = csrf_of(withdraw.text)
    wrong = await ops.post(f"/console/cases/{case_id}/withdraw", data={"csrf": csrf, "confirm": "TD-WRONG"})
    assert wrong.status_code == 422
    assert await console.pool.fetchval("SELECT status FROM cases WHERE case_id = $1", case_id) == "open"
    done = await ops.post(f"/console/cases/{case_id}/withdraw", data={"csrf": csrf, "confirm": case_id})
    assert done.status_code == 303 and "Case withdrawn" in (await ops.get(done.headers["location"])).text
    assert await console.pool.fetchval("SELECT status FROM cases WHERE case_id = $1", case_id) == "withdrawn"
    wrong = await ops.post(f"/console/cases/{case_id}/purge", data={"csrf": csrf, "confirm": case_id.lower()})
    assert wrong.status_code == 422
    purged = await ops.post(f"/console/cases/{case_id}/purge", data={"csrf": csrf, "confirm": case_id})
    assert purged.status_code == 303
    after = await ops.get(purged.headers["location"])
    assert "Case purged" in after.text and "to be purged" not in after.text and "purged:" in after.text
    assert await console.pool.fetchval("SELECT purged_at IS NOT NULL FROM cases WHERE case_id = $1", case_id)
    audit = await console.pool.fetch(
        "SELECT action, reason FROM audit_events WHERE actor_name = $1 AND target = $2 ORDER BY id", ops_name, case_id
    )
    assert [row["action"] for row in audit] == ["case.withdraw", "case.purge"]
    assert audit[1]["reason"].startswith("done: 1 link(s) erased")


async def test_an_unfinished_import_shows_its_progress_and_reloads_itself(console):
    http, name = await console.signed_in("ops")
    case_id = await a_case(console)
    user_id = await console.pool.fetchval("SELECT id FROM console_users WHERE name = $1", name)
    job = ImportJob(case_id=case_id, total=400, rejected=[Rejection(line=3, value="<b>x</b>", reason="not a link")])
    job.done = 120
    key = keep(user_id, job)  # the server runs in this process: its store is this one
    page = await http.get(f"/console/cases/{case_id}/imports/{key}")
    assert page.status_code == 200 and page.headers["refresh"] == "2"
    assert '<progress id="import-progress" max="400" value="120"' in page.text and "120 of 400" in page.text
    assert "<td>3</td>" in page.text and "&lt;b&gt;x&lt;/b&gt;" in page.text
    job.outcome = ImportOutcome(started=400)
    finished = await http.get(f"/console/cases/{case_id}/imports/{key}")
    assert "refresh" not in finished.headers and "400 new link(s) started" in finished.text
    other, _ = await console.signed_in("ops")  # another person's import is not theirs to see
    assert (await other.get(f"/console/cases/{case_id}/imports/{key}")).status_code == 404


async def test_a_problem_page_keeps_the_navigation_of_where_it_was_asked_for(console):
    """One problem page for every refusal (tada/console/problems.py): in the person's language,
    with the part of the console the request was for marked in the navigation."""
    http, _ = await console.signed_in("caseworker")
    case_id = await a_case(console)
    refused = await http.get(f"/console/cases/{case_id}/purge")
    assert refused.status_code == 403 and "Not for your role" in refused.text
    assert '<a href="/console/cases" aria-current="page">' in refused.text
    missing = await http.get("/console/cases/CASE-NONE")
    assert missing.status_code == 404 and '<a href="/console/cases" aria-current="page">' in missing.text
    page = await http.get("/console/")
    await http.post("/console/language", data={"language": "zh-Hant", "csrf": csrf_of(page.text)})
    refused = await http.get(f"/console/cases/{case_id}/purge")
    assert refused.status_code == 403 and "您的角色無權進行此操作" in refused.text
