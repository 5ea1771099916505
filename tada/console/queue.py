"""``/console/``: what needs a person now (the landing page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tada.api.context import context
from tada.console.people import signed_in
from tada.console.templating import page

router = APIRouter()


@router.get("/")
async def needs_me(request: Request) -> Response:
    person = await signed_in(request)
    tada = context(request)
    return page(person.language, "queue.html.j2", zone=tada.settings.timezone, person=person, here="queue", items=[])
