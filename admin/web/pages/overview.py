"""The national picture: responses per day, completed responses by channel, satisfaction by
month, the invitation funnel with its rates (all from rollups), and how many agencies got
each grade in the latest stored score runs of both methodologies (never computed here)."""

from __future__ import annotations

from aiohttp import web

from admin import figures, standings
from admin.overview import Overview, national_overview
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
    period, since = await period_with_data(request, viewer)
    config = config_of(request)
    async with config.session_factory() as db:
        found = await national_overview(db, viewer, since, config.runs)
    tables = _tables(found, lang)

    def render() -> web.StreamResponse:
        return page(
            request,
            "overview.html",
            {
                "period": period,
                "periods": list(PERIODS),
                "total": found.total,
                "national": found.national,
                "channels": found.channels,
                **_charts(found, lang),
                "funnel": found.funnel,
                "excluded": found.excluded,
                "excluded_href": None
                if viewer.is_agency
                else url_for(request, "responses", {"flagged": "yes", "days": period}),
                "invited": found.funnel.count(FunnelStep.INVITED),
                "score_period": found.score_period,
                "runs": found.runs,
                "methodology_title": lambda name: standings.methodology(name).title[lang],
                "tables": {t.name: t for t in tables},
                "exports": {t.name: export_links(request, t) for t in tables},
                "min_sample": figures.MIN_SAMPLE,
            },
        )

    return await page_or_export(request, tables, render)


def _charts(found: Overview, lang: str) -> dict[str, object]:
    fmt = Formats(lang)
    return {
        "days_chart": bar_chart(
            [d for d, _c in found.per_day],
            [c for _d, c in found.per_day],
            words.say("chart_responses_per_day", lang),
            fmt.int,
            short=lambda d: d[5:],
        ),
        "months_chart": share_line(
            [m for m, _s in found.months],
            [s.share for _m, s in found.months],
            [s.interval for _m, s in found.months],
            words.say("chart_satisfaction_by_month", lang),
            fmt.share,
        ),
        "funnel_chart": funnel_chart(found.funnel, lang),
        "grade_charts": {
            name: bar_chart(
                [_grade(b.grade, lang) for b in bands],
                [b.count for b in bands],
                words.say("chart_grades", lang, methodology=name, period=found.score_period or ""),
                fmt.int,
                classes=[f"grade-{b.grade or 'none'}" for b in bands],
                width=GRADE_CHART_WIDTH,
            )
            for name, bands in found.grades.items()
        },
    }


def _grade(grade: str | None, lang: str) -> str:
    return words.say(f"grade_{grade}" if grade else "grade_none", lang)


def _tables(found: Overview, lang: str) -> list[Table]:
    total = found.total
    days = Table(
        "responses_per_day",
        "table_responses_per_day",
        [Column("day", "col_day"), Column("responses", "col_responses", "int")],
        [{"day": d, "responses": c} for d, c in found.per_day],
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
            for c, n in found.channels
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
            for m, s in found.months
        ],
    )
    return [days, by_channel, by_month, funnel_table(found.funnel, lang), _grade_table(found, lang)]


def _grade_table(found: Overview, lang: str) -> Table:
    names = list(found.grades)
    rows = []
    for index, band in enumerate(next(iter(found.grades.values()), [])):
        row: dict[str, object] = {"grade": _grade(band.grade, lang)}
        for name in names:
            count = found.grades[name][index]
            row[f"{name}_count"] = count.count
            row[f"{name}_share"] = count.share
        rows.append(row)
    return Table(
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
        rows,
    )


def _short(methodology: str) -> str:
    """The column-label suffix of a published methodology (a, b), as the ranking's columns."""
    return "ab"[standings.PUBLISHED.index(methodology)]
