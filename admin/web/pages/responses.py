"""The responses explorer: one anonymous response a row, filtered by period, region, agency,
service, office, channel, language, satisfaction value and (analysts, admins) anti-gaming
flags; a page at a time; the filtered set exports (up to EXPORT_LIMIT rows).

Agency users see only their agency's responses, and a filter naming another agency, or
another agency's service or office, answers 404. They do not see anti-gaming flags: the
reasons describe how gaming is detected, and an agency is the party that could game."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web

from admin import explorer
from admin.survey_questions import survey_questions
from admin.web import words
from admin.web.access import EVERYONE, add_route, allow
from admin.web.keys import config_of, lang_of, signed_in
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
    return f"{name} ({words.flag_detail(detail, lang)})" if detail else name


@allow(EVERYONE)
async def response_list(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    config = config_of(request)
    period, since = await period_with_data(request, viewer)
    analyst = not viewer.is_agency
    number, exporting = _page_number(request.query), "export" in request.query
    filters = {key: request.query.get(key, "") for key in FILTER_KEYS}
    filters |= {"days": period, "flagged": request.query.get("flagged", "") if analyst else ""}
    questions = survey_questions(config.settings.survey_dir)
    async with config.session_factory() as db:
        try:
            agency_id = await explorer.visible_id(db, viewer, Agency, filters["agency"])
            chosen = explorer.ResponseFilter(
                since=since,
                agency_id=agency_id,
                service_id=await explorer.visible_id(db, viewer, PublicService, filters["service"]),
                office_id=await explorer.visible_id(db, viewer, ServicePoint, filters["office"]),
                **_simple_filters(filters),
            )
        except explorer.NotVisible:
            return message_page(request, "filter_not_found", 404)
        choices = await explorer.filter_choices(db, viewer, agency_id)
        if chosen.region not in choices.regions:
            chosen = replace(chosen, region=None)
        window = _window(number, exporting)
        found = await explorer.explore(
            db, viewer, chosen, questions, lang, with_flags=analyst, **window
        )
    more = not exporting and len(found) > PER_PAGE
    shown = found if exporting else found[:PER_PAGE]
    table = _table(shown, lang, analyst)

    def render() -> web.StreamResponse:
        context = _page_context(request, table, filters, choices, number, more)
        return page(request, "responses.html", {"table": table, "rows": shown, **context})

    return await page_or_export(request, [table], render)


def _page_number(query: Mapping[str, str]) -> int:
    try:
        return min(MAX_PAGES, max(1, int(query.get("page", "1"))))
    except ValueError:
        return 1


def _window(number: int, exporting: bool) -> dict[str, int]:
    """The rows of page `number` (and one more, to know there is a next page), or an export's."""
    if exporting:
        return {"limit": EXPORT_LIMIT, "offset": 0}
    return {"limit": PER_PAGE + 1, "offset": (number - 1) * PER_PAGE}


def _simple_filters(filters: dict[str, str]) -> dict[str, Any]:
    """The filters that need no query: each a known value or none."""
    channel, language, score = filters["channel"], filters["language"], filters["score"]
    return {
        "region": filters["region"] or None,
        "channel": Channel(channel) if channel in set(Channel) else None,
        "language": language if language in explorer.LANGUAGES else None,
        "score": score if score in explorer.SCORES else None,
        "flagged": {"yes": True, "no": False}.get(filters["flagged"]),
    }


def _table(shown: list[explorer.ExploredResponse], lang: str, analyst: bool) -> Table:
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
    return Table(
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


def _page_context(
    request: web.Request,
    table: Table,
    filters: dict[str, str],
    choices: explorer.FilterChoices,
    number: int,
    more: bool,
) -> dict[str, Any]:
    lang = lang_of(request)
    analyst = not signed_in(request).is_agency
    if not analyst:
        filters = {key: value for key, value in filters.items() if key != "flagged"}

    def page_url(to: int) -> str:
        return url_for(request, "responses", {**filters, "page": to})

    return {
        "exports": export_links(request, table),
        "filters": filters,
        "period": filters["days"],
        "periods": list(PERIODS),
        "regions": [(r, words.region_name(r, lang)) for r in choices.regions],
        "agencies": [(a.code, a.name(lang)) for a in choices.agencies],
        "services": [(s.code, s.name(lang)) for s in choices.services],
        "offices": [(o.code, o.name(lang)) for o in choices.offices],
        "channels": [c.value for c in Channel],
        "answer_languages": explorer.LANGUAGES,
        "scores": explorer.SCORES,
        "analyst": analyst,
        "flag_detail": lambda detail: words.flag_detail(detail, lang),
        "page_number": number,
        "newer": page_url(number - 1) if number > 1 else None,
        "older": page_url(number + 1) if more and number < MAX_PAGES else None,
        "capped": more and number >= MAX_PAGES,
        "per_page": PER_PAGE,
        "max_rows": PER_PAGE * MAX_PAGES,
        "export_limit": EXPORT_LIMIT,
    }
