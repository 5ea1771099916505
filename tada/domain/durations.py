"""Durations as people write them in the registry and on the command line: 90s, 48h, 3d, 1d12h."""

from __future__ import annotations

import json
import re
from datetime import timedelta

#: Units from largest to smallest; a duration uses each at most once, in this order.
UNITS: dict[str, int] = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}

_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def _not_a_duration(value: object) -> ValueError:
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return ValueError(f"{shown} is not a duration like 90s, 48h or 3d")


def parse_duration(text: str) -> timedelta:
    """``"1d12h"`` -> ``timedelta(days=1, hours=12)``; anything else raises ValueError."""
    if not isinstance(text, str):
        raise _not_a_duration(text)
    match = _DURATION.fullmatch(text.strip().lower())
    if not match or not any(match.groups()):
        raise _not_a_duration(text)
    seconds = sum(int(n) * size for n, size in zip(match.groups(), UNITS.values()) if n)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The compact inverse of parse_duration, in whole seconds: ``timedelta(hours=36)`` -> ``"1d12h"``."""
    remaining = int(value.total_seconds())
    if remaining < 0:
        raise ValueError(f"{value} is negative; durations are never negative")
    parts = []
    for unit, size in UNITS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
