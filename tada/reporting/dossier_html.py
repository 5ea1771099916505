"""A case's dossier (tada/app/dossier.py) as one self-contained HTML page: no script, no image,
no link, no external resource; the same page is the PDF's source (tada/reporting/dossier_pdf.py).

Rendered through a Jinja2 template with autoescape on, so every address, name and reason from
the database is text; and each value printed loses its escape sequences and shows its control and
direction characters as U+FFFD (tada/domain/terminal_text.py), so a name from RDAP cannot reorder
what a reader sees. The addresses are printed as text, never as links.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from tada.app.dossier import Dossier, NoticeSent
from tada.domain.terminal_text import terminal_text
from tada.reporting.text import category_label

NOTICE_KINDS = {
    "initial": "initial notice",
    "follow_up": "follow-up",
    "escalation_host": "escalation to the host",
    "escalation_admin": "escalation to the channel's or group's admin",
    "repost": "notice of a repost",
    "regulator": "complaint to the regulator",
}
CHANNELS = {"email": "email", "form": "the platform's web form", "manual": "filed by hand by a caseworker"}
OUTCOMES = {
    "removed": "removed",
    "rejected": "rejected",
    "acknowledged": "acknowledged",
    "needs-info": "asked for more information",
    "needs_info": "asked for more information",
    "auto_reply": "automatic reply",
    "bounce": "bounced (not delivered)",
}
STATES = {
    "REPORTED": "reported",
    "AWAITING_RESPONSE": "awaiting the platform's response",
    "FOLLOW_UP": "followed up",
    "ESCALATED": "escalated",
    "REMOVED": "removed",
    "UNRESOLVED": "unresolved (still online after every step)",
    "WITHDRAWN": "withdrawn",
}
COPYRIGHT = "copyright notice (17 U.S.C. § 512(c)(3))"
POLICY = "the platform's policy on intimate images"


def when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _shown(value: Any) -> Any:
    """Every value the page prints: outside text without what would hide or reorder it."""
    return terminal_text(value) if isinstance(value, str) else value


def _words(table: dict[str, str]) -> Any:
    return lambda value: table.get(value or "", (value or "").replace("_", " "))


def route(notice: NoticeSent) -> str:
    if notice.regulator:
        return f"to the regulator: {notice.regulator}"
    return COPYRIGHT if notice.route == "copyright" else POLICY


@pass_context
def law(context: Context, law_id: str) -> str:
    """A law as the registry cites it, with its id; an id it does not know, as it is."""
    name = context["d"].law_names.get(law_id)
    return f"{name} [{law_id}]" if name else law_id


_ENV = Environment(
    loader=PackageLoader("tada.reporting", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_shown,
)
_ENV.filters.update(
    when=when,
    iso=iso,
    category=category_label,
    notice_kind=_words(NOTICE_KINDS),
    channel=_words(CHANNELS),
    outcome=_words(OUTCOMES),
    state=_words(STATES),
    route=route,
    law=law,
)


def render_dossier_html(dossier: Dossier) -> str:
    return _ENV.get_template("dossier.html.j2").render(d=dossier)
