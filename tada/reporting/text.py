"""How the report's values read in every format: category labels, percentages, durations."""

from __future__ import annotations

CATEGORY_LABELS = {
    "pornographic_site": "Pornographic sites",
    "social_media": "Social media",
    "search_engine": "Search engines",
    "content_farm": "Content farms",
    "image_host": "Image hosts",
    "other": "Other",
}

NOT_AVAILABLE = "n/a"


def category_label(name: str) -> str:
    return CATEGORY_LABELS.get(name, name.replace("_", " ").capitalize())


def pct(value: float | None) -> str:
    """``42.0`` -> ``"42.0 %"``; None (nothing to divide by) -> ``"n/a"``."""
    return NOT_AVAILABLE if value is None else f"{value:.1f} %"


def duration(seconds: float | None) -> str:
    """A time to removal for people: ``"45s"``, ``"12m"``, ``"3h 20m"``, ``"4d 6h"``; None -> ``"n/a"``."""
    if seconds is None:
        return NOT_AVAILABLE
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f}m"
    if minutes < 24 * 60:
        hours, minutes = divmod(round(minutes), 60)
        return f"{hours}h {minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(round(minutes / 60), 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def ratio(value: float | None) -> str:
    """Reposts per removal: ``0.25``; None (nothing removed) -> ``"n/a"``."""
    return NOT_AVAILABLE if value is None else f"{value:.2f}"


def within_deadline(rate: float | None, met: int, missed: int) -> str:
    """``"50.0 % (2 of 4)"``: clocks met of the clocks ended; ``"n/a"`` when none ended."""
    return NOT_AVAILABLE if rate is None else f"{pct(rate)} ({met} of {met + missed})"
