"""Open data: one agency's data-set table (its users' ratings, open problem reports, update
lateness by the stated frequency) and the national page of the most and least trusted sets.
Both sortable and exportable; an agency user sees its own agency only (another agency: 404, and
the national page lists its own sets only)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin import datasets as data
from admin import figures
from admin.web import words
from admin.web.access import EVERYONE, add_route, allow
from admin.web.keys import config_of, lang_of, signed_in
from admin.web.period import PERIODS, period_of
from admin.web.render import message_page, page, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.clock import reporting_day
from core.models import DatasetState

NUMERIC = ("n", "share", "verifiable", "open_problems", "overdue")


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/agencies/{code}/datasets", agency_datasets, name="agency_datasets")
    add_route(app, "GET", "/datasets", national_datasets, name="datasets")


def _columns(with_agency: bool) -> list[Column]:
    return [
        *([Column("agency", "col_agency", sortable=True)] if with_agency else []),
        Column("title", "col_dataset", sortable=True),
        Column("state", "col_dataset_state", sortable=True),
        Column("frequency", "col_update_frequency", sortable=True),
        Column("n", "col_dataset_ratings", "int", sortable=True),
        Column("share", "col_satisfied_share", "share", sortable=True),
        Column("interval", "col_interval", "interval"),
        Column("verifiable", "col_verifiable_share", "share", sortable=True),
        Column("verifiable_interval", "col_verifiable_interval", "interval"),
        Column("open_problems", "col_open_problems", "int", sortable=True),
        Column("last_updated", "col_last_updated", sortable=True),
        Column("overdue", "col_overdue_days", "int", sortable=True),
        *([] if with_agency else [Column("card", "col_dataset_card")]),
    ]


def _row(line: data.DatasetLine, lang: str, card: str | None) -> dict[str, Any]:
    return {
        "agency": line.agency_code,
        "title": line.title,
        "url": line.url,
        "state": words.say(f"dataset_state_{line.state.value}", lang),
        "frequency": words.say(f"frequency_{line.frequency.value}", lang),
        "n": line.ratings,
        "share": line.satisfied.share,
        "interval": line.satisfied.interval,
        # the badge "insufficient sample" where a share is hidden for a small n
        "small": line.satisfied.insufficient,
        "verifiable": line.verifiable.share,
        "verifiable_interval": line.verifiable.interval,
        "open_problems": line.open_problems,
        "last_updated": line.last_updated.isoformat() if line.last_updated else None,
        "overdue": line.overdue_days,
        # the QR card of a published set's rating, to put on its portal page or print
        "card": words.say("dataset_card", lang) if card else None,
        "card_url": card,
    }


def _table(
    request: web.Request,
    name: str,
    title: str,
    lines: list[data.DatasetLine],
    lang: str,
    with_agency: bool,
) -> Table:
    def card(line: data.DatasetLine) -> str | None:
        if with_agency or line.state is not DatasetState.PUBLISHED:
            return None
        return url_for(
            request,
            "dataset_poster",
            {"format": "pdf"},
            code=line.agency_code,
            dataset=line.external_id,
        )

    return Table(
        name,
        title,
        _columns(with_agency),
        [_row(line, lang, card(line)) for line in lines],
        links={"title": "url", "card": "card_url"},
    )


def _sorted(request: web.Request, table: Table, default: str) -> Table:
    sort = request.query.get("sort", default)
    descending = request.query.get("order", "desc" if sort in NUMERIC else "asc") == "desc"
    return table.sorted_by(sort, descending)


@allow(EVERYONE)
async def agency_datasets(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    period, since = period_of(request)
    config = config_of(request)
    today = reporting_day(config.clock())
    async with config.session_factory() as db:
        agency = await figures.visible_agency(db, viewer, request.match_info["code"])
        if agency is None:
            return message_page(request, "agency_not_found", 404)
        lines = await data.dataset_lines(db, viewer, lang, today, since, agency.id)
    table = _sorted(
        request, _table(request, "datasets", "table_datasets", lines, lang, False), "title"
    )

    def render() -> web.StreamResponse:
        return page(
            request,
            "datasets.html",
            {
                "agency": agency,
                "agency_name": agency.name(lang),
                "table": table,
                "exports": export_links(request, table),
                "period": period,
                "periods": list(PERIODS),
                "min_sample": figures.MIN_SAMPLE,
                "sort_url": lambda key, descending: url_for(
                    request,
                    "agency_datasets",
                    {"days": period, "sort": key, "order": "desc" if descending else "asc"},
                    code=agency.code,
                ),
            },
        )

    return await page_or_export(request, [table], render)


@allow(EVERYONE)
async def national_datasets(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    period, since = period_of(request)
    config = config_of(request)
    today = reporting_day(config.clock())
    async with config.session_factory() as db:
        lines = await data.dataset_lines(db, viewer, lang, today, since)
    most, least = data.most_and_least_trusted(lines)
    tables = [
        _table(request, "trusted", "table_trusted_datasets", most, lang, True),
        _table(request, "least_trusted", "table_least_trusted_datasets", least, lang, True),
    ]

    def render() -> web.StreamResponse:
        return page(
            request,
            "datasets_national.html",
            {
                "tables": {t.name: t for t in tables},
                "exports": {t.name: export_links(request, t) for t in tables},
                "rated": sum(1 for line in lines if line.ratings),
                "listed": len(lines),
                "period": period,
                "periods": list(PERIODS),
                "min_sample": figures.MIN_SAMPLE,
            },
        )

    return await page_or_export(request, tables, render)
