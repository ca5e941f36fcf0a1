"""The ranking: central and local bodies in tables of their own, each agency's rank (with its
range over the assumptions, once drawn), total, grade, interaction block and its methodology's
own satisfaction figure (K1 under kz-2020, S under proposed-s30) side by side with the rank
change, read from the latest STORED score run of each methodology for the period. A GET never
computes: reading a page must not write scores (computing, drawing ranges and deleting runs
are the POSTs of `score_runs`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from aiohttp import web
from markupsafe import Markup

from admin import standings
from admin.standings import PUBLISHED, RunInfo, Standing
from admin.web import words
from admin.web.access import READERS, add_route, allow
from admin.web.keys import config_of, lang_of, signed_in
from admin.web.render import fragment, page, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.clock import reporting_day
from core.models import AdminRole, AgencyKind
from core.periods import PeriodError, parse_period
from scoring.explain import reason_text

SHOWS = ("both", *PUBLISHED)
SHORT = {"kz-2020": "a", "proposed-s30": "b"}  # column key suffixes


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/ranking", ranking_page, name="ranking")


async def score_period_choice(
    request: web.Request, stored: standings.StoredRuns
) -> tuple[str, list[str]]:
    """The scoring period asked for (`?period=2025`) or the one pages open on (the newest whose
    runs give some agency a total), else the current year; and the periods to offer (stored
    ones, this year and last year)."""
    year = reporting_day(config_of(request).clock()).year
    offered = sorted({*stored.periods, str(year), str(year - 1)}, reverse=True)
    asked = request.query.get("period", "")
    try:
        return parse_period(asked).name, sorted({*offered, parse_period(asked).name}, reverse=True)
    except PeriodError:
        return stored.default_period or str(year), offered


def grade_cell(score: standings.NodeScore, lang: str) -> tuple[float, str] | None:
    if score.grade is None or score.value is None:
        return None
    return (score.value, words.say(f"grade_{score.grade}", lang))


def status_text(score: standings.NodeScore, lang: str, labels: dict[str, str]) -> str:
    """A score's status as an export writes it: the word, and why (scoring's reason in the
    reader's language, or the missing inputs of a run stored before reasons existed)."""
    text = words.say(f"score_status_{score.status}", lang)
    if score.status == "ok":
        return text
    if score.reason:
        return f"{text} — {reason_text(score.reason, lang, labels)}"
    if score.missing:
        return f"{text} — " + words.say("missing_inputs_hint", lang, names=", ".join(score.missing))
    return text


@cache
def labels(name: str, lang: str) -> dict[str, str]:
    """Node labels of a published methodology, for reasons that name nodes."""
    return {key: node.label[lang] for key, node in standings.methodology(name).nodes.items()}


def driver_text(driver: str, name: str, lang: str) -> str:
    """The assumption that moves a rank most, as a reader names it."""
    if driver.startswith("weight:"):
        key = driver.removeprefix("weight:")
        return words.say("driver_weight", lang, node=labels(name, lang).get(key, key))
    return driver


def _row(
    request: web.Request,
    standing: Standing,
    lang: str,
    period: str,
    ranges: standings.RangesOfRuns,
) -> dict[str, Any]:
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
        # each methodology's own satisfaction: S under proposed-s30, the K1 criterion under kz-2020
        s = standing.score(name, standings.SATISFACTION)
        # n is the survey sample it rests on: its own, or P1's when S is a weighted sum
        sample = s if s.n is not None else standing.score(name, standings.SURVEY_SHARE)
        drawn = ranges.get(name, {}).get(agency.code)
        driver = driver_text(drawn.driver, name, lang) if drawn is not None else ""
        row |= {
            f"range_{short}": (drawn.low, drawn.high) if drawn is not None else None,
            f"range_{short}_about": words.say("driver_about", lang, driver=driver)
            if driver
            else "",
            f"driver_{short}": driver,
            f"rank_{short}": standing.ranks.get(name),
            f"rank_{short}_status": total.status,
            f"total_{short}": total.value,
            f"total_{short}_status": total.status,
            f"total_{short}_missing": ", ".join(total.missing),
            f"status_{short}": status_text(total, lang, labels(name, lang)),
            f"grade_{short}": grade_cell(total, lang),
            f"grade_{short}_key": total.grade,
            f"interaction_{short}": interaction.value,
            f"interaction_{short}_status": interaction.status,
            f"interaction_{short}_missing": ", ".join(interaction.missing),
            f"s_{short}": s.value,
            f"s_{short}_status": s.status,
            f"s_{short}_missing": ", ".join(s.missing),
            f"n_{short}": sample.n,
            f"ci_{short}": s.interval,
        }
    return row


def _columns(show: str, kind: AgencyKind) -> list[Column]:
    columns = [
        Column("code", "col_code", sortable=True),
        Column("name", "col_agency", sortable=True),
    ]
    if kind is AgencyKind.LOCAL:
        columns.append(Column("region", "col_region", sortable=True))
    labels = {"a": ("col_k1", "col_k1_interval"), "b": ("col_s", "col_s_interval")}
    for name, short in SHORT.items():
        if show not in ("both", name):
            continue
        s_label, ci_label = labels[short]
        columns += [
            Column(f"rank_{short}", f"col_rank_{short}", "int", sortable=True),
            Column(f"range_{short}", f"col_rank_range_{short}", "int_range"),
            Column(f"driver_{short}", f"col_driver_{short}"),
            Column(f"total_{short}", f"col_total_{short}", "points", sortable=True),
            Column(f"status_{short}", f"col_status_{short}"),
            Column(f"grade_{short}", f"col_grade_{short}", "grade", sortable=True),
            Column(f"interaction_{short}", f"col_interaction_{short}", "points", sortable=True),
            Column(f"s_{short}", s_label, "points", sortable=True),
            Column(f"n_{short}", f"col_n_{short}", "int", sortable=True),
            Column(f"ci_{short}", ci_label, "points_interval"),
        ]
    if show == "both":
        columns.append(Column("rank_change", "col_rank_change", "change", sortable=True))
    return columns


# On screen the name cell says the code and region, a total's cell marks its status, and the
# headers are grouped by methodology, so they are short; exports keep every column with its
# full label.
SCREEN_HIDDEN = {
    "code",
    "region",
    *(f"status_{s}" for s in SHORT.values()),
    *(f"driver_{s}" for s in SHORT.values()),  # the range cell's title names it on screen
}
SHORT_LABELS = {
    **{f"rank_{s}": "col_rank" for s in SHORT.values()},
    **{f"range_{s}": "col_rank_range_short" for s in SHORT.values()},
    **{f"total_{s}": "col_value" for s in SHORT.values()},
    **{f"grade_{s}": "col_grade" for s in SHORT.values()},
    **{f"interaction_{s}": "col_interaction_short" for s in SHORT.values()},
    **{f"n_{s}": "col_n" for s in SHORT.values()},
    **{f"ci_{s}": "col_interval_short" for s in SHORT.values()},
    "s_a": "col_k1_short",
    "s_b": "col_s_short",
    "rank_change": "col_rank_change_short",
}
ASCENDING_FIRST = {"code", "name", "region", "rank_a", "rank_b"}
TABLES = {AgencyKind.CENTRAL: "ranking_central", AgencyKind.LOCAL: "ranking_local"}


@dataclass(frozen=True)
class _Shown:
    """What the reader asked to see, checked, and what was read for it."""

    show: str
    kind: AgencyKind | None
    region: str
    period: str
    offered: list[str]
    regions: list[str]
    runs: dict[str, RunInfo | None]
    ranges: standings.RangesOfRuns
    period_runs: list[RunInfo]

    @property
    def default_sort(self) -> str:
        return "total_a" if self.show == "kz-2020" else "total_b"

    @property
    def kinds(self) -> list[AgencyKind]:
        """Central and local bodies are ranked apart, so shown apart (a region is local)."""
        kinds = [k for k in AgencyKind if (self.kind is None or k is self.kind)]
        if self.region:
            return [AgencyKind.LOCAL] if AgencyKind.LOCAL in kinds else []
        return kinds

    @property
    def shown_runs(self) -> dict[str, RunInfo | None]:
        """The runs the shown columns come from."""
        return {name: run for name, run in self.runs.items() if self.show in ("both", name)}


@allow(READERS, agency_home=True)
async def ranking_page(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    show = request.query.get("show", "both")
    kind_value = request.query.get("kind", "")
    kind = AgencyKind(kind_value) if kind_value in {k.value for k in AgencyKind} else None
    config = config_of(request)
    async with config.session_factory() as db:
        stored = await standings.stored_runs(db, config.runs)
        period, offered = await score_period_choice(request, stored)
        visible = await standings.visible_agencies(db, viewer)
        known_regions = sorted({str(a.region) for a in visible if a.region is not None})
        region = request.query.get("region", "")
        region = region if region in known_regions else ""
        runs = stored.latest(period)
        found = await standings.ranking(
            db, viewer, runs, kind, region or None, config.runs, visible
        )
        ranges = await standings.rank_ranges(db, runs, config.runs)
    shown = _Shown(
        show if show in SHOWS else "both",
        kind,
        region,
        period,
        offered,
        known_regions,
        runs,
        ranges,
        stored.every.get(period, []),
    )
    tables = [_table(request, shown, found, table_kind) for table_kind in shown.kinds]

    def render() -> web.StreamResponse:
        return page(request, "ranking.html", _context(request, shown, tables))

    return await page_or_export(request, tables, render)


def _table(request: web.Request, shown: _Shown, found: list[Standing], kind: AgencyKind) -> Table:
    lang = lang_of(request)
    table = Table(
        TABLES[kind],
        f"table_{TABLES[kind]}",
        _columns(shown.show, kind),
        [
            _row(request, standing, lang, shown.period, shown.ranges)
            for standing in found
            if standing.agency.kind is kind
        ],
        links={"name": "href"},
    )
    sort = request.query.get("sort", shown.default_sort)
    order = request.query.get("order", "asc" if sort in ASCENDING_FIRST else "desc")
    chosen = sort if any(c.key == sort and c.sortable for c in table.columns) else None
    return table.sorted_by(chosen or shown.default_sort, order == "desc")


def _table_fragment(request: web.Request, shown: _Shown, table: Table) -> Markup:
    screen_columns = [c for c in table.columns if c.key not in SCREEN_HIDDEN]
    group_starts = {
        next((c.key for c in screen_columns if c.key.endswith(f"_{short}")), "")
        for short in SHORT.values()
    } | {"rank_change"}
    group_sizes = {
        short: sum(1 for c in screen_columns if c.key.endswith(f"_{short}"))
        for short in SHORT.values()
    }
    exports = export_links(request, table)
    provisional = {
        short: sum(1 for row in table.rows if row[f"total_{short}_status"] == "provisional")
        for short in SHORT.values()
    }
    context = {
        "table": table,
        "screen_columns": screen_columns,
        "short_labels": SHORT_LABELS,
        "group_starts": group_starts,
        "group_sizes": group_sizes,
        "exports": exports,
        "period": shown.period,
        "show": shown.show,
        "kind": shown.kind.value if shown.kind else "",
        "region": shown.region,
        "min_sample": _min_sample(shown.runs),
        "provisional": provisional,
    }
    # the table is most of the page's rendering; its key is everything it shows
    key = (
        repr(table),
        tuple(sorted(exports.items())),
        *(context[name] for name in ("period", "show", "kind", "region", "min_sample")),
    )
    return fragment(request, "ranking_table.html", context, key)


def _context(request: web.Request, shown: _Shown, tables: list[Table]) -> dict[str, Any]:
    viewer = signed_in(request)
    lang = lang_of(request)
    return {
        "ranking_tables": [_table_fragment(request, shown, table) for table in tables],
        "tables": tables,
        "period": shown.period,
        "score_periods": shown.offered,
        "show": shown.show,
        "shows": SHOWS,
        "kind": shown.kind.value if shown.kind else "",
        "kinds": [k.value for k in AgencyKind],
        "region": shown.region,
        "regions": [(r, words.region_name(r, lang)) for r in shown.regions],
        "runs": shown.shown_runs,
        "period_runs": shown.period_runs,
        "missing_runs": [name for name, run in shown.runs.items() if run is None],
        "methodology_title": lambda name: standings.methodology(name).title[lang],
        "is_admin": viewer.role is AdminRole.ADMIN,
        "can_compute": viewer.role is AdminRole.ADMIN and config_of(request).scorer is not None,
        "computed": request.query.get("computed", ""),
        "deleted": request.query.get("deleted", ""),
        "drawn": request.query.get("drawn", ""),
        "undrawn": [
            name
            for name, run in shown.shown_runs.items()
            if run is not None and not shown.ranges.get(name)
        ],
        "can_draw": viewer.role in READERS,
        "draws": standings.DRAWS,
        "min_sample": _min_sample(shown.runs),
        "grades": standings.methodology(PUBLISHED[0]).grades,
    }


def _min_sample(runs: dict[str, RunInfo | None]) -> int:
    samples = [run.min_sample for run in runs.values() if run is not None]
    return max(samples) if samples else 100
