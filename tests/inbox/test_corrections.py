"""A caseworker corrects a reply's classification (issue 15, ``tada inbox classify``): the
correction is recorded, the reply's row changed, and each link told again under an id of the
correction's own (its row's id, negated), which moves the link as the right kind would have.
The real stack, as in tests/inbox/test_pen.py: worker, SMTP, pymap, PostgreSQL, the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

from tada.domain.states import LinkState
from tests.inbox.conftest import REPLY_TO
from tests.inbox.test_pen import Inbox, awaiting, document, heard, mail, reply_events
from tests.inbox.test_replies_reach_their_links import answer
from tests.lifecycle.harness import make_policy, running_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState


@pytest.fixture
def inbox(time_env, db_pool, settings, imap_server, postbox, postgres_url) -> Inbox:
    return Inbox(
        time_env, db_pool, settings.model_copy(update={"reply_to": REPLY_TO}), imap_server, postbox, postgres_url
    )


def text(message) -> str:
    return message.get_body(("plain",)).get_content()


async def test_an_other_corrected_to_rejected_escalates_the_link_once(time_env, db_pool, inbox, web, mailbox):
    async with running_worker(time_env, db_pool, inbox.cli_settings) as h:
        [link] = await awaiting(h, web, "/corrections/rejected")
        [notice] = [m for m in mailbox.messages if web.url("/corrections/rejected") in text(m)]
        [row] = await inbox.receive(answer(notice, "Hello, about your report: see you."))
        [first] = await heard(db_pool, link.id)
        assert (first["kind"], first["confidence"], first["review"]) == ("other", "low", "caseworker")
        assert (await h.status(link)).state == S.AWAITING_RESPONSE
        start = await db_pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_events")

        code, out, err = await inbox.tada("inbox", "classify", str(row), "rejected")
        assert code == 0, err
        assert f"message {row} for {link.id}: other -> rejected" in out
        await h.until(link, S.ESCALATED)
        correction = await db_pool.fetchrow("SELECT * FROM reply_corrections WHERE reply_id = $1", row)
        assert (correction["link_id"], correction["from_kind"], correction["to_kind"], correction["by_role"]) == (
            link.id, "other", "rejected", "caseworker",
        )  # fmt: skip
        recorded = await db_pool.fetchrow(
            "SELECT kind, confidence, rule FROM link_replies WHERE reply_id = $1 AND link_id = $2", row, link.id
        )
        assert tuple(recorded) == ("rejected", "high", "caseworker")
        _, second = await heard(db_pool, link.id, 2)
        assert (second["kind"], second["confidence"], second["rule"]) == ("rejected", "high", "caseworker")
        assert second["reply"] == str(-correction["id"])
        audit = await db_pool.fetch(
            "SELECT actor_role, action, target, reason FROM audit_events WHERE id > $1 AND action = 'inbox.classify'"
            " ORDER BY id",
            start,
        )
        assert [tuple(r) for r in audit][-1] == (
            "caseworker", "inbox.classify", link.id, f"message {row} corrected from other to rejected",
        )  # fmt: skip

        # Again: the links are told again under the same id, and hear it once.
        code, out, err = await inbox.tada("inbox", "classify", str(row), "rejected", "--json")
        assert code == 0, err
        [again] = document(out)
        assert (again["correction"], again["told_again"]) == (correction["id"], True)
        await asyncio.sleep(0.5)  # time for the link to record it, were it to hear it twice
        assert len(await reply_events(db_pool, link.id)) == 2
        assert await db_pool.fetchval("SELECT count(*) FROM reply_corrections WHERE reply_id = $1", row) == 1


async def test_a_correction_reaches_every_link_of_a_batch_email(time_env, db_pool, inbox, web, mailbox):
    """A reply to one email for two links: each link gets a correction of its own (two ids)."""
    policy = make_policy()
    policy.timings.batch_window = timedelta(minutes=5)
    async with running_worker(time_env, db_pool, inbox.cli_settings) as h:
        case_id = await h.open_case()
        paths = ("/corrections/batch-a", "/corrections/batch-b")
        for path in paths:
            web.live(path)
        links = [await h.start(web.url(path), policy, case_id=case_id) for path in paths]
        await h.advance(timedelta(minutes=6))
        for link in links:
            await h.until(link, S.AWAITING_RESPONSE)
        [notice] = [m for m in mailbox.messages if web.url(paths[0]) in text(m)]
        [row] = await inbox.receive(answer(notice, "Thank you. We have received your report."))
        for link in links:
            await heard(db_pool, link.id)
        code, out, err = await inbox.tada("inbox", "classify", str(row), "needs_info", "--json")
        assert code == 0, err
        done = document(out)
        assert sorted(c["link_id"] for c in done) == sorted(link.id for link in links)
        assert {c["from_kind"] for c in done} == {"acknowledged"} and len({c["correction"] for c in done}) == 2
        for link in links:
            _, corrected = await heard(db_pool, link.id, 2)
            assert (corrected["kind"], corrected["review"]) == ("needs_info", "caseworker")


async def test_refusals_say_what_is_wrong(time_env, db_pool, inbox, web, mailbox):
    async with running_worker(time_env, db_pool, inbox.cli_settings) as h:
        [link] = await awaiting(h, web, "/corrections/refusals")
        [notice] = [m for m in mailbox.messages if web.url("/corrections/refusals") in text(m)]
        matched, stranger = await inbox.receive(
            answer(notice, "Hello, about your report: see you."),
            mail("who are you?", sender="someone@elsewhere.test"),
        )
        await heard(db_pool, link.id)

        code, _, err = await inbox.tada("inbox", "classify", str(matched), "deleted")
        assert code == 2 and "not a reply kind: use one of acknowledged, removed, rejected" in err
        code, _, err = await inbox.tada("inbox", "classify", str(matched), "other")
        assert code == 3 and f"message {matched} is classified other already" in err
        code, _, err = await inbox.tada("inbox", "classify", str(stranger), "rejected")
        assert code == 3 and f"message {stranger} was recorded for no link" in err
        assert "tada inbox assign" in err
        code, _, err = await inbox.tada("inbox", "classify", "987654321", "rejected")
        assert code == 4 and "no message 987654321 in the inbox" in err
        assert await db_pool.fetchval("SELECT count(*) FROM reply_corrections WHERE reply_id = $1", matched) == 0
        assert len(await reply_events(db_pool, link.id)) == 1
        assert json.dumps(await inbox.pen(stranger), default=str).count("elsewhere.test") == 1  # its domain only
