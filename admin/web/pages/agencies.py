"""Agencies: the list (filter by kind and region, sortable) and one agency's survey figures.
An agency user is sent to its own agency, and any other agency looks unknown to it (404)."""

from __future__ import annotations

from aiohttp import web

from admin import figures
from admin.places import AgencyView, PlaceNotFound, PlaceQuery, agency_view
from admin.survey_questions import survey_questions
from admin.web import words
from admin.web.access import EVERYONE, READERS, add_route, allow
from admin.web.charts import share_line
from admin.web.keys import config_of, lang_of, signed_in
from admin.web.pages import report
from admin.web.pages.places import (
    breakdown_table,
    defects_table,
    funnel_chart,
    funnel_table,
    share_columns,
    trend_table,
)
from admin.web.period import PERIODS, period_with_data
from admin.web.render import Formats, message_page, page, table_part, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.models import AgencyKind


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/agencies", agency_list, name="agencies")
    add_route(app, "GET", "/agencies/{code}", agency_page, name="agency")


@allow(READERS, agency_home=True)
async def agency_list(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    period, since = await period_with_data(request, viewer)
    kind_value = request.query.get("kind", "")
    kind = AgencyKind(kind_value) if kind_value in {k.value for k in AgencyKind} else None
    region = request.query.get("region", "")
    async with config_of(request).session_factory() as db:
        known_regions = await figures.regions(db, viewer)
        region = region if region in known_regions else ""
        summaries = await figures.agency_summaries(db, viewer, since, kind, region or None)
    table = _sorted(request, _list_table(request, summaries, period))

    def render() -> web.StreamResponse:
        return page(
            request,
            "agencies.html",
            {
                "table": table,
                "exports": export_links(request, table),
                "period": period,
                "periods": list(PERIODS),
                "kind": kind.value if kind else "",
                "kinds": [k.value for k in AgencyKind],
                "region": region,
                "regions": [(r, words.region_name(r, lang)) for r in known_regions],
                "min_sample": figures.MIN_SAMPLE,
            },
        )

    return await page_or_export(request, [table], render)


def _list_table(request: web.Request, summaries: list[figures.AgencySummary], period: str) -> Table:
    lang = lang_of(request)
    return Table(
        "agencies",
        "table_agencies",
        [
            Column("code", "col_code", sortable=True),
            Column("name", "col_agency", sortable=True),
            Column("kind", "col_kind", sortable=True),
            Column("region", "col_region", sortable=True),
            Column("responses", "col_responses", "int", sortable=True),
            *share_columns(),
        ],
        [
            {
                "code": s.agency.code,
                "name": s.agency.name(lang),
                "kind": words.say(f"kind_{s.agency.kind.value}", lang),
                "region": words.region_name(s.agency.region, lang) if s.agency.region else "",
                "responses": s.responses,
                "share": s.satisfaction.share,
                "n": s.satisfaction.n,
                "interval": s.satisfaction.interval,
                "small": s.satisfaction.insufficient,
                "href": url_for(request, "agency", {"days": period}, code=s.agency.code),
            }
            for s in summaries
        ],
        links={"name": "href"},
    )


def _sorted(request: web.Request, table: Table) -> Table:
    """Sorted as asked: by satisfied share, best first, unless the reader chose otherwise."""
    sort = request.query.get("sort", "share")
    default = "desc" if sort in ("share", "n", "responses") else "asc"
    return table.sorted_by(sort, request.query.get("order", default) == "desc")


@allow(EVERYONE)
async def agency_page(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    config = config_of(request)
    period, since = await period_with_data(request, viewer)
    wanted = PlaceQuery(
        "service",
        request.match_info["code"],
        request.query.get("service", ""),
        since,
        lang,
        no_office=words.say("no_office", lang),
    )
    questions = survey_questions(config.settings.survey_dir)
    async with config.session_factory() as db:
        try:
            found = await agency_view(db, viewer, wanted, questions, config.tallies)
        except PlaceNotFound as missing:
            return message_page(request, missing.reason, 404)
        scores = await report.score_context(request, db, found.agency)  # stored score runs
    tables = _agency_tables(request, found, period)

    def render() -> web.StreamResponse:
        context = _agency_context(request, found, tables, period)
        context |= {
            "scores": scores,
            "score_tree": report.score_tree(request, scores, found.agency),
        }
        return page(request, "agency.html", context)

    return await page_or_export(request, tables, render)


def _agency_tables(request: web.Request, found: AgencyView, period: str) -> list[Table]:
    lang = lang_of(request)
    code = found.agency.code

    def links(route: str, items: list[figures.Breakdown]) -> dict[str, str]:
        # responses without an office have no code, and no page to link to
        return {
            b.code: url_for(request, route, {"days": period}, code=code, **{route: b.code})
            for b in items
            if b.code
        }

    services, offices = found.figures.services, found.figures.offices
    return [
        defects_table(found.figures, lang),
        breakdown_table(
            "services", "table_services", "col_service", services, links("service", services)
        ),
        breakdown_table(
            "offices", "table_offices", "col_office", offices, links("office", offices)
        ),
        trend_table(found.figures),
        funnel_table(found.funnel, lang),
    ]


def _agency_context(
    request: web.Request, found: AgencyView, tables: list[Table], period: str
) -> dict[str, object]:
    lang = lang_of(request)
    agency, service, trend = found.agency, found.service, found.figures.trend
    return {
        "agency": agency,
        "agency_name": agency.name(lang),
        "kind": words.say(f"kind_{agency.kind.value}", lang),
        "region": words.region_name(agency.region, lang) if agency.region else "",
        "figures": found.figures,
        "service": service,
        "service_name": service.name(lang) if service else "",
        "service_choices": [(b.code, b.name) for b in found.service_choices],
        "period": period,
        "periods": list(PERIODS),
        "table_parts": {
            t.name: table_part(request, t, export_links(request, t), figures.MIN_SAMPLE)
            for t in tables
        },
        "trend_chart": share_line(
            [m for m, _s in trend],
            [s.share for _m, s in trend],
            [s.interval for _m, s in trend],
            words.say("chart_satisfaction_by_month", lang),
            Formats(lang).share,
        ),
        "min_sample": figures.MIN_SAMPLE,
        "comments": found.comments,
        "funnel": found.funnel,
        "funnel_chart": funnel_chart(found.funnel, lang),
    }
