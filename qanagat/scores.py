"""Scoring composed over the database: which inputs exist, where a period's inputs come from,
and the provenance of a run.

Inputs of a period from the database = the survey inputs from the daily rollups + the imported
indicators. Where an agency has survey responses in the rollups for the period, all its survey
inputs (`responses` and the shares) come from the rollups and imported values of those names
are ignored for it: Qanagat's own measurement wins, and `responses` never describes another
sample than the shares it goes with. An agency without responses keeps the imported ones (public
monitoring figures, for instance).

Then the inputs counted from the imported appeals register (core.appeals): a value derived from
appeals replaces an imported indicator of the same agency and input, because it is counted from
the register's rows rather than reported as one figure. An agency without appeals reviewed in
the period (or, for `quality_complaints`, without service codes on them) keeps its imported
values.

Last, the open-data inputs counted from the data-set ratings, problem reports and registry
(core.dataset_inputs) replace imported values of the same agency and input the same way: an
agency with data sets in the registry gets `open_data_planned` / `open_data_published` from it,
and the portal's reported figures stay only for agencies the registry does not cover.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from core.appeals import appeal_inputs
from core.dataset_inputs import dataset_inputs
from core.indicator_file import IndicatorRow
from core.indicators import indicator_inputs, scored_agencies
from core.periods import Period
from core.score_runs import store_run_inputs, store_score_run
from core.survey_inputs import SURVEY_INPUTS, survey_inputs
from qanagat.version import code_version
from scoring import Methodology, load_methodology, run_record, score
from scoring.compute import DEFAULT_MIN_SAMPLE

ROOT = Path(__file__).resolve().parent.parent


def rows_to_inputs(rows: list[IndicatorRow]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A checked file's rows as scoring's inputs and agencies (kinds from the file)."""
    inputs = pd.DataFrame(
        [(row.agency, row.period, row.input, row.value) for row in rows],
        columns=["agency", "period", "input", "value"],
    )
    kinds = {row.agency: row.kind for row in rows if row.kind}
    agencies = pd.DataFrame(sorted(kinds.items()), columns=["agency", "kind"])
    return inputs, agencies


def combine(survey: pd.DataFrame, imported: pd.DataFrame) -> pd.DataFrame:
    """Survey inputs from rollups, then imported ones; see the module docstring for who wins."""
    surveyed = set(survey["agency"])
    overridden = imported["agency"].isin(surveyed) & imported["input"].isin(SURVEY_INPUTS)
    frames = [frame for frame in (survey, imported.loc[~overridden]) if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=["agency", "period", "input", "value"])
    combined = pd.concat(frames, ignore_index=True)
    return combined.sort_values(["agency", "input"], kind="stable").reset_index(drop=True)


async def database_inputs(
    session: AsyncSession, period: Period
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inputs of `period` (survey + imported) and every agency's kind."""
    survey = await survey_inputs(session, period)
    imported = await indicator_inputs(session, period.name)
    from_appeals = await appeal_inputs(session, period)
    from_datasets = await dataset_inputs(session, period)
    inputs = with_appeals(with_appeals(combine(survey, imported), from_appeals), from_datasets)
    return inputs, await scored_agencies(session)


def with_appeals(inputs: pd.DataFrame, from_appeals: pd.DataFrame) -> pd.DataFrame:
    """`inputs` with the values counted from stored rows (appeals, open-data ratings and
    registry) replacing those of the same agency and input."""
    if from_appeals.empty:
        return inputs
    derived = pd.MultiIndex.from_frame(from_appeals[["agency", "input"]])
    replaced = pd.MultiIndex.from_frame(inputs[["agency", "input"]]).isin(derived)
    frames = [frame for frame in (inputs.loc[~replaced], from_appeals) if not frame.empty]
    combined = pd.concat(frames, ignore_index=True)
    return combined.sort_values(["agency", "input"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class ScoredRun:
    methodology: Methodology
    scores: pd.DataFrame
    run_id: int | None  # None when scored from a file (not stored)


def score_inputs(
    methodology: Methodology, inputs: pd.DataFrame, agencies: pd.DataFrame, min_sample: int
) -> pd.DataFrame:
    return score(methodology, inputs, agencies, min_sample=min_sample)


async def score_and_store(
    session: AsyncSession,
    methodology: Methodology,
    period: Period,
    inputs: pd.DataFrame,
    agencies: pd.DataFrame,
    min_sample: int,
) -> ScoredRun:
    """Score and store the run with its provenance (the caller commits)."""
    scores = score_inputs(methodology, inputs, agencies, min_sample)
    record = run_record(
        methodology, inputs, agencies, code_version=code_version(), min_sample=min_sample
    )
    run_id = await store_score_run(session, asdict(record), period.name, scores)
    await store_run_inputs(session, run_id, inputs, agencies)  # to explain and redraw the run
    return ScoredRun(methodology, scores, run_id)


PUBLISHED_METHODOLOGIES = ("kz-2020", "proposed-s30")


async def score_period(
    session: AsyncSession,
    period: Period,
    methodologies: tuple[str, ...] = PUBLISHED_METHODOLOGIES,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> list[ScoredRun]:
    """Score `period` from the database under each methodology and store the runs, exactly as
    `qanagat score` does (the caller commits). Nothing is stored when the period has no inputs:
    the result is then empty. The admin's "compute now" and `qanagat demo load` call this."""
    inputs, agencies = await database_inputs(session, period)
    if inputs.empty:
        return []
    return [
        await score_and_store(session, load_methodology(name), period, inputs, agencies, min_sample)
        for name in methodologies
    ]
