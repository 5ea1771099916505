"""Rendering take-down notices from Jinja2 templates (pure: data in, text out).

Each kind has one template per language (``templates/<lang>/<kind>.j2``) holding
only its subject and opening; ``<lang>/_notice.j2`` holds the text every notice
shares, and ``_layout.txt.j2`` / ``_layout.html.j2`` lay it out. The same files
render twice: plain text with autoescape off, HTML with autoescape on.

The notice carries the organisation's identity, never the victim's: no name, no
contact, no image, nothing the victim would have to provide.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from markupsafe import Markup, escape
from pydantic import BaseModel, Field, field_validator

from tada.domain.laws import CitedLaw
from tada.domain.mail_thread import thread_headers
from tada.domain.states import NoticeKind

__all__ = ["NoticeContext", "RenderedNotice", "normalise_language", "render_notice", "thread_headers"]

LANGUAGES = ("en", "zh-Hant")
_ZH_HANT = ("zh-hant", "zh-hk", "zh-mo", "zh-tw")
_MONTHS = "January February March April May June July August September October November December".split()


def normalise_language(value: str | None) -> str:
    """``en`` or ``zh-Hant``; Traditional-Chinese tags (zh-HK, zh-Hant-HK …) map to zh-Hant, anything else to en."""
    tag = (value or "").strip().lower().replace("_", "-")
    return "zh-Hant" if tag.startswith(_ZH_HANT) else "en"


class NoticeContext(BaseModel):
    kind: NoticeKind
    platform: str
    urls: list[str] = Field(min_length=1)  # every link of one case on one site, exact
    case_reference: str
    notifier_name: str  # the organisation, never the victim
    notifier_email: str
    notifier_address: str | None = None  # optional postal or contact line
    language: str = "en"  # "en" | "zh-Hant"; anything else renders in English
    notifier_title: str = ""  # the signatory's title: "Authorised representative"
    jurisdiction: str | None = None  # the case's; the laws it brings are in ``laws``
    follow_up_number: int = 0
    first_notice_at: datetime | None = None  # follow-ups and escalations cite it
    previous_removal_at: datetime | None = None  # reposts cite it
    #: The laws that bind the platform for this case, cited (tada/domain/laws.py); none: none cited.
    laws: list[CitedLaw] = Field(default_factory=list)
    #: The one of them whose deadline the platform must meet (the request asks for it).
    clock: CitedLaw | None = None
    #: A follow-up after a missed deadline: the law, and when the request it was not acted on went out.
    missed: CitedLaw | None = None
    missed_request_at: datetime | None = None
    #: Every earlier notice to this recipient about these links, oldest first: repeated requests cite them.
    earlier_notices: list[datetime] = Field(default_factory=list)
    #: "copyright": a 17 U.S.C. § 512(c)(3) notice for an image the victim made (never by default).
    route: str | None = None
    authorised_on: date | None = None  # the day the victim authorised the organisation (never who)
    regulator: str | None = None  # a regulator complaint: to whom

    _language = field_validator("language", mode="before")(normalise_language)

    @field_validator("jurisdiction", mode="before")
    @classmethod
    def _jurisdiction(cls, value: str | None) -> str | None:
        return value.strip().upper() or None if isinstance(value, str) else value


class RenderedNotice(BaseModel):
    subject: str  # one line, never CR/LF
    text: str
    html: str


def _day_in(language: str, value: date) -> str:
    day = value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value
    if language == "zh-Hant":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


@pass_context
def _day(context, value: date) -> str:
    return _day_in(context["language"], value)


@pass_context
def _days(context, values: list[datetime]) -> str:
    """Each day once, in order: "1 March 2026, 4 March 2026 and 7 March 2026" (、 and 及 in Chinese)."""
    language = context["language"]
    days = list(dict.fromkeys(_day_in(language, value) for value in values))
    if len(days) < 2:
        return "".join(days)
    if language == "zh-Hant":
        return "、".join(days[:-1]) + "及" + days[-1]
    return ", ".join(days[:-1]) + " and " + days[-1]


def _paragraphs(value: str, line_breaks: bool = False) -> Markup:
    """Blank-line separated text as <p> elements; ``escape`` leaves autoescaped Markup as it is."""
    parts = [part.strip() for part in re.split(r"\n\s*\n", str(escape(value))) if part.strip()]
    joiner = "<br>\n" if line_breaks else "\n"
    return Markup("\n".join(f"<p>{joiner.join(part.splitlines())}</p>" for part in parts))


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("tada.domain", "templates"),
        undefined=StrictUndefined,
        autoescape=autoescape,  # values are data, never template source
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(day=_day, days=_days, paragraphs=_paragraphs, lines=lambda value: _paragraphs(value, True))
    return env


_text_env = _environment(autoescape=False)
_html_env = _environment(autoescape=True)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def render_notice(context: NoticeContext) -> RenderedNotice:
    """Subject, plain text and HTML alternative of one notice."""
    name = f"{context.language}/{context.kind.value}.j2"
    variables = dict(context)  # the models as they are: a template reads law.citation
    text_template = _text_env.get_template(name)
    subject = "".join(text_template.blocks["subject"](text_template.new_context(variables)))
    text = text_template.render(variables, layout="_layout.txt.j2")
    html = _html_env.get_template(name).render(variables, layout="_layout.html.j2")
    return RenderedNotice(subject=_one_line(subject), text=re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", html=html)
