"""A hostile site among ordinary ones: the ordinary links live their lives as they would
alone, and every hostile one ends in a recorded check, never stuck, the worker never down.

The real worker on the time-skipping server, with PostgreSQL, the SMTP sink and the kit's
web server (the ordinary pages); the hostile pages come from a raw site on 127.0.0.1
(tests/support/raw_web.py): a decompression bomb, a chain of encodings, a page dripping
one byte at a time past the time limit, a header section of 200 KB, a redirect loop and
an answer that never ends. All links are started at once, each in a case of its own.
"""

from __future__ import annotations

import asyncio

import pytest

from tada.domain.states import LinkState, Verdict
from tests.lifecycle.harness import PLATFORM_EMAIL, running_worker
from tests.support.bombs import bomb, compressed
from tests.support.raw_web import RawSite, drip, endless, raw_answer

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState
HTML = [("Content-Type", "text/html; charset=utf-8")]
#: The egress time limit of this worker: the dripping page outlasts it.
TOTAL_TIMEOUT = 2.0
GZIP_BOMB = bomb(128 << 20)

#: path -> (answer, the check's verdict and reason)
HOSTILE = {
    "/bomb": (
        raw_answer(200, [*HTML, ("Content-Encoding", "gzip")], GZIP_BOMB),
        (Verdict.UNKNOWN, "answer refused: compressed beyond 100:1"),
    ),
    "/stacked": (
        raw_answer(200, [*HTML, ("Content-Encoding", "gzip, gzip")], compressed(GZIP_BOMB)),
        (Verdict.UNKNOWN, "answer refused: stacked content encodings"),
    ),
    "/drip": (
        drip(raw_answer(200, [*HTML, ("Content-Length", "100000")], content_length=False), every=0.2),
        (Verdict.UNKNOWN, "timed out"),
    ),
    "/headers": (
        raw_answer(200, [*HTML, *((f"X-Filler-{n}", "f" * 100) for n in range(2000))], b"<p>hi</p>"),
        (Verdict.UNKNOWN, "connection failed: RemoteProtocolError"),
    ),
    "/loop": (raw_answer(302, [("Location", "/loop")]), (Verdict.UNKNOWN, "too many redirects")),
    # Read up to the check's slice and judged by it, the rest never asked for.
    "/endless": (
        endless(raw_answer(200, [*HTML, ("Connection", "close")], content_length=False)),
        (Verdict.LIVE, "page answers 200"),
    ),
}


async def _first_check(db_pool, link_id: str) -> tuple[str, str]:
    row = await db_pool.fetchrow(
        "SELECT detail->>'verdict' AS verdict, detail->>'reason' AS reason FROM link_events"
        " WHERE link_id = $1 AND kind = 'liveness' ORDER BY event_id LIMIT 1",
        link_id,
    )
    assert row is not None, f"{link_id}: no check recorded"
    return row["verdict"], row["reason"]


def _emails_naming(mailbox, url: str) -> list[str]:
    return [m["To"] for m in mailbox.messages if url in m.get_body(("plain",)).get_content()]


async def test_hostile_links_end_in_a_recorded_check_and_the_others_as_alone(time_env, db_pool, settings, mailbox, web):
    site = await RawSite().start()
    for path, (answer, _) in HOSTILE.items():
        site.answers[path] = answer
    web.live("/live-1")
    web.live("/live-2")
    web.gone("/gone-404")
    web.soft_removed("/gone-soft")
    ordinary = {
        web.url("/live-1"): (S.AWAITING_RESPONSE, Verdict.LIVE, "page answers 200"),
        web.url("/live-2"): (S.AWAITING_RESPONSE, Verdict.LIVE, "page answers 200"),
        web.url("/gone-404"): (S.REMOVED, Verdict.GONE, "404 not found"),
        web.url("/gone-soft"): (S.REMOVED, Verdict.GONE, "page shows the platform's removed-content notice"),
    }
    hostile = {site.url(path): expected for path, (_, expected) in HOSTILE.items()}
    worker_settings = settings.model_copy(update={"egress_total_timeout_seconds": TOTAL_TIMEOUT})
    try:
        async with running_worker(time_env, db_pool, worker_settings) as h:
            urls = [*ordinary, *hostile]
            handles = dict(zip(urls, await asyncio.gather(*(h.start(url) for url in urls)), strict=True))
            # Every hostile link: checked, "unknown" (or judged by what it showed), its notice sent.
            for url in hostile:
                await h.until(handles[url], S.AWAITING_RESPONSE, timeout=60)
            for url, (state, _, _) in ordinary.items():
                await h.until(handles[url], state, timeout=60)
            # The worker is still up: a link started now lives as any other.
            web.live("/after")
            await h.until(await h.start(web.url("/after")), S.AWAITING_RESPONSE)
            for url, (state, verdict, reason) in ordinary.items():
                handle = handles[url]
                assert (await h.status(handle)).state == state
                assert await _first_check(db_pool, handle.id) == (verdict.value, reason), url
                notices = [("initial", PLATFORM_EMAIL, "sent")] if state == S.AWAITING_RESPONSE else []
                assert await h.notice_rows(handle.id) == notices, url
                assert _emails_naming(mailbox, url) == [PLATFORM_EMAIL] * len(notices), url
            for url, (verdict, reason) in hostile.items():
                handle = handles[url]
                assert await _first_check(db_pool, handle.id) == (verdict.value, reason), url
                assert await h.notice_rows(handle.id) == [("initial", PLATFORM_EMAIL, "sent")], url
                assert _emails_naming(mailbox, url) == [PLATFORM_EMAIL], url
    finally:
        await site.stop()
