"""The ranking: every agency's total, grade, interaction block and S under kz-2020 and
proposed-s30 side by side, with the rank change, read from the latest STORED score run of each
methodology for the period. When a period has no stored runs the page says so, and an admin
can compute them ("compute now", a POST with CSRF running the same path as `qanagat score`,
audit-logged). A GET never computes: reading a page must not write scores."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin import standings
from admin.audit import Action, record
from admin.standings import PUBLISHED, RunInfo, Standing
from admin.web import words
from admin.web.access import ADMINS, READERS, add_route, allow
from admin.web.keys import client_of, config_of, lang_of, signed_in
from admin.web.render import fragment, message_page, page, redirect, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.clock import reporting_day
from core.models import AdminRole, AgencyKind
from core.periods import PeriodError, parse_period

SHOWS = ("both", *PUBLISHED)
SHORT = {"kz-2020": "a", "proposed-s30": "b"}  # column key suffixes


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/ranking", ranking_page, name="ranking")
    add_route(app, "POST", "/ranking/compute", compute_now, name="ranking_compute")


async def score_period_choice(request: web.Request, stored: list[str]) -> tuple[str, list[str]]:
    """The scoring period asked for (`?period=2025`) or the newest with stored runs, else the
    current year; and the periods to offer (stored ones, this year and last year)."""
    year = reporting_day(config_of(request).clock()).year
    offered = sorted({*stored, str(year), str(year - 1)}, reverse=True)
    asked = request.query.get("period", "")
    try:
        return parse_period(asked).name, sorted({*offered, parse_period(asked).name}, reverse=True)
    except PeriodError:
        return (stored[0] if stored else str(year)), offered


def grade_cell(score: standings.NodeScore, lang: str) -> tuple[float, str] | None:
    if score.grade is None or score.value is None:
        return None
    return (score.value, words.say(f"grade_{score.grade}", lang))


def _row(request: web.Request, standing: Standing, lang: str, period: str) -> dict[str, Any]:
    agency = standing.agency
    row: dict[str, Any] = {
        "code": agency.code,
        "name": agency.name(lang),
        "kind": words.say(f"kind_{agency.kind.value}", lang),
        "region": words.region_name(agency.region, lang) if agency.region else "",
        "href": url_for(request, "agency", {"period": period}, code=agency.code),
        "rank_change": standing.rank_change,
    }
    for name, short in SHORT.items():
        total = standing.score(name, "total")
        interaction = standing.score(name, "interaction")
        row |= {
            f"rank_{short}": standing.ranks.get(name),
            f"total_{short}": total.value,
            f"total_{short}_status": total.status,
            f"total_{short}_missing": ", ".join(total.missing),
            f"grade_{short}": grade_cell(total, lang),
            f"grade_{short}_key": total.grade,
            f"interaction_{short}": interaction.value,
            f"interaction_{short}_status": interaction.status,
            f"interaction_{short}_missing": ", ".join(interaction.missing),
        }
    s = standing.score("proposed-s30", standings.SATISFACTION)
    row |= {
        "s_b": s.value,
        "s_b_status": s.status,
        "s_b_missing": ", ".join(s.missing),
        "n_b": s.n,
        "ci_b": s.interval,
    }
    return row


def _columns(show: str) -> list[Column]:
    columns = [
        Column("code", "col_code", sortable=True),
        Column("name", "col_agency", sortable=True),
        Column("kind", "col_kind", sortable=True),
        Column("region", "col_region", sortable=True),
    ]
    if show in ("both", "kz-2020"):
        columns += [
            Column("rank_a", "col_rank_a", "int", sortable=True),
            Column("total_a", "col_total_a", "points", sortable=True),
            Column("grade_a", "col_grade_a", "grade", sortable=True),
            Column("interaction_a", "col_interaction_a", "points", sortable=True),
        ]
    if show in ("both", "proposed-s30"):
        columns += [
            Column("rank_b", "col_rank_b", "int", sortable=True),
            Column("total_b", "col_total_b", "points", sortable=True),
            Column("grade_b", "col_grade_b", "grade", sortable=True),
            Column("interaction_b", "col_interaction_b", "points", sortable=True),
            Column("s_b", "col_s", "points", sortable=True),
            Column("n_b", "col_n", "int", sortable=True),
            Column("ci_b", "col_s_interval", "points_interval"),
        ]
    if show == "both":
        columns.append(Column("rank_change", "col_rank_change", "change", sortable=True))
    return columns


# On screen the name cell says the kind and region, and the headers are grouped by methodology,
# so they are short; exports keep every column with its full label.
SCREEN_HIDDEN = {"code", "kind", "region"}
SHORT_LABELS = {
    **{f"rank_{s}": "col_rank" for s in SHORT.values()},
    **{f"total_{s}": "col_value" for s in SHORT.values()},
    **{f"grade_{s}": "col_grade" for s in SHORT.values()},
    **{f"interaction_{s}": "col_interaction_short" for s in SHORT.values()},
    "s_b": "col_s_short",
    "ci_b": "col_interval_short",
    "rank_change": "col_rank_change_short",
}
ASCENDING_FIRST = {"code", "name", "kind", "region", "rank_a", "rank_b"}


@allow(READERS, agency_home=True)
async def ranking_page(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    show = request.query.get("show", "both")
    show = show if show in SHOWS else "both"
    kind_value = request.query.get("kind", "")
    kind = AgencyKind(kind_value) if kind_value in {k.value for k in AgencyKind} else None
    region = request.query.get("region", "")
    async with config_of(request).session_factory() as db:
        stored = await standings.stored_runs(db)
        period, offered = await score_period_choice(request, stored.periods)
        visible = await standings.visible_agencies(db, viewer)
        known_regions = sorted({str(a.region) for a in visible if a.region is not None})
        region = region if region in known_regions else ""
        runs = stored.latest(period)
        found = await standings.ranking(
            db, viewer, runs, kind, region or None, config_of(request).runs, visible
        )
    table = Table(
        "ranking",
        "table_ranking",
        _columns(show),
        [_row(request, standing, lang, period) for standing in found],
        links={"name": "href"},
    )
    default_sort = "total_a" if show == "kz-2020" else "total_b"
    sort = request.query.get("sort", default_sort)
    if not any(c.key == sort and c.sortable for c in table.columns):
        sort = default_sort
    order = request.query.get("order", "asc" if sort in ASCENDING_FIRST else "desc")
    table.sorted_by(sort, order == "desc")
    screen_columns = [c for c in table.columns if c.key not in SCREEN_HIDDEN]
    group_starts = {
        next((c.key for c in screen_columns if c.key.endswith(f"_{short}")), "")
        for short in SHORT.values()
    } | {"rank_change"}
    group_sizes = {
        short: sum(1 for c in screen_columns if c.key.endswith(f"_{short}"))
        for short in SHORT.values()
    }
    shown_runs = {
        name: run for name, run in runs.items() if show in ("both", name)
    }  # the runs the shown columns come from

    def render() -> web.StreamResponse:
        exports = export_links(request, table)
        shown = {
            "table": table,
            "screen_columns": screen_columns,
            "short_labels": SHORT_LABELS,
            "group_starts": group_starts,
            "group_sizes": group_sizes,
            "exports": exports,
            "period": period,
            "show": show,
            "kind": kind.value if kind else "",
            "region": region,
            "min_sample": _min_sample(runs),
        }
        # the table is most of the page's rendering; its key is everything it shows
        key = (
            repr(table),
            tuple(sorted(exports.items())),
            *(shown[name] for name in ("period", "show", "kind", "region", "min_sample")),
        )
        return page(
            request,
            "ranking.html",
            {
                "ranking_table": fragment(request, "ranking_table.html", shown, key),
                "table": table,
                "period": period,
                "score_periods": offered,
                "show": show,
                "shows": SHOWS,
                "kind": kind.value if kind else "",
                "kinds": [k.value for k in AgencyKind],
                "region": region,
                "regions": [(r, words.region_name(r, lang)) for r in known_regions],
                "runs": shown_runs,
                "missing_runs": [name for name, run in runs.items() if run is None],
                "methodology_title": lambda name: standings.methodology(name).title[lang],
                "can_compute": viewer.role is AdminRole.ADMIN
                and config_of(request).scorer is not None,
                "computed": request.query.get("computed", ""),
                "min_sample": _min_sample(runs),
                "grades": standings.methodology(PUBLISHED[0]).grades,
            },
        )

    return await page_or_export(request, [table], render)


def _min_sample(runs: dict[str, RunInfo | None]) -> int:
    samples = [run.min_sample for run in runs.values() if run is not None]
    return max(samples) if samples else 100


@allow(ADMINS)
async def compute_now(request: web.Request) -> web.StreamResponse:
    """Score the period under both methodologies and store the runs (audited), then show them."""
    viewer = signed_in(request)
    config = config_of(request)
    form = await request.post()
    text = form.get("period")
    try:
        period = parse_period(text if isinstance(text, str) and text else "")
    except PeriodError:
        period = parse_period(str(reporting_day(config.clock()).year))
    if config.scorer is None:
        return message_page(request, "compute_unavailable", 409)
    async with config.session_factory() as db:
        runs = await config.scorer(db, period)
        record(
            db,
            Action.SCORES_COMPUTED,
            at=config.clock(),
            actor=viewer.email,
            user_id=viewer.user_id,
            client=client_of(request),
            details={
                "period": period.name,
                "runs": [run.run_id for run in runs],
                "methodologies": [run.methodology.name for run in runs],
            },
        )
        await db.commit()
    outcome = "yes" if runs else "nothing"
    return redirect(url_for(request, "ranking", {"period": period.name, "computed": outcome}))
