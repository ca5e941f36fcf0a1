"""Agencies' scores as the admin shows them, read from STORED score runs only (the runs are the
evidence; nothing here scans responses or recomputes a score): the latest run of each published
methodology for a period, side by side with ranks, and one agency's whole tree of scores.

Ranks are those of `scoring.compare` over every agency of the run (within central and within
local bodies, as the evaluation ranks them), so a region or kind filter narrows the list but
never renumbers it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from core.models import Agency, AgencyKind, ScoreRun
from core.score_runs import latest_score_run, score_run_values, scored_periods
from scoring import Methodology, compare, load_methodology
from scoring.model import Node

PUBLISHED = ("kz-2020", "proposed-s30")  # today's methodology first, the proposal second
RANKING_NODES = ("total", "interaction", "satisfaction")
SATISFACTION = "satisfaction"  # the S direction of proposed-s30 (K1 criterion in kz-2020)


@cache
def methodology(name: str) -> Methodology:
    """A shipped methodology, read once per process."""
    return load_methodology(name)


@dataclass(frozen=True)
class RunInfo:
    """Which stored run a column comes from."""

    id: int
    methodology: str
    version: str
    hash: str
    computed_at: datetime
    min_sample: int
    code_version: str

    @property
    def hash_prefix(self) -> str:
        return self.hash[:12]

    @property
    def current(self) -> bool:
        """False when the shipped methodology file changed after this run was computed."""
        return self.hash == methodology(self.methodology).hash

    @classmethod
    def of(cls, run: ScoreRun) -> RunInfo:
        return cls(
            run.id,
            run.methodology,
            run.methodology_version,
            run.methodology_hash,
            run.created_at,
            run.min_sample,
            run.code_version,
        )


@dataclass(frozen=True)
class NodeScore:
    """One stored row: `value` None unless status is ok."""

    value: float | None
    grade: str | None
    status: str
    n: int | None
    interval: tuple[float, float] | None
    missing: tuple[str, ...]

    @property
    def insufficient(self) -> bool:
        return self.status == "insufficient_sample"


NO_SCORE = NodeScore(None, None, "missing", None, None, ())


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _whole(value: Any) -> int | None:
    return None if value is None or bool(pd.isna(value)) else int(value)


def _node_score(row: Mapping[str, Any]) -> NodeScore:
    low, high = _number(row["ci_low"]), _number(row["ci_high"])
    n = row["n"]
    missing = str(row["missing_inputs"] or "")
    grade = row["grade"]
    return NodeScore(
        value=_number(row["value"]),
        grade=str(grade) if isinstance(grade, str) and grade else None,
        status=str(row["status"]),
        n=_whole(n),
        interval=(low, high) if low is not None and high is not None else None,
        missing=tuple(name.strip() for name in missing.split(",") if name.strip()),
    )


@dataclass
class Standing:
    """One agency in the ranking: its stored scores and ranks under each methodology."""

    agency: Agency
    scores: dict[str, dict[str, NodeScore]] = field(default_factory=dict)
    ranks: dict[str, int | None] = field(default_factory=dict)
    rank_change: int | None = None

    def score(self, methodology_name: str, node: str) -> NodeScore:
        return self.scores.get(methodology_name, {}).get(node, NO_SCORE)


async def periods(db: AsyncSession) -> list[str]:
    return await scored_periods(db)


async def latest_runs(db: AsyncSession, period: str) -> dict[str, RunInfo | None]:
    """The newest stored run of each published methodology for `period` (None: none yet)."""
    found: dict[str, RunInfo | None] = {}
    for name in PUBLISHED:
        run = await latest_score_run(db, name, period)
        found[name] = RunInfo.of(run) if run is not None else None
    return found


async def ranking(
    db: AsyncSession,
    reader: Reader,
    runs: Mapping[str, RunInfo | None],
    kind: AgencyKind | None = None,
    region: str | None = None,
) -> list[Standing]:
    """Every agency `reader` may see (narrowed by kind and region) with its stored scores."""
    statement = select(Agency).order_by(Agency.code)
    if kind is not None:
        statement = statement.where(Agency.kind == kind)
    if region:
        statement = statement.where(Agency.region == region)
    agencies = list(await db.scalars(scope(statement, reader, Agency.id)))
    standings = {agency.code: Standing(agency) for agency in agencies}
    frames: dict[str, pd.DataFrame] = {}
    for name, run in runs.items():
        if run is None:
            continue
        frame = await score_run_values(db, run.id, nodes=RANKING_NODES)
        frames[name] = frame
        for row in frame.to_dict(orient="records"):
            standing = standings.get(str(row["agency"]))
            if standing is not None:
                standing.scores.setdefault(name, {})[str(row["node"])] = _node_score(row)
    await _rank(db, frames, standings)
    return list(standings.values())


async def _rank(
    db: AsyncSession, frames: Mapping[str, pd.DataFrame], standings: dict[str, Standing]
) -> None:
    if not frames:
        return
    kinds = pd.DataFrame(
        [(code, kind.value) for code, kind in (await db.execute(select(Agency.code, Agency.kind)))],
        columns=["agency", "kind"],
    )
    empty = next(iter(frames.values())).iloc[0:0]  # a run missing: same columns, no rows
    first, second = (frames.get(name, empty) for name in PUBLISHED)
    table = compare(first, second, agencies=kinds)
    for row in table.to_dict(orient="records"):
        standing = standings.get(str(row["agency"]))
        if standing is None:
            continue
        for name, column in zip(PUBLISHED, ("rank_a", "rank_b"), strict=True):
            standing.ranks[name] = _whole(row[column])
        standing.rank_change = _whole(row["rank_change"])


@dataclass(frozen=True)
class TreeRow:
    """A node of an agency's tree with its stored score and what it is made of."""

    node: Node
    weight: float | None  # within its parent, for this agency's kind
    share_of_total: float | None  # the product of the weights up to the root
    score: NodeScore
    parts: tuple[tuple[str, float | None], ...]  # (child key, weight) it combines
    inputs: tuple[str, ...]  # inputs it reads (leaves: directly)


@dataclass(frozen=True)
class Tree:
    methodology: Methodology
    run: RunInfo
    rows: list[TreeRow]


def effective_weight(method: Methodology, key: str, kind: str) -> float | None:
    """How much of the total a node weighs for `kind`: its weight times its parents'. None
    below a formula node (its parts are points of a formula, not weights)."""
    weight = 1.0
    node = method.nodes[key]
    while node.parent is not None:
        parent = method.nodes[node.parent]
        if not parent.weighted or kind not in node.weights:
            return None
        weight *= node.weights[kind]
        node = parent
    return weight


async def agency_tree(
    db: AsyncSession, agency: Agency, runs: Mapping[str, RunInfo | None]
) -> list[Tree]:
    """The agency's stored scores for every node, per methodology with a stored run."""
    trees = []
    kind = agency.kind.value
    for name, run in runs.items():
        if run is None:
            continue
        method = methodology(name)
        frame = await score_run_values(db, run.id, agencies=[agency.code])
        stored = {str(row["node"]): _node_score(row) for row in frame.to_dict(orient="records")}
        rows = []
        for key, node in method.nodes.items():
            if kind not in node.applies_to:
                continue
            children = [child for child in node.children if kind in method.nodes[child].applies_to]
            rows.append(
                TreeRow(
                    node=node,
                    weight=node.weights.get(kind),
                    share_of_total=effective_weight(method, key, kind),
                    score=stored.get(key, NO_SCORE),
                    parts=tuple(
                        (child, method.nodes[child].weights.get(kind)) for child in children
                    ),
                    inputs=() if children else tuple(method.needs[key].get(kind, ())),
                )
            )
        trees.append(Tree(method, run, rows))
    return trees


@dataclass(frozen=True)
class GradeCount:
    """How many agencies a run gives a grade (`grade` None: no total, e.g. an input missing
    or too few responses)."""

    grade: str | None
    count: int
    share: float | None  # of the agencies in the run


async def grade_distribution(db: AsyncSession, run: RunInfo) -> list[GradeCount]:
    """Agencies per grade of the total in one stored run, in the methodology's order (best
    first), then those without a total."""
    frame = await score_run_values(db, run.id, nodes=["total"])
    grades = frame["grade"].where(frame["grade"].notna() & (frame["grade"] != ""), None)
    counts = grades.value_counts(dropna=False)
    all_agencies = int(counts.sum())
    order = [band.key for band in reversed(methodology(run.methodology).grades)]
    found = {None if not isinstance(key, str) else key: int(n) for key, n in counts.items()}
    return [
        GradeCount(
            key, found.get(key, 0), found.get(key, 0) / all_agencies if all_agencies else None
        )
        for key in [*order, None]
    ]
