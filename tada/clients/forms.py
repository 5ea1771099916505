"""Submitting a platform's web report form (httpx POST)."""

from __future__ import annotations

import httpx

from tada.clients.egress import check_target

PLACEHOLDERS = ("url", "urls", "case_reference", "notifier_name", "notifier_email")


class FormRejected(Exception):
    """The platform's form answered with an error status."""


def fill_fields(template: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """Fill ``{url}``-style placeholders (``{{``/``}}`` are literal braces). The registry
    has already checked that only the known placeholders are used."""
    known = {name: values.get(name, "") for name in PLACEHOLDERS}
    return {field: text.format_map(known) for field, text in template.items()}


async def submit_form(http: httpx.AsyncClient, form_url: str, fields: dict[str, str], *, allow_private: bool) -> int:
    await check_target(form_url, allow_private=allow_private)
    # Only the status matters: the answer's body is never read (nor its redirect followed).
    async with http.stream("POST", form_url, data=fields, follow_redirects=False) as response:
        status = response.status_code
    if status >= 400:
        raise FormRejected(f"form answered {status}")
    return status
