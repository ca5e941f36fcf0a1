"""An agency's published scores: every node of the block under each methodology with a
published run (`core.score_runs.published_score_runs`), explained by `scoring.explain` over
the inputs kept with the run, and the agency's rank range from the run's sensitivity analysis.
Runs that are computed but not published never show here.

A node that reads survey shares shows its value and its explanation only when the survey
answers behind it reach the minimum cell; otherwise the page says there are not enough ratings."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import dataclass
from functools import cache

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Agency, ScoreRankRange, ScoreRun
from core.score_runs import published_score_runs, run_inputs, score_run_values
from results.disclosure import disclosure_rule
from scoring import explain, load_methodology, methodology_by_hash
from scoring.model import Methodology

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreLine:
    depth: int
    label: str
    value: float | None
    hidden: bool  # a survey-based figure on too few answers
    grade: str | None
    formula: str  # the formula with its numbers in (or as written, when they are not kept)
    inputs: str  # `name = value; …` of the inputs the node reads itself
    reason: str  # why its status, in the reader's language


@dataclass(frozen=True)
class PublishedScores:
    methodology: str
    title: str
    version: str
    period: str
    lines: tuple[ScoreLine, ...]
    rank_low: int | None
    rank_high: int | None


@cache
def _methodology(name: str, digest: str) -> Methodology:
    try:
        found = methodology_by_hash(name, digest)
    except ValueError:
        found = None
    return found or load_methodology(name)


def _number(value: object) -> float | None:
    if value is None or value is not value:  # None or NaN
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _lines(
    method: Methodology,
    frame: pd.DataFrame,
    inputs: pd.DataFrame | None,
    agency: str,
    kind: str,
    period: str,
    lang: str,
    minimum: int,
) -> tuple[ScoreLine, ...] | None:
    """The agency's stored nodes explained in `lang`; None when the run cannot be explained."""
    try:
        table = explain(method, frame, inputs, agency, period, language=lang, kind=kind)
    except (KeyError, ValueError):
        return None
    nodes = set(frame["node"].astype(str))
    lines = []
    for row in table.to_dict(orient="records"):
        node = str(row["node"])
        if node not in nodes:
            continue
        n = _count(row["n"])
        survey = method.survey_based(node, kind) if node in method.needs else False
        hidden = (n is not None and n < minimum) or (survey and n is None)
        value = None if hidden else _number(row["value"])
        grade = row["grade"] if isinstance(row["grade"], str) and not hidden else None
        lines.append(
            ScoreLine(
                int(row["depth"]),
                str(row["label"]),
                value,
                hidden,
                grade,
                "" if hidden else str(row["substituted"] or row["formula"] or ""),
                "" if hidden else str(row["inputs"] or ""),
                "" if hidden else str(row["reason"] or ""),
            )
        )
    return tuple(lines)


def _count(value: object) -> int | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else int(number)


class ScoreMemory:
    """What the pages remember of published runs: a run's stored values and inputs never
    change, so each is read once (all agencies at once); an agency's explained scores in one
    language are kept under the run's id. Bounded: the oldest go first."""

    LIMIT = 2048

    def __init__(self) -> None:
        self.runs: dict[int, tuple[pd.DataFrame, pd.DataFrame | None]] = {}
        self.explained: dict[tuple[int, str, str], PublishedScores | None] = {}

    async def run(
        self, session: AsyncSession, run: ScoreRun
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        found = self.runs.get(run.id)
        if found is None:
            kept = await run_inputs(session, run.id, run.period)
            found = (await score_run_values(session, run.id), kept[0] if kept else None)
            if len(self.runs) >= 16:
                self.runs.pop(next(iter(self.runs)))
            self.runs[run.id] = found
        return found


async def published_scores(
    session: AsyncSession, agency: Agency, lang: str, memory: ScoreMemory | None = None
) -> list[PublishedScores]:
    """The agency's published scores, newest period first (empty when none is published)."""
    memory = memory if memory is not None else ScoreMemory()
    minimum = disclosure_rule().minimum_cell
    found = []
    for run in await published_score_runs(session):
        key = (run.id, agency.code, lang)
        if key not in memory.explained:
            if len(memory.explained) >= ScoreMemory.LIMIT:
                memory.explained.pop(next(iter(memory.explained)))
            memory.explained[key] = await _run_scores(
                session, run, agency, lang, minimum, await memory.run(session, run)
            )
        scores = memory.explained[key]
        if scores is not None:
            found.append(scores)
    return found


async def _run_scores(
    session: AsyncSession,
    run: ScoreRun,
    agency: Agency,
    lang: str,
    minimum: int,
    stored: tuple[pd.DataFrame, pd.DataFrame | None],
) -> PublishedScores | None:
    every, inputs = stored
    frame = every.loc[every["agency"].to_numpy() == agency.code]
    if frame.empty:
        return None
    try:
        method = _methodology(run.methodology, run.methodology_hash)
    except (OSError, ValueError):
        log.warning("published run %s: methodology %s not readable", run.id, run.methodology)
        return None
    # explaining is pandas work of some milliseconds: off the event loop, so pages already
    # cached keep being served meanwhile
    lines = await asyncio.to_thread(
        _lines, method, frame, inputs, agency.code, agency.kind.value, run.period, lang, minimum
    )
    if lines is None:
        log.warning("published run %s could not be explained for %s", run.id, agency.code)
        return None
    ranks = await session.scalar(
        select(ScoreRankRange).where(
            ScoreRankRange.run_id == run.id, ScoreRankRange.agency == agency.code
        )
    )
    return PublishedScores(
        run.methodology,
        method.title.get(lang) or method.title.get("ru") or run.methodology,
        run.methodology_version,
        run.period,
        lines,
        ranks.rank_p05 if ranks is not None else None,
        ranks.rank_p95 if ranks is not None else None,
    )
