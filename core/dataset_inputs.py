"""Open-data scoring inputs per agency and period, from the ratings, the problem reports and
the registry (docs/inputs.md, "Open-data inputs").

    frame = await dataset_inputs(session, parse_period("2025"))  # agency, period, input, value

- `dataset_ratings`: completed ratings of the agency's data sets on the period's days
  (Kazakhstan time), less those the anti-gaming rules flagged (core/integrity/dataset_flags.py).
  One person's ratings of one set on one day are one row in the database (a second rating
  replaces the first), so they count once. The sample size n of the shares.
- `dataset_satisfied_share`: ratings with overall 4-5, over those with an overall answer.
- `dataset_verifiable_share`: ratings saying the data could be trusted and re-checked (source
  data provided), over those that answered it.
- `dataset_problems_due`: problem reports about the agency's sets whose deadline day falls in
  the period; `dataset_problems_resolved_in_time`: of those, answered (or closed) on or before
  their deadline day; `dataset_problems_open`: reports received before the period's end and
  neither answered nor closed by then.
- `open_data_planned`, `open_data_published`: the registry as stored (the last catalogue
  import): sets in the publication plan (planned or published) and sets published; withdrawn
  sets count in neither. Given for every agency with a set in the registry.

A share is given only where its question was answered at least once (no 0 / 0); the rating
count only for an agency with a rating in the period; the problem counts for every agency with
a rating, a set in the registry or a report (0 when it has no report).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pandas as pd
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import REPORTING_TZ
from core.models import (
    Agency,
    Complaint,
    ComplaintStatus,
    Dataset,
    DatasetRating,
    DatasetState,
    RatingStatus,
)
from core.periods import Period

RATING_INPUTS = ("dataset_ratings", "dataset_satisfied_share", "dataset_verifiable_share")
PROBLEM_INPUTS = (
    "dataset_problems_due",
    "dataset_problems_resolved_in_time",
    "dataset_problems_open",
)
REGISTRY_INPUTS = ("open_data_planned", "open_data_published")
DATASET_INPUTS = (*RATING_INPUTS, *PROBLEM_INPUTS, *REGISTRY_INPUTS)
SATISFIED_FROM = 4  # overall 4 or 5 of 5, as the service survey's satisfied_share
COLUMNS = ["agency", "period", "input", "value"]


def _moment(day: date) -> datetime:
    """The first instant of a Kazakhstan calendar day, in UTC."""
    return datetime.combine(day, time(), tzinfo=REPORTING_TZ).astimezone(UTC)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def rating_counts(session: AsyncSession, period: Period) -> pd.DataFrame:
    """Per agency: ratings, satisfied / answered overall, verifiable / answered it."""
    rated = DatasetRating
    query = (
        select(
            Agency.code,
            func.count(rated.id),
            _count(rated.overall >= SATISFIED_FROM),
            _count(rated.overall.is_not(None)),
            _count(rated.verifiable.is_(True)),
            _count(rated.verifiable.is_not(None)),
        )
        .join(Dataset, Dataset.id == rated.dataset_id)
        .join(Agency, Agency.id == Dataset.agency_id)
        .where(
            rated.status == RatingStatus.COMPLETED,
            rated.flag.is_(None),  # flagged by the anti-gaming rules: kept, not counted
            rated.day >= period.first,
            rated.day < period.end,
        )
        .group_by(Agency.code)
    )
    columns = ["agency", "ratings", "satisfied", "overall", "verifiable", "verifiable_answered"]
    frame = pd.DataFrame((await session.execute(query)).tuples().all(), columns=columns)
    return frame.astype({name: "int64" for name in columns[1:]})


async def problem_counts(session: AsyncSession, period: Period) -> pd.DataFrame:
    """Per agency: problem reports due in the period and of those resolved in time; reports
    received before the period's end still open at its end."""
    end = _moment(period.end)
    rows = await session.execute(
        select(Agency.code, Complaint.deadline, Complaint.answered_at, Complaint.closed_at)
        .join(Agency, Agency.id == Complaint.agency_id)
        .where(
            Complaint.dataset_id.is_not(None),
            Complaint.status != ComplaintStatus.DRAFT,
            Complaint.received_at < end,
        )
    )
    reports = pd.DataFrame(
        rows.tuples().all(), columns=["agency", "deadline", "answered_at", "closed_at"]
    )
    if reports.empty:
        return pd.DataFrame(columns=["agency", *PROBLEM_INPUTS])
    answered = pd.to_datetime(reports["answered_at"], utc=True)
    closed = pd.to_datetime(reports["closed_at"], utc=True)
    # resolved = answered, or closed without an answer: whichever came first
    resolved = answered.where(answered.notna() & ~(closed < answered), closed)
    # the Kazakhstan calendar day it was resolved on, against the deadline day (NaT: never)
    offset = pd.Timedelta(REPORTING_TZ.utcoffset(None))
    resolved_day = (resolved.dt.tz_convert(None) + offset).dt.floor("D")
    deadline = pd.to_datetime(reports["deadline"])
    due = (deadline >= pd.Timestamp(period.first)) & (deadline < pd.Timestamp(period.end))
    flags = pd.DataFrame(
        {
            "agency": reports["agency"],
            "dataset_problems_due": due.astype("int64"),
            "dataset_problems_open": (resolved.isna() | (resolved >= end)).astype("int64"),
            "dataset_problems_resolved_in_time": (due & (resolved_day <= deadline)).astype("int64"),
        }
    )
    return flags.groupby("agency", sort=True).sum().reset_index()


async def registry_counts(session: AsyncSession) -> pd.DataFrame:
    """Per agency with a set in the registry: sets planned (planned or published), published."""
    query = (
        select(
            Agency.code,
            _count(Dataset.state.in_([DatasetState.PLANNED, DatasetState.PUBLISHED])),
            _count(Dataset.state == DatasetState.PUBLISHED),
        )
        .join(Agency, Agency.id == Dataset.agency_id)
        .group_by(Agency.code)
    )
    frame = pd.DataFrame(
        (await session.execute(query)).tuples().all(), columns=["agency", *REGISTRY_INPUTS]
    )
    return frame.astype({name: "int64" for name in REGISTRY_INPUTS})


def inputs_from_counts(
    ratings: pd.DataFrame, problems: pd.DataFrame, registry: pd.DataFrame, period: str
) -> pd.DataFrame:
    """The long `agency, period, input, value` rows of the three counts (see the module)."""
    frames = [
        ratings[["agency"]].assign(input="dataset_ratings", value=ratings["ratings"]),
        _share(ratings, "dataset_satisfied_share", "satisfied", "overall"),
        _share(ratings, "dataset_verifiable_share", "verifiable", "verifiable_answered"),
    ]
    # no report is a count of 0 for an agency rated or registered, not a missing figure
    agencies = sorted(set(ratings["agency"]) | set(registry["agency"]) | set(problems["agency"]))
    problems = (
        problems.set_index("agency")
        .reindex(agencies, fill_value=0)
        .rename_axis("agency")
        .reset_index()
    )
    for frame, names in ((problems, PROBLEM_INPUTS), (registry, REGISTRY_INPUTS)):
        if not frame.empty:
            frames.append(frame.melt(id_vars="agency", value_vars=list(names), var_name="input"))
    kept = [frame for frame in frames if not frame.empty]
    if not kept:
        return pd.DataFrame(columns=COLUMNS).astype({"value": "float64"})
    long = pd.concat(kept, ignore_index=True).assign(period=period)
    long["value"] = long["value"].astype("float64")
    long = long.sort_values(["agency", "input"], kind="stable").reset_index(drop=True)
    return long.loc[:, COLUMNS]


def _share(counts: pd.DataFrame, name: str, counted: str, answered: str) -> pd.DataFrame:
    given = counts.loc[counts[answered] > 0]
    return given[["agency"]].assign(input=name, value=given[counted] / given[answered])


async def dataset_inputs(session: AsyncSession, period: Period) -> pd.DataFrame:
    """The open-data inputs of `period` in the long format `agency, period, input, value`."""
    return inputs_from_counts(
        await rating_counts(session, period),
        await problem_counts(session, period),
        await registry_counts(session),
        period.name,
    )
