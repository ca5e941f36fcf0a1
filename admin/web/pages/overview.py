"""The national picture: responses per day, completed responses by channel, satisfaction by
month, the invitation funnel with its rates (all from rollups), and how many agencies got
each grade in the latest stored score runs of both methodologies (never computed here)."""

from __future__ import annotations

from aiohttp import web

from admin import coverage, figures, standings
from admin.web import words
from admin.web.access import READERS, add_route, allow
from admin.web.charts import bar_chart, share_line
from admin.web.keys import config_of, lang_of, signed_in
from admin.web.pages.places import funnel_chart, funnel_table
from admin.web.period import PERIODS, period_with_data
from admin.web.render import Formats, page, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.funnel import FunnelStep

GRADE_CHART_WIDTH = 600  # two side by side on a laptop, each label under its bar


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/", overview, name="overview")


@allow(READERS, agency_home=True)
async def overview(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    fmt = Formats(lang)
    period, since = await period_with_data(request, viewer)
    async with config_of(request).session_factory() as db:
        per_day = await figures.responses_per_day(db, viewer, since)
        channels = await figures.responses_by_channel(db, viewer, since)
        months = await figures.satisfaction_by_month(db, viewer, since)
        funnel = await figures.funnel(db, viewer, since)
        left_out = await coverage.excluded(db, viewer, since)
        stored = await standings.stored_runs(db, config_of(request).runs)
        score_period = stored.default_period
        runs = stored.latest(score_period) if score_period else {}
        grades = {
            name: await standings.grade_distribution(db, run)
            for name, run in runs.items()
            if run is not None
        }
    total = sum(count for _d, count in per_day)
    satisfied = sum(share.hits for _m, share in months)
    rated = sum(share.n for _m, share in months)
    [national] = figures.shares([satisfied], [rated])

    days = Table(
        "responses_per_day",
        "table_responses_per_day",
        [Column("day", "col_day"), Column("responses", "col_responses", "int")],
        [{"day": d, "responses": c} for d, c in per_day],
    )
    by_channel = Table(
        "responses_by_channel",
        "table_responses_by_channel",
        [
            Column("channel", "col_channel"),
            Column("responses", "col_responses", "int"),
            Column("share", "col_share_of_all", "share"),
        ],
        [
            {
                "channel": words.say(f"channel_{c}", lang),
                "responses": n,
                "share": n / total if total else None,
            }
            for c, n in channels
        ],
    )
    by_month = Table(
        "satisfaction_by_month",
        "table_satisfaction_by_month",
        [
            Column("month", "col_month"),
            Column("share", "col_satisfied_share", "share"),
            Column("n", "col_n", "int"),
            Column("interval", "col_interval", "interval"),
        ],
        [
            {
                "month": m,
                "share": s.share,
                "n": s.n,
                "interval": s.interval,
                "small": s.insufficient,
            }
            for m, s in months
        ],
    )
    funnel_rows = funnel_table(funnel, lang)
    names = list(grades)
    grade_rows = []
    for index, band in enumerate(next(iter(grades.values()), [])):
        row: dict[str, object] = {
            "grade": words.say(f"grade_{band.grade}" if band.grade else "grade_none", lang)
        }
        for name in names:
            count = grades[name][index]
            row[f"{name}_count"] = count.count
            row[f"{name}_share"] = count.share
        grade_rows.append(row)
    grade_table = Table(
        "grades",
        "table_grades",
        [
            Column("grade", "col_grade"),
            *(
                column
                for name in names
                for column in (
                    Column(f"{name}_count", f"col_agencies_{_short(name)}", "int"),
                    Column(f"{name}_share", f"col_share_{_short(name)}", "share"),
                )
            ),
        ],
        grade_rows,
    )
    tables = [days, by_channel, by_month, funnel_rows, grade_table]

    def render() -> web.StreamResponse:
        return page(
            request,
            "overview.html",
            {
                "period": period,
                "periods": list(PERIODS),
                "total": total,
                "national": national,
                "channels": channels,
                "days_chart": bar_chart(
                    [d for d, _c in per_day],
                    [c for _d, c in per_day],
                    words.say("chart_responses_per_day", lang),
                    fmt.int,
                    short=lambda d: d[5:],
                ),
                "months_chart": share_line(
                    [m for m, _s in months],
                    [s.share for _m, s in months],
                    [s.interval for _m, s in months],
                    words.say("chart_satisfaction_by_month", lang),
                    fmt.share,
                ),
                "funnel": funnel,
                "excluded": left_out,
                "excluded_href": None
                if viewer.is_agency
                else url_for(request, "responses", {"flagged": "yes", "days": period}),
                "funnel_chart": funnel_chart(funnel, lang),
                "invited": funnel.count(FunnelStep.INVITED),
                "score_period": score_period,
                "runs": {name: run for name, run in runs.items() if run is not None},
                "grade_charts": {
                    name: bar_chart(
                        [
                            words.say(f"grade_{b.grade}" if b.grade else "grade_none", lang)
                            for b in bands
                        ],
                        [b.count for b in bands],
                        words.say(
                            "chart_grades", lang, methodology=name, period=score_period or ""
                        ),
                        fmt.int,
                        classes=[f"grade-{b.grade or 'none'}" for b in bands],
                        width=GRADE_CHART_WIDTH,
                    )
                    for name, bands in grades.items()
                },
                "methodology_title": lambda name: standings.methodology(name).title[lang],
                "tables": {t.name: t for t in tables},
                "exports": {t.name: export_links(request, t) for t in tables},
                "min_sample": figures.MIN_SAMPLE,
            },
        )

    return await page_or_export(request, tables, render)


def _short(methodology: str) -> str:
    """The column-label suffix of a published methodology (a, b), as the ranking's columns."""
    return "ab"[standings.PUBLISHED.index(methodology)]
