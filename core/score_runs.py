"""Stored score runs: what was computed, under which rules, from which inputs, by which code.

    run_id = await store_score_run(session, provenance, period="2025", scores=frame)
    frame = await score_run_values(session, run_id)

`provenance` holds the fields of scoring's run record (methodology, methodology_version,
methodology_hash, inputs_hash, agencies_hash, min_sample, code_version); `scores` is the long
frame scoring returns. The admin reads runs back from here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.models import ScoreRun, ScoreRunAgency, ScoreRunInput, ScoreValue

SCORE_VALUE_COLUMNS = (
    "agency",
    "period",
    "node",
    "value",
    "grade",
    "n",
    "ci_low",
    "ci_high",
    "status",
    "missing_inputs",
    "reason",
)
PROVENANCE_FIELDS = (
    "methodology",
    "methodology_version",
    "methodology_hash",
    "inputs_hash",
    "agencies_hash",
    "min_sample",
    "code_version",
)
BATCH = 500


def _cell(value: Any) -> Any:
    """pandas' missing markers (NaN, NA, the text 'nan' of an empty grade) as SQL NULL."""
    if value is None or value is pd.NA or value == "":
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


async def store_score_run(
    session: AsyncSession, provenance: Mapping[str, Any], period: str, scores: pd.DataFrame
) -> int:
    """Store a run and every row of its scores; the caller commits. Returns the run's id."""
    run = ScoreRun(
        **{field: provenance[field] for field in PROVENANCE_FIELDS},
        period=period,
        created_at=utcnow(),
    )
    session.add(run)
    await session.flush()
    if "reason" not in scores.columns:  # a frame of an older scoring, without reasons
        scores = scores.assign(reason="")
    table = scores.loc[:, list(SCORE_VALUE_COLUMNS)].astype(object)
    records: list[dict[str, Any]] = [
        {"run_id": run.id, **{str(key): _cell(value) for key, value in row.items()}}
        for row in table.to_dict(orient="records")
    ]
    for record in records:
        if record["n"] is not None:
            record["n"] = int(record["n"])
    for start in range(0, len(records), BATCH):
        await session.execute(insert(ScoreValue), records[start : start + BATCH])
    return run.id


async def score_run_values(
    session: AsyncSession,
    run_id: int,
    *,
    nodes: Sequence[str] | None = None,
    agencies: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The stored rows of a run, in the order they were computed (the tree's order); only the
    given `nodes` and `agencies` when asked (a ranking reads three nodes, an agency page one
    agency)."""
    statement = select(*(getattr(ScoreValue, column) for column in SCORE_VALUE_COLUMNS)).where(
        ScoreValue.run_id == run_id
    )
    if nodes is not None:
        statement = statement.where(ScoreValue.node.in_(list(nodes)))
    if agencies is not None:
        statement = statement.where(ScoreValue.agency.in_(list(agencies)))
    rows = await session.execute(statement.order_by(ScoreValue.id))
    frame = pd.DataFrame(rows.all(), columns=list(SCORE_VALUE_COLUMNS))
    for column in ("value", "ci_low", "ci_high"):
        frame[column] = frame[column].astype("float64")
    frame["n"] = frame["n"].astype("Int64")
    frame["reason"] = frame["reason"].fillna("").astype("str")  # none on runs stored before
    return frame


async def latest_score_run(session: AsyncSession, methodology: str, period: str) -> ScoreRun | None:
    """The newest stored run of `methodology` for `period`."""
    run: ScoreRun | None = await session.scalar(
        select(ScoreRun)
        .where(ScoreRun.methodology == methodology, ScoreRun.period == period)
        .order_by(ScoreRun.id.desc())
        .limit(1)
    )
    return run


async def scored_periods(session: AsyncSession) -> list[str]:
    """The periods that have at least one stored run, newest name first."""
    found = await session.scalars(select(ScoreRun.period).distinct())
    return sorted(found, reverse=True)


async def store_run_inputs(
    session: AsyncSession, run_id: int, inputs: pd.DataFrame, agencies: pd.DataFrame
) -> None:
    """Keep with a run the inputs it was computed from (`agency, period, input, value`, one
    period) and every agency's kind, so its figures can be explained and redrawn from the run
    alone; the caller commits."""
    rows: list[dict[str, Any]] = [
        {"run_id": run_id, "agency": str(agency), "input": str(name), "value": _cell(value)}
        for agency, name, value in zip(
            inputs["agency"],
            inputs["input"],
            pd.to_numeric(inputs["value"], errors="coerce"),
            strict=True,
        )
    ]
    kinds = [
        {"run_id": run_id, "agency": str(agency), "kind": str(kind)}
        for agency, kind in zip(agencies["agency"], agencies["kind"], strict=True)
    ]
    for table, records in ((ScoreRunInput, rows), (ScoreRunAgency, kinds)):
        for start in range(0, len(records), BATCH):
            await session.execute(insert(table), records[start : start + BATCH])


async def run_inputs(
    session: AsyncSession, run_id: int, period: str
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """A run's kept inputs (`agency, period, input, value`) and agencies (`agency, kind`); None
    for a run stored before runs kept them."""
    kinds = (
        await session.execute(
            select(ScoreRunAgency.agency, ScoreRunAgency.kind)
            .where(ScoreRunAgency.run_id == run_id)
            .order_by(ScoreRunAgency.id)
        )
    ).all()
    if not kinds:
        return None
    values = (
        await session.execute(
            select(ScoreRunInput.agency, ScoreRunInput.input, ScoreRunInput.value)
            .where(ScoreRunInput.run_id == run_id)
            .order_by(ScoreRunInput.id)
        )
    ).all()
    inputs = pd.DataFrame(values, columns=["agency", "input", "value"])
    inputs.insert(1, "period", period)
    inputs["value"] = inputs["value"].astype("float64")
    return inputs, pd.DataFrame(kinds, columns=["agency", "kind"])


async def publish_score_run(session: AsyncSession, run: ScoreRun, by: str) -> list[ScoreRun]:
    """Make `run` the published run of its methodology and period; the run published before it
    (if any) is withdrawn, so a period shows one set of figures per methodology. Returns the
    runs withdrawn. The caller commits (and audits) in its unit of work."""
    superseded = list(
        await session.scalars(
            select(ScoreRun).where(
                ScoreRun.methodology == run.methodology,
                ScoreRun.period == run.period,
                ScoreRun.published_at.is_not(None),
                ScoreRun.id != run.id,
            )
        )
    )
    for earlier in superseded:
        earlier.published_at = None
        earlier.published_by = None
    run.published_at = utcnow()
    run.published_by = by
    await session.flush()
    return superseded


def withdraw_score_run(run: ScoreRun) -> None:
    """Take `run` off the public pages and out of the open data (the caller commits)."""
    run.published_at = None
    run.published_by = None


async def published_score_runs(session: AsyncSession, period: str | None = None) -> list[ScoreRun]:
    """Published runs, newest period first, then by methodology; of one `period` when given."""
    statement = select(ScoreRun).where(ScoreRun.published_at.is_not(None))
    if period is not None:
        statement = statement.where(ScoreRun.period == period)
    runs = await session.scalars(statement.order_by(ScoreRun.period.desc(), ScoreRun.methodology))
    return list(runs)
