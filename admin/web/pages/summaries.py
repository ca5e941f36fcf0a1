"""Complaint summaries: one agency's week or month (volume and change, counts by category,
service and office, deadlines, themes with scrubbed quotes, over-represented offices and
services, the rating of answers), in the reader's language, printable, and downloadable as a
workbook or the plain-text message (`?download=xlsx|txt`, audit-logged like every export).

Administrators and analysts pick the agency; an agency user sees its own, and another
agency's code looks unknown (404), through the same `figures.visible_agency` rule as the
agency page."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, cast

from aiohttp import web
from sqlalchemy import select

from admin import complaints as complaint_data
from admin import figures
from admin.audit import Action
from admin.scope import scope
from admin.summaries import (
    PERIOD_KINDS,
    Language,
    PeriodKind,
    SummaryPeriod,
    agency_summary,
)
from admin.web import summary_report
from admin.web.access import EVERYONE, add_route, allow
from admin.web.keys import audit, config_of, lang_of, signed_in
from admin.web.render import SECURITY_HEADERS, message_page, page, url_for
from core import language
from core.clock import reporting_day
from core.models import Agency
from scoring.complaint_summary import ComplaintSummary
from scoring.summary_render import SummaryLanguage

# the periods the picker offers, newest first (any other week or month opens by its date)
OFFERED = {"weekly": 26, "monthly": 12}
MAX_OFFERED = {"weekly": 520, "monthly": 120}
DOWNLOADS = {"xlsx": summary_report.XLSX, "txt": summary_report.TEXT}
EARLIEST = date(2000, 1, 1)


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/summaries", summary_page, name="summaries")


def _kind(raw: str | None) -> PeriodKind:
    return next((kind for kind in PERIOD_KINDS if kind == raw), "weekly")


def chosen_period(kind: PeriodKind, raw_start: str | None, today: date) -> SummaryPeriod:
    """The period `?start=` falls in; by default (or for a date that is no date, or in the
    future) the last closed one."""
    current = SummaryPeriod.containing(kind, today)
    try:
        start = date.fromisoformat((raw_start or "")[:10])
    except ValueError:
        return current.previous()
    if start < EARLIEST or start >= current.end:
        return current.previous()
    return SummaryPeriod.containing(kind, start)


def periods_back(kind: PeriodKind, current: SummaryPeriod, first: date | None) -> int:
    """How many closed periods the picker offers: the usual span, or back to the first
    complaint when that is older (capped, so the page stays light)."""
    if first is None or first >= current.start:
        return OFFERED[kind]
    if kind == "weekly":
        needed = (current.start - first).days // 7 + 1
    else:
        needed = (current.start.year - first.year) * 12 + current.start.month - first.month
    return min(max(OFFERED[kind], needed), MAX_OFFERED[kind])


def p_value_text(value: float, lang: str) -> str:
    """A test's p-value as each language writes it: 0,012 or 1,7E-10 (kk, ru), 0.012 (en)."""
    if value < 0.001:
        return language.scientific(value, lang)
    return language.fixed(value, lang, digits=3)


@allow(EVERYONE)
async def summary_page(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    config = config_of(request)
    now = config.clock()
    query = request.query
    kind = _kind(query.get("kind"))
    today = reporting_day(now)
    period = chosen_period(kind, query.get("start"), today)
    code = query.get("agency", "")[:64] or (viewer.agency_code or "")
    async with config.session_factory() as db:
        agencies = list(
            await db.scalars(scope(select(Agency).order_by(Agency.code), viewer, Agency.id))
        )
        agency = await figures.visible_agency(db, viewer, code) if code else None
        if code and agency is None:
            return message_page(request, "agency_not_found", 404)
        summary = (
            await agency_summary(db, agency, period, now, lang=cast(Language, lang))
            if agency
            else None
        )
        first = await complaint_data.first_received(db, viewer, agency.id if agency else None)
    download = query.get("download")
    if download is not None:
        if agency is None or summary is None or download not in DOWNLOADS:
            return message_page(request, "export_unknown", 404)
        return await _download(request, agency, period, summary, download)
    return page(
        request, "summaries.html", _context(request, agencies, agency, summary, period, first)
    )


def _context(
    request: web.Request,
    agencies: list[Agency],
    agency: Agency | None,
    summary: ComplaintSummary | None,
    period: SummaryPeriod,
    first: date | None,
) -> dict[str, Any]:
    viewer = signed_in(request)
    lang = lang_of(request)
    now = config_of(request).clock()
    today = reporting_day(now)
    current = SummaryPeriod.containing(period.kind, today)
    offered = [current, *reversed(current.earlier(periods_back(period.kind, current, first)))]
    if period not in offered:
        offered.append(period)
    here = {"agency": agency.code if agency else "", "kind": period.kind, "start": period.label}
    return {
        "agencies": [] if viewer.is_agency else agencies,
        "agency": agency,
        "agency_name": agency.name(lang) if agency else "",
        "summary": summary,
        "period": period,
        "in_progress": not period.has_ended(now),
        "kinds": PERIOD_KINDS,
        "kind": period.kind,
        "offered": offered,
        "name_of": lambda name: summary_report.name_of(name, lang),
        "category_name": lambda name: summary_report.category_name(name, lang),
        "problem_name": lambda name: summary_report.problem_name(name, lang),
        "p_value": lambda value: p_value_text(value, lang),
        "printed_on": today.strftime("%d.%m.%Y"),
        "downloads": {
            fmt: url_for(request, "summaries", {**here, "download": fmt}) for fmt in DOWNLOADS
        },
        "complaints_href": url_for(
            request,
            "complaints",
            {"agency": agency.code} if agency and not viewer.is_agency else None,
        ),
        "period_href": lambda p: url_for(request, "summaries", {**here, "start": p.label}),
    }


async def _download(
    request: web.Request,
    agency: Agency,
    period: SummaryPeriod,
    summary: ComplaintSummary,
    fmt: str,
) -> web.StreamResponse:
    lang = lang_of(request)
    config = config_of(request)
    now = config.clock()
    if fmt == "xlsx":
        body = summary_report.as_xlsx(summary, period, lang, now)
    else:
        body = summary_report.as_text(summary, cast(SummaryLanguage, lang))
    async with config.session_factory() as db:
        details: dict[str, Any] = {"page": request.path, "table": "summary", "format": fmt}
        details |= {"agency": agency.code, "kind": period.kind, "start": period.label}
        details["rows"] = summary.total
        audit(request, db, Action.EXPORT, details)
        await db.commit()
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", agency.code)
    filename = f"qanagat-summary-{stem}-{period.kind}-{period.label}.{fmt}"
    response = web.Response(
        body=body,
        headers={
            "Content-Type": DOWNLOADS[fmt],
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )
    response.headers.update(
        {k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"}
    )
    return response
