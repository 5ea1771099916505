"""Readers for the values of platform registry fields.

Each reader takes the raw TOML value and returns the Python value, or raises
ValueError with a short reason that the registry puts after the field's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from string import Formatter
from typing import Any
from urllib.parse import urlsplit

import idna

from tada.domain.durations import parse_duration
from tada.domain.recipients import BadRecipient, check_recipient

#: What a form field's value may refer to; the notice sender fills them in.
FORM_PLACEHOLDERS = frozenset({"url", "urls", "case_reference", "notifier_name", "notifier_email"})
#: Notice languages a platform may insist on.
LANGUAGES = ("en", "zh-Hant")

_DOMAIN = re.compile(r"(\*\.)?([a-z0-9_-]+(\.[a-z0-9_-]+)+)")

Reader = Callable[[Any], Any]


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be non-empty text, not {_shown(value)}")
    return value.strip()


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number, 0 or more, not {_shown(value)}")
    return value


def duration(value: Any) -> timedelta:
    return parse_duration(value)


def duration_list(value: Any) -> list[timedelta]:
    return [parse_duration(item) for item in _list(value, "durations")]


def text_list(value: Any) -> list[str]:
    return [text(item) for item in _list(value, "texts")]


def email(value: Any) -> str:
    """One address tada can write to (domain.recipients); the reason names its domain at most."""
    try:
        return check_recipient(value)
    except BadRecipient as refused:
        raise ValueError(f"not an email address like abuse@example.com ({refused})") from None


def web_address(value: Any) -> str:
    """An http(s) address, kept as written (a form may live on localhost in tests)."""
    try:
        parts = urlsplit(value.strip())
    except (AttributeError, ValueError):  # not text, or a broken [IPv6] host
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{_shown(value)} is not an http or https address like https://example.com/report")
    return value.strip()


def language(value: Any) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"{_shown(value)} is not one of {', '.join(LANGUAGES)}")
    return value


def choice(enum: type[StrEnum]) -> Reader:
    def read(value: Any) -> StrEnum:
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            raise ValueError(f"{_shown(value)} is not one of {allowed}") from None

    return read


def domains(value: Any) -> list[str]:
    """Host names, exact (``t.me``) or wildcard (``*.example.com``), lower-cased, IDN as punycode."""
    found = []
    for item in _list(value, "domains"):
        name = item.strip().lower() if isinstance(item, str) else ""
        prefix = "*." if name.startswith("*.") else ""
        stem = name.removeprefix(prefix)
        try:
            stem = stem if stem.isascii() else idna.encode(stem, uts46=True).decode("ascii")
        except idna.IDNAError:
            stem = ""
        name = prefix + stem
        if not _DOMAIN.fullmatch(name):
            raise ValueError(f"{_shown(item)} is not a domain like t.me or *.example.com")
        found.append(name)
    if not found:
        raise ValueError("must list at least one domain")
    return found


def form_fields(value: Any) -> dict[str, str]:
    """Form field name -> value template; only FORM_PLACEHOLDERS may appear in braces."""
    if not isinstance(value, dict):
        raise ValueError('must be a table of field = "value"')
    for field, template in value.items():
        if not isinstance(template, str):
            raise ValueError(f'"{field}" must be text, not {_shown(template)}')
        try:
            parts = [(name, spec, conv) for _, name, spec, conv in Formatter().parse(template) if name is not None]
        except ValueError as error:
            raise ValueError(f'"{field}": {error} (write {{{{ and }}}} for literal braces)') from None
        for name, spec, conversion in parts:
            if name not in FORM_PLACEHOLDERS or spec or conversion:
                written = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                allowed = ", ".join(f"{{{p}}}" for p in sorted(FORM_PLACEHOLDERS))
                raise ValueError(f'"{field}" uses {{{written}}}; the placeholders are {allowed}')
    return dict(value)


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {_shown(value)}")
    return value


def identifier(value: Any) -> str:
    """A law's id: lower-case letters, digits and underscores, starting with a letter."""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", value):
        raise ValueError(f"{_shown(value)} is not an id like take_it_down_act (a-z, 0-9, _)")
    return value


def identifiers(value: Any) -> list[str]:
    return [identifier(item) for item in _list(value, "ids")]


def places(value: Any) -> list[str]:
    """Jurisdictions as cases write them (``tada case open --jurisdiction``): a country code, or one
    with a subdivision (HK, AU, US-CA), upper-cased."""
    found = []
    for item in _list(value, "places"):
        if not isinstance(item, str) or not re.fullmatch(r"[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?", item.strip()):
            raise ValueError(f"{_shown(item)} is not a place like HK, AU or US-CA")
        found.append(item.strip().upper())
    return found


def choices(enum: type[StrEnum]) -> Reader:
    one = choice(enum)

    def read(value: Any) -> list[StrEnum]:
        return [one(item) for item in _list(value, "values")]

    return read


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"must be a list of {what}, like [...], not {_shown(value)}")
    return value
