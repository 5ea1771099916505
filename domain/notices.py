"""Rendering take-down notices from Jinja2 templates (pure: data in, text out).

The notice carries the organisation's identity, never the victim's: no name, no
contact, no image, nothing the victim would have to provide.
"""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment, PackageLoader, StrictUndefined
from pydantic import BaseModel, Field

from domain.states import NoticeKind

_env = Environment(
    loader=PackageLoader("domain", "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # plain text; values are data, never template source
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


class NoticeContext(BaseModel):
    kind: NoticeKind
    platform: str
    urls: list[str]
    case_reference: str
    notifier_name: str
    notifier_email: str
    language: str = "en"
    follow_up_number: int = 0
    first_sent_at: datetime | None = None
    previous_removal_at: datetime | None = None
    hong_kong: bool = False
    extra: dict[str, str] = Field(default_factory=dict)


class RenderedNotice(BaseModel):
    subject: str
    text: str


def _one_line(value: str) -> str:
    return " ".join(value.split())


def render_notice(context: NoticeContext) -> RenderedNotice:
    """Subject and plain-text body. A template's first line is ``Subject: ...``."""
    language = context.language if context.language in ("en",) else "en"
    template = _env.get_template(f"{language}/{context.kind.value}.txt.j2")
    rendered = template.render(**context.model_dump())
    head, _, body = rendered.partition("\n\n")
    if not head.startswith("Subject: "):
        raise ValueError(f"template {template.name} must start with a Subject: line")
    return RenderedNotice(subject=_one_line(head.removeprefix("Subject: ")), text=body.lstrip("\n"))
