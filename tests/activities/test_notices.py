"""Notices are recorded before they are sent, and a retry never sends twice."""

from __future__ import annotations

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from tada.activities.notices import TEMPORARY_FAILURE, NotifierIdentity
from tada.app.intake import open_case, start_link_row
from tada.clients.rate_limit import RecipientRateLimit
from tada.domain.models import NoticeBatch
from tada.domain.states import NoticeKind
from tada.domain.urls import normalise_url
from tests.support.crypto import suite_crypto
from tests.support.delivery import notice_request
from tests.support.notices import notice_activities

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def notices(db_pool, smtp_server, data_crypto):
    _, port = smtp_server
    identity = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org", allow_private_targets=True)
    async with httpx.AsyncClient(timeout=5) as http:
        yield notice_activities(db_pool, http, identity, data_crypto, port=port)


async def _link(db_pool) -> tuple[str, str]:
    case_id = await open_case(db_pool, age=20, minimum_age=16, signpost="", reference="CASE-REF", crypto=suite_crypto())
    url = normalise_url("https://site.test/watch?v=1&utm_source=x")
    link_id = await start_link_row(db_pool, case_id=case_id, url=url, platform="site.test", category="other")
    return case_id, link_id


async def test_a_retried_notice_is_sent_once(notices, db_pool, mailbox):
    case_id, link_id = await _link(db_pool)
    first = await notices.send_batch(NoticeBatch(items=[notice_request(case_id, link_id)]))
    second = await notices.send_batch(NoticeBatch(items=[notice_request(case_id, link_id)]))
    assert first.sent_now and not second.sent_now
    assert first.message_id == second.message_id
    assert len(mailbox.messages) == 1
    row = await db_pool.fetchrow("SELECT status, attempts FROM notices WHERE notice_key = $1", first.notice_key)
    assert (row["status"], row["attempts"]) == ("sent", 2)


async def test_the_email_names_the_content_and_the_organisation_only(notices, db_pool, mailbox):
    case_id, link_id = await _link(db_pool)
    await notices.send_batch(NoticeBatch(items=[notice_request(case_id, link_id)]))
    message = mailbox.messages[0]
    body = message.get_body(("plain",)).get_content()
    assert message["From"] == "Org <notices@org.test>"
    assert message["To"] == "abuse@site.test"
    assert message["Message-ID"].endswith("@org.test>")
    assert "https://site.test/watch?v=1" in body and "utm_source" not in body
    assert "CASE-REF" in message["Subject"]
    assert "good faith" in body and "without the" in body


async def test_a_failed_send_is_retried_until_it_goes_out(db_pool, mailbox, smtp_server, data_crypto):
    case_id, link_id = await _link(db_pool)
    identity = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org")
    async with httpx.AsyncClient() as http:
        down = notice_activities(db_pool, http, identity, data_crypto, port=9, timeout=2)
        with pytest.raises(ApplicationError) as failed:  # a dead relay is a temporary failure: retried
            await down.send_batch(NoticeBatch(items=[notice_request(case_id, link_id)]))
        assert failed.value.type == TEMPORARY_FAILURE and not failed.value.non_retryable
        status = await db_pool.fetchval("SELECT status FROM notices WHERE link_id = $1", link_id)
        assert status == "pending"  # recorded before sending, not marked sent
        up = notice_activities(db_pool, http, identity, data_crypto, port=smtp_server[1])
        assert (await up.send_batch(NoticeBatch(items=[notice_request(case_id, link_id)]))).sent_now
    assert len(mailbox.messages) == 1


async def test_a_recipient_over_its_hourly_limit_waits_for_a_free_slot(db_pool, mailbox, smtp_server, data_crypto):
    identity = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org")
    limited = "limited@site.test"
    async with httpx.AsyncClient() as http:
        limit = RecipientRateLimit(db_pool, per_hour=2)
        notices = notice_activities(db_pool, http, identity, data_crypto, limit=limit, port=smtp_server[1])
        for _ in range(2):
            case_id, link_id = await _link(db_pool)
            await notices.send_batch(NoticeBatch(items=[notice_request(case_id, link_id, recipient=limited)]))
        case_id, link_id = await _link(db_pool)
        with pytest.raises(ApplicationError) as refused:
            await notices.send_batch(NoticeBatch(items=[notice_request(case_id, link_id, recipient=limited)]))
    assert refused.value.type == "RecipientRateLimited"
    assert refused.value.next_retry_delay.total_seconds() > 3000  # about an hour from the first
    assert len(mailbox.for_recipient(limited)) == 2


async def test_the_email_has_an_html_alternative_and_threads_onto_the_first_notice(notices, mailbox):
    from tada.domain.notices import NoticeContext, thread_headers

    url = "https://site.test/watch?v=1&list=<x>"
    context = NoticeContext(
        kind=NoticeKind.FOLLOW_UP,
        platform="site.test",
        urls=[url],
        case_reference="CASE-REF",
        notifier_name="Org",
        notifier_email="notices@org.test",
        language="zh-Hant",
        follow_up_number=1,
    )
    headers = thread_headers("<first@org.test>", [])
    request = notice_request("case", "link", kind=NoticeKind.FOLLOW_UP)
    await notices._send_email(  # noqa: SLF001 - the threading headers of one email, sent directly
        request, context, "<second@org.test>", in_reply_to=headers["In-Reply-To"], references=headers["References"]
    )
    (message,) = mailbox.messages
    assert message.get_content_type() == "multipart/alternative"
    assert (message["In-Reply-To"], message["References"]) == ("<first@org.test>", "<first@org.test>")
    assert url in message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "https://site.test/watch?v=1&amp;list=&lt;x&gt;" in html and "第1次跟進通知" in html
