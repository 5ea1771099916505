"""The one page every console refusal or dead end is shown on (``problem.html.j2``): a title and
what to do, in the reader's language, with the navigation of the person signed in (if any)."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import Response

from tada.api.context import context
from tada.console.i18n import gettext_for, language_of
from tada.console.people import PATH
from tada.console.templating import page

_PARTS = re.compile(rf"{PATH}/(cases|links|report)(?:[/.]|$)")


def reader_words(request: Request) -> Callable[[str], str]:
    """The ``gettext`` of the person signed in for this request (English before anyone is)."""
    person = getattr(request.state, "person", None)
    return gettext_for(language_of(person.language if person else None))


def problem_page(request: Request, status: int, title: str, message: str) -> Response:
    """``title`` is a catalogue message (``N_``), translated here; ``message`` is already in the
    reader's words (translated by the caller, with its values put in, or a use case's refusal,
    which is never given to the catalogue). The navigation marks the part of the console the
    request was for."""
    person = getattr(request.state, "person", None)  # set by people.signed_in
    language = language_of(person.language if person else None)
    return page(
        language, "problem.html.j2", zone=context(request).settings.timezone, status_code=status,
        title=gettext_for(language)(title), message=message, person=person, here=_part(request.url.path),
    )  # fmt: skip


def _part(path: str) -> str:
    """The page's ``here`` (what base.html.j2's navigation marks) for a console path."""
    found = _PARTS.match(path)
    return {"links": "link"}.get(found.group(1), found.group(1)) if found else "problem"
