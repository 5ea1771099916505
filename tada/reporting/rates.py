"""A share in percent, as every figure of the reports derives it."""

from __future__ import annotations


def percent(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, rounded to one decimal; None when ``whole`` is 0."""
    return round(100.0 * part / whole, 1) if whole else None
