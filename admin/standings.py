"""Agencies' scores as the admin shows them, read from STORED score runs only (the runs are the
evidence; nothing here scans responses or recomputes a score): the latest run of each published
methodology for a period, side by side with ranks, and one agency's whole tree of scores.

Ranks are those of `scoring.compare` over every agency of the run (within central and within
local bodies, as the evaluation ranks them), so a region or kind filter narrows the list but
never renumbers it.

A stored run never changes (its values are only ever inserted, with the run), so what is read
from runs can be remembered under the runs' identity: `RunMemory` keeps every agency's scores
and ranks of a pair of runs, and agencies' trees, and a newer run is a new key. What it holds
covers all agencies; each page still narrows by `scope` before it shows anything."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import pandas as pd
from cachetools import LRUCache
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from core.models import AdminRole, Agency, AgencyKind, ScoreRankRange, ScoreRun, ScoreValue
from core.score_runs import run_inputs, score_run_values
from scoring import Methodology, compare, load_methodology
from scoring.explain import explain
from scoring.methodology import methodology_by_hash
from scoring.model import Node
from scoring.runs import inputs_hash
from scoring.sensitivity import sensitivity

log = logging.getLogger(__name__)

PUBLISHED = ("kz-2020", "proposed-s30")  # today's methodology first, the proposal second
DRAWS = 1000  # combinations of the assumptions drawn for rank ranges
RANKING_NODES = ("total", "interaction", "satisfaction", "satisfaction_level")
SATISFACTION = "satisfaction"  # the S direction of proposed-s30 (K1 criterion in kz-2020)
SURVEY_SHARE = "satisfaction_level"  # P1, the survey's satisfied share inside it


@cache
def methodology(name: str) -> Methodology:
    """A shipped methodology, read once per process."""
    return load_methodology(name)


@dataclass(frozen=True)
class RunInfo:
    """Which stored run a column comes from."""

    id: int
    methodology: str
    period: str
    version: str
    hash: str
    computed_at: datetime
    min_sample: int
    code_version: str
    inputs_hash: str = ""

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
            run.period,
            run.methodology_version,
            run.methodology_hash,
            run.created_at,
            run.min_sample,
            run.code_version,
            run.inputs_hash,
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
    reason: str = ""  # scoring's reason codes (language-free); empty on runs stored before

    @property
    def insufficient(self) -> bool:
        return self.status == "insufficient_sample"

    @property
    def provisional(self) -> bool:
        """A value computed from part of its inputs (the rest re-weighted): shown, marked."""
        return self.status == "provisional"


NO_SCORE = NodeScore(None, None, "missing", None, None, ())


def _number(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _whole(value: Any) -> int | None:
    return None if value is None or bool(pd.isna(value)) else int(value)


def _node_score(row: Mapping[Hashable, Any]) -> NodeScore:
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
        reason=str(row.get("reason") or ""),
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


@dataclass(frozen=True)
class StoredRuns:
    """Every stored run's identity, read once for a page: the periods with runs (newest
    first), the newest run of each published methodology per period, every run of a period
    (newest first), and which runs give at least one agency a total."""

    newest: dict[tuple[str, str], RunInfo]  # (period, methodology) -> newest run
    periods: list[str]
    every: dict[str, list[RunInfo]] = field(default_factory=dict)  # period -> runs
    with_totals: frozenset[int] = frozenset()

    def latest(self, period: str) -> dict[str, RunInfo | None]:
        return {name: self.newest.get((period, name)) for name in PUBLISHED}

    @property
    def default_period(self) -> str | None:
        """The period pages open on: the newest whose latest runs give some agency a total,
        so a run stored without a single total (older versions stored them) never takes the
        pages to an empty period; else the newest with runs."""
        for period in self.periods:
            if any(
                run is not None and run.id in self.with_totals
                for run in self.latest(period).values()
            ):
                return period
        return self.periods[0] if self.periods else None

    def run(self, run_id: int) -> RunInfo | None:
        return next((run for runs in self.every.values() for run in runs if run.id == run_id), None)


async def stored_runs(db: AsyncSession, memory: RunMemory | None = None) -> StoredRuns:
    """The stored runs, in one query (a run is a few hundred bytes; a period gets a few), and
    which of them hold a total (one more query, remembered under the runs' ids)."""
    newest: dict[tuple[str, str], RunInfo] = {}
    every: dict[str, list[RunInfo]] = {}
    for run in await db.scalars(select(ScoreRun).order_by(ScoreRun.id)):
        info = RunInfo.of(run)
        every.setdefault(run.period, []).insert(0, info)
        if run.methodology in PUBLISHED:
            newest[(run.period, run.methodology)] = info
    # the runs' numbers and times: SQLite may give a deleted run's number to the next one
    ids = tuple(sorted((run.id, run.computed_at) for runs in every.values() for run in runs))
    with_totals = memory.with_totals.get(ids) if memory is not None else None
    if with_totals is None:
        with_totals = await runs_with_totals(db)
        if memory is not None:
            memory.with_totals[ids] = with_totals
    return StoredRuns(newest, sorted(every, reverse=True), every, with_totals)


def blocks() -> tuple[str, ...]:
    """The blocks of the total (goals, interaction, organisational development) of the
    published methodologies: a period where every body lacks a whole block has not been
    evaluated yet, however the parts that are known add up."""
    found: dict[str, None] = {}
    for name in PUBLISHED:
        method = methodology(name)
        found.update(dict.fromkeys(method.nodes[method.root].children))
    return tuple(found)


def _evaluated(frame: pd.DataFrame) -> pd.Series:
    """Per (run, agency) of `frame` (rows of the total and the blocks): whether the agency
    has a total with no whole block missing."""
    total = frame["node"] == "total"
    has_total = (total & frame["value"].notna()).groupby([frame["run_id"], frame["agency"]]).any()
    lost = (
        (~total & (frame["status"] == "missing")).groupby([frame["run_id"], frame["agency"]]).any()
    )
    return has_total & ~lost


async def runs_with_totals(db: AsyncSession) -> frozenset[int]:
    """The runs in which at least one agency has a total with every block of it known."""
    rows = await db.execute(
        select(
            ScoreValue.run_id,
            ScoreValue.agency,
            ScoreValue.node,
            ScoreValue.status,
            ScoreValue.value,
        ).where(ScoreValue.node.in_(["total", *blocks()]))
    )
    frame = pd.DataFrame(rows.all(), columns=["run_id", "agency", "node", "status", "value"])
    if frame.empty:
        return frozenset()
    evaluated = _evaluated(frame)
    return frozenset(int(run) for run in evaluated[evaluated].index.get_level_values(0))


@dataclass(frozen=True)
class Gaps:
    """Why a period's runs rank nobody: the blocks no body has and the inputs no body has."""

    blocks: tuple[str, ...]  # node keys
    inputs: tuple[str, ...]


async def period_gaps(db: AsyncSession, run_ids: Sequence[int]) -> Gaps | None:
    """None when some agency in one of the runs has a total with every block known; else what
    no agency had. Reads the runs' rows in the session that stored them, before any commit."""
    if not run_ids:
        return Gaps((), ())
    lost_blocks: set[str] | None = None
    lost_inputs: set[str] | None = None
    for run_id in run_ids:
        frame = await score_run_values(db, run_id, nodes=["total", *blocks()])
        if frame.empty:
            continue
        if _evaluated(frame.assign(run_id=run_id)).any():
            return None
        missing_blocks = frame.loc[frame["status"] == "missing", ["agency", "node"]]
        per_agency = missing_blocks.groupby("agency")["node"].agg(set)
        everywhere = (
            set.intersection(*per_agency) if len(per_agency) == frame["agency"].nunique() else set()
        )
        lost_blocks = everywhere if lost_blocks is None else lost_blocks & everywhere
        # per agency, every input its total and blocks lacked; kept: those every agency lacked
        named = frame["missing_inputs"].fillna("").astype(str)
        for _agency, texts in named.groupby(frame["agency"]):
            found = {name.strip() for text in texts for name in text.split(",") if name.strip()}
            lost_inputs = found if lost_inputs is None else lost_inputs & found
    order = blocks()
    return Gaps(
        tuple(key for key in order if key in (lost_blocks or set())),
        tuple(sorted(lost_inputs or ())),
    )


async def stored_run(db: AsyncSession, run_id: int) -> RunInfo | None:
    """One stored run by its number."""
    run = await db.get(ScoreRun, run_id)
    return RunInfo.of(run) if run is not None else None


async def delete_run(db: AsyncSession, run_id: int) -> None:
    """Remove a stored run and its values (the caller audits and commits). Pages keep what
    they read under the runs' identity, so the next read simply names other runs."""
    await db.execute(delete(ScoreValue).where(ScoreValue.run_id == run_id))
    await db.execute(delete(ScoreRun).where(ScoreRun.id == run_id))


Runs = tuple[tuple[str, RunInfo | None], ...]  # a pair of runs as a key


@dataclass(frozen=True)
class RunStandings:
    """Every agency's stored scores and ranks in a pair of runs, by agency code."""

    scores: dict[str, dict[str, dict[str, NodeScore]]]  # code -> methodology -> node -> score
    ranks: dict[str, dict[str, int | None]]  # code -> methodology -> rank
    rank_changes: dict[str, int | None]


class RunMemory:
    """What was read from stored runs, under the runs' identity (runs never change): the
    standings of a pair of runs, and agencies' trees. Bounded, least recently used forgotten;
    one per admin app (so one per database)."""

    def __init__(self) -> None:
        # a few filters' worth of run pairs; a tree per agency and run pair
        self.standings: LRUCache[tuple[Runs, tuple[tuple[str, str], ...]], RunStandings] = LRUCache(
            maxsize=16
        )
        self.trees: LRUCache[tuple[Runs, str, str, str], list[Tree]] = LRUCache(maxsize=512)
        # the inputs kept with a run, checked against its inputs hash (None: none kept)
        # (keyed by the whole run, not its number: SQLite may give a deleted run's number again)
        self.inputs: LRUCache[RunInfo, tuple[pd.DataFrame, pd.DataFrame] | None] = LRUCache(
            maxsize=8
        )
        # which runs hold a total, under every stored run's id
        self.with_totals: LRUCache[tuple[tuple[int, datetime], ...], frozenset[int]] = LRUCache(
            maxsize=4
        )
        # rank ranges of runs once drawn (they never change afterwards)
        self.ranges: LRUCache[RunInfo, dict[str, RankRange]] = LRUCache(maxsize=16)
        # one drawing of rank ranges at a time per process: it takes a core for seconds
        self.drawing = asyncio.Lock()


async def visible_agencies(db: AsyncSession, reader: Reader) -> list[Agency]:
    """Every agency `reader` may see, by code."""
    return list(await db.scalars(scope(select(Agency).order_by(Agency.code), reader, Agency.id)))


async def ranking(
    db: AsyncSession,
    reader: Reader,
    runs: Mapping[str, RunInfo | None],
    kind: AgencyKind | None = None,
    region: str | None = None,
    memory: RunMemory | None = None,
    visible: Sequence[Agency] | None = None,
) -> list[Standing]:
    """Every agency `reader` may see (narrowed by kind and region) with its stored scores;
    `visible`: `visible_agencies(db, reader)` when the caller has read it already."""
    if visible is None:
        visible = await visible_agencies(db, reader)
    agencies = [
        agency
        for agency in visible
        if (kind is None or agency.kind == kind) and (not region or agency.region == region)
    ]
    # the ranks are over every agency of each kind, whoever reads them
    if reader.role is AdminRole.AGENCY:
        kinds = tuple(
            (code, agency_kind.value)
            for code, agency_kind in await db.execute(
                select(Agency.code, Agency.kind).order_by(Agency.code)
            )
        )
    else:  # sees every agency
        kinds = tuple((agency.code, agency.kind.value) for agency in visible)
    key = (tuple(runs.items()), kinds)
    found = memory.standings.get(key) if memory is not None else None
    if found is None:
        found = await _run_standings(db, runs, kinds)
        if memory is not None:
            memory.standings[key] = found
    return [
        Standing(
            agency,
            dict(found.scores.get(agency.code, {})),
            dict(found.ranks.get(agency.code, {})),
            found.rank_changes.get(agency.code),
        )
        for agency in agencies
    ]


async def _run_standings(
    db: AsyncSession, runs: Mapping[str, RunInfo | None], kinds: tuple[tuple[str, str], ...]
) -> RunStandings:
    scores: dict[str, dict[str, dict[str, NodeScore]]] = {}
    frames: dict[str, pd.DataFrame] = {}
    for name, run in runs.items():
        if run is None:
            continue
        frame = await score_run_values(db, run.id, nodes=RANKING_NODES)
        frames[name] = frame
        for row in frame.to_dict(orient="records"):
            nodes = scores.setdefault(str(row["agency"]), {}).setdefault(name, {})
            nodes[str(row["node"])] = _node_score(row)
    ranks: dict[str, dict[str, int | None]] = {}
    changes: dict[str, int | None] = {}
    if frames:
        empty = next(iter(frames.values())).iloc[0:0]  # a run missing: same columns, no rows
        first, second = (frames.get(name, empty) for name in PUBLISHED)
        agencies = pd.DataFrame(list(kinds), columns=["agency", "kind"])
        table = compare(first, second, agencies=agencies)
        for row in table.to_dict(orient="records"):
            code = str(row["agency"])
            ranks[code] = {
                name: _whole(row[column])
                for name, column in zip(PUBLISHED, ("rank_a", "rank_b"), strict=True)
            }
            changes[code] = _whole(row["rank_change"])
    return RunStandings(scores, ranks, changes)


@dataclass(frozen=True)
class Explained:
    """How a node's figure was computed, from `scoring.explain` over the stored run and the
    inputs kept with it, in the reader's language."""

    weight: float | None  # as the file writes it, within the parent, for this kind
    share: float | None  # the weight it got once siblings without a value were left out
    formula: str
    substituted: str  # the formula with every number in; empty when nothing is known
    clamp: str
    inputs: str  # `name = value; …` of the inputs the node reads itself
    reason: str
    source: str


@dataclass(frozen=True)
class TreeRow:
    """A node of an agency's tree with its stored score and what it is made of."""

    node: Node
    weight: float | None  # within its parent, for this agency's kind
    share_of_total: float | None  # the product of the weights up to the root
    score: NodeScore
    parts: tuple[tuple[str, float | None], ...]  # (child key, weight) it combines
    inputs: tuple[str, ...]  # inputs it reads (leaves: directly)
    explained: Explained | None = None


@dataclass(frozen=True)
class Tree:
    methodology: Methodology
    run: RunInfo
    rows: list[TreeRow]
    inputs_kept: bool = False  # the run kept its inputs, so formulas show their values


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


@cache
def run_methodology(name: str, digest: str) -> Methodology:
    """The methodology a run was computed under, found by the file's hash (past versions are
    kept), so an old run shows its own tree; the shipped file when the version is gone."""
    try:
        found = methodology_by_hash(name, digest)
    except ValueError:  # a kept version that no longer validates: never fail the page
        log.warning("methodology %s %s could not be read; showing the shipped file", name, digest)
        found = None
    return found or methodology(name)


async def kept_inputs(
    db: AsyncSession, run: RunInfo, memory: RunMemory | None = None
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The inputs and agencies kept with a run, when they hash to what the run recorded (so
    they are the very inputs it read); None for a run stored before runs kept them."""
    if memory is not None and run in memory.inputs:
        return memory.inputs[run]
    kept = await run_inputs(db, run.id, run.period)
    if kept is not None and inputs_hash(kept[0]) != run.inputs_hash:
        kept = None
    if memory is not None:
        memory.inputs[run] = kept
    return kept


async def agency_tree(
    db: AsyncSession,
    agency: Agency,
    runs: Mapping[str, RunInfo | None],
    memory: RunMemory | None = None,
    lang: str = "en",
) -> list[Tree]:
    """The agency's stored scores for every node, per methodology with a stored run, each
    node explained (its inputs' values, the formula with them substituted, the weight used,
    the status's reason, the source) in `lang`."""
    key = (tuple(runs.items()), agency.code, agency.kind.value, lang)
    remembered = memory.trees.get(key) if memory is not None else None
    if remembered is not None:
        return remembered
    trees = []
    kind = agency.kind.value
    for _name, run in runs.items():
        if run is None:
            continue
        method = run_methodology(run.methodology, run.hash)
        frame = await score_run_values(db, run.id, agencies=[agency.code])
        stored = {str(row["node"]): _node_score(row) for row in frame.to_dict(orient="records")}
        kept = await kept_inputs(db, run, memory)
        explained = _explained(method, frame, kept, agency, run.period, lang)
        rows = []
        for node_key, node in method.nodes.items():
            # a node for another kind shows when the run stored it (as not applicable, with
            # its reason); runs stored before left such nodes out
            if kind not in node.applies_to and node_key not in stored:
                continue
            children = [child for child in node.children if kind in method.nodes[child].applies_to]
            rows.append(
                TreeRow(
                    node=node,
                    weight=node.weights.get(kind),
                    share_of_total=effective_weight(method, node_key, kind),
                    score=stored.get(node_key, NO_SCORE),
                    parts=tuple(
                        (child, method.nodes[child].weights.get(kind)) for child in children
                    ),
                    inputs=() if children else tuple(method.needs[node_key].get(kind, ())),
                    explained=explained.get(node_key),
                )
            )
        trees.append(Tree(method, run, rows, kept is not None))
    if memory is not None:
        memory.trees[key] = trees
    return trees


def _explained(
    method: Methodology,
    frame: pd.DataFrame,
    kept: tuple[pd.DataFrame, pd.DataFrame] | None,
    agency: Agency,
    period: str,
    lang: str,
) -> dict[str, Explained]:
    if frame.empty:  # the agency came after the run
        return {}
    try:
        table = explain(
            method,
            frame,
            kept[0] if kept is not None else None,
            agency.code,
            period,
            language=lang,
            kind=agency.kind.value,
        )
    except (KeyError, ValueError):  # a run of another version's tree: values without the why
        log.warning("run of %s could not be explained for %s", method.name, agency.code)
        return {}
    return {
        str(row["node"]): Explained(
            weight=_number(row["weight"]),
            share=_number(row["share"]),
            formula=str(row["formula"] or ""),
            substituted=str(row["substituted"] or ""),
            clamp=str(row["clamp"] or ""),
            inputs=str(row["inputs"] or ""),
            reason=str(row["reason"] or ""),
            source=str(row["source"] or ""),
        )
        for row in table.to_dict(orient="records")
    }


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


@dataclass(frozen=True)
class Position:
    """Where one agency stands among the bodies of its kind under one methodology's stored
    run, and how the totals of its kind are spread, without naming any other body."""

    methodology: str
    rank: int | None
    ranked: int  # bodies of the kind with a total (so with a rank)
    bodies: int  # bodies of the kind in the run
    provisional: int  # of the ranked, those whose total is provisional
    total: NodeScore
    totals: tuple[float, ...]  # every total of the kind, ascending, no names
    grades: tuple[tuple[str | None, int], ...]  # (grade, bodies), best first, None: no total
    range: RankRange | None = None  # the rank's 5th-95th percentile over the assumptions


async def positions(
    db: AsyncSession,
    agency: Agency,
    runs: Mapping[str, RunInfo | None],
    memory: RunMemory | None = None,
) -> list[Position]:
    """The agency's rank within its kind under each methodology with a stored run, and the
    spread of its kind's totals. Read through the same standings as the ranking (all agencies,
    remembered under the runs), so the rank is the ranking's."""
    kinds = tuple(
        (code, kind.value)
        for code, kind in await db.execute(select(Agency.code, Agency.kind).order_by(Agency.code))
    )
    key = (tuple(runs.items()), kinds)
    found = memory.standings.get(key) if memory is not None else None
    if found is None:
        found = await _run_standings(db, runs, kinds)
        if memory is not None:
            memory.standings[key] = found
    same_kind = [code for code, kind in kinds if kind == agency.kind.value]
    ranges = await rank_ranges(db, runs, memory)
    result = []
    for name, run in runs.items():
        if run is None:
            continue
        totals = [
            found.scores.get(code, {}).get(name, {}).get("total", NO_SCORE) for code in same_kind
        ]
        valued = [score for score in totals if score.value is not None]
        counts: dict[str | None, int] = {}
        for score in totals:
            grade = score.grade if score.value is not None else None
            counts[grade] = counts.get(grade, 0) + 1
        order = [band.key for band in reversed(methodology(name).grades)]
        result.append(
            Position(
                methodology=name,
                rank=found.ranks.get(agency.code, {}).get(name),
                ranked=len(valued),
                bodies=len(totals),
                provisional=sum(1 for score in valued if score.provisional),
                total=found.scores.get(agency.code, {}).get(name, {}).get("total", NO_SCORE),
                totals=tuple(sorted(score.value for score in valued if score.value is not None)),
                grades=tuple((grade, counts.get(grade, 0)) for grade in [*order, None]),
                range=ranges.get(name, {}).get(agency.code),
            )
        )
    return result


@dataclass(frozen=True)
class RankRange:
    """How far an agency's rank moves over the drawn assumptions (5th to 95th percentile,
    within its kind), the chance of each grade, and the assumption that moves it most."""

    low: int | None
    high: int | None
    grades: tuple[tuple[str, float], ...]  # (grade, probability), best first
    driver: str  # a constant's name, `weight:NODE`, or "" when the rank never moves
    driver_effect: float | None
    draws: int
    seed: int


RangesOfRuns = dict[str, dict[str, RankRange]]  # methodology -> agency -> range


async def rank_ranges(
    db: AsyncSession, runs: Mapping[str, RunInfo | None], memory: RunMemory | None = None
) -> RangesOfRuns:
    """The stored rank ranges of the runs (empty for a run not drawn yet). Once drawn, a run's
    ranges never change, so they are remembered under its id; a run without them is read
    again on the next page, so ranges drawn by another process show up."""
    found: RangesOfRuns = {}
    for name, run in runs.items():
        if run is None:
            continue
        known = memory.ranges.get(run) if memory is not None else None
        if known is None:
            rows = await db.scalars(select(ScoreRankRange).where(ScoreRankRange.run_id == run.id))
            known = {
                row.agency: RankRange(
                    row.rank_p05,
                    row.rank_p95,
                    tuple((str(k), float(v)) for k, v in dict(row.grades or {}).items()),
                    row.driver or "",
                    row.driver_effect,
                    row.draws,
                    row.seed,
                )
                for row in rows
            }
            if known and memory is not None:
                memory.ranges[run] = known
        found[name] = known
    return found


async def draw_rank_ranges(
    db: AsyncSession, run: RunInfo, at: datetime, draws: int, seed: int = 0
) -> bool:
    """Draw the run's rank ranges from the inputs it kept (`scoring.sensitivity`, in a worker
    thread: about 5 s for 33 bodies × 1,000 draws) and store them with it; the caller commits.
    False when the run kept no inputs (stored before runs kept them)."""
    kept = await kept_inputs(db, run)
    if kept is None:
        return False
    method = run_methodology(run.methodology, run.hash)
    inputs, agencies = kept
    table = await asyncio.to_thread(
        sensitivity, method, inputs, agencies, draws, seed, run.min_sample
    )
    grade_columns = [f"p_{band.key}" for band in reversed(method.grades)]
    await db.execute(delete(ScoreRankRange).where(ScoreRankRange.run_id == run.id))
    for row in table.to_dict(orient="records"):
        db.add(
            ScoreRankRange(
                run_id=run.id,
                agency=str(row["agency"]),
                rank_p05=_whole(row["rank_p05"]),
                rank_p95=_whole(row["rank_p95"]),
                value_p05=_number(row["value_p05"]),
                value_p95=_number(row["value_p95"]),
                grades={
                    column.removeprefix("p_"): round(float(row[column]), 4)
                    for column in grade_columns
                    if _number(row[column]) is not None
                },
                driver=str(row["driver"] or "")[:128] or None,
                driver_effect=_number(row["driver_effect"]),
                draws=int(row["draws"]),
                seed=seed,
                computed_at=at,
            )
        )
    return True
