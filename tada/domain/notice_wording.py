"""What tada's own notices say, whatever they were about: every kind of notice, in every
language, with and without the Hong Kong paragraph, as one text.

The classifier cuts the lines of it from a reply (``classify(sent_notice_text=...)``,
tada/domain/reply_text_own.py), so tada's notice pasted below a reply without quote marks
never speaks for the platform: a repost notice says the content "was removed" before.
Lines naming the case (its reference, addresses, dates) differ from the real notice's and are
left to the other cuts; they say nothing a platform would. Pure, made once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from tada.domain.notices import NoticeContext, render_notice
from tada.domain.states import NoticeKind

LANGUAGES = ("en", "zh-Hant")
_SOME_DAY = datetime(2000, 1, 1, tzinfo=UTC)


@cache
def every_notice_text() -> str:
    """The plain text of each notice tada can send, one after another."""
    texts = [
        render_notice(
            NoticeContext(
                kind=kind, platform="-", urls=["-"], case_reference="-", notifier_name="-", notifier_email="-",
                language=language, jurisdiction=jurisdiction, follow_up_number=1,
                first_notice_at=_SOME_DAY, previous_removal_at=_SOME_DAY,
            )
        ).text
        for language in LANGUAGES
        for kind in NoticeKind
        for jurisdiction in (None, "HK")
    ]  # fmt: skip
    return "\n".join(texts)
