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
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from markupsafe import Markup, escape
from pydantic import BaseModel, Field, field_validator

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
    jurisdiction: str | None = None  # "HK" cites the Crimes Ordinance (Cap. 200) s.159AAE
    follow_up_number: int = 0
    first_notice_at: datetime | None = None  # follow-ups and escalations cite it
    previous_removal_at: datetime | None = None  # reposts cite it

    _language = field_validator("language", mode="before")(normalise_language)

    @field_validator("jurisdiction", mode="before")
    @classmethod
    def _jurisdiction(cls, value: str | None) -> str | None:
        return value.strip().upper() or None if isinstance(value, str) else value

    @property
    def hong_kong(self) -> bool:
        return self.jurisdiction == "HK"


class RenderedNotice(BaseModel):
    subject: str  # one line, never CR/LF
    text: str
    html: str


@pass_context
def _day(context, value: datetime) -> str:
    day = value.astimezone(UTC) if value.tzinfo else value
    if context["language"] == "zh-Hant":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


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
    env.filters.update(day=_day, paragraphs=_paragraphs, lines=lambda value: _paragraphs(value, True))
    return env


_text_env = _environment(autoescape=False)
_html_env = _environment(autoescape=True)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def render_notice(context: NoticeContext) -> RenderedNotice:
    """Subject, plain text and HTML alternative of one notice."""
    name = f"{context.language}/{context.kind.value}.j2"
    variables = context.model_dump() | {"hong_kong": context.hong_kong}
    text_template = _text_env.get_template(name)
    subject = "".join(text_template.blocks["subject"](text_template.new_context(variables)))
    text = text_template.render(variables, layout="_layout.txt.j2")
    html = _html_env.get_template(name).render(variables, layout="_layout.html.j2")
    return RenderedNotice(subject=_one_line(subject), text=re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", html=html)
