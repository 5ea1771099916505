"""Every failed send ends in an outcome: permanent (non-retryable, with a DeliveryFailure that
names the domain or host) or temporary (retried), and never the address or the URL in what
reaches Temporal. Against real SMTP and HTTP servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import traceback

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from tada.activities.notices import TEMPORARY_FAILURE, NotifierIdentity
from tada.domain.delivery import PERMANENT_FAILURE, DeliveryFailure
from tada.domain.states import Channel
from tests.support.delivery import new_link, notice_batch, notice_status
from tests.support.notices import notice_activities
from tests.support.smtp import ScriptedSmtp
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

IDENTITY = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org", allow_private_targets=True)
ADDRESS = "abuse@site.test"


async def _failure(db_pool, data_crypto, batch, *, port: int = 9) -> ApplicationError:
    """Run the activity as Temporal would; the ApplicationError it must end in."""
    async with httpx.AsyncClient(timeout=5) as http:
        notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=port, timeout=3)
        with pytest.raises(ApplicationError) as failed:
            await ActivityEnvironment().run(notices.send_batch, batch)
    return failed.value


def _said_anywhere(error: BaseException) -> str:
    """Everything Temporal could record of the error: message, details, chain and traceback."""
    return "".join(traceback.format_exception(error)) + repr(
        error.details if isinstance(error, ApplicationError) else ""
    )


@pytest.mark.parametrize(
    ("script", "code", "reason"),
    [
        ({"rcpt_reply": "550 5.1.1 <{address}>: Recipient address rejected: no such mailbox"}, "550", "does not exist"),
        ({"rcpt_reply": "553 5.1.3 <{address}> mailbox name not allowed"}, "553", "not valid"),
        ({"rcpt_reply": "550 <{address}> unknown user"}, "550", "mailbox unavailable"),
        ({"data_reply": "554 5.7.1 message to <{address}> refused as spam"}, "554", "policy"),
    ],
)
async def test_an_smtp_refusal_is_permanent_and_names_the_domain_only(db_pool, data_crypto, script, code, reason):
    case_id, link_id = await new_link(db_pool)
    with ScriptedSmtp(**script) as smtp:
        failed = await _failure(db_pool, data_crypto, notice_batch(case_id, link_id), port=smtp.port)
    assert failed.type == PERMANENT_FAILURE and failed.non_retryable
    failure = DeliveryFailure.model_validate(failed.details[0])
    assert (failure.channel, failure.code, failure.where) == (Channel.EMAIL, code, "site.test")
    assert reason in failure.reason
    assert "site.test" in failed.message and code in failed.message
    assert ADDRESS not in _said_anywhere(failed) and "abuse@" not in _said_anywhere(failed)
    assert await notice_status(db_pool, link_id) == "pending"  # not sent: the workflow moves the link on
    assert smtp.delivered == []


@pytest.mark.parametrize(
    ("script", "code"),
    [
        ({"data_reply": "451 4.3.0 <{address}>: temporary local problem, try again"}, "451"),
        ({"rcpt_reply": "451 4.7.1 <{address}>: greylisted, try again later"}, "451"),
        ({"rcpt_reply": "421 4.4.2 closing, too busy for <{address}>"}, "421"),
        ({"rcpt_reply": "552 5.2.2 <{address}> over quota"}, "552"),  # RFC 5321: a 552 to RCPT is a 452
    ],
)
async def test_an_smtp_try_later_is_retried_and_names_the_domain_only(db_pool, data_crypto, script, code):
    case_id, link_id = await new_link(db_pool)
    with ScriptedSmtp(**script) as smtp:
        failed = await _failure(db_pool, data_crypto, notice_batch(case_id, link_id), port=smtp.port)
    assert failed.type == TEMPORARY_FAILURE and not failed.non_retryable
    assert DeliveryFailure.model_validate(failed.details[0]).where == "site.test"
    assert failed.message.startswith("email to site.test: ") and f"({code})" in failed.message
    assert ADDRESS not in _said_anywhere(failed) and "abuse@" not in _said_anywhere(failed)
    assert await notice_status(db_pool, link_id) == "pending"


async def test_an_unreachable_relay_is_retried_without_naming_the_address(db_pool, data_crypto):
    case_id, link_id = await new_link(db_pool)
    failed = await _failure(db_pool, data_crypto, notice_batch(case_id, link_id), port=9)
    assert failed.type == TEMPORARY_FAILURE and not failed.non_retryable
    assert failed.message == "email to site.test: could not talk to the SMTP relay (connection)"
    assert ADDRESS not in _said_anywhere(failed)


BAD_ADDRESSES = [
    "a@site.test,c@other.test",
    "a@site.test;c@other.test",
    "abuse@site.test\x00",
    "abuse@site.test\x1b[0m",
    "abuse@site.test\r\nBcc: evil@other.test",
    "mailto:abuse@site.test?bcc=evil@other.test",
    "a" * 2048 + "@site.test",
    "\u202eabuse@site.test",
    "Abuse Desk <abuse@site.test>",
    "abuse@[127.0.0.1]",
    "abuse@127.0.0.1",
]


async def test_an_address_that_can_never_work_fails_at_once_before_any_connection(db_pool, data_crypto):
    with ScriptedSmtp() as smtp:
        for address in BAD_ADDRESSES:
            case_id, link_id = await new_link(db_pool)
            failed = await _failure(
                db_pool, data_crypto, notice_batch(case_id, link_id, recipient=address), port=smtp.port
            )
            assert failed.type == PERMANENT_FAILURE and failed.non_retryable, address
            failure = DeliveryFailure.model_validate(failed.details[0])
            assert failure.code == "address" and failure.channel == Channel.EMAIL
            assert failure.where in ("site.test", "the address"), address
            assert address not in _said_anywhere(failed) and "evil" not in _said_anywhere(failed)
            assert await notice_status(db_pool, link_id) is None  # nothing recorded, nothing sent
        assert smtp.connections == 0
        case_id, link_id = await new_link(db_pool)  # the server counts: a good address does connect
        async with httpx.AsyncClient(timeout=5) as http:
            notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=smtp.port)
            assert (await ActivityEnvironment().run(notices.send_batch, notice_batch(case_id, link_id))).sent_now
        assert smtp.connections == 1 and len(smtp.delivered) == 1


async def test_a_form_that_refuses_the_report_is_permanent_and_names_its_host(db_pool, data_crypto, web):
    web.pages["/report"] = Page(403)
    case_id, link_id = await new_link(db_pool)
    batch = notice_batch(case_id, link_id, channel=Channel.FORM, recipient=None, form_url=web.url("/report?token=s3"))
    failed = await _failure(db_pool, data_crypto, batch)
    assert failed.type == PERMANENT_FAILURE and failed.non_retryable
    failure = DeliveryFailure.model_validate(failed.details[0])
    assert (failure.channel, failure.code, failure.where) == (Channel.FORM, "403", "127.0.0.1")
    assert "/report" not in _said_anywhere(failed) and "s3" not in _said_anywhere(failed)
    assert len(web.posts) == 1 and await notice_status(db_pool, link_id) == "pending"


@pytest.mark.parametrize("status", [503, 500, 429, 408])
async def test_a_form_that_fails_for_now_is_retried(db_pool, data_crypto, web, status):
    web.pages["/report"] = Page(status)
    case_id, link_id = await new_link(db_pool)
    batch = notice_batch(case_id, link_id, channel=Channel.FORM, recipient=None, form_url=web.url("/report"))
    failed = await _failure(db_pool, data_crypto, batch)
    assert failed.type == TEMPORARY_FAILURE and not failed.non_retryable
    assert failed.message.startswith("form at 127.0.0.1: ") and f"({status})" in failed.message
    assert "/report" not in _said_anywhere(failed)


async def test_a_form_that_asks_to_slow_down_is_retried_after_its_retry_after(db_pool, data_crypto):
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 120\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    case_id, link_id = await new_link(db_pool)
    batch = notice_batch(
        case_id, link_id, channel=Channel.FORM, recipient=None, form_url=f"http://127.0.0.1:{port}/report"
    )
    try:
        failed = await _failure(db_pool, data_crypto, batch)
    finally:
        server.close()
    assert failed.type == TEMPORARY_FAILURE and failed.next_retry_delay is not None
    assert failed.next_retry_delay.total_seconds() == 120


async def test_a_form_on_a_private_address_is_refused_for_good(db_pool, data_crypto, web):
    case_id, link_id = await new_link(db_pool)
    batch = notice_batch(case_id, link_id, channel=Channel.FORM, recipient=None, form_url=web.url("/report"))
    async with httpx.AsyncClient(timeout=5) as http:
        identity = IDENTITY.model_copy(update={"allow_private_targets": False})
        notices = notice_activities(db_pool, http, identity, data_crypto, port=9)
        with pytest.raises(ApplicationError) as failed:
            await ActivityEnvironment().run(notices.send_batch, batch)
    assert failed.value.type == PERMANENT_FAILURE
    assert DeliveryFailure.model_validate(failed.value.details[0]).code == "egress"
    assert web.posts == []
