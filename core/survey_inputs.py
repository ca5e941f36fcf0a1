"""Survey-derived scoring inputs read from the rollups (never from raw answers): the monthly
rollups for a period of whole months (every period of core.periods), the daily ones otherwise;
the monthly counters are the daily ones summed by month (core.rollups), so both give the same.

    frame = await survey_inputs(session, parse_period("2025"))   # agency, period, input, value

The result is the long format of indicator files, so scoring reads it like an imported file:
- `responses`: completed responses in the period (the rollups' `responses` metric, all channels);
- a share per survey metric (below): the responses whose answer to that metric's question is one
  of the "good" (or, for defects, "reported") values, over the responses that answered it.

The scoring library takes `responses` as the sample size n of every share (see the methodology
files, `sample: responses`). With the shipped survey every question these shares read is
required, so each share's denominator equals `responses`; `answered` in `survey_counts` shows the
real denominators when a survey version lacks a question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Agency, DailyRollup, MonthlyRollup, PublicService, ServicePoint
from core.periods import Period
from core.rollups import RESPONSES_METRIC


@dataclass(frozen=True)
class SurveyShare:
    """An input that is a share of the answers to one metric's question."""

    input: str
    metric: str
    counted: frozenset[str]  # the rollup value keys that count as a "yes" for this share


SURVEY_SHARES = (
    SurveyShare("satisfied_share", "satisfaction", frozenset({"4", "5"})),
    SurveyShare("info_satisfied_share", "info_quality", frozenset({"4", "5"})),
    SurveyShare("unjustified_refusal_rate", "unjustified_refusal", frozenset({"yes"})),
    SurveyShare("extra_documents_rate", "extra_documents_demanded", frozenset({"yes"})),
    SurveyShare("full_package_once_rate", "full_package_once", frozenset({"yes"})),
)
SURVEY_INPUTS = (RESPONSES_METRIC, *(share.input for share in SURVEY_SHARES))
GROUPS = ("service", "office")  # finer levels than the agency, on request


async def survey_counts(
    session: AsyncSession, period: Period, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Per agency (and service / office when asked `by`): `responses`, and per share its
    `answered` and `counted` numbers. Summed in SQL (GROUP BY) over the period's rollup rows."""
    unknown = [level for level in by if level not in GROUPS]
    if unknown:
        raise ValueError(f"cannot group survey inputs by {', '.join(unknown)}")
    metrics = [RESPONSES_METRIC, *(share.metric for share in SURVEY_SHARES)]
    # Whole months are read from the monthly counters: about 12 rows a year per service, office
    # and value instead of 365 (a year of 10 million responses sums ~70,000 rows, not 2 million).
    rollup: type[DailyRollup] | type[MonthlyRollup]
    if period.first.day == 1 and period.end.day == 1:
        rollup, since, until = (
            MonthlyRollup,
            period.first.isoformat()[:7],
            period.end.isoformat()[:7],
        )
        moment = MonthlyRollup.month
    else:
        rollup, since, until = DailyRollup, period.first.isoformat(), period.end.isoformat()
        moment = DailyRollup.day
    # Sum by ids first, name them after: the join then touches the few summed rows, not every
    # rollup row of the period.
    ids = [rollup.agency_id]
    if "service" in by:
        ids.append(rollup.service_id)
    if "office" in by:
        ids.append(rollup.service_point_key)
    sums = (
        select(*ids, rollup.metric, rollup.value_key, func.sum(rollup.count).label("count"))
        .where(moment >= since, moment < until, rollup.metric.in_(metrics))
        .group_by(*ids, rollup.metric, rollup.value_key)
        .subquery()
    )
    keys = [Agency.code.label("agency")]
    query = select(Agency.code.label("agency")).join(sums, sums.c.agency_id == Agency.id)
    if "service" in by:
        keys.append(PublicService.code.label("service"))
        query = query.join(PublicService, PublicService.id == sums.c.service_id)
    if "office" in by:
        # responses without an office (eGov, proactive) have key 0: an empty office code
        keys.append(func.coalesce(ServicePoint.code, "").label("office"))
        query = query.outerjoin(ServicePoint, ServicePoint.id == sums.c.service_point_key)
    query = query.with_only_columns(*keys, sums.c.metric, sums.c.value_key, sums.c.count)
    rows = (await session.execute(query)).all()
    group = ["agency", *(level for level in GROUPS if level in by)]
    frame = pd.DataFrame(rows, columns=[*group, "metric", "value_key", "count"])
    frame["count"] = frame["count"].astype("int64")
    # grouped by ids: an agency's rows are summed again under its code (codes are unique)
    return _counts(frame, group)


def _counts(sums: pd.DataFrame, group: list[str]) -> pd.DataFrame:
    def total(rows: pd.DataFrame, name: str) -> pd.Series:
        if rows.empty:
            return pd.Series(dtype="int64", name=name)
        return rows.groupby(group)["count"].sum().rename(name)

    columns = [total(sums.loc[sums["metric"] == RESPONSES_METRIC], RESPONSES_METRIC)]
    for share in SURVEY_SHARES:
        answers = sums.loc[sums["metric"] == share.metric]
        columns.append(total(answers, f"{share.input}.answered"))
        columns.append(total(answers.loc[answers["value_key"].isin(share.counted)], share.input))
    table = pd.concat(columns, axis=1).fillna(0).astype("int64")
    table.index.names = group
    return table.sort_index().reset_index()


def counts_to_inputs(counts: pd.DataFrame, period: str, group: Sequence[str]) -> pd.DataFrame:
    """The long `agency, [service, office,] period, input, value` rows of `survey_counts`.

    A share is given only where its question was answered at least once (no 0 / 0)."""
    frames = [
        counts.loc[counts[RESPONSES_METRIC] > 0, [*group, RESPONSES_METRIC]]
        .rename(columns={RESPONSES_METRIC: "value"})
        .assign(input=RESPONSES_METRIC, value=lambda f: f["value"].astype("float64"))
    ]
    for share in SURVEY_SHARES:
        answered = counts[f"{share.input}.answered"]
        rows = counts.loc[answered > 0, list(group)].copy()
        rows["value"] = counts.loc[answered > 0, share.input] / answered[answered > 0]
        frames.append(rows.assign(input=share.input))
    long = pd.concat(frames, ignore_index=True).assign(period=period)
    long = long.sort_values([*group, "input"], kind="stable").reset_index(drop=True)
    return long.loc[:, [*group, "period", "input", "value"]]


async def survey_inputs(
    session: AsyncSession, period: Period, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Survey-derived inputs for `period` in the long format `agency, period, input, value`
    (with `service` / `office` columns after `agency` when grouped `by` them)."""
    counts = await survey_counts(session, period, by)
    group = ["agency", *(level for level in GROUPS if level in by)]
    return counts_to_inputs(counts, period.name, group)
