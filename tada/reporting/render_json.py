"""The report as one JSON document (the model as it is, rates in percent, null for n/a)."""

from __future__ import annotations

from tada.reporting.model import Report


def render_json(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"
