"""What tada's own notices say, whatever they were about: every kind of notice, in every
language, citing no law and citing one (with its deadline, missed, and the copyright route), as one text.

The classifier cuts the lines of it from a reply (``classify(sent_notice_text=...)``,
tada/domain/reply_text_own.py), so tada's notice pasted below a reply without quote marks
never speaks for the platform: a repost notice says the content "was removed" before.
Lines naming the case (its reference, addresses, dates) differ from the real notice's and are
left to the other cuts; they say nothing a platform would. Pure, made once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from tada.domain.laws import CitedLaw
from tada.domain.notices import NoticeContext, render_notice
from tada.domain.states import NoticeKind

LANGUAGES = ("en", "zh-Hant")
_SOME_DAY = datetime(2000, 1, 1, tzinfo=UTC)
#: A law as the registry words it (its own lines differ by law and are left to the other cuts).
_SOME_LAW = CitedLaw(id="-", name="-", citation="-", deadline_hours=48)


@cache
def every_notice_text() -> str:
    """The plain text of each notice tada can send, one after another."""
    texts = [
        render_notice(
            NoticeContext(
                kind=kind, platform="-", urls=["-"], case_reference="-", notifier_name="-", notifier_email="-",
                language=language, follow_up_number=1, first_notice_at=_SOME_DAY, previous_removal_at=_SOME_DAY,
                laws=laws, clock=laws[0] if laws else None, missed=laws[0] if laws else None,
                missed_request_at=_SOME_DAY, earlier_notices=[_SOME_DAY, _SOME_DAY] if laws else [], route=route,
                authorised_on=_SOME_DAY.date() if laws else None, notifier_title="-" if laws else "",
            )
        ).text
        for language in LANGUAGES
        for kind in NoticeKind
        for laws, route in (([], None), ([_SOME_LAW], "copyright"))
    ]  # fmt: skip
    return "\n".join(texts)
