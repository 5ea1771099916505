"""One entry point for every format of the report."""

from __future__ import annotations

from enum import Enum

from tada.reporting.model import Report
from tada.reporting.render_csv import render_csv
from tada.reporting.render_html import render_html
from tada.reporting.render_json import render_json
from tada.reporting.render_table import render_table


class ReportFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    HTML = "html"


def render(report: Report, fmt: ReportFormat) -> str:
    renderers = {
        ReportFormat.TABLE: render_table,
        ReportFormat.JSON: render_json,
        ReportFormat.CSV: render_csv,
        ReportFormat.HTML: render_html,
    }
    return renderers[ReportFormat(fmt)](report)
