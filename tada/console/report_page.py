"""``/console/report``: the service report (tada/reporting) for a chosen period, as the HTML
report shows it, with its CSV and JSON downloads and its charts.

- ``/console/report?from=DAY&to=DAY``: the links added from the first day to the last (UTC days,
  inclusive; by default the last 30 days, today included), in the reader's language;
- ``/console/report.csv`` and ``/console/report.json`` (same ``from`` and ``to``): the files
  ``tada report --format csv|json`` writes, as downloads;

The report is built once per view: the page's charts are drawn inline (SVG, in the reader's
language) from the one report its tables show (tada/console/report_charts.py). Every figure
comes from ``tada.reporting.queries.build_report`` and every file from the reporting module's
renderers: no second implementation. Reading the report is ``Action.READ``, audited with the
person's name, as ``tada report`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tada.api.context import context
from tada.app.audit import record_audit
from tada.app.console_sessions import ConsoleSession
from tada.console.i18n import N_, gettext_for
from tada.console.people import NotAllowed, may, signed_in
from tada.console.report_charts import category_name, report_charts, step_name
from tada.console.templating import page
from tada.domain.access import Action
from tada.reporting.model import Report
from tada.reporting.queries import build_report
from tada.reporting.render_csv import render_csv
from tada.reporting.render_json import render_json
from tada.reporting.text import duration, pct

router = APIRouter()

#: The period shown when none is chosen: the last 30 days, today included.
DEFAULT_DAYS = 30
#: What a bad period is told (translated when shown).
BAD_DAY = N_("A day is written like 2024-03-31.")
BACKWARDS = N_("The period starts after it ends.")


class BadPeriod(Exception):
    def __init__(self, why: str) -> None:
        self.why = why


def period_of(start: str | None, end: str | None, today: date | None = None) -> tuple[date, date]:
    """The chosen days, or the default: ``end`` today, ``start`` 29 days before it."""
    today = today or datetime.now(UTC).date()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise BadPeriod(BAD_DAY) from None
    if first > last:
        raise BadPeriod(BACKWARDS)
    return first, last


async def _report(request: Request, first: date, last: date) -> tuple[ConsoleSession, Report]:
    """The report of the period, for a person whose role may read it (audited)."""
    person = await signed_in(request)
    tada = context(request)
    allowed = may(person, Action.READ)
    await record_audit(
        tada.pool, actor_role=person.role, action=Action.READ.value, target=None, allowed=allowed,
        reason=f"console report {first} to {last}", actor_name=person.name,
    )  # fmt: skip
    if not allowed:
        raise NotAllowed(Action.READ)
    return person, await build_report(tada.pool, start=first, end=last)


def _query(first: date, last: date) -> str:
    return f"from={first.isoformat()}&to={last.isoformat()}"


@router.get("/report")
async def report_page(request: Request) -> Response:
    person = await signed_in(request)
    tada = context(request)
    _ = gettext_for(person.language)
    problem, status = "", 200
    try:
        first, last = period_of(request.query_params.get("from"), request.query_params.get("to"))
    except BadPeriod as bad:
        problem, status = _(bad.why), 400
        first, last = period_of(None, None)
    report = (await _report(request, first, last))[1]
    return page(
        person.language, "report.html.j2", zone=tada.settings.timezone, status_code=status, person=person,
        here="report", report=report, first=first, last=last, query=_query(first, last), problem=problem,
        pct=pct, duration=duration, charts=report_charts(report, _),
        category=lambda name: category_name(name, _), step=lambda step: step_name(step, _),
    )  # fmt: skip


def _download(text: str, media_type: str, first: date, last: date, suffix: str) -> Response:
    name = f"tada-report-{first.isoformat()}-to-{last.isoformat()}.{suffix}"
    return Response(
        text.encode("utf-8"),
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def _period_or_400(request: Request) -> tuple[date, date] | Response:
    try:
        return period_of(request.query_params.get("from"), request.query_params.get("to"))
    except BadPeriod as bad:
        person = await signed_in(request)
        return Response(gettext_for(person.language)(bad.why), status_code=400, media_type="text/plain")


@router.get("/report.csv")
async def report_csv(request: Request) -> Response:
    return await _report_file(request, render_csv, "text/csv; charset=utf-8", "csv")


@router.get("/report.json")
async def report_json(request: Request) -> Response:
    return await _report_file(request, render_json, "application/json", "json")


async def _report_file(request: Request, render: Callable[[Report], str], media_type: str, suffix: str) -> Response:
    """The period's report as the file ``tada report --format SUFFIX`` writes, as a download."""
    period = await _period_or_400(request)
    if isinstance(period, Response):
        return period
    _, report = await _report(request, *period)
    return _download(render(report), media_type, *period, suffix)
