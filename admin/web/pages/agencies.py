"""Agencies: the list (filter by kind and region, sortable) and one agency's survey figures.
An agency user is sent to its own agency, and any other agency looks unknown to it (404)."""

from __future__ import annotations

from aiohttp import web

from admin import explorer, figures
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
    table = Table(
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
    sort = request.query.get("sort", "share")
    descending = (
        request.query.get("order", "desc" if sort in ("share", "n", "responses") else "asc")
        == "desc"
    )
    table.sorted_by(sort, descending)

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


@allow(EVERYONE)
async def agency_page(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    fmt = Formats(lang)
    period, since = await period_with_data(request, viewer)
    async with config_of(request).session_factory() as db:
        agency = await figures.visible_agency(db, viewer, request.match_info["code"])
        if agency is None:
            return message_page(request, "agency_not_found", 404)
        service = None
        service_code = request.query.get("service", "")
        if service_code:
            service = await figures.visible_service(db, viewer, agency, service_code)
            if service is None:
                return message_page(request, "service_not_found", 404)
        memory = config_of(request).tallies
        all_services = (
            await figures.agency_figures(db, viewer, agency, since, lang, memory=memory)
            if service
            else None
        )
        found = await figures.agency_figures(
            db,
            viewer,
            agency,
            since,
            lang,
            service,
            no_office=words.say("no_office", lang),
            memory=memory,
        )
        scores = await report.score_context(request, db, agency)  # stored score runs
        comments = await explorer.recent_comments(
            db,
            viewer,
            survey_questions(config_of(request).settings.survey_dir),
            agency_id=agency.id,
            service_id=service.id if service else None,
            since=since,
        )
        funnel = await figures.funnel(db, viewer, since, agency.id, service.id if service else None)
    choices = (all_services or found).services

    defects = defects_table(found, lang)

    def links(route: str, items: list[figures.Breakdown]) -> dict[str, str]:
        # responses without an office have no code, and no page to link to
        return {
            b.code: url_for(request, route, {"days": period}, code=agency.code, **{route: b.code})
            for b in items
            if b.code
        }

    services = breakdown_table(
        "services",
        "table_services",
        "col_service",
        found.services,
        links("service", found.services),
    )
    offices = breakdown_table(
        "offices", "table_offices", "col_office", found.offices, links("office", found.offices)
    )
    trend = trend_table(found)
    tables = [defects, services, offices, trend, funnel_table(funnel, lang)]

    def render() -> web.StreamResponse:
        return page(
            request,
            "agency.html",
            {
                "agency": agency,
                "agency_name": agency.name(lang),
                "kind": words.say(f"kind_{agency.kind.value}", lang),
                "region": words.region_name(agency.region, lang) if agency.region else "",
                "figures": found,
                "service": service,
                "service_name": service.name(lang) if service else "",
                "service_choices": [(b.code, b.name) for b in choices],
                "period": period,
                "periods": list(PERIODS),
                "table_parts": {
                    t.name: table_part(request, t, export_links(request, t), figures.MIN_SAMPLE)
                    for t in tables
                },
                "trend_chart": share_line(
                    [m for m, _s in found.trend],
                    [s.share for _m, s in found.trend],
                    [s.interval for _m, s in found.trend],
                    words.say("chart_satisfaction_by_month", lang),
                    fmt.share,
                ),
                "min_sample": figures.MIN_SAMPLE,
                "scores": scores,
                "score_tree": report.score_tree(request, scores, agency),
                "comments": comments,
                "funnel": funnel,
                "funnel_chart": funnel_chart(funnel, lang),
            },
        )

    return await page_or_export(request, tables, render)
