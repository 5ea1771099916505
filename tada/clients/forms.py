"""Submitting a platform's web report form (httpx POST).

A 2xx or 3xx answer is a report the platform took (its redirect is never followed). Any
other outcome leaves as ``FormFailed``, naming the form's host and the status, never the
URL: ``permanent`` for a 4xx (the form refuses this report: a login wall, a moved or
removed form, a rejected field), except the 4xx that mean "not now" (408 Request
Timeout, 425 Too Early, 429 Too Many Requests, with its Retry-After), which are
temporary like a 5xx, a timeout or a connection error. A form whose host is not a public
address (safe egress) is refused permanently: no retry makes it one. So is a form whose
answer is refused for its encoding (a chain of content encodings, an unknown one:
tada/clients/decoding.py): the host's doing, and a retry would post the report again to
a host that answers the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx

from tada.clients.decoding import AnswerRefused
from tada.clients.egress import EgressRefused, HostNotFound, ResolutionFailed, check_target

PLACEHOLDERS = ("url", "urls", "case_reference", "notifier_name", "notifier_email")
#: 4xx answers that mean "not now" rather than "never": tried again later.
TEMPORARY_4XX = frozenset({408, 425, 429})
#: The longest Retry-After taken from a form (longer asks are waited in ordinary backoff).
MAX_RETRY_AFTER = 3600.0

_REASONS = {
    400: "the form refused the report's fields",
    401: "the form needs a login",
    403: "the form refused the report",
    404: "the form is not at its address any more",
    405: "the form does not take reports at its address",
    408: "the form timed out reading the report",
    410: "the form has been removed",
    413: "the report is too large for the form",
    422: "the form refused the report's fields",
    425: "the form asked to try later",
    429: "the form asked to slow down",
}


class FormFailed(Exception):
    """The form did not take the report. ``code``: the HTTP status ("403"), or "timeout",
    "connection", "egress" when nothing answered; ``where``: the form's host."""

    def __init__(self, where: str, code: str, reason: str, *, permanent: bool, retry_after: float | None = None):
        self.where = where
        self.code = code
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        super().__init__(f"form at {where}: {reason} ({code})")


def fill_fields(template: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """Fill ``{url}``-style placeholders (``{{``/``}}`` are literal braces). The registry
    has already checked that only the known placeholders are used."""
    known = {name: values.get(name, "") for name in PLACEHOLDERS}
    return {field: text.format_map(known) for field, text in template.items()}


def form_host(form_url: str) -> str:
    """The host a message may name for this form ("the form" if it has none)."""
    try:
        return urlsplit(form_url).hostname or "the form"
    except ValueError:
        return "the form"


async def submit_form(http: httpx.AsyncClient, form_url: str, fields: dict[str, str], *, allow_private: bool) -> int:
    """POST the report; the form's 2xx/3xx status, or FormFailed."""
    where = form_host(form_url)
    try:
        await check_target(form_url, allow_private=allow_private)
        # Only the status matters: the answer's body is never read (nor its redirect followed).
        async with http.stream("POST", form_url, data=fields, follow_redirects=False) as response:
            status, retry_after = response.status_code, response.headers.get("retry-after")
    except EgressRefused as refused:  # its message names the host at most
        raise FormFailed(where, "egress", f"the form's address is refused: {refused}", permanent=True) from None
    except (HostNotFound, ResolutionFailed):
        raise FormFailed(where, "dns", "the form's host did not resolve", permanent=False) from None
    except httpx.TimeoutException:
        raise FormFailed(where, "timeout", "the form did not answer in time", permanent=False) from None
    except AnswerRefused as refused:  # its message names the problem only
        raise FormFailed(where, "answer", f"the form's answer is refused: {refused}", permanent=True) from None
    except (httpx.HTTPError, OSError) as error:  # httpx's messages may hold the URL: only the kind is kept
        raise FormFailed(
            where, "connection", f"could not reach the form ({type(error).__name__})", permanent=False
        ) from None
    if status < 200 or status >= 400:
        raise _refusal(where, status, retry_after)
    return status


def _refusal(where: str, status: int, retry_after: str | None) -> FormFailed:
    if 400 <= status < 500 and status not in TEMPORARY_4XX:
        return FormFailed(where, str(status), _REASONS.get(status, "the form refused the report"), permanent=True)
    reason = _REASONS.get(status) or ("the form's server failed" if status >= 500 else "the form answered oddly")
    return FormFailed(where, str(status), reason, permanent=False, retry_after=_seconds(retry_after))


def _seconds(retry_after: str | None) -> float | None:
    """Retry-After (RFC 9110: seconds or an HTTP date) as seconds from now, bounded; None if absent or unreadable."""
    if not retry_after:
        return None
    text = retry_after.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            seconds = (parsedate_to_datetime(text) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return min(max(seconds, 1.0), MAX_RETRY_AFTER)
