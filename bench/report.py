"""Printing a benchmark's figures as a table (and, on request, as JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bench import machine


@dataclass
class Report:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ok: bool | None = None  # every target met?

    def add(self, name: str, value: object) -> None:
        self.rows.append((name, str(value)))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def verdict(self, met: bool) -> None:
        self.ok = met if self.ok is None else (self.ok and met)

    def render(self) -> str:
        info = machine.describe()
        rows = [("date", info["date"]), ("machine", info["machine"]), *self.rows]
        width = max(len(name) for name, _ in rows)
        line = "-" * min(100, width + 3 + max(len(value) for _, value in rows))
        out = [line, self.title, line]
        out += [f"{name.ljust(width)} | {value}" for name, value in rows]
        out += [line]
        out += [f"  * {text}" for text in self.notes]
        return "\n".join(out)

    def as_dict(self) -> dict:
        return {"title": self.title, **machine.describe(), "rows": dict(self.rows), "notes": self.notes, "ok": self.ok}


def ratio_line(tada: float, bare: float, target: float) -> tuple[str, bool]:
    ratio = tada / bare if bare else 0.0
    met = ratio >= target
    return f"{ratio:.2f} (target >= {target}: {'met' if met else 'MISSED'})", met


def cpu_ratio_line(tada: float, bare: float, limit: float | None = None) -> tuple[str, bool]:
    """tada's CPU per unit of work against bare's (worker + Temporal + PostgreSQL): the figure that
    holds on any machine, where the rate ratio holds only while CPU is spare. No ``limit``: shown only."""
    ratio = tada / bare if bare else float("inf")
    if limit is None:
        return f"{ratio:.2f} (no target: the rate ratio is)", True
    met = ratio <= limit
    return f"{ratio:.2f} (target <= {limit}: {'met' if met else 'MISSED'})", met


def save_json(reports: list[Report], path: Path) -> None:
    path.write_text(json.dumps([r.as_dict() for r in reports], indent=2) + "\n", encoding="utf-8")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
