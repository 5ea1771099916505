"""Which links of a notice a reply is about, when it names some of them.

One notice email may list many links (batching), numbered in the order it shows them. A
reply that says "the first two have been removed", "links 1 and 3", "#2-#4", "第1、3條",
"前兩個" or quotes a link's address is about those links only; a reply that names none in
particular is about all of them. ``links_named`` reads the reply's own words (tada's quoted
notice already cut away) and returns the positions (from 1) it names, or None.

Numbers count only after a word that says "link" (link, item, URL, entry, 第; "link #2",
"item no. 3") or in "first / last N" (前 / 後 N): "ticket #2", "case no. 3", "within 24 hours"
and "2 links" name nothing.
A number beyond the email's list is not a position.
"""

from __future__ import annotations

import re

_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10,
    "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
}  # fmt: skip
_NUM = r"(?:\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|[一二兩两三四五六七八九十])"
_ORDINAL = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth)"
_JOIN = r"(?:\s*(?:,|、|，|&|\band\b|\bor\b|和|及|與|与)\s*)"
_RANGE = r"(?:\s*(?:-|–|—|~|\bto\b|至|到)\s*#?)"
_ITEM = rf"{_NUM}(?:{_RANGE}{_NUM})?"
_MARKER = r"(?:\b(?:links?|items?|urls?|entries|entry)\s*(?:#|no\.?|number)?|第)"
_LISTED = re.compile(rf"{_MARKER}\s*({_ITEM}(?:{_JOIN}#?{_ITEM})*)", re.IGNORECASE)
_FIRST = re.compile(rf"\b(?:the\s+)?first\s+({_NUM})\b|前\s*({_NUM})", re.IGNORECASE)
_LAST = re.compile(rf"\b(?:the\s+)?last\s+({_NUM})\b|[後后]\s*({_NUM})\s*[個个條条]", re.IGNORECASE)
_ORDINAL_LIST = rf"({_ORDINAL}(?:{_JOIN}(?:the\s+)?{_ORDINAL})*)"
_ORDINALS = re.compile(rf"\bthe\s+{_ORDINAL_LIST}\s+(?:and\s+)?(?:links?|items?|ones?|urls?)\b", re.IGNORECASE)


def _value(token: str) -> int | None:
    token = token.strip().lower()
    return int(token) if token.isdigit() else _NUMBER_WORDS.get(token)


def _items(text: str) -> set[int]:
    found: set[int] = set()
    for item in re.split(_JOIN, text, flags=re.IGNORECASE):
        values = [_value(end) for end in re.split(_RANGE, item.strip().lstrip("#"), flags=re.IGNORECASE) if end.strip()]
        ends = [value for value in values if value is not None]
        if not ends or len(ends) != len(values):
            continue
        low, high = min(ends), max(ends)
        if high - low < 100:
            found.update(range(low, high + 1))
    return found


def links_named(words: str, listed: int, urls: list[str] | None = None) -> list[int] | None:
    """The positions (1..``listed``) ``words`` name, in order; None when it names none of them
    (or the email listed one link). ``urls``: the listed links' addresses, in their order."""
    if listed < 2:
        return None
    named: set[int] = set()
    lowered = words.lower()
    for position, url in enumerate(urls or [], 1):
        bare = url.lower().split("://", 1)[-1].rstrip("/")
        if bare and bare in lowered:
            named.add(position)
    for match in _LISTED.finditer(words):
        named |= _items(match.group(1))
    for match in _FIRST.finditer(words):
        if (count := _value(match.group(1) or match.group(2))) is not None:
            named.update(range(1, count + 1))
    for match in _LAST.finditer(words):
        if (count := _value(match.group(1) or match.group(2))) is not None:
            named.update(range(max(1, listed - count + 1), listed + 1))
    for match in _ORDINALS.finditer(words):
        named |= {value for token in re.split(_JOIN, match.group(1)) if (value := _value(token.replace("the ", "")))}
    positions = sorted(p for p in named if 1 <= p <= listed)
    return positions or None
