"""The console's link page over HTTP against the real stack: a link started through the worker,
its timeline and notice text, caseworker actions from the page's forms (each a signal the
workflow acts on, audited with the person's name), CSRF refusals, and text that came from
people shown inert; the URL never in an ``href`` or ``src``."""

from __future__ import annotations

import html
import re
import uuid

import pytest
from markupsafe import escape

from tada.app.intake import open_case, start_link
from tada.domain.registry import load_registry
from tada.workflows.link import LinkWorkflow
from tests.console.conftest import csrf_of
from tests.support.cli_stack import PLATFORM_EMAIL, eventually
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
_ATTRIBUTES = re.compile(r'\b(?:href|src|action|formaction|data|poster)\s*=\s*("[^"]*"|\'[^\']*\'|[^\s>]+)', re.I)


async def _started_link(console, web, path: str, *, reference: str = "REF-1") -> tuple[str, str, str]:
    """A case and one link started through the worker, its notice sent (AWAITING_RESPONSE)."""
    case_id = await open_case(
        console.pool, age=30, minimum_age=16, signpost="under {minimum_age}", reference=reference,
        crypto=suite_crypto(),
    )  # fmt: skip
    web.live(path)
    url = web.url(path)
    policy = load_registry(console.settings.platforms).policy_for(url)
    link_id, started = await start_link(
        console.pool, console.client, case_id=case_id, language="en", url=url, policy=policy,
        task_queue=console.settings.task_queue,
    )  # fmt: skip
    assert started
    await _in_state(console, link_id, "AWAITING_RESPONSE")
    return case_id, link_id, url


async def _in_state(console, link_id: str, state: str) -> None:
    async def there() -> bool:
        return await console.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == state

    await eventually(there, f"{link_id} in {state}", 30)


async def _event(console, link_id: str, event_kind: str, **detail: str) -> dict:
    async def found():
        rows = await console.pool.fetch(
            "SELECT kind, detail, to_state FROM link_events WHERE link_id = $1 AND kind = $2 ORDER BY event_id",
            link_id,
            event_kind,
        )
        return next((dict(r) for r in rows if all(r["detail"].get(k) == v for k, v in detail.items())), None)

    return await eventually(found, f"a {event_kind} event {detail} for {link_id}", 30)


async def _post(http, path: str, page_path: str, **form: str):
    page = await http.get(page_path)
    assert page.status_code == 200, page.text
    return await http.post(path, data={"csrf": csrf_of(page.text), **form})


def _no_url_in_attributes(text: str, url: str) -> None:
    host_path = url.split("://", 1)[1]
    for value in _ATTRIBUTES.findall(text):
        plain = html.unescape(value)
        assert url not in plain and host_path not in plain, value


async def test_the_page_shows_the_links_timeline_and_notice_text(console, web, mailbox):
    case_id, link_id, url = await _started_link(console, web, "/console-link/a", reference="Ref <b>x</b>")
    http, name = await console.signed_in("caseworker")
    answer = await http.get(f"/console/links/{link_id}")
    assert answer.status_code == 200, answer.text
    text = answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert f'href="/console/cases/{case_id}"' in text
    assert f'<code class="url" id="link-url">{html.escape(url)}</code>' in text
    assert 'data-copy="link-url"' in text
    assert "Test Platform" in text and "image_host" in text and "awaiting a response" in text  # its state, in words
    # the timeline, in order: the check, the notice, the move
    heads = [text.index(h) for h in ("Checked whether the content is up", "Notice sent", "State changed")]
    assert heads == sorted(heads)
    assert "reported → awaiting a response" in text
    assert html.escape(PLATFORM_EMAIL) in text
    # the notice's text, rendered again: it lists the URL and the case's reference (escaped)
    notice = re.search(r'<pre class="text" id="notice-text-\d+">(.*?)</pre>', text, re.S)
    assert notice, "no notice text"
    assert html.escape(url) in notice.group(1)
    assert "Ref &lt;b&gt;x&lt;/b&gt;" in notice.group(1) and "<b>x</b>" not in text
    [sent] = [m for m in mailbox.messages if url in m.get_body(("plain",)).get_content()]
    subject = re.search(r'<span id="notice-subject-\d+">(.*?)</span>', text)
    assert subject and html.unescape(subject.group(1)) == sent["Subject"]  # as it went out, its reply tag too
    body = sent.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert html.unescape(notice.group(1)).strip() == body.strip()  # word for word
    # the workflow's own word, and the forms a caseworker has
    assert "running" in text
    for action in ("respond", "escalate", "pause", "recheck", "reopen", "filed", "withdraw", "reply"):
        assert f'action="/console/links/{link_id}/{action}"' in text, action
    assert f'action="/console/links/{link_id}/resume"' not in text  # it runs: pause, not resume
    _no_url_in_attributes(text, url)
    assert "<iframe" not in text and "<img" not in text
    audit = await console.pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'read' AND target = $1 AND actor_name = $2", link_id, name
    )
    assert audit == 1
    assert (await http.get("/console/links/TD-NOSUCHCS-0000000000000000")).status_code == 404
    chosen = await http.post("/console/language", data={"language": "zh-Hant", "csrf": csrf_of(text)})
    assert chosen.status_code == 303
    in_chinese = await http.get(f"/console/links/{link_id}")
    assert in_chinese.status_code == 200 and '<html lang="zh-Hant">' in in_chinese.text
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_pause_then_resume_from_the_page(console, web, mailbox):
    _, link_id, _ = await _started_link(console, web, "/console-link/b")
    http, name = await console.signed_in("caseworker")
    page_path = f"/console/links/{link_id}"
    paused = await _post(http, f"{page_path}/pause", page_path)
    assert paused.status_code == 303 and paused.headers["location"] == f"{page_path}?done=pause"
    await _event(console, link_id, "caseworker", action="pause")
    shown = await http.get(paused.headers["location"])
    assert "The link is paused" in shown.text and 'role="status"' in shown.text
    assert f'action="{page_path}/resume"' in shown.text and f'action="{page_path}/pause"' not in shown.text
    resumed = await _post(http, f"{page_path}/resume", page_path)
    assert resumed.status_code == 303
    await _event(console, link_id, "caseworker", action="resume")
    audit = await console.pool.fetch(
        "SELECT action, allowed, actor_role FROM audit_events WHERE target = $1 AND actor_name = $2"
        " AND action LIKE 'link.%' ORDER BY id",
        link_id,
        name,
    )
    assert [(r["action"], r["allowed"], r["actor_role"]) for r in audit] == [
        ("link.pause", True, "caseworker"),
        ("link.resume", True, "caseworker"),
    ]
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_supplying_an_admin_contact_escalates_the_link(console, web, mailbox):
    _, link_id, _ = await _started_link(console, web, "/console-link/c")
    http, _ = await console.signed_in("caseworker")
    page_path = f"/console/links/{link_id}"
    bad = await _post(http, f"{page_path}/escalate", page_path, email="not-an-email", kind="admin")
    assert bad.status_code == 422 and "not an email address" in bad.text
    done = await _post(http, f"{page_path}/escalate", page_path, email="admin@channel.test", kind="admin")
    assert done.status_code == 303, done.text
    await _event(console, link_id, "caseworker", action="escalate", kind="admin")
    await _in_state(console, link_id, "ESCALATED")
    moved = await _event(console, link_id, "transition", reason="caseworker escalated")
    assert moved["to_state"] == "ESCALATED"
    await _event(console, link_id, "notice", kind="escalation_admin")
    shown = await http.get(page_path)
    assert "escalation_admin" in shown.text and "escalated" in shown.text
    contacts = shown.text[shown.text.index('id="contacts-heading"') :]
    assert "<td>admin</td>" in contacts and "a caseworker" in contacts
    assert "admin@channel.test" in shown.text  # the escalation notice went to it
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_a_post_without_its_csrf_token_is_refused(console, web, mailbox):
    _, link_id, _ = await _started_link(console, web, "/console-link/d")
    http, _ = await console.signed_in("caseworker")
    for form in ({}, {"csrf": "not-the-token"}):
        refused = await http.post(f"/console/links/{link_id}/pause", data=form)
        assert refused.status_code == 403 and "expired" in refused.text
    withdraw = await http.post(f"/console/links/{link_id}/withdraw", data={"reason": "x"})
    assert withdraw.status_code == 403
    other, _ = await console.signed_in("caseworker")  # another session's token is no good either
    page = await other.get(f"/console/links/{link_id}")
    assert (await http.post(f"/console/links/{link_id}/pause", data={"csrf": csrf_of(page.text)})).status_code == 403
    rows = await console.pool.fetchval(
        "SELECT count(*) FROM link_events WHERE link_id = $1 AND kind = 'caseworker'", link_id
    )
    assert rows == 0
    assert await console.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id) == "AWAITING_RESPONSE"
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_a_note_with_markup_is_shown_inert(console, web, mailbox):
    _, link_id, url = await _started_link(console, web, "/console-link/e")
    http, _ = await console.signed_in("caseworker")
    page_path = f"/console/links/{link_id}"
    note = f"{SCRIPT} and {IMG}"
    done = await _post(http, f"{page_path}/respond", page_path, outcome="acknowledged", note=note)
    assert done.status_code == 303, done.text
    await _event(console, link_id, "response", outcome="acknowledged")  # the note is sealed at rest
    text = (await http.get(page_path)).text
    assert "<script>alert" not in text and "<img" not in text and "onerror=alert(1)>" not in text
    assert str(escape(SCRIPT)) in text and str(escape(IMG)) in text
    assert text.count("<script") == 1  # tada's own script, nothing else
    _no_url_in_attributes(text, url)
    withdrawn = await _post(http, f"{page_path}/withdraw", page_path, reason=IMG)  # a reason with markup, too
    assert withdrawn.status_code == 303
    await _in_state(console, link_id, "WITHDRAWN")
    text = (await http.get(page_path)).text
    assert "<img" not in text and text.count(str(escape(IMG))) == 2


async def test_ops_see_no_caseworker_actions_and_are_refused_them(console, web, mailbox):
    _, link_id, _ = await _started_link(console, web, "/console-link/f")
    http, name = await console.signed_in("ops")
    page_path = f"/console/links/{link_id}"
    page = await http.get(page_path)
    assert page.status_code == 200
    assert f'action="{page_path}/pause"' not in page.text and f'action="{page_path}/reply"' not in page.text
    assert f'action="{page_path}/withdraw"' in page.text  # ops may withdraw a link
    refused = await http.post(f"{page_path}/pause", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403 and "Not for your role" in refused.text
    audit = await console.pool.fetchrow(
        "SELECT allowed, actor_role FROM audit_events WHERE action = 'link.pause' AND target = $1 AND actor_name = $2",
        link_id,
        name,
    )
    assert audit is not None and audit["allowed"] is False and audit["actor_role"] == "ops"
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_a_reply_to_the_platform_from_the_page(console, web, mailbox):
    case_id, link_id, _ = await _started_link(console, web, "/console-link/g")
    http, name = await console.signed_in("caseworker")
    page_path = f"/console/links/{link_id}"
    empty = await _post(http, f"{page_path}/reply", page_path, text="   ")
    assert empty.status_code == 422 and "the reply is empty" in empty.text
    words = f"Please look again: {SCRIPT}"
    sent = await _post(http, f"{page_path}/reply", page_path, text=words)
    assert sent.status_code == 303 and sent.headers["location"] == f"{page_path}?done=reply", sent.text

    async def delivered():
        return [m for m in mailbox.messages if m["X-Tada-Notice-Kind"] == "caseworker_reply"]

    [message] = await eventually(delivered, "the reply email", 30)
    assert message["To"] == PLATFORM_EMAIL and message["Subject"].startswith("Re: ")
    assert words in message.get_body(("plain",)).get_content()
    await _event(console, link_id, "caseworker", action="reply", answering="notice")
    text = (await http.get(sent.headers["location"])).text
    assert "Your reply was sent" in text and str(escape(words)) in text and "<script>alert" not in text
    audit = await console.pool.fetch(
        "SELECT reason FROM audit_events WHERE action = 'link.reply' AND target = $1 AND actor_name = $2 ORDER BY id",
        link_id,
        name,
    )
    assert len(audit) == 3 and audit[-1]["reason"].startswith("reply email sent")  # the empty one refused after
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def _heard_reply(console, case_id: str, link_id: str, excerpt: str) -> int:
    """A platform reply as the inbox records it for the link (tada/app/reply_routing.py's rows;
    the inbox's own path is tests/inbox's), classified "other", low confidence."""
    row = await console.pool.fetchval(
        "INSERT INTO inbox_messages (mailbox, uidvalidity, uid, size, status) VALUES ($1, 1, 1, 100, 'matched')"
        " RETURNING id",
        f"console-test-{uuid.uuid4().hex}",
    )
    sealed = await suite_crypto().seal(console.pool, case_id, f"{link_id}/reply/{row}", excerpt)
    await console.pool.execute(
        "INSERT INTO link_replies (reply_id, link_id, case_id, kind, confidence, rule, matched_by, from_domain,"
        " attachments, excerpt, received_at) VALUES ($1, $2, $3, 'other', 'low', 'no rule', 'tag', 'platform.test',"
        " $4, $5, now())",
        row, link_id, case_id, [{"type": "application/pdf", "size": 2048}], sealed,
    )  # fmt: skip
    return row


async def test_a_reply_is_shown_and_its_classification_corrected(console, web, mailbox):
    case_id, link_id, url = await _started_link(console, web, "/console-link/h")
    row = await _heard_reply(console, case_id, link_id, f"We looked. {IMG}")
    http, name = await console.signed_in("caseworker")
    page_path = f"/console/links/{link_id}"
    text = (await http.get(page_path)).text
    assert "platform.test" in text and "application/pdf" in text and "no rule" in text
    assert str(escape(f"We looked. {IMG}")) in text and "<img" not in text
    assert f'action="{page_path}/replies/{row}/classify"' in text
    wrong = await _post(http, f"{page_path}/replies/{row}/classify", page_path, kind="nonsense")
    assert wrong.status_code == 422 and "not a reply kind" in wrong.text
    done = await _post(http, f"{page_path}/replies/{row}/classify", page_path, kind="rejected")
    assert done.status_code == 303 and done.headers["location"] == f"{page_path}?done=classify", done.text
    correction = await console.pool.fetchrow(
        "SELECT id, to_kind, by_role FROM reply_corrections WHERE reply_id = $1", row
    )
    assert (correction["to_kind"], correction["by_role"]) == ("rejected", "caseworker")
    await _event(console, link_id, "reply", kind="rejected", rule="caseworker", reply=str(-correction["id"]))
    await _in_state(console, link_id, "ESCALATED")  # a rejection escalates the link, as the right kind would have
    audit = await console.pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'inbox.classify' AND target = $1 AND actor_name = $2"
        " AND reason LIKE 'message % corrected from other to rejected'",
        link_id,
        name,
    )
    assert audit == 1
    _no_url_in_attributes((await http.get(page_path)).text, url)
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_contacts_found_by_dns_and_rdap_are_listed_with_how(console, web, mailbox):
    case_id, link_id, _ = await _started_link(console, web, "/console-link/i")
    found = {
        "kind": "host", "source": "host", "email": "abuse@network.test", "name": "Example Hosting <Ltd>",
        "address": "192.0.2.7", "network": "TEST-NET-1", "rdap_server": "https://rdap.network.test/",
        "entity_handle": "ABUSE-7",
    }  # fmt: skip
    await console.pool.execute(  # as the workflow records what its host lookup found
        "INSERT INTO link_events (event_key, link_id, case_id, cycle, kind, detail, occurred_at)"
        " VALUES ($1, $2, $3, 1, 'contact_found', $4, now())",
        f"{link_id}:test-contact", link_id, case_id, found,
    )  # fmt: skip
    http, _ = await console.signed_in("caseworker")
    text = (await http.get(f"/console/links/{link_id}")).text
    contacts = text[text.index('id="contacts-heading"') : text.index('id="notices-heading"')]
    for value in ("abuse@network.test", "192.0.2.7", "TEST-NET-1", "ABUSE-7", "DNS and RDAP: the network hosting"):
        assert value in contacts, value
    assert "Example Hosting &lt;Ltd&gt;" in contacts
    assert "Escalation contact found" in text
    _no_url_in_attributes(text, "https://rdap.network.test/")  # an RDAP server is text, never a link
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")
