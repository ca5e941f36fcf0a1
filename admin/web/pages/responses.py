"""The responses explorer: one anonymous response a row, filtered by period, region, agency,
service, office, channel, language, satisfaction value and (analysts, admins) anti-gaming
flags; a page at a time; the filtered set exports (up to EXPORT_LIMIT rows).

Agency users see only their agency's responses, and a filter naming another agency, or
another agency's service or office, answers 404. They do not see anti-gaming flags: the
reasons describe how gaming is detected, and an agency is the party that could game."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin import explorer, figures
from admin.scope import scope
from admin.survey_questions import survey_questions
from admin.web import words
from admin.web.access import EVERYONE, add_route, allow
from admin.web.keys import Viewer, config_of, lang_of, signed_in
from admin.web.period import PERIODS, period_with_data
from admin.web.render import message_page, page, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.models import Agency, Channel, PublicService, ServicePoint

PER_PAGE = 50
MAX_PAGES = 40  # 2 000 responses by paging; narrow the filters to go further
EXPORT_LIMIT = 10_000
FILTER_KEYS = ("days", "region", "agency", "service", "office", "channel", "language", "score")


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/responses", response_list, name="responses")


def _flag_text(reason: str, detail: str, lang: str) -> str:
    name = words.say(f"flag_{reason}", lang)  # an unknown reason shows its own name
    return f"{name} ({detail})" if detail else name


class _NotVisible(Exception):
    pass


async def _visible(
    db: AsyncSession,
    viewer: Viewer,
    model: type[Agency] | type[PublicService] | type[ServicePoint],
    code: str,
) -> int | None:
    """The id of the agency, service or office with `code` if `viewer` may see it."""
    if not code:
        return None
    column = Agency.id if model is Agency else model.agency_id  # type: ignore[union-attr]
    found = await db.scalar(scope(select(model.id).where(model.code == code), viewer, column))
    if found is None:
        raise _NotVisible
    return int(found)


@allow(EVERYONE)
async def response_list(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    config = config_of(request)
    query = request.query
    period, since = await period_with_data(request, viewer)
    analyst = not viewer.is_agency
    try:
        number = min(MAX_PAGES, max(1, int(query.get("page", "1"))))
    except ValueError:
        number = 1
    exporting = "export" in query
    channel_value = query.get("channel", "")
    flagged_value = query.get("flagged", "") if analyst else ""
    questions = survey_questions(config.settings.survey_dir)
    async with config.session_factory() as db:
        try:
            agency_id = await _visible(db, viewer, Agency, query.get("agency", ""))
            service_id = await _visible(db, viewer, PublicService, query.get("service", ""))
            office_id = await _visible(db, viewer, ServicePoint, query.get("office", ""))
        except _NotVisible:
            return message_page(request, "filter_not_found", 404)
        known_regions = await figures.regions(db, viewer)
        region = query.get("region", "")
        region = region if region in known_regions else ""
        chosen = explorer.ResponseFilter(
            since=since,
            region=region or None,
            agency_id=agency_id,
            service_id=service_id,
            office_id=office_id,
            channel=Channel(channel_value) if channel_value in set(Channel) else None,
            language=query.get("language") if query.get("language") in explorer.LANGUAGES else None,
            score=query.get("score") if query.get("score") in explorer.SCORES else None,
            flagged={"yes": True, "no": False}.get(flagged_value),
        )
        found = await explorer.explore(
            db,
            viewer,
            chosen,
            questions,
            lang,
            limit=EXPORT_LIMIT if exporting else PER_PAGE + 1,
            offset=0 if exporting else (number - 1) * PER_PAGE,
            with_flags=analyst,
        )
        agencies = list(
            await db.scalars(scope(select(Agency).order_by(Agency.code), viewer, Agency.id))
        )
        services_query = select(PublicService).order_by(PublicService.code)
        offices_query = select(ServicePoint).order_by(ServicePoint.code)
        if agency_id is not None:
            services_query = services_query.where(PublicService.agency_id == agency_id)
            offices_query = offices_query.where(ServicePoint.agency_id == agency_id)
        services = list(await db.scalars(scope(services_query, viewer, PublicService.agency_id)))
        offices = list(await db.scalars(scope(offices_query, viewer, ServicePoint.agency_id)))
    more = not exporting and len(found) > PER_PAGE
    shown = found if exporting else found[:PER_PAGE]
    columns = [
        Column("day", "col_day"),
        Column("agency", "col_agency_code"),
        Column("service", "col_service"),
        Column("office", "col_office"),
        Column("channel", "col_channel"),
        Column("language", "col_language"),
        Column("walk_in", "col_walk_in"),
        Column("score", "col_score"),
        Column("comment", "col_comment"),
        Column("answers", "col_answers"),
    ]
    if analyst:
        columns.append(Column("flags", "col_flags"))
    table = Table(
        "responses",
        "table_responses",
        columns,
        [
            {
                "day": r.day.isoformat(),
                "agency": r.agency,
                "service": r.service,
                "office": r.office,
                "channel": words.say(f"channel_{r.channel}", lang),
                "language": r.language,
                "walk_in": words.say("yes" if r.walk_in else "no", lang),
                "score": r.score or "",
                "comment": r.comment,
                "answers": "; ".join(f"{q}: {v}" for q, v in r.answers),
                "flags": "; ".join(_flag_text(reason, detail, lang) for reason, detail in r.flags),
                "item": r,
            }
            for r in shown
        ],
    )
    filters = {key: query.get(key, "") for key in FILTER_KEYS}
    filters["days"] = period
    if analyst:
        filters["flagged"] = flagged_value

    def page_url(to: int) -> str:
        return url_for(request, "responses", {**filters, "page": to})

    def render() -> web.StreamResponse:
        return page(
            request,
            "responses.html",
            {
                "table": table,
                "rows": shown,
                "exports": export_links(request, table),
                "filters": filters,
                "period": period,
                "periods": list(PERIODS),
                "regions": [(r, words.region_name(r, lang)) for r in known_regions],
                "agencies": [(a.code, a.name(lang)) for a in agencies],
                "services": [(s.code, s.name(lang)) for s in services],
                "offices": [(o.code, o.name(lang)) for o in offices],
                "channels": [c.value for c in Channel],
                "answer_languages": explorer.LANGUAGES,
                "scores": explorer.SCORES,
                "analyst": analyst,
                "page_number": number,
                "newer": page_url(number - 1) if number > 1 else None,
                "older": page_url(number + 1) if more and number < MAX_PAGES else None,
                "capped": more and number >= MAX_PAGES,
                "per_page": PER_PAGE,
                "max_rows": PER_PAGE * MAX_PAGES,
                "export_limit": EXPORT_LIMIT,
            },
        )

    return await page_or_export(request, [table], render)
