"""Victim data: which fields hold it, and what text they accept.

Free text a person types about a case — the case reference, a response note, a
withdrawal reason — is sealed at rest with the case's key (tada/adapters/data_crypto.py)
and may reach an email header or a web form, so it is checked here first: one
line for the reference (no CR/LF: never a header injection), no control
characters or NUL bytes anywhere (PostgreSQL refuses NUL in text), and a length
limit. Text is stored as given otherwise: template syntax and SQL metacharacters
are inert data, never evaluated.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from tada.errors import InvalidInput

MAX_REFERENCE = 100
MAX_NOTE = 2000
_JURISDICTION = re.compile(r"[A-Za-z]{2}(?:-[A-Za-z0-9]{1,3})?")

#: Timeline detail fields sealed with the case key (``reason`` only on a withdrawal, where
#: a caseworker wrote it; other reasons are tada's own words).
SEALED_DETAIL_FIELDS = frozenset({"note"})


class InvalidField(InvalidInput, ValueError):
    """A value a person typed cannot be stored; the message says why, never echoing it."""


def _check_text(value: str, what: str, limit: int, *, multiline: bool) -> str:
    if not isinstance(value, str):
        raise InvalidField(f"{what} must be text")
    text = value.strip()
    if len(text) > limit:
        raise InvalidField(f"{what} is longer than {limit} characters")
    for ch in text:
        if multiline and ch in "\n\t":
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or ch in "\u2028\u2029\u0085":
            kind = "NUL bytes" if ch == "\x00" else "line breaks or control characters"
            raise InvalidField(f"{what} must not contain {kind}")
    return text


def check_reference(value: str | None) -> str | None:
    """The service's own case reference: one line of at most 100 characters, or None."""
    if value is None:
        return None
    return _check_text(value, "the reference", MAX_REFERENCE, multiline=False) or None


def check_note(value: str | None, what: str = "the note") -> str | None:
    """A note or reason for the timeline: at most 2000 characters, line breaks allowed."""
    if value is None:
        return None
    return _check_text(value, what, MAX_NOTE, multiline=True) or None


def check_jurisdiction(value: str | None) -> str | None:
    """A country code, optionally with a subdivision: ``HK``, ``GB-SCT``; upper-cased."""
    if value is None or not value.strip():
        return None
    if not _JURISDICTION.fullmatch(value.strip()):
        raise InvalidField("the jurisdiction must be a country code such as HK or GB-SCT")
    return value.strip().upper()


def sealed_detail_fields(detail: dict[str, str], *, kind: str, to_state: str | None) -> list[str]:
    """The fields of a timeline event's detail that are sealed with the case key."""
    fields = [name for name in detail if name in SEALED_DETAIL_FIELDS]
    if kind == "transition" and to_state == "WITHDRAWN" and "reason" in detail:
        fields.append("reason")
    return fields


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    """Text PostgreSQL (and UTF-8) can hold: a NUL or a lone surrogate that got this far
    (from an API client, an RDAP server...) becomes U+FFFD instead of failing the write."""
    return _UNSTORABLE.sub("\ufffd", value)


def check_authorised_on(value: date | None, today: date) -> date | None:
    """The day the victim authorised the organisation to act for them: not after today, and
    not before 2000 (a typo such as 0226 for 2026)."""
    if value is None:
        return None
    if value > today:
        raise InvalidField(f"the authorisation date {value.isoformat()} is after today ({today.isoformat()})")
    if value.year < 2000:
        raise InvalidField(f"the authorisation date {value.isoformat()} is before 2000: check the year")
    return value
