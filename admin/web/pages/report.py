"""An agency's scores from stored runs: the tree shown on its page (every node with value,
grade, status, n and interval, what it is made of and the inputs it read) and the printable
one-page report card (/agencies/{code}/report: scores, grade, trend chart, top defects).

An agency user opens only its own agency: another agency's code looks unknown (404), through
the same `figures.visible_agency` rule as the agency page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from admin import figures, standings
from admin.standings import PUBLISHED, Tree
from admin.web import words
from admin.web.access import EVERYONE, add_route, allow
from admin.web.charts import share_line
from admin.web.keys import config_of, lang_of, signed_in
from admin.web.pages.ranking import score_period_choice
from admin.web.render import Formats, fragment, message_page, page
from core import language
from core.models import Agency
from core.periods import parse_period
from scoring.sources import source_words

REPORT_DEFECTS = 3  # the report card lists the most frequent defects


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/agencies/{code}/report", report_card, name="agency_report")


@dataclass(frozen=True)
class ScoreContext:
    period: str
    periods: list[str]
    trees: list[Tree]
    missing: list[str]  # published methodologies without a stored run for the period
    positions: list[standings.Position]  # the agency's rank among bodies of its kind

    def position(self, name: str) -> standings.Position | None:
        return next((p for p in self.positions if p.methodology == name), None)

    def tree(self, name: str) -> Tree | None:
        return next((t for t in self.trees if t.methodology.name == name), None)

    def headline(self, name: str, node: str) -> standings.NodeScore:
        tree = self.tree(name)
        if tree is None:
            return standings.NO_SCORE
        row = next((r for r in tree.rows if r.node.key == node), None)
        return row.score if row else standings.NO_SCORE


async def score_context(request: web.Request, db: AsyncSession, agency: Agency) -> ScoreContext:
    """The agency's trees for the scoring period asked (`?period=`) or the newest stored."""
    stored = await standings.stored_runs(db, config_of(request).runs)
    period, offered = await score_period_choice(request, stored)
    runs = stored.latest(period)
    memory = config_of(request).runs
    trees = await standings.agency_tree(db, agency, runs, memory, lang_of(request))
    positions = await standings.positions(db, agency, runs, memory)
    missing = [n for n, run in runs.items() if run is None]
    return ScoreContext(period, offered, trees, missing, positions)


def score_tree(request: web.Request, scores: ScoreContext, agency: Agency) -> Markup:
    """The agency's score trees (score_tree.html), rendered once per runs, agency and period
    choice: stored runs never change."""
    lang = lang_of(request)
    key = (
        tuple(tree.run for tree in scores.trees),  # the trees are those of these runs
        agency.code,
        agency.kind.value,
        scores.period,
        tuple(scores.periods),
        tuple(scores.missing),
        tuple(scores.positions),  # ranks move when another body's run values do
        figures.MIN_SAMPLE,
    )
    context = {
        "scores": scores,
        "published": PUBLISHED,
        "min_sample": figures.MIN_SAMPLE,
        "agency_kind": agency.kind.value,
        **tree_helpers(lang),
    }
    return fragment(request, "score_tree.html", context, key)


def tree_helpers(lang: str) -> dict[str, Any]:
    """What the score tree template needs to say a node's formula and inputs in words."""

    def label(method: Any, key: str) -> str:
        node = method.nodes.get(key)
        return node.label[lang] if node is not None else key

    def input_about(method: Any, name: str) -> str:
        spec = method.inputs.get(name)
        return spec.about_in(lang) if spec is not None else ""

    def weight(value: float | None) -> str:
        if value is None:
            return "—"
        return language.number(value, lang, digits=4)

    def driver_words(driver: str, name: str) -> str:
        if driver.startswith("weight:"):
            key = driver.removeprefix("weight:")
            node = standings.methodology(name).nodes.get(key)
            return words.say("driver_weight", lang, node=node.label[lang] if node else key)
        return driver

    def sources(node: Any) -> str:
        # the reader's words for every source of the node, also for past versions' files
        unique = dict.fromkeys(node.sources.values())
        return "; ".join(source_words(text, lang) for text in unique)

    return {
        "strip": strip,
        "node_sources": sources,
        "driver_words": driver_words,
        "node_label": label,
        "input_about": input_about,
        "weight_text": weight,
        "grade_name": lambda key: words.say(f"grade_{key}", lang) if key else "—",
        "status_name": lambda status: words.say(f"score_status_{status}", lang),
    }


@dataclass(frozen=True)
class Strip:
    """The totals of a kind on a 0-100 line, one mark each, the agency's own picked out; no
    names, so an agency user sees the spread and nothing of who is where."""

    others: tuple[float, ...]
    own: float | None


def strip(position: standings.Position) -> Strip:
    others = list(position.totals)
    own = position.total.value
    if own is not None and own in others:
        others.remove(own)
    return Strip(tuple(min(100.0, max(0.0, value)) for value in others), own)


@allow(EVERYONE)
async def report_card(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    async with config_of(request).session_factory() as db:
        agency = await figures.visible_agency(db, viewer, request.match_info["code"])
        if agency is None:
            return message_page(request, "agency_not_found", 404)
        scores = await score_context(request, db, agency)
        period = parse_period(scores.period)
        # the survey figures of the scoring period only, as the scores are
        found = await figures.agency_figures(
            db,
            viewer,
            agency,
            period.first,
            lang,
            until=period.end,
            memory=config_of(request).tallies,
        )
    return page(request, "report.html", _context(request, agency, scores, found, period.end))


def _context(
    request: web.Request,
    agency: Agency,
    scores: ScoreContext,
    found: figures.AgencyFigures,
    end: date,
) -> dict[str, Any]:
    lang = lang_of(request)
    last_month = end.isoformat()[:7]
    trend = [(month, share) for month, share in found.trend if month < last_month]
    defects = sorted(
        (item for item in found.defects if item[1].share is not None),
        key=lambda item: -(item[1].share or 0.0),
    )[:REPORT_DEFECTS]
    proposed = standings.methodology(PUBLISHED[1])
    return {
        "agency": agency,
        "agency_name": agency.name(lang),
        "kind": words.say(f"kind_{agency.kind.value}", lang),
        "region": words.region_name(agency.region, lang) if agency.region else "",
        "scores": scores,
        "published": PUBLISHED,
        "figures": found,
        "defects": defects,
        "trend": trend,
        "min_sample": figures.MIN_SAMPLE,
        "printed_on": config_of(request).clock().strftime("%Y-%m-%d"),
        "trend_chart": share_line(
            [m for m, _s in trend],
            [s.share for _m, s in trend],
            [s.interval for _m, s in trend],
            words.say("chart_satisfaction_by_month", lang),
            Formats(lang).share,
        ),
        "grades": standings.methodology(PUBLISHED[0]).grades,
        "blocks": [
            key
            for key, node in proposed.nodes.items()
            if node.depth <= 2 and agency.kind.value in node.applies_to
        ],
        **tree_helpers(lang),
    }
