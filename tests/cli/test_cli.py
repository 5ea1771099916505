"""The ``tada`` CLI end to end: a real subprocess against the Temporal dev server,
with a real worker running in the test, real PostgreSQL, SMTP and web server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus

from tada.workflows.link import LinkWorkflow
from tests.support import cli_stack
from tests.support.cli_stack import (
    HOURLY,
    NOTICE_FROM,
    PLATFORM_EMAIL,
    Stack,
    cli_env,
    registry_toml,
    stack_settings,
    worker_running,
    write_registry,
)
from tests.support.link_ids import link_of, links_of

REGISTRY = registry_toml(HOURLY, follow_up_after="1h")


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 20.0) -> Any:
    return await cli_stack.eventually(check, what, timeout)


async def in_state(stack: Stack, state: str, *link_ids: str) -> None:
    async def check() -> bool:
        return all([await stack.state(link_id) == state for link_id in link_ids])

    await eventually(check, f"{link_ids} to reach {state}")


def notices_for(mailbox, case_id: str) -> list:
    """The notices of one case: a case without a reference of its own is referred to by its id."""

    def text(message) -> str:
        body = message.get_body(("plain",))
        return f"{message['Subject']}\n{body.get_content() if body else ''}"

    return [m for m in mailbox.messages if case_id in text(m)]


async def mail_count(mailbox, case_id: str, count: int) -> list:
    async def check() -> list | None:
        found = notices_for(mailbox, case_id)
        return found if len(found) >= count else None

    found = await eventually(check, f"{count} notice(s) for {case_id}")
    assert len(found) == count
    return found


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("cli")
    registry = write_registry(home, REGISTRY)
    settings = stack_settings(dev_env, postgres_url, smtp_server[1], registry, "cli", notice_from=NOTICE_FROM)
    env = cli_env(
        settings,
        TADA_NOTICE_FROM=settings.notice_from,
        TADA_STATE_DIR=str(home / ".tada"),  # not a developer's .tada/payload_keys: this worker has no codec
        COLUMNS="220",
    )
    async with worker_running(dev_env.client, db_pool, settings):
        yield Stack(env=env, cwd=home, client=dev_env.client, pool=db_pool)


async def test_case_open_and_underage_refusal(stack):
    run = await stack.tada("case", "open", "--age", "30", "--language", "zh-Hant", "--reference", "REF-7")
    assert run.code == 0, run.stderr
    case_id = run.stdout.strip()
    row = await stack.pool.fetchrow("SELECT language, reference, status FROM cases WHERE case_id = $1", case_id)
    assert (row["language"], row["status"]) == ("zh-Hant", "open")
    assert row["reference"].startswith("tada1:") and "REF-7" not in row["reference"]  # sealed at rest
    assert (await stack.tada("status", case_id, "--json")).json["case"]["reference"] == "REF-7"

    before = await stack.pool.fetchval("SELECT count(*) FROM cases")
    refused, refused_json = await asyncio.gather(
        stack.tada("case", "open", "--age", "15"),
        stack.tada("case", "open", "--age", "15", "--reference", "UNDER-AGE", "--json"),
    )
    for run in (refused, refused_json):
        assert run.code == 3
        assert run.stdout == ""
        assert "cannot open a case for a person under 16" in run.stderr
        assert "Take It Down" in run.stderr
    assert await stack.pool.fetchval("SELECT count(*) FROM cases") == before
    assert await stack.pool.fetchval("SELECT count(*) FROM cases WHERE reference = 'UNDER-AGE'") == 0

    bad_language = await stack.tada("case", "open", "--age", "30", "--language", "fr")
    assert bad_language.code == 2
    assert "--language" in bad_language.stderr


async def test_import_names_bad_lines_starts_good_ones_and_is_idempotent(stack, web, mailbox, tmp_path):
    case_id = await stack.open_case()
    web.live("/import/a")
    web.live("/import/b")
    links = tmp_path / "links.csv"
    links.write_text(
        "url,note\n"
        f"{web.url('/import/a')},first\n"  # line 2
        "javascript:alert(1),script\n"  # line 3
        f"{web.url('/import/b')}?utm_source=x,second\n"  # line 4
        "ftp://example.com/file,ftp\n"  # line 5
        "not a link,words\n"  # line 6
        f"{web.url('/import/a')}#top,again\n",  # line 7: the same link as line 2
        encoding="utf-8",
    )
    run = await stack.tada("links", "import", case_id, str(links), "--json")
    assert run.code == 0, run.stderr
    result = run.json
    assert (result["started"], result["duplicates"]) == (2, 0)
    rejected = {row["line"]: row for row in result["rejected"]}
    assert sorted(rejected) == [3, 5, 6, 7]
    assert rejected[3]["value"] == "javascript:alert(1)"
    assert "http" in rejected[3]["reason"]
    assert "http" in rejected[5]["reason"]
    assert rejected[6]["value"] == "not a link"
    assert rejected[7]["reason"] == "duplicate of line 2"

    link_ids = await links_of(stack.pool, case_id, web.url("/import/a"), web.url("/import/b"))
    for link_id in link_ids:
        description = await stack.client.get_workflow_handle(link_id).describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
    await in_state(stack, "AWAITING_RESPONSE", *link_ids)
    [message] = await mail_count(mailbox, case_id, 1)  # one notice lists both links of the platform
    assert (message["To"], message["X-Tada-Notice-Kind"]) == (PLATFORM_EMAIL, "initial")
    body = message.get_body(("plain",)).get_content()
    assert web.url("/import/a") in body and web.url("/import/b") in body

    again = await stack.tada("links", "import", case_id, str(links))  # human output this time
    assert again.code == 0, again.stderr
    assert "Started 0 new link workflow(s); 2 already known" in again.stdout
    for line, value in ((3, "javascript:alert(1)"), (5, "ftp://example.com/file"), (6, "not a link")):
        assert f"{line} " in again.stderr and value in again.stderr
    assert "4 line(s) rejected" in again.stderr
    await asyncio.sleep(2.0)  # a wrongly started workflow would have sent by now (batch window 1 s)
    assert len(notices_for(mailbox, case_id)) == 1
    assert await stack.pool.fetchval("SELECT count(*) FROM notices WHERE case_id = $1", case_id) == 2
    assert await stack.pool.fetchval("SELECT count(*) FROM links WHERE case_id = $1", case_id) == 2

    missing, unknown_case = await asyncio.gather(
        stack.tada("links", "import", case_id, str(tmp_path / "nope.csv")),
        stack.tada("links", "import", "TD-NOSUCHCS", str(links), "--json"),
    )
    assert missing.code == 2
    assert "nope.csv: no such file" in missing.stderr
    assert unknown_case.code == 4
    assert unknown_case.stdout == ""
    assert "no case TD-NOSUCHCS" in unknown_case.stderr


async def test_add_status_show_and_respond(stack, web, mailbox):
    case_id = await stack.open_case()
    web.live("/add/c")
    web.live("/add/d")
    urls = [web.url("/add/c"), web.url("/add/d"), "javascript:void(0)"]
    run = await stack.tada("links", "add", case_id, *urls, "--json")
    assert run.code == 0, run.stderr
    assert (run.json["started"], run.json["duplicates"]) == (2, 0)
    assert [(r["line"], r["value"]) for r in run.json["rejected"]] == [(3, "javascript:void(0)")]
    link_c, link_d = await links_of(stack.pool, case_id, web.url("/add/c"), web.url("/add/d"))
    await in_state(stack, "AWAITING_RESPONSE", link_c, link_d)
    await mail_count(mailbox, case_id, 1)

    status = (await stack.tada("status", case_id, "--json")).json
    assert status["case"]["case_id"] == case_id and status["case"]["status"] == "open"
    assert status["total"] == 2
    assert status["counts"]["AWAITING_RESPONSE"] == 2 and status["counts"]["REMOVED"] == 0
    rows = {row["link_id"]: row for row in status["links"]}
    assert set(rows) == {link_c, link_d}
    row = rows[link_c]
    assert row["url"] == web.url("/add/c")
    assert (row["platform"], row["category"]) == ("Test Platform", "image_host")
    assert (row["state"], row["cycle"]) == ("AWAITING_RESPONSE", 1)
    assert row["notices_sent"] == 1
    assert row["next_action"] == "follow-up check" and row["next_action_at"] is not None

    show = await stack.tada("link", "show", link_c, "--json")
    assert show.code == 0, show.stderr
    detail = show.json
    assert detail["link"]["link_id"] == link_c
    kinds = [event["kind"] for event in detail["events"]]
    assert kinds == ["liveness", "notice", "transition"]
    transition = detail["events"][-1]
    assert (transition["from_state"], transition["to_state"]) == ("REPORTED", "AWAITING_RESPONSE")
    assert detail["events"][0]["detail"]["verdict"] == "live"
    notices = [(n["kind"], n["recipient"], n["status"]) for n in detail["notices"]]
    assert notices == [("initial", PLATFORM_EMAIL, "sent")]
    assert detail["live"]["state"] == "AWAITING_RESPONSE" and detail["live"]["paused"] is False
    assert detail["live_unavailable"] is None

    respond = await stack.tada("link", "respond", link_c, "--outcome", "removed", "--note", "confirmed by email")
    assert respond.code == 0, respond.stderr
    await in_state(stack, "REMOVED", link_c)
    status = (await stack.tada("status", case_id, "--json")).json
    states = {row["link_id"]: row["state"] for row in status["links"]}
    assert states == {link_c: "REMOVED", link_d: "AWAITING_RESPONSE"}
    assert (status["counts"]["REMOVED"], status["counts"]["AWAITING_RESPONSE"]) == (1, 1)
    events = (await stack.tada("link", "show", link_c, "--json")).json["events"]
    response = next(e for e in events if e["kind"] == "response")
    assert response["detail"] == {"outcome": "removed", "note": "confirmed by email"}
    assert (events[-1]["from_state"], events[-1]["to_state"]) == ("AWAITING_RESPONSE", "REMOVED")

    table = await stack.tada("status", case_id)
    assert table.code == 0, table.stderr
    assert link_c in table.stdout and link_d in table.stdout
    assert "1 REMOVED" in table.stdout and "1 AWAITING_RESPONSE" in table.stdout
    assert len(notices_for(mailbox, case_id)) == 1  # a recorded removal sends nothing


async def test_escalate_pause_withdraw_and_closed_link(stack, web, mailbox):
    case_id = await stack.open_case()
    web.live("/steer/e")
    run = await stack.tada("links", "add", case_id, web.url("/steer/e"), "--json")
    assert run.json["started"] == 1, run.stderr
    link_id = await link_of(stack.pool, case_id, web.url("/steer/e"))
    await in_state(stack, "AWAITING_RESPONSE", link_id)

    bad_email, unknown_link, unknown_show, unknown_status = await asyncio.gather(
        stack.tada("link", "escalate", link_id, "--to", "not-an-email", "--kind", "host"),
        stack.tada("link", "pause", f"{case_id}-0000000000000000"),
        stack.tada("link", "show", "TD-NOSUCHLK-0000000000000000", "--json"),
        stack.tada("status", "TD-NOSUCHCS"),
    )
    assert bad_email.code == 2
    assert "--to" in bad_email.stderr and "not an email address" in bad_email.stderr
    assert unknown_link.code == 4 and f"no link {case_id}-0000000000000000" in unknown_link.stderr
    assert unknown_show.code == 4 and unknown_show.stdout == ""
    assert unknown_status.code == 4 and "no case TD-NOSUCHCS" in unknown_status.stderr

    escalate = await stack.tada("link", "escalate", link_id, "--to", "abuse@hosting.test", "--kind", "host", "--json")
    assert escalate.code == 0, escalate.stderr
    assert escalate.json == {"link_id": link_id, "signal": "escalate", "sent": True, "state": "AWAITING_RESPONSE"}
    await in_state(stack, "ESCALATED", link_id)
    messages = await mail_count(mailbox, case_id, 2)
    assert [m["To"] for m in messages] == [PLATFORM_EMAIL, "abuse@hosting.test"]
    assert [m["X-Tada-Notice-Kind"] for m in messages] == ["initial", "escalation_host"]

    assert (await stack.tada("link", "pause", link_id)).code == 0
    handle = stack.client.get_workflow_handle(link_id)

    async def paused() -> bool:
        return (await handle.query(LinkWorkflow.status)).paused

    await eventually(paused, "the link to pause")
    live = (await stack.tada("link", "show", link_id, "--json")).json["live"]
    assert live["paused"] is True and live["next_action_at"] is None

    withdraw = await stack.tada("link", "withdraw", link_id, "--reason", "victim asked to stop")
    assert withdraw.code == 0, withdraw.stderr
    await in_state(stack, "WITHDRAWN", link_id)

    async def closed() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(closed, "the workflow to complete")
    events = (await stack.tada("link", "show", link_id, "--json")).json["events"]
    assert events[-1]["to_state"] == "WITHDRAWN" and events[-1]["detail"] == {"reason": "victim asked to stop"}

    resume = await stack.tada("link", "resume", link_id)
    assert resume.code == 3
    assert f"link {link_id} is closed (WITHDRAWN)" in resume.stderr
    assert len(notices_for(mailbox, case_id)) == 2


async def test_case_withdraw_stops_every_link(stack, web, mailbox):
    case_id = await stack.open_case()
    paths = ("/case/f", "/case/g")
    for path in paths:
        web.live(path)
    run = await stack.tada("links", "add", case_id, *(web.url(p) for p in paths), "--json")
    assert run.json["started"] == 2, run.stderr
    link_ids = await links_of(stack.pool, case_id, *(web.url(p) for p in paths))
    await in_state(stack, "AWAITING_RESPONSE", *link_ids)
    await mail_count(mailbox, case_id, 1)

    withdraw = await stack.tada("case", "withdraw", case_id, "--json")
    assert withdraw.code == 0, withdraw.stderr
    assert withdraw.json == {"case_id": case_id, "withdrawn": 2, "already_closed": 0}
    case = await stack.pool.fetchrow("SELECT status, withdrawn_at FROM cases WHERE case_id = $1", case_id)
    assert case["status"] == "withdrawn" and case["withdrawn_at"] is not None
    await in_state(stack, "WITHDRAWN", *link_ids)

    web.live("/case/h")
    more, unknown = await asyncio.gather(
        stack.tada("links", "add", case_id, web.url("/case/h")),
        stack.tada("case", "withdraw", "TD-NOSUCHCS"),
    )
    assert more.code == 3 and f"case {case_id} is withdrawn" in more.stderr
    assert unknown.code == 4
    status = (await stack.tada("status", case_id, "--json")).json
    assert status["case"]["status"] == "withdrawn"
    assert status["counts"]["WITHDRAWN"] == 2 and status["total"] == 2
    assert len(notices_for(mailbox, case_id)) == 1
