"""Pages from Jinja2 templates (tada/console/templates), autoescaped, in the reader's language.

One environment per language, each with its catalogue installed (``jinja2.ext.i18n``, new-style
gettext: ``{{ _("...") }}`` and ``{% trans %}``), so a page never renders in a mix. Times are
shown in the organisation's zone (``TADA_TIMEZONE``) with the UTC time on hover: the ``when``
filter gives the local text, ``utc`` the hover text, ``iso`` the machine-readable value, and
``clock(t)`` the whole ``<time>`` element at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from tada.console.i18n import (
    LANGUAGE_NAMES,
    LANGUAGES,
    REPLY_KIND_NAMES,
    ROLE_NAMES,
    STATE_NAMES,
    language_of,
    translations,
)


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("tada.console", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        language=language, languages=LANGUAGES, language_names=LANGUAGE_NAMES, roles=ROLE_NAMES,
        reply_kinds=REPLY_KIND_NAMES,
    )  # fmt: skip
    gettext = translations(language).gettext
    env.filters["state"] = lambda value: gettext(STATE_NAMES[value]) if value in STATE_NAMES else value
    # A named value in the reader's words: the catalogue's message for a known one, else the value
    # itself, escaped like any text (``_(value)`` would hand an unknown value back unescaped).
    env.filters["named"] = lambda value, names: gettext(names[value]) if value in names else value
    env.filters.update(iso=_iso, utc=_utc)
    return env


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""


def _utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def local_time(value: datetime | None, zone: str) -> str:
    """``value`` in the organisation's zone, to the minute, with the zone's abbreviation."""
    if value is None:
        return "-"
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def page(
    language: str | None, template: str, *, zone: str = "UTC", status_code: int = 200, **values: Any
) -> HTMLResponse:
    """``template`` rendered in ``language`` (English for an unknown one) as an HTML response."""
    env = environment(language_of(language))
    html = env.get_template(template).render(
        when=lambda value: local_time(value, zone),
        clock=lambda value: Markup(time_tag(value, zone)),
        zone=zone,
        **values,
    )
    return HTMLResponse(html, status_code=status_code)


def time_tag(value: datetime | None, zone: str | ZoneInfo) -> str:
    """``<time>`` for ``value``: the local time shown, UTC on hover, ISO for machines (markup, its
    parts made here: nothing in it comes from outside); "" for no time. One call a time, for the
    pages that show a thousand of them."""
    if value is None:
        return ""
    utc = value.astimezone(UTC)
    local = value.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    return (
        f'<time datetime="{utc.isoformat(timespec="seconds")}" title="{utc:%Y-%m-%d %H:%M} UTC">{escape(local)}</time>'
    )
