"""Deciding from what a page returned whether the content is still up.

Only evidence counts as gone: 404/410/451, a host that does not exist, a
redirect to the site's home page, or a phrase the platform shows on removed
content. Timeouts, server errors and bot walls mean unknown, never gone.
"""

from __future__ import annotations

import codecs
from urllib.parse import urlsplit

from tada.domain.states import Verdict

GONE_STATUSES = {404: "404 not found", 410: "410 gone", 451: "451 unavailable for legal reasons"}

#: Phrases of interstitials that hide the page from a robot: the content may well be there.
BOT_WALL_MARKERS = (
    "just a moment...",
    "attention required! | cloudflare",
    "cf-browser-verification",
    "captcha",
    "are you a robot",
    "verify you are human",
    "ddos-guard",
)


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def redirected_home(original_url: str, final_url: str) -> bool:
    """A page that now redirects to its site's front page has been taken down."""
    if _path(original_url) == "/":
        return False
    return _path(final_url) == "/" and not urlsplit(final_url).query


def classify(
    *,
    status: int,
    original_url: str,
    final_url: str,
    html: str | None,
    removed_markers: list[str],
) -> tuple[Verdict, str]:
    """Verdict and a short reason (no URL in it) for one fetched page."""
    if status in GONE_STATUSES:
        return Verdict.GONE, GONE_STATUSES[status]
    if status >= 500:
        return Verdict.UNKNOWN, f"server error {status}"
    lowered = (html or "").lower()
    if status in (401, 403, 429) or any(marker in lowered for marker in BOT_WALL_MARKERS):
        return Verdict.UNKNOWN, f"access blocked or bot wall ({status})"
    if status >= 400:
        return Verdict.UNKNOWN, f"client error {status}"
    if redirected_home(original_url, final_url):
        return Verdict.GONE, "redirects to the site's home page"
    for marker in removed_markers:
        if marker and marker.lower() in lowered:
            return Verdict.GONE, "page shows the platform's removed-content notice"
    return Verdict.LIVE, f"page answers {status}"


#: Media types whose first few KiB are read for removal markers: pages, never media.
PAGE_TYPES = frozenset({"application/xhtml+xml"})


def media_type(content_type: str) -> str:
    """``type/subtype`` of a Content-Type header, lower case, without its parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def is_page(content_type: str) -> bool:
    """A text page (text/html, text/plain, ...) or XHTML; never an image, a video or anything
    else, whatever its parameters say (``video/mp4; codecs=html``, ``image/svg+xml``)."""
    kind = media_type(content_type)
    return kind.startswith("text/") or kind in PAGE_TYPES


def page_text(data: bytes, charset: str | None) -> str:
    """The page as text: in its declared charset when that is a text encoding that can decode
    it, else as UTF-8, with what does not decode replaced. A charset the site names is never
    trusted to be a text encoding (``base64``, ``hex``, ``undefined``, ``idna`` are codecs too)."""
    if charset:
        try:
            if _is_text_encoding(charset):
                return data.decode(charset, errors="replace")
        except (LookupError, UnicodeError, ValueError):
            pass
    return data.decode("utf-8", errors="replace")


_NOT_FOR_PAGES = frozenset({"idna", "punycode", "undefined", "raw-unicode-escape", "unicode-escape"})


def _is_text_encoding(charset: str) -> bool:
    """A codec that turns bytes into text (``str.encode`` accepts it), and not one of the few that
    do but are no charset a page could be written in."""
    name = codecs.lookup(charset).name
    if name in _NOT_FOR_PAGES:
        return False
    try:
        "a".encode(name)
    except (LookupError, UnicodeError):
        return False
    return True
