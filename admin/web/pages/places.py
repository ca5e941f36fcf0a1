"""One service's or one office's page: the agency page's breakdowns for it (satisfied share
with n and interval, defect rates, trend by month, the other side's ranking: the offices giving
a service, the services given at an office) and its recent comments, scrubbed. Both live under
their agency's address, and a service or office of another agency looks unknown (404)."""

from __future__ import annotations

from aiohttp import web

from admin import figures
from admin.places import Place, PlaceKind, PlaceNotFound, PlaceQuery, place_figures
from admin.survey_questions import survey_questions
from admin.web import words
from admin.web.access import EVERYONE, add_route, allow
from admin.web.charts import Chart, bar_chart, share_line
from admin.web.keys import config_of, lang_of, signed_in
from admin.web.period import PERIODS, period_with_data
from admin.web.render import Formats, message_page, page, url_for
from admin.web.tables import Column, Table, export_links, page_or_export

COMMENTS = 10


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/agencies/{code}/services/{service}", service_page, name="service")
    add_route(app, "GET", "/agencies/{code}/offices/{office}", office_page, name="office")


def share_columns() -> list[Column]:
    return [
        Column("share", "col_satisfied_share", "share", sortable=True),
        Column("n", "col_n", "int", sortable=True),
        Column("interval", "col_interval", "interval"),
    ]


def defects_table(found: figures.AgencyFigures, lang: str) -> Table:
    return Table(
        "defects",
        "table_defects",
        [
            Column("defect", "col_defect"),
            Column("rate", "col_rate", "share"),
            Column("hits", "col_reported", "int"),
            Column("n", "col_n", "int"),
            Column("interval", "col_interval", "interval"),
        ],
        [
            {
                "defect": words.say(f"defect_{name}", lang),
                "rate": s.share,
                "hits": s.hits,
                "n": s.n,
                "interval": s.interval,
                "small": s.insufficient,
            }
            for name, s in found.defects
        ],
    )


def breakdown_table(
    name: str, title: str, label: str, items: list[figures.Breakdown], href: dict[str, str]
) -> Table:
    return Table(
        name,
        title,
        [Column("rank", "col_rank", "int"), Column("name", label), *share_columns()],
        [
            {
                "rank": i,
                "name": b.name,
                "code": b.code,
                "share": b.satisfaction.share,
                "n": b.satisfaction.n,
                "interval": b.satisfaction.interval,
                "small": b.satisfaction.insufficient,
                "href": href.get(b.code, ""),
            }
            for i, b in enumerate(items, start=1)
        ],
        links={"name": "href"},
    )


def funnel_table(found: figures.Funnel, lang: str) -> Table:
    """The invitation funnel, step by step, with its rates (overview, agency, service, office),
    then the surveys abandoned, as a share of those started."""
    return Table(
        "funnel",
        "table_funnel",
        [
            Column("step", "col_step"),
            Column("count", "col_services", "int"),
            Column("of_served", "col_share_of_served", "share"),
            Column("of_previous", "col_share_of_previous", "share"),
        ],
        [
            {
                "step": words.say(f"funnel_{stage.step.value}", lang),
                "count": stage.count,
                "of_served": stage.of_served,
                "of_previous": stage.of_previous,
            }
            for stage in found.stages
        ]
        + [
            {
                "step": words.say("funnel_abandoned", lang),
                "count": found.abandoned,
                "of_served": found.abandoned / served
                if (served := found.stages[0].count)
                else None,
                "of_previous": found.abandoned_of_started,
            }
        ],
    )


def funnel_chart(found: figures.Funnel, lang: str) -> Chart:
    fmt = Formats(lang)
    return bar_chart(
        [words.say(f"funnel_{stage.step.value}", lang) for stage in found.stages],
        [stage.count for stage in found.stages],
        words.say("chart_funnel", lang),
        fmt.int,
    )


def trend_table(found: figures.AgencyFigures) -> Table:
    return Table(
        "trend",
        "table_agency_trend",
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
            for m, s in found.trend
        ],
    )


@allow(EVERYONE)
async def service_page(request: web.Request) -> web.StreamResponse:
    return await _place(request, "service")


@allow(EVERYONE)
async def office_page(request: web.Request) -> web.StreamResponse:
    return await _place(request, "office")


async def _place(request: web.Request, kind: PlaceKind) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    config = config_of(request)
    period, since = await period_with_data(request, viewer)
    wanted = PlaceQuery(
        kind,
        request.match_info["code"],
        request.match_info[kind],
        since,
        lang,
        no_office=words.say("no_office", lang),
        comments=COMMENTS,
    )
    questions = survey_questions(config.settings.survey_dir)
    async with config.session_factory() as db:
        try:
            found = await place_figures(db, viewer, wanted, questions, config.tallies)
        except PlaceNotFound as missing:
            return message_page(request, missing.reason, 404)
    tables = [
        defects_table(found.figures, lang),
        _others_table(request, found, period),
        trend_table(found.figures),
        funnel_table(found.funnel, lang),
    ]

    def render() -> web.StreamResponse:
        return page(request, "place.html", _context(request, found, tables, period))

    return await page_or_export(request, tables, render)


def _others_table(request: web.Request, found: Place, period: str) -> Table:
    """A service's offices, or the services given at an office, each linking to its page."""
    code = found.agency.code
    if found.service is not None:
        offices = found.figures.offices
        return breakdown_table(
            "offices",
            "table_service_offices",
            "col_office",
            offices,
            {
                b.code: url_for(request, "office", {"days": period}, code=code, office=b.code)
                for b in offices
                if b.code
            },
        )
    given = [b for b in found.figures.services if b.satisfaction.n > 0]
    return breakdown_table(
        "services",
        "table_office_services",
        "col_service",
        given,
        {
            b.code: url_for(request, "service", {"days": period}, code=code, service=b.code)
            for b in given
        },
    )


def _context(
    request: web.Request, found: Place, tables: list[Table], period: str
) -> dict[str, object]:
    lang = lang_of(request)
    trend = found.figures.trend
    return {
        "kind": "service" if found.service is not None else "office",
        "agency": found.agency,
        "agency_name": found.agency.name(lang),
        "place": found.place,
        "place_name": found.place.name(lang),
        "address": found.office.address if found.office else None,
        "figures": found.figures,
        "period": period,
        "periods": list(PERIODS),
        "tables": tables,
        "exports": {t.name: export_links(request, t) for t in tables},
        "comments": found.comments,
        "trend_chart": share_line(
            [m for m, _s in trend],
            [s.share for _m, s in trend],
            [s.interval for _m, s in trend],
            words.say("chart_satisfaction_by_month", lang),
            Formats(lang).share,
        ),
        "min_sample": figures.MIN_SAMPLE,
        "posters": found.office is not None
        and signed_in(request).role.value in ("admin", "agency"),
        "funnel": found.funnel,
        "funnel_chart": funnel_chart(found.funnel, lang),
    }
